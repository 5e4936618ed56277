"""Notebooks: read as JSON, magics neutralised, findings and errors placed in their cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck.notebook import parse_notebook
from kerascheck.source import SourceError

BUG = [
    "model = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n",
    "model.compile(loss='binary_crossentropy', optimizer='adam')",
]


def _cell(kind: str, source: list[str] | str) -> dict:
    cell: dict = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _write(path: Path, cells: list[dict]) -> Path:
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path


def test_finding_names_the_cell_in_text_and_json(tmp_path: Path) -> None:
    _write(
        tmp_path / "nb.ipynb",
        [
            _cell("markdown", "# Title"),
            _cell("code", ["%load_ext autoreload\n", "import keras\n", "!nvidia-smi"]),
            _cell("raw", "not code"),
            _cell("code", BUG),
        ],
    )
    text = run_check(tmp_path, "--isolated", "--format", "concise", "nb.ipynb")
    assert text.stdout.splitlines()[0].startswith("nb.ipynb:cell 4:1:60: KC101 ")
    assert text.returncode == 1
    report = json.loads(run_check(tmp_path, "--isolated", "--format", "json", ".").stdout)
    (finding,) = report["findings"]
    assert (finding["path"], finding["cell"], finding["line"], finding["column"]) == (
        "nb.ipynb",
        4,
        1,
        60,
    )


def test_magics_do_not_shift_lines_or_break_parsing() -> None:
    notebook = parse_notebook(
        json.dumps(
            {
                "cells": [
                    _cell("code", ["%%bash\n", "echo hi\n", "ls -l"]),
                    _cell("code", ["files = !ls\n", "import keras\n", "keras.layers.Dense?\n"]),
                    _cell("code", ["for i in range(3):\n", "    %time f(i)\n"]),
                ]
            }
        ).encode()
    )
    assert notebook.source.splitlines() == [
        "pass",
        "",
        "",
        "files = None",
        "import keras",
        "pass",
        "for i in range(3):",
        "    pass",
    ]
    assert [(c.first_line, c.number) for c in notebook.cells] == [(1, 1), (4, 2), (7, 3)]


def test_a_syntax_error_is_located_in_its_cell(tmp_path: Path) -> None:
    _write(tmp_path / "nb.ipynb", [_cell("code", "import keras\n"), _cell("code", "x = (\n")])
    result = run_check(tmp_path, "--isolated", "--format", "json", "nb.ipynb")
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["cell"], error["line"]) == (2, 1)
    assert result.returncode == 2
    concise = run_check(tmp_path, "--isolated", "--format", "concise", "nb.ipynb").stdout
    assert concise.startswith("nb.ipynb:cell 2:1:")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "invalid notebook: not JSON"),
        ("[]", "invalid notebook: the top level is not an object"),
        ('{"metadata": {}}', "invalid notebook: no 'cells'"),
        ('{"cells": [{"cell_type": "code"}]}', "invalid notebook: cell 1 has no source text"),
        ('{"cells": 3}', "invalid notebook: 'cells' is not a list"),
    ],
)
def test_a_broken_notebook_is_one_error_and_the_rest_is_checked(
    tmp_path: Path, content: str, reason: str
) -> None:
    (tmp_path / "broken.ipynb").write_text(content)
    _write(tmp_path / "good.ipynb", [_cell("code", ["import keras\n", *BUG])])
    result = run_check(tmp_path, "--isolated", "--format", "json", ".")
    report = json.loads(result.stdout)
    assert [(e["path"], e["message"].split(" (")[0]) for e in report["errors"]] == [
        ("broken.ipynb", reason)
    ]
    assert [f["path"] for f in report["findings"]] == ["good.ipynb"]
    assert result.returncode == 2


def test_markdown_only_and_empty_notebooks_are_clean(tmp_path: Path) -> None:
    _write(tmp_path / "md.ipynb", [_cell("markdown", "# keras notes")])
    _write(tmp_path / "empty.ipynb", [])
    result = run_check(tmp_path, "--isolated", "--format", "json", ".")
    assert json.loads(result.stdout)["summary"]["files_checked"] == 2
    assert result.returncode == 0


def test_inline_suppression_works_in_a_cell(tmp_path: Path) -> None:
    line = BUG[0].rstrip("\n") + "  # kerascheck: ignore[KC101]\n"
    _write(tmp_path / "nb.ipynb", [_cell("code", ["import keras\n", line, BUG[1]])])
    assert run_check(tmp_path, "--isolated", "nb.ipynb").returncode == 0


def test_fix_leaves_notebooks_alone(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "nb.ipynb",
        [_cell("code", ["from keras.optimizers import Adam\n", "opt = Adam(lr=0.1)\n"])],
    )
    before = path.read_bytes()
    result = run_check(tmp_path, "--isolated", "--fix", "--format", "concise", "nb.ipynb")
    assert path.read_bytes() == before
    assert "nb.ipynb:cell 1:2:12: KC201 " in result.stdout


def test_not_utf8_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="not UTF-8"):
        parse_notebook(b'{"cells": ["\xff"]}')


def test_only_python_line_ends_split_a_cell(tmp_path: Path) -> None:
    """A form feed line and a U+2028 inside a string are not line ends for Python (nor for
    editors): splitting there made a valid cell a syntax error and shifted later lines."""
    code = (
        "import keras\n"
        "\x0c\n"
        'title = "a\u2028b"\n'
        'm = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'
    )
    _write(tmp_path / "nb.ipynb", [_cell("code", code)])
    result = run_check(tmp_path, "--isolated", "--format", "json", "nb.ipynb")
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert [(f["code"], f["cell"], f["line"]) for f in report["findings"]] == [("KC101", 1, 4)]


def test_a_code_frame_after_a_form_feed_shows_the_finding_line(tmp_path: Path) -> None:
    source = (
        'import keras\n\x0c\nm = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'
    )
    (tmp_path / "model.py").write_text(source)
    result = run_check(tmp_path, "--isolated", "--select", "KC101", "model.py")
    assert '3 | m = keras.Sequential([keras.layers.Dense(1, activation="softmax")])' in (
        result.stdout
    )
