"""Regenerate the real-Keras files of this folder (run once by hand, then commit them).

    TF_CPP_MIN_LOG_LEVEL=3 python tests/data/saved/generate.py            # Keras 3 files
    TF_CPP_MIN_LOG_LEVEL=3 python tests/data/saved/generate.py tf_keras   # tf.keras 2 files

The second form needs tf_keras (``pip install tf-keras``). The legacy_*.json files are
written by hand in the layout of Keras 1.1 and of a TensorFlow.js conversion of a Keras 2.2.4
model (neither runs on a current Python); docs/saved-models.md describes the layouts.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def keras3() -> None:
    import keras

    bad = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="softmax")])
    bad.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    bad.save(HERE / "keras3_sequential.keras")

    good = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    good.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    (HERE / "keras3_good.json").write_text(good.to_json())

    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    logits = keras.layers.Dense(3, name="logits")(hidden)
    probs = keras.layers.Softmax(name="probs")(logits)
    value = keras.layers.Dense(1, activation="sigmoid", name="value")(hidden)
    model = keras.Model(inputs, [probs, value])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01),
        loss={"probs": keras.losses.CategoricalCrossentropy(from_logits=True), "value": "mse"},
        metrics={"probs": ["accuracy"], "value": ["accuracy"]},
    )
    (HERE / "keras3_functional.json").write_text(model.to_json())


def tf_keras() -> None:
    import tensorflow as tf
    import tf_keras as keras

    model = keras.Sequential(
        [
            keras.layers.Dense(4, activation="relu", input_shape=(2,)),
            keras.layers.Dropout(0.95),
            keras.layers.Dense(1, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.5),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.save(HERE / "tf2_sequential.h5")

    inputs = keras.Input((4,), name="features")
    shared = keras.layers.Dense(8, activation="relu", name="shared")
    hidden = shared(shared(keras.layers.Dense(8, activation="relu")(inputs)))
    outputs = tf.nn.softmax(keras.layers.Dense(1, name="score")(hidden))
    (HERE / "tf2_functional.json").write_text(keras.Model(inputs, outputs).to_json())


if __name__ == "__main__":
    tf_keras() if sys.argv[1:] == ["tf_keras"] else keras3()
