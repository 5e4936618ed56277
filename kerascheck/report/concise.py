"""``path:line:col: CODE message``: one line per finding, for editors and grep."""

from __future__ import annotations

from kerascheck.engine import FileError, Report
from kerascheck.report.location import printable, verdict, where


def error_line(error: FileError) -> str:
    where = error.path
    if error.cell is not None:
        where += f":cell {error.cell}"
    if error.line is not None:
        where += f":{error.line}:{error.column or 1}"
    return printable(f"{where}: error: {error.message}")


def render(report: Report, show_suppressed: bool = False) -> str:
    lines = [
        f"{where(path, f.span)}: {f.code} {printable(f.message)}{verdict(f)}"
        for path, f in report.findings
    ]
    if show_suppressed:
        lines += [
            f"{where(path, f.span)}: {f.code} {printable(f.message)} [suppressed]"
            for path, f in report.suppressed
        ]
    lines += [error_line(e) for e in report.errors]
    return "\n".join(lines) + ("\n" if lines else "")
