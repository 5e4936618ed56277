# KC112 false positive. Pattern 2 (issue 16): a data fact survives a transformation that
# changes it.
# Why false: the boolean mask keeps 8 of fashion_mnist's 10 classes and the in-place
# assignment renumbers ids 7..9 to 5..7, so the labels that reach fit() take exactly 8
# ids and Dense(8) is right. kerascheck still carries "10 classes" from load_data().
# Seen in: ageron/handson-ml2 11_training_deep_neural_networks.ipynb (cell 82),
#          ageron/handson-ml3 11_training_deep_neural_networks.ipynb (cell 64).
import numpy as np
from tensorflow import keras

(images, labels), _ = keras.datasets.fashion_mnist.load_data()
keep = (labels != 2) & (labels != 4)
images, labels = images[keep] / 255.0, labels[keep]
labels[labels > 4] -= 2  # ids 0..9 without 2 and 4 become 0..7

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(8, activation="softmax"),
    ]
)
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(images, labels, epochs=2)
print(np.unique(labels))
