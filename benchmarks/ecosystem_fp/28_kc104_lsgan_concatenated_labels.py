# KC104 false positive. Pattern 9 (issue 16): a loss used as a metric on class targets.
# Why false: the discriminator has a linear 1-unit output and the least-squares GAN loss
# (mse); it is trained in a helper on real/fake labels concatenated from np.ones and
# np.zeros, so Keras's 'accuracy' (BinaryAccuracy by shape) is the real/fake accuracy.
# The concatenation hides the labels' encoding from the engine; without evidence of
# continuous targets the rule should not assert a regression.
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter7-cross-domain-gan/cyclegan-7.1.1.py (lines 415 and 418).
import numpy as np
from tensorflow import keras


def build_models():
    image = keras.Input(shape=(28, 28, 1))
    features = keras.layers.Conv2D(16, 4, strides=2, activation="relu")(image)
    score = keras.layers.Dense(1)(keras.layers.Flatten()(features))
    discriminator = keras.Model(image, score)
    discriminator.compile(loss="mse", optimizer="rmsprop", metrics=["accuracy"])
    generator = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Activation("tanh")])
    return discriminator, generator


def train(models, images, steps=3):
    discriminator, generator = models
    real_fake = np.concatenate((np.ones((8, 1)), np.zeros((8, 1))))
    for _ in range(steps):
        batch = images[np.random.randint(0, len(images), size=8)]
        both = np.concatenate((batch, generator.predict(batch, verbose=0)))
        discriminator.train_on_batch(both, real_fake)


def main():
    models = build_models()
    train(models, np.random.rand(64, 28, 28, 1))


main()
