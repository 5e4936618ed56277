"""The engine: source -> parse -> extract -> rules -> positioned, de-duplicated findings.

The hot path computes no source positions: the extractor leaves anchors in its spans, and
positions are resolved with libcst's PositionProvider only for files that have findings.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from kerascheck import nesting
from kerascheck.discover import DEFAULT_EXCLUDES, discover, is_excluded
from kerascheck.edits import plain_fixes
from kerascheck.extract.python import extract
from kerascheck.extract.saved_read import SAVED_SUFFIXES, SavedModelError
from kerascheck.flavour import DEFAULT_FLAVOUR
from kerascheck.indentation import Reindented, reindent
from kerascheck.ir import Edit, Finding, Fix, Flavour, FlavourGuard, ModuleSpec, Span
from kerascheck.notebook import (
    MAX_NOTEBOOK_BYTES,
    NOTEBOOK_SUFFIX,
    CodeCell,
    Notebook,
    SourceCell,
    code_cells,
    join,
    parse_notebook,
)
from kerascheck.pins import flavour_for_file
from kerascheck.registry import all_rules
from kerascheck.rule import Rule, RuleContext, select_rules
from kerascheck.slicing import SlicedSource, model_vocabulary, slice_source, worth_slicing
from kerascheck.source import SourceError, read_bytes, read_source
from kerascheck.suppress import split, suppressions

if TYPE_CHECKING:
    from kerascheck.cache import ResultCache

R = TypeVar("R")

# Frames the analysis may use: about four per level of nesting, up to nesting.MAX_DEPTH.
ANALYSIS_RECURSION_LIMIT = 5 * nesting.MAX_DEPTH


@dataclass(frozen=True)
class Options:
    """Everything that changes what a check reports (part of the cache key)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    target_keras: Flavour | None = None
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    # (glob, code prefixes): findings of those codes are dropped in matching files; globs
    # are matched against the path relative to ``root`` (the configuration's folder).
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: str = "."
    # --dynamic: rebuild each model in real Keras to confirm or refute every finding, with a
    # time budget in seconds per model (kerascheck.dynamic).
    dynamic: bool = False
    dynamic_timeout: float = 20.0

    def rules(self) -> list[Rule]:
        return [rule() for rule in select_rules(all_rules(), self.select, self.ignore)]


