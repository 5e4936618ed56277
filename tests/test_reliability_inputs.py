"""Reliability (issue #7), one odd input at a time.

Every input is either checked normally or gives exactly one error that names the file and
the reason (line and column for syntax errors). Nothing raises, kills the interpreter or
hangs, and the other files of the run are still checked. docs/reliability.md lists the
invariants and which test holds each.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck import nesting
from kerascheck.engine import FileError, FileResult, Options, Report, lint_file, lint_source
from kerascheck.fix import fix_file
from kerascheck.report import json_report, text
from kerascheck.source import SourceError, read_bytes

ROOT = Path(__file__).resolve().parent.parent
JSON = ("--format", "json")
FIXTURES = ROOT / "fixtures"

# Findings at several columns, one on line 1 (where a BOM would shift them) and some
# inside indented blocks (where tabs would).
LEGACY = """\
from keras.layers.core import Dense
from keras.optimizers import Adam


def build():
    if True:
        opt = Adam(lr=0.01)  # tuned
        layer = Dense(output_dim=10, init='he_normal')
    return opt, layer
"""
LEGACY_AT = [("KC202", 1, 6), ("KC201", 7, 20), ("KC201", 8, 23), ("KC201", 8, 38)]


def positions(result: FileResult) -> list[tuple[str, int, int]]:
    assert not result.errors, result.errors
    return [(f.code, f.span.line, f.span.col) for f in result.findings]


def only_error(result: FileResult) -> FileError:
    """The input's single error: it names the file and says something."""
    assert not result.findings, result.findings
    assert len(result.errors) == 1, result.errors
    (error,) = result.errors
    assert error.path == result.path and error.message.strip()
    return error


def lint_bytes(tmp_path: Path, name: str, data: bytes) -> FileResult:
    path = tmp_path / name
    path.write_bytes(data)
    return lint_file(str(path), Options())


def python_position(source: str) -> tuple[int, int]:
    with pytest.raises(SyntaxError) as raised:
        ast.parse(source)
    assert raised.value.lineno is not None
    return raised.value.lineno, raised.value.offset or 1


def test_the_reference_snippet_has_its_findings() -> None:
    assert positions(lint_source(LEGACY, "m.py", Options())) == LEGACY_AT


# ------------------------------------------------------------------ syntax errors


SYNTAX_ERRORS = [
    # (source, what the message says, line, column): Python's own message and position.
    ('import keras\nprint "x"\n', "Missing parentheses in call to 'print'", 2, 1),
    ("import keras\nexec 'x = 1'\n", "Missing parentheses in call to 'exec'", 2, 1),
    ("import keras\nx = 0777\n", "leading zeros", 2, 5),
    ("import keras\nif True\n    pass\n", "expected ':'", 2, 8),
    ("import keras\nx = (1,\n", "'(' was never closed", 2, 5),
    (
        "import keras\nm = keras.Sequential([\n    keras.layers.Dense(10,\n])\n",
        "closing parenthesis ']' does not match opening parenthesis '('",
        4,
        1,
    ),
    ("import keras\ndef f():\n    x = 1\n      y = 2\n", "unexpected indent", 4, 6),
    ('import keras\nnom = "café" + )\n', "unmatched ')'", 2, 16),  # columns in characters
    ('import keras\nx = """never closed\n', "unterminated triple-quoted string", 2, 5),
    ("import keras\nx = 1\\", "unexpected EOF", 2, 7),
    ("import keras\nx = 1 \x1b\n", "invalid non-printable character", 2, 7),
]


@pytest.mark.parametrize(("source", "message", "line", "column"), SYNTAX_ERRORS)
def test_syntax_errors_are_one_error_at_pythons_position(
    source: str, message: str, line: int, column: int
) -> None:
    error = only_error(lint_source(source, "bad.py", Options()))
    assert error.message.startswith("syntax error: ") and message in error.message
    assert (error.line, error.column) == (line, column) == python_position(source)


