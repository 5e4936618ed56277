"""The knowledge tables agree with what Keras really accepts."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerascheck.knowledge import keras3_api, load

ROOT = Path(__file__).resolve().parent.parent
TABLES = json.loads((ROOT / "kerascheck" / "knowledge" / "tables.json").read_text())
# Names tables.json keeps for tf.keras / Keras 2 code that Keras 3 no longer accepts.
KERAS2_ONLY_LOSSES = {"kullback_leibler_divergence", "huber_loss", "logcosh", "cosine_proximity"}
# Layer names of Keras 1/2 the tables keep so that old code is still understood.
KERAS2_ONLY_LAYERS = {"Convolution1D", "Convolution2D", "Convolution3D", "ThresholdedReLU"}


def test_activation_table_matches_keras3() -> None:
    assert set(TABLES["activations"]) <= keras3_api().activations
    assert load().canonical_activation("swish") == "silu"
    assert load().canonical_activation("softmaxx") is False


def test_loss_aliases_are_keras3_names_or_documented_keras2_names() -> None:
    unknown = set(TABLES["loss_aliases"]) - keras3_api().losses
    assert unknown == KERAS2_ONLY_LOSSES


def test_metric_aliases_are_keras3_names() -> None:
    assert set(TABLES["metric_aliases"]) <= keras3_api().metrics


def test_every_layer_in_the_tables_is_a_keras3_layer() -> None:
    layers = set(keras3_api().layer_arguments)
    for key in ("unit_layers", "transparent_layers", "activation_layers", "dropout_layers"):
        names = set(TABLES[key])
        assert names - layers <= KERAS2_ONLY_LAYERS, key


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")
def test_generated_api_matches_installed_keras() -> None:
    version = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    if version != keras3_api().version:
        pytest.skip(f"tables were generated from Keras {keras3_api().version}, not {version}")
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_knowledge.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


# Measured by real Keras in a child process (TensorFlow stays out of the test process):
# where a second activation lands on the first's output, and which layers pass values
# through unchanged at inference.
_MEASURE = """
import json, sys
import numpy as np
import keras
from keras import layers
pairs, transparent = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
ranges = []
for inner, outer, n in pairs:
    eye = np.eye(n) * 2e4
    z = np.concatenate([rng.normal(size=(1000, n)) * 30, eye, -eye, eye - 1e4, 1e4 - eye])
    z = z.astype("float32")
    out = np.asarray(layers.Activation(outer)(layers.Activation(inner)(z)))
    ranges.append([float(out.min()), float(out.max())])
shapes = {"SpatialDropout1D": (4, 3, 6), "SpatialDropout2D": (4, 2, 3, 6),
          "SpatialDropout3D": (4, 2, 2, 3, 6)}
identity = {}
for name in transparent:
    cls = getattr(layers, name)
    layer = cls(0.5) if "Dropout" in name or name == "GaussianNoise" else cls()
    x = rng.random(shapes.get(name, (4, 6))).astype("float32")
    identity[name] = bool(np.array_equal(np.asarray(layer(x, training=False)), x))
print(json.dumps([ranges, identity]))
"""


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")
def test_double_activation_ranges_and_transparent_layers_match_keras() -> None:
    from kerascheck.rules.kc113_double_activation import squashed_range

    inners = ["softmax", "sigmoid", "tanh", "softsign", "hard_sigmoid", "hard_tanh"]
    outers = ["softmax", "sigmoid", "tanh", "softsign"]
    pairs = [(i, o, n) for i in inners for o in outers for n in (2, 3, 10)]
    transparent = sorted(load().transparent_layers)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps([pairs, transparent])],
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    ranges, identity = json.loads(run.stdout.strip().splitlines()[-1])
    for (inner, outer, n), measured in zip(pairs, ranges, strict=True):
        expected = squashed_range(inner, outer, n)
        # The bounds are suprema: measured values approach them from inside.
        assert expected[0] - 1e-4 <= measured[0] <= expected[0] + 2e-3, (inner, outer, n)
        assert expected[1] - 2e-3 <= measured[1] <= expected[1] + 1e-4, (inner, outer, n)
    assert identity == dict.fromkeys(transparent, True)


def _measurement_tool() -> object:
    spec = importlib.util.spec_from_file_location(
        "measure_learning_rates", ROOT / "tools" / "measure_learning_rates.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # its dataclasses look their module up
    spec.loader.exec_module(tool)
    return tool


def test_learning_rate_limits_are_the_recorded_measurements() -> None:
    """KC402's limits are what tools/measure_learning_rates.py derives from its recorded
    results (docs/measurements/learning_rates.json), not numbers typed by hand."""
    results = json.loads((ROOT / "docs" / "measurements" / "learning_rates.json").read_text())
    derived = _measurement_tool().derive(results["cells"])  # type: ignore[attr-defined]
    table = TABLES["learning_rate"]
    assert {key: table[key] for key in derived} == json.loads(json.dumps(derived))
    assert table["measured_with"] == f"Keras {results['keras']}"
    # Every optimizer with limits is a Keras optimizer (or SGD with momentum).
    assert set(table["measured"]) - {table["momentum"][0]} <= set(TABLES["optimizers"])


@pytest.mark.dynamic
@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs keras")
def test_learning_rate_measurement_smoke_run() -> None:
    """A tiny run of the measurement: stacked training equals keras model.fit, Adam trains
    at 1e-3 and diverges at 100."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "measure_learning_rates.py"), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ok  Adam 0.01 h3-relu-bn softmax"), lines
    assert lines[1:] == ["Adam|h1-relu|binary|32 +x"]


_MEASURE_PREPROCESS = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras.applications as applications
pixel = np.array([[[[255.0, 0.0, 255.0]]]], dtype="float32")
found = {}
for module, scale in json.loads(os.environ["SCALES"]).items():
    out = getattr(applications, module).preprocess_input(pixel.copy())[0, 0, 0]
    if np.allclose(out, [255, 0, 255]):
        found[module] = "raw_0_255"
    elif np.allclose(out, [1, -1, 1]):
        found[module] = "minus_one_one"
    elif np.allclose(out, [151.061, -116.779, 131.32], atol=1e-2):
        found[module] = "caffe"
    elif np.allclose(out, [2.249, -2.036, 2.64], atol=1e-2):
        found[module] = "torch"
print(json.dumps(found))
"""


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="needs Keras installed")
def test_preprocess_input_scales_match_installed_keras() -> None:
    """What each keras.applications preprocess_input makes of a raw pixel, measured again."""
    scales = TABLES["preprocess_input_scales"]
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE_PREPROCESS],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SCALES": json.dumps(scales)},
    )
    assert json.loads(run.stdout.strip().splitlines()[-1]) == scales
