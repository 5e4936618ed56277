"""Static mode never imports TensorFlow or Keras, and never runs the code it checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_static_run_imports_no_tensorflow_or_keras(tmp_path: Path) -> None:
    probe = (
        "import sys; from kerascheck.cli import main;"
        f"main(['check', {str(ROOT / 'fixtures')!r}, '--format', 'json', '--jobs', '1']);"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'));"
        "print('HEAVY', heavy, file=sys.stderr);"
        # The dynamic mode's package too: the engine reaches it only under --dynamic.
        "dynamic = sorted(m for m in sys.modules if m.startswith('kerascheck.dynamic'));"
        "print('DYNAMIC', dynamic, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]
    assert "DYNAMIC []" in result.stderr, result.stderr[-2000:]


def test_checked_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
    )
    (tmp_path / "uses_evil.py").write_text("import evil\nimport keras\n")
    result = subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", ".", "--format", "concise"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "evil.py:4:" in result.stdout and "KC101" in result.stdout
    assert not marker.exists()


def test_the_package_has_no_eval_exec_or_dynamic_import_of_user_code() -> None:
    offenders = []
    for path in (ROOT / "kerascheck").rglob("*.py"):
        text = path.read_text()
        for needle in (
            "eval(",
            "exec(",
            "__import__(",
            "runpy",
            "import_module(spec",
            "exec_module",
        ):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