def test_python2_except_syntax_that_libcst_accepts_is_still_a_syntax_error() -> None:
    # libcst parses `except A, e:`; Python does not. A file with findings is checked
    # against Python's parser too, so it gets the syntax error, not findings.
    source = LEGACY + "try:\n    pass\nexcept Exception, e:\n    pass\n"
    error = only_error(lint_source(source, "py2.py", Options()))
    assert "multiple exception types must be parenthesized" in error.message
    assert (error.line, error.column) == (12, 8) == python_position(source)


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ('b"caf\xe9"', "bytes can only contain ASCII literal characters"),
        ("1" * 5000, "Exceeds the limit (4300 digits)"),
        ('"\\N{NO SUCH NAME}"', "unknown Unicode character name"),
    ],
    ids=["non-ascii-bytes", "5000-digit-int", "bad-name-escape"],
)
def test_literals_that_libcst_parses_and_python_refuses(literal: str, message: str) -> None:
    source = f"import keras\nlayer = keras.layers.Dense(1, name={literal})\n"
    error = only_error(lint_source(source, "lit.py", Options()))
    assert error.message.startswith("syntax error: ") and message in error.message
    assert "internal error" not in error.message
    assert error.line == 2


def test_valid_python_that_libcst_cannot_parse_is_one_clear_error() -> None:
    # 10,000 implicitly concatenated strings: valid, but past libcst's limits.
    source = "import keras\nx = " + ' "a"' * 10_000 + "\n"
    ast.parse(source)
    error = only_error(lint_source(source, "concat.py", Options()))
    assert error.message.startswith("cannot parse: ") and "Python accepts it" in error.message


def test_warnings_as_errors_do_not_turn_valid_code_into_syntax_errors(tmp_path: Path) -> None:
    # Under -W error, ast.parse raises on "\d"; the checks that use it must not.
    (tmp_path / "m.py").write_text(
        'import re\nfrom keras.layers import Dense\nPATTERN = re.compile("\\d+")\n'
        "layer = Dense(output_dim=3)\n" + "x = 1 + 1\n" * 500
    )
    run = subprocess.run(
        [sys.executable, "-W", "error", "-m", "kerascheck", "check", "--isolated", *JSON, "m.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    report = json.loads(run.stdout)
    assert report["errors"] == [] and [f["code"] for f in report["findings"]] == ["KC201"]
    assert run.returncode == 1 and "Traceback" not in run.stderr


# ------------------------------------------------------------------ bytes and text


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("import keras\nx = 1\x00\n", 2, 6),
        ('import keras\nx = "a\x00b"\n', 2, 7),  # inside a string: libcst would take it
        ("\x00import keras\n", 1, 1),
    ],
)
def test_null_bytes_are_one_syntax_error_at_the_byte(source: str, line: int, column: int) -> None:
    error = only_error(lint_source(source, "nul.py", Options()))
    assert "null bytes" in error.message
    assert (error.line, error.column) == (line, column)


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"keras" + bytes(range(128, 256)),
        b"\x7fELF\x02\x01\x01" + b"\xff" * 64 + b"keras",
    ],
    ids=["all-bytes", "png", "elf"],
)
def test_a_binary_file_named_py_is_one_error(tmp_path: Path, data: bytes) -> None:
    error = only_error(lint_bytes(tmp_path, "blob.py", data))
    assert error.message.startswith(("cannot decode", "syntax error"))


def test_a_lone_surrogate_is_one_error_not_a_crash() -> None:
    # What stdin decoded with surrogateescape, or an odd codec, can hand over.
    error = only_error(lint_source('import keras\nx = "\udcff"\n', "s.py", Options()))
    assert error.message.startswith("cannot decode") and (error.line, error.column) == (2, 6)


def test_latin1_with_a_coding_cookie_is_read_in_latin1(tmp_path: Path) -> None:
    # "é" before a finding on the same line: columns count characters, not bytes.
    line = "café = 'é'; layer = Dense(output_dim=10)\n"
    source = "# -*- coding: latin-1 -*-\nfrom keras.layers import Dense\n" + line
    latin = lint_bytes(tmp_path, "latin.py", source.encode("latin-1"))
    utf8 = lint_bytes(tmp_path, "utf8.py", source.replace("latin-1", "utf-8").encode())
    assert positions(latin) == positions(utf8) == [("KC201", 3, 27)]


def test_a_wrong_coding_cookie_is_one_error(tmp_path: Path) -> None:
    error = only_error(lint_bytes(tmp_path, "c.py", b"# coding: klingon\nimport keras\n"))
    assert error.message.startswith("cannot decode")
    ascii_only = b"# coding: ascii\nimport keras\nx = '\xc3\xa9'\n"
    assert only_error(lint_bytes(tmp_path, "a.py", ascii_only)).message.startswith("cannot decode")


