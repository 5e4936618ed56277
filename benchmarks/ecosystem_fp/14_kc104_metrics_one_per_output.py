# KC104 false positive. Pattern 4 (issue 16): multi-output metrics follow the flavour.
# Why false: under Keras 3 (the target here) a flat metrics list whose length equals the
# number of outputs is mapped one metric per output: 'accuracy' goes to the softmax head
# trained with categorical_crossentropy and 'mse' to the image head (measured, see
# KERAS_FACTS). No accuracy is computed on the mse output. (Under tf.keras 2 every metric
# goes to every output, and the finding would be right.)
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter3-autoencoders/classifier-autoencoder-mnist-3.3.1.py.
from tensorflow import keras

image = keras.Input(shape=(28, 28, 1))
code = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(image))
digit = keras.layers.Dense(10, activation="softmax")(code)
pixels = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="sigmoid")(code))
model = keras.Model(image, [digit, pixels])
model.compile(
    loss=["categorical_crossentropy", "mse"],
    optimizer="adam",
    metrics=["accuracy", "mse"],
)
