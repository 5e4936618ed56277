"""How every human-readable format names the place of a finding."""

from __future__ import annotations

from kerascheck.ir import Finding, Span


def where(path: str, span: Span) -> str:
    """``path:line:col``; ``nb.ipynb:cell 3:2:5`` in a notebook; ``m.keras:layers[3] dense``
    inside a saved model config."""
    if span.pointer is not None and span.line < 1:
        return f"{path}:{span.pointer}"
    if span.cell is not None:
        return f"{path}:cell {span.cell}:{span.line}:{span.col}"
    return f"{path}:{span.line}:{span.col}"


def verdict(finding: Finding) -> str:
    """`` [confirmed: evidence]`` after the message under --dynamic; nothing otherwise."""
    if finding.dynamic is None:
        return ""
    if not finding.evidence:
        return f" [{finding.dynamic}]"
    return f" [{finding.dynamic}: {finding.evidence}]"
