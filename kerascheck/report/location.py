"""How every human-readable format names the place of a finding."""

from __future__ import annotations

from kerascheck.ir import Finding, Span

# Control characters (but the tab) and the bidirectional overrides of "Trojan source",
# as escapes: text from an analysed file must not drive the terminal (clear it, retitle
# it, hide lines) nor forge a line of output with a newline of its own.
_UNPRINTABLE = {
    code: f"\\x{code:02x}" for code in (*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0))
}
_UNPRINTABLE |= {
    code: f"\\u{code:04x}" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def printable(text: str) -> str:
    """``text`` with the characters that would act on a terminal shown as escapes."""
    return text.translate(_UNPRINTABLE)


def where(path: str, span: Span) -> str:
    """``path:line:col``; ``nb.ipynb:cell 3:2:5`` in a notebook; ``m.keras:layers[3] dense``
    inside a saved model config."""
    if span.pointer is not None and span.line < 1:
        return printable(f"{path}:{span.pointer}")
    if span.cell is not None:
        return printable(f"{path}:cell {span.cell}:{span.line}:{span.col}")
    return printable(f"{path}:{span.line}:{span.col}")


def verdict(finding: Finding) -> str:
    """`` [confirmed: evidence]`` after the message under --dynamic; nothing otherwise."""
    if finding.dynamic is None:
        return ""
    if not finding.evidence:
        return f" [{finding.dynamic}]"
    return printable(f" [{finding.dynamic}: {finding.evidence}]")
