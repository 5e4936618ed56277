# KC111 false positive. Pattern 8 (issue 16): a compile that no training uses.
# Why false: the generator ends in tanh (images in [-1, 1]) and is compiled with
# binary_crossentropy, but it is only ever used through predict() and inside the combined
# model, whose output is the discriminator's sigmoid; generator.compile() trains nothing,
# so its tanh/cross-entropy pairing never meets a label. (Freezing the discriminator
# before training it on its own is the Keras 2 GAN idiom issue 20 is about; it is not
# what this reproduction shows.)
# Seen in: PacktPublishing/Deep-Learning-with-Keras Chapter04/dcgan.py;
#          PacktPublishing/Generative-Adversarial-Networks-Projects Chapter03/run.py,
#          Chapter06/stage1.py and stage2.py (7 findings, including an embedding
#          compressor and a conditioning-augmentation model compiled and only predicted).
import numpy as np
from tensorflow import keras

generator = keras.Sequential(
    [
        keras.Input(shape=(32,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(784, activation="tanh"),
    ]
)
discriminator = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
generator.compile(loss="binary_crossentropy", optimizer="sgd")
discriminator.compile(loss="binary_crossentropy", optimizer="sgd")
discriminator.trainable = False
combined = keras.Sequential([generator, discriminator])
combined.compile(loss="binary_crossentropy", optimizer="sgd")

real = np.random.uniform(-1, 1, size=(16, 784))
for _ in range(3):
    noise = np.random.normal(size=(16, 32))
    fake = generator.predict(noise, verbose=0)
    discriminator.train_on_batch(np.vstack([real, fake]), np.r_[np.ones(16), np.zeros(16)])
    combined.train_on_batch(noise, np.ones(16))
