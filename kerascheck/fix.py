"""Applying rule fixes: text edits at parser positions, validated by re-parsing, written
atomically.

Rules describe a fix as edits against spans of the IR; the engine positions them with
libcst's metadata, so applying one is a splice that leaves every other byte (comments,
formatting, line endings) alone. Overlapping fixes wait for a later pass, where the file is
re-linted and their positions are fresh. A pass whose result does not parse is dropped.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import functools
import io
import os
import tempfile
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import libcst as cst

from kerascheck.edits import line_starts, text_range
from kerascheck.engine import (
    FileError,
    FileResult,
    Options,
    filter_for_file,
    lint_cells,
    lint_file,
    lint_source,
    map_files,
)
from kerascheck.extract.saved_read import SAVED_SUFFIXES
from kerascheck.indentation import reindent
from kerascheck.ipython_syntax import python_cell
from kerascheck.ir import Finding, Fix
from kerascheck.notebook import MAX_NOTEBOOK_BYTES, NOTEBOOK_SUFFIX, SourceCell, parse_notebook
from kerascheck.notebook_json import replace_sources
from kerascheck.rule import Rule
from kerascheck.source import MAX_SOURCE_BYTES, SourceError, decode, read_bytes

MAX_PASSES = 10


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file did: its text before and after, and what is left to report;
    for a notebook, each changed cell's source before and after too."""

    path: str
    before: str
    after: str
    fixed: tuple[Finding, ...]
    result: FileResult
    cells: tuple[tuple[int, str, str], ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _newline(source: str) -> str:
    return "\r\n" if "\r\n" in source else "\n"


def apply_fixes(source: str, fixes: Sequence[Fix]) -> tuple[str, list[int]]:
    """Apply every fix whose edits overlap no earlier chosen fix; the indices applied."""
    starts = line_starts(source)
    newline = _newline(source)
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, int, str]] = []
    applied: list[int] = []
    for index, fix in enumerate(fixes):
        found = [text_range(edit, source, starts) for edit in fix.edits]
        ranges = [r for r in found if r is not None]
        if len(ranges) != len(found):
            continue
        if any(_overlaps((s, e), t) for s, e, _ in ranges for t in taken):
            continue
        taken.extend((s, e) for s, e, _ in ranges)
        chosen.extend(ranges)
        applied.append(index)
    # Splice from the end so earlier offsets stay valid.
    text = source
    for start, end, replacement in sorted(chosen, key=lambda r: (r[0], r[1]), reverse=True):
        text = text[:start] + replacement.replace("\n", newline) + text[end:]
    return text, applied


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # Two insertions at one point also conflict: their order would be arbitrary.
    if a[0] == a[1] == b[0] == b[1]:
        return True
    return a[0] < b[1] and b[0] < a[1]


def parses(source: str) -> bool:
    """Python and libcst both accept ``source`` (libcst once the indentation it cannot take
    is rewritten, as the engine does)."""
    try:
        ast.parse(source)
        try:
            cst.parse_module(source)
        except cst.ParserSyntaxError:
            reindented = reindent(source)
            if reindented is None:
                return False
            cst.parse_module(reindented.text)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def fix_source(
    source: str,
    path: str,
    options: Options,
    unsafe: bool,
    rules: Sequence[Rule] | None = None,
) -> FixOutcome:
    """Fix passes until nothing fixable is left; never touches a file that does not parse."""
    rules = rules if rules is not None else options.rules()
    text = source
    fixed: list[Finding] = []
    result = filter_for_file(lint_source(text, path, options, rules), path, options)
    for _ in range(MAX_PASSES):
        if result.errors:
            break
        fixable = [f for f in result.findings if f.fix is not None and (f.fix.safe or unsafe)]
        if not fixable:
            break
        candidate, applied = apply_fixes(text, [f.fix for f in fixable if f.fix is not None])
        if candidate == text or not parses(candidate):
            break
        text = candidate
        fixed.extend(fixable[i] for i in applied)
        result = filter_for_file(lint_source(text, path, options, rules), path, options)
    return FixOutcome(path, source, text, tuple(fixed), result)


