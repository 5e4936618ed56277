"""Smoke test of the benchmark harness on the tiny fixtures corpus: it runs, prints its table
and writes every measurement to JSON. No timing assertions (timings belong to
benchmarks/run.py and docs/performance.md, not to the test suite)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kerascheck.discover import DEFAULT_EXCLUDES, discover

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "benchmarks" / "run.py"
MEASUREMENTS = (
    "floor",
    "cold_single",
    "cold_parallel",
    "warm",
    "small_file",
    "peak_rss",
    "scaling",
    "startup",
    "others",
)


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_run", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    run = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            "--corpus",
            str(ROOT / "fixtures"),
            "--repeat",
            "1",
            "--skip-others",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run, json.loads(out.read_text())


def test_json_has_every_measurement(smoke: tuple[subprocess.CompletedProcess, dict]) -> None:
    _, result = smoke
    measurements = result["measurements"]
    assert set(MEASUREMENTS) <= set(measurements)
    for key in ("floor", "cold_single", "cold_parallel", "small_file"):
        assert measurements[key]["status"] == "ok", measurements[key]
        assert measurements[key]["seconds"] > 0
    assert measurements["warm"]["status"] in ("ok", "skipped")
    assert measurements["peak_rss"]["mb"] > 0
    assert [p["subset"] for p in measurements["scaling"]["points"]] == ["10 %", "30 %", "100 %"]
    assert all(entry["status"] == "skipped" for entry in measurements["others"].values())
    assert set(load_harness().MEASUREMENT_KEYS) == set(MEASUREMENTS)


def test_floor_and_kerascheck_see_the_same_files(
    smoke: tuple[subprocess.CompletedProcess, dict],
) -> None:
    _, result = smoke
    counts = result["counts"]
    fixtures = len(list((ROOT / "fixtures").rglob("*.py")))
    assert counts["floor"] == counts["kerascheck_given"] == fixtures, counts
    assert counts["kerascheck_reported"] == fixtures, counts
    assert counts["match"] is True
    assert result["measurements"]["floor"]["parse_errors"] == 0


def test_machine_and_settings_are_recorded(
    smoke: tuple[subprocess.CompletedProcess, dict],
) -> None:
    _, result = smoke
    machine = result["machine"]
    for key in ("cpu", "cores", "python", "libcst", "kerascheck", "git_commit"):
        assert machine[key], key
    assert result["settings"]["statistic"] == "median"
    assert result["settings"]["repeat"] == 1


def test_table_is_printed(smoke: tuple[subprocess.CompletedProcess, dict]) -> None:
    run, _ = smoke
    for text in (
        "measurement",
        "floor: read + libcst.parse_module",
        "kerascheck cold, --jobs 1",
        "kerascheck cold, --jobs 2",
        "kerascheck warm rerun",
        "one small file, new process",
        "peak RSS",
        "scaling",
        "--skip-others",
    ):
        assert text in run.stdout, text


def test_long_argument_lists_are_split() -> None:
    harness = load_harness()
    names = [f"pkg/module_{i}.py" for i in range(100)]
    parts = list(harness.batches(names, budget=400))
    assert len(parts) > 1
    assert [name for part in parts for name in part] == names
    assert list(harness.batches(names, budget=10**9)) == [names]


def test_the_stage_timer_covers_every_stage_of_the_engine() -> None:
    """benchmarks/stages.py on the fixtures: every wrapped stage ran (a renamed engine
    function would make it time nothing), and the files it checked are the fixtures."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stages.py"), str(ROOT / "fixtures")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    fixtures = len(list(discover([str(ROOT / "fixtures")], DEFAULT_EXCLUDES)))
    assert run.stdout.startswith(f"{fixtures} files in ")
    for label in ("libcst parse", "ast.parse", "extraction", "rules", "positions", "read"):
        assert f"  {label}" in run.stdout, label