@dataclass(frozen=True)
class FileError:
    """An input that could not be checked; ``line``/``column`` for syntax errors."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    cell: int | None = None  # notebooks: the line is inside this (1-based) cell


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[FileError, ...] = ()
    checked: bool = True
    suppressed: tuple[Finding, ...] = ()  # silenced by an inline comment


@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)
    fixed: int = 0  # findings that --fix / --diff fixed (and are no longer in ``results``)

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [(r.path, f) for r in self.results for f in r.findings]

    @property
    def suppressed(self) -> list[tuple[str, Finding]]:
        return [(r.path, f) for r in self.results for f in r.suppressed]

    @property
    def errors(self) -> list[FileError]:
        return [e for r in self.results for e in r.errors]

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(r.findings for r in self.results) else 0


def might_use_keras(source: str) -> bool:
    """Cheap prefilter: every spelling of Keras (tf.keras, tf_keras, keras) says 'keras'."""
    return "keras" in source


def flavour_of(spec: ModuleSpec, target: Flavour | None) -> Flavour:
    """Configured target, else what the module's imports prove, else the project's version
    pins, else the default."""
    if target is not None:
        return target
    if spec.flavour is not None:
        return spec.flavour
    if os.path.isfile(spec.path):
        pinned = flavour_for_file(spec.path)
        if pinned is not None:
            return pinned[0]
    return DEFAULT_FLAVOUR


def _legacy_keras_env(spec: ModuleSpec, source: str) -> ModuleSpec:
    """``TF_USE_LEGACY_KERAS=1`` makes ``tensorflow.keras`` tf_keras (Keras 2): a module that
    sets it is tf.keras 2 code, unless its imports prove older Keras."""
    if spec.flavour is None and "TF_USE_LEGACY_KERAS" in source:
        reason = "mentions TF_USE_LEGACY_KERAS (tensorflow.keras is then tf_keras 2.x)"
        return replace(spec, flavour="tf2", flavour_reason=reason)
    return spec


def run_rules(spec: ModuleSpec, rules: Sequence[Rule], target: Flavour | None) -> list[Finding]:
    ctx = RuleContext(spec, flavour_of(spec, target))
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule.check_module(spec, ctx))
    return findings


def _position(span: Span, positions: object) -> Span:
    if span.resolved or span.anchor is None:
        return span
    try:
        pos = positions[span.anchor]  # type: ignore[index]
    except KeyError:
        return span
    return Span(
        pos.start.line,
        pos.start.column + 1,
        pos.end.line,
        pos.end.column + 1,
        pointer=span.pointer,
    )


def _positioned_edit(edit: Edit, positions: object) -> Edit:
    span = _position(edit.span, positions)
    if edit.through is not None:
        end = _position(edit.through, positions)
        if not end.resolved:
            return replace(edit, span=Span())
        span = Span(span.line, span.col, end.end_line, end.end_col)
    return Edit(span, edit.text, edit.mode)


def _positioned_fix(fix: Fix | None, positions: object) -> Fix | None:
    if fix is None:
        return None
    edits = tuple(_positioned_edit(e, positions) for e in fix.edits)
    if not all(e.span.line > 0 for e in edits):
        return None  # an edit we cannot place is a fix we must not offer
    return replace(fix, edits=edits)


def _inside(span: Span, region: Span) -> bool:
    start, end = (region.line, region.col), (region.end_line, region.end_col)
    return region.resolved and start <= (span.line, span.col) and (span.line, span.col) <= end


def positioned(
    module: cst.Module,
    findings: Iterable[Finding],
    guards: Iterable[FlavourGuard] = (),
    flavour: Flavour | None = None,
) -> list[Finding]:
    """Resolve anchors to 1-based positions, drop duplicates and the findings in code that
    cannot run under ``flavour`` (its guards), sort by position."""
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    excluded = [
        (guard.codes, _position(guard.span, positions))
        for guard in guards
        if flavour not in guard.runs_under
    ]
    unique: dict[tuple[str, int, int, str], Finding] = {}
    for finding in findings:
        span = _position(finding.span, positions)
        if any(finding.code.startswith(codes) and _inside(span, r) for codes, r in excluded):
            continue
        placed = replace(finding, span=span, fix=_positioned_fix(finding.fix, positions))
        unique.setdefault((placed.code, span.line, span.col, placed.message), placed)
    return sorted(unique.values(), key=lambda f: (f.span.line, f.span.col, f.code))


def verified(
    spec: ModuleSpec, findings: list[Finding], rules: Sequence[Rule], options: Options
) -> list[Finding]:
    """Under --dynamic, every finding confirmed, refuted or unverifiable in real Keras, plus
    KC900 for what Keras itself warned about; unchanged otherwise."""
    if not options.dynamic:
        return findings
    from kerascheck.dynamic import verify  # lazy: TensorFlow loads only under --dynamic

    flavour = flavour_of(spec, options.target_keras)
    return verify(spec, findings, rules, flavour, options.dynamic_timeout)


def _syntax_error(path: str, source: str, exc: cst.ParserSyntaxError | SyntaxError) -> FileError:
    """Python's own message and position when it has one (clearer than the parser's).

    ``exc`` is libcst's error, or a SyntaxError raised while evaluating a literal that
    libcst accepts and Python refuses (``b"é"``, a 5,000-digit integer, ``"\\N{nope}"``)."""
    try:
        nesting.parse_python(source)
    except SyntaxError as error:
        if error.lineno is not None:
            return FileError(path, f"syntax error: {error.msg}", error.lineno, error.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        pass
    else:
        if isinstance(exc, cst.ParserSyntaxError):  # libcst's limits, not the user's code
            message = f"cannot parse: {exc.message} (Python accepts it; please report it)"
            return FileError(path, message, exc.raw_line, exc.raw_column + 1)
    if isinstance(exc, SyntaxError):
        return FileError(path, f"syntax error: {exc.msg}")
    return FileError(path, f"syntax error: {exc.message}", exc.raw_line, exc.raw_column + 1)


@contextmanager
def _room_for_nesting() -> Iterator[None]:
    """Stack room for code nested as deep as the guard lets through (kerascheck.nesting,
    1,000 levels): the extractor and libcst's visitors take a few frames a level, and
    Python's default limit of 1,000 frames stopped them on valid code a few hundred
    levels deep. The guard bounds the depth, so the C stack stays far from full."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, ANALYSIS_RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _line_column(source: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``source[index]``."""
    return source.count("\n", 0, index) + 1, index - source.rfind("\n", 0, index)


