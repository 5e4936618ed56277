"""benchmarks/ecosystem.py: matching, precision and the baseline, without network or mirror.

The real ecosystem run needs the pinned repositories; these tests keep the comparison logic
and the committed baseline honest on synthetic data, and run the whole pipeline once on a
local git repository built here (skipped when git is missing).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "ecosystem.py"
REPRODUCTIONS = ROOT / "benchmarks" / "ecosystem_fp"


@pytest.fixture(scope="module")
def eco() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_ecosystem", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def finding(eco: ModuleType, line: int, anchor: str = "a1", **fields: object):
    values: dict[str, object] = {
        "repo": "me/demo",
        "path": "train.py",
        "cell": None,
        "code": "KC101",
        "anchor": anchor,
        "line": line,
        "column": 5,
        "message": "softmax over a 1-unit output",
    }
    values.update(fields)
    return eco.Finding(**values)


def test_a_finding_moved_by_an_edit_keeps_its_verdict(eco: ModuleType) -> None:
    before = [finding(eco, 10, verdict=True, reason="checked")]
    now = [finding(eco, 14)]
    result = eco.compare(before, now, {"me/demo"})
    assert [(f.line, f.verdict, f.reason) for f in result.findings] == [(14, True, "checked")]
    assert result.new == [] and result.lost == []


def test_new_and_lost_findings_are_reported(eco: ModuleType) -> None:
    before = [finding(eco, 3, anchor="gone", verdict=False, reason="fp", fp_class="01_x")]
    now = [finding(eco, 7, anchor="fresh", code="KC302")]
    result = eco.compare(before, now, {"me/demo"})
    assert [(f.code, f.line, f.verdict) for f in result.new] == [("KC302", 7, None)]
    assert [(f.anchor, f.verdict, f.fp_class) for f in result.lost] == [("gone", False, "01_x")]
    assert [f.anchor for f in result.findings] == ["fresh"]


def test_same_anchor_pairs_by_position_before_order(eco: ModuleType) -> None:
    # Two findings on identical lines; the first one disappears: the survivor must keep
    # its own verdict, not inherit the first one's.
    before = [
        finding(eco, 10, verdict=True, reason="first"),
        finding(eco, 50, verdict=False, reason="second"),
    ]
    result = eco.compare(before, [finding(eco, 50)], {"me/demo"})
    assert [(f.line, f.reason) for f in result.findings] == [(50, "second")]
    assert [(f.line, f.reason) for f in result.lost] == [(10, "first")]


def test_same_line_pairs_by_column(eco: ModuleType) -> None:
    before = [
        finding(eco, 8, column=10, verdict=True, reason="lr"),
        finding(eco, 8, column=30, verdict=False, reason="decay"),
    ]
    result = eco.compare(before, [finding(eco, 8, column=30)], {"me/demo"})
    assert [f.reason for f in result.findings] == ["decay"]
    assert [f.reason for f in result.lost] == ["lr"]


def test_repositories_not_checked_lose_nothing(eco: ModuleType) -> None:
    kept = finding(eco, 1, repo="other/repo", verdict=True, reason="kept")
    result = eco.compare([kept], [], {"me/demo"})
    assert result.lost == []
    assert eco.updated_baseline([kept], result, {"me/demo"}) == [kept]


def test_precision_counts_reviewed_findings_only(eco: ModuleType) -> None:
    findings = [
        finding(eco, 1, code="KC101", verdict=True),
        finding(eco, 2, code="KC104", verdict=False),
        finding(eco, 3, code="KC302", verdict=None),
        finding(eco, 4, code="KC201", verdict=True),
        finding(eco, 5, code="KC202", verdict=True),
    ]
    overall = eco.precision(findings)
    assert (overall.true, overall.false, overall.unreviewed) == (3, 1, 1)
    assert overall.value == 0.75
    assert overall.describe() == "0.750 (3 true of 4 reviewed; 1 not reviewed)"
    model = eco.precision(findings, eco.MODEL_FAULT_PREFIXES)
    assert model.describe() == "0.500 (1 true of 2 reviewed; 1 not reviewed)"
    drift = eco.precision(findings, eco.API_DRIFT_PREFIXES)
    assert drift.describe() == "1.000 (2 true of 2 reviewed)"
    assert eco.precision([], ("KC9",)).describe() == "n/a (0 true of 0 reviewed)"


def test_update_writes_new_findings_unreviewed_and_drops_lost(
    eco: ModuleType, tmp_path: Path
) -> None:
    before = [
        finding(eco, 1, anchor="stays", verdict=True, reason="real"),
        finding(eco, 2, anchor="fixed", verdict=False, reason="fp", fp_class="02_y"),
    ]
    now = [finding(eco, 1, anchor="stays"), finding(eco, 9, anchor="fresh")]
    result = eco.compare(before, now, {"me/demo"})
    path = tmp_path / "baseline.json"
    eco.write_baseline(path, eco.updated_baseline(before, result, {"me/demo"}))
    written = eco.load_baseline(path)
    assert [(f.anchor, f.verdict, f.reason) for f in written] == [
        ("stays", True, "real"),
        ("fresh", None, ""),
    ]
    document = json.loads(path.read_text(encoding="utf-8"))
    assert "fp_class" not in document["findings"][0]


def test_no_sources_skips_cleanly(eco: ModuleType, tmp_path: Path, capsys) -> None:
    status = eco.main(
        [
            "--offline",
            "--mirror",
            str(tmp_path / "no-mirror"),
            "--cache",
            str(tmp_path / "cache"),
            "--baseline",
            str(tmp_path / "baseline.json"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "ecosystem check skipped: no repository of the set could be materialised" in out
    skipped = [line for line in out.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == len(eco.REPOSITORIES)
    assert all("--offline forbids a clone" in line for line in skipped)
    assert not (tmp_path / "baseline.json").exists()


def test_one_failed_clone_stops_further_clones(
    eco: ModuleType, tmp_path: Path, monkeypatch, capsys
) -> None:
    attempts = []

    def unreachable(cache: Path, repo) -> Path:
        attempts.append(repo.name)
        raise eco.CloneFailed("git clone failed: Could not resolve host: github.com")

    monkeypatch.setattr(eco, "clone_git_dir", unreachable)
    repos = [eco.Repo(f"me/r{i}", "0" * 40, "test") for i in range(3)]
    args = ["--mirror", str(tmp_path / "none"), "--cache", str(tmp_path / "cache")]
    assert eco.main([*args, "--baseline", str(tmp_path / "b.json")], repositories=repos) == 0
    out = capsys.readouterr().out.splitlines()
    assert attempts == ["me/r0"]
    assert out[0] == "skipped me/r0: git clone failed: Could not resolve host: github.com"
    assert out[1].endswith("an earlier clone failed, so no more are tried")
    assert out[-1] == "ecosystem check skipped: no repository of the set could be materialised"


def test_an_unknown_repository_is_a_usage_error(eco: ModuleType) -> None:
    with pytest.raises(SystemExit) as stop:
        eco.main(["--only", "nobody/nothing"])
    assert stop.value.code == 2


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(repo),
        },
    )
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_whole_run_on_a_local_mirror(eco: ModuleType, tmp_path: Path, capsys) -> None:
    work = tmp_path / "mirror" / "me+demo" / "repo"
    (work / "tool").mkdir(parents=True)
    (work / "train.py").write_text(
        "from keras import layers, models\n"
        "model = models.Sequential([layers.Input((4,)), layers.Dense(1, activation='softmax')])\n"
        "model.compile(loss='binary_crossentropy', optimizer='adam')\n",
        encoding="utf-8",
    )
    (work / "plain.py").write_text("print('no deep learning here')\n", encoding="utf-8")
    (work / "tool" / "lib.py").write_text("import keras\n", encoding="utf-8")
    (work / "requirements.txt").write_text("keras>=3\n", encoding="utf-8")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "demo")
    pinned = eco.Repo("me/demo", _git(work, "rev-parse", "HEAD"), "test", exclude=("tool/",))
    cache, baseline = tmp_path / "cache", tmp_path / "baseline.json"
    common = ["--offline", "--mirror", str(tmp_path / "mirror"), "--cache", str(cache)]
    common += ["--baseline", str(baseline), "--jobs", "1"]

    assert eco.main([*common, "--update"], repositories=[pinned]) == 0
    first = capsys.readouterr().out
    assert "files checked: 1 (0 notebooks)" in first
    assert "NEW findings (not in the baseline, not reviewed): 1" in first
    assert "me/demo/train.py:2:" in first
    materialised = sorted(
        p.relative_to(cache / "me+demo").as_posix()
        for p in (cache / "me+demo").rglob("*")
        if p.is_file()
    )
    assert materialised == [".ecosystem.json", "requirements.txt", "train.py"]
    assert (cache / "me+demo" / ".git").is_dir()  # stops the search for version pins
    [recorded] = eco.load_baseline(baseline)
    assert (recorded.code, recorded.line, recorded.verdict) == ("KC101", 2, None)

    assert eco.main(common, repositories=[pinned]) == 0
    again = capsys.readouterr().out
    assert "NEW findings (not in the baseline, not reviewed): 0" in again
    assert "LOST findings (in the baseline, not found now): 0" in again
    assert "overall: n/a (0 true of 0 reviewed; 1 not reviewed)" in again


def test_the_committed_baseline_is_fully_reviewed(eco: ModuleType) -> None:
    findings = eco.load_baseline(eco.BASELINE)
    assert findings, "the committed baseline is empty"
    pinned = {repo.name for repo in eco.REPOSITORIES}
    positions = [(f.repo, f.path, f.cell, f.code, f.line, f.column, f.message) for f in findings]
    assert len(positions) == len(set(positions))
    reproductions = {p.stem for p in REPRODUCTIONS.iterdir() if p.suffix in (".py", ".ipynb")}
    used = set()
    for f in findings:
        assert f.repo in pinned, f.where()
        assert f.verdict in (True, False), f"unreviewed: {f.where()} {f.code}"
        assert f.reason.strip(), f"no reason: {f.where()} {f.code}"
        if f.verdict is False:
            assert f.fp_class in reproductions, f"{f.where()}: {f.fp_class}"
            used.add(f.fp_class)
        else:
            assert f.fp_class is None, f.where()
    # A reproduction whose real false positives a fix removed stays: the next test holds
    # that it stays fixed, and docs/precision.md says which classes are left.
    assert used <= reproductions


def _header(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    return path.read_text(encoding="utf-8")


def _codes_shown(path: Path) -> set[str]:
    """The codes whose false positive the reproduction shows (named on its first line)."""
    first = _header(path).lstrip("# ").splitlines()[0]
    return set(re.findall(r"KC\d{3}", first.partition("false positive")[0]))


def test_every_reproduction_says_what_it_shows() -> None:
    for path in sorted(REPRODUCTIONS.iterdir()):
        header = _header(path)
        assert _codes_shown(path), path.name
        assert "pattern" in header.lower(), path.name
        assert "Why false:" in header and "Seen in:" in header, path.name


def test_fixed_false_positives_stay_fixed(eco: ModuleType) -> None:
    """Reproductions of classes no longer in the baseline must not fire again."""
    live = {f.fp_class for f in eco.load_baseline(eco.BASELINE) if f.verdict is False}
    fixed = [p for p in sorted(REPRODUCTIONS.iterdir()) if p.stem not in live]
    if not fixed:
        pytest.skip("every false-positive class still occurs on the ecosystem set")
    command = [sys.executable, "-m", "kerascheck", "check", "--isolated", "--no-cache"]
    command += ["--format", "json", *map(str, fixed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    report = json.loads(done.stdout)
    assert report["errors"] == []
    fired = {(Path(f["path"]).stem, f["code"]) for f in report["findings"]}
    again = [(p.name, code) for p in fixed for code in _codes_shown(p) if (p.stem, code) in fired]
    assert again == []
