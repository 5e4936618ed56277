"""Write docs/rules.md from the rule classes (``python tools/gen_rules_doc.py``).

tests/test_rules_doc.py fails when the checked-in file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerascheck.registry import all_rules

TARGET = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def render() -> str:
    rules = all_rules()
    lines = [
        "# Rules",
        "",
        "Generated from the rule classes by `tools/gen_rules_doc.py`; do not edit by hand.",
        "`kerascheck explain CODE` prints the same text for one rule.",
        "",
        "| code | name | severity | summary |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| [{r.code}](#{r.code.lower()}-{r.name}) | `{r.name}` | {r.severity} | {r.summary} |"
        for r in rules
    ]
    lines.append("")
    for rule in rules:
        lines.append(rule.doc())
    return "\n".join(lines)


def main() -> int:
    TARGET.write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
