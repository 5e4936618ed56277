"""SARIF 2.1.0, for code-scanning services (GitHub, GitLab, Azure DevOps).

Every rule is described in ``tool.driver.rules`` with its documentation as help text; each
finding is a result pointing at its rule by index. Positions are 1-based with exclusive end
columns, as SARIF's defaults say. A notebook finding has no line in the .ipynb file itself,
so it names its cell as a logical location; a saved-model finding names its config pointer.
Files that could not be checked become error notifications of the invocation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kerascheck import __version__
from kerascheck.engine import FileError, Report
from kerascheck.ir import Finding, Fix
from kerascheck.registry import all_rules
from kerascheck.rule import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kerascheck/kerascheck"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str) -> str:
    """A path relative to the working directory (``%SRCROOT%``) when it is inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_uri()


def _artifact(path: str) -> dict[str, Any]:
    uri = _uri(path)
    if uri.startswith("file:"):
        return {"uri": uri}
    return {"uri": uri, "uriBaseId": "%SRCROOT%"}


def _rule(rule: type[Rule]) -> dict[str, Any]:
    described = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join((rule.__doc__ or rule.summary).split())},
        "help": {"text": rule.summary, "markdown": rule.doc()},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": ["keras", "correctness"]},
    }
    uri = rule.help_uri()
    return described | ({"helpUri": uri} if uri else {})


def _region(line: int, col: int, end_line: int, end_col: int) -> dict[str, int]:
    region = {"startLine": line, "startColumn": col}
    if end_line >= line and end_col > 0:
        region.update(endLine=end_line, endColumn=end_col)
    return region


def _location(path: str, finding: Finding) -> dict[str, Any]:
    span = finding.span
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(path)}}
    if span.pointer is not None and span.line < 1:
        location["logicalLocations"] = [{"fullyQualifiedName": span.pointer, "kind": "member"}]
    elif span.cell is not None:
        location["logicalLocations"] = [
            {"name": f"cell {span.cell}", "fullyQualifiedName": f"cell {span.cell}"}
        ]
        location["properties"] = {
            "cell": span.cell,
            "region": _region(span.line, span.col, span.end_line, span.end_col),
        }
    else:
        location["physicalLocation"]["region"] = _region(
            span.line, span.col, span.end_line, span.end_col
        )
    return location


def _fix(path: str, fix: Fix) -> dict[str, Any]:
    replacements = [
        {
            "deletedRegion": _region(e.span.line, e.span.col, e.span.end_line, e.span.end_col),
            "insertedContent": {"text": e.text},
        }
        for e in fix.edits
    ]
    return {
        "description": {"text": fix.description},
        "artifactChanges": [{"artifactLocation": _artifact(path), "replacements": replacements}],
        "properties": {"applicability": "safe" if fix.safe else "unsafe"},
    }


def _result(path: str, finding: Finding, index: dict[str, int], suppressed: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(path, finding)],
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.fix is not None and finding.span.cell is None:
        result["fixes"] = [_fix(path, finding.fix)]
    if finding.dynamic is not None:
        result["properties"] = {"dynamic": finding.dynamic, "evidence": finding.evidence}
    if suppressed:
        result["suppressions"] = [{"kind": "inSource"}]
    return result


def _notification(error: FileError) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(error.path)}
    if error.line is not None and error.cell is None:
        physical["region"] = {"startLine": error.line, "startColumn": error.column or 1}
    notification: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{error.path}: {error.message}"},
        "locations": [{"physicalLocation": physical}],
    }
    if error.cell is not None:
        notification["properties"] = {"cell": error.cell, "line": error.line}
    return notification


def render(report: Report, show_suppressed: bool = False) -> str:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = [_result(path, f, index, False) for path, f in report.findings]
    if show_suppressed:
        results += [_result(path, f, index, True) for path, f in report.suppressed]
    run = {
        "tool": {
            "driver": {
                "name": "kerascheck",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [_notification(e) for e in report.errors],
            }
        ],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "results": results,
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"
