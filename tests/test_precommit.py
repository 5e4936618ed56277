"""The pre-commit hook, run by the real pre-commit against this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUG = 'import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "kerascheck", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_hook_fails_on_a_bug_and_passes_once_fixed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "test")
    (repo / "model.py").write_text(BUG)
    git(repo, "add", "model.py")
    git(repo, "commit", "-qm", "model")
    home = tmp_path / "pre-commit-home"

    failing = try_repo(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "model.py:2:60: KC101" in failing.stdout

    (repo / "model.py").write_text(BUG.replace('"softmax"', '"sigmoid"'))
    git(repo, "commit", "-qam", "fix")
    passing = try_repo(repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
