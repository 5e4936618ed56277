"""A notebook's JSON text with some code cells' sources changed and every other byte kept.

``--fix`` must not reformat a notebook: re-serialising the document would change its
indentation, key order, escapes or final newline, which Jupyter, nbformat and other tools
each write their own way. So the text is scanned once for where each cell's ``source`` (or
nbformat 3 ``input``) value lies, and only the characters that change inside those JSON
strings are rewritten: the edited stretch of a line is re-encoded in the file's own style
(raw UTF-8, or ``\\u`` escapes if the file is ASCII), and when a fix adds or removes a line
of a cell stored as a list of lines, the list's elements around it are rebuilt with the
separator the list already uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class NotebookTextError(ValueError):
    """The text is not the JSON it was read as (it changed, or it is not JSON)."""


@dataclass(frozen=True)
class SourceValue:
    """Where a cell's source lies: the JSON string tokens (quotes included) of its text, one
    for a string, one per element for a list of lines; ``start``/``end`` bound the value."""

    start: int
    end: int
    strings: tuple[tuple[int, int], ...]
    is_list: bool


def source_values(text: str) -> dict[int, SourceValue]:
    """Each cell's source value by cell number (1-based, every cell counted, in the order
    ``kerascheck.notebook.notebook_cells`` reads them)."""
    scanner = _Scanner(text)
    document = scanner.object_members(scanner.skip_space(0))
    cell_lists = []
    if "cells" in document:
        cell_lists.append(document["cells"])
    elif "worksheets" in document:
        for sheet in scanner.array_items(document["worksheets"]):
            members = scanner.object_members(sheet) if text[sheet] == "{" else {}
            if "cells" in members:
                cell_lists.append(members["cells"])
    values: dict[int, SourceValue] = {}
    number = 0
    for cells in cell_lists:
        for cell in scanner.array_items(cells):
            number += 1
            if text[cell] != "{":
                continue
            members = scanner.object_members(cell)
            key = "source" if "source" in members else "input"
            if key in members:
                values[number] = scanner.source_value(members[key])
    return values


class _Scanner:
    """Just enough of a JSON reader to find values' positions (the text is known to be
    JSON: json.loads read it first)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def skip_space(self, index: int) -> int:
        match = _WHITESPACE.match(self.text, index)
        return match.end() if match else index

    def value_end(self, index: int) -> int:
        text = self.text
        if text[index] == '"':
            return self._string_end(index)
        if text[index] not in "[{":
            end = index
            while end < len(text) and text[end] not in ",]} \t\r\n":
                end += 1
            return end
        depth = 0
        for match in _TOKEN.finditer(text, index):
            token = match.group()
            if token in "[{":
                depth += 1
            elif token in "]}":
                depth -= 1
                if depth == 0:
                    return match.end()
        raise NotebookTextError("unbalanced JSON")

    def _string_end(self, index: int) -> int:
        match = _STRING.match(self.text, index)
        if match is None:
            raise NotebookTextError("unterminated JSON string")
        return match.end()

    def object_members(self, index: int) -> dict[str, int]:
        """The start of each member's value (the last one of a repeated key, as json.loads
        keeps it)."""
        text = self.text
        if text[index] != "{":
            raise NotebookTextError("not a JSON object")
        members: dict[str, int] = {}
        index = self.skip_space(index + 1)
        while text[index] != "}":
            key_end = self._string_end(index)
            key = json.loads(text[index:key_end])
            index = self.skip_space(self.skip_space(key_end) + 1)  # past ':'
            members[key] = index
            index = self.skip_space(self.value_end(index))
            if text[index] == ",":
                index = self.skip_space(index + 1)
        return members

    def array_items(self, index: int) -> list[int]:
        text = self.text
        if text[index] != "[":
            return []
        items = []
        index = self.skip_space(index + 1)
        while text[index] != "]":
            items.append(index)
            index = self.skip_space(self.value_end(index))
            if text[index] == ",":
                index = self.skip_space(index + 1)
        return items

    def source_value(self, index: int) -> SourceValue:
        end = self.value_end(index)
        if self.text[index] == '"':
            return SourceValue(index, end, ((index, end),), is_list=False)
        strings = tuple((item, self.value_end(item)) for item in self.array_items(index))
        return SourceValue(index, end, strings, is_list=True)


