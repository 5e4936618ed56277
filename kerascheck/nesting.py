"""A guard against sources nested too deeply for the parser, checked before parsing.

libcst's native parser recurses on the C stack: about 1,200 nested brackets, 3,500 nested
lambdas, 7,000 chained ``and``s or 8,000 unary minuses overflow it and kill the process (a
segfault no ``except`` can catch), and long left-recursive chains (``a[0][0]...``,
``1 + 1 + ...``) take seconds to minutes to parse. CPython's own parser refuses most of
these without crashing ("too many nested parentheses", RecursionError, MemoryError).

So a screen costing about 1% of a parse flags the rare source that could be deep (a long
logical line, deep brackets, many ``elif``s); only those are parsed with ``ast`` first and
measured. Nesting takes at least a character a level and, outside brackets, stays on one
logical line, so a source passing the screen is under 100 brackets and 4,000 other levels
deep: half of what crashes the parser, and a few seconds of parsing at worst.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from kerascheck.source import split_lines

# A logical line this long could hold a chain the parser is slow on (two characters a level).
SCREEN_LENGTH = 4000
# CPython refuses more than 200 nested brackets; libcst crashes from about 1,200.
SCREEN_BRACKETS = 100
# Each ``elif`` nests the next one; libcst crashes somewhere past 3,000.
SCREEN_ELIFS = 300
# Deeper than this (in ast nodes, ``and``/``or`` operands counted as libcst nests them) is
# refused; our own extractor gives up long before, at a few hundred.
MAX_DEPTH = 1000


@dataclass(frozen=True)
class Refusal:
    """Why a source is not handed to the parser, with a position when there is one."""

    message: str
    line: int | None = None
    column: int | None = None


def might_be_deep(source: str) -> bool:
    """Cheap over-approximation: False guarantees no logical line is long enough, and no
    bracket or ``elif`` nesting deep enough, to trouble the parser."""
    openers = source.count("(") + source.count("[") + source.count("{")
    if source.count("elif") >= SCREEN_ELIFS:
        return True
    if len(source) < SCREEN_LENGTH and openers < SCREEN_BRACKETS:
        return False
    depth = 0  # brackets open at the start of the line (those in strings counted too)
    length = 0  # characters in the logical line so far
    for line in source.split("\n"):
        length += len(line) + 1
        opened = line.count("(") + line.count("[") + line.count("{") if openers else 0
        if depth + opened >= SCREEN_BRACKETS or length >= SCREEN_LENGTH:
            return True
        if opened or depth:
            closed = line.count(")") + line.count("]") + line.count("}")
            depth = max(0, depth + opened - closed)
        if not depth and not line.endswith(("\\", "\\\r")):
            length = 0
    return False


def parse_python(source: str) -> ast.Module:
    """``ast.parse`` with warnings silenced: under ``-W error`` an invalid escape sequence
    (``"\\d"``) would otherwise be a SyntaxError in valid code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def python_tree(source: str) -> ast.Module | None:
    """Python's own parse of ``source``, or None when Python rejects it (or gives up)."""
    try:
        return parse_python(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def check(source: str) -> Refusal | None:
    """None when the source is safe to parse, else why not."""
    return refusal(source, None) if might_be_deep(source) else None


def refusal(source: str, tree: ast.Module | None) -> Refusal | None:
    """For a source the screen flagged: None when it is safe to parse, else why not.
    ``tree`` is Python's parse of it when the caller has one (None: parsed here).

    Python's own parser goes first; when it rejects the source, its syntax error is the
    answer (handing that source to libcst is the risk we avoid)."""
    if tree is None:
        try:
            tree = parse_python(source)
        except SyntaxError as error:
            prefix = "too deeply nested to parse" if "too many" in error.msg else "syntax error"
            column = (error.offset or 1) if error.lineno is not None else None
            return Refusal(f"{prefix}: {error.msg}", error.lineno, column)
        except (RecursionError, MemoryError):
            return Refusal("too deeply nested to parse (Python's own parser gives up on it too)")
        except ValueError as error:  # null bytes, on Python < 3.12
            return Refusal(f"syntax error: {error}")
    node = _deeper_than(tree, MAX_DEPTH)
    if node is None:
        return None
    line, column = _position(source, node)
    return Refusal(f"too deeply nested to parse (more than {MAX_DEPTH} levels)", line, column)


def _deeper_than(tree: ast.AST, limit: int) -> ast.AST | None:
    """The innermost node with a position on the way to a depth beyond ``limit``, found
    without recursing ourselves (the point is not to overflow a stack)."""
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 1, tree)]
    while stack:
        node, depth, placed = stack.pop()
        if hasattr(node, "lineno"):
            placed = node
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 2  # libcst nests ``a and b and c`` pairwise
        if depth > limit:
            return placed
        stack.extend((child, depth + 1, placed) for child in ast.iter_child_nodes(node))
    return None


def _position(source: str, node: ast.AST) -> tuple[int | None, int | None]:
    line = getattr(node, "lineno", None)
    offset = getattr(node, "col_offset", None)
    if line is None or offset is None:
        return line, None
    lines = split_lines(source)
    if line > len(lines):
        return line, None
    # ast columns count UTF-8 bytes; ours count characters.
    prefix = lines[line - 1].encode("utf-8", "surrogatepass")[:offset]
    return line, len(prefix.decode("utf-8", "ignore")) + 1
