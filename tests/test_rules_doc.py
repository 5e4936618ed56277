"""docs/rules.md is generated from the rule classes and must be up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_rules_doc_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_rules_doc", ROOT / "tools" / "gen_rules_doc.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    current = (ROOT / "docs" / "rules.md").read_text()
    assert current == generator.render(), "run: python tools/gen_rules_doc.py"
