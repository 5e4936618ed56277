"""Program order: every run of a model is judged against the compile() in effect at that
point, with the data bound there; branches and loops join what may be in effect."""

from __future__ import annotations

import json

from conftest import codes_at, extract_module

from kerascheck.engine import Options, lint_notebook
from kerascheck.ir import UNKNOWN, Known

MNIST = """
import keras
(x, y), _ = keras.datasets.mnist.load_data()
y_hot = keras.utils.to_categorical(y, 10)
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
"""


def kc112(code: str) -> list[tuple[str, int, int]]:
    return [c for c in codes_at(MNIST + code, select=("KC112",))]


def test_a_fit_is_judged_against_the_compile_in_effect_then() -> None:
    # Each fit matches its own compile; the later compile must not be paired with the
    # earlier fit (the false alarm real notebooks showed).
    assert (
        kc112("""
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y)
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""")
        == []
    )


def test_an_earlier_compile_that_mismatches_its_fit_is_still_reported() -> None:
    assert kc112("""
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""") == [("KC112", 7, 14)]


def test_a_rebinding_starts_a_new_model() -> None:
    assert (
        kc112("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y)
""")
        == []
    )


def test_labels_are_the_ones_bound_at_the_fit() -> None:
    # y is rebound to one-hot after the first fit: only the second fit gets one-hot labels.
    assert kc112("""
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y)
y = keras.utils.to_categorical(y, 10)
model.fit(x, y)
""") == [("KC112", 9, 14)]


def test_branches_that_disagree_on_the_compile_leave_the_fit_unjudged() -> None:
    assert (
        kc112("""
if use_sparse:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
else:
    model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""")
        == []
    )


def test_branches_that_agree_on_the_fault_report_it() -> None:
    assert kc112("""
if verbose:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["acc"])
else:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""") == [("KC112", 10, 14)]


def test_a_compile_in_one_branch_only_leaves_the_fit_unjudged() -> None:
    assert (
        kc112("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
if fine_tune:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""")
        == []
    )


def test_a_fit_inside_one_branch_sees_that_branch_compile() -> None:
    assert kc112("""
if fine_tune:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y_hot)
else:
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x, y_hot)
""") == [("KC112", 8, 18)]


def test_a_loop_that_recompiles_after_its_fit_leaves_the_fit_unjudged() -> None:
    # On the second iteration the fit runs under the compile at the end of the body.
    assert (
        kc112("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
for stage in stages:
    model.fit(x, y_hot)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
""")
        == []
    )


def test_a_loop_that_compiles_before_its_fit_decides_it() -> None:
    assert kc112("""
for stage in stages:
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y_hot)
""") == [("KC112", 8, 18)]


def test_an_unrolled_loop_runs_in_order() -> None:
    assert kc112("""
for loss in ["sparse_categorical_crossentropy", "categorical_crossentropy"]:
    model.compile(loss=loss, optimizer="adam")
    model.fit(x, y_hot)
""") == [("KC112", 8, 18)]


def test_a_function_compiles_and_fits_in_order() -> None:
    assert (
        kc112("""
def train(m, labels, loss):
    m.compile(loss=loss, optimizer="adam")
    return m.fit(x, labels)
train(model, y, "sparse_categorical_crossentropy")
train(model, y_hot, "categorical_crossentropy")
""")
        == []
    )
    assert kc112("""
def train(m, labels, loss):
    m.compile(loss=loss, optimizer="adam")
    return m.fit(x, labels)
train(model, y_hot, "sparse_categorical_crossentropy")
""") == [("KC112", 8, 21)]


def test_a_try_handler_joins_with_the_body() -> None:
    assert (
        kc112("""
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
try:
    model.fit(x, y)
except ValueError:
    model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y_hot)
""")
        == []
    )


def test_a_fit_before_any_compile_is_not_judged() -> None:
    assert (
        kc112("""
model.fit(x, y_hot)
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
""")
        == []
    )


# ----------------------------------------------------------------------------- compiles
SINGLE = """
import keras
model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
"""


def kc108(code: str) -> list[tuple[str, int, int]]:
    return codes_at(SINGLE + code, select=("KC108",))


def test_a_compile_superseded_before_any_training_is_not_judged() -> None:
    assert (
        kc108("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.compile(loss="mse", optimizer="adam")
model.fit(x, y)
""")
        == []
    )


