# KC104 false positive. Pattern 9 (issue 16): a loss used as a metric on class targets.
# Why false: mse is the least-squares GAN loss; the discriminator is trained on
# np.ones / np.zeros real/fake labels, and its 1-channel output makes Keras resolve
# 'accuracy' to BinaryAccuracy: a meaningful real/fake accuracy, not "accuracy on a
# regression".
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter7-cross-domain-gan/cyclegan-7.1.1.py (linear output, two findings);
#          PacktPublishing/Generative-Adversarial-Networks-Projects Chapter07/run.py
#          (sigmoid patch output, two findings).
import numpy as np
from tensorflow import keras

discriminator = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, 4, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(1, 4, strides=2, padding="same"),
    ]
)
discriminator.compile(loss="mse", optimizer="adam", metrics=["accuracy"])

real = np.random.rand(8, 28, 28, 1)
fake = np.random.rand(8, 28, 28, 1)
discriminator.train_on_batch(real, np.ones((8, 7, 7, 1)))
discriminator.train_on_batch(fake, np.zeros((8, 7, 7, 1)))
