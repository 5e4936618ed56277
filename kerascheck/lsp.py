"""``kerascheck lsp``: the language server (LSP over stdin/stdout, built on pygls).

Open Python documents, and the Python cells of open notebooks (LSP notebook
synchronisation: the code cells are linted together, as ``kerascheck check`` lints an
.ipynb, and each diagnostic goes to its cell), are linted in memory on open, change and
save, with the options ``kerascheck check`` uses for the same file (its nearest
configuration file). While the user
types, a document is linted once the changes pause (``CHANGE_DELAY``): a lint takes tens of
milliseconds, and a burst of keystrokes should not queue a lint each. A code action on a
document changed since its last lint lints it first, so a fix never applies to stale text.
The engine is imported on the first lint, so ``initialize`` is answered at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from kerascheck import __version__
from kerascheck.ir import Span
from kerascheck.source import NEWLINE

if TYPE_CHECKING:
    from kerascheck.engine import FileError, FileResult, Options
    from kerascheck.ir import Edit, Finding, Fix

SOURCE = "kerascheck"
CHANGE_DELAY = 0.15  # seconds without a change before a changed document is linted
SEVERITIES = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "info": lsp.DiagnosticSeverity.Information,
}


def rule_url(code: str) -> str | None:
    from kerascheck.registry import rule_by_code

    rule = rule_by_code(code)
    return rule.help_uri() if rule is not None else None


@dataclass(frozen=True)
class Positions:
    """Converts 1-based, end-exclusive spans counted in code points into 0-based LSP
    positions counted in the client's units (UTF-16 unless negotiated otherwise)."""

    lines: Sequence[str]
    codec: PositionCodec

    @classmethod
    def of(cls, document: TextDocument) -> Positions:
        return cls(NEWLINE.split(document.source), document.position_codec)

    def position(self, line: int, col: int) -> lsp.Position:
        point = lsp.Position(line=max(line - 1, 0), character=max(col - 1, 0))
        return self.codec.position_to_client_units(self.lines, point)

    def range(self, span: Span) -> lsp.Range:
        start = self.position(span.line, span.col)
        end = self.position(span.end_line, span.end_col) if span.end_line else start
        return lsp.Range(start=start, end=end)


def diagnostic(finding: Finding, positions: Positions) -> lsp.Diagnostic:
    url = rule_url(finding.code)
    return lsp.Diagnostic(
        range=positions.range(finding.span),
        message=finding.message,
        severity=SEVERITIES[finding.severity],
        code=finding.code,
        code_description=lsp.CodeDescription(href=url) if url else None,
        source=SOURCE,
    )


def error_diagnostic(error: FileError, positions: Positions) -> lsp.Diagnostic:
    """A document that could not be checked: at its syntax error, else at the top."""
    line, col = error.line or 1, error.column or 1
    start, end = positions.position(line, col), positions.position(line, col + 1)
    return lsp.Diagnostic(
        range=lsp.Range(start=start, end=end),
        message=error.message,
        severity=lsp.DiagnosticSeverity.Error,
        source=SOURCE,
    )


def text_edit(edit: Edit, positions: Positions) -> lsp.TextEdit:
    # The engine resolves every edit mode to a plain replacement of ``edit.span``.
    return lsp.TextEdit(range=positions.range(edit.span), new_text=edit.text)


@dataclass(frozen=True)
class DocumentEdits:
    """A fix's edits to one document (a notebook fix may touch several cells)."""

    uri: str
    version: int | None
    edits: tuple[lsp.TextEdit, ...]


@dataclass(frozen=True)
class QuickFix:
    diagnostic: lsp.Diagnostic
    fix: Fix
    changes: tuple[DocumentEdits, ...]

    @property
    def title(self) -> str:
        return self.fix.description if self.fix.safe else f"{self.fix.description} (unsafe)"


@dataclass(frozen=True)
class Linted:
    """The last lint of one document version."""

    version: int | None
    diagnostics: tuple[lsp.Diagnostic, ...]
    fixes: tuple[QuickFix, ...]


def convert(result: FileResult, document: TextDocument) -> Linted:
    return _convert(result, {0: document}, lambda span: replace(span, cell=0))[document.uri]


def convert_cells(result: FileResult, cells: dict[int, TextDocument]) -> dict[str, Linted]:
    """A lint of a notebook's cells (positions already in their cells) as one ``Linted``
    per code cell (cells without a finding get an empty one, which clears what the editor
    showed)."""
    return _convert(result, cells, lambda span: span)