def _null_byte(path: str, source: str) -> FileError:
    line, column = _line_column(source, source.find("\x00"))
    return FileError(path, "syntax error: source code cannot contain null bytes", line, column)


def _python_rejects(path: str, source: str) -> FileError | None:
    """Python's syntax error for code libcst accepts (``except A, e:``): findings on a file
    that cannot run would mislead, and --fix must leave it alone. Only files with findings
    that Python's parser already rejected pay for this second parse (for its message)."""
    try:
        nesting.parse_python(source)
    except SyntaxError as error:
        column = (error.offset or 1) if error.lineno is not None else None
        return FileError(path, f"syntax error: {error.msg}", error.lineno, column)
    except (ValueError, RecursionError, MemoryError):
        pass
    return None


def _undecodable(path: str, source: str, exc: UnicodeEncodeError) -> FileError:
    """A lone surrogate (stdin decoded with surrogateescape, an odd codec) has no UTF-8."""
    line, column = _line_column(source, exc.start)
    message = f"cannot decode: undecodable character U+{ord(source[exc.start]):04X}"
    return FileError(path, message, line, column)


@cache
def _relevant_names(rules: tuple[type[Rule], ...]) -> frozenset[str] | None:
    """What makes a function body matter to these rules; None when one reads whole files."""
    names = set(model_vocabulary())
    for rule in rules:
        if rule.relevant_names is None:
            return None
        names |= rule.relevant_names
    return frozenset(names)


def _parse(source: str, sliced: SlicedSource | None) -> cst.Module:
    """The sliced text when there is one; a libcst error on it is reported on the file."""
    if sliced is not None:
        try:
            return cst.parse_module(sliced.text)
        except cst.ParserSyntaxError:
            pass
    return cst.parse_module(source)


def _in_file(span: Span, sliced: SlicedSource) -> Span:
    if not span.line:
        return span
    return replace(span, line=sliced.line(span.line), end_line=sliced.line(span.end_line))


def _unsliced(findings: list[Finding], sliced: SlicedSource | None) -> list[Finding]:
    """Positions in the sliced text mapped back to the file's lines (columns are kept)."""
    if sliced is None:
        return findings
    unsliced = []
    for finding in findings:
        fix = finding.fix
        if fix is not None:
            edits = tuple(replace(e, span=_in_file(e.span, sliced)) for e in fix.edits)
            fix = replace(fix, edits=edits)
        unsliced.append(replace(finding, span=_in_file(finding.span, sliced), fix=fix))
    return unsliced


