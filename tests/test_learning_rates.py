"""KC402: what the rule reads of the model, and what it says (beyond the rule's examples)."""

from __future__ import annotations

import textwrap

import pytest

from kerascheck.engine import Options, lint_source
from kerascheck.ir import Finding
from kerascheck.knowledge import load


def kc402(code: str, flavour: str | None = None) -> list[Finding]:
    source = textwrap.dedent(code).lstrip("\n")
    result = lint_source(source, "example.py", Options(select=("KC402",), target_keras=flavour))  # type: ignore[arg-type]
    assert not result.errors, result.errors
    return list(result.findings)


def lines(code: str, flavour: str | None = None) -> list[int]:
    return [finding.span.line for finding in kc402(code, flavour)]


def mlp(hidden: int, activation: str = "relu", units: int = 64, extra: str = "") -> str:
    """A Sequential MLP (the compile is on the line after the returned text)."""
    layers = "".join(
        f'    layers.Dense({units}, activation="{activation}"),{extra}\n' for _ in range(hidden)
    )
    return (
        "import keras\nfrom keras import layers\n"
        f"model = keras.Sequential([\n    keras.Input((20,)),\n{layers}"
        '    layers.Dense(5, activation="softmax"),\n])\n'
    )


COMPILE = 'model.compile(optimizer=keras.optimizers.{}, loss="sparse_categorical_crossentropy")\n'


def deep_adam(rate: str) -> str:
    return mlp(6) + COMPILE.format(f"Adam({rate})") + "model.fit(x, y)\n"


def test_negative_rate_is_gradient_ascent() -> None:
    (finding,) = kc402(deep_adam("-0.001"))
    assert "gradient ascent" in finding.message
    assert "never move" not in finding.message
    assert (finding.span.line, finding.span.col) == (13, 47)


def test_zero_rate_never_moves_the_weights() -> None:
    (finding,) = kc402(deep_adam("0.0"))
    assert finding.message == (
        "a learning rate of 0: the weights never move; use a positive rate such as 1e-3"
    )


def test_an_int_rate_is_also_rejected_by_keras3_only() -> None:
    code = "import keras\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
    code += 'model.compile(optimizer=keras.optimizers.SGD(0), loss="mse")\n'
    (keras3,) = kc402(code)
    assert keras3.message.endswith(
        "(Keras 3 also rejects an int rate: ValueError; write it as a float)"
    )
    (tf2,) = kc402(code, "tf2")
    assert "int rate" not in tf2.message


def test_tiny_constant_rate_is_reported_and_small_ones_are_not() -> None:
    (finding,) = kc402(deep_adam("1e-9"))
    assert finding.message.startswith("a learning rate of 1e-09 barely moves the weights")
    assert f"({load().learning_rate.lowest_trained:g})" in finding.message
    assert kc402(deep_adam("1e-6")) == []


@pytest.mark.parametrize(
    ("schedule", "reported"),
    [
        ("ExponentialDecay(0.0, 1000, 0.9)", True),
        ("InverseTimeDecay(-0.1, 1000, 0.5)", True),
        ("CosineDecay(0.0, 1000)", True),
        ("CosineDecayRestarts(0.0, 1000)", True),
        # A warm-up rises from its start; a polynomial decay ends at end_learning_rate.
        ("CosineDecay(0.0, 1000, warmup_target=1e-3, warmup_steps=100)", False),
        ("PolynomialDecay(0.0, 1000)", False),
        ("PiecewiseConstantDecay([100], [0.0, 1e-3])", False),
        # A high start is not judged: the schedule lowers it.
        ("ExponentialDecay(100.0, 10, 0.5)", False),
    ],
)
def test_schedules_are_judged_only_for_a_start_they_cannot_leave(
    schedule: str, reported: bool
) -> None:
    code = mlp(6) + f"schedule = keras.optimizers.schedules.{schedule}\n"
    code += COMPILE.format("Adam(schedule)")
    found = kc402(code)
    assert lines(code) == ([13] if reported else [])
    if reported:
        assert found[0].message.startswith(schedule.partition("(")[0] + " from ")


def test_deep_network_at_adam_one_says_what_was_measured() -> None:
    (finding,) = kc402(deep_adam("1.0"))
    assert finding.message.startswith("Adam at a learning rate of 1: in kerascheck's measurements")
    assert "training a network with 6 hidden relu layers mostly failed" in finding.message
    assert "diverges" not in finding.message


def test_a_learning_rate_scheduler_callback_overrides_the_rate() -> None:
    scheduled = "cb = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3)\n"
    assert kc402(deep_adam("1.0") + scheduled) == []
    # ... but not the sign of a rate written as a number.
    assert lines(deep_adam("-1.0") + scheduled) == [13]


def test_frozen_layers_are_not_the_measured_network() -> None:
    frozen = mlp(6).replace('activation="relu")', 'activation="relu", trainable=False)')
    # Only the output layer trains: a linear model on fixed features, not a deep network.
    assert kc402(frozen + COMPILE.format("Adam(100.0)")) == []
    everything = frozen.replace('"softmax")', '"softmax", trainable=False)')
    assert kc402(everything + COMPILE.format("Adam(100.0)")) == []
    assert lines(everything + COMPILE.format("Adam(0.0)")) == [13]


def test_one_finding_per_optimizer_call_even_when_compiled_twice() -> None:
    code = mlp(6) + "opt = keras.optimizers.Adam(-1.0)\n"
    code += "model.compile(optimizer=opt, loss='mse')\nmodel.fit(x, y)\n"
    code += "model.compile(optimizer=opt, loss='mae')\nmodel.fit(x, y)\n"
    assert lines(code) == [13]


def test_legacy_decay_lowers_the_rate_where_keras_applies_it() -> None:
    code = deep_adam("1.0, decay=0.01")
    assert lines(code, "tf2") == []
    assert lines(code, "keras3") == [13]  # Keras 3 ignores decay=
    assert lines(deep_adam("1.0, decay=1e-6"), "tf2") == [13]


def test_sgd_momentum_selects_the_measured_optimizer() -> None:
    measured = load().learning_rate
    regression = mlp(3).replace('layers.Dense(5, activation="softmax")', "layers.Dense(1)")
    compile_ = 'model.compile(optimizer=keras.optimizers.{}, loss="mse")\n'
    # 20 inputs: narrower than the wide measurement, so both sizes count.
    plain = measured.limit("SGD", [("h3-relu", 0)], ["regression"])
    momentum = measured.limit("SGD+momentum", [("h3-relu", 0)], ["regression"])
    assert plain is not None and momentum is not None
    assert momentum.fails_from is not None and plain.fails_from is not None
    assert momentum.fails_from < plain.fails_from
    rate = momentum.fails_from
    assert lines(regression + compile_.format(f"SGD({rate}, momentum=0.9)")) == [10]
    assert lines(regression + compile_.format(f"SGD({rate}, momentum=0.5)")) == []
    # Nesterov's momentum was not measured: judged as plain SGD.
    nesterov = f"SGD({rate}, momentum=0.9, nesterov=True)"
    assert lines(regression + compile_.format(nesterov)) == []
