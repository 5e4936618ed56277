"""Jupyter notebooks: the code cells as one Python source, with a map back to the cells.

A notebook is read as JSON and never executed. Code cells are joined in order; IPython
syntax (``%magic``, ``%%cell magic``, ``!shell``, ``x = !cmd``, ``obj?``) is replaced line
for line by neutral Python, so it neither breaks the parser nor shifts line numbers.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kerascheck.ir import Finding, Span
from kerascheck.source import SourceError, split_lines

NOTEBOOK_SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024

_LINE_MAGIC = re.compile(r"^(\s*)(?:%|!)")
_SHELL_ASSIGN = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_HELP = re.compile(r"^(\s*)[\w.]*\?{1,2}\s*$")


@dataclass(frozen=True)
class CodeCell:
    first_line: int  # where the cell starts in the joined code (1-based)
    number: int  # the cell's number as the notebook shows it (1-based, every cell counted)
    text: str  # the cell's own text, as written (for code frames)


@dataclass(frozen=True)
class Notebook:
    """The joined code and its code cells."""

    source: str
    cells: tuple[CodeCell, ...]

    def locate(self, span: Span) -> Span:
        """A span of the joined code as a span inside its cell (1-based cell number)."""
        if span.line < 1 or not self.cells:
            return span
        index = bisect.bisect_right([c.first_line for c in self.cells], span.line) - 1
        cell = self.cells[max(index, 0)]
        start = cell.first_line
        end_line = span.end_line - start + 1 if span.end_line else 0
        return replace(span, line=span.line - start + 1, end_line=end_line, cell=cell.number)

    def place(self, finding: Finding) -> Finding:
        # Fixes are not applied to notebooks (rewriting the JSON is not ours to do), so a
        # notebook finding carries none.
        return replace(finding, span=self.locate(finding.span), fix=None)


def _neutral(line: str) -> str:
    """A line of IPython syntax as plain Python of the same line count."""
    assign = _SHELL_ASSIGN.match(line)
    if assign:
        return f"{assign.group(1)}{assign.group(2)} = None"
    magic = _LINE_MAGIC.match(line) or _HELP.match(line)
    if magic:
        return f"{magic.group(1)}pass"
    return line


def _cell_code(lines: list[str]) -> list[str]:
    if lines and lines[0].lstrip().startswith("%%"):
        # A cell magic (%%bash, %%writefile, %%timeit): the whole cell is not Python.
        return ["pass"] + [""] * (len(lines) - 1)
    return [_neutral(line) for line in lines]


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return None


def parse_notebook(data: bytes) -> Notebook:
    """The code of an nbformat 4 (or 3) notebook; SourceError names what is wrong."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SourceError(f"notebook larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"invalid notebook: not UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"invalid notebook: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise SourceError("invalid notebook: JSON nested too deeply") from exc
    except ValueError as exc:  # a number too long to convert
        raise SourceError(f"invalid notebook: {exc}") from exc
    code_cells: list[tuple[int, str]] = []
    for number, cell in enumerate(_cells(document), start=1):
        if not isinstance(cell, dict):
            raise SourceError(f"invalid notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            continue
        text = _text(cell.get("source", cell.get("input")))
        if text is None:
            raise SourceError(f"invalid notebook: cell {number} has no source text")
        code_cells.append((number, text))
    return join_cells(code_cells)


def join_cells(code_cells: Iterable[tuple[int, str]]) -> Notebook:
    """The notebook of these (cell number, text) code cells, in order: a file's, or the
    cells an editor sends the language server."""
    code: list[str] = []
    cells: list[CodeCell] = []
    for number, text in code_cells:
        cells.append(CodeCell(len(code) + 1, number, text))
        code.extend(_cell_code(split_lines(text)) or [""])
    return Notebook("\n".join(code) + "\n" if code else "", tuple(cells))


def _cells(document: object) -> list[object]:
    if not isinstance(document, dict):
        raise SourceError("invalid notebook: the top level is not an object")
    if "cells" in document:
        cells = document["cells"]
    elif "worksheets" in document:  # nbformat 3
        sheets = document["worksheets"]
        if not isinstance(sheets, list) or any(
            isinstance(s, dict) and not isinstance(s.get("cells", []), list) for s in sheets
        ):
            raise SourceError("invalid notebook: 'worksheets' is not a list of cell lists")
        cells = [c for s in sheets if isinstance(s, dict) for c in s.get("cells", [])]
    else:
        raise SourceError("invalid notebook: no 'cells'")
    if not isinstance(cells, list):
        raise SourceError("invalid notebook: 'cells' is not a list")
    return cells
