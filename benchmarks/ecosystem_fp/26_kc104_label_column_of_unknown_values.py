# KC104 false positive. Pattern 3 (issue 16): a regression asserted without evidence.
# Why false: the target is a label column read from a CSV ('survived', 0/1); kerascheck
# cannot see its values, and the 1-unit linear output with mse is a least-squares
# classifier whose 'accuracy' Keras resolves to BinaryAccuracy by shape. With unknown
# targets the rule has no evidence of a regression and should stay silent (it already is
# when the output is a sigmoid).
# Seen in: tensorflow/docs site/en/guide/migrate/canned_estimators.ipynb (cells 28 and 37).
import pandas as pd
from tensorflow import keras

passengers = pd.read_csv("train.csv")
survived = passengers.pop("survived")
features = passengers[["age", "fare"]].fillna(0.0).to_numpy()

model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1),
    ]
)
model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
model.fit(features, survived, epochs=3)