def _convert(
    result: FileResult, documents: dict[int, TextDocument], locate: Callable[[Span], Span]
) -> dict[str, Linted]:
    """One ``Linted`` per document; ``locate`` places a span of the linted source in one of
    ``documents`` (its ``cell``, a key of ``documents``; an error anywhere else goes to the
    first)."""
    positions = {number: Positions.of(document) for number, document in documents.items()}
    diagnostics: dict[int, list[lsp.Diagnostic]] = {number: [] for number in documents}
    fixes: dict[int, list[QuickFix]] = {number: [] for number in documents}
    first = min(documents)
    for error in result.errors:
        span = locate(Span(error.line or 0, error.column or 1, cell=error.cell))
        number = span.cell if span.cell in documents else first
        located = replace(error, line=span.line or None, column=span.col)
        diagnostics[number].append(error_diagnostic(located, positions[number]))
    for finding in result.findings:
        span = locate(finding.span)
        if span.cell not in documents:
            continue
        here = diagnostic(replace(finding, span=span), positions[span.cell])
        diagnostics[span.cell].append(here)
        if finding.fix is not None:
            changes = _edits(finding.fix, locate, documents, positions)
            if changes is not None:
                fixes[span.cell].append(QuickFix(here, finding.fix, changes))
    return {
        document.uri: Linted(document.version, tuple(diagnostics[n]), tuple(fixes[n]))
        for n, document in documents.items()
    }


def _edits(
    fix: Fix,
    locate: Callable[[Span], Span],
    documents: dict[int, TextDocument],
    positions: dict[int, Positions],
) -> tuple[DocumentEdits, ...] | None:
    """A fix's edits grouped by the document they fall in; None if one falls in none."""
    grouped: dict[int, list[lsp.TextEdit]] = {}
    for edit in fix.edits:
        span = locate(edit.span)
        if span.cell not in documents:
            return None
        grouped.setdefault(span.cell, []).append(
            text_edit(replace(edit, span=span), positions[span.cell])
        )
    return tuple(
        DocumentEdits(documents[n].uri, documents[n].version, tuple(edits))
        for n, edits in grouped.items()
    )


def document_path(uri: str) -> Path:
    """The file a document is (or will be) saved as: the configuration search starts there."""
    path = to_fs_path(uri)
    return Path(unquote(path if path is not None else urlparse(uri).path or "untitled.py"))


def _is_python(document: TextDocument) -> bool:
    if document.language_id:
        return document.language_id == "python"
    return document.uri.endswith((".py", ".pyi"))


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    """Touching counts: a cursor just after a diagnostic still gets its fix."""

    def at(position: lsp.Position) -> tuple[int, int]:
        return position.line, position.character

    return at(a.start) <= at(b.end) and at(b.start) <= at(a.end)


