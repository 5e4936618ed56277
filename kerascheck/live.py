"""``%load_ext kerascheck``: a live check in IPython, Jupyter, VS Code notebooks and Colab.

Before each cell runs (IPython's ``pre_run_cell`` event), the session's inputs in execution
order plus the new cell are checked as one notebook, statically (never importing TensorFlow,
never running anything), and the findings that the new cell brings are shown in that cell:
plain text in a terminal, a compact HTML block in a notebook front end. So a wrong loss is
seen before ``fit()`` starts. ``%kerascheck`` checks the whole session again and shows every
finding; its options select or ignore codes, and ``--block`` makes a new error-severity
finding stop the cell before it runs.

Stopping a cell: IPython runs a cell as transform, parse, AST transformers, execute. An AST
transformer (``shell.ast_transformers``) that raises ``IPython.core.error.InputRejected`` is
IPython's documented way to refuse an input: the cell is not executed, the error is shown in
its place (here a one-line message, not a traceback), and in Jupyter the cell's execution
fails, which stops "Run All". ``pre_run_cell`` cannot stop a cell: IPython reports an
exception there and runs the cell anyway.

Cost: a check reads only the part of the session the new cell can depend on: the cells that
share a name with it, transitively (names only ever bound by imports, such as ``np`` or
``keras``, do not link cells: every cell keeps its imports). Each input is turned into Python
once and kept. When that part of the session never mentions Keras, nothing is checked.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import html
import keyword
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from kerascheck.engine import (
    FileResult,
    Options,
    ParsedCell,
    filter_for_file,
    lint_parsed_cells,
    parse_cell,
)
from kerascheck.ipython_syntax import CellCode, python_cell
from kerascheck.ir import Finding
from kerascheck.notebook import CellNames, CodeCell, cell_names, placeholder
from kerascheck.report.location import printable
from kerascheck.rule import Rule

SESSION = "<session>"  # the path findings are reported under
_NOT_DEPENDENCIES = frozenset(keyword.kwlist) | frozenset(dir(builtins))


@dataclass
class Settings:
    """What ``%kerascheck`` options set for the session."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    block: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class _Input:
    """An input of the session, as the analysis needs it (computed once per input)."""

    parsed: ParsedCell
    names: CellNames

    @property
    def cell(self) -> CodeCell:
        return self.parsed.cell

    @cached_property
    def imports(self) -> ParsedCell:
        """The input reduced to its plain one-line imports, on their lines."""
        lines = placeholder(list(self.cell.code.lines), frozenset(), forget=False)
        return parse_cell(replace(self.cell, code=CellCode(tuple(lines))))


