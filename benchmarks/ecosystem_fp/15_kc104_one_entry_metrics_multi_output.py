# KC104 false positive. Pattern 4 (issue 16): multi-output metrics follow the flavour.
# Why false: under Keras 3 (the target) a one-entry metrics list on a model with two
# outputs is rejected at the first train_on_batch/fit ("tuple arity mismatch ... Invalid
# `metrics`", measured on 3.15.1): no accuracy is ever computed on the mse head, so
# "accuracy with mse measures nothing useful" describes a metric that does not exist.
# The real fault is the crash (API drift, issue 21). Under tf.keras 2 the finding holds.
# Seen in: PacktPublishing/Advanced-Deep-Learning-with-Keras
#          chapter6-disentangled-gan/stackedgan-mnist-6.2.1.py (discriminator 1) and
#          chapter7-cross-domain-gan/cyclegan-7.1.1.py (the adversarial model, two
#          findings for its mse and mae losses).
from tensorflow import keras

features = keras.Input(shape=(32,))
real = keras.layers.Dense(1, activation="sigmoid")(features)
code = keras.layers.Dense(4)(features)
discriminator = keras.Model(features, [real, code])
discriminator.compile(
    loss=["binary_crossentropy", "mse"],
    loss_weights=[1.0, 1.0],
    optimizer="rmsprop",
    metrics=["accuracy"],
)
