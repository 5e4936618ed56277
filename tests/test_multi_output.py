"""Multi-output models: each loss is paired with the output Keras gives it (measured on
Keras 3.15.1: a list by flattened output order, a dict by output name — the dict key of a
dict of outputs, else the name of the layer producing the output — nested lists
flattened), so the output/loss rules fire per head, and only there."""

from __future__ import annotations

from conftest import codes_at, extract_module

from kerascheck.ir import Known

HEADS = """
import keras
from keras import layers
inputs = keras.Input((8,))
hidden = layers.Dense(16, activation="relu")(inputs)
kind = layers.Dense(4, activation="softmax", name="kind")(hidden)
tags = layers.Dense(6, activation="sigmoid", name="tags")(hidden)
logit = layers.Dense(1, name="logit")(hidden)
score = layers.Dense(3, activation="relu", name="score")(hidden)
one = layers.Dense(1, activation="sigmoid", name="one")(hidden)
"""
RULES = ("KC106", "KC108", "KC109", "KC111")


def found(code: str) -> list[tuple[str, int, int]]:
    return codes_at(HEADS + code, select=RULES)


def test_a_dict_of_losses_follows_the_output_layer_names() -> None:
    assert found("""
model = keras.Model(inputs, [kind, tags, logit])
model.compile(optimizer="adam", loss={
    "logit": "binary_crossentropy",
    "kind": "categorical_crossentropy",
    "tags": "categorical_crossentropy",
})
""") == [("KC106", 13, 14), ("KC109", 15, 13)]


def test_a_list_of_loss_instances_follows_the_output_order() -> None:
    assert found("""
model = keras.Model(inputs, [one, score, kind])
model.compile(optimizer="adam", loss=[
    keras.losses.CategoricalCrossentropy(),
    keras.losses.SparseCategoricalCrossentropy(),
    keras.losses.CategoricalCrossentropy(),
])
""") == [("KC111", 8, 36), ("KC108", 13, 5)]


def test_loss_weights_do_not_change_which_loss_goes_where() -> None:
    assert found("""
model = keras.Model(inputs, [kind, logit])
model.compile("adam", ["categorical_crossentropy", "binary_crossentropy"], loss_weights=[1.0, 0.5])
""") == [("KC106", 12, 52)]


def test_a_dict_of_outputs_is_keyed_and_ordered_by_its_keys() -> None:
    # Keras flattens a dict of outputs by sorted key: the list's first loss goes to "a".
    code = """
model = keras.Model(inputs, {"b": score, "a": kind})
model.compile(optimizer="adam", loss=["categorical_crossentropy", "binary_crossentropy"])
model2 = keras.Model(inputs, {"b": logit, "a": kind})
model2.compile(optimizer="adam", loss={"b": "binary_crossentropy", "a": "categorical_crossentropy"})
"""
    assert found(code) == [("KC111", 8, 36), ("KC106", 14, 45)]
    outputs = extract_module(HEADS + code).models[0].outputs
    assert [o.name for o in outputs] == ["a", "b"]
    assert [o.units for o in outputs] == [Known(4), Known(3)]


def test_nested_outputs_take_a_nested_or_a_flat_loss_list() -> None:
    assert found("""
model = keras.Model(inputs, [kind, [tags, logit]])
model.compile("adam", loss=["categorical_crossentropy", ["categorical_crossentropy", "mse"]])
model2 = keras.Model(inputs, [kind, [logit, tags]])
model2.compile("adam", ["categorical_crossentropy", "binary_crossentropy", "binary_crossentropy"])
""") == [("KC109", 12, 28), ("KC106", 14, 53)]


def test_a_key_that_names_no_output_pairs_with_nothing() -> None:
    # The output is the unnamed Activation layer: Keras names it itself and rejects the
    # key "scores" at fit ("Expected keys ['activation', ...] in loss dict").
    assert (
        found("""
scores = layers.Dense(4, name="scores")(hidden)
probs = layers.Activation("sigmoid")(scores)
model = keras.Model(inputs, [probs, kind])
model.compile(optimizer="adam", loss={"scores": "categorical_crossentropy", "kind": "mse"})
""")
        == []
    )


def test_a_named_activation_layer_is_the_output_keras_keys_by() -> None:
    assert found("""
scores = layers.Dense(4)(hidden)
probs = layers.Activation("sigmoid", name="probs")(scores)
model = keras.Model(inputs, [probs, kind])
model.compile("adam", {"probs": "categorical_crossentropy", "kind": "categorical_crossentropy"})
""") == [("KC109", 14, 33)]


def test_a_loss_list_shorter_than_the_outputs_leaves_the_rest_without_loss() -> None:
    # Measured: Keras 3 trains the first output only (no gradient for the others).
    assert (
        found("""
model = keras.Model(inputs, [kind, logit])
model.compile(optimizer="adam", loss=["categorical_crossentropy"])
""")
        == []
    )
