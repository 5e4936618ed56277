"""Shared helpers: lint a snippet in memory and compare exact (code, line, col)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from kerascheck.engine import FileResult, Options, lint_source
from kerascheck.extract.python import extract
from kerascheck.ir import Edit, Finding, Fix, ModuleSpec
from kerascheck.rule import Rule, RuleContext


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test's CLI runs start with an empty result cache of their own."""
    monkeypatch.setenv("KERASCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def lint(code: str, path: str = "snippet.py", **options: object) -> FileResult:
    return lint_source(textwrap.dedent(code).lstrip("\n"), path, Options(**options))  # type: ignore[arg-type]


def findings(code: str, **options: object) -> list[Finding]:
    result = lint(code, **options)
    assert not result.errors, result.errors
    return list(result.findings)


def extract_module(code: str) -> ModuleSpec:
    """The IR of a snippet (dedented), as the rules see it."""
    return extract(cst.parse_module(textwrap.dedent(code).lstrip("\n")), "snippet.py")


def codes_at(code: str, **options: object) -> list[tuple[str, int, int]]:
    return [(f.code, f.span.line, f.span.col) for f in findings(code, **options)]


def run_check(
    cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m kerascheck check ARGS` in ``cwd``, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env=env,
        check=False,
    )


@pytest.fixture
def lint_snippet():
    return lint


class BreakingFixRule(Rule):
    """A plugin rule whose fix would leave an unbalanced parenthesis (--fix must drop it)."""

    code = "KC999"
    name = "breaking-fix"
    summary = why = example = use_instead = "test"

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        span = module.api_uses[0].span
        yield self.finding(span, "x", fix=Fix("break", (Edit(span, "(", "before"),), safe=True))
