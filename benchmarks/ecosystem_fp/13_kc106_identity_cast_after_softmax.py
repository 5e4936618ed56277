# KC106 false positive. Pattern 3 (issue 16): an identity cast after softmax read as logits.
# Why false: the output layer is Activation('linear', dtype='float32') placed after the
# softmax, the mixed-precision guide's way to cast the output to float32. 'linear' is the
# identity: the model still outputs probabilities, as sparse_categorical_crossentropy
# expects without from_logits.
# Seen in: tensorflow/docs site/en/guide/mixed_precision.ipynb (cell 33).
from tensorflow import keras

inputs = keras.Input(shape=(784,))
hidden = keras.layers.Dense(64, activation="relu")(inputs)
scores = keras.layers.Dense(10)(hidden)
probabilities = keras.layers.Activation("softmax", dtype="float32")(scores)
outputs = keras.layers.Activation("linear", dtype="float32")(probabilities)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
