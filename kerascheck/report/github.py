"""GitHub Actions workflow commands: one ``::error`` / ``::warning`` annotation per finding."""

from __future__ import annotations

from kerascheck.engine import Report
from kerascheck.report.location import verdict


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    for path, finding in report.findings:
        span = finding.span
        level = "error" if finding.severity == "error" else "warning"
        message = finding.message + verdict(finding)
        place = [
            f"line={span.line}",
            f"col={span.col}",
            f"endLine={span.end_line}",
            f"endColumn={span.end_col}",
        ]
        if span.pointer is not None and span.line < 1:
            # Inside a saved model config: a file-level annotation that names the layer.
            place, message = [], f"{span.pointer}: {message}"
        properties = ",".join(
            [
                f"file={_property(path)}",
                *place,
                f"title={_property(f'{finding.code} {finding.rule}')}",
            ]
        )
        lines.append(f"::{level} {properties}::{_data(message)}")
    for error in report.errors:
        where = f"file={_property(error.path)}"
        if error.line is not None:
            where += f",line={error.line},col={error.column or 1}"
        lines.append(f"::error {where},title=kerascheck::{_data(error.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
