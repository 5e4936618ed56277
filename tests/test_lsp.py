"""The language server, driven over stdio by a real LSP client (pytest-lsp).

The server runs as the console script editors start (``COMMAND``, which the Neovim and
VS Code snippets of docs/integrations.md must match), with the capabilities that VS Code
(UTF-16 positions, versioned workspace edits) and Neovim 0.11 (UTF-8 positions, plain
edits) announce.
"""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from kerascheck.cli import build_parser
from kerascheck.lsp import rule_url
from kerascheck.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ("kerascheck", "lsp")
SCRIPT = Path(sys.executable).parent / COMMAND[0]

BUG = """\
from keras.layers import Dense
from keras.models import Sequential

model = Sequential()
model.add(Dense(1, name="😋", activation='softmax'))
model.compile(loss='binary_crossentropy', optimizer='adam')
"""
FIXED = BUG.replace("'softmax'", "'sigmoid'")
OLD_ADAM = """\
from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import Adam

model = Sequential([Dense(1, activation='sigmoid')])
model.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.01))
"""
BROKEN = "import keras\nmodel = keras.Sequential([\n"

CONFIG = ClientServerConfig(server_command=[str(SCRIPT), *COMMAND[1:]])


async def _start(client: LanguageClient, capabilities: str) -> None:
    await client.initialize_session(
        lsp.InitializeParams(capabilities=client_capabilities(capabilities))
    )


@pytest_lsp.fixture(config=CONFIG)
async def vscode(lsp_client: LanguageClient):
    await _start(lsp_client, "visual-studio-code")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def neovim(lsp_client: LanguageClient):
    await _start(lsp_client, "neovim@v0.11.0")
    yield
    await lsp_client.shutdown_session()


def _column(line: str, index: int, encoding: str) -> int:
    """An LSP character offset: code units of ``encoding`` before ``index``."""
    return len(line[:index].encode(encoding)) // (2 if encoding == "utf-16-le" else 1)


async def _published(client: LanguageClient, uri: str) -> list[lsp.Diagnostic]:
    params = await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert params.uri == uri
    return list(params.diagnostics)


async def _open(client: LanguageClient, path: Path, text: str) -> list[lsp.Diagnostic]:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    return await _published(client, uri)


def _send_change(client: LanguageClient, path: Path, text: str, version: int) -> None:
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def _change(
    client: LanguageClient, path: Path, text: str, version: int
) -> list[lsp.Diagnostic]:
    _send_change(client, path, text, version)
    return await _published(client, path.as_uri())


