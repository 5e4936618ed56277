"""Text output on a real terminal (a pty): rich colours, and NO_COLOR turning them off."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

BUG = 'import keras\nm = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'


def run_on_a_terminal(cwd: Path, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "kerascheck", "check", "bug.py"],
        stdout=follower,
        stderr=subprocess.DEVNULL,
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