def test_a_utf8_bom_does_not_shift_positions(tmp_path: Path) -> None:
    result = lint_bytes(tmp_path, "bom.py", b"\xef\xbb\xbf" + LEGACY.encode())
    assert positions(result) == LEGACY_AT


def test_a_second_bom_is_pythons_syntax_error_and_fix_leaves_the_file(tmp_path: Path) -> None:
    # The codec takes one BOM off; the second is text, which Python refuses. Stripping it
    # too once made --fix write the file back with one BOM, under a cookie that then lied.
    data = b"\xef\xbb\xbf\xef\xbb\xbf# coding: ascii\n" + LEGACY.encode()
    error = only_error(lint_bytes(tmp_path, "two.py", data))
    assert "invalid non-printable character U+FEFF" in error.message
    assert (error.line, error.column) == (1, 1)
    fix_file(str(tmp_path / "two.py"), Options(), unsafe=True, write=True)
    assert (tmp_path / "two.py").read_bytes() == data


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_other_line_endings_give_the_same_positions(tmp_path: Path, newline: str) -> None:
    result = lint_bytes(tmp_path, "eol.py", LEGACY.replace("\n", newline).encode())
    assert positions(result) == LEGACY_AT


def test_tabs_give_the_same_lines_and_columns_in_characters(tmp_path: Path) -> None:
    tabbed = LEGACY.replace("        ", "\t\t").replace("    ", "\t")
    result = lint_bytes(tmp_path, "tabs.py", tabbed.encode())
    found = positions(result)
    assert [(c, line) for c, line, _ in found] == [(c, line) for c, line, _ in LEGACY_AT]
    # Each column points at the same text as in the space-indented file.
    spaced, tabs = LEGACY.splitlines(), tabbed.splitlines()
    for (_, line, col), (_, _, space_col) in zip(found, LEGACY_AT, strict=True):
        assert tabs[line - 1][col - 1 :] == spaced[line - 1][space_col - 1 :]


def test_inconsistent_tabs_are_a_syntax_error() -> None:
    source = "import keras\nif True:\n\tx = 1\n        y = 2\n"
    error = only_error(lint_source(source, "mixed.py", Options()))
    assert "inconsistent use of tabs" in error.message
    assert (error.line, error.column) == (4, 1)


@pytest.mark.parametrize(
    "data", [b"", b"\n\n\n", b"# keras\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf# keras", b"import keras"]
)
def test_empty_and_near_empty_files_are_clean(tmp_path: Path, data: bytes) -> None:
    result = lint_bytes(tmp_path, "empty.py", data)
    assert result.errors == () and result.findings == ()


# ------------------------------------------------------------------ size


def test_a_ten_thousand_line_file(tmp_path: Path) -> None:
    # One statement in ten: positions for a file with findings cost a libcst metadata pass
    # (seconds on 5,000 statements), and the point here is line counting, not speed.
    filler = "".join(
        f"print('step', {i})\n" if i % 10 == 0 else f"# step {i}\n" for i in range(10_000 - 3)
    )
    source = "from keras.layers import Dense\n" + filler + "layer = Dense(output_dim=3)\n"
    result = lint_bytes(tmp_path, "long.py", source.encode())
    assert positions(result) == [("KC201", 9_999, 15)]


def test_a_two_megabyte_single_line(tmp_path: Path) -> None:
    line = 'x = "' + "a" * 2_000_000 + '"; layer = keras.layers.Dense(output_dim=3)\n'
    result = lint_bytes(tmp_path, "wide.py", b"import keras\n" + line.encode())
    column = line.index("output_dim") + 1
    assert positions(result) == [("KC201", 2, column)]
    # Every report renders it (the text report quotes the line in a code frame).
    report = Report([result])
    assert f"wide.py:2:{column}: KC201" in text.render_plain(report)
    assert json.loads(json_report.render(report))["findings"][0]["column"] == column


def test_a_source_beyond_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"x" * 17)
    assert read_bytes(str(path), limit=17) == b"x" * 17
    with pytest.raises(SourceError, match="too large"):
        read_bytes(str(path), limit=16)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_an_endless_device_is_refused_not_read_forever() -> None:
    error = only_error(lint_file("/dev/zero", Options()))
    assert error.message.startswith("too large")


# ------------------------------------------------------------------ deep nesting


