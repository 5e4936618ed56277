"""Saved models (.keras archives, model JSON, .h5 files) go through the same rules.

The checked-in files of tests/data/saved need no TensorFlow (see generate.py there); the
last test saves models with the installed Keras when there is one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck.discover import DEFAULT_EXCLUDES, discover
from kerascheck.engine import FileResult, Options, lint_file, lint_paths
from kerascheck.extract.saved import extract_saved, flavour_of_version
from kerascheck.extract.saved_read import MAX_CONFIG_BYTES
from kerascheck.ir import Known

DATA = Path(__file__).resolve().parent / "data" / "saved"


def check(path: Path | str, **options: object) -> FileResult:
    return lint_file(str(path), Options(**options))  # type: ignore[arg-type]


def found(path: Path | str, **options: object) -> list[tuple[str, str | None]]:
    result = check(path, **options)
    assert not result.errors, result.errors
    return [(f.code, f.span.pointer) for f in result.findings]


# ----------------------------------------------------------------------------- configs
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("keras3_sequential.keras", [("KC101", "layers[1] dense")]),
        (
            "tf2_sequential.h5",
            # Adam at 0.5 on a 4-unit hidden layer: narrower than any network KC402's limits
            # were measured on, and below the rate at which all of them failed.
            [("KC404", "layers[2] dropout"), ("KC101", "layers[3] dense_1")],
        ),
        (
            "keras3_functional.json",
            # 'value' is a sigmoid trained with mse: with nothing known of its targets it may
            # be a probability, so 'accuracy' on it is not reported (KC104 needs evidence).
            [("KC107", "compile_config.loss.probs")],
        ),
        ("tf2_functional.json", [("KC101", "layers[4] tf.nn.softmax")]),
        ("legacy_keras1.json", [("KC101", "layers[2] dense_2")]),
        (
            "legacy_tfjs_keras2.json",
            [
                ("KC303", "layers[2] dense_1"),
                ("KC110", "training_config.loss"),
                ("KC105", "training_config.metrics[0]"),
            ],
        ),
        ("keras3_good.json", []),
        ("not_a_model.json", []),
    ],
)
def test_checked_in_configs_give_exact_findings(name: str, expected: list[tuple[str, str]]) -> None:
    if name.endswith(".h5"):
        pytest.importorskip("h5py")
    assert found(DATA / name) == expected


def test_the_optimizer_of_an_h5_training_config_is_checked(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(DATA / "tf2_sequential.h5") as saved:
        attrs = dict(saved.attrs)
    training = json.loads(attrs["training_config"])
    training["optimizer_config"]["config"]["learning_rate"] = -0.5
    with h5py.File(tmp_path / "model.h5", "w") as handle:
        for key, value in attrs.items():
            handle.attrs[key] = value
        handle.attrs["training_config"] = json.dumps(training)
    (finding,) = check(tmp_path / "model.h5", select=("KC402",)).findings
    assert finding.span.pointer == "training_config.optimizer_config"
    assert "gradient ascent" in finding.message


@pytest.mark.parametrize(
    ("name", "flavour"),
    [
        ("keras3_sequential.keras", "keras3"),  # metadata.json
        ("keras3_functional.json", "keras3"),  # no keras_version: Keras 3 module keys
        ("tf2_functional.json", "tf2"),
        ("legacy_keras1.json", "legacy"),
        ("legacy_tfjs_keras2.json", "legacy"),
    ],
)
def test_flavour_comes_from_the_saved_keras_version(name: str, flavour: str) -> None:
    assert extract_saved(str(DATA / name)).flavour == flavour


@pytest.mark.parametrize(
    ("version", "flavour"),
    [
        ("1.2.2", "legacy"),
        ("2.2.4", "legacy"),
        ("2.3.1", "legacy"),
        ("2.2.4-tf", "tf2"),
        ("2.4.0", "tf2"),
        ("2.15.1", "tf2"),
        ("3.15.1", "keras3"),
        ("tfjs-layers 4.0.0", None),
    ],
)
def test_flavour_of_version(version: str, flavour: str | None) -> None:
    assert flavour_of_version(version) == flavour


def test_same_options_apply_as_for_source() -> None:
    pytest.importorskip("h5py")
    h5 = DATA / "tf2_sequential.h5"
    assert [code for code, _ in found(h5, select=("KC101",))] == ["KC101"]
    assert [code for code, _ in found(h5, ignore=("KC4",))] == ["KC101"]
    per_file = (("*.h5", ("KC1", "KC402")),)
    assert found(h5, per_file_ignores=per_file, root=str(DATA)) == [("KC404", "layers[2] dropout")]
    # The legacy-only reading of 'accuracy' disappears when the target is Keras 3.
    legacy = DATA / "legacy_tfjs_keras2.json"
    assert "KC105" not in [code for code, _ in found(legacy, target_keras="keras3")]


def test_graphs_become_the_same_ir_as_source() -> None:
    (functional,) = extract_saved(str(DATA / "tf2_functional.json")).models
    assert functional.kind == "config" and not functional.is_chain
    names = [layer.call.kwarg("name").value for layer in functional.layers if layer.call]  # type: ignore[union-attr]
    assert names == [Known("features"), Known("dense_2"), Known("shared"), Known("score")]
    shared = names.index(Known("shared"))
    assert (shared, shared) in functional.edges  # the shared layer feeds itself
    (output,) = functional.outputs
    assert (output.units, output.activation) == (Known(1), Known("softmax"))
    (sequential,) = extract_saved(str(DATA / "keras3_sequential.keras")).models
    assert sequential.kind == "config" and sequential.is_chain
    assert [layer.class_name for layer in sequential.layers] == ["InputLayer", "Dense"]
    assert sequential.compile is not None and sequential.compile.losses[0][1].name == Known(
        "binary_crossentropy"
    )


def _functional_json(layers: list[dict[str, object]], output: str) -> str:
    config = {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]]}
    config["output_layers"] = [[output, 0, 0]]
    return json.dumps({"class_name": "Functional", "config": config, "keras_version": "2.15.0"})


def _dense(name: str, inbound: str, units: int = 4, activation: str = "relu") -> dict[str, object]:
    return {
        "class_name": "Dense",
        "name": name,
        "config": {"name": name, "units": units, "activation": activation},
        "inbound_nodes": [[[inbound, 0, 0, {}]]],
    }


def test_deep_and_unordered_graphs(tmp_path: Path) -> None:
    inputs = {"class_name": "InputLayer", "name": "in", "config": {"name": "in"}}
    chain = [_dense(f"d{i}", f"d{i - 1}" if i else "in") for i in range(3000)]
    chain.append(_dense("out", "d2999", units=1, activation="softmax"))
    path = tmp_path / "deep.json"
    # Listed backwards: the graph is rebuilt from inbound_nodes, not from the list order.
    path.write_text(_functional_json([inputs, *reversed(chain)], "out"))
    assert found(path) == [("KC101", "layers[1] out")]
    (model,) = extract_saved(str(path)).models
    assert model.is_chain and len(model.layers) == 3002


def test_custom_layers_and_unknown_values_stay_unknown(tmp_path: Path) -> None:
    custom = {
        "module": "my_project.layers",
        "class_name": "Dense",
        "config": {"name": "mine", "units": 1, "activation": "softmax"},
        "registered_name": "my_project>Dense",
    }
    odd_activation = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "head", "units": 1, "activation": {"class_name": "MyAct"}},
    }
    for index, last in enumerate([custom, odd_activation]):
        path = tmp_path / f"m{index}.json"
        config = {"name": "s", "layers": [last]}
        path.write_text(json.dumps({"class_name": "Sequential", "config": config}))
        assert found(path) == []


# ----------------------------------------------------------------------------- errors
def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _corrupt(kind: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{kind}.keras"
    config = json.loads(zipfile.ZipFile(DATA / "keras3_sequential.keras").read("config.json"))
    good = json.dumps(config).encode()
    if kind == "truncated":
        data = (DATA / "keras3_sequential.keras").read_bytes()
        target.write_bytes(data[: len(data) // 2])
        return target
    members = {
        "no_config": {"metadata.json": b'{"keras_version": "3.15.1"}'},
        "invalid_json": {"config.json": b'{"class_name": "Sequential", "config": '},
        # 64 MiB of spaces deflate to ~64 KB on disk: refused from its declared size.
        "oversized": {"config.json": b" " * (MAX_CONFIG_BYTES + 1)},
        "traversal": {"config.json": good, "../../evil.py": b"print('no')"},
        "absolute": {"config.json": good, "/etc/evil": b""},
    }[kind]
    return _zip(target, members)


CORRUPT = {
    "truncated": "not a valid .keras archive (zip)",
    "no_config": "not a Keras model archive: it has no config.json",
    "invalid_json": "config.json is not valid JSON",
    "oversized": "config.json is 67,108,865 bytes uncompressed, more than the 67,108,864-byte",
    "traversal": "archive member '../../evil.py' has an unsafe path",
    "absolute": "archive member '/etc/evil' has an unsafe path",
}


@pytest.mark.parametrize("kind", CORRUPT)
def test_a_broken_archive_is_one_clear_error(kind: str, tmp_path: Path) -> None:
    path = _corrupt(kind, tmp_path)
    result = check(path)
    assert result.findings == () and not result.checked
    (error,) = result.errors
    assert error.path == str(path) and CORRUPT[kind] in error.message, error.message


def test_broken_files_do_not_stop_the_others(tmp_path: Path) -> None:
    _corrupt("truncated", tmp_path)
    _corrupt("traversal", tmp_path)
    (tmp_path / "bad.json").write_text('{"class_name": "Sequential", "config": [}')
    shutil.copy(DATA / "legacy_keras1.json", tmp_path / "model.json")
    result = run_check(tmp_path, ".", "--format", "concise")
    assert result.returncode == 2
    lines = sorted(result.stdout.splitlines())
    assert lines[0].startswith("bad.json: error: the file is not valid JSON")
    assert lines[1].startswith("model.json:layers[2] dense_2: KC101 ")
    assert lines[2].startswith("traversal.keras: error: archive member '../../evil.py'")
    assert lines[3].startswith("truncated.keras: error: not a valid .keras archive")
    assert len(lines) == 4


def test_json_errors_and_keras3_compile_typos(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"class_name": "Sequential", "config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (error,) = check(deep).errors
    assert error.message == "the file is nested too deeply to read"
    # Keras 3 checks loss strings only at the first fit(): a saved compile_config keeps typos.
    config = json.loads((DATA / "keras3_good.json").read_text())
    config["compile_config"]["loss"] = "binary_crosentropy"
    (tmp_path / "typo.json").write_text(json.dumps(config))
    assert found(tmp_path / "typo.json") == [("KC203", "compile_config.loss")]


def test_h5_without_h5py_is_one_clear_error(tmp_path: Path) -> None:
    shutil.copy(DATA / "tf2_sequential.h5", tmp_path / "model.h5")
    probe = (
        "import sys; sys.modules['h5py'] = None; from kerascheck.cli import main;"
        "sys.exit(main(['check', 'model.h5', '--format', 'concise']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stdout == (
        "model.h5: error: reading .h5 files needs h5py: install kerascheck[h5] "
        "(pip install 'kerascheck[h5]')\n"
    )


def test_h5_files_without_a_model_config_or_not_hdf5(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "model.weights.h5", "w") as handle:
        handle.create_dataset("dense/kernel", data=[[1.0]])
    assert check(tmp_path / "model.weights.h5") == FileResult(str(tmp_path / "model.weights.h5"))
    (tmp_path / "fake.h5").write_text("not hdf5")
    (error,) = check(tmp_path / "fake.h5").errors
    assert error.message == "not an HDF5 file (no HDF5 signature at its start)"


def test_an_h5_file_that_crashes_hdf5_is_one_error(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    data = bytearray((DATA / "tf2_sequential.h5").read_bytes())
    data[1089] = 123  # one flipped byte: HDF5 1.14 dies of a segmentation fault on it
    (tmp_path / "crash.h5").write_bytes(bytes(data))
    shutil.copy(DATA / "legacy_keras1.json", tmp_path / "model.json")
    result = run_check(tmp_path, ".", "--format", "concise", "--isolated")
    assert result.returncode == 2, result.stderr
    crash, model = sorted(result.stdout.splitlines())
    assert crash.startswith("crash.h5: error: ")
    assert model.startswith("model.json:layers[2] dense_2: KC101 ")


# ----------------------------------------------------------------------------- discovery
def test_directory_walk_picks_saved_models_and_model_json_only(tmp_path: Path) -> None:
    shutil.copy(DATA / "keras3_sequential.keras", tmp_path / "m.keras")
    shutil.copy(DATA / "keras3_good.json", tmp_path / "model.json")
    (tmp_path / "w.h5").write_bytes(b"")
    (tmp_path / "package.json").write_text('{"name": "app", "dependencies": {}}')
    (tmp_path / "late.json").write_text('{"padding": "' + " " * 2000 + '", "class_name": "X"}')
    found_paths = sorted(Path(p).name for p in discover([str(tmp_path)], DEFAULT_EXCLUDES))
    assert found_paths == ["m.keras", "model.json", "w.h5"]
    # Named explicitly, any JSON is read; one that is not a Keras model config is clean.
    report = lint_paths([str(tmp_path / "package.json")], Options())
    assert report.exit_code == 0 and report.results[0].checked


# ----------------------------------------------------------------------------- output
def test_every_output_format_shows_the_pointer(tmp_path: Path) -> None:
    shutil.copy(DATA / "keras3_sequential.keras", tmp_path / "m.keras")
    message = "softmax over a 1-unit output always outputs 1.0"

    concise = run_check(tmp_path, "m.keras", "--format", "concise").stdout
    assert concise.startswith(f"m.keras:layers[1] dense: KC101 {message}")

    text = run_check(tmp_path, "m.keras", "--format", "text").stdout
    assert text.startswith(f"m.keras:layers[1] dense: KC101 {message}")
    assert " | " not in text  # no code frame: there is no source line

    report = json.loads(run_check(tmp_path, "m.keras", "--format", "json").stdout)
    (finding,) = report["findings"]
    assert finding["pointer"] == "layers[1] dense" and finding["path"] == "m.keras"
    assert [finding[k] for k in ("line", "column", "end_line", "end_column")] == [None] * 4

    github = run_check(tmp_path, "m.keras", "--format", "github").stdout
    assert github.startswith(
        f"::error file=m.keras,title=KC101 softmax-single-unit::layers[1] dense: {message}"
    )


# ----------------------------------------------------------------------------- real Keras
_SAVE = """
import keras
def model(activation):
    out = keras.layers.Dense(1, activation=activation, name="out")
    m = keras.Sequential([keras.Input((2,)), out])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return m
