# KC102 false positive. Patterns 3 and 6 (issue 16): a second finding for one root cause,
# asserting a regression the labels contradict.
# Why false: the labels are 0/1 classes (XOR). The one fault is the 1-unit softmax, which
# KC101 reports on the same layer; KC102 adds "softmax cannot fit continuous targets" and
# suggests a linear output, neither of which fits a binary classifier.
# Seen in: Wardat-ISU/DeepLocalize Benchmark/StackOverflow/34311586 Buggy Code and
#          45442843 Buggy Code (labels cast to bool); neuralint/neuralint
#          sample_buggy_scripts/SO Samples/34311586.py.
import numpy as np
from tensorflow import keras

points = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
classes = np.array([[0], [1], [1], [0]], dtype="float32")

model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(3, activation="sigmoid"),
        keras.layers.Dense(1, activation="softmax"),
    ]
)
model.compile(loss="mean_squared_error", optimizer="sgd")
model.fit(points, classes, epochs=10)