def lint_source(
    source: str, path: str, options: Options, rules: Sequence[Rule] | None = None
) -> FileResult:
    if not might_use_keras(source):
        return FileResult(path)
    if "\x00" in source:  # Python refuses null bytes, libcst misplaces them
        return FileResult(path, errors=(_null_byte(path, source),), checked=False)
    active = rules if rules is not None else options.rules()
    relevant = _relevant_names(tuple(type(rule) for rule in active))
    # What makes a body matter, when the file is to be sliced at all.
    vocabulary = relevant if relevant is not None and worth_slicing(source) else None
    deep = nesting.might_be_deep(source)
    # One parse with Python's own parser serves the nesting guard, the slicing and the
    # "does Python accept it" check; None when Python rejects the source or none needs it.
    tree = nesting.python_tree(source) if deep or vocabulary is not None else None
    refused = nesting.refusal(source, tree) if deep else None
    if refused is not None:
        error = FileError(path, refused.message, refused.line, refused.column)
        return FileResult(path, errors=(error,), checked=False)
    sliced = None
    if tree is not None and vocabulary is not None:
        sliced = slice_source(source, tree, vocabulary)
    python_accepts = tree is not None
    del tree  # a large file's ast must not stay alive beside its libcst tree (peak memory)
    try:
        module = _parse(source, sliced)
    except cst.ParserSyntaxError as exc:
        return _refused(source, path, options, rules, exc, python_accepts)
    except RecursionError:
        return FileResult(
            path, errors=(FileError(path, "too deeply nested to parse"),), checked=False
        )
    except UnicodeEncodeError as exc:
        return FileResult(path, errors=(_undecodable(path, source, exc),), checked=False)
    try:
        with warnings.catch_warnings(), _room_for_nesting():
            # Evaluating the user's literals warns on "\d"; under -W error that would raise.
            warnings.simplefilter("ignore")
            spec = _legacy_keras_env(extract(module, path, lines=source.count("\n")), source)
            findings = run_rules(spec, active, options.target_keras)
    except RecursionError:
        return FileResult(
            path, errors=(FileError(path, "too deeply nested to analyse"),), checked=False
        )
    except SyntaxError as exc:  # a literal that libcst parses and Python refuses
        return FileResult(path, errors=(_syntax_error(path, source, exc),), checked=False)
    except Exception as exc:  # a bug of ours must not hide the other files' results
        message = f"internal error while checking ({type(exc).__name__}: {exc}); please report it"
        return FileResult(path, errors=(FileError(path, message),), checked=False)
    rejected = _python_rejects(path, source) if findings and not python_accepts else None
    if rejected is not None:
        return FileResult(path, errors=(rejected,), checked=False)
    findings = verified(spec, findings, active, options)
    if not findings:
        return FileResult(path)
    try:
        with _room_for_nesting():
            flavour = flavour_of(spec, options.target_keras)
            kept = positioned(module, findings, spec.guards, flavour)
            placed = plain_fixes(_unsliced(kept, sliced), source)
    except RecursionError:
        return FileResult(
            path, errors=(FileError(path, "too deeply nested to analyse"),), checked=False
        )
    kept, suppressed = split(placed, suppressions(source))
    return FileResult(path, kept, suppressed=suppressed)


def _refused(
    source: str,
    path: str,
    options: Options,
    rules: Sequence[Rule] | None,
    exc: cst.ParserSyntaxError,
    python_accepts: bool,
) -> FileResult:
    """libcst refused ``source``. If Python accepts it and its indentation mixes tabs or
    form feeds (the refusal kerascheck.indentation rewrites), it is checked with that
    indentation as spaces and every position is mapped back; else the syntax error."""
    accepted = python_accepts or nesting.python_tree(source) is not None
    reindented = reindent(source) if accepted else None
    if reindented is None:
        return FileResult(path, errors=(_syntax_error(path, source, exc),), checked=False)
    return _unindented(lint_source(reindented.text, path, options, rules), reindented)


def _unindented(result: FileResult, reindented: Reindented) -> FileResult:
    """A result on the reindented text, in the positions of the original."""

    def placed(finding: Finding) -> Finding:
        span = reindented.span(finding.span) or replace(finding.span, col=1)
        return replace(finding, span=span, fix=_unindented_fix(finding.fix, reindented))

    def error(found: FileError) -> FileError:
        if found.line is None or found.column is None:
            return found
        return replace(found, column=reindented.column(found.line, found.column) or 1)

    return replace(
        result,
        findings=tuple(placed(f) for f in result.findings),
        suppressed=tuple(placed(f) for f in result.suppressed),
        errors=tuple(error(e) for e in result.errors),
    )


def _unindented_fix(fix: Fix | None, reindented: Reindented) -> Fix | None:
    """The fix in original positions; None when an edit starts or ends inside rewritten
    indentation or spans rewritten lines (it could not be applied exactly)."""
    if fix is None:
        return None
    edits = []
    for edit in fix.edits:
        span = reindented.span(edit.span)
        spans_lines = edit.span.end_line > edit.span.line
        if span is None or (spans_lines and reindented.moved_between(span.line, span.end_line)):
            return None
        edits.append(replace(edit, span=span))
    return replace(fix, edits=tuple(edits))


def lint_saved(path: str, options: Options, rules: Sequence[Rule] | None = None) -> FileResult:
    """A saved model (.keras, .h5, model JSON): findings point into its config; there is no
    source, so no suppressions and no fixes."""
    # Imported here: most runs check no saved model and need not load the config reader.
    from kerascheck.extract.saved import extract_saved, ordered

    try:
        spec = extract_saved(path)
        active = rules if rules is not None else options.rules()
        findings = run_rules(spec, active, options.target_keras)
    except SavedModelError as exc:
        return FileResult(path, errors=(FileError(path, str(exc)),), checked=False)
    except Exception as exc:  # a bug of ours must not hide the other files' results
        message = f"internal error while checking ({type(exc).__name__}: {exc}); please report it"
        return FileResult(path, errors=(FileError(path, message),), checked=False)
    return FileResult(path, ordered(verified(spec, findings, active, options)))


