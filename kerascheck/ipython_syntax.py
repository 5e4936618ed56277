"""IPython's syntax in a notebook cell, as the Python IPython runs, line for line.

IPython turns a cell into Python before running it (``IPython/core/inputtransformer2.py``
and, for a one-line cell, automagic): it drops the cell's leading blank lines, a common
indentation and ``>>>`` / ``In [1]:`` prompts, hands a ``%%cell magic`` its whole body as
text, and rewrites escaped lines (``%magic``, ``!shell``, ``!!shell``, ``?obj``, ``obj?``,
the autocall escapes ``,f a`` ``;f a`` ``/f a``) and the assignments ``x = %magic`` and
``x = !shell`` into calls. kerascheck makes the same decisions here, without importing
IPython, and keeps every line where it is: a line IPython leaves as Python is kept byte for
byte (minus the indentation and prompts IPython drops, recorded as a column shift), a
rewritten line becomes IPython's own call on that line (``get_ipython().system('ls')``: an
unknown call to the analysis), and the continuation lines of an escaped command become empty
lines. So a finding keeps its cell, line and column.

Code that IPython hands to a magic as text is analysed where it is Python and runs in the
user's namespace: the body of ``%%time``, ``%%prun``, ``%%capture``, ``%%debug`` and the
statement of ``%time``, ``%prun``, ``%debug`` (``%time x = f()`` reads as ``if 1: x =
f()``, columns unchanged), and ``x = %time expr`` (``%time`` returns the value). ``%%timeit``
and ``%timeit`` run their code in a function of their own: analysed only when it binds no
name. Every other cell magic (``%%bash``, ``%%writefile``, ``%%html``, unknown ones) is not
Python for this kernel: the cell is IPython's ``run_cell_magic`` call and blank lines.

``tests/test_ipython_syntax.py`` checks all of this against IPython's own shell on
generated and real-world-shaped cells.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kerascheck.source import split_lines

# The first line of a cell magic whose body is analysed: nothing, or ``out = ...`` for
# ``%%capture out`` (the analysis treats ``x = ...`` as an unknown value).
NEUTRAL_STATEMENT = "pass"
NEUTRAL_VALUE = "..."

# Cell magics that run their body as Python in the user's namespace (IPython's
# execution.py; ``capture`` runs it as a cell).
_PERSISTENT_CELL_MAGICS = frozenset({"time", "prun", "capture", "debug"})
# Runs its body inside a function of its own: names it binds do not persist.
_SCOPED_CELL_MAGICS = frozenset({"timeit"})
# Line magics whose argument is a statement run in the user's namespace, with the options
# each takes before it (getopt letters, ``:`` after one that takes a value; long options).
_LINE_CODE_MAGICS: Mapping[str, tuple[str, frozenset[str]]] = {
    "time": ("", frozenset({"--no-raise-error"})),
    "prun": ("D:l:rs:T:q", frozenset()),
    "debug": ("", frozenset()),
    "timeit": ("n:r:tcp:qov:", frozenset()),
}
# ``x = %time expr`` binds the value of ``expr``; other magics return something else.
_VALUE_MAGICS = frozenset({"time"})

# The line magics (and shell aliases) of IPython, ipykernel and Colab that automagic runs
# without their ``%``.
_AUTOMAGICS = frozenset(
    [
        "alias",
        "alias_magic",
        "autoawait",
        "autocall",
        "automagic",
        "autosave",
        "bookmark",
        "cat",
        "cd",
        "clear",
        "code_wrap",
        "colors",
        "conda",
        "config",
        "connect_info",
        "cp",
        "debug",
        "dhist",
        "dirs",
        "doctest_mode",
        "ed",
        "edit",
        "env",
        "gui",
        "hist",
        "history",
        "killbgscripts",
        "ldir",
        "less",
        "lf",
        "lk",
        "ll",
        "load",
        "load_ext",
        "loadpy",
        "logoff",
        "logon",
        "logstart",
        "logstate",
        "logstop",
        "ls",
        "lsmagic",
        "lx",
        "macro",
        "magic",
        "mamba",
        "man",
        "matplotlib",
        "micromamba",
        "mkdir",
        "more",
        "mv",
        "notebook",
        "page",
        "pastebin",
        "pdb",
        "pdef",
        "pdoc",
        "pfile",
        "pinfo",
        "pinfo2",
        "pip",
        "popd",
        "pprint",
        "precision",
        "prun",
        "psearch",
        "psource",
        "pushd",
        "pwd",
        "pycat",
        "pylab",
        "qtconsole",
        "quickref",
        "recall",
        "rehashx",
        "reload_ext",
        "rep",
        "rerun",
        "reset",
        "reset_selective",
        "rm",
        "rmdir",
        "run",
        "save",
        "sc",
        "set_env",
        "sx",
        "system",
        "tb",
        "tensorflow_version",
        "time",
        "timeit",
        "unalias",
        "unload_ext",
        "uv",
        "who",
        "who_ls",
        "whos",
        "xdel",
        "xmode",
    ]
)
_AUTOMAGIC = re.compile(r"(\s*)([\w.*]+)(.*)$")
_ESCAPES = frozenset("!?%,;/")
_AUTOCALLS = frozenset(",;/")
# IPython stops rewriting a cell after this many rounds.
_MAX_ROUNDS = 500

# IPython's ``obj?`` / ``obj??`` target: a dotted name, ``[literal int]`` subscripts and
# ``*`` wildcards, ending the line (inputtransformer2's ``_help_end_re``).
_HELP_END = re.compile(r"(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$")
_CELL_MAGIC_HELP = re.compile(r"%%\w+\?")
_STRING_PREFIX = re.compile(r"(?i)^[rubf]*$")

# Prompts IPython strips from pasted sessions (its ``classic_prompt`` in doctest mode and
# ``ipython_prompt``).
_DOCTEST_FIRST = re.compile(r"^\s*>>>")
_DOCTEST_PS1 = re.compile(r"^\s*>>>[ \t]?")
_DOCTEST_PS2 = re.compile(r"^\s*\.\.\.[ \t]?")
_TRIPLE_QUOTE = re.compile(r"(?<!\\)(\"\"\"|''')")
_IPYTHON_PROMPT = re.compile(
    r"^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)",
)

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\f]+)
  | (?P<comment>\#.*)
  | (?P<string>(?:[rRbBfFuUtT]|[rR][bBfFtT]|[bBfFtT][rR])?(?:'''|\"\"\"|'|\"))
  | (?P<name>[^\W\d]\w*)
  | (?P<number>\.?\d(?:[eE][+-]|[\w.])*)
  | (?P<op>\*\*=|//=|>>=|<<=|\.\.\.|->|:=|[-+*/%&|^@<>=!]=|\*\*|//|<<|>>|.)
    """,
    re.VERBOSE,
)
# Anything IPython may rewrite: an escape character, a prompt, an autocall escape starting a
# line, a whitespace-only line (IPython's dedent empties it).
_SCREEN = re.compile(r"[%!?]|>>>|In \[|\.\.\.:|^[ \t]*[,;/]|^[ \t]+$", re.MULTILINE)
_INDENTED_START = re.compile(r"(?:[ \t\f]*(?:\r\n?|\n))*[ \t]+\S")
_MAGIC_NAME = re.compile(r"%(\w+)")
_WORD = re.compile(r" *(\S+)")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")


