# KC201 false positive. Pattern 7 (issue 16): code that never runs under the target.
# Why false: the Keras 1 spellings (init=, W_regularizer=, border_mode=, mode=) sit in the
# else branch of a check that the installed Keras major version is above 1. Under Keras 2
# or 3 that branch is dead; the live branch already uses the modern arguments.
# Seen in: PacktPublishing/Deep-Learning-with-Keras Appendix/legacy.py and
#          Chapter04/legacy.py (14 findings).
import keras

modern_keras = int(keras.__version__.split(".")[0]) > 1


def dense(units, regularizer=None, initializer="glorot_uniform"):
    if modern_keras:
        return keras.layers.Dense(
            units, kernel_regularizer=regularizer, kernel_initializer=initializer
        )
    else:
        return keras.layers.Dense(units, W_regularizer=regularizer, init=initializer)


def batch_norm(mode=0):
    if modern_keras:
        return keras.layers.BatchNormalization()
    else:
        return keras.layers.BatchNormalization(mode=mode)
