"""`kerascheck check fixtures/` reports exactly the seeds' faults (fixtures/expected.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _check(*paths: str) -> tuple[int, dict]:
    run = subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", *paths, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return run.returncode, json.loads(run.stdout)


def test_fixtures_report_exactly_the_expected_findings() -> None:
    status, report = _check("fixtures")
    assert report["errors"] == []
    found = {
        (Path(f["path"]).relative_to("fixtures").as_posix(), f.get("cell"), f["line"], f["code"])
        for f in report["findings"]
    }
    expected = {(e["file"], e.get("cell"), e["line"], e["code"]) for e in EXPECTED["findings"]}
    assert found - expected == set(), f"unexpected: {sorted(found - expected)}"
    assert expected - found == set(), f"missing: {sorted(expected - found)}"
    assert status == 1


def test_every_seed_fixture_has_a_finding_or_a_pending_one() -> None:
    listed = {e["file"] for e in EXPECTED["findings"] + EXPECTED["pending"]}
    seeds = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("seed*")
        if p.suffix in (".py", ".ipynb")
    }
    assert seeds == listed


def test_correct_answers_give_no_finding() -> None:
    answers = sorted(str(p.relative_to(ROOT)) for p in FIXTURES.rglob("ok_*.py"))
    assert len(answers) >= 8
    status, report = _check(*answers)
    assert report["findings"] == [] and report["errors"] == []
    assert status == 0
