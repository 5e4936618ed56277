"""--fix, --diff and --unsafe-fixes on notebooks: edits inside cells only, every other byte of
the file (JSON formatting, outputs, metadata, other cells) unchanged. Golden files are the
original bytes with exactly the fixed text replaced."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck.notebook import parse_notebook
from kerascheck.notebook_json import replace_sources, source_values

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
    "hgGAWjR9awAAAABJRU5ErkJggg=="
)


def notebook(sources: list[list[str] | str], **dumps: object) -> str:
    """A notebook as Jupyter writes one (indent 1, raw UTF-8, final newline) unless
    ``dumps`` says otherwise, with outputs, metadata and a markdown cell around."""
    cells: list[dict] = [{"cell_type": "markdown", "metadata": {}, "source": ["# Modèle\n"]}]
    for count, source in enumerate(sources, start=1):
        cells.append(
            {
                "cell_type": "code",
                "execution_count": count,
                "id": f"cell-{count}",
                "metadata": {"collapsed": False, "tags": ["training"]},
                "outputs": [
                    {
                        "name": "stdout",
                        "output_type": "stream",
                        "text": ["Epoch 1/2 — loss: 0.3\n"],
                    },
                    {
                        "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480>"]},
                        "metadata": {},
                        "output_type": "display_data",
                    },
                ],
                "source": source,
            }
        )
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    options = {"indent": 1, "ensure_ascii": False} | dumps
    end = options.pop("end", "\n")
    return json.dumps(document, **options) + end


IMPORT = "from keras.optimizers import Adam\n"
OLD, NEW = "Adam(lr=0.1)", "Adam(learning_rate=0.1)"


def _fix(tmp_path: Path, text: str, *args: str) -> tuple[bytes, str]:
    path = tmp_path / "nb.ipynb"
    path.write_bytes(text.encode())
    result = run_check(tmp_path, "--isolated", "--fix", "--format", "concise", *args, "nb.ipynb")
    return path.read_bytes(), result.stdout


@pytest.mark.parametrize(
    "dumps",
    [
        {},
        {"indent": 2, "sort_keys": True},
        {"indent": 4, "ensure_ascii": True, "end": ""},
        {"indent": None, "separators": (",", ":")},
    ],
    ids=["jupyter", "sorted-2", "ascii-4-no-newline", "compact"],
)
@pytest.mark.parametrize(
    "source",
    [
        [IMPORT, "opt = Adam(lr=0.1)  # é\n", "opt.get_config()"],
        IMPORT + "opt = Adam(lr=0.1)  # é\nopt.get_config()\n",
    ],
    ids=["list-of-lines", "one-string"],
)
def test_a_fix_changes_only_the_fixed_characters(
    tmp_path: Path, dumps: dict, source: list[str] | str
) -> None:
    original = notebook([source, ["print('unchanged')\n"]], **dumps)
    fixed, _ = _fix(tmp_path, original)
    assert fixed == original.replace(OLD, NEW).encode()
    again, _ = _fix(tmp_path, fixed.decode())
    assert again == fixed  # a second --fix changes nothing


def test_crlf_json_and_a_byte_order_mark_are_kept(tmp_path: Path) -> None:
    original = "\ufeff" + notebook([[IMPORT, "opt = Adam(lr=0.1)\n"]]).replace("\n", "\r\n")
    fixed, _ = _fix(tmp_path, original)
    assert fixed == original.replace(OLD, NEW).encode()


def test_a_fix_next_to_ipython_syntax_and_inside_it(tmp_path: Path) -> None:
    """A magic line above the fixed line, code handed to %time, a cell IPython dedents:
    each fix lands on the characters of the cell as written."""
    original = notebook(
        [
            ["%pip install -q keras\n", IMPORT, "!nvidia-smi\n", "opt = Adam(lr=0.1)\n"],
            ["%time opt2 = Adam(lr=0.1)\n", "x = !ls \\\n", "   -la\n"],
            ["    opt3 = Adam(lr=0.1)\n", "    opt3.get_config()\n"],
            ["%%time\n", "opt4 = Adam(lr=0.1)\n"],
        ]
    )
    fixed, report = _fix(tmp_path, original)
    assert report == "", report
    assert fixed == original.replace(OLD, NEW).encode()


def test_unsafe_fixes_need_the_flag(tmp_path: Path) -> None:
    softmax = "import keras\nm = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
    original = notebook([softmax])
    fixed, report = _fix(tmp_path, original)
    assert fixed == original.encode()
    assert "nb.ipynb:cell 2:2:56: KC101 " in report
    fixed, report = _fix(tmp_path, original, "--unsafe-fixes")
    assert fixed == original.replace("'softmax'", "'sigmoid'").encode()
    assert report == ""


def test_diff_names_the_cell_and_writes_nothing(tmp_path: Path) -> None:
    original = notebook([[IMPORT, "opt = Adam(lr=0.1)"], ["opt2 = Adam(lr=0.1)\n"]])
    path = tmp_path / "nb.ipynb"
    path.write_text(original)
    result = run_check(tmp_path, "--isolated", "--diff", "nb.ipynb")
    assert result.stdout == (
        "--- a/nb.ipynb:cell 2\n"
        "+++ b/nb.ipynb:cell 2\n"
        "@@ -1,2 +1,2 @@\n"
        " from keras.optimizers import Adam\n"
        "-opt = Adam(lr=0.1)\n"
        "\\ No newline at end of file\n"
        "+opt = Adam(learning_rate=0.1)\n"
        "\\ No newline at end of file\n"
        "--- a/nb.ipynb:cell 3\n"
        "+++ b/nb.ipynb:cell 3\n"
        "@@ -1 +1 @@\n"
        "-opt2 = Adam(lr=0.1)\n"
        "+opt2 = Adam(learning_rate=0.1)\n"
    )
    assert result.returncode == 1
    assert path.read_text() == original


def test_a_broken_cell_is_left_alone_and_the_others_are_fixed(tmp_path: Path) -> None:
    original = notebook([[IMPORT], ["opt = Adam(lr=0.1\n"], ["opt = Adam(lr=0.1)\n"]])
    fixed, report = _fix(tmp_path, original)
    assert fixed == original.replace("opt = Adam(lr=0.1)\\n", f"opt = {NEW}\\n").encode()
    assert report.startswith("nb.ipynb:cell 3:1:11: error: syntax error: '(' was never closed")


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook([[IMPORT, "opt = Adam(lr=0.1)\n"]]))
    os.chmod(path, 0o640)
    _fix(tmp_path, path.read_text())
    assert NEW in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o640


def test_nbformat_3_input_is_fixed(tmp_path: Path) -> None:
    document = {
        "metadata": {"name": "old"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "code", "input": [IMPORT, "opt = Adam(lr=0.1)"], "outputs": []}
                ],
                "metadata": {},
            }
        ],
    }
    original = json.dumps(document, indent=1) + "\n"
    fixed, _ = _fix(tmp_path, original)
    assert fixed == original.replace(OLD, NEW).encode()


def test_a_notebook_on_stdin_is_fixed_to_stdout(tmp_path: Path) -> None:
    original = notebook([[IMPORT, "opt = Adam(lr=0.1)\n"]])
    result = run_check(
        tmp_path, "--isolated", "--fix", "--stdin-filename", "nb.ipynb", "-", stdin=original
    )
    assert result.stdout == original.replace(OLD, NEW)
    linted = run_check(
        tmp_path,
        "--isolated",
        "--format",
        "concise",
        "--stdin-filename",
        "nb.ipynb",
        "-",
        stdin=original,
    )
    assert linted.stdout.startswith("nb.ipynb:cell 2:2:12: KC201 ")


# --------------------------------------------------------------- the JSON editing
def test_a_line_added_or_removed_in_a_list_of_lines_keeps_one_line_per_element() -> None:
    text = notebook([["a = 1\n", "b = 2\n", "c = 3"]])
    added = replace_sources(text, {2: "a = 1\nb = 2\nx = 0\nc = 3"})
    assert json.loads(added)["cells"][1]["source"] == ["a = 1\n", "b = 2\n", "x = 0\n", "c = 3"]
    removed = replace_sources(text, {2: "a = 1\nc = 3"})
    assert json.loads(removed)["cells"][1]["source"] == ["a = 1\n", "c = 3"]
    joined = replace_sources(text, {2: "a = 1\nb = 2c = 3"})
    assert json.loads(joined)["cells"][1]["source"] == ["a = 1\n", "b = 2c = 3"]
    # Everything outside the source value is untouched.
    value = source_values(text)[2]
    assert added[: value.start] == text[: value.start]
    assert added.endswith(text[value.end :])


def test_random_edits_keep_every_other_byte_and_decode_to_the_new_source() -> None:
    rng = random.Random(11)
    pieces = ["x = 1\n", "é = 'ü'\n", 's = "a\\\\b"\n', "\tif x:\n", "😀\n", "y", "\n", "\r\n"]
    for _ in range(400):

        def source() -> list[str] | str:
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
            return text.splitlines(keepends=True) if rng.random() < 0.6 else text

        dumps = {"indent": rng.choice([None, 1, 2]), "ensure_ascii": rng.random() < 0.5}
        text = notebook([source(), source()], **dumps)
        number = rng.choice([2, 3])
        old = parse_notebook(text.encode()).cells[number - 2].text
        start = rng.randint(0, len(old))
        end = rng.randint(start, min(len(old), start + 6))
        new = (
            old[:start] + rng.choice(["", "learning_rate", "\n", "ö", '"', "\\", "😀"]) + old[end:]
        )
        edited = replace_sources(text, {number: new})
        cells = parse_notebook(edited.encode()).cells
        assert cells[number - 2].text == new
        value = source_values(text)[number]
        assert edited[: value.start] == text[: value.start]
        assert edited[len(edited) - (len(text) - value.end) :] == text[value.end :]


def test_json_output_places_a_notebook_fix_in_its_cell(tmp_path: Path) -> None:
    (tmp_path / "nb.ipynb").write_text(
        notebook([["%matplotlib inline\n", IMPORT, "opt = Adam(lr=0.1)\n"]])
    )
    result = run_check(tmp_path, "--isolated", "--format", "json", "--select", "KC201", "nb.ipynb")
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["cell"], finding["line"], finding["column"]) == (2, 3, 12)
    assert finding["fix"]["edits"] == [
        {
            "line": 3,
            "column": 12,
            "end_line": 3,
            "end_column": 14,
            "text": "learning_rate",
            "cell": 2,
        }
    ]
