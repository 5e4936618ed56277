"""Valid Python that libcst's tokenizer refuses (mixed tab/space/form-feed indentation) is
analysed: kerascheck/indentation.py rewrites the indentation as spaces and maps positions
back exactly."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import libcst as cst
from conftest import run_check

from kerascheck.engine import Options, lint_source
from kerascheck.indentation import python_column, reindent

TRIES = 4000
# Indentations Python may accept in a mixture: its columns compare the same way whether a
# tab counts 8 or 1, and a form feed starts the count again.
WHITESPACE = [" ", "  ", "    ", "\t", " \t", "\t ", "\t\t", "  \t", "\t    ", "\f", "\f ", " \f\t"]
HEADS = ["if x:", "for i in y:", "def f():", "class C:", "while x:", "with a:"]


def _generated(rng: random.Random) -> str:
    lines: list[str] = []
    stack = [""]
    for _ in range(rng.randint(2, 8)):
        current = stack[-1]
        roll = rng.random()
        if roll < 0.3:
            deeper = (
                current + rng.choice(WHITESPACE) if rng.random() < 0.7 else rng.choice(WHITESPACE)
            )
            lines += [current + rng.choice(HEADS), deeper + "y = 1"]
            stack.append(deeper)
        elif roll < 0.5 and len(stack) > 1:
            stack.pop()
            lines.append(stack[-1] + "z = 2")
        elif roll < 0.6:
            lines.append(rng.choice(WHITESPACE) + "# a comment")
        elif roll < 0.7:
            lines += [current + "w = (1,", rng.choice(WHITESPACE) + "2)"]
        elif roll < 0.8:
            lines += [current + "v = 1 + \\", rng.choice(WHITESPACE) + "2"]
        elif roll < 0.85:
            lines += [current + 's = """a', rng.choice(WHITESPACE) + 'b"""']
        else:
            lines.append(current + "u = 3")
    newline = rng.choice(["\n", "\n", "\r\n"])
    return newline.join(lines) + rng.choice([newline, ""])


def _python_accepts(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def _libcst_accepts(source: str) -> bool:
    try:
        cst.parse_module(source)
    except cst.ParserSyntaxError:
        return False
    return True


def test_every_indentation_libcst_refuses_is_rewritten_without_changing_the_program() -> None:
    rng = random.Random(3)
    refused = 0
    for _ in range(TRIES):
        source = _generated(rng)
        if not _python_accepts(source) or _libcst_accepts(source):
            continue
        refused += 1
        rewritten = reindent(source)
        assert rewritten is not None, source
        assert _libcst_accepts(rewritten.text), (source, rewritten.text)
        # The same program: Python's tree is the same, string contents included.
        assert ast.dump(ast.parse(rewritten.text)) == ast.dump(ast.parse(source))
        assert rewritten.text.count("\n") == source.count("\n")
        result = lint_source("import keras\n" + source, "mixed.py", Options())
        assert result.errors == (), (source, result.errors)
    assert refused >= 30  # the generator does produce what libcst refuses


def test_python_columns() -> None:
    assert [python_column(s) for s in ("    ", "\t", "  \t", "\t  ", "\f  ", "  \f\t")] == [
        4,
        8,
        8,
        10,
        2,
        8,
    ]


# "  \t" (column 8) then "\t    " (column 12): one block deeper for Python, a mismatch for
# libcst, which compares the strings.
MIXED = (
    "import keras\n"
    "from keras.optimizers import Adam\n"
    "def build(n):\n"
    "  \tif n:\n"
    "\t    model = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
    "\t    model.compile(optimizer=Adam(lr=-0.1), loss='binary_crossentropy')\n"
    "  \treturn model\n"
)


def _at(line: int, text: str) -> tuple[int, int, int]:
    """(line, column, end column) of ``text`` on 1-based ``line`` of MIXED."""
    column = MIXED.splitlines()[line - 1].index(text) + 1
    return line, column, column + len(text)


SOFTMAX, LR, RATE = _at(5, "'softmax'"), _at(6, "lr"), _at(6, "-0.1")


def test_a_mixed_indentation_file_is_checked_at_its_own_positions(tmp_path: Path) -> None:
    assert not _libcst_accepts(MIXED) and _python_accepts(MIXED)
    (tmp_path / "mixed.py").write_text(MIXED)
    result = run_check(tmp_path, "--isolated", "--format", "json", "mixed.py")
    report = json.loads(result.stdout)
    assert report["errors"] == []
    found = [(f["code"], f["line"], f["column"], f["end_column"]) for f in report["findings"]]
    assert found == [("KC101", *SOFTMAX), ("KC201", *LR), ("KC402", *RATE)]


def test_a_fix_in_a_mixed_indentation_file_is_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "mixed.py"
    path.write_bytes(MIXED.encode())
    run_check(tmp_path, "--isolated", "--fix", "mixed.py")
    assert path.read_bytes() == MIXED.replace("Adam(lr=", "Adam(learning_rate=").encode()


def test_a_notebook_cell_with_mixed_indentation_is_checked(tmp_path: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "source": MIXED, "outputs": []}]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    result = run_check(tmp_path, "--isolated", "--format", "json", "nb.ipynb")
    report = json.loads(result.stdout)
    assert report["errors"] == []
    found = [(f["code"], f["cell"], f["line"], f["column"]) for f in report["findings"]]
    assert found == [("KC101", 1, *SOFTMAX[:2]), ("KC201", 1, *LR[:2]), ("KC402", 1, *RATE[:2])]