def _deep(body: str) -> str:
    return f"import keras\nx = {body}\n"


DEEP = {
    # Each of these killed the interpreter (libcst's native parser overflowing the C
    # stack) or took minutes, before the nesting guard.
    "parens_1000": _deep("(" * 1000 + "1" + ")" * 1000),
    "lists_1000": _deep("[" * 1000 + "]" * 1000),
    "calls_1000": _deep("f(" * 1000 + ")" * 1000),
    "dicts_1000": _deep("{'a': " * 1000 + "1" + "}" * 1000),
    "binop_3000": _deep(" + ".join(["1"] * 3000)),
    "binop_in_parens_3000": _deep("(\n" + " +\n".join(["x"] * 3000) + ")"),
    "subscripts_5000": _deep("a" + "[0]" * 5000),
    "attributes_10000": _deep("a" + ".b" * 10_000),
    "unary_10000": _deep("-" * 10_000 + "1"),
    "not_10000": _deep("not " * 10_000 + "x"),
    "and_10000": _deep(" and ".join(["x"] * 10_000)),
    "lambda_5000": _deep("lambda: " * 5000 + "1"),
    "power_5000": _deep("**".join(["2"] * 5000)),
    "elif_10000": "import keras\nif x:\n    pass\n" + "elif x:\n    pass\n" * 10_000,
}
# Both parsers refuse more than 100 levels of indentation, so the screen need not look.
INDENT_150 = "import keras\n" + "".join(" " * i + "if x:\n" for i in range(150)) + "  pass\n"


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    """One CLI run, in a child process with a timeout, over every deep input plus a
    normal file: a crash of the parser would kill that child, not the test session."""
    folder = tmp_path_factory.mktemp("deep")
    for name, source in [*DEEP.items(), ("indent_150", INDENT_150)]:
        (folder / f"{name}.py").write_text(source)
    (folder / "shallow.py").write_text(_deep("[" * 50 + "]" * 50) + LEGACY)
    run = subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", "--isolated", "--no-cache", *JSON, "."],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=180,
        check=False,
    )
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    return run, json.loads(run.stdout)


@pytest.mark.parametrize("name", [*sorted(DEEP), "indent_150"])
def test_deep_nesting_is_one_clear_error(deep_run: tuple, name: str) -> None:
    _, report = deep_run
    errors = [e for e in report["errors"] if e["path"] == f"{name}.py"]
    assert len(errors) == 1, errors
    message = errors[0]["message"]
    assert message.startswith(("too deeply nested", "syntax error: too many levels")), message
    assert not [f for f in report["findings"] if f["path"] == f"{name}.py"]


def test_the_run_goes_on_past_deep_files(deep_run: tuple) -> None:
    _, report = deep_run
    shallow = [(f["code"], f["line"]) for f in report["findings"] if f["path"] == "shallow.py"]
    assert shallow == [(code, line + 2) for code, line, _ in LEGACY_AT]
    assert report["summary"]["errors"] == len(DEEP) + 1


def test_deep_brackets_are_placed_where_python_places_them() -> None:
    error = only_error(lint_source(DEEP["parens_1000"], "p.py", Options()))
    assert error.message == "too deeply nested to parse: too many nested parentheses"
    assert (error.line, error.column) == (2, 205) == python_position(DEEP["parens_1000"])


def test_nesting_that_python_accepts_is_refused_with_a_position() -> None:
    # Python builds this tree; libcst would nest the 10,000 `and`s and crash.
    error = only_error(lint_source(DEEP["and_10000"], "and.py", Options()))
    assert error.message == f"too deeply nested to parse (more than {nesting.MAX_DEPTH} levels)"
    assert (error.line, error.column) == (2, 5)


def test_the_nesting_screen_passes_every_fixture_and_catches_every_deep_input() -> None:
    for path in sorted(FIXTURES.rglob("*.py")):
        assert not nesting.might_be_deep(path.read_text()), path
    for name, source in DEEP.items():
        assert nesting.might_be_deep(source), name


# ------------------------------------------------------------------ paths


def _report(run: subprocess.CompletedProcess) -> dict:
    assert "Traceback" not in run.stderr, run.stderr
    return json.loads(run.stdout)