@dataclass(frozen=True)
class CellCode:
    """A cell as Python: one line per line of the cell.

    ``moved`` maps a line (0-based) whose text differs from the cell's to ``(start,
    shift)``: a column ``c >= start`` (0-based) of the Python line is column ``c + shift``
    of the cell's line; columns before ``start`` are kerascheck's own text, not the user's.
    """

    lines: tuple[str, ...]
    moved: Mapping[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def column(self, line: int, column: int) -> int | None:
        """The cell's 0-based column for ``column`` of 0-based ``line``; None when that
        column holds text kerascheck wrote, not the user."""
        start, shift = self.moved.get(line, (0, 0))
        return column + shift if column >= start else None


@dataclass(frozen=True)
class _Token:
    kind: str  # space, comment, string, name, number, op, error
    text: str
    line: int
    col: int


@dataclass
class _Lines:
    """The cell's lines as they are being rewritten, with each line's (start, shift)."""

    text: list[str]
    moved: dict[int, tuple[int, int]]

    def strip_prefix(self, index: int, new: str) -> None:
        """Line ``index`` loses a prefix (a margin, a prompt): its columns shift."""
        old = self.text[index]
        removed = len(old) - len(new)
        if removed:
            start, shift = self.moved.get(index, (0, 0))
            self.moved[index] = (start, shift + removed)
            self.text[index] = new

    def replace(self, index: int, new: str, keep_from: int | None) -> None:
        """Line ``index`` rewritten; its columns from ``keep_from`` on are the user's own
        (None: none are)."""
        old_start, shift = self.moved.get(index, (0, 0))
        start = len(new) + 1 if keep_from is None else max(keep_from, old_start)
        self.moved[index] = (start, shift)
        self.text[index] = new


def python_cell(text: str) -> CellCode:
    """The Python that IPython would run for cell ``text``, line for line."""
    lines = _Lines(split_lines(text), {})
    start = _first_code_line(lines.text, 0)  # IPython drops the blank lines before it
    if _may_have_ipython_syntax(text):
        _transform(lines, 0)
    if start is not None:
        _automagic(lines, start)
    moved = {index: place for index, place in lines.moved.items() if place != (0, 0)}
    return CellCode(tuple(lines.text), moved)


def _automagic(lines: _Lines, start: int) -> None:
    """IPython runs a cell that its transformations leave as one line, starting with a
    magic's name, as that magic (``pip install keras``, ``ls data/``: automagic, on by
    default) unless an assignment follows or a variable of that name hides it; here only
    when the line is not Python anyway."""
    for index in range(start + 1, len(lines.text)):
        if lines.text[index] or not lines.moved.get(index, (0, 0))[0]:
            return  # IPython's cell has more than one line (not only lines it joined)
    line = lines.text[start]
    match = _AUTOMAGIC.match(line)
    if match is None or match.group(2) not in _AUTOMAGICS:
        return
    arguments = match.group(3).lstrip()
    if arguments[:1] in {"=", ","} or _parse(line + "\n") is not None:
        return
    call = f"get_ipython().run_line_magic({match.group(2)!r}, {arguments!r})"
    lines.replace(start, match.group(1) + call, None)


def _may_have_ipython_syntax(text: str) -> bool:
    """Cheap screen: False when none of IPython's transformations can apply."""
    # A common indentation, which IPython removes, starts at the first non-blank line.
    return bool(_SCREEN.search(text) or _INDENTED_START.match(text))


def _transform(lines: _Lines, first: int) -> None:
    """IPython's transformation of the cell formed by ``lines.text[first:]``, in place."""
    start = _first_code_line(lines.text, first)
    if start is None:  # blank: IPython's dedent still empties whitespace-only lines
        _dedent(lines, range(first, len(lines.text)))
        return
    _cleanup(lines, start)
    head = lines.text[start]
    if head.startswith("%%") and not _CELL_MAGIC_HELP.match(head):
        _cell_magic(lines, start)
        return
    _escapes(lines, start, len(lines.text))


def _first_code_line(text: list[str], first: int) -> int | None:
    """IPython drops the cell's leading blank lines (``leading_empty_lines``)."""
    for index in range(first, len(text)):
        if text[index] and not text[index].isspace():
            return index
    return None


# --------------------------------------------------------------------------- cleanup
def _cleanup(lines: _Lines, start: int) -> None:
    """A common indentation and pasted prompts go, as in IPython's cleanup transforms."""
    _dedent(lines, range(start, len(lines.text)))
    _strip_doctest_prompts(lines, start)
    _strip_ipython_prompts(lines, start)


def _dedent(lines: _Lines, indices: range) -> None:
    """``textwrap.dedent`` over these lines (whitespace-only lines become empty)."""
    if not indices:
        return
    block = "\n".join(lines.text[i] for i in indices) + "\n"
    for index, new in zip(indices, textwrap.dedent(block).split("\n"), strict=False):
        lines.strip_prefix(index, new)


def _strip_doctest_prompts(lines: _Lines, start: int) -> None:
    """``>>>`` and ``...`` prompts, once a ``>>>`` stands outside a triple-quoted string;
    each stretch that lost prompts is then dedented."""
    indices = range(start, len(lines.text))
    in_string = _triple_quoted(lines.text[i] for i in indices)
    if not any(
        not inside and _DOCTEST_FIRST.match(lines.text[i])
        for i, inside in zip(indices, in_string, strict=True)
    ):
        return
    stripped: list[bool] = []
    for index, inside in zip(indices, in_string, strict=True):
        line = lines.text[index]
        if not inside:
            prompt = _DOCTEST_PS1.match(line) or _DOCTEST_PS2.match(line)
            if prompt:
                lines.strip_prefix(index, line[prompt.end() :])
        stripped.append(lines.text[index] != line)
    # Runs of lines inside / outside strings; a run outside that lost prompts is dedented.
    run = 0
    while run < len(in_string):
        end = run
        while end < len(in_string) and in_string[end] == in_string[run]:
            end += 1
        if not in_string[run] and any(stripped[run:end]):
            _dedent(lines, range(start + run, start + end))
        run = end


def _triple_quoted(text: Iterator[str]) -> list[bool]:
    """Which lines IPython's prompt stripper leaves alone as the inside of a triple-quoted
    string (its heuristic: a string opened by plain text or a bare prefix, not by prompted
    code)."""
    mask: list[bool] = []
    quote: str | None = None
    keep = False
    seen_prompt = False
    for line in text:
        mask.append(quote is not None and keep)
        for match in _TRIPLE_QUOTE.finditer(line):
            if quote is None:
                quote = match.group(1)
                before = line[: match.start()]
                rest = _DOCTEST_PS1.sub("", before, count=1)
                rest = _DOCTEST_PS2.sub("", rest, count=1)
                prompted_code = rest != before and seen_prompt
                keep = not prompted_code and bool(_STRING_PREFIX.match(rest.strip()))
                mask[-1] = keep
            elif quote == match.group(1):
                quote, keep = None, False
        seen_prompt = seen_prompt or bool(_DOCTEST_FIRST.match(line))
    return mask


def _strip_ipython_prompts(lines: _Lines, start: int) -> None:
    """``In [1]:`` and ``...:`` prompts, when the first or second line has one."""
    text = lines.text
    second = start + 1 < len(text) and _IPYTHON_PROMPT.match(text[start + 1])
    if not (_IPYTHON_PROMPT.match(text[start]) or second):
        return
    for index in range(start, len(text)):
        lines.strip_prefix(index, _IPYTHON_PROMPT.sub("", text[index], count=1))


# ----------------------------------------------------------------------- cell magics
def _cell_magic(lines: _Lines, start: int) -> None:
    """``%%name`` on the cell's first line: its body is Python for a few magics."""
    name, _, argument = lines.text[start][2:].rstrip().partition(" ")
    body = start + 1
    # ``%%time stmt`` is refused by the magic: the cell does not run.
    refused = name == "time" and argument.replace("--no-raise-error", "").strip()
    if (name in _PERSISTENT_CELL_MAGICS or name in _SCOPED_CELL_MAGICS) and not refused:
        trial = _Lines(list(lines.text), dict(lines.moved))
        # ``%%capture out`` binds ``out`` to what the cell printed.
        captured = _captured_name(argument) if name == "capture" else None
        head = f"{captured} = {NEUTRAL_VALUE}" if captured else NEUTRAL_STATEMENT
        trial.replace(start, head, None)
        _transform(trial, body)
        code = "\n".join(trial.text[start:]) + "\n"
        tree = _parse(code)
        if tree is not None and (name not in _SCOPED_CELL_MAGICS or not _binds(tree)):
            lines.text[:] = trial.text
            lines.moved.clear()
            lines.moved.update(trial.moved)
            return
    content = "".join(line + "\n" for line in lines.text[body:])
    call = f"get_ipython().run_cell_magic({name!r}, {argument!r}, {content!r})"
    _rewrite(lines, start, call, None, len(lines.text) - 1)


def _captured_name(argument: str) -> str | None:
    words = [word for word in argument.split() if not word.startswith("-")]
    if len(words) == 1 and words[0].isidentifier():
        return words[0]
    return None


def parse_cell(code: str) -> ast.Module:
    """Python's parse of a cell's code, as IPython parses a cell before running it (the
    parser takes a top-level ``await``; only compiling would refuse it outside IPython).
    Raises SyntaxError, ValueError (a null byte), RecursionError or MemoryError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "\d" warns; under -W error it would raise
        return ast.parse(code)


def _parse(code: str) -> ast.Module | None:
    try:
        return parse_cell(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _binds(tree: ast.AST) -> bool:
    """Whether code binds a name (its bindings would not outlive ``%timeit``'s function)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(
            node,
            (
                ast.Import,
                ast.ImportFrom,
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.ClassDef,
                ast.Global,
                ast.Nonlocal,
                ast.ExceptHandler,
                ast.MatchAs,
                ast.MatchStar,
                ast.MatchMapping,
            ),
        ):
            return True
    return False


# ------------------------------------------------------------------- escaped lines
def _escapes(lines: _Lines, start: int, end: int) -> None:
    """IPython's token transformations, one logical line at a time. A line that an
    autocall escape rewrote into a call is read again, as IPython does."""
    index = start
    rounds = 0
    while index < end:
        logical = _logical_line(lines.text, index, end)
        significant = [t for t in logical.tokens if t.kind not in {"comment", "nl"}]
        done = None
        if significant:
            head = significant[0]
            done = _help(lines, logical, head)
            if done is None:
                done = _escaped(lines, head, end)
                if done is not None and head.text in _AUTOCALLS and rounds < _MAX_ROUNDS:
                    rounds += 1
                    index = head.line
                    continue
            if done is None:
                done = _assigned(lines, logical, end)
        index = (logical.last if done is None else done) + 1


@dataclass(frozen=True)
class _Logical:
    """A logical line's tokens as Python's tokenizer groups them for IPython: an ``nl``
    token ends each of its lines inside brackets, and ``terminated`` says whether a
    NEWLINE ends it (not so when the cell ends inside it)."""

    tokens: list[_Token]
    first: int
    last: int
    terminated: bool


def _logical_line(text: list[str], first: int, end: int) -> _Logical:
    """The tokens of the logical line starting at line ``first``: brackets and backslashes
    continue it, as does a string left open at the end of a line (a triple-quoted one, or
    one whose line ends in a backslash)."""
    tokens: list[_Token] = []
    depth = 0
    index = first
    string: _Token | None = None  # a string still open at the end of the previous line
    while index < end:
        line = text[index]
        col = 0
        continued = False
        if string is not None:
            col, still_open = _string_end(line, 0, string.text)
            if still_open:
                index += 1
                continue
            if col < 0:
                # A continued string that this line neither ends nor continues: Python's
                # tokenizer makes it an error token and reads on without a NEWLINE.
                col, continued = len(line), True
            tokens.append(string)
            string = None
        while col < len(line):
            if line[col] == "\\" and col == len(line) - 1:
                continued = True
                break
            match = _TOKEN.match(line, col)
            assert match is not None  # the last alternative matches any character
            kind = match.lastgroup or "op"
            token = match.group()
            col = match.end()
            if kind == "space":
                continue
            if kind == "string":
                quote = token.lstrip("rRbBfFuUtT")
                close, still_open = _string_end(line, col, quote)
                if still_open:
                    string = _Token("string", quote, index, match.start())
                    break
                if close >= 0:
                    tokens.append(
                        _Token("string", line[match.start() : close], index, match.start())
                    )
                    col = close
                    continue
                # An unterminated string, as Python's tokenizer reads it: a prefix is a
                # name, the quote an error token, and the rest of the line is read on.
                prefix = token[: -len(quote)]
                if prefix:
                    tokens.append(_Token("name", prefix, index, match.start()))
                tokens.append(_Token("error", quote, index, col - len(quote)))
                continue
            if kind == "op":
                if token in _OPENERS:
                    depth += 1
                elif token in _CLOSERS:
                    depth -= 1
            tokens.append(_Token(kind, token, index, match.start()))
        if string is None and not continued:
            if depth <= 0:
                return _Logical(tokens, first, index, terminated=True)
            tokens.append(_Token("nl", "", index, len(line)))
        index += 1
    # A string never closed is no token: Python's tokenizer stops before it.
    return _Logical(tokens, first, end - 1, terminated=False)


def _string_end(line: str, col: int, quote: str) -> tuple[int, bool]:
    """``(end, still_open)`` of the string whose contents start at ``col``: ``end`` just
    after its closing quote on this line, or -1; ``still_open`` when it goes on to the next
    line (triple-quoted, or a backslash ends the line)."""
    while col < len(line):
        char = line[col]
        if char == "\\":
            if col == len(line) - 1:
                return -1, True
            col += 2
            continue
        if line.startswith(quote, col):
            return col + len(quote), False
        col += 1
    return -1, len(quote) == 3


def _continued_end(text: list[str], index: int, end: int) -> int:
    """The last line of an escaped command: lines ending in a backslash continue it, inside
    a string or not (IPython's ``find_end_of_continued_line``)."""
    while text[index].endswith("\\") and index + 1 < end:
        index += 1
    return index


def _rewrite(lines: _Lines, line: int, text: str, keep_from: int | None, last: int) -> int:
    """Line ``line`` becomes ``text`` (IPython's call); the lines through ``last`` that the
    command continued on become empty lines, so no line moves."""
    lines.replace(line, text, keep_from)
    for index in range(line + 1, last + 1):
        lines.replace(index, "", None)
    return last


def _help(lines: _Lines, logical: _Logical, head: _Token) -> int | None:
    """``obj?`` / ``obj??`` (also ``x = obj?``): the whole logical line asks for help.
    IPython looks at the token before the line's NEWLINE (or before its last NL when the
    cell ends inside brackets)."""
    tokens = logical.tokens if logical.terminated else logical.tokens[:-1]
    if len(tokens) < 2 or tokens[-1].text != "?" or tokens[-1].kind != "op":
        return None
    question = tokens[-1]
    text = lines.text
    content = "\n".join([text[head.line][head.col :], *text[head.line + 1 : question.line + 1]])
    match = _HELP_END.search(content + "\n")
    if match is None:
        return None
    call = _help_call(match.group(1), match.group(3))
    return _rewrite(lines, head.line, text[head.line][: head.col] + call, None, question.line)


def _help_call(target: str, escape: str) -> str:
    method = "pinfo2" if escape == "??" else "psearch" if "*" in target else "pinfo"
    return f"get_ipython().run_line_magic({method!r}, {target!r})"


def _escaped(lines: _Lines, head: _Token, end: int) -> int | None:
    """A logical line that starts with an escape (``%``, ``!``, ``?``, ``,``, ``;``,
    ``/``): a command through its backslash continuations."""
    if head.kind != "op" or head.text not in _ESCAPES:
        return None
    text = lines.text
    last = _continued_end(text, head.line, end)
    command = _assembled(text, head.line, head.col, last)
    if head.text == "%" and _line_magic_code(lines, head, last):
        return last
    call = _escape_call(command)
    if call is None:
        return None  # IPython leaves it (and Python then rejects the cell)
    return _rewrite(lines, head.line, text[head.line][: head.col] + call, None, last)


def _assembled(text: list[str], line: int, col: int, last: int) -> str:
    """The command as IPython reads it: continued lines joined by spaces."""
    parts = [text[line][col:], *text[line + 1 : last + 1]]
    return " ".join([part.rstrip()[:-1] for part in parts[:-1]] + [parts[-1].rstrip()])


def _escape_call(command: str) -> str | None:
    """IPython's Python for an escaped command; None where IPython gives up (``/`` with
    no name)."""
    escape = command[:2] if command[:2] in {"!!", "??"} else command[:1]
    content = command[len(escape) :]
    name, _, arguments = content.partition(" ")
    if escape == "!":
        return f"get_ipython().system({content!r})"
    if escape == "!!":
        return f"get_ipython().getoutput({content!r})"
    if escape in {"?", "??"}:
        return _help_call(content, escape) if content else "get_ipython().show_usage()"
    if escape == "%":
        return f"get_ipython().run_line_magic({name!r}, {arguments!r})"
    if escape == ",":
        return '{}("{}")'.format(name, '", "'.join(arguments.split()))
    if escape == ";":
        return f'{name}("{arguments}")'
    if name:  # "/"
        return "{}({})".format(name, ", ".join(arguments.split()))
    return None


def _assigned(lines: _Lines, logical: _Logical, end: int) -> int | None:
    """``target = %magic ...`` and ``target = !command``: the first ``=`` outside brackets,
    directly followed by ``%name`` or ``!``."""
    depth = 0
    for position, token in enumerate(logical.tokens):
        if token.kind != "op":
            continue
        if token.text in _OPENERS:
            depth += 1
        elif token.text in _CLOSERS:
            depth = max(depth - 1, 0)
        elif token.text == "=" and depth == 0:
            return _assigned_from(lines, logical, position, end)
    return None


def _assigned_from(lines: _Lines, logical: _Logical, equals: int, end: int) -> int | None:
    tokens = logical.tokens
    following = tokens[equals + 1 : equals + 3]
    if not following or following[0].kind != "op":
        return None
    bang = following[0]
    text = lines.text
    if bang.text == "!":
        if text[tokens[equals].line].strip().startswith("="):
            return None
    elif bang.text != "%" or len(following) < 2 or following[1].kind != "name":
        return None
    last = _continued_end(text, bang.line, end)
    if bang.text == "%" and _value_magic_code(lines, bang, logical.first, last):
        return last
    command = _assembled(text, bang.line, bang.col, last)
    if bang.text == "%":
        name, _, arguments = command[1:].partition(" ")
        call = f"get_ipython().run_line_magic({name!r}, {arguments!r})"
    else:
        call = f"get_ipython().getoutput({command[1:]!r})"
    return _rewrite(lines, bang.line, text[bang.line][: bang.col] + call, 0, last)


# ------------------------------------------------------- code handed to line magics
def _magic_code(line: str, col: int) -> tuple[str, int] | None:
    """``(name, column of the code)`` of the line magic at ``col`` (``%name opts code``),
    for the magics whose argument is a Python statement; None otherwise."""
    match = _MAGIC_NAME.match(line, col)
    if match is None or match.group(1) not in _LINE_CODE_MAGICS:
        return None
    name = match.group(1)
    if match.end() < len(line) and line[match.end()] != " ":
        return None  # IPython splits the name at the first space only
    letters, long_options = _LINE_CODE_MAGICS[name]
    position = match.end()
    while True:
        word = _WORD.match(line, position)
        if word is None:
            return None  # no code: a mode of the magic without a statement
        option = word.group(1)
        if option == "--":
            position = word.end()
            continue
        if option in long_options:
            position = word.end()
            continue
        if len(option) > 1 and option[0] == "-" and option[1] in letters and option[1] != ":":
            takes_value = letters[letters.index(option[1]) + 1 : letters.index(option[1]) + 2]
            position = word.end()
            if takes_value == ":" and len(option) == 2:
                value = _WORD.match(line, position)
                if value is None:
                    return None
                position = value.end()
            continue
        return name, word.start(1)


def _line_magic_code(lines: _Lines, head: _Token, last: int) -> bool:
    """``%time stmt`` (and ``%prun``, ``%debug``, ``%timeit`` binding nothing) read as
    ``if 1: stmt`` in place, the statement's columns unchanged."""
    text = lines.text
    found = _magic_code(text[head.line], head.col)
    if found is None:
        return False
    name, code = found
    if code - head.col < len("if 1: "):
        return False
    prefix = "if 1:" + " " * (code - head.col - len("if 1:"))
    first = text[head.line][: head.col] + prefix + text[head.line][code:]
    snippet = "\n".join([first[head.col :], *text[head.line + 1 : last + 1]]) + "\n"
    tree = _parse(snippet)
    if tree is None or (name == "timeit" and _binds(tree)):
        return False
    lines.replace(head.line, first, code)
    return True


def _value_magic_code(lines: _Lines, bang: _Token, first: int, last: int) -> bool:
    """``x = %time expr``: ``%time`` returns the value of ``expr``, read in place (the
    logical line starts on line ``first``)."""
    text = lines.text
    found = _magic_code(text[bang.line], bang.col)
    if found is None or found[0] not in _VALUE_MAGICS:
        return False
    code = found[1]
    expression = "\n".join([text[bang.line][code:], *text[bang.line + 1 : last + 1]])
    line = text[bang.line]
    rewritten = line[: bang.col] + " " * (code - bang.col) + line[code:]
    statement = [*text[first : bang.line], rewritten, *text[bang.line + 1 : last + 1]]
    indent = len(statement[0]) - len(statement[0].lstrip())
    statement[0] = statement[0][indent:]
    if _parse_expression(expression) is None or _parse("\n".join(statement) + "\n") is None:
        return False
    lines.replace(bang.line, rewritten, 0)
    return True


def _parse_expression(code: str) -> ast.Expression | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(code.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def logical_lines(lines: list[str]) -> Iterator[tuple[int, int, list[tuple[str, str]], bool]]:
    """``(first line, last line, tokens, terminated)`` of each logical line of any text
    (0-based lines; tokens as ``(kind, text)``: name, number, string, op, comment, error,
    nl); tolerant of what Python would reject. ``terminated`` is False for a logical line
    that the text ends inside (an unclosed bracket or string)."""
    index = 0
    while index < len(lines):
        logical = _logical_line(lines, index, len(lines))
        tokens = [(t.kind, t.text) for t in logical.tokens]
        yield logical.first, logical.last, tokens, logical.terminated
        index = logical.last + 1
