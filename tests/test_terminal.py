"""Text output on a real terminal (a pty): rich colours, and NO_COLOR turning them off."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from conftest import run_check

BUG = 'import keras\nm = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'


def run_on_a_terminal(cwd: Path, env: dict[str, str], *args: str, stream: str = "stdout") -> str:
    """What ``kerascheck check ARGS`` writes to ``stream`` when that stream is a terminal
    (the other one goes to /dev/null)."""
    leader, follower = pty.openpty()
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, stream: follower}
    process = subprocess.Popen(
        [sys.executable, "-m", "kerascheck", "check", *(args or ("bug.py",))],
        stdout=streams["stdout"],
        stderr=streams["stderr"],
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode()


def test_rich_colours_on_a_terminal_and_none_with_no_color(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(BUG)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    coloured = run_on_a_terminal(tmp_path, env)
    assert "\x1b[" in coloured and "KC101" in coloured
    plain = run_on_a_terminal(tmp_path, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain and "bug.py:2:56: KC101" in plain


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    for index in range(60):
        (tmp_path / f"m{index}.py").write_text(BUG)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    args = ("--jobs", "1", "--no-cache", "--format", "concise", ".")
    drawn = run_on_a_terminal(tmp_path, env, *args, stream="stderr")
    assert "Checking" in drawn and "/60" in drawn
    piped = run_check(tmp_path, *args, env=env)
    assert piped.stderr == "" and piped.stdout.count("KC101") == 60
