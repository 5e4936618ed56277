"""Every rule's own valid/invalid examples run as tests (Fixit's model)."""

from __future__ import annotations

import textwrap

import pytest

from kerascheck.engine import Options, lint_source
from kerascheck.fix import apply_fixes, parses
from kerascheck.registry import all_rules
from kerascheck.rule import Rule

RULES = all_rules()


def _cases(kind: str) -> list[object]:
    cases = []
    for rule in RULES:
        if kind == "invalid" and rule.dynamic_only:
            continue  # flagged only by --dynamic: tests/test_dynamic.py runs these
        for index, example in enumerate(getattr(rule, kind)):
            cases.append(pytest.param(rule, example, id=f"{rule.code}-{kind}-{index}"))
    return cases


def _run(rule: type[Rule], source: str, flavour: str | None) -> list:
    code = textwrap.dedent(source).lstrip("\n")
    result = lint_source(code, "example.py", Options(select=(rule.code,), target_keras=flavour))
    assert not result.errors, result.errors
    return [f for f in result.findings if f.code == rule.code]


def test_every_rule_has_examples() -> None:
    for rule in RULES:
        assert len(rule.invalid) >= 3, f"{rule.code} needs at least 3 invalid examples"
        assert len(rule.valid) >= 3, f"{rule.code} needs at least 3 valid examples"


@pytest.mark.parametrize(("rule", "example"), _cases("invalid"))
def test_invalid_example_is_flagged(rule: type[Rule], example) -> None:
    found = _run(rule, example.code, example.flavour)
    assert [f.span.line for f in found] == [example.line], found
    if example.col is not None:
        assert found[0].span.col == example.col
    code = textwrap.dedent(example.code).lstrip("\n")
    if example.fixed is None:
        # No fix, or one the engine refuses to apply (a string edit on a non-literal).
        assert found[0].fix is None or apply_fixes(code, [found[0].fix])[1] == []
        return
    assert found[0].fix is not None
    fixed, applied = apply_fixes(code, [found[0].fix])
    assert applied == [0]
    assert fixed == textwrap.dedent(example.fixed).lstrip("\n")
    assert parses(fixed)
    assert _run(rule, fixed, example.flavour) == [], "the fix must clear the finding"


@pytest.mark.parametrize(("rule", "example"), _cases("valid"))
def test_valid_example_is_silent(rule: type[Rule], example) -> None:
    assert _run(rule, example.code, example.flavour) == []


def test_rule_metadata_is_complete() -> None:
    seen_names = set()
    for rule in RULES:
        assert rule.code[:2] == "KC" and rule.code[2:].isdigit()
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert rule.name not in seen_names
        seen_names.add(rule.name)
        for attr in ("summary", "why", "example", "use_instead"):
            assert getattr(rule, attr).strip(), f"{rule.code} lacks {attr}"
        assert rule.__doc__, f"{rule.code} lacks a docstring (what it does)"
