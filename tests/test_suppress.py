"""Inline suppressions, --show-suppressed, --statistics and stdin input."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_check

SOURCE = """\
import keras
a = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # kerascheck: ignore[KC101]
b = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # noqa: KC101
c = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # noqa
d = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # kerascheck: ignore
e = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # kerascheck: ignore[KC2]
f = keras.Sequential([keras.layers.Dense(1, activation="softmax")])  # noqa: E501
"""


def test_inline_suppressions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    report = json.loads(run_check(tmp_path, "m.py", "--format", "json", "--show-suppressed").stdout)
    assert [(f["line"], f["code"]) for f in report["findings"]] == [(6, "KC101"), (7, "KC101")]
    assert [f["line"] for f in report["suppressed"]] == [2, 3, 4, 5]


def test_only_suppressed_findings_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("".join(SOURCE.splitlines(keepends=True)[:5]))
    result = run_check(tmp_path, "m.py", "--format", "concise", "--show-suppressed")
    assert result.returncode == 0
    assert result.stdout.count("[suppressed]") == 4


def test_statistics(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import keras\n"
        "a = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
        "b = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
        "o = keras.optimizers.Adam(lr=0.1)\n"
    )
    result = run_check(tmp_path, "m.py", "--statistics")
    assert result.stdout == "    2  KC101  softmax-single-unit\n    1  KC201  removed-argument\n"
    assert result.returncode == 1


def test_stdin_with_a_filename(tmp_path: Path) -> None:
    result = run_check(
        tmp_path,
        "-",
        "--stdin-filename",
        "pkg/model.py",
        "--format",
        "concise",
        stdin="import keras\nm = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n",
    )
    assert result.returncode == 1
    assert result.stdout.startswith("pkg/model.py:2:56: KC101 ")


def test_github_annotations(tmp_path: Path) -> None:
    (tmp_path / "a,b.py").write_text(
        "import keras\n"
        "m = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
        "m.compile(loss='categorical_crossentropy', metrics=['accuracy'])\n"
        "r = keras.Sequential([keras.layers.Dense(1)])\n"
        "r.compile(loss='mse', metrics=['accuracy'])\n"
        "import numpy; r.fit(x, numpy.random.rand(9, 1))  # continuous targets\n"
        "m.fit(x, y)\n"
    )
    (tmp_path / "broken.py").write_text("import keras\n(\n")
    result = run_check(tmp_path, ".", "--format", "github")
    assert result.stdout.splitlines() == [
        "::error file=a%2Cb.py,line=2,col=56,endLine=2,endColumn=65,"
        "title=KC101 softmax-single-unit::softmax over a 1-unit output always outputs 1.0; "
        "use activation='sigmoid' for a binary output, or one unit per class",
        "::error file=a%2Cb.py,line=3,col=16,endLine=3,endColumn=42,"
        "title=KC108 categorical-loss-single-unit::'categorical_crossentropy' on a 1-unit "
        "output: the loss is constant (or fails at fit time); use binary_crossentropy with a "
        "sigmoid output, or one unit per class",
        "::warning file=a%2Cb.py,line=5,col=32,endLine=5,endColumn=42,"
        "title=KC104 accuracy-on-regression::'accuracy' with the regression loss 'mse' measures "
        "nothing useful (Keras turns it into a class-match accuracy); report 'mae' or 'mse' "
        "instead",
        "::error file=broken.py,line=2,col=1,title=kerascheck::syntax error: '(' was never closed",
    ]
    assert result.returncode == 2
