"""KC204: what a fit() logs and what the code reads of it, linked in program order."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from importlib.metadata import version

import pytest
from conftest import codes_at, extract_module, findings

from kerascheck.ir import UNKNOWN, Known, RunSpec
from kerascheck.rules.kc204_metric_key_not_logged import logged_keys

MODEL = """
import keras
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
"""


def kc204(code: str, flavour: str = "keras3") -> list[tuple[str, int, int]]:
    return codes_at(MODEL + code, select=("KC204",), target_keras=flavour)


def only_run(code: str) -> RunSpec:
    (model,) = extract_module(MODEL + code).models
    (run,) = model.fits
    return run


def test_reads_are_recorded_on_the_fit_that_returned_the_history() -> None:
    run = only_run("""
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
h = model.fit(x, y)
logs = h.history
print(logs["acc"], h.history.get("loss"))
""")
    assert [(r.key, r.method) for r in run.history_reads] == [("acc", "subscript"), ("loss", "get")]
    assert not run.history_probed
    assert run.validation == Known(False)
    assert run.callbacks == Known(())


@pytest.mark.parametrize(
    ("guard", "probed"),
    [
        ('if "acc" in h.history:\n    print(h.history["acc"])', True),
        ('try:\n    print(h.history["acc"])\nexcept KeyError:\n    pass', True),
        ('print(h.history.get("acc", []))', True),
        ('if "acc" in h.history.keys():\n    print(h.history["acc"])', True),
        ('print(h.history.keys())\nprint(h.history["acc"])', False),
        ('h.history["acc"] = h.history.pop("accuracy")\nprint(h.history["acc"])', True),
        ('h.history["acc"] = h.history["accuracy"]\nprint(h.history["acc"])', True),
        ('try:\n    print(h.history["acc"])\nfinally:\n    pass', False),
    ],
)
def test_guarded_reads_mark_the_history_probed(guard: str, probed: bool) -> None:
    run = only_run(f"""
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
h = model.fit(x, y)
{guard}
""")
    assert run.history_probed is probed


@pytest.mark.parametrize(
    ("arguments", "validation"),
    [
        ("validation_split=0.2", Known(True)),
        ("validation_split=0", Known(False)),
        ("validation_data=(xv, yv)", Known(True)),
        ("validation_data=None", Known(False)),
        ("validation_data=val", UNKNOWN),
        ("**options", UNKNOWN),
        ("32, 5, 1, None, 0.1", Known(True)),
    ],
)
def test_whether_a_fit_logs_val_keys(arguments: str, validation: object) -> None:
    run = only_run(f"""
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, {arguments})
""")
    assert run.validation == validation


def test_callbacks_are_known_only_when_all_are_keras_callbacks() -> None:
    run = only_run("""
model.compile(optimizer="adam", loss="binary_crossentropy")
stop = keras.callbacks.EarlyStopping(monitor="loss")
model.fit(x, y, callbacks=[stop, keras.callbacks.CSVLogger("log.csv")])
""")
    assert [c.qualname for c in run.callbacks.value] == [  # type: ignore[union-attr]
        "keras.callbacks.EarlyStopping",
        "keras.callbacks.CSVLogger",
    ]
    run = only_run("""
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping(), MyCallback()])
""")
    assert run.callbacks is UNKNOWN


def test_function_metrics_and_unresolved_ones_on_the_compile() -> None:
    (model,) = extract_module(
        MODEL
        + """
def f1(y_true, y_pred):
    return y_pred
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[f1, "acc"])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[F1Score()])
model.compile("adam", "binary_crossentropy", ["acc"])
model.compile(optimizer="adam", loss="mse", metrics=["acc"], weighted_metrics=["acc"])
"""
    ).models
    first, custom, positional, weighted = model.compiles
    assert first.function_metrics == ((None, "f1"),) and not first.unresolved_metrics
    assert custom.unresolved_metrics and positional.unresolved_metrics
    assert weighted.unresolved_metrics


def test_each_fit_is_judged_against_its_own_compile() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
first = model.fit(x, y)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
second = model.fit(x, y)
print(first.history["acc"], second.history["accuracy"])
print(first.history["accuracy"])
"""
    assert kc204(code) == [("KC204", 9, 21)]


def test_a_history_read_in_a_plotting_function_is_linked_to_the_call_site() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
def plot(history, key):
    plt.plot(history.history[key])
    plt.plot(history.history["val_" + key])
plot(model.fit(x, y, validation_split=0.1), "acc")
"""
    assert kc204(code) == [("KC204", 6, 30), ("KC204", 7, 30)]


def test_flavours_disagree_on_accuracy() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
h = model.fit(x, y, validation_split=0.1)
print(h.history["val_acc"])
"""
    assert kc204(code, "legacy") == []
    assert kc204(code, "tf2") == [("KC204", 6, 17)]
    assert kc204(code, "keras3") == [("KC204", 6, 17)]


def test_val_keys_without_validation_data_have_no_fix() -> None:
    (finding,) = findings(
        MODEL
        + """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
h = model.fit(x, y)
print(h.history["val_accuracy"])
""",
        select=("KC204",),
    )
    assert "has no validation data" in finding.message
    assert finding.fix is None


