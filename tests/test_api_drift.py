"""The generated API drift tables (kerascheck/knowledge/api_drift.json): current, complete,
and what the rules read from them.

Currency, offline first: the committed snapshots of the old packages and of Keras 3 rebuild
exactly the committed tables (CI has no network, so this is what CI holds). The snapshots
themselves are checked against their sources where those are here: the installed Keras 3
(skipped when another version is installed) and the downloaded old packages in
.cache/keras-api (skipped when absent: `python tools/gen_api_drift.py` downloads them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import codes_at

from kerascheck.knowledge import api_drift, spelling_of

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import gen_api_drift  # noqa: E402
from keras_api import static  # noqa: E402

RAW = json.loads((ROOT / "kerascheck" / "knowledge" / "api_drift.json").read_text())
ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}
_TEXTS = ("use", "why", "warns", "tf2")  # argument rows refer to these by index


def _rows() -> list[tuple[str, str, dict]]:
    rows = [
        (table, key, row)
        for table in ("modules", "names", "members", "identifiers")
        for key, row in RAW[table].items()
    ]
    texts = RAW["texts"]
    for callable_, table in RAW["arguments"].items():
        for name, row in table.items():
            resolved = {k: texts[v] if k in _TEXTS else v for k, v in row.items()}
            rows.append(("arguments", f"{callable_}({name}=)", resolved))
    return rows


# ----------------------------------------------------------------------------- currency
def test_tables_rebuild_from_the_committed_snapshots() -> None:
    old = [json.loads(source.snapshot.read_text()) for source in gen_api_drift.SOURCES]
    tables = gen_api_drift.build(old, gen_api_drift.committed_keras3())
    rebuilt = gen_api_drift.render_snapshot(tables)
    assert rebuilt == gen_api_drift.TARGET.read_text(), "run python tools/gen_api_drift.py"


def test_keras3_snapshot_matches_the_installed_keras() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.__version__)"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("Keras is not installed")
    installed = probe.stdout.strip()
    generated = RAW["keras3_version"]
    if installed != generated:
        pytest.skip(f"the tables were generated from Keras {generated}, not {installed}")
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(TOOLS)!r})
        import gen_api_drift
        old = [json.loads(s.snapshot.read_text()) for s in gen_api_drift.SOURCES]
        fresh = gen_api_drift.render_snapshot(gen_api_drift.extract_keras3(old))
        committed = gen_api_drift.keras3_snapshot_path({installed!r}).read_text()
        print("same" if fresh == committed else "differs")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, check=False
    )
    assert run.stdout.strip() == "same", run.stderr[-2000:]


@pytest.mark.parametrize("source", gen_api_drift.SOURCES, ids=lambda s: s.filename)
def test_old_snapshot_matches_its_package(source: gen_api_drift.Source) -> None:
    if not gen_api_drift.cached(source):
        pytest.skip(f"{source.filename} is not in .cache/keras-api (needs the network)")
    fresh = gen_api_drift.render_snapshot(gen_api_drift.extract_old(source))
    assert fresh == source.snapshot.read_text()


# ----------------------------------------------------------------------------- completeness
def test_every_row_has_a_replacement_or_says_why_not() -> None:
    missing = [(t, key) for t, key, row in _rows() if not (row.get("use") or row.get("why"))]
    assert missing == []


def test_every_keras_path_the_advice_names_exists_in_keras3() -> None:
    paths = set(RAW["keras3_paths"])
    named = {
        match
        for _, _, row in _rows()
        for text in (row.get("use") or "", row.get("why") or "", row.get("note") or "")
        for match in re.findall(r"`(keras\.[A-Za-z0-9_.]*[A-Za-z0-9_])", text)
    }
    assert named and named - paths == set()


def test_counts_are_recorded_in_the_knowledge_doc() -> None:
    doc = (ROOT / "docs" / "knowledge.md").read_text()
    for table, count in RAW["counts"].items():
        assert f"| `{table}` | {count:,} |" in doc, table


# ----------------------------------------------------------------------------- facts
def test_what_the_diff_finds() -> None:
    drift = api_drift()
    text = drift.modules["keras.preprocessing.text"]
    assert (text.since, text.tf_keras) == ("keras3", True)
    assert drift.names["keras.backend.int_shape"].tf_keras
    assert drift.names["keras.preprocessing.image.ImageDataGenerator"].tf_keras
    assert drift.modules["keras.layers.core"].since == "tf2"
    assert drift.modules["keras.wrappers.scikit_learn"].use is not None
    assert drift.members["Model.predict_classes"].since == "tf2"
    assert drift.members["Model.fit_generator"].since == "keras3"
    assert drift.members["Layer.output_shape"].kind == "attribute"
    assert "LSTM" in drift.members["Layer.stateful"].kept_by
    dense = drift.arguments("keras.layers.Dense")
    assert {"batch_size", "weights", "batch_input_shape", "kernel_layout"} <= set(dense)
    assert dense["init"].rename == "kernel_initializer"
    assert drift.arguments("keras.layers.BatchNormalization").get("fused") is not None
    fit = drift.arguments("Model.fit")
    assert {"workers", "use_multiprocessing", "max_queue_size"} <= set(fit)
    assert fit["nb_epoch"].rename == "epochs"
    assert drift.arguments("Layer.add_loss").get("inputs") is not None
    decay = drift.arguments("keras.optimizers.SGD")["decay"]
    assert decay.ignored and "no longer supported" in (decay.warns or "")
    conv = drift.arguments("keras.layers.Conv2D")["dim_ordering"]
    assert conv.rename == "data_format" and conv.values == {
        "default": None,
        "tf": "channels_last",
        "th": "channels_first",
    }
    # Keras 3 took `weights=` back on Embedding: not a removed argument there.
    assert drift.arguments("keras.layers.Embedding").get("weights") is None
    sgd = drift.positional["keras.optimizers.SGD"]
    legacy = next(o for o in sgd.old if o.version == "2.2.4")
    assert legacy.parameter(2) == ("decay", "number") and sgd.keras3[2] == ("nesterov", "bool")
    assert drift.identifiers["loss:logcosh"].use == "'log_cosh'"
    assert drift.identifiers["metric:crossentropy"].since == "keras3"


def test_metric_keys_per_flavour() -> None:
    keys = api_drift().metric_keys
    assert keys.string_keys("keras3", "accuracy") == {"accuracy"}
    assert keys.string_keys("tf2", "accuracy") == {"accuracy"}
    assert keys.string_keys("legacy", "accuracy") == {"acc", "accuracy"}  # 2.2.4 / 2.3.1
    assert keys.string_keys("legacy", "acc") == {"acc"}
    assert keys.string_keys("keras3", "acc") == {"acc"}
    assert keys.string_keys("keras3", "mae") == {"mae"}
    assert keys.string_keys("legacy", "mae") == {"mae", "mean_absolute_error"}
    assert keys.string_keys("keras3", "mean_absolute_error") == {"mean_absolute_error"}
    assert keys.string_keys("keras3", "AUC") == {"AUC"}  # Keras 3 logs a string as written
    assert keys.string_keys("tf2", "AUC") == {"auc"}  # tf.keras used the class's own name
    auc = keys.class_key("keras3", "keras.metrics.AUC")
    assert auc is not None and (auc.key, auc.numbered) == ("auc", True)
    precision = keys.class_key("tf2", "keras.metrics.Precision")
    assert precision is not None and precision.key == "precision"
    for flavour in ("legacy", "tf2", "keras3"):
        for callback in ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"):
            monitor = keys.monitor(flavour, f"keras.callbacks.{callback}")
            assert monitor is not None and (monitor.monitor, monitor.mode) == ("val_loss", "auto")


def test_save_weights_with_save_format_is_one_finding() -> None:
    """`save_weights("w.h5", save_format="h5")`: KC201's `save_format=` finding already says
    to name the file `*.weights.h5`; KC202 reports the name only without that argument."""
    both = """
        import keras
        model = keras.Sequential([keras.layers.Dense(1)])
        model.save_weights("w.h5", save_format="h5")
        model.save_weights("w.h5")
    """
    assert codes_at(both, select=("KC201", "KC202")) == [
        ("KC201", 3, 28),
        ("KC202", 4, 20),
    ]


def test_spelling_decides_what_applies() -> None:
    assert spelling_of("tensorflow.keras.backend.int_shape") == (
        "tensorflow",
        "keras.backend.int_shape",
    )
    assert spelling_of("tf_keras.layers.Dense") == ("tf_keras", "keras.layers.Dense")
    assert spelling_of("keras.src.backend.int_shape") is None
    assert spelling_of("tensorflow.python.keras.layers.Dense") is None
    row = api_drift().names["keras.preprocessing.image.ImageDataGenerator"]
    assert row.applies("keras3", "keras")
    assert not row.applies("keras3", "tensorflow")  # TensorFlow 2.21 still provides it
    assert not row.applies("tf2", "keras")
    assert not row.applies("keras3", "tf_keras")
    legacy_only = api_drift().modules["keras.layers.core"]
    assert legacy_only.applies("tf2", "keras") and legacy_only.applies("keras3", "tf_keras")


# ----------------------------------------------------------------------------- the extractor
def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_static_extraction_of_an_old_layout_package(tmp_path: Path) -> None:
    """Star imports, aliases, ``**kwargs`` keywords and the Keras 2 legacy interfaces, read
    without importing anything."""
    root = _package(
        tmp_path,
        {
            "keras/__init__.py": "from . import layers\n",
            "keras/legacy/__init__.py": "",
            "keras/legacy/interfaces.py": """
                def generate_legacy_interface(**kwargs):
                    return lambda f: f
                legacy_dense_support = generate_legacy_interface(
                    allowed_positional_args=['units'],
                    conversions=[('output_dim', 'units'), ('init', 'kernel_initializer')],
                    value_conversions={'init': {'normal': 'random_normal'}})
            """,
            "keras/engine.py": """
                class Layer(object):
                    def __init__(self, **kwargs):
                        allowed_kwargs = {'input_shape', 'batch_input_shape', 'name'}
                        self.built = False
                    @property
                    def output_shape(self):
                        return None
            """,
            "keras/layers/__init__.py": "from .core import *\nfrom ..engine import Layer\n",
            "keras/layers/core.py": """
                import numpy as np
                from ..engine import Layer
                from ..legacy import interfaces
                class Dense(Layer):
                    @interfaces.legacy_dense_support
                    def __init__(self, units, activation=None, use_bias=True, **kwargs):
                        self.fused = kwargs.pop('fused', None)
                        super(Dense, self).__init__(**kwargs)
                Linear = Dense
                def _helper():
                    pass
            """,
        },
    )
    snapshot = static.extract(root)
    assert "keras.layers.core" in snapshot["modules"]
    symbols = snapshot["symbols"]
    dense_ident = "keras.layers.core.Dense"
    assert symbols["keras.layers.Dense"] == symbols["keras.layers.Linear"] == dense_ident
    assert "keras.layers.np" not in symbols and "keras.layers._helper" not in symbols
    dense = snapshot["defs"]["keras.layers.core.Dense"]
    assert dense["params"] == [["units"], ["activation", None], ["use_bias", True]]
    assert {"fused", "input_shape", "batch_input_shape", "name"} <= set(dense["keywords"])
    assert dense["renamed"] == {"init": "kernel_initializer", "output_dim": "units"}
    assert dense["values"] == {"init": {"normal": "random_normal"}}
    assert dense["positional_limit"] == 1
    layer = snapshot["receivers"]["Layer"]
    assert "output_shape" in layer["attributes"] and "built" in layer["attributes"]


# ----------------------------------------------------------------------------- measured facts
FACTS = """
import warnings
import numpy as np
import keras

