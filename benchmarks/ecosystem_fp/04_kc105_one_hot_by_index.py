# KC105 false positive. Pattern 3 (issue 16): a rule asserts an intent it never checked
# (multi-label).
# Why false: the targets are built as zeros with exactly one 1 per row
# (targets[np.arange(n), ids] = 1), i.e. single-label one-hot, for which Keras's
# CategoricalAccuracy is the right accuracy. No multi-label evidence exists.
# Seen in: jeffheaton/t81_558_deep_learning t81_558_class_10_2_lstm.ipynb (cell 10);
#          tensorflow/docs site/en/r1/guide/keras.ipynb (cell 38, labels from a helper
#          doing the same assignment).
import numpy as np
from tensorflow import keras

n_samples, n_classes = 120, 4
ids = np.random.randint(0, n_classes, size=n_samples)
targets = np.zeros((n_samples, n_classes), dtype="float32")
targets[np.arange(n_samples), ids] = 1.0
inputs = np.random.rand(n_samples, 6, 1).astype("float32")

model = keras.Sequential(
    [
        keras.Input(shape=(6, 1)),
        keras.layers.LSTM(16),
        keras.layers.Dense(n_classes, activation="sigmoid"),
    ]
)
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(inputs, targets, epochs=2)
