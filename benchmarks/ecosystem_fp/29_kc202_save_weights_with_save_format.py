# KC202 false positive. Pattern: one fault reported twice at one call (new, ecosystem review
# of the API-drift findings).
# Why false: KC201 reports `save_format=` on `save_weights` (Keras 3 raises TypeError for it)
# and its advice is already a file name ending in `.weights.h5`; KC202's "the file name must
# end in `.weights.h5`" at the same call repeats that advice. For `model.save` KC202 already
# leaves `save_format=` calls to KC201; `save_weights` now does the same.
# Seen in: tensorflow/docs site/en/r1/guide/keras.ipynb (cell 50).
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.save_weights("checkpoint.h5", save_format="h5")
