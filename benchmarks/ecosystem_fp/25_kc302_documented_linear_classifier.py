# KC302 false positive. New pattern 11: a deliberate linear layer.
# Why false: the builder is documented (and named) as a linear classifier, "an MLP without
# non-linear activation", used as a stand-in for linear assignment: the composition of
# the two linear maps into one is exactly what the author wants.
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter13-mi-unsupervised/mine-13.8.1.py (class LinearClassifier).
from tensorflow import keras


def linear_classifier(latent_dim=10, n_classes=10):
    """A linear classifier: two Dense layers and no non-linearity on purpose."""
    inputs = keras.Input(shape=(latent_dim,))
    hidden = keras.layers.Dense(256)(inputs)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


classifier = linear_classifier()