def test_every_compile_used_by_a_training_is_judged() -> None:
    assert kc108("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.fit(x, y)
model.compile(loss="mse", optimizer="adam")
model.fit(x, y)
""") == [("KC108", 4, 20)]


def test_a_compile_on_one_path_before_a_training_is_judged() -> None:
    # On the path where it runs, this compile trains the model: its fault is real there.
    assert kc108("""
if classify:
    model.compile(loss="categorical_crossentropy", optimizer="adam")
else:
    model.compile(loss="mse", optimizer="adam")
model.fit(x, y)
""") == [("KC108", 5, 24)]


def test_a_model_never_trained_here_is_judged_by_its_final_compile() -> None:
    # A library function returning a compiled model: nothing here trains it.
    assert kc108("""
model.compile(loss="mse", optimizer="adam")
model.compile(loss="categorical_crossentropy", optimizer="adam")
""") == [("KC108", 5, 20)]


def test_a_compiled_model_left_out_of_the_training_a_module_does_is_not_judged() -> None:
    code = """
other = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
other.compile(loss="binary_crossentropy", optimizer="adam")
model.compile(loss="categorical_crossentropy", optimizer="adam")
other.fit(x, y)
"""
    assert kc108(code) == []


def test_an_evaluation_uses_the_compile_in_effect() -> None:
    assert kc108("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.evaluate(x, y)
model.compile(loss="mse", optimizer="adam")
""") == [("KC108", 4, 20)]


def test_a_prediction_does_not_use_the_compile() -> None:
    assert (
        kc108("""
model.compile(loss="categorical_crossentropy", optimizer="adam")
model.predict(x)
model.compile(loss="mse", optimizer="adam")
model.fit(x, y)
""")
        == []
    )


GAN = """
import keras
from keras import layers
generator = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1)])
generator.compile(loss="categorical_crossentropy", optimizer="adam")
discriminator = keras.Sequential(
    [layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")]
)
discriminator.compile(loss="binary_crossentropy", optimizer="adam")
z = keras.Input((8,))
combined = keras.Model(z, discriminator(generator(z)))
combined.compile(loss="binary_crossentropy", optimizer="adam")
"""


def test_a_gan_generator_trained_only_through_the_combined_model_is_not_judged() -> None:
    code = GAN + "combined.train_on_batch(noise, valid)\n"
    assert codes_at(code, select=("KC108",)) == []


def test_a_part_that_is_also_trained_on_its_own_is_judged() -> None:
    code = GAN + "combined.train_on_batch(noise, valid)\ngenerator.train_on_batch(noise, x)\n"
    assert codes_at(code, select=("KC108",)) == [("KC108", 4, 24)]


def test_runs_carry_the_compiles_that_may_be_in_effect() -> None:
    module = extract_module(
        SINGLE
        + """
model.compile(loss="mse", optimizer="adam")
model.fit(x, y)
if again:
    model.compile(loss="mae", optimizer="adam")
model.evaluate(x, y)
model.predict(x)
"""
    )
    (model,) = module.models
    fit, evaluate, predict = model.runs
    assert (fit.kind, evaluate.kind, predict.kind) == ("train", "evaluate", "predict")
    assert fit.compile == Known(model.compiles[0])
    assert evaluate.compile is UNKNOWN and len(evaluate.compiles) == 2
    assert [type(e).__name__ for e in model.events] == [
        "CompileSpec",
        "RunSpec",
        "CompileSpec",
        "RunSpec",
        "RunSpec",
    ]


# ----------------------------------------------------------------------------- notebooks
def _notebook(tmp_path, cells: list[str]) -> str:
    document = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_a_notebook_recompiling_in_a_later_cell_is_judged_cell_by_cell(tmp_path) -> None:
    path = _notebook(
        tmp_path,
        [
            MNIST,
            'model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")\n'
            "model.fit(x, y)\n",
            'model.compile(loss="categorical_crossentropy", optimizer="adam")\n'
            "model.fit(x, y_hot)\n",
            "model.fit(x, y)\n",  # integer labels under categorical_crossentropy: wrong
        ],
    )
    result = lint_notebook(path, Options(select=("KC112",)))
    assert [(f.span.cell, f.span.line, f.span.col) for f in result.findings] == [(4, 1, 14)]


# ----------------------------------------------------------------------------- own training
SUBCLASS = """
import keras
class Critic(keras.Model):
    def __init__(self):
        super().__init__()
        self.out = keras.layers.Dense(1)
    def call(self, x):
        return self.out(x)
{methods}
critic = Critic()
critic.compile(optimizer="adam", loss="categorical_crossentropy")
critic.fit(x, y)
"""


def test_a_train_step_with_its_own_loss_does_not_use_the_compiled_one() -> None:
    methods = """    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = wasserstein(y, self(x))
        return {"loss": loss}
"""
    assert codes_at(SUBCLASS.format(methods=methods), select=("KC108",)) == []


def test_a_train_step_that_computes_the_compiled_loss_is_judged() -> None:
    methods = """    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(y=y, y_pred=self(x))
        return {"loss": loss}
"""
    assert codes_at(SUBCLASS.format(methods=methods), select=("KC108",)) == [("KC108", 15, 39)]


def test_a_class_with_its_own_compile_has_no_keras_loss() -> None:
    methods = """    def compile(self, optimizer, loss):
        super().compile(optimizer=optimizer)
        self.loss_fn = loss
"""
    assert codes_at(SUBCLASS.format(methods=methods), select=("KC108",)) == []
