"""Which model or Keras call produced each finding.

Findings do not carry their model, and several models may share source (a builder function
called twice with different arguments). So each rule is re-run on one model (or one API use)
at a time, and a finding belongs to the parts whose run yields it again: same code, same
message, same span. Spans are compared by the extractor's anchor (the syntax node) before
the engine positions them, or by position when an extractor resolved them already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from kerascheck.ir import ApiUse, Finding, Flavour, ModelSpec, ModuleSpec, Span
from kerascheck.rule import Rule, RuleContext


@dataclass(frozen=True)
class ModelOwner:
    index: int
    model: ModelSpec


@dataclass(frozen=True)
class UseOwner:
    use: ApiUse


Owner = ModelOwner | UseOwner


def same(span: Span, other: Span | None) -> bool:
    if other is None:
        return False
    if span.anchor is not None or other.anchor is not None:
        return span.anchor is other.anchor
    return span.resolved and span == other


def owners(
    spec: ModuleSpec, findings: Sequence[Finding], rules: Sequence[Rule], flavour: Flavour
) -> list[list[Owner]]:
    """For each finding, the models and API uses that produce it (usually exactly one)."""
    codes = {f.code for f in findings}
    relevant = [rule for rule in rules if rule.code in codes]
    ctx = RuleContext(spec, flavour)
    parts: list[tuple[Owner, ModuleSpec]] = [
        (ModelOwner(i, m), replace(spec, models=(m,), api_uses=()))
        for i, m in enumerate(spec.models)
    ]
    parts += [(UseOwner(u), replace(spec, models=(), api_uses=(u,))) for u in spec.api_uses]
    produced: list[tuple[Owner, Finding]] = []
    for owner, part in parts:
        for rule in relevant:
            produced.extend((owner, found) for found in rule.check_module(part, ctx))
    return [
        [
            owner
            for owner, found in produced
            if found.code == f.code and found.message == f.message and same(f.span, found.span)
        ]
        for f in findings
    ]
