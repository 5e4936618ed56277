"""Human output: a code frame per finding and a summary.

Styled with rich on a terminal; plain text when stdout is not a terminal or NO_COLOR is set
(rich is then not even imported, which keeps the on-save path fast).
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from kerascheck.engine import Report
from kerascheck.ir import Finding, Span
from kerascheck.notebook import parse_notebook
from kerascheck.report.concise import error_line
from kerascheck.report.location import printable, verdict, where
from kerascheck.source import SourceError, read_source, split_lines

_STYLES = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}
# --dynamic verdicts: a confirmed bug stands out, a refuted one fades.
_VERDICT_STYLES = {"confirmed": "bold magenta", "refuted": "green", "unverifiable": "dim"}


def _frame(lines: list[str], finding: Finding) -> list[tuple[str, str]]:
    """(text, style) pieces of a code frame: the reported lines with a caret underline."""
    span = finding.span
    if span.line < 1 or span.line > len(lines):
        return []
    width = len(str(span.end_line or span.line))
    pieces: list[tuple[str, str]] = [(f"{'':>{width}} |\n", "blue")]
    last = min(span.end_line or span.line, span.line + 2, len(lines))
    for number in range(span.line, last + 1):
        raw = lines[number - 1].rstrip("\r\n").expandtabs(1)
        text = printable(raw)
        pieces.append((f"{number:>{width}} | ", "blue"))
        pieces.append((text + "\n", ""))
        start = span.col if number == span.line else 1
        end = span.end_col if number == span.end_line else len(raw) + 1
        # Columns count the file's characters; escapes are wider on screen.
        start, end = (len(printable(raw[: column - 1])) + 1 for column in (start, end))
        if end <= start:
            end = start + 1
        pieces.append((f"{'':>{width}} | ", "blue"))
        pieces.append((" " * (start - 1) + "^" * (end - start) + "\n", _STYLES[finding.severity]))
    return pieces


def _summary(report: Report) -> str:
    findings = report.findings
    checked = sum(1 for r in report.results if r.checked)
    fixed = (
        f"Fixed {report.fixed} finding{'s' if report.fixed != 1 else ''}. " if report.fixed else ""
    )
    if not findings and not report.errors:
        return f"{fixed}All checks passed ({checked} files checked)."
    severities = Counter(f.severity for _, f in findings)
    parts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in sorted(severities.items()))
    files = len({p for p, _ in findings})
    text = f"{fixed}Found {len(findings)} finding{'s' if len(findings) != 1 else ''}"
    if findings:
        text += f" ({parts}) in {files} file{'s' if files != 1 else ''}"
    text += f"; {checked} files checked."
    safe = sum(1 for _, f in findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for _, f in findings if f.fix is not None and not f.fix.safe)
    if safe:
        text += f" [*] {safe} fixable with --fix."
    if unsafe:
        text += f" {unsafe} more with --fix --unsafe-fixes."
    # A notebook cell Python rejects is left out; the rest of its notebook was checked.
    files = sum(1 for e in report.errors if e.cell is None)
    cells = len(report.errors) - files
    if files:
        text += f" {files} file{'s' if files != 1 else ''} could not be checked."
    if cells:
        text += f" {cells} notebook cell{'s' if cells != 1 else ''} could not be checked."
    return text


def _source_lines(
    path: str, span: Span, cache: dict[tuple[str, int | None], list[str]]
) -> list[str]:
    """The lines a code frame shows: the file's, or the notebook cell's."""
    key = (path, span.cell)
    if key not in cache:
        # A finding inside a saved model config has no line: the file is not text.
        cache[key] = []
        try:
            if span.cell is not None:
                with open(path, "rb") as handle:
                    notebook = parse_notebook(handle.read())
                for cell in notebook.cells:  # one parse serves every cell's frames
                    cache[(path, cell.number)] = split_lines(cell.text)
            elif span.line > 0:
                cache[key] = split_lines(read_source(path))
        except (OSError, SourceError):
            pass
    return cache[key]


def pieces(report: Report, show_suppressed: bool = False) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    cache: dict[tuple[str, int | None], list[str]] = {}
    for path, finding in report.findings:
        span = finding.span
        out.append((f"{where(path, span)}: ", "bold"))
        out.append((finding.code, _STYLES[finding.severity]))
        out.append((f" {printable(finding.message)}", ""))
        out.append((verdict(finding), _VERDICT_STYLES.get(finding.dynamic or "", "")))
        out.append((f" [{finding.rule}]", "dim"))
        out.append((" [*]\n" if finding.fix is not None and finding.fix.safe else "\n", "bold"))
        out.extend(_frame(_source_lines(path, span, cache), finding))
        out.append(("\n", ""))
    for path, finding in report.suppressed if show_suppressed else ():
        span = finding.span
        out.append((f"{where(path, span)}: {finding.code} [suppressed]\n", "dim"))
    for error in report.errors:
        out.append((error_line(error) + "\n", "bold red"))
    out.append((_summary(report) + "\n", "bold"))
    return out


def render_plain(report: Report, show_suppressed: bool = False) -> str:
    return "".join(text for text, _ in pieces(report, show_suppressed))


def render_rich(report: Report, stream: TextIO, show_suppressed: bool = False) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True)
    text = Text()
    for piece, style in pieces(report, show_suppressed):
        text.append(piece, style=style or None)
    console.print(text, end="")
