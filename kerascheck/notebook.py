"""Jupyter notebooks: the code cells as one Python source, with a map back to the cells.

A notebook is read as JSON and never executed. Each code cell is turned into Python the
way IPython would run it (``kerascheck.ipython_syntax``: magics, shell escapes, help and
prompts become neutral Python on the same lines), and the cells are joined in order, so
names defined in one cell resolve in the next. A cell that Python rejects is replaced,
line for line, by a placeholder that keeps its plain imports and makes every other name it
appears to bind or change unknown (``name = ...``), so the other cells are still checked
and nothing is concluded from the skipped one. Positions in the joined code map back to
(cell, line, column) of the cell as written, fixes included.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import json
import keyword
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from kerascheck.ipython_syntax import CellCode, logical_lines, parse_cell, python_cell
from kerascheck.ir import Edit, Finding, Fix, Span
from kerascheck.source import SourceError, split_lines

NOTEBOOK_SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024

# A cell tagged so is expected to fail (nbclient, nbsphinx and Jupyter Book honour the
# tag): if Python rejects it, it is skipped without an error.
EXPECTED_ERROR_TAG = "raises-exception"


@dataclass(frozen=True)
class SourceCell:
    """A code cell as the notebook holds it."""

    number: int  # the cell's number as the notebook shows it (1-based, every cell counted)
    text: str
    expected_error: bool = False  # tagged ``raises-exception``


@dataclass(frozen=True)
class NotebookFile:
    """A notebook's code cells, and whether its kernel runs Python."""

    cells: tuple[SourceCell, ...]
    python: bool = True


@dataclass(frozen=True)
class CellProblem:
    """Why Python rejects a cell, at a 1-based line and column of the cell as written."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class CodeCell:
    """A code cell as the analysis sees it."""

    number: int
    text: str  # the cell as written (code frames, fixes)
    code: CellCode  # as IPython would run it, line for line
    first_line: int = 0  # where the cell starts in the joined code (1-based)
    skipped: bool = False  # replaced by a placeholder: Python rejects it

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def problem(self) -> CellProblem | None:
        """Python's syntax error for this cell, as IPython parses it; None if it parses."""
        code = self.code.text
        if "\x00" in code:  # Python refuses null bytes (where it says depends on its version)
            line, column = _position(self.text, self.text.find("\x00"))
            return CellProblem("syntax error: source code cannot contain null bytes", line, column)
        try:
            parse_cell(code)
        except SyntaxError as error:
            line = min(max(error.lineno or 1, 1), max(len(self.code.lines), 1))
            return CellProblem(f"syntax error: {error.msg}", line, self.column(line, error.offset))
        except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 for it
            bad = code[error.start]
            line, column = _position(self.text, self.text.find(bad))
            return CellProblem(
                f"cannot decode: undecodable character U+{ord(bad):04X}", line, column
            )
        except (RecursionError, MemoryError):
            return CellProblem("too deeply nested to parse", 1, 1)
        return None

    def column(self, line: int, column: int | None) -> int:
        """The 1-based column of the cell as written for ``column`` of ``line`` of its
        Python (the start of the line's text where that column is kerascheck's own)."""
        if column is None or not 0 < line <= len(self.code.lines):
            return 1
        mapped = self.code.column(line - 1, max(column - 1, 0))
        if mapped is not None:
            return mapped + 1
        written = self.lines[line - 1] if line <= len(self.lines) else ""
        return len(written) - len(written.lstrip()) + 1