def _ignored_codes(path: str, options: Options) -> tuple[str, ...]:
    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(options.root)))
    codes: list[str] = []
    for glob, ignored in options.per_file_ignores:
        if is_excluded(relative, (glob,)) or relative.match(glob):
            codes.extend(ignored)
    return tuple(codes)


def lint_file(path: str, options: Options, rules: Sequence[Rule] | None = None) -> FileResult:
    try:
        return _lint_file(path, options, rules)
    except Exception as exc:  # a bug of ours must not stop the run: the other files go on
        message = f"internal error while checking ({type(exc).__name__}: {exc}); please report it"
        return FileResult(path, errors=(FileError(path, message),), checked=False)


def _lint_file(path: str, options: Options, rules: Sequence[Rule] | None) -> FileResult:
    if path.endswith(SAVED_SUFFIXES):
        return filter_for_file(lint_saved(path, options, rules), path, options)
    if path.endswith(NOTEBOOK_SUFFIX):
        return filter_for_file(lint_notebook(path, options, rules), path, options)
    try:
        source = read_source(path)
    except SourceError as exc:
        return FileResult(path, errors=(FileError(path, str(exc)),), checked=False)
    return filter_for_file(lint_source(source, path, options, rules), path, options)


def lint_notebook(path: str, options: Options, rules: Sequence[Rule] | None = None) -> FileResult:
    """A notebook file: its code cells checked together (``lint_cells``)."""
    try:
        data = read_bytes(path, MAX_NOTEBOOK_BYTES)
    except SourceError as exc:
        return FileResult(path, errors=(FileError(path, str(exc)),), checked=False)
    return lint_notebook_data(data, path, options, rules)


def lint_notebook_data(
    data: bytes, path: str, options: Options, rules: Sequence[Rule] | None = None
) -> FileResult:
    """A notebook's bytes (a file's, or a buffer an editor pipes in)."""
    try:
        notebook = parse_notebook(data)
    except SourceError as exc:
        return FileResult(path, errors=(FileError(path, str(exc)),), checked=False)
    if not notebook.python:
        return FileResult(path, checked=False)  # an R, Julia... notebook: not Python
    return lint_cells(notebook.cells, path, options, rules)


def lint_cells(
    cells: Sequence[SourceCell | tuple[int, str]],
    path: str,
    options: Options,
    rules: Sequence[Rule] | None = None,
) -> FileResult:
    """Code cells checked as one module, in order, positions in their own cells
    (``lint_code_cells``)."""
    if not any("keras" in (c.text if isinstance(c, SourceCell) else c[1]) for c in cells):
        return FileResult(path)  # the same prefilter as for a .py file
    expected = frozenset(c.number for c in cells if isinstance(c, SourceCell) and c.expected_error)
    return lint_code_cells(code_cells(cells), expected, path, options, rules)


def lint_code_cells(
    cells: Sequence[CodeCell],
    expected: frozenset[int],
    path: str,
    options: Options,
    rules: Sequence[Rule] | None = None,
) -> FileResult:
    """Cells as Python (``kerascheck.notebook.code_cells``) checked as one module.

    A cell that Python rejects, as IPython would parse it (or that libcst cannot parse, or
    that is nested too deeply), is reported as an error at its cell and line and left out:
    a placeholder takes its lines and makes the names it binds unknown, and the other cells
    are checked. A cell numbered in ``expected`` (tagged ``raises-exception``) is expected
    to fail: left out without an error."""
    errors: list[FileError] = []
    skipped: set[int] = set()
    for cell in cells:
        problem = cell.problem
        if problem is not None:
            skipped.add(cell.number)
            if cell.number not in expected:
                message = f"{problem.message} (cell not checked)"
                errors.append(FileError(path, message, problem.line, problem.column, cell.number))
    active = rules if rules is not None else options.rules()
    while True:
        notebook = join(cells, frozenset(skipped))
        result = lint_source(notebook.source, path, options, active)
        culprit = _failing_cell(result, notebook)
        if culprit is None or culprit.number in skipped:
            break
        # libcst's limits, or nesting the guard refuses: that cell is left out too.
        skipped.add(culprit.number)
        errors.extend(
            replace(_in_cell(e, notebook), message=f"{e.message} (cell not checked)")
            for e in result.errors
        )
    return replace(
        result,
        findings=tuple(notebook.place(f) for f in result.findings),
        suppressed=tuple(notebook.place(f) for f in result.suppressed),
        errors=(*sorted(errors, key=_error_order), *(_in_cell(e, notebook) for e in result.errors)),
    )