def _characters(token: str) -> list[tuple[int, int]]:
    """The raw span (within the token, quotes included) of each character the JSON string
    ``token`` decodes to; a surrogate pair escape is one character, as json.loads reads it."""
    spans = []
    index = 1
    while index < len(token) - 1:
        if token[index] != "\\":
            spans.append((index, index + 1))
            index += 1
        elif token[index + 1] != "u":
            spans.append((index, index + 2))
            index += 2
        else:
            end = index + 6
            high = int(token[index + 2 : end], 16)
            if 0xD800 <= high < 0xDC00 and token.startswith("\\u", end):
                low = int(token[end + 2 : end + 6], 16)
                if 0xDC00 <= low < 0xE000:
                    end += 6
            spans.append((index, end))
            index = end
    return spans


def replace_sources(text: str, changes: Mapping[int, str]) -> str:
    """``text`` with the sources of the cells in ``changes`` (number -> new source) set,
    every byte outside the characters that change kept."""
    values = source_values(text)
    ascii_only = text.isascii()
    edits: list[tuple[int, int, str]] = []
    for number, new in changes.items():
        value = values[number]
        edits.extend(_source_edits(text, value, new, ascii_only))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _encoded(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def _source_edits(
    text: str, value: SourceValue, new: str, ascii_only: bool
) -> list[tuple[int, int, str]]:
    parts = [json.loads(text[start:end]) for start, end in value.strings]
    old = "".join(parts)
    if old == new:
        return []
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    # Where the change lies among the strings (elements of a list are lines).
    bounds = []
    offset = 0
    for part in parts:
        bounds.append((offset, offset + len(part)))
        offset += len(part)
    end_old = len(old) - suffix
    # The string holding the first changed character (or the insertion point), and the one
    # holding the last.
    first = next((i for i, (_, b) in enumerate(bounds) if prefix < b), len(bounds) - 1)
    last = first
    if end_old > prefix:
        last = next(i for i, (_, b) in enumerate(bounds) if end_old <= b)
    middle = new[prefix : len(new) - suffix]
    same_lines = old[prefix:end_old].count("\n") == middle.count("\n") == 0
    if not value.is_list or (first == last and same_lines):
        start, end = value.strings[first]
        token = text[start:end]
        characters = _characters(token)
        local_start = prefix - bounds[first][0]
        local_end = end_old - bounds[first][0]
        raw_start = characters[local_start][0] if local_start < len(characters) else len(token) - 1
        raw_end = characters[local_end - 1][1] if local_end > local_start else raw_start
        return [(start + raw_start, start + raw_end, _encoded(middle, ascii_only))]
    # A line added or removed: the list's elements from ``first`` to ``last`` rebuilt, and
    # the next ones while the rebuilt text does not end a line (a line break was removed).
    start_of_first = bounds[first][0]
    rebuilt_old = "".join(parts[first : last + 1])
    rebuilt = (
        rebuilt_old[: prefix - start_of_first] + middle + rebuilt_old[end_old - start_of_first :]
    )
    while last + 1 < len(parts) and not rebuilt.endswith(("\n", "\r")):
        last += 1
        rebuilt += parts[last]
    separator = _separator(text, value)
    lines = rebuilt.splitlines(keepends=True)
    elements = separator.join(f'"{_encoded(line, ascii_only)}"' for line in lines)
    start, end = value.strings[first][0], value.strings[last][1]
    if not lines:  # the elements are gone, and the separator before or after them
        if first > 0:
            start = value.strings[first - 1][1]
        elif last + 1 < len(value.strings):
            end = value.strings[last + 1][0]
    return [(start, end, elements)]


def _separator(text: str, value: SourceValue) -> str:
    """What stands between two elements of this list of lines (``,\\n    ``, ``, ``)."""
    if len(value.strings) > 1:
        return text[value.strings[0][1] : value.strings[1][0]]
    inside = text[value.start + 1 : value.strings[0][0]] if value.strings else ""
    return "," + (inside or " ")