class KerascheckServer(LanguageServer):
    def __init__(self) -> None:
        python_cells = lsp.NotebookDocumentFilterWithCells(
            notebook="jupyter-notebook", cells=[lsp.NotebookCellLanguage(language="python")]
        )
        super().__init__(
            "kerascheck",
            __version__,
            notebook_document_sync=lsp.NotebookDocumentSyncOptions(
                notebook_selector=[python_cells], save=True
            ),
        )
        self.linted: dict[str, Linted] = {}
        self.cells: dict[str, set[str]] = {}  # notebook URI -> its checked cells' URIs
        self._shown: set[str] = set()

    def _tell_once(self, message: str) -> None:
        """A settings problem is shown once, not on every keystroke."""
        if message not in self._shown:
            self._shown.add(message)
            self.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Error, message=message)
            )

    def _lint(self, uri: str, check: Callable[[str, Options], FileResult]) -> FileResult:
        """``check(path, options)`` for the file ``uri`` names (its configuration, its
        per-file ignores); nothing when the rules cannot load (the user is told once)."""
        from kerascheck.config import Config, ConfigError
        from kerascheck.engine import FileResult, filter_for_file
        from kerascheck.registry import RuleLoadError, all_rules
        from kerascheck.settings import load_config, options_for

        path = document_path(uri)
        try:
            known = [rule.code for rule in all_rules()]
        except RuleLoadError as exc:
            self._tell_once(f"kerascheck: {exc}")
            return FileResult(str(path))
        try:
            config = load_config(path, known)
        except ConfigError as exc:
            self._tell_once(f"kerascheck: {exc} (checking with the default settings)")
            config = Config()
        options = options_for(config)
        return filter_for_file(check(str(path), options), str(path), options)

    def _publish(self, uri: str, linted: Linted) -> None:
        self.linted[uri] = linted
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri, diagnostics=list(linted.diagnostics), version=linted.version
            )
        )

    def check(self, uri: str) -> None:
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:  # a cell is checked with the rest of its notebook
            self.check_notebook(notebook.uri)
            return
        document = self.workspace.get_text_document(uri)
        if _is_python(document):
            from kerascheck.engine import lint_source

            source = document.source
            result = self._lint(uri, lambda path, options: lint_source(source, path, options))
            self._publish(uri, convert(result, document))

    def check_notebook(self, uri: str) -> None:
        from kerascheck.engine import lint_cells

        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None:
            return
        cells = {
            number: self.workspace.get_text_document(cell.document)
            for number, cell in enumerate(notebook.cells, start=1)
            if cell.kind == lsp.NotebookCellKind.Code
        }
        cells = {number: document for number, document in cells.items() if _is_python(document)}
        for gone in self.cells.get(uri, set()) - {d.uri for d in cells.values()}:
            self.forget(gone)
        self.cells[uri] = {document.uri for document in cells.values()}
        if not cells:
            return
        sources = [(number, document.source) for number, document in cells.items()]
        result = self._lint(uri, lambda path, options: lint_cells(sources, path, options))
        linted = convert_cells(result, cells)
        for cell_uri, cell_linted in linted.items():
            self._publish(cell_uri, cell_linted)

    def forget(self, uri: str) -> None:
        if self.linted.pop(uri, None) is not None:
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def forget_notebook(self, uri: str) -> None:
        for cell_uri in self.cells.pop(uri, set()):
            self.forget(cell_uri)

    def quick_fixes(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        only = params.context.only
        if only and not any(lsp.CodeActionKind.QuickFix.startswith(kind) for kind in only):
            return []
        uri = params.text_document.uri
        document = self.workspace.get_text_document(uri)
        linted = self.linted.get(uri)
        if linted is None or linted.version != document.version:
            self.check(uri)
            linted = self.linted.get(uri)
        if linted is None:
            return []
        return [
            lsp.CodeAction(
                title=quick.title,
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[quick.diagnostic],
                is_preferred=quick.fix.safe,
                edit=self._workspace_edit(quick.changes),
            )
            for quick in linted.fixes
            if _overlaps(quick.diagnostic.range, params.range)
        ]

    def _workspace_edit(self, changes: Sequence[DocumentEdits]) -> lsp.WorkspaceEdit:
        # A versioned edit lets the client refuse it once the text has moved on.
        capabilities = self.client_capabilities.workspace
        workspace_edit = capabilities.workspace_edit if capabilities else None
        if workspace_edit is not None and workspace_edit.document_changes:
            return lsp.WorkspaceEdit(
                document_changes=[
                    lsp.TextDocumentEdit(
                        text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                            uri=change.uri, version=change.version
                        ),
                        edits=list(change.edits),
                    )
                    for change in changes
                ]
            )
        return lsp.WorkspaceEdit(changes={change.uri: list(change.edits) for change in changes})


async def _after_a_pause(
    current: Callable[[], int | None], version: int, check: Callable[[], None]
) -> None:
    """``check`` once the changes pause: unless a newer change came meanwhile, which
    waits its own turn."""
    await asyncio.sleep(CHANGE_DELAY)
    if current() == version:
        check()


def build_server() -> KerascheckServer:
    server = KerascheckServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KerascheckServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: KerascheckServer, params: lsp.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        await _after_a_pause(
            lambda: ls.workspace.get_text_document(uri).version, version, lambda: ls.check(uri)
        )

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KerascheckServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KerascheckServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: KerascheckServer, params: lsp.DidOpenNotebookDocumentParams) -> None:
        ls.check_notebook(params.notebook_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
    async def notebook_change(
        ls: KerascheckServer, params: lsp.DidChangeNotebookDocumentParams
    ) -> None:
        uri, version = params.notebook_document.uri, params.notebook_document.version

        def current() -> int | None:
            notebook = ls.workspace.get_notebook_document(notebook_uri=uri)
            return notebook.version if notebook is not None else None

        await _after_a_pause(current, version, lambda: ls.check_notebook(uri))

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: KerascheckServer, params: lsp.DidSaveNotebookDocumentParams) -> None:
        ls.check_notebook(params.notebook_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: KerascheckServer, params: lsp.DidCloseNotebookDocumentParams) -> None:
        ls.forget_notebook(params.notebook_document.uri)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    def code_action(ls: KerascheckServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return ls.quick_fixes(params)

    return server


def serve() -> int:
    """Serve one client over stdin/stdout until it sends ``exit``."""
    build_server().start_io()
    return 0
