# KC104 false positive. Pattern 6 (issue 16): one root cause, two findings.
# Why false: the targets are binary codes (several ones per row) learnt with mse on an
# 8-unit sigmoid. The metric fault is that 'accuracy' becomes CategoricalAccuracy on
# multi-label rows, which KC105 reports at the same place; KC104 adds "regression loss"
# for targets that are 0/1 labels, not a regression.
# Seen in: Wardat-ISU/DeepLocalize Benchmark/StackOverflow/39217567 Buggy Code.
import numpy as np
from tensorflow import keras

bits = 8
codes = np.array([[int(b) for b in format(i, "08b")] for i in range(2**bits)], "float32")
shuffled = codes[np.random.permutation(len(codes))]

model = keras.Sequential(
    [
        keras.Input(shape=(bits,)),
        keras.layers.Dense(bits, activation="sigmoid"),
        keras.layers.Dense(bits, activation="sigmoid"),
    ]
)
model.compile(loss="mse", optimizer="sgd", metrics=["accuracy"])
model.fit(codes, shuffled, epochs=5)