def raises(step):
    try:
        step()
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc)
    return None

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile("sgd", "mse")
x, y = np.zeros((8, 3)), np.zeros((8, 1))
fit = lambda cb: model.fit(x, y, epochs=1, verbose=0, callbacks=[cb], validation_split=0.25)
checks = {
    "save dir": raises(lambda: model.save("model_dir")),
    "save hdf5": raises(lambda: model.save("m.hdf5")),
    "save_weights h5": raises(lambda: model.save_weights("w.h5")),
    "save_weights ok": raises(lambda: model.save_weights("w.weights.h5")),
    "save_format tf": raises(lambda: model.save("m", save_format="tf")),
    "checkpoint hdf5": raises(lambda: fit(keras.callbacks.ModelCheckpoint("c.hdf5"))),
    "checkpoint hdf5 constructed": raises(lambda: keras.callbacks.ModelCheckpoint("c.hdf5")),
    "checkpoint ckpt weights constructed": raises(
        lambda: keras.callbacks.ModelCheckpoint("c.ckpt", save_weights_only=True)
    ),
    "checkpoint h5": raises(lambda: fit(keras.callbacks.ModelCheckpoint("c.h5"))),
    "checkpoint ckpt weights": raises(
        lambda: fit(keras.callbacks.ModelCheckpoint("c.ckpt", save_weights_only=True))
    ),
    "input int": raises(lambda: keras.Input(shape=7)),
    "fit workers": raises(lambda: model.fit(x, y, verbose=0, workers=2)),
    "dense batch_size": raises(lambda: keras.layers.Dense(1, batch_size=4)),
}
sgd = keras.optimizers.SGD(0.01, 0.9, 1e-6, True)
checks["sgd positional"] = [float(sgd.nesterov), bool(sgd.weight_decay)]
keras.utils.get_custom_objects()["swish2"] = lambda t: t
checks["custom activation"] = raises(lambda: keras.layers.Dense(1, activation="swish2"))
print(json.dumps(checks))
"""


@pytest.mark.dynamic
def test_the_measured_saving_and_signature_facts_hold_on_installed_keras(tmp_path: Path) -> None:
    """docs/knowledge.md's measurements, repeated on the installed Keras 3."""
    pytest.importorskip("keras")
    run = subprocess.run(
        [sys.executable, "-c", "import json\n" + FACTS],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=ENV,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    assert "Invalid filepath extension" in facts["save dir"]
    assert facts["save hdf5"] is None
    assert "must end in `.weights.h5`" in facts["save_weights h5"]
    assert facts["save_weights ok"] is None
    assert "save_format" in facts["save_format tf"]
    assert "must end in `.keras`" in facts["checkpoint hdf5"]
    # The constructor raises, before any training (KC202 says "when the callback is created").
    assert "must end in `.keras`" in facts["checkpoint hdf5 constructed"]
    assert ".weights.h5" in facts["checkpoint ckpt weights constructed"]
    assert facts["checkpoint h5"] is None
    assert ".weights.h5" in facts["checkpoint ckpt weights"]
    assert "Cannot convert '7' to a shape" in facts["input int"]
    assert "workers" in facts["fit workers"]
    assert "Unrecognized keyword arguments" in facts["dense batch_size"]
    assert facts["sgd positional"] == [pytest.approx(1e-6), True]
    assert "Could not interpret activation function identifier" in facts["custom activation"]
