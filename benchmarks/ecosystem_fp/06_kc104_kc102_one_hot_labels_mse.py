# KC104 and KC102 false positives. Pattern 3 (issue 16): rules assert a regression the
# class targets contradict.
# Why false: one-hot labels (to_categorical) and a 10-unit softmax: this is the textbook
# first MNIST classifier trained with mse, not a regression, so KC102's "cannot fit
# continuous targets" is wrong; and Keras resolves 'accuracy' to categorical accuracy by
# shape, the right metric, so KC104's "measures nothing useful" is wrong too.
# Seen in: jonkrohn/DLTFpT notebooks/shallow_net_in_tensorflow.ipynb (cell 30) and
#          notebooks/old/shallow-net-in-tf.ipynb (cell 7); Wardat-ISU/DeepLocalize
#          Benchmark/StackOverflow/34673164 Buggy Model (both rules) and 48385830 Buggy Code
#          (KC104).
import numpy as np
from tensorflow import keras

(images, digits), _ = keras.datasets.mnist.load_data()
images = images.reshape(60000, 784).astype("float32") / 255
targets = keras.utils.to_categorical(digits, 10)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(64, activation="sigmoid"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(loss="mean_squared_error", optimizer="sgd", metrics=["accuracy"])
model.fit(images, targets, epochs=1)
print(np.shape(targets))