@dataclass
class LiveCheck:
    """The extension's state for one IPython shell."""

    shell: Any
    settings: Settings = field(default_factory=Settings)
    reported: set[tuple[str, int, int, int, str]] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)  # inputs stopped before they ran
    refusal: str | None = None  # set before a cell runs when it is to be stopped
    _inputs: dict[tuple[int, str], _Input] = field(default_factory=dict, repr=False)
    _configured: Options | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- IPython hooks
    def pre_run_cell(self, info: Any = None) -> None:
        """IPython's ``pre_run_cell`` event: check the new cell, show what it brings."""
        self.refusal = None
        raw = getattr(info, "raw_cell", None)
        if not self.settings.enabled or not isinstance(raw, str) or not raw.strip():
            return
        if not getattr(info, "store_history", True):
            return  # a cell run by another one (%%capture's body), or by the front end
        try:
            number = len(self.shell.history_manager.input_hist_raw)
            findings = self.new_findings(raw, number)
        except Exception as exc:  # the user's cell must run whatever happens here
            _show(f"kerascheck: could not check this cell ({type(exc).__name__}: {exc})", "")
            return
        if not findings:
            return
        _show(*render(findings, number))
        errors = [f for f in findings if f.severity == "error"]
        if self.settings.block and errors:
            self.refused.add(number)
            codes = ", ".join(sorted({f.code for f in errors}))
            self.refusal = (
                f"kerascheck: cell not run: {codes} (run `%kerascheck --no-block` to allow it)"
            )

    def post_run_cell(self, result: Any = None) -> None:
        self.refusal = None

    # ----------------------------------------------------------------------- checks
    def options(self) -> Options:
        """The project's configuration (the nearest pyproject.toml or kerascheck.toml, as
        ``kerascheck check`` finds it), with the session's --select/--ignore on top."""
        if self._configured is None:
            from kerascheck.config import Config, ConfigError
            from kerascheck.registry import all_rules
            from kerascheck.settings import load_config, options_for

            try:
                config = load_config(Path.cwd(), [rule.code for rule in all_rules()])
            except ConfigError:
                config = Config()
            self._configured = options_for(config)
        options = self._configured
        if self.settings.select is not None:
            options = replace(options, select=self.settings.select)
        if self.settings.ignore:
            options = replace(options, ignore=(*options.ignore, *self.settings.ignore))
        return options

    def new_findings(self, raw: str, number: int) -> list[Finding]:
        """The findings the input ``raw`` (to be In [number]) brings to the session."""
        history = self._history()
        new = self._input(number, raw)
        needed = _depends_on(new, history)
        cells = [item.parsed if id(item) in needed else item.imports for item in history]
        cells.append(new.parsed)
        if not any("keras" in cell.cell.code.text for cell in cells):
            return []
        brought = []
        for finding in self._lint(cells).findings:
            key = _key(finding)
            if key not in self.reported:
                self.reported.add(key)
                brought.append(finding)
        return brought

    def check_session(self) -> FileResult:
        """Every input of the session checked (``%kerascheck``)."""
        result = self._lint([item.parsed for item in self._history()])
        self.reported.update(_key(f) for f in result.findings)
        return result

    def _lint(self, cells: Sequence[ParsedCell]) -> FileResult:
        options = self.options()
        rules: Sequence[Rule] = options.rules()
        result = lint_parsed_cells(cells, SESSION, options, rules)
        return filter_for_file(result, SESSION, options)

    def _history(self) -> list[_Input]:
        """The inputs that ran, in execution order (In [1], In [2], ...)."""
        raw = self.shell.history_manager.input_hist_raw
        return [
            self._input(number, text)
            for number, text in enumerate(raw[1:], start=1)
            if number not in self.refused and text.strip()
        ]

    def _input(self, number: int, text: str) -> _Input:
        key = (number, text)
        found = self._inputs.get(key)
        if found is None:
            cell = CodeCell(number, text, python_cell(text))
            if cell.problem is not None:  # Python rejected it: nothing of it ran
                cell = replace(cell, code=CellCode(("",) * len(cell.code.lines)))
            found = self._inputs[key] = _Input(parse_cell(cell), cell_names(cell.code))
        return found


def _depends_on(new: _Input, history: Sequence[_Input]) -> set[int]:
    """The inputs the new one can depend on (by ``id``): those that bind or call a method
    of a name it mentions, and so on for theirs. A name only ever bound by imports links
    nothing (every input keeps its imports), and an input that only reads names (a plot, a
    print) affects nothing the check sees."""
    imported = set().union(*(item.names.imported for item in history), new.names.imported)
    bound = set().union(*(item.names.bound for item in history), new.names.bound)
    ignored = _NOT_DEPENDENCIES | (imported - bound)
    needed = {id(new)}
    wanted = set(new.names.words - ignored)
    remaining = [(item, (item.names.bound | item.names.called_on) - ignored) for item in history]
    grew = True
    while grew:
        grew = False
        for entry in list(remaining):
            item, changes = entry
            if wanted.isdisjoint(changes):
                continue
            needed.add(id(item))
            wanted |= item.names.words - ignored
            remaining.remove(entry)
            grew = True
    return needed


def _key(finding: Finding) -> tuple[str, int, int, int, str]:
    span = finding.span
    return finding.code, span.cell or 0, span.line, span.col, finding.message


# ------------------------------------------------------------------------- display
_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}


def _place(finding: Finding, number: int | None) -> str:
    span = finding.span
    where = f"line {span.line}" if span.cell == number else f"In [{span.cell}] line {span.line}"
    return f"{where}:{span.col}"


def render(findings: Sequence[Finding], number: int | None) -> tuple[str, str]:
    """(plain text, HTML) for findings brought by input ``number`` (its own lines are
    named by line alone; others by their input, ``In [3] line 2``)."""
    from kerascheck.registry import rule_by_code

    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    plain = [f"kerascheck: {count}"]
    rows = []
    for finding in findings:
        place = _place(finding, number)
        plain.append(f"  {place}: {finding.code} {printable(finding.message)} [{finding.rule}]")
        rule = rule_by_code(finding.code)
        url = rule.help_uri() if rule is not None else None
        code = html.escape(finding.code)
        if url:
            code = f'<a href="{html.escape(url)}" target="_blank">{code}</a>'
        colour = _COLOURS.get(finding.severity, "inherit")
        rows.append(
            f'<div><span style="color:{colour};font-weight:bold">{code}</span> '
            f'<span style="opacity:0.7">{html.escape(place)}</span> '
            f"{html.escape(finding.message)}</div>"
        )
    block = (
        '<div class="kerascheck" style="border-left:3px solid #c62828;padding:2px 8px;'
        'margin:2px 0;font-family:var(--jp-code-font-family,monospace);font-size:90%">'
        f"<b>kerascheck</b>: {count}{''.join(rows)}</div>"
    )
    return "\n".join(plain), block


