# KC104 false positive. Pattern 3 (issue 16): 'accuracy' with mse/mae on class targets.
# Why false: the labels are 0/1 and the output is one sigmoid unit, so Keras resolves
# 'accuracy' to BinaryAccuracy by shape (and standalone Keras <= 2.3 did the same for a
# 1-unit output): a meaningful accuracy although the loss is mean_absolute_error.
# Seen in: Wardat-ISU/DeepLocalize Benchmark/StackOverflow/31556268 (Buggy and Correct
#          Code, XOR), 45442843 Buggy Code (bool labels), GitHub/Correct Model/gol_nn/gol.py
#          (0/1 cells, per-cell sigmoid); tensorflow/docs guide/migrate/canned_estimators.ipynb
#          (titanic 'survived' 0/1 on a linear unit with mse, cells 28 and 37).
import numpy as np
from tensorflow import keras

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
labels = np.array([[0], [1], [1], [0]], dtype="float32")

model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(4, activation="sigmoid"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(loss="mean_absolute_error", optimizer="adam", metrics=["accuracy"])
model.fit(inputs, labels, epochs=10)
