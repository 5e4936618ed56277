# KC105 false positive. Pattern 3 (issue 16): a rule asserts an intent it never checked
# (multi-label).
# Why false: every target row is one-hot with a single 1 (to_categorical of one class id
# per sample), so Keras's CategoricalAccuracy is exactly the right accuracy. Nothing in the
# code shows multi-label targets. (In most real cases the loss was
# categorical_crossentropy, which KC109 rightly reports; binary_crossentropy here keeps
# this reproduction to the KC105 finding alone.)
# Seen in: bnsreenu/python_for_microscopists 071-Malaria_cell_CNN_V5.0_for video.py;
#          Wardat-ISU/DeepLocalize Benchmark/StackOverflow/51930566 and 55328966 Buggy Code
#          (OneHotEncoder and np.eye(n)[y] one-hot labels);
#          Wardat-ISU/DeepLocalize Benchmark/StackOverflow/58609115 Buggy Code (OneHotEncoder
#          columns with binary_crossentropy).
import numpy as np
from tensorflow import keras

features = np.random.rand(200, 4)
class_ids = np.random.randint(0, 3, size=200)
targets = keras.utils.to_categorical(class_ids, 3)

model = keras.Sequential(
    [
        keras.Input(shape=(4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(3, activation="sigmoid"),
    ]
)
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(features, targets, epochs=2)
