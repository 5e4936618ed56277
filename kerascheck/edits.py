"""Turning a rule's edits into exact text ranges.

Rules write edits against IR spans, sometimes with a mode (insert after a node, replace a
string literal's contents); once positioned, the engine resolves every edit to a plain
replacement of a text range, so the CLI, the JSON output and the language server all see the
same concrete edits.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace

from kerascheck.ir import Edit, Finding, Fix, Span


def line_starts(source: str) -> list[int]:
    """Offsets where each line starts, splitting only where Python (and libcst) do."""
    return [0] + [match.end() for match in _NEWLINE.finditer(source)]


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _offsets(edit: Edit, starts: list[int]) -> tuple[int, int]:
    span = edit.span
    start = starts[span.line - 1] + span.col - 1
    end = starts[span.end_line - 1] + span.end_col - 1
    if edit.mode == "before":
        return start, start
    if edit.mode == "after":
        return end, end
    if edit.mode == "before_close":
        return end - 1, end - 1
    return start, end


def text_range(edit: Edit, source: str, starts: list[int]) -> tuple[int, int, str] | None:
    start, end = _offsets(edit, starts)
    if edit.mode != "string":
        return start, end, edit.text
    text = string_contents(source[start:end], edit.text)
    return None if text is None else (start, end, text)


_STRING_LITERAL = re.compile(r"""(?P<prefix>[rRuU]?)(?P<quote>'{3}|"{3}|'|")[^'"\\\n]*(?P=quote)""")


def string_contents(literal: str, contents: str) -> str | None:
    """``literal`` with its contents replaced; None unless it is a plain, escape-free
    string literal (an f-string, a concatenation or a name is left alone)."""
    match = _STRING_LITERAL.fullmatch(literal)
    if match is None or any(c in contents for c in "'\"\\\n"):
        return None
    return f"{match['prefix']}{match['quote']}{contents}{match['quote']}"


def _position(offset: int, starts: list[int]) -> tuple[int, int]:
    line = bisect.bisect_right(starts, offset) - 1
    return line + 1, offset - starts[line] + 1


def plain(fix: Fix, source: str, starts: list[int]) -> Fix | None:
    """``fix`` as plain replacements, or None when an edit cannot apply (a string edit on
    something that is not a plain string literal)."""
    edits = []
    for edit in fix.edits:
        found = text_range(edit, source, starts)
        if found is None:
            return None
        start, end, text = found
        line, col = _position(start, starts)
        end_line, end_col = _position(end, starts)
        edits.append(Edit(Span(line, col, end_line, end_col), text))
    return replace(fix, edits=tuple(edits))


def plain_fixes(findings: list[Finding], source: str) -> list[Finding]:
    if not any(f.fix is not None for f in findings):
        return findings
    starts = line_starts(source)
    return [replace(f, fix=plain(f.fix, source, starts)) if f.fix else f for f in findings]