def _position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]`` (1, 1 when ``index`` is -1)."""
    if index < 0:
        return 1, 1
    before = split_lines(text[: index + 1])
    return len(before), len(before[-1])


def code_cells(cells: Iterable[SourceCell | tuple[int, str]]) -> list[CodeCell]:
    """Each code cell as Python (``(number, text)`` pairs are cells too: an editor's)."""
    found = []
    for cell in cells:
        number, text = (cell.number, cell.text) if isinstance(cell, SourceCell) else cell
        found.append(CodeCell(number, text, python_cell(text)))
    return found


@dataclass(frozen=True)
class Notebook:
    """The joined code and its code cells."""

    source: str
    cells: tuple[CodeCell, ...]
    _starts: list[int] = field(default_factory=list, repr=False, compare=False)

    def cell_at(self, line: int) -> CodeCell | None:
        """The cell holding 1-based ``line`` of the joined code."""
        if line < 1 or not self.cells:
            return None
        starts = self._starts or [c.first_line for c in self.cells]
        return self.cells[max(bisect.bisect_right(starts, line) - 1, 0)]

    def locate(self, span: Span) -> Span:
        """A span of the joined code as a span of the cell as written (1-based cell)."""
        cell = self.cell_at(span.line)
        if cell is None:
            return span
        line = span.line - cell.first_line + 1
        col = cell.column(line, span.col)
        if not span.end_line:
            return replace(span, line=line, col=col, cell=cell.number)
        end_line = min(span.end_line - cell.first_line + 1, max(len(cell.code.lines), 1))
        if span.end_line - cell.first_line + 1 > end_line:  # past the cell: its end
            end_col = len(cell.lines[end_line - 1]) + 1 if cell.lines else 1
        else:
            end_col = _end_column(cell, end_line, span.end_col)
        return replace(
            span, line=line, col=col, end_line=end_line, end_col=end_col, cell=cell.number
        )

    def place(self, finding: Finding) -> Finding:
        """A finding of the joined code placed in its cell, its fix too (a fix that cannot
        be placed exactly, or that edits a skipped cell, is dropped)."""
        return replace(finding, span=self.locate(finding.span), fix=self._fix(finding.fix))

    def _fix(self, fix: Fix | None) -> Fix | None:
        if fix is None:
            return None
        edits = []
        for edit in fix.edits:
            placed = self._edit(edit)
            if placed is None:
                return None
            edits.append(placed)
        return replace(fix, edits=tuple(edits))

    def _edit(self, edit: Edit) -> Edit | None:
        span = edit.span
        cell = self.cell_at(span.line)
        if cell is None or cell.skipped or self.cell_at(span.end_line) is not cell:
            return None
        line, end_line = span.line - cell.first_line, span.end_line - cell.first_line
        start = cell.code.column(line, span.col - 1)
        end = cell.code.column(end_line, span.end_col - 1)
        if start is None or end is None:
            return None  # kerascheck's own text: not the user's to edit
        if end_line != line and any(i in cell.code.moved for i in range(line, end_line + 1)):
            return None  # an edit over lines that moved differently cannot be mapped
        placed = Span(line + 1, start + 1, end_line + 1, end + 1, cell=cell.number)
        return Edit(placed, edit.text)


def _end_column(cell: CodeCell, line: int, column: int) -> int:
    mapped = cell.code.column(line - 1, max(column - 1, 0))
    if mapped is not None:
        return mapped + 1
    return len(cell.lines[line - 1]) + 1 if line <= len(cell.lines) else 1


def join(cells: Sequence[CodeCell], skipped: frozenset[int] = frozenset()) -> Notebook:
    """The cells joined in order; the cells numbered in ``skipped`` as placeholders."""
    code: list[str] = []
    placed: list[CodeCell] = []
    imported = _imported_names(cells) if skipped else frozenset()
    for cell in cells:
        lines = list(cell.code.lines) or [""]
        skip = cell.number in skipped
        if skip:
            lines = placeholder(lines, imported)
        placed.append(replace(cell, first_line=len(code) + 1, skipped=skip))
        code.extend(lines)
    source = "\n".join(code) + "\n" if code else ""
    return Notebook(source, tuple(placed), [c.first_line for c in placed])


# ---------------------------------------------------------------------- placeholders
def placeholder(lines: list[str], imported: frozenset[str], forget: bool = True) -> list[str]:
    """Neutral Python for a cell Python rejects, line for line: each plain one-line
    import stays (it binds a module whatever else the cell does, and forgetting it would
    silence every later cell), and (with ``forget``) one line makes unknown every other
    name the cell appears to bind or to change in place (``a = b = ...``); the rest are
    empty lines."""
    out = [""] * len(lines)
    forgotten: dict[str, None] = {}  # ordered, for a stable line
    free = []
    for first, last, tokens, _ in _statement_lines(lines):
        if first == last and _plain_import(lines[first]):
            out[first] = lines[first]
            continue
        free.extend(range(first, last + 1))
        for name in _touched_names(tokens, imported):
            forgotten.setdefault(name)
    if forget and forgotten and free:
        out[free[-1]] = " = ".join([*forgotten, "..."])
    return out


def _statement_lines(
    lines: list[str],
) -> Iterator[tuple[int, int, list[tuple[str, str]], bool]]:
    """The logical lines of a broken cell; where the cell ends inside one (an unclosed
    bracket, the usual breakage), its first line counts alone and reading goes on at the
    next line."""
    index = 0
    while index < len(lines):
        first, last, tokens, terminated = next(logical_lines(lines[index:]))
        if terminated or first == last:
            yield index + first, index + last, tokens, terminated
            index += last + 1
        else:
            yield next((index, index, t, e) for _, _, t, e in logical_lines([lines[index]]))
            index += 1


def _plain_import(line: str) -> bool:
    if not line.startswith(("import ", "from ")):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = ast.parse(line).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(body) and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body)


