"""The pre-commit hook, run by the real pre-commit with the configuration that
docs/integrations.md gives, pointed at this checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from test_integrations_doc import precommit_config

ROOT = Path(__file__).resolve().parent.parent
BUG = 'import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    git(path, "config", "user.email", "test@example.invalid")
    git(path, "config", "user.name", "test")
    return path


def snapshot_of_this_checkout(tmp_path: Path) -> tuple[Path, str]:
    """The working tree as it is (uncommitted work included), committed in a new repository,
    as ``pre-commit try-repo`` would: the ``repo`` and ``rev`` the hook is installed from."""
    snapshot = new_repo(tmp_path / "kerascheck")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # not a file deleted from the working tree
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-qm", "snapshot")
    return snapshot, git(snapshot, "rev-parse", "HEAD").strip()


def run_hooks(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def repo_with_the_documented_hook(tmp_path: Path) -> Path:
    snapshot, rev = snapshot_of_this_checkout(tmp_path)
    config = precommit_config()
    # Only where the hook comes from changes: the documented URL and tag, made local.
    config["repos"][0].update(repo=str(snapshot), rev=rev)
    repo = new_repo(tmp_path / "repo")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return repo


def test_documented_config_fails_on_a_bug_and_passes_once_fixed(tmp_path: Path) -> None:
    repo = repo_with_the_documented_hook(tmp_path)
    (repo / "model.py").write_text(BUG)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "model")
    home = tmp_path / "pre-commit-home"

    failing = run_hooks(repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "model.py:2:60: KC101" in failing.stdout

    (repo / "model.py").write_text(BUG.replace('"softmax"', '"sigmoid"'))
    git(repo, "commit", "-qam", "fix")
    passing = run_hooks(repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout


def test_the_hook_checks_a_repository_that_holds_only_a_notebook(tmp_path: Path) -> None:
    """pre-commit matches files by type: ``types: [python]`` never matched an .ipynb."""
    repo = repo_with_the_documented_hook(tmp_path)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Training\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": BUG.splitlines(True)},
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (repo / "train.ipynb").write_text(json.dumps(notebook, indent=1))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "notebook")

    failing = run_hooks(repo, tmp_path / "pre-commit-home")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "train.ipynb:cell 2:2:60: KC101" in failing.stdout
