"""Inline suppressions: ``# kerascheck: ignore[KC101]`` and ``# noqa: KC101``.

A bare ``# kerascheck: ignore`` or ``# noqa`` suppresses every code on its line. The comment
may sit on the first or the last line of the finding's span. Comments are read with the
stdlib tokenizer, and only for files that have findings.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from kerascheck.ir import Finding

_DIRECTIVE = re.compile(
    r"(?:kerascheck:\s*ignore(?:\[(?P<codes>[^\]]*)\])?|noqa(?::\s*(?P<noqa>[\w\s,]+))?)",
    re.IGNORECASE,
)
ALL = "*"


def suppressions(source: str) -> dict[int, frozenset[str]]:
    """Line -> codes (or prefixes) suppressed there; ``ALL`` suppresses everything."""
    found: dict[int, set[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return {}
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        for match in _DIRECTIVE.finditer(token.string):
            listed = match.group("codes") if match.group("codes") is not None else match["noqa"]
            codes = {c.strip().upper() for c in (listed or "").split(",") if c.strip()}
            found.setdefault(token.start[0], set()).update(codes or {ALL})
    return {line: frozenset(codes) for line, codes in found.items()}


def _covers(codes: frozenset[str], code: str) -> bool:
    return ALL in codes or any(code.startswith(c) for c in codes)


def split(
    findings: Iterable[Finding], table: dict[int, frozenset[str]]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(kept, suppressed)."""
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        lines = {finding.span.line, finding.span.end_line}
        hit = any(_covers(table.get(line, frozenset()), finding.code) for line in lines)
        (suppressed if hit else kept).append(finding)
    return tuple(kept), tuple(suppressed)