async def _save(client: LanguageClient, path: Path) -> list[lsp.Diagnostic]:
    uri = path.as_uri()
    client.text_document_did_save(
        lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    return await _published(client, uri)


def _kc101_range(encoding: str) -> lsp.Range:
    line = BUG.splitlines()[4]
    start = line.index("'softmax'")
    return lsp.Range(
        start=lsp.Position(line=4, character=_column(line, start, encoding)),
        end=lsp.Position(line=4, character=_column(line, start + len("'softmax'"), encoding)),
    )


@pytest.mark.asyncio
async def test_diagnostic_at_the_exact_utf16_range_then_cleared_by_an_edit(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "model.py"
    [found] = await _open(vscode, path, BUG)
    # The emoji before the finding counts twice in UTF-16: 'softmax' starts at column 41.
    assert found.range == _kc101_range("utf-16-le")
    assert found.range.start.character == 41
    assert found.code == "KC101"
    assert found.severity == lsp.DiagnosticSeverity.Error
    assert found.source == "kerascheck"
    assert found.code_description is not None
    assert found.code_description.href == (
        "https://github.com/kerascheck/kerascheck/blob/main/docs/rules.md#kc101-softmax-single-unit"
    )
    assert "1-unit output" in found.message

    assert await _change(vscode, path, FIXED, version=2) == []


@pytest.mark.asyncio
async def test_a_burst_of_changes_is_linted_once_at_its_last_version(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "model.py"
    assert await _open(vscode, path, FIXED) == []
    for version, text in enumerate([BUG, FIXED, BUG, FIXED, BUG], start=2):
        _send_change(vscode, path, text, version)
    published = await vscode.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert published.version == 6
    assert [d.code for d in published.diagnostics] == ["KC101"]


@pytest.mark.asyncio
async def test_neovim_gets_utf8_positions(neovim: LanguageClient, tmp_path: Path) -> None:
    [found] = await _open(neovim, tmp_path / "model.py", BUG)
    assert found.range == _kc101_range("utf-8")
    assert found.range.start.character == 43


@pytest.mark.asyncio
async def test_save_rereads_the_configuration(vscode: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    assert [d.code for d in await _open(vscode, path, BUG)] == ["KC101"]
    (tmp_path / "kerascheck.toml").write_text('ignore = ["KC101"]\n')
    assert await _save(vscode, path) == []


@pytest.mark.asyncio
async def test_a_broken_configuration_is_shown_and_the_defaults_apply(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "kerascheck.toml").write_text('colour = "blue"\n')
    message = vscode.protocol.wait_for_notification_async(lsp.WINDOW_SHOW_MESSAGE)
    assert [d.code for d in await _open(vscode, tmp_path / "model.py", BUG)] == ["KC101"]
    shown = await message
    assert shown.type == lsp.MessageType.Error
    assert "unknown key `colour`" in shown.message


@pytest.mark.asyncio
async def test_per_file_ignores_apply_as_in_the_cli(vscode: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.kerascheck.per-file-ignores]\n"legacy/*.py" = ["KC101"]\n'
    )
    (tmp_path / "legacy").mkdir()
    assert await _open(vscode, tmp_path / "legacy" / "model.py", BUG) == []
    assert [d.code for d in await _open(vscode, tmp_path / "model.py", BUG)] == ["KC101"]


@pytest.mark.asyncio
async def test_a_syntax_error_is_one_diagnostic_at_its_position(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    with pytest.raises(SyntaxError) as python:
        ast.parse(BROKEN)
    [found] = await _open(vscode, tmp_path / "broken.py", BROKEN)
    line, col = python.value.lineno - 1, python.value.offset - 1
    assert (found.range.start.line, found.range.start.character) == (line, col) == (1, 25)
    assert found.severity == lsp.DiagnosticSeverity.Error
    assert found.message == f"syntax error: {python.value.msg}"
    # The server is still serving: the repaired buffer is checked as usual.
    assert await _change(vscode, tmp_path / "broken.py", FIXED, version=2) == []


def _lr_range() -> lsp.Range:
    line = OLD_ADAM.splitlines()[5]
    start = line.index("lr=")
    return lsp.Range(
        start=lsp.Position(line=5, character=start),
        end=lsp.Position(line=5, character=start + len("lr")),
    )


async def _quick_fixes(
    client: LanguageClient, path: Path, diagnostics: list[lsp.Diagnostic]
) -> list[lsp.CodeAction]:
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=path.as_uri()),
            range=diagnostics[0].range,
            context=lsp.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert actions is not None
    return [action for action in actions if isinstance(action, lsp.CodeAction)]


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        start, end = edit.range.start, edit.range.end
        assert start.line == end.line
        line = lines[start.line]
        lines[start.line] = line[: start.character] + edit.new_text + line[end.character :]
    return "".join(lines)


@pytest.mark.asyncio
async def test_quick_fix_renames_lr_with_a_versioned_edit(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "train.py"
    diagnostics = await _open(vscode, path, OLD_ADAM)
    assert [(d.code, d.range) for d in diagnostics] == [("KC201", _lr_range())]

    [action] = await _quick_fixes(vscode, path, diagnostics)
    assert action.title == "Rename `lr=` to `learning_rate=`"
    assert action.kind == lsp.CodeActionKind.QuickFix
    assert action.is_preferred is True
    assert list(action.diagnostics or ()) == diagnostics
    assert action.edit is not None and action.edit.document_changes is not None
    [change] = action.edit.document_changes
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document == lsp.OptionalVersionedTextDocumentIdentifier(
        uri=path.as_uri(), version=1
    )
    assert list(change.edits) == [lsp.TextEdit(range=_lr_range(), new_text="learning_rate")]

    fixed = _apply(OLD_ADAM, list(change.edits))  # type: ignore[arg-type]
    assert "Adam(learning_rate=0.01)" in fixed
    assert await _change(vscode, path, fixed, version=2) == []
    assert await _quick_fixes(vscode, path, [lsp.Diagnostic(range=_lr_range(), message="")]) == []


@pytest.mark.asyncio
async def test_a_code_action_right_after_a_change_sees_the_new_text(
    vscode: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "train.py"
    await _open(vscode, path, OLD_ADAM)
    _send_change(vscode, path, "\n" + OLD_ADAM, version=2)  # every line one further down
    lr = _lr_range()
    moved = lsp.Range(
        start=lsp.Position(line=6, character=lr.start.character),
        end=lsp.Position(line=6, character=lr.end.character),
    )
    [action] = await _quick_fixes(vscode, path, [lsp.Diagnostic(range=moved, message="")])
    assert action.edit is not None and action.edit.document_changes is not None
    [change] = action.edit.document_changes
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.version == 2
    assert list(change.edits) == [lsp.TextEdit(range=moved, new_text="learning_rate")]


@pytest.mark.asyncio
async def test_quick_fix_without_versioned_edits(neovim: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    diagnostics = await _open(neovim, path, OLD_ADAM)
    [action] = await _quick_fixes(neovim, path, diagnostics)
    assert action.edit is not None and action.edit.document_changes is None
    assert action.edit.changes is not None
    assert list(action.edit.changes) == [path.as_uri()]
    edits = list(action.edit.changes[path.as_uri()])
    assert edits == [lsp.TextEdit(range=_lr_range(), new_text="learning_rate")]


@pytest.mark.asyncio
async def test_close_clears_the_diagnostics(vscode: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    assert await _open(vscode, path, BUG)
    vscode.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=path.as_uri()))
    )
    assert await _published(vscode, path.as_uri()) == []


def test_every_rule_link_points_at_its_heading_in_docs_rules_md() -> None:
    doc = (ROOT / "docs" / "rules.md").read_text()
    # GitHub's anchor for a heading: lower case, punctuation but '-' dropped, spaces -> '-'.
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^## (.+)$", doc, re.MULTILINE)
    }
    for rule in all_rules():
        url = rule_url(rule.code)
        assert url is not None and url.split("#")[1] in anchors, rule.code


def _probe(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_the_stdio_flag_some_clients_add_is_accepted() -> None:
    assert build_parser().parse_args([*COMMAND[1:], "--stdio"]).command == "lsp"


def test_without_pygls_the_command_exits_2_with_an_install_hint() -> None:
    result = _probe(
        "import sys; sys.modules['pygls'] = None;"
        "from kerascheck.cli import main; sys.exit(main(['lsp']))"
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kerascheck: error: the language server needs pygls: pip install 'kerascheck[lsp]'"
    ]


def test_the_server_imports_the_engine_lazily_and_check_never_imports_pygls() -> None:
    lazy = _probe("import sys, kerascheck.lsp; assert 'libcst' not in sys.modules")
    assert lazy.returncode == 0, lazy.stderr
    check = _probe(
        "import sys; from kerascheck.cli import main; main(['rules']);"
        "assert 'pygls' not in sys.modules"
    )
    assert check.returncode == 0, check.stderr


# ----------------------------------------------------------------------------- notebooks
NOTEBOOK_CELLS = (
    ("markdown", "# Training\n"),
    ("python", "%matplotlib inline\nfrom keras.layers import Dense\nimport keras\n"),
    ("python", "m = keras.Sequential([Dense(1, activation='softmax')])\n"),
    ("python", "m.compile(loss='mse', optimizer=keras.optimizers.Adam(lr=0.01))\n"),
)


NOTEBOOK = Path("/project/train.ipynb")  # never read: the editor sends the cells


def _cell_uri(path: Path, index: int) -> str:
    return f"vscode-notebook-cell:{path}#cell{index}"


@pytest_lsp.fixture(config=CONFIG)
async def vscode_notebooks(lsp_client: LanguageClient):
    """VS Code's capabilities plus notebook synchronisation (the capability set pytest-lsp
    records predates it; VS Code announces it since LSP 3.17)."""
    capabilities = client_capabilities("visual-studio-code")
    capabilities.notebook_document = lsp.NotebookDocumentClientCapabilities(
        synchronization=lsp.NotebookDocumentSyncClientCapabilities()
    )
    result = await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    assert result.capabilities.notebook_document_sync is not None
    yield
    await lsp_client.shutdown_session()


async def _published_cells(client: LanguageClient, *indexes: int) -> dict[int, list]:
    """The diagnostics published for these cells since the last call (waits for them all:
    a notebook's cells are published in one burst)."""
    uris = {index: _cell_uri(NOTEBOOK, index) for index in indexes}

    async def all_published() -> None:
        while not all(uri in client.diagnostics for uri in uris.values()):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_published(), timeout=30)
    return {index: list(client.diagnostics.pop(uri)) for index, uri in uris.items()}


def _open_notebook(client: LanguageClient, path: Path) -> None:
    cells, documents = [], []
    for index, (language, text) in enumerate(NOTEBOOK_CELLS):
        kind = lsp.NotebookCellKind.Markup if language == "markdown" else lsp.NotebookCellKind.Code
        cells.append(lsp.NotebookCell(kind=kind, document=_cell_uri(path, index)))
        documents.append(
            lsp.TextDocumentItem(
                uri=_cell_uri(path, index), language_id=language, version=1, text=text
            )
        )
    client.notebook_document_did_open(
        lsp.DidOpenNotebookDocumentParams(
            notebook_document=lsp.NotebookDocument(
                uri=path.as_uri(), notebook_type="jupyter-notebook", version=1, cells=cells
            ),
            cell_text_documents=documents,
        )
    )


@pytest.mark.asyncio
async def test_a_notebook_is_linted_as_one_module_with_diagnostics_in_their_cells(
    vscode_notebooks: LanguageClient,
) -> None:
    """The cells see each other's imports (cell 2 uses cell 1's Dense), a magic does not
    break the parse, each diagnostic is in its cell's own coordinates, and the markdown
    cell is left alone."""
    client = vscode_notebooks
    _open_notebook(client, NOTEBOOK)
    published = await _published_cells(client, 1, 2, 3)
    assert published[1] == []
    start = NOTEBOOK_CELLS[2][1].index("'softmax'")
    softmax = lsp.Range(
        start=lsp.Position(line=0, character=start),
        end=lsp.Position(line=0, character=start + len("'softmax'")),
    )
    assert [(d.code, d.range) for d in published[2]] == [("KC101", softmax)]
    assert [d.code for d in published[3]] == ["KC201"]
    assert _cell_uri(NOTEBOOK, 0) not in client.diagnostics

    fixed = NOTEBOOK_CELLS[2][1].replace("'softmax'", "'linear'")
    client.notebook_document_did_change(
        lsp.DidChangeNotebookDocumentParams(
            notebook_document=lsp.VersionedNotebookDocumentIdentifier(
                version=2, uri=NOTEBOOK.as_uri()
            ),
            change=lsp.NotebookDocumentChangeEvent(
                cells=lsp.NotebookDocumentCellChanges(
                    text_content=[
                        lsp.NotebookDocumentCellContentChanges(
                            document=lsp.VersionedTextDocumentIdentifier(
                                uri=_cell_uri(NOTEBOOK, 2), version=2
                            ),
                            changes=[lsp.TextDocumentContentChangeWholeDocument(text=fixed)],
                        )
                    ]
                )
            ),
        )
    )
    published = await _published_cells(client, 1, 2, 3)
    assert (published[1], published[2]) == ([], [])
    assert [d.code for d in published[3]] == ["KC201"]

    client.notebook_document_did_close(
        lsp.DidCloseNotebookDocumentParams(
            notebook_document=lsp.NotebookDocumentIdentifier(uri=NOTEBOOK.as_uri()),
            cell_text_documents=[
                lsp.TextDocumentIdentifier(uri=_cell_uri(NOTEBOOK, i)) for i in range(4)
            ],
        )
    )
    assert await _published_cells(client, 1, 2, 3) == {1: [], 2: [], 3: []}


@pytest.mark.asyncio
async def test_a_quick_fix_in_a_notebook_cell_edits_that_cell(
    vscode_notebooks: LanguageClient,
) -> None:
    lsp_client = vscode_notebooks
    _open_notebook(lsp_client, NOTEBOOK)
    [lr] = (await _published_cells(lsp_client, 1, 2, 3))[3]
    actions = await lsp_client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=_cell_uri(NOTEBOOK, 3)),
            range=lr.range,
            context=lsp.CodeActionContext(diagnostics=[lr]),
        )
    )
    [action] = [a for a in actions or () if isinstance(a, lsp.CodeAction)]
    assert action.edit is not None and action.edit.document_changes is not None
    [change] = action.edit.document_changes
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document == lsp.OptionalVersionedTextDocumentIdentifier(
        uri=_cell_uri(NOTEBOOK, 3), version=1
    )
    column = NOTEBOOK_CELLS[3][1].index("lr=")
    assert list(change.edits) == [
        lsp.TextEdit(
            range=lsp.Range(
                start=lsp.Position(line=0, character=column),
                end=lsp.Position(line=0, character=column + 2),
            ),
            new_text="learning_rate",
        )
    ]
