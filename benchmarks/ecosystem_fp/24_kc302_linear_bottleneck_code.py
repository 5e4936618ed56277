# KC302 false positive. New pattern 11: a deliberate linear layer.
# Why false: Dense(2) without activation is the autoencoder's 2-D code; a separate
# encoder model outputs it (for a scatter plot), so the linear bottleneck is the point,
# not a forgotten activation. A narrow linear layer that is itself a model output (or is
# documented as linear, see 25_) is recognisable as deliberate.
# Seen in: MorvanZhou/tutorials kerasTUT/9-Autoencoder_example.py.
from tensorflow import keras

image = keras.Input(shape=(784,))
hidden = keras.layers.Dense(64, activation="relu")(image)
code = keras.layers.Dense(2)(hidden)
decoded = keras.layers.Dense(64, activation="relu")(code)
decoded = keras.layers.Dense(784, activation="tanh")(decoded)
autoencoder = keras.Model(image, decoded)
encoder = keras.Model(image, code)
autoencoder.compile(optimizer="adam", loss="mse")
