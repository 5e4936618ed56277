"""Packaging: rules/ ships as kerascheck.rules, never as a top-level `rules` module."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_rules_inside_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("kerascheck-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "kerascheck/rules/kc101_softmax_single_unit.py" in names
    assert "kerascheck/knowledge/tables.json" in names
    assert "kerascheck/knowledge/keras3_api.json" in names
    assert not any(name.startswith("rules/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[kerascheck.rules]\nbuiltin = kerascheck.rules" in text
    assert "kerascheck = kerascheck.cli:main" in text

    # Installed from the wheel (non-editable), the rules import and no `rules` exists.
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import importlib.util, kerascheck, kerascheck.rules;"
        f"assert kerascheck.__file__.startswith({str(site)!r}), kerascheck.__file__;"
        "assert importlib.util.find_spec('rules') is None;"
        "from kerascheck.registry import _rules_in;"
        "print(len(_rules_in(kerascheck.rules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 10


def test_editable_install_imports_rules_and_no_top_level_rules(tmp_path: Path) -> None:
    probe = (
        "import importlib.util, kerascheck.rules;"
        "assert importlib.util.find_spec('rules') is None;"
        "from kerascheck.registry import all_rules;"
        "print(len(all_rules()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 10
