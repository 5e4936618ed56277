"""The command line, end to end in a subprocess: formats, selection, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BUG = """\
from keras.models import Sequential
from keras.layers import Dense
model = Sequential([Dense(8, activation="relu"), Dense(1, activation="softmax")])
model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
import numpy
model.fit(numpy.random.rand(100, 4), numpy.random.rand(100, 1))  # continuous targets
"""
CLEAN = """\
from keras.models import Sequential
from keras.layers import Dense
model = Sequential([Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NO_COLOR", None) if env is None or "NO_COLOR" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_clean_file_exits_zero(project: Path) -> None:
    result = run("check", "clean.py", cwd=project)
    assert result.returncode == 0
    assert "All checks passed (1 files checked)." in result.stdout


def test_findings_exit_one_with_concise_lines(project: Path) -> None:
    result = run("check", "bug.py", "--format", "concise", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split(" ")[0:2] for line in lines] == [
        ["bug.py:3:70:", "KC101"],
        ["bug.py:4:54:", "KC104"],
    ]


def test_json_output_follows_the_contract(project: Path) -> None:
    result = run("check", "bug.py", "--format", "json", cwd=project)
    report = json.loads(result.stdout)
    assert set(report) == {"findings", "errors", "summary"}
    first = report["findings"][0]
    assert first == {
        "path": "bug.py",
        "line": 3,
        "column": 70,
        "end_line": 3,
        "end_column": 79,
        "code": "KC101",
        "rule": "softmax-single-unit",
        "severity": "error",
        "message": first["message"],
        "dynamic": None,
        "evidence": None,
        "fix": None,  # the loss is mse: turning the output into a sigmoid is not obviously right
    }
    assert "always outputs 1.0" in first["message"]
    assert report["summary"] == {
        "files_checked": 1,
        "findings": 2,
        "errors": 0,
        "by_code": {"KC101": 1, "KC104": 1},
    }


def test_select_and_ignore_by_code_and_prefix(project: Path) -> None:
    def codes(*args: str) -> list[str]:
        out = run("check", "bug.py", "--format", "json", *args, cwd=project).stdout
        return [f["code"] for f in json.loads(out)["findings"]]

    assert codes("--select", "KC101") == ["KC101"]
    assert codes("--select", "KC10", "--ignore", "KC104") == ["KC101"]
    assert codes("--ignore", "KC1") == []
    assert run("check", "bug.py", "--select", "KC2", cwd=project).returncode == 0


def test_unknown_code_is_a_usage_error(project: Path) -> None:
    result = run("check", "bug.py", "--select", "KC999", cwd=project)
    assert result.returncode == 2
    assert "unknown rule code or prefix: KC999" in result.stderr


def test_unreadable_input_exits_two_and_the_rest_is_still_checked(project: Path) -> None:
    (project / "broken.py").write_text("import keras\nmodel = keras.Sequential([\n")
    (project / "binary.py").write_bytes(b"\x00\xff\xfe keras \x00")
    result = run("check", ".", "--format", "concise", cwd=project)
    assert result.returncode == 2
    assert "bug.py:3:70: KC101" in result.stdout
    assert "broken.py:2:26: error: syntax error: '[' was never closed" in result.stdout
    assert "binary.py: error:" in result.stdout


def test_missing_path_is_reported(project: Path) -> None:
    result = run("check", "nope.py", cwd=project)
    assert result.returncode == 2
    assert "nope.py: error: cannot read" in result.stdout


def test_plain_text_when_not_a_terminal(project: Path) -> None:
    result = run("check", "bug.py", cwd=project)
    assert "\x1b[" not in result.stdout
    assert "bug.py:3:70: KC101 softmax over a 1-unit output" in result.stdout
    assert (
        '3 | model = Sequential([Dense(8, activation="relu"), '
        'Dense(1, activation="softmax")])' in result.stdout
    )
    caret_line = next(line for line in result.stdout.splitlines() if "^" in line)
    assert caret_line.endswith(" " * 69 + "^" * 9)
    assert "Found 2 findings (1 error, 1 warning) in 1 file; 1 files checked." in result.stdout


def test_default_path_and_default_excludes(project: Path) -> None:
    for excluded in (".venv", "build", "site-packages", ".git"):
        (project / excluded).mkdir()
        (project / excluded / "bug.py").write_text(BUG)
    (project / "skipme").mkdir()
    (project / "skipme" / "bug.py").write_text(BUG)
    result = run("check", "--format", "json", "--exclude", "skipme", cwd=project)
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert paths == {"bug.py"}


def test_rules_and_explain(project: Path) -> None:
    listing = run("rules", cwd=project).stdout
    assert listing.splitlines()[0].startswith("KC101  softmax-single-unit")
    explained = run("explain", "KC101", cwd=project)
    assert explained.returncode == 0
    for heading in ("## KC101 softmax-single-unit", "### Why is this bad?", "### Use instead"):
        assert heading in explained.stdout
    assert run("explain", "softmax-single-unit", cwd=project).stdout == explained.stdout
    missing = run("explain", "KC999", cwd=project)
    assert missing.returncode == 2 and "unknown rule: KC999" in missing.stderr


def test_every_rule_can_be_explained(project: Path) -> None:
    codes = [
        row["code"] for row in json.loads(run("rules", "--format", "json", cwd=project).stdout)
    ]
    for code in codes:
        assert run("explain", code, cwd=project).stdout.startswith(f"## {code} ")


def test_no_command_prints_help(project: Path) -> None:
    result = run(cwd=project)
    assert result.returncode == 2 and "usage: kerascheck" in result.stdout


def test_a_broken_rule_plugin_is_a_clear_error(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    (plugin / "broken_rules").mkdir(parents=True)
    (plugin / "broken_rules" / "__init__.py").write_text("")
    (plugin / "broken_rules" / "kc999_broken.py").write_text("raise RuntimeError('boom')\n")
    dist = plugin / "broken_rules-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-rules\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kerascheck.rules]\nbroken = broken_rules\n")
    (tmp_path / "m.py").write_text(CLEAN)
    result = run("check", "m.py", cwd=tmp_path, env={"PYTHONPATH": str(plugin)})
    assert result.returncode == 2
    assert "cannot load rule module broken_rules.kc999_broken: boom" in result.stderr
    assert "Traceback" not in result.stderr
