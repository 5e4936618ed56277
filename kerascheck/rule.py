"""The rule API: a rule is a small class that reads the IR and yields findings.

Like Fixit, every rule carries its own ``valid`` and ``invalid`` examples, which the test
suite runs; like ruff, every rule has a code, a kebab-case name and a structured doc.
Rules never import libcst or the extractors: they see only ``kerascheck.ir``.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from kerascheck.ir import Finding, Fix, Flavour, ModelSpec, ModuleSpec, Severity, Span

# Where each rule's documentation is published (docs/rules.md, one section per rule).
DOCS_URL = "https://github.com/kerascheck/kerascheck/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag: exactly one finding of this rule, at ``line``.

    ``fixed`` is the source after applying the finding's fix (unsafe fixes included), byte
    for byte; None when the example has no fix.
    """

    code: str
    line: int
    col: int | None = None
    flavour: Flavour | None = None
    fixed: str | None = None


@dataclass(frozen=True)
class Valid:
    """An example the rule must stay silent on."""

    code: str
    flavour: Flavour | None = None


@dataclass(frozen=True)
class RuleContext:
    module: ModuleSpec
    flavour: Flavour


class Rule:
    """Base class of every rule, built in or from a plugin."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    summary: ClassVar[str]
    why: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    fix_safety: ClassVar[str] = "No automatic fix."
    limitations: ClassVar[str] = ""
    # Reported only by `check --dynamic` (KC900): its invalid examples cannot fire statically
    # and are run by tests/test_dynamic.py instead of the static example tests.
    dynamic_only: ClassVar[bool] = False
    # The experiment `check --dynamic` runs to confirm or refute this rule's findings: a name
    # in kerascheck.dynamic.experiments.REGISTRY (docs/dynamic.md lists them, with what each
    # compares and measures). None: the findings stay unverifiable under --dynamic.
    experiment: ClassVar[str | None] = None
    # Names whose mention makes a function body matter to this rule, beyond the ones the
    # extractor reacts to (kerascheck.slicing.model_vocabulary). None: the rule may read any
    # Keras call the extractor records, so while it is active files are parsed whole. Every
    # built-in rule reads only what the knowledge tables name and says ``frozenset()``.
    relevant_names: ClassVar[frozenset[str] | None] = None
    valid: ClassVar[tuple[Valid, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterable[Finding]:
        """Module-wide checks (API uses); the default checks each model."""
        for model in module.models:
            yield from self.check_model(model, ctx)

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterable[Finding]:
        return ()

    def finding(
        self, span: Span, message: str, severity: Severity | None = None, fix: Fix | None = None
    ) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, message, span, fix)

    @classmethod
    def help_uri(cls) -> str | None:
        """Where the rule is documented: for a built-in, its section of docs/rules.md
        (GitHub's anchor of ``## KC101 name``); a plugin overrides this or has none."""
        if not cls.__module__.startswith("kerascheck.rules."):
            return None
        return f"{DOCS_URL}#{cls.code.lower()}-{cls.name}"

    @classmethod
    def doc(cls) -> str:
        """The rule's documentation as Markdown (``kerascheck explain``, docs/rules.md)."""
        parts = [
            f"## {cls.code} {cls.name}",
            "",
            f"{cls.summary}",
            "",
            "### What it does",
            "",
            # cleandoc: a docstring's first line is not indented like the rest.
            inspect.cleandoc(cls.__doc__ or cls.summary),
            "",
            "### Why is this bad?",
            "",
            textwrap.dedent(cls.why).strip(),
            "",
            "### Example",
            "",
            "```python",
            textwrap.dedent(cls.example).strip(),
            "```",
            "",
            "### Use instead",
            "",
            "```python",
            textwrap.dedent(cls.use_instead).strip(),
            "```",
            "",
            "### Fix safety",
            "",
            textwrap.dedent(cls.fix_safety).strip(),
        ]
        if cls.limitations:
            parts += ["", "### What it cannot see", "", textwrap.dedent(cls.limitations).strip()]
        return "\n".join(parts) + "\n"


def select_rules(
    rules: Iterable[type[Rule]], select: Iterable[str] | None, ignore: Iterable[str]
) -> Iterator[type[Rule]]:
    """Rules whose code matches a ``select`` prefix (all when None) and no ``ignore`` prefix."""
    selected = tuple(select) if select is not None else None
    ignored = tuple(ignore)
    for rule in rules:
        if selected is not None and not any(_matches(rule, s) for s in selected):
            continue
        if any(_matches(rule, i) for i in ignored):
            continue
        yield rule


def _matches(rule: type[Rule], pattern: str) -> bool:
    return pattern == "ALL" or rule.code.startswith(pattern) or rule.name == pattern