@pytest.mark.parametrize(
    ("callback", "effect"),
    [
        ('EarlyStopping(monitor="val_acc", mode="max")', "never stops"),
        ('EarlyStopping(monitor="val_acc")', "raises ValueError"),
        ('ReduceLROnPlateau(monitor="val_acc", mode="max")', "never lowers"),
        (
            'ModelCheckpoint("m.keras", monitor="val_acc", mode="max", save_best_only=True)',
            "the last model, not the best",
        ),
    ],
)
def test_callback_monitors_say_what_the_callback_does(callback: str, effect: str) -> None:
    (finding,) = findings(
        MODEL
        + f"""
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, validation_split=0.1, callbacks=[keras.callbacks.{callback}])
""",
        select=("KC204",),
        target_keras="keras3",
    )
    assert effect in finding.message
    assert finding.fix is not None and not finding.fix.safe


def test_a_checkpoint_without_save_best_only_ignores_its_monitor_outside_keras3() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
save = keras.callbacks.ModelCheckpoint("m.h5", monitor="val_acc")
model.fit(x, y, validation_split=0.1, callbacks=[save])
"""
    assert kc204(code, "tf2") == []
    assert kc204(code, "keras3") == [("KC204", 5, 56)]


def test_numbered_metric_classes_accept_any_suffix() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.AUC()])
h = model.fit(x, y)
print(h.history["auc_3"], h.history["auc"])
print(h.history["AUC"])
"""
    assert kc204(code) == [("KC204", 7, 17)]


def test_a_model_that_adds_metrics_of_its_own_is_not_judged() -> None:
    code = """
model.add_metric(keras.ops.mean(model.output), name="mean_output")
model.compile(optimizer="adam", loss="binary_crossentropy")
h = model.fit(x, y)
print(h.history["mean_output"])
"""
    assert kc204(code, "tf2") == []


# Each case as the code writes it: compile(metrics=...), fit(...) arguments.
_MEASURED_CASES = [
    ('["acc"]', ""),
    ('["accuracy"]', "validation_split=0.25"),
    ('["mae", "mean_absolute_error"]', ""),
    ('[keras.metrics.AUC(name="roc"), "AUC", keras.metrics.Precision()]', "validation_split=0.25"),
    ("[keras.metrics.mean_absolute_error]", ""),
    ('["acc"]', "callbacks=[keras.callbacks.ReduceLROnPlateau(monitor='loss')]"),
]

_MEASURE_KEYS = """
import json, os, sys, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.simplefilter("ignore")
import numpy as np, keras
x = np.random.rand(16, 4)
y = (np.random.rand(16, 1) > 0.5).astype("float32")
keys = []
for metrics, arguments in json.loads(sys.argv[1]):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=eval(metrics))
    history = eval(f"model.fit(x, y, epochs=1, verbose=0, {arguments})")
    keys.append(sorted(history.history))
effects = {}
for mode in ("max", None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_acc", mode=mode or "auto", patience=0)
    try:
        epochs = len(model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                               callbacks=[stop]).history["loss"])
        effects[str(mode)] = f"ran {epochs}"
    except ValueError:
        effects[str(mode)] = "ValueError"
print(json.dumps([keys, effects]))
"""


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs Keras installed")
def test_the_keys_computed_are_the_keys_keras3_logs() -> None:
    """docs/knowledge.md: what the installed Keras 3 logs, against what the rule computes."""
    if not version("keras").startswith("3."):
        pytest.skip(f"measures Keras 3; keras {version('keras')} is installed")
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE_KEYS, json.dumps(_MEASURED_CASES)],
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    measured, effects = json.loads(run.stdout.strip().splitlines()[-1])
    for (metrics, arguments), keys in zip(_MEASURED_CASES, measured, strict=True):
        code = f"""
model.compile(optimizer="adam", loss="binary_crossentropy", metrics={metrics})
model.fit(x, y, {arguments})
"""
        (model,) = extract_module(MODEL + code).models
        (fit,) = model.fits
        logged = logged_keys(model, fit.compile.value, fit, "keras3")  # type: ignore[union-attr]
        assert logged is not None
        assert all(logged.has(key) for key in keys), (metrics, keys, logged)
        assert len(logged.keys) + len(logged.numbered) == len(keys), (metrics, keys, logged)
    # A monitor that is not logged: with mode="max" the training runs on (a warning only),
    # without it Keras 3 raises.
    assert effects == {"max": "ran 3", "None": "ValueError"}


def test_the_learning_rate_key_of_keras3_callbacks() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy")
h = model.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss")])
print(h.history["lr"])
"""
    assert kc204(code, "tf2") == []
    (finding,) = findings(MODEL + code, select=("KC204",), target_keras="keras3")
    assert finding.fix is not None and finding.fix.safe
    assert finding.fix.edits[0].text == '"learning_rate"'


def test_a_default_monitor_without_validation_data_is_reported_on_the_callback() -> None:
    code = """
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau()])
model.fit(x, y, validation_split=0.2, callbacks=[keras.callbacks.ReduceLROnPlateau()])
"""
    (finding,) = findings(MODEL + code, select=("KC204",))
    assert (finding.span.line, finding.span.col) == (5, 44)
    assert "the default monitor `val_loss`" in finding.message
    assert "never lowers the learning rate" in finding.message
    assert finding.fix is None