def test_named_unreadable_paths_are_one_error_each_and_the_rest_is_checked(
    tmp_path: Path,
) -> None:
    (tmp_path / "loop.py").symlink_to("loop.py")
    (tmp_path / "dangling.py").symlink_to("missing.py")
    (tmp_path / "model.py").write_text(LEGACY)
    run = run_check(tmp_path, "--isolated", "--format", "json", "loop.py", "dangling.py")
    report = _report(run)
    assert [(e["path"], e["message"]) for e in report["errors"]] == [
        ("loop.py", "cannot read: Too many levels of symbolic links"),
        ("dangling.py", "cannot read: No such file or directory"),
    ]
    assert run.returncode == 2
    run = run_check(tmp_path, "--isolated", "--format", "json", "loop.py", "model.py")
    report = _report(run)
    assert len(report["errors"]) == 1 and len(report["findings"]) == len(LEGACY_AT)
    assert run.returncode == 2


def test_broken_symlinks_met_while_walking_are_skipped(tmp_path: Path) -> None:
    # A walk skips what is not a file: symlink loops, dangling links (an Emacs lock file
    # `.#model.py` is one), FIFOs and sockets. Named explicitly they are reported.
    (tmp_path / "loop.py").symlink_to("loop.py")
    (tmp_path / ".#model.py").symlink_to("user@host.1234:1700000000")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "model.py").write_text(LEGACY)
    run = run_check(tmp_path, "--isolated", "--format", "json", ".")
    report = _report(run)
    assert report["errors"] == [] and {f["path"] for f in report["findings"]} == {"model.py"}
    assert run.returncode == 1


def test_a_file_that_vanishes_before_it_is_read(tmp_path: Path) -> None:
    # What a directory entry deleted between discovery and reading looks like.
    error = only_error(lint_file(str(tmp_path / "gone.py"), Options()))
    assert error.message == "cannot read: No such file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text(LEGACY)
    path.chmod(0)
    try:
        error = only_error(lint_file(str(path), Options()))
    finally:
        path.chmod(0o600)
    assert error.message == "cannot read: Permission denied"


def test_a_fifo_named_on_the_command_line_does_not_hang(tmp_path: Path) -> None:
    # Nobody writes to it: it reads as an empty file instead of blocking forever.
    os.mkfifo(tmp_path / "pipe.py")
    run = subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", "--isolated", *JSON, "pipe.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    report = _report(run)
    assert report["errors"] == [] and run.returncode == 0


def test_a_directory_named_like_a_source_file_is_walked(tmp_path: Path) -> None:
    (tmp_path / "x.py").mkdir()
    (tmp_path / "x.py" / "model.py").write_text(LEGACY)
    for target in ("x.py", "."):
        run = run_check(tmp_path, "--isolated", "--format", "json", target)
        report = _report(run)
        assert report["errors"] == [] and len(report["findings"]) == len(LEGACY_AT)
    assert "Is a directory" in only_error(lint_file(str(tmp_path / "x.py"), Options())).message


# ------------------------------------------------------------------ stdin


def _stdin_check(tmp_path: Path, data: bytes, *args: str) -> subprocess.CompletedProcess:
    # A strict UTF-8 stdin (what a UTF-8 locale gives) used to raise UnicodeDecodeError.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", "--isolated", *args, "-"],
        input=data,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )


def test_undecodable_stdin_is_one_error(tmp_path: Path) -> None:
    run = _stdin_check(tmp_path, b'import keras\nx = "\xff"\n', "--format", "json")
    assert b"Traceback" not in run.stderr and run.returncode == 2
    (error,) = json.loads(run.stdout)["errors"]
    assert error["path"] == "<stdin>" and error["message"].startswith("cannot decode")


def test_stdin_fix_gives_back_the_buffer_in_its_own_encoding(tmp_path: Path) -> None:
    latin = "# coding: latin-1\nfrom keras.layers import Dense\ncafé = Dense(output_dim=1)\n"
    run = _stdin_check(tmp_path, latin.encode("latin-1"), "--fix")
    assert run.stdout == latin.replace("output_dim", "units").encode("latin-1")
    assert run.returncode == 0
    undecodable = b'import keras\nx = "\xff"\n'
    run = _stdin_check(tmp_path, undecodable, "--fix")
    assert run.stdout == undecodable and run.returncode == 2  # unchanged, byte for byte
    assert b"cannot decode" in run.stderr and b"Traceback" not in run.stderr


# ------------------------------------------------------------------ notebooks


