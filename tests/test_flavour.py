"""Keras flavour: --target-keras, version pins near the file, import style, default."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import findings

from kerascheck.engine import Options, lint_file
from kerascheck.pins import flavour_for_directory, flavour_from_text

ADAM_LR = """
import tensorflow as tf
opt = tf.keras.optimizers.Adam(lr=0.001)
"""


@pytest.mark.parametrize(
    ("text", "flavour"),
    [
        ("keras==2.2.4\nnumpy\n", "legacy"),
        ("Keras<2.4\n", "legacy"),
        ("keras>=3.0\n", "keras3"),
        ("tensorflow==2.12.0\n", "tf2"),
        ("tensorflow-cpu~=2.15.0\n", "tf2"),
        ("tensorflow>=2.16\n", "keras3"),
        ("tf-keras==2.15.0\ntensorflow==2.16.1\n", "tf2"),
        ('[project]\ndependencies = ["keras>=3.2", "numpy"]\n', "keras3"),
    ],
)
def test_pins_imply_a_flavour(text: str, flavour: str) -> None:
    found = flavour_from_text(text)
    assert found is not None and found[0] == flavour


def test_no_pin_means_no_opinion() -> None:
    assert flavour_from_text("numpy==1.26\ntensorflow\n") is None


def test_severity_follows_the_flavour() -> None:
    assert [f.severity for f in findings(ADAM_LR)] == ["error"]  # Keras 3 rejects lr=
    assert [f.severity for f in findings(ADAM_LR, target_keras="tf2")] == ["warning"]


def test_requirements_next_to_the_file_set_the_flavour(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("tensorflow==2.12.0\n")
    package = tmp_path / "pkg"
    package.mkdir()
    source = package / "train.py"
    source.write_text(ADAM_LR.lstrip())
    flavour_for_directory.cache_clear()
    result = lint_file(str(source), Options())
    assert [(f.code, f.severity) for f in result.findings] == [("KC201", "warning")]
    # The command-line target wins over the pins.
    forced = lint_file(str(source), Options(target_keras="keras3"))
    assert [(f.code, f.severity) for f in forced.findings] == [("KC201", "error")]


def test_legacy_imports_make_a_module_legacy() -> None:
    code = """
    from keras.models import Sequential
    from keras.layers.core import Dense
    model = Sequential()
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    """
    assert [f.code for f in findings(code) if f.code == "KC105"] == ["KC105"]
    assert [f.code for f in findings(code, target_keras="keras3") if f.code == "KC105"] == []


def test_imports_that_prove_a_flavour_beat_the_project_pins(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("keras>=3.0\n")
    source = tmp_path / "old.py"
    source.write_text("import tf_keras\nopt = tf_keras.optimizers.Adam(lr=0.001)\n")
    flavour_for_directory.cache_clear()
    result = lint_file(str(source), Options())
    assert [(f.code, f.severity) for f in result.findings] == [("KC201", "warning")]
