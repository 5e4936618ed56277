# KC203 false positive. Pattern 5 (issue 16): a removed tf.keras 2 argument reported as a
# misspelling, with a "did you mean" that names an unrelated argument.
# Why false: kernel_layout / moving_mean_layout are the DTensor layout arguments of
# tf.keras 2.x layers. Keras 3 rejects them, but the suggestions kernel_constraint and
# moving_mean_initializer are different arguments altogether; the finding should be a
# removed argument (KC201) with the migration (keras.distribution), without a guess.
# (bias_layout=, for which kerascheck makes no suggestion, was reported rightly in the
# same tutorials and is left out here.)
# Seen in: tensorflow/docs site/en/tutorials/distribute/dtensor_keras_tutorial.ipynb
#          (cell 21) and dtensor_ml_tutorial.ipynb (cell 23).
import tensorflow as tf
from tensorflow.experimental import dtensor

mesh = dtensor.create_mesh([("batch", 1)], devices=["CPU:0"])
layout_2d = dtensor.Layout.replicated(mesh, rank=2)
layout_1d = dtensor.Layout.replicated(mesh, rank=1)
dense = tf.keras.layers.Dense(10, kernel_layout=layout_2d)
norm = tf.keras.layers.BatchNormalization(moving_mean_layout=layout_1d)
