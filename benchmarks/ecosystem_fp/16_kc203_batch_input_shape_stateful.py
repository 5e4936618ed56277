# KC203 false positive. Pattern 5 (issue 16): a removed Keras 2 argument reported as a
# misspelling, with a "did you mean" that changes meaning.
# Why false: batch_input_shape is not a typo of input_shape. Keras 3 does reject it, but
# the migration is keras.Input(batch_shape=...): a stateful RNN needs the fixed batch
# size, which the suggested input_shape silently drops. It belongs to KC201 with the real
# migration.
# Seen in: MorvanZhou/tutorials kerasTUT/8-RNN_LSTM_Regressor_example.py (LSTM);
#          jonkrohn/DLTFpT notebooks/sequence_generation.ipynb and tensorflow/docs
#          site/en/r1/tutorials/sequences/text_generation.ipynb (Embedding before a
#          stateful GRU); neuralint/neuralint sample_buggy_scripts/GitHub Samples/6.py and
#          7.py (Conv2D).
from tensorflow import keras

batch_size, steps, features = 50, 20, 1
model = keras.Sequential(
    [
        keras.layers.LSTM(
            16,
            batch_input_shape=(batch_size, steps, features),
            return_sequences=True,
            stateful=True,
        ),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ]
)
model.compile(optimizer="adam", loss="mse")