def _show(plain: str, markup: str) -> None:
    """Plain text in a terminal; HTML where the front end renders it (Jupyter, VS Code,
    Colab), text there otherwise."""
    from IPython.display import display

    bundle = {"text/plain": plain}
    if markup:
        bundle["text/html"] = markup
    display(bundle, raw=True)


# ---------------------------------------------------------------------- the magic
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%kerascheck", add_help=False)
    parser.add_argument("--select", default=None)
    parser.add_argument("--ignore", default=None)
    parser.add_argument("--block", action="store_true")
    parser.add_argument("--no-block", action="store_true")
    parser.add_argument("--off", action="store_true")
    parser.add_argument("--on", action="store_true")
    return parser


USAGE = (
    "%kerascheck [--select CODES] [--ignore CODES] [--block | --no-block] [--on | --off]: "
    "check the whole session; the options stay set for the session"
)


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part.strip().upper() for part in value.split(",") if part.strip())


def magic(check: LiveCheck) -> Callable[[str], None]:
    def kerascheck(line: str = "") -> None:
        try:
            arguments, unknown = _parser().parse_known_args(shlex.split(line))
        except (SystemExit, ValueError):  # argparse exits on a bad value; shlex raises
            unknown = [line]
        if unknown:
            _show(f"usage: {USAGE}", "")
            return
        settings = check.settings
        if arguments.select is not None:
            settings.select = _codes(arguments.select) or None
        if arguments.ignore is not None:
            settings.ignore = _codes(arguments.ignore)
        settings.block = (settings.block or arguments.block) and not arguments.no_block
        settings.enabled = (settings.enabled or arguments.on) and not arguments.off
        result = check.check_session()
        stopping = ", stopping it on an error" if settings.block else ""
        state = (
            f"checking each cell before it runs{stopping}"
            if settings.enabled
            else "not checking cells before they run"
        )
        if not result.findings:
            _show(f"kerascheck: no findings in this session ({state})", "")
            return
        plain, markup = render(result.findings, None)
        _show(f"{plain}\n({state})", markup)

    kerascheck.__doc__ = USAGE
    return kerascheck


# ------------------------------------------------------------------- load / unload
_LOADED: dict[int, tuple[LiveCheck, Any]] = {}


def load(shell: Any) -> None:
    from IPython.core.error import InputRejected

    class CellRefused(InputRejected):
        """Shown as its one-line message instead of a traceback."""

        def _render_traceback_(self) -> list[str]:
            return [str(self)]

    class Guard:
        """An AST transformer that stops a cell the check refused (IPython calls
        ``visit`` on each entry of ``shell.ast_transformers``)."""

        def visit(self, node: Any) -> Any:
            message, check.refusal = check.refusal, None
            if message is not None:
                raise CellRefused(message)
            return node

    if id(shell) in _LOADED:
        return
    check = LiveCheck(shell)
    guard = Guard()
    shell.events.register("pre_run_cell", check.pre_run_cell)
    shell.events.register("post_run_cell", check.post_run_cell)
    shell.ast_transformers.append(guard)
    shell.register_magic_function(magic(check), magic_kind="line", magic_name="kerascheck")
    _LOADED[id(shell)] = (check, guard)
    # What the session already holds is not news to the next cell (a failure here only
    # means those findings may be shown again).
    with contextlib.suppress(Exception):
        check.check_session()


def unload(shell: Any) -> None:
    loaded = _LOADED.pop(id(shell), None)
    if loaded is None:
        return
    check, guard = loaded
    shell.events.unregister("pre_run_cell", check.pre_run_cell)
    shell.events.unregister("post_run_cell", check.post_run_cell)
    if guard in shell.ast_transformers:
        shell.ast_transformers.remove(guard)
    shell.magics_manager.magics["line"].pop("kerascheck", None)