for name, activation in (("bad", "softmax"), ("good", "sigmoid")):
    m = model(activation)
    m.save(f"{name}.keras")
    m.save(f"{name}.h5")
    with open(f"{name}.json", "w") as handle:
        handle.write(m.to_json())
inputs = keras.Input((2,), name="x")
outputs = keras.activations.softmax(keras.layers.Dense(1, name="score")(inputs))
keras.Model(inputs, outputs).save("op.keras")
hidden = keras.layers.Dense(16, activation="relu")(inputs)
kind = keras.layers.Dense(4, activation="sigmoid", name="kind")(hidden)
logit = keras.layers.Dense(1, name="logit")(hidden)
one = keras.layers.Dense(1, activation="sigmoid", name="one")(hidden)
double = keras.layers.Activation("softmax", name="double")(
    keras.layers.Dense(5, activation="softmax", name="probs")(hidden)
)
heads = keras.Model(inputs, [kind, logit, one, double])
heads.compile(optimizer="adam", loss={
    "kind": keras.losses.SparseCategoricalCrossentropy(),
    "logit": "binary_crossentropy",
    "one": keras.losses.CategoricalCrossentropy(),
    "double": "categorical_crossentropy",
})
heads.save("heads.keras")
heads.save("heads.h5")
"""


@pytest.fixture(scope="module")
def saved_by_keras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_spec("tensorflow") is None or find_spec("keras") is None:
        pytest.skip("needs TensorFlow and Keras")
    folder = tmp_path_factory.mktemp("saved")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SAVE)],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return folder


def test_models_saved_by_real_keras(saved_by_keras: Path) -> None:
    pytest.importorskip("h5py")
    for suffix in (".keras", ".json", ".h5"):
        assert found(saved_by_keras / f"bad{suffix}") == [("KC101", "layers[1] out")], suffix
        assert found(saved_by_keras / f"good{suffix}") == [], suffix
    assert found(saved_by_keras / "op.keras") == [("KC101", "layers[2] softmax")]


def test_saved_losses_are_paired_with_their_outputs(saved_by_keras: Path) -> None:
    # Loss instances and strings of a dict keyed by output name, as Keras 3 stores them in
    # compile_config (.keras) and training_config (.h5).
    pytest.importorskip("h5py")
    for suffix, key in ((".keras", "compile_config"), (".h5", "training_config")):
        assert found(saved_by_keras / f"heads{suffix}") == [
            ("KC113", "layers[6] double"),
            ("KC109", f"{key}.loss.kind"),
            ("KC106", f"{key}.loss.logit"),
            ("KC108", f"{key}.loss.one"),
        ], suffix