@dataclass(frozen=True)
class ParsedCell:
    """A cell parsed once and kept (an interactive session checks its inputs again at
    every new cell); ``module`` is None for a cell that cannot be analysed."""

    cell: CodeCell
    module: cst.Module | None = field(repr=False)
    reindented: Reindented | None = field(default=None, repr=False)

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, object]:
        assert self.module is not None
        with _room_for_nesting():
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            return wrapper.resolve(PositionProvider)

    @cached_property
    def suppressed_codes(self) -> dict[int, frozenset[str]]:
        return suppressions(self.cell.code.text)


def parse_cell(cell: CodeCell) -> ParsedCell:
    """``cell`` parsed with libcst, as ``lint_source`` would parse its code (the nesting
    guard first; indentation libcst refuses rewritten)."""
    text = cell.code.text
    if cell.problem is not None or "\x00" in text:
        return ParsedCell(cell, None)
    if nesting.might_be_deep(text) and nesting.refusal(text, nesting.python_tree(text)):
        return ParsedCell(cell, None)
    try:
        return ParsedCell(cell, cst.parse_module(text))
    except cst.ParserSyntaxError:
        reindented = reindent(text)
        if reindented is None:
            return ParsedCell(cell, None)
        try:
            return ParsedCell(cell, cst.parse_module(reindented.text), reindented)
        except (cst.ParserSyntaxError, RecursionError):
            return ParsedCell(cell, None)
    except (RecursionError, UnicodeEncodeError):
        return ParsedCell(cell, None)


def lint_parsed_cells(
    cells: Sequence[ParsedCell], path: str, options: Options, rules: Sequence[Rule]
) -> FileResult:
    """Parsed cells checked as one module (their statements in order), positions taken
    from each cell's own parse: a session's inputs are parsed and positioned once each,
    however often they are checked. Cells without a module are left out; findings carry
    no fixes (an interactive session only shows them)."""
    parsed = [c for c in cells if c.module is not None]
    if not parsed:
        return FileResult(path)
    module = cst.Module(body=tuple(s for c in parsed for s in c.module.body))  # type: ignore[union-attr]
    lines = sum(len(c.cell.code.lines) for c in parsed)
    try:
        with warnings.catch_warnings(), _room_for_nesting():
            warnings.simplefilter("ignore")
            spec = extract(module, path, lines=lines)
            findings = run_rules(spec, rules, options.target_keras)
    except (RecursionError, SyntaxError):
        return FileResult(path, checked=False)
    notebook = join([c.cell for c in cells])
    starts = {c.number: c.first_line for c in notebook.cells}
    # Code that cannot run under the target flavour (as ``positioned`` drops it).
    flavour = flavour_of(spec, options.target_keras)
    excluded = [
        (guard.codes, *_cell_position(guard.span, parsed))
        for guard in spec.guards
        if flavour not in guard.runs_under
    ]
    unique: dict[tuple[str, int, int, int, str], Finding] = {}
    suppressed: list[Finding] = []
    for finding in findings:
        owner, span = _cell_position(finding.span, parsed)
        if owner is None or any(
            finding.code.startswith(codes) and cell is owner and _inside(span, region)
            for codes, cell, region in excluded
        ):
            continue
        joined = replace(span, line=span.line + starts[owner.cell.number] - 1)
        joined = replace(joined, end_line=span.end_line + starts[owner.cell.number] - 1)
        placed = notebook.place(replace(finding, span=joined, fix=None))
        kept, silenced = split([placed], owner.suppressed_codes)
        suppressed.extend(silenced)
        for found in kept:
            key = (found.code, found.span.cell or 0, found.span.line, found.span.col, found.message)
            unique.setdefault(key, found)
    order = sorted(unique.values(), key=lambda f: (f.span.cell or 0, f.span.line, f.span.col))
    return FileResult(path, tuple(order), suppressed=tuple(suppressed))


