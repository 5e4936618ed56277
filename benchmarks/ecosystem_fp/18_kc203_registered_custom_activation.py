# KC203 false positive. Pattern 5 (issue 16): a did-you-mean that changes meaning.
# Why false: 'softplusk' is the author's own activation (softplus plus a small constant so
# that a predicted standard deviation never reaches 0), registered by name with
# get_custom_objects. It is not a misspelling of 'softplus', and the suggested rename
# would change what the model computes. The real Keras 3 problem is that names registered
# this way are no longer resolved (measured: "Could not interpret activation function
# identifier"), which is a removed-API finding with the migration
# (pass the function itself, or keras.saving.register_keras_serializable).
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter10-policy/policygradient-car-10.1.1.py.
from tensorflow import keras
from tensorflow.keras.utils import get_custom_objects


def softplusk(x):
    return keras.activations.softplus(x) + 1e-10


get_custom_objects().update({"softplusk": keras.layers.Activation(softplusk)})

inputs = keras.Input(shape=(4,))
stddev = keras.layers.Dense(1)(inputs)
stddev = keras.layers.Activation("softplusk", name="softplus")(stddev)
model = keras.Model(inputs, stddev)
