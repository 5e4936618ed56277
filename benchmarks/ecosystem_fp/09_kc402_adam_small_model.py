# KC402 false positive. Pattern 3 (issue 16): a fixed threshold that says "diverges".
# Why false: Adam at 0.1 on a normalised one-feature linear regression (Normalization +
# Dense(1), MAE) trains fine, as it does on the tiny RNNs and the small embedding + LSTM
# tagger of the real code (measured on a token-mapping task of the same size: 100 %
# after a few epochs, like 0.01). Nothing in the code shows an unstable model.
# Seen in: tensorflow/docs site/en/tutorials/keras/regression.ipynb (cells 49 and 70);
#          lazyprogrammer/machine_learning_examples keras_examples/sine.py, sine2.py
#          (SimpleRNN(5) + Dense(1)) and keras_examples/translation.py (Embedding +
#          Bidirectional(LSTM(15)) + softmax).
import numpy as np
from tensorflow import keras

horsepower = np.random.uniform(50, 200, size=(300, 1)).astype("float32")
mpg = (40 - 0.1 * horsepower + np.random.normal(0, 1, size=(300, 1))).astype("float32")

normalizer = keras.layers.Normalization(axis=None)
normalizer.adapt(horsepower)
model = keras.Sequential([keras.Input(shape=(1,)), normalizer, keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
model.fit(horsepower, mpg, epochs=20, verbose=0)