def _notebook(tmp_path: Path, text: str) -> FileResult:
    path = tmp_path / "nb.ipynb"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return lint_file(str(path), Options())


def _cells(*sources: str) -> str:
    cells = [{"cell_type": "markdown", "source": "# title"}]
    cells += [{"cell_type": "code", "source": s} for s in sources]
    return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "invalid notebook: JSON nested too deeply"),
        ('{"cells": [' + "1" * 5000 + "]}", "invalid notebook: Exceeds the limit"),
        ('{"worksheets": 3}', "invalid notebook: 'worksheets' is not a list"),
        ('{"worksheets": [{"cells": 3}]}', "invalid notebook: 'worksheets' is not a list"),
        ('{"cells": [{"cell_type": "code", "source": [1, null]}]}', "has no source text"),
        ("\ufeff", "invalid notebook: not JSON"),
    ],
    ids=["deep-json", "huge-number", "worksheets-int", "worksheet-cells-int", "bad-source", "bom"],
)
def test_malformed_notebooks_are_one_error(tmp_path: Path, text: str, message: str) -> None:
    error = only_error(_notebook(tmp_path, text))
    assert message in error.message


@pytest.mark.parametrize(
    ("code", "message", "line"),
    [
        ("import keras\nx = " + "(" * 1000 + ")" * 1000, "too many nested parentheses", 2),
        ("import keras\nx = 1\x00", "null bytes", 2),
        ('import keras\nx = "\udcff"', "cannot decode", 2),
    ],
    ids=["deep", "null", "surrogate"],
)
def test_bad_code_in_a_notebook_cell_is_one_error_in_that_cell(
    tmp_path: Path, code: str, message: str, line: int
) -> None:
    error = only_error(_notebook(tmp_path, _cells("print(1)", code)))
    assert message in error.message and (error.cell, error.line) == (3, line)


# ------------------------------------------------------------------ output


def test_text_from_the_file_cannot_drive_the_terminal_or_forge_output(tmp_path: Path) -> None:
    # Escapes in a string, a loss name and a file name; a newline that would forge a line.
    (tmp_path / "m\x1b[2J.py").write_text(
        "import keras\n"
        'title = "\\x1b]0;pwned\\x07"; model = keras.Sequential([keras.layers.Dense(1)])\n'
        'model.compile(loss="categorical_crossentr\\x1b[2Jopy\\nfake.py:1:1: KC101 forged")\n'
        'x = "\x1b[31m\u202e"; layer = keras.layers.Dense(output_dim=1)\n'
    )
    outputs = {}
    for fmt in ("text", "concise", "github"):
        run = run_check(tmp_path, "--isolated", "--format", fmt, ".")
        assert run.returncode == 1, run.stderr
        outputs[fmt] = run.stdout
    for fmt in ("text", "concise"):  # for terminals; github names the real file, for GitHub
        assert "\x1b" not in outputs[fmt] and "\u202e" not in outputs[fmt], fmt
    assert len(outputs["github"].splitlines()) == 2  # its own escaping keeps the newline in
    concise = outputs["concise"].splitlines()
    assert len(concise) == 2 and not any(line.startswith("fake.py") for line in concise)
    assert concise[0].startswith("m\\x1b[2J.py:3:20: KC203 unknown loss 'categorical_crossentr")
    # The caret still sits under the reported text, escapes and all.
    frame = outputs["text"].splitlines()
    row = next(i for i, line in enumerate(frame) if line.startswith("4 | "))
    caret = frame[row + 1].index("^") - frame[row].index("x = ")
    assert frame[row][frame[row].index("x = ") :][caret:].startswith("output_dim")


@pytest.mark.parametrize(
    "deep",
    [
        " + ".join(["1"] * 600),  # one level per term
        "not " * 700 + "x",
        "a" + "[0]" * 800,
    ],
    ids=["sum_600", "not_700", "subscripts_800"],
)
def test_valid_code_hundreds_of_levels_deep_is_analysed(deep: str) -> None:
    """Under the guard's limit the analysis has stack room: the file is checked, not
    refused (it was 'too deeply nested to analyse', exit 2), and its finding is placed."""
    source = (
        "import keras\n"
        f"x = {deep}\n"
        'model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'
    )
    result = lint_source(source, "deep.py", Options())
    assert result.errors == ()
    assert [(f.code, f.span.line) for f in result.findings] == [("KC101", 3)]
