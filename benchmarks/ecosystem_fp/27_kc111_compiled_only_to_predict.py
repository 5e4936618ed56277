# KC111 false positive. Pattern 8 (issue 16): a compile that no training uses.
# Why false: the small encoder is compiled with binary_crossentropy (its relu output is not
# a probability) but it is never trained: it only produces inputs for the model that is
# trained, through predict_on_batch. Its compile trains nothing, so the loss/output
# pairing never meets a label. The file does train (another model), so this is not the
# "library function returning a compiled model" case where the finding should stay.
# Seen in: PacktPublishing/Generative-Adversarial-Networks-Projects Chapter06/stage1.py
#          (lines 151 and 162) and stage2.py (line 39); PacktPublishing/Deep-Learning-with-
#          Keras Chapter04/dcgan.py (line 30, the generator compiled in generate() only to
#          load weights and predict).
import numpy as np
from tensorflow import keras

compressor = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        keras.layers.Dense(16),
        keras.layers.ReLU(),
    ]
)
compressor.compile(loss="binary_crossentropy", optimizer="adam")

classifier = keras.Sequential(
    [
        keras.Input(shape=(16,)),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
classifier.compile(loss="binary_crossentropy", optimizer="adam")

for _ in range(3):
    batch = np.random.rand(32, 64)
    codes = compressor.predict_on_batch(batch)
    classifier.train_on_batch(codes, np.random.randint(0, 2, size=(32, 1)))
