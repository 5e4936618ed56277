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
from dataclasses import dataclass

import libcst as cst

from kerascheck.edits import line_starts, text_range
from kerascheck.engine import (
    FileError,
    FileResult,
    Options,
    filter_for_file,
    lint_file,
    lint_source,
    map_files,
)
from kerascheck.extract.saved_read import SAVED_SUFFIXES
from kerascheck.indentation import reindent
from kerascheck.ir import Finding, Fix
from kerascheck.notebook import NOTEBOOK_SUFFIX
from kerascheck.rule import Rule
from kerascheck.source import SourceError, decode, read_bytes

MAX_PASSES = 10


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file did: its text before and after, and what is left to report."""

    path: str
    before: str
    after: str
    fixed: tuple[Finding, ...]
    result: FileResult

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
    """Fix one file; with ``write``, replace it atomically in its own encoding. Notebooks
    and saved models are only linted: their fixes are not applied."""
    if path.endswith((NOTEBOOK_SUFFIX, *SAVED_SUFFIXES)):
        return FixOutcome(path, "", "", (), lint_file(path, options, rules))
    try:
        data = read_bytes(path)
        source = decode(data)
    except (OSError, SourceError) as exc:
        message = str(exc) if isinstance(exc, SourceError) else f"cannot read: {exc.strerror}"
        error = FileResult(path, errors=(FileError(path, message),), checked=False)
        return FixOutcome(path, "", "", (), error)
    outcome = fix_source(source, path, options, unsafe, rules)
    if write and outcome.changed:
        try:
            fixed = outcome.after.encode(_encoding(data))
            if read_bytes(path) != data:  # saved meanwhile (an editor): that text wins
                raise SourceError("it changed while being fixed; run again")
            write_atomically(path, fixed)
        except (OSError, SourceError, UnicodeEncodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            error = FileError(path, f"cannot write the fixed file: {reason}")
            return FixOutcome(path, source, source, (), FileResult(path, errors=(error,)))
    return outcome


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
    return "".join(
        difflib.unified_diff(
            outcome.before.splitlines(keepends=True),
            outcome.after.splitlines(keepends=True),
            fromfile=f"a/{outcome.path}",
            tofile=f"b/{outcome.path}",
        )
    )
