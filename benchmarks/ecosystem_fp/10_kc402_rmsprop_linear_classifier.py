# KC402 false positive. Pattern 3 (issue 16): a fixed threshold that says "diverges".
# Why false: a single Dense(1) linear classifier of two 2-D point clouds trains with
# RMSprop at 0.1 (the book shows it converging; measured in KERAS_FACTS: unstable at
# worst, not divergent). A one-layer linear model is not where 0.1 is dangerous.
# Seen in: fchollet/deep-learning-with-python-notebooks
#          chapter03_introduction-to-ml-frameworks.ipynb (cell 142) and
#          second_edition/chapter03_introduction-to-keras-and-tf.ipynb (cell 82).
import numpy as np
from tensorflow import keras

negatives = np.random.multivariate_normal([0, 3], [[1, 0.5], [0.5, 1]], size=500)
positives = np.random.multivariate_normal([3, 0], [[1, 0.5], [0.5, 1]], size=500)
points = np.vstack((negatives, positives)).astype("float32")
labels = np.vstack((np.zeros((500, 1)), np.ones((500, 1)))).astype("float32")

model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
    loss=keras.losses.MeanSquaredError(),
    metrics=[keras.metrics.BinaryAccuracy()],
)
model.fit(points, labels, epochs=5, batch_size=128, shuffle=True)