_AUGMENTED = frozenset(
    {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<="}
)
_BUILTINS = frozenset(dir(builtins))


def _statements(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """A logical line's code tokens split into its ``;``-separated statements."""
    statements: list[list[tuple[str, str]]] = [[]]
    for kind, text in tokens:
        if kind in {"comment", "nl"}:
            continue
        if kind == "op" and text == ";":
            statements.append([])
        else:
            statements[-1].append((kind, text))
    return [statement for statement in statements if statement]


def _touched_names(tokens: list[tuple[str, str]], imported: frozenset[str]) -> list[str]:
    """The names a (possibly broken) logical line appears to bind or change in place."""
    names: list[str] = []
    for statement in _statements(tokens):
        names.extend(_imported_by(statement))
        if statement[0][1] not in {"import", "from"}:
            names.extend(_bound_by(statement))
            names.extend(_changed_by(statement, imported))
    return names


def _imported_by(statement: list[tuple[str, str]]) -> list[str]:
    """What ``import a.b as c, d`` or ``from m import (a, b as c)`` binds."""
    words = [text for _, text in statement]
    if words[0] == "import":
        items = words[1:]
    elif words[0] == "from" and "import" in words:
        items = words[words.index("import") + 1 :]
    else:
        return []
    names = []
    for item in " ".join(w for w in items if w not in {"(", ")"}).split(","):
        parts = item.split()
        if parts and parts[-2:-1] == ["as"]:
            names.append(parts[-1])
        elif parts and parts[0] != "*":
            names.append(parts[0].split(".")[0] if words[0] == "import" else parts[0])
    return [name for name in names if name.isidentifier()]


def _bound_by(statement: list[tuple[str, str]]) -> list[str]:
    """Assignment targets (``=``, augmented), ``for`` and ``del`` targets, ``def`` and
    ``class`` names, ``as`` targets and ``:=``."""
    names = []
    for index, (kind, text) in enumerate(statement):
        before = statement[index - 1][1] if index else ""
        after = statement[index + 1][1] if index + 1 < len(statement) else ""
        if kind == "name" and (before in {"def", "class", "as"} or after == ":="):
            names.append(text)
    words = [text for _, text in statement]
    head = 1 if words[:2] == ["async", "for"] else 0
    if words[head] in {"for", "del"}:
        end = words.index("in") if words[head] == "for" and "in" in words else len(words)
        names.extend(_names_in(statement[head + 1 : end]))
    segments, depth, start = [], 0, 0
    for index, (kind, text) in enumerate(statement):
        if kind == "op" and text in "([{":
            depth += 1
        elif kind == "op" and text in ")]}":
            depth -= 1
        elif kind == "op" and depth <= 0 and (text == "=" or text in _AUGMENTED):
            segments.append(statement[start:index])
            start = index + 1
    for target in segments:
        single = len(target) == 1
        names.extend(n for n in _names_in(target) if single or n not in _BUILTINS)
    return names


def _names_in(tokens: list[tuple[str, str]]) -> list[str]:
    """The names in a target (``a, b[i], c.d``: a, b, i, c), keywords left out."""
    return [
        text
        for index, (kind, text) in enumerate(tokens)
        if kind == "name"
        and not keyword.iskeyword(text)
        and (index == 0 or tokens[index - 1][1] != ".")
    ]


def _changed_by(statement: list[tuple[str, str]], imported: frozenset[str]) -> list[str]:
    """The object of a method call (``model.add(...)`` may change ``model`` in place),
    unless it is an imported module or a builtin."""
    names = []
    for index in range(len(statement) - 3):
        (kind, name), dot, (method_kind, _), call = statement[index : index + 4]
        before = statement[index - 1][1] if index else ""
        if (
            kind == "name"
            and dot[1] == "."
            and method_kind == "name"
            and call[1] == "("
            and before != "."
            and name not in imported
            and name not in _BUILTINS
            and not keyword.iskeyword(name)
        ):
            names.append(name)
    return names


@dataclass(frozen=True)
class CellNames:
    """What a cell mentions, binds and may change, read from its tokens (it need not
    parse)."""

    words: frozenset[str]  # every identifier-like word, in strings and comments too
    imported: frozenset[str]  # the names its imports bind
    bound: frozenset[str]  # the names it binds otherwise, or changes (``x.a = 1``)
    called_on: frozenset[str]  # objects of its method calls (``m.fit(...)``: ``m``)


_WORD = re.compile(r"(?!\d)\w+")


def cell_names(code: CellCode) -> CellNames:
    imported: set[str] = set()
    bound: set[str] = set()
    called_on: set[str] = set()
    for _, _, tokens, _ in _statement_lines(list(code.lines)):
        for statement in _statements(tokens):
            imported.update(_imported_by(statement))
            if statement[0][1] not in {"import", "from"}:
                bound.update(_bound_by(statement))
                called_on.update(_changed_by(statement, frozenset()))
    return CellNames(
        frozenset(_WORD.findall(code.text)),
        frozenset(imported),
        frozenset(bound),
        frozenset(called_on),
    )


def _imported_names(cells: Sequence[CodeCell]) -> frozenset[str]:
    """Names that an ``import`` binds anywhere in the notebook (modules, mostly: a method
    call on one changes nothing the analysis tracks)."""
    names: set[str] = set()
    for cell in cells:
        if "import" not in cell.code.text:
            continue
        for _, _, tokens, _ in logical_lines(list(cell.code.lines)):
            for statement in _statements(tokens):
                names.update(_imported_by(statement))
    return frozenset(names)


# --------------------------------------------------------------------------- reading
def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return None


def load_document(data: bytes) -> dict[str, object]:
    """The notebook's JSON document; SourceError names what is wrong."""
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
    if not isinstance(document, dict):
        raise SourceError("invalid notebook: the top level is not an object")
    return document


def parse_notebook(data: bytes) -> NotebookFile:
    """The code cells of an nbformat 4 (or 3) notebook; SourceError names what is wrong."""
    document = load_document(data)
    cells: list[SourceCell] = []
    for number, cell in enumerate(notebook_cells(document), start=1):
        if not isinstance(cell, dict):
            raise SourceError(f"invalid notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            continue
        text = _text(cell.get("source", cell.get("input")))
        if text is None:
            raise SourceError(f"invalid notebook: cell {number} has no source text")
        metadata = cell.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        if not _python(metadata.get("vscode"), "languageId"):
            continue  # a cell of another language in a polyglot notebook (VS Code)
        tags = metadata.get("tags")
        expected = isinstance(tags, list) and EXPECTED_ERROR_TAG in tags
        cells.append(SourceCell(number, text, expected))
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    python = _python(metadata.get("kernelspec"), "language") and _python(
        metadata.get("language_info"), "name"
    )
    return NotebookFile(tuple(cells), python)


def _python(section: object, key: str) -> bool:
    """False only when the metadata names a language and it is not Python."""
    if not isinstance(section, dict) or not isinstance(section.get(key), str):
        return True
    return section[key].strip().lower().lstrip("i").startswith("python")


def notebook_cells(document: dict[str, object]) -> list[object]:
    """The cells of nbformat 4 (``cells``) or 3 (``worksheets``), in order."""
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