def _cell_position(span: Span, cells: Sequence[ParsedCell]) -> tuple[ParsedCell | None, Span]:
    """The cell whose parse holds ``span``'s anchor, and the span in that cell's lines."""
    if span.anchor is None:
        return None, span
    for cell in cells:
        if span.anchor in cell.positions:
            placed = _position(span, cell.positions)
            if cell.reindented is not None:
                placed = cell.reindented.span(placed) or replace(placed, col=1)
            return cell, placed
    return None, span


def _failing_cell(result: FileResult, notebook: Notebook) -> CodeCell | None:
    """The cell a failed check of the joined code points at, if it points at one."""
    if result.checked or len(result.errors) != 1 or result.errors[0].line is None:
        return None
    return notebook.cell_at(result.errors[0].line)


def _error_order(error: FileError) -> tuple[int, int]:
    return (error.cell or 0, error.line or 0)


def _in_cell(error: FileError, notebook: Notebook) -> FileError:
    if error.line is None:
        return error
    span = notebook.locate(Span(error.line, error.column or 1))
    return replace(error, line=span.line, column=span.col, cell=span.cell)


def filter_for_file(result: FileResult, path: str, options: Options) -> FileResult:
    """Drop the findings that the per-file ignores of the configuration silence."""
    ignored = _ignored_codes(path, options) if options.per_file_ignores else ()
    if ignored and result.findings:
        kept = tuple(f for f in result.findings if not f.code.startswith(ignored))
        result = replace(result, findings=kept)
    return result


def _lint_chunk(paths: list[str], options: Options) -> list[FileResult]:
    rules = options.rules()
    return [lint_file(p, options, rules) for p in paths]


class Progress(Protocol):
    """What a long run reports to (the CLI's progress bar on a terminal)."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self) -> None: ...


def lint_paths(
    paths: Iterable[str],
    options: Options,
    jobs: int = 1,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
    before_checking: Callable[[], None] | None = None,
) -> Report:
    """Check every discovered file; cached results are reused and new ones stored.
    ``before_checking`` runs once, and only when some file is not in the cache (the
    --dynamic worker starts there: a fully cached run never imports TensorFlow)."""
    files = list(discover(paths, options.exclude))
    results: list[FileResult | None] = [cache.lookup(f) if cache else None for f in files]
    misses = [i for i, result in enumerate(results) if result is None]
    if misses and before_checking is not None:
        before_checking()
    prints = [cache.fingerprint(files[i]) for i in misses] if cache is not None else []
    if progress is not None:
        progress.start(len(files), len(files) - len(misses))
    checked = lint_files([files[i] for i in misses], options, jobs)
    for number, (index, result) in enumerate(zip(misses, checked, strict=True)):
        results[index] = result
        if cache is not None:
            cache.store(files[index], prints[number], result)
        if progress is not None:
            progress.advance()
    if cache is not None:
        cache.save()
    return Report([r for r in results if r is not None])


def lint_files(files: list[str], options: Options, jobs: int = 1) -> Iterator[FileResult]:
    return map_files(_lint_chunk, files, options, jobs)


def tune_gc() -> None:
    """Set the cyclic garbage collector for a batch run. Parsing allocates millions of
    short-lived, acyclic nodes that reference counting frees; scanning them every 700
    allocations, and rescanning the imported modules each time, is measured waste (a few per
    cent of a corpus run). Called by the CLI and in pool workers, never by library users."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)


def map_files(
    worker: Callable[[list[str], Options], list[R]], files: list[str], options: Options, jobs: int
) -> Iterator[R]:
    """``worker`` over chunks of ``files``, in order; in a process pool when it pays."""
    if jobs <= 1 or len(files) < 2 * jobs:
        yield from worker(files, options)
        return
    chunk = max(1, min(64, len(files) // (jobs * 8)))
    chunks = [files[i : i + chunk] for i in range(0, len(files), chunk)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=tune_gc) as pool:
        for results in pool.map(worker, chunks, [options] * len(chunks)):
            yield from results
