"""The JSON output contract (DESIGN.md, "Output")."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from kerascheck.engine import Report
from kerascheck.ir import Finding


def finding_dict(path: str, finding: Finding) -> dict[str, Any]:
    span = finding.span
    return {
        "path": path,
        "line": span.line,
        "column": span.col,
        "end_line": span.end_line,
        "end_column": span.end_col,
        "code": finding.code,
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "dynamic": finding.dynamic,
        "evidence": finding.evidence,
    }


def summary(report: Report) -> dict[str, Any]:
    findings = report.findings
    return {
        "files_checked": sum(1 for r in report.results if r.checked),
        "findings": len(findings),
        "errors": len(report.errors),
        "by_code": dict(sorted(Counter(f.code for _, f in findings).items())),
    }


def render(report: Report, show_suppressed: bool = False) -> str:
    document: dict[str, Any] = {
        "findings": [finding_dict(path, f) for path, f in report.findings],
        "errors": [
            {"path": e.path, "message": e.message, "line": e.line, "column": e.column}
            for e in report.errors
        ],
        "summary": summary(report),
    }
    if show_suppressed:
        document["suppressed"] = [finding_dict(path, f) for path, f in report.suppressed]
    return json.dumps(document, indent=2) + "\n"
