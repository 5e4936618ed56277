"""Notebooks: read as JSON, magics neutralised, findings and errors placed in their cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck.notebook import code_cells, join, parse_notebook
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
    joined = join(code_cells(notebook.cells))
    assert joined.source.splitlines() == [
        "get_ipython().run_cell_magic('bash', '', 'echo hi\\nls -l\\n')",
        "",
        "",
        "files = get_ipython().getoutput('ls')",
        "import keras",
        "get_ipython().run_line_magic('pinfo', 'keras.layers.Dense')",
        "for i in range(3):",
        "    if 1: f(i)",
    ]
    assert [(c.first_line, c.number) for c in joined.cells] == [(1, 1), (4, 2), (7, 3)]


def test_a_syntax_error_is_located_in_its_cell(tmp_path: Path) -> None:
    _write(tmp_path / "nb.ipynb", [_cell("code", "import keras\n"), _cell("code", "x = (\n")])
    result = run_check(tmp_path, "--isolated", "--format", "json", "nb.ipynb")
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["cell"], error["line"], error["column"]) == (2, 1, 5)
    assert error["message"] == "syntax error: '(' was never closed (cell not checked)"
    assert result.returncode == 2
    concise = run_check(tmp_path, "--isolated", "--format", "concise", "nb.ipynb").stdout
    assert concise.startswith("nb.ipynb:cell 2:1:5: error: syntax error: '(' was never closed")


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


# ------------------------------------------------------------------- cell isolation
SOFTMAX_1 = "m = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"


def _report(tmp_path: Path, cells: list[dict], *args: str) -> tuple[dict, int]:
    _write(tmp_path / "nb.ipynb", cells)
    result = run_check(tmp_path, "--isolated", "--format", "json", *args, "nb.ipynb")
    return json.loads(result.stdout), result.returncode


def _findings(report: dict) -> list[tuple[str, int, int, int]]:
    return [(f["code"], f["cell"], f["line"], f["column"]) for f in report["findings"]]


def test_a_broken_cell_is_reported_and_every_other_cell_is_checked(tmp_path: Path) -> None:
    """A demo of an error, pasted output and Python 2 are each one error at their cell and
    line; the findings of the other cells are reported at their cells, and the exit status
    is 2 (a part of the notebook could not be checked)."""
    report, status = _report(
        tmp_path,
        [
            _cell("markdown", "# Training"),
            _cell("code", "import keras\nfrom keras.optimizers import Adam\n"),
            _cell("code", "model.fit(x, y\n"),
            _cell("code", ["# the model\n", SOFTMAX_1]),
            _cell("code", "Epoch 1/10\n32/32 [==============] - 1s - loss: 0.69\n"),
            _cell("code", "print 'python 2'\nopt = Adam(lr=0.1)\n"),
            _cell("code", "opt = Adam(lr=0.1)\n"),
        ],
    )
    assert [(e["cell"], e["line"], e["message"]) for e in report["errors"]] == [
        (3, 1, "syntax error: '(' was never closed (cell not checked)"),
        (5, 2, "syntax error: invalid decimal literal (cell not checked)"),
        (
            6,
            1,
            "syntax error: Missing parentheses in call to 'print'. Did you mean print(...)?"
            " (cell not checked)",
        ),
    ]
    assert _findings(report) == [("KC101", 4, 2, 56), ("KC201", 7, 1, 12)]
    assert status == 2


def test_text_output_shows_the_findings_and_the_skipped_cell(tmp_path: Path) -> None:
    _write(
        tmp_path / "nb.ipynb",
        [_cell("code", "import keras\n"), _cell("code", "x = (\n"), _cell("code", SOFTMAX_1)],
    )
    result = run_check(tmp_path, "--isolated", "nb.ipynb")
    assert "nb.ipynb:cell 3:1:56: KC101 " in result.stdout
    assert "nb.ipynb:cell 2:1:5: error: syntax error: '(' was never closed" in result.stdout
    assert "1 notebook cell could not be checked." in result.stdout
    assert result.returncode == 2


def test_names_bound_only_by_a_skipped_cell_become_unknown(tmp_path: Path) -> None:
    """The skipped cell may have rebound ``units`` before the model was built: nothing is
    concluded from the value an earlier cell gave it. Without that cell, the finding is
    there."""
    first = _cell("code", "import keras\nunits = 1\n")
    skipped = _cell("code", "units = 10\nprint 'rebound'\n")
    build = _cell("code", "m = keras.Sequential([keras.layers.Dense(units, activation='softmax')])")
    report, _ = _report(tmp_path, [first, skipped, build])
    assert report["findings"] == []
    assert [e["cell"] for e in report["errors"]] == [2]
    control, _ = _report(tmp_path, [first, build])
    assert _findings(control) == [("KC101", 2, 1, 60)]


def test_an_object_a_skipped_cell_calls_a_method_of_becomes_unknown(tmp_path: Path) -> None:
    """``model.pop(`` / ``model.add(...)`` in the broken cell may have changed the model:
    the binary loss compiled after it is not judged against the 10-unit softmax."""
    build = _cell(
        "code",
        "import keras\nmodel = keras.Sequential([keras.layers.Dense(10, activation='softmax')])\n",
    )
    skipped = _cell("code", "model.pop(\nmodel.add(keras.layers.Dense(1, activation='sigmoid'))\n")
    compiled = _cell("code", "model.compile(loss='binary_crossentropy', optimizer='adam')\n")
    report, _ = _report(tmp_path, [build, skipped, compiled])
    assert report["findings"] == []
    control, _ = _report(tmp_path, [build, compiled])
    assert [f["code"] for f in control["findings"]] == ["KC110"]


def test_a_skipped_cell_keeps_its_imports(tmp_path: Path) -> None:
    """A one-line import binds its module whatever else the cell does: the later cells
    still resolve ``keras``."""
    report, status = _report(
        tmp_path,
        [_cell("code", "import keras\nprint 'setup done'\n"), _cell("code", SOFTMAX_1)],
    )
    assert _findings(report) == [("KC101", 2, 1, 56)]
    assert status == 2


def test_a_cell_tagged_raises_exception_is_left_out_without_an_error(tmp_path: Path) -> None:
    """nbclient, nbsphinx and Jupyter Book run a cell tagged ``raises-exception`` expecting
    it to fail: a deliberate syntax error there is not a problem of the notebook."""
    demo = _cell("code", "def broken(:\n    pass\n")
    demo["metadata"]["tags"] = ["raises-exception"]
    report, status = _report(
        tmp_path, [_cell("code", "import keras\n"), demo, _cell("code", SOFTMAX_1)]
    )
    assert report["errors"] == []
    assert _findings(report) == [("KC101", 3, 1, 56)]
    assert status == 1


def test_a_cell_nested_too_deeply_for_the_parser_is_left_out(tmp_path: Path) -> None:
    deep = "x = " + "not " * 1200 + "y\n"
    report, status = _report(
        tmp_path, [_cell("code", "import keras\n"), _cell("code", deep), _cell("code", SOFTMAX_1)]
    )
    assert [(e["cell"], e["message"].split(" (")[0]) for e in report["errors"]] == [
        (2, "too deeply nested to parse")
    ]
    assert _findings(report) == [("KC101", 3, 1, 56)]
    assert status == 2


def test_a_notebook_of_another_language_is_not_checked(tmp_path: Path) -> None:
    """An R notebook using R's keras package is not Python: no syntax error per cell."""
    path = tmp_path / "r.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [_cell("code", "library(keras)\nmodel <- keras_model_sequential()")],
                "metadata": {"kernelspec": {"name": "ir", "language": "R"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    result = run_check(tmp_path, "--isolated", "--format", "json", "r.ipynb")
    report = json.loads(result.stdout)
    assert (report["errors"], report["summary"]["files_checked"]) == ([], 0)
    assert result.returncode == 0


def test_a_cell_of_another_language_in_a_vscode_notebook_is_left_out(tmp_path: Path) -> None:
    sql = _cell("code", "SELECT * FROM keras_runs")
    sql["metadata"]["vscode"] = {"languageId": "sql"}
    report, status = _report(
        tmp_path, [_cell("code", "import keras\n"), sql, _cell("code", SOFTMAX_1)]
    )
    assert report["errors"] == []
    assert _findings(report) == [("KC101", 3, 1, 56)]
    assert status == 1


def test_a_finding_inside_ipython_syntax_keeps_its_column(tmp_path: Path) -> None:
    """Code handed to %time, a margin IPython strips, a cell magic's body: the finding is
    at the column of the cell as written."""
    report, _ = _report(
        tmp_path,
        [
            _cell("code", "import keras\n!pip install \\\n    keras\n"),
            _cell("code", "%time " + SOFTMAX_1),
            _cell("code", "    " + SOFTMAX_1 + "    m.summary?\n"),
            _cell("code", "%%time\n" + SOFTMAX_1),
        ],
    )
    assert report["errors"] == []
    assert _findings(report) == [
        ("KC101", 2, 1, 62),
        ("KC101", 3, 1, 60),
        ("KC101", 4, 2, 56),
    ]