def _encoding(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return encoding


def fix_file(
    path: str, options: Options, unsafe: bool, write: bool, rules: Sequence[Rule] | None = None
) -> FixOutcome:
    """Fix one file; with ``write``, replace it atomically in its own encoding. Saved models
    are only linted: they have no source to fix."""
    if path.endswith(SAVED_SUFFIXES):
        return FixOutcome(path, "", "", (), lint_file(path, options, rules))
    limit = MAX_NOTEBOOK_BYTES if path.endswith(NOTEBOOK_SUFFIX) else MAX_SOURCE_BYTES
    try:
        data = read_bytes(path, limit)
        if path.endswith(NOTEBOOK_SUFFIX):
            outcome = fix_notebook(data, path, options, unsafe, rules)
            encoded = notebook_bytes(outcome.after, data)
        else:
            outcome = fix_source(decode(data), path, options, unsafe, rules)
            encoded = None
    except SourceError as exc:
        error = FileResult(path, errors=(FileError(path, str(exc)),), checked=False)
        return FixOutcome(path, "", "", (), error)
    if write and outcome.changed:
        try:
            fixed = encoded if encoded is not None else outcome.after.encode(_encoding(data))
            if read_bytes(path, limit) != data:  # saved meanwhile (an editor): that text wins
                raise SourceError("it changed while being fixed; run again")
            write_atomically(path, fixed)
        except (OSError, SourceError, UnicodeEncodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            error = FileError(path, f"cannot write the fixed file: {reason}")
            before = outcome.before
            return FixOutcome(path, before, before, (), FileResult(path, errors=(error,)))
    return outcome


def fix_notebook(
    data: bytes,
    path: str,
    options: Options,
    unsafe: bool,
    rules: Sequence[Rule] | None = None,
) -> FixOutcome:
    """Fix passes over a notebook's code cells (as for a .py file, a cell's edits re-parsed
    before they are kept); ``after`` is the notebook's JSON text with only the changed
    characters of those cells' sources rewritten (kerascheck.notebook_json)."""
    notebook = parse_notebook(data)
    text = data.decode("utf-8-sig")
    if not notebook.python:
        return FixOutcome(path, text, text, (), FileResult(path, checked=False))
    rules = rules if rules is not None else options.rules()
    cells = list(notebook.cells)
    fixed: list[Finding] = []
    result = filter_for_file(lint_cells(cells, path, options, rules), path, options)
    for _ in range(MAX_PASSES):
        if not result.checked:
            break
        fixable = [f for f in result.findings if f.fix is not None and (f.fix.safe or unsafe)]
        changed = False
        for index, cell in enumerate(cells):
            mine = [f for f in fixable if _fix_cells(f.fix) == {cell.number}]
            if not mine:
                continue
            candidate, applied = apply_fixes(cell.text, [f.fix for f in mine if f.fix])
            if candidate != cell.text and parses(python_cell(candidate).text):
                cells[index] = replace(cell, text=candidate)
                fixed.extend(mine[i] for i in applied)
                changed = True
        if not changed:
            break
        result = filter_for_file(lint_cells(cells, path, options, rules), path, options)
    changes = {
        new.number: new.text for old, new in zip(notebook.cells, cells, strict=True) if new != old
    }
    after = replace_sources(text, changes) if changes else text
    _check_written(after, cells)
    before_after = tuple(
        (old.number, old.text, new.text)
        for old, new in zip(notebook.cells, cells, strict=True)
        if new != old
    )
    return FixOutcome(path, text, after, tuple(fixed), result, before_after)


def _fix_cells(fix: Fix | None) -> set[int | None]:
    return {edit.span.cell for edit in fix.edits} if fix is not None else set()


def _check_written(text: str, cells: Sequence[SourceCell]) -> None:
    """The rewritten notebook reads back as the fixed cells, or nothing is written."""
    read_back = parse_notebook(text.encode("utf-8")).cells
    if [(c.number, c.text) for c in read_back] != [(c.number, c.text) for c in cells]:
        raise SourceError("cannot fix: the notebook's JSON could not be edited in place")


def notebook_bytes(text: str, original: bytes) -> bytes:
    """The fixed JSON text as UTF-8, with the byte order mark the file had."""
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    return bom + text.encode("utf-8")


def write_atomically(path: str, data: bytes) -> None:
    """Write to a temporary file beside ``path``, keep its permissions, then rename over it:
    a crash leaves either the old file or the new one, never half of one."""
    target = os.path.realpath(path)
    status = os.stat(target)
    handle, temporary = tempfile.mkstemp(
        dir=os.path.dirname(target), prefix=".kerascheck-", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if hasattr(os, "chown"):
            # Keep the owner too (root fixing someone's file); without the right, keep ours.
            with contextlib.suppress(OSError):
                os.chown(temporary, status.st_uid, status.st_gid)
        os.chmod(temporary, status.st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _fix_chunk(paths: list[str], options: Options, unsafe: bool, write: bool) -> list[FixOutcome]:
    rules = options.rules()
    return [fix_file(path, options, unsafe, write, rules) for path in paths]


def fix_files(
    files: list[str], options: Options, unsafe: bool, write: bool, jobs: int = 1
) -> Iterator[FixOutcome]:
    worker = functools.partial(_fix_chunk, unsafe=unsafe, write=write)
    return map_files(worker, files, options, jobs)


def unified_diff(outcome: FixOutcome) -> str:
    """The fix as a unified diff; for a notebook, one per changed cell, named
    ``nb.ipynb:cell 3`` (the JSON's diff would be unreadable)."""
    if outcome.cells:
        return "".join(
            _diff(before, after, f"{outcome.path}:cell {number}")
            for number, before, after in outcome.cells
        )
    return _diff(outcome.before, outcome.after, outcome.path)


def _diff(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    # A last line without a newline still ends its diff line (as git shows it).
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
