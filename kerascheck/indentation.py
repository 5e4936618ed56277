"""Indentation that Python accepts and libcst's tokenizer refuses, rewritten as spaces.

Python measures indentation in columns: a tab advances to the next multiple of 8, a form
feed starts the count again, and a mixture is accepted as long as comparing levels with a
tab counted as one column gives the same order. libcst's tokenizer compares the indentation
*strings* instead: a line indented ``"\\t    "`` after one indented ``"  \\t"`` is the same
block for Python (columns 12 after 8) and a syntax error for libcst, which expects the new
indentation to extend the previous one. Measured by generating mixed tab/space/form-feed
files that Python accepts (tests/test_indentation.py): every refusal was of this kind.

So, only when libcst refuses a file Python accepts, the leading whitespace of every line
that starts a logical line is rewritten as the same number of spaces as Python's column.
That changes no block structure (Python reads the same columns), and nothing inside
brackets, continuation lines or strings. Positions map back exactly: a line only moves by
the difference in length of its indentation.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from kerascheck.ir import Span
from kerascheck.source import split_lines

TAB_SIZE = 8


@dataclass(frozen=True)
class Reindented:
    """The rewritten text and, per rewritten 1-based line, ``(old, new)`` indentation
    lengths."""

    text: str
    lines: dict[int, tuple[int, int]]

    def column(self, line: int, column: int) -> int | None:
        """The original 1-based column of ``column`` on ``line``; None inside a rewritten
        indentation (not a place anything of the user's stands)."""
        old, new = self.lines.get(line, (0, 0))
        if column - 1 >= new:
            return column - new + old
        return 1 if column == 1 else None

    def span(self, span: Span) -> Span | None:
        """``span`` in the original text; None when an end cannot be placed exactly."""
        if span.line < 1:
            return span
        col = self.column(span.line, span.col)
        end_col = self.column(span.end_line, span.end_col) if span.end_line else 0
        if col is None or end_col is None:
            return None
        return Span(span.line, col, span.end_line, end_col, pointer=span.pointer, cell=span.cell)

    def moved_between(self, first: int, last: int) -> bool:
        return any(first <= line <= last for line in self.lines)


def python_column(indentation: str) -> int:
    """The column Python's tokenizer reaches after ``indentation``."""
    column = 0
    for char in indentation:
        if char == "\t":
            column = (column // TAB_SIZE + 1) * TAB_SIZE
        elif char == "\f":
            column = 0
        else:
            column += 1
    return column


def reindent(source: str) -> Reindented | None:
    """``source`` with the indentation of its logical lines as spaces, where it holds a tab
    or a form feed; None when there is none or the source does not tokenize."""
    if "\t" not in source and "\f" not in source:
        return None
    try:
        starts = _logical_line_starts(source)
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = split_lines(source)
    endings = [len(line) for line in lines]
    text = []
    moved: dict[int, tuple[int, int]] = {}
    position = 0
    for number, line in enumerate(lines, start=1):
        end = position + endings[number - 1]
        newline_end = _line_end(source, end)
        body = line.lstrip(" \t\f")
        indentation = line[: len(line) - len(body)]
        if number in starts and ("\t" in indentation or "\f" in indentation):
            spaces = " " * python_column(indentation)
            moved[number] = (len(indentation), len(spaces))
            line = spaces + body
        text.append(line + source[end:newline_end])
        position = newline_end
    if not moved:
        return None
    return Reindented("".join(text), moved)


def _line_end(source: str, end: int) -> int:
    """The offset after the line ending that starts at ``end`` (none at the end)."""
    if source.startswith("\r\n", end):
        return end + 2
    if end < len(source) and source[end] in "\r\n":
        return end + 1
    return end


def _logical_line_starts(source: str) -> set[int]:
    """The 1-based lines where a logical line, a comment line or a blank line starts:
    those Python reads indentation on (the others continue a bracket, a backslash or a
    string)."""
    starts = {1}
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(source, newline="").readline):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type in (tokenize.NEWLINE, tokenize.NL) and depth <= 0:
            starts.add(token.end[0] + 1)
    return starts
