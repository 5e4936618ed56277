"""False-positive gate: the reference corpus of real Keras code (../shared/corpus).

The corpus is downloaded at test time into the ignored .cache/corpus folder (never copied
into the project). Every finding there must be listed, with a justification, in
tests/corpus_expected.json; anything else is a false positive, and anything listed but no
longer found is a recall regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KERASCHECK_SHARED", ROOT.parent / "shared"))
CORPUS = ROOT / ".cache" / "corpus"
EXPECTED = ROOT / "tests" / "corpus_expected.json"

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def corpus() -> Path:
    get = SHARED / "corpus" / "get.sh"
    if not get.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{get} is missing: CI must run with ../shared beside the clone")
        pytest.skip(f"{get} not found")
    subprocess.run(["bash", str(get), str(CORPUS)], check=True, capture_output=True)
    return CORPUS


def test_corpus_reports_only_justified_findings(corpus: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", str(corpus), "--format", "json", "-j", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    assert report["errors"] == [], report["errors"]
    assert report["summary"]["files_checked"] > 3500
    found = {
        (Path(f["path"]).relative_to(corpus).as_posix(), f["line"], f["code"])
        for f in report["findings"]
    }
    expected_rows = json.loads(EXPECTED.read_text())["findings"]
    assert all(row["justification"].strip() for row in expected_rows)
    expected = {(row["path"], row["line"], row["code"]) for row in expected_rows}
    unexpected = sorted(found - expected)
    missing = sorted(expected - found)
    assert not unexpected, f"new findings on the corpus (false positives?): {unexpected}"
    assert not missing, f"justified findings no longer reported: {missing}"
