"""The JSON output contract (DESIGN.md, "Output")."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from kerascheck.engine import Report
from kerascheck.ir import Finding, Fix


def finding_dict(path: str, finding: Finding) -> dict[str, Any]:
    span = finding.span
    found: dict[str, Any] = {
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
        "fix": fix_dict(finding.fix),
    }
    if span.pointer is not None and span.line < 1:
        # Inside a saved model config: no source position, a pointer into the config.
        found.update(line=None, column=None, end_line=None, end_column=None)
        found["pointer"] = span.pointer
    if span.cell is not None:
        found["cell"] = span.cell  # line and column are inside this notebook cell
    return found


def fix_dict(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "description": fix.description,
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [
            {
                "line": e.span.line,
                "column": e.span.col,
                "end_line": e.span.end_line,
                "end_column": e.span.end_col,
                "text": e.text,
            }
            # In a notebook, an edit's position is inside its cell.
            | ({"cell": e.span.cell} if e.span.cell is not None else {})
            for e in fix.edits
        ],
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
            | ({"cell": e.cell} if e.cell is not None else {})
            for e in report.errors
        ],
        "summary": summary(report),
    }
    if show_suppressed:
        document["suppressed"] = [finding_dict(path, f) for path, f in report.suppressed]
    return json.dumps(document, indent=2) + "\n"
