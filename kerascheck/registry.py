"""Rule discovery through the ``kerascheck.rules`` entry-point group (flake8's model).

An entry point may name a rule class, an iterable of rule classes, or a package whose
modules define rule classes. The built-in rules use the same path: kerascheck declares
``builtin = "kerascheck.rules"``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType

from kerascheck.rule import Rule

GROUP = "kerascheck.rules"


class RuleLoadError(Exception):
    pass


def _rules_in(obj: object) -> list[type[Rule]]:
    if inspect.isclass(obj) and issubclass(obj, Rule):
        return [obj]
    if isinstance(obj, ModuleType):
        found: list[type[Rule]] = []
        modules = [obj]
        if hasattr(obj, "__path__"):
            for info in sorted(pkgutil.iter_modules(obj.__path__), key=lambda i: i.name):
                if info.name.startswith("_"):
                    continue
                name = f"{obj.__name__}.{info.name}"
                try:
                    modules.append(importlib.import_module(name))
                except Exception as exc:  # a broken rule module must name itself
                    raise RuleLoadError(f"cannot load rule module {name}: {exc}") from exc
        for module in modules:
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and issubclass(value, Rule)
                    and value is not Rule
                    and value.__module__ == module.__name__
                ):
                    found.append(value)
        return found
    if isinstance(obj, Iterable):
        return [r for item in obj for r in _rules_in(item)]
    return []


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every installed rule, sorted by code; codes must be unique."""
    rules: dict[str, type[Rule]] = {}
    for ep in entry_points(group=GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must name itself
            raise RuleLoadError(f"cannot load rule plugin {ep.name!r} ({ep.value}): {exc}") from exc
        for rule in _rules_in(loaded):
            other = rules.get(rule.code)
            if other is not None and other is not rule:
                raise RuleLoadError(
                    f"rule code {rule.code} is defined twice: "
                    f"{other.__module__} and {rule.__module__}"
                )
            rules[rule.code] = rule
    if not rules:
        # Running from a source tree that was never installed: fall back to the built-ins.
        rules = {r.code: r for r in _rules_in(importlib.import_module("kerascheck.rules"))}
    return tuple(sorted(rules.values(), key=lambda r: r.code))


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code:
            return rule
    return None
