"""README.md stays true: its commands are the ones CI runs, its rule table is complete."""

from __future__ import annotations

import re
from pathlib import Path

from kerascheck.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_opens_with_the_install_and_the_test_command() -> None:
    install, test = _commands()[:2]
    assert "pip install -e '.[dev]'" in install and "kerascheck check fixtures/" in install
    assert "python -m pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _commands()[1].split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]


def test_rule_table_lists_every_rule() -> None:
    listed = set(re.findall(r"^\| (KC\d+) \| `([a-z0-9-]+)` \|", README, re.MULTILINE))
    assert listed == {(rule.code, rule.name) for rule in all_rules()}
