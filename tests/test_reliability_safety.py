"""Reliability (issue #7), safety: user code is never run, and nothing the user owns is
lost by --fix (atomic writes, permissions, owner, encoding, line endings; a failure or a
result that does not parse leaves the file byte for byte).

Fix behaviour already covered by tests/test_fix.py (CRLF, BOM, Latin-1 and mode 0640
kept; syntax errors untouched; a fix that does not parse dropped in memory) is not
repeated here.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BreakingFixRule, run_check

from kerascheck import fix as fix_module
from kerascheck.cli import main
from kerascheck.engine import Options
from kerascheck.fix import fix_file
from kerascheck.ir import Edit, Finding, Fix, ModuleSpec
from kerascheck.rule import Rule, RuleContext

ROOT = Path(__file__).resolve().parent.parent
JSON = ("--format", "json")
CHECK = [sys.executable, "-m", "kerascheck", "check", "--isolated", "--no-cache", *JSON]

LEGACY = "from keras.layers import Dense\nlayer = Dense(output_dim=10)  # tuned\n"
LEGACY_FIXED = "from keras.layers import Dense\nlayer = Dense(units=10)  # tuned\n"


# ------------------------------------------------------------------ never run user code


def _hostile_project(folder: Path, markers: Path) -> None:
    """A project whose every file, if imported or executed, leaves a marker file."""
    m = str(markers)
    (folder / "model.py").write_text(
        f"""\
import os
import subprocess

import keras

M = {m!r}
open(M + "/top_level", "w").write("ran")
__import__("os").system("touch " + M + "/os_system")
subprocess.run(["touch", M + "/subprocess"])
exec("open(M + '/exec', 'w')")
eval("open(M + '/eval', 'w')")


def marker_activation(x):
    open(M + "/activation", "w")
    return x


class Net(keras.Model):
    def call(self, x):
        open(M + "/call", "w")
        return x


def build(units=open(M + "/default_argument", "w")):
    return keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Lambda(lambda t: open(M + "/lambda", "w") or t),
            keras.layers.Dense(8, activation=marker_activation),
            keras.layers.Dense(
                8,
                kernel_initializer=keras.utils.get_file(
                    fname="got_file", origin="file:///etc/hostname", cache_dir=M
                ),
            ),
            keras.layers.Dense(1, activation="softmax"),
        ]
    )


model = build()
model.compile(
    loss="binary_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=keras.models.load_model(M + "/m.keras")),
)
model.fit(open(M + "/fit_argument", "w"), None, epochs=1)
"""
    )
    # Modules a careless linter could import from the project's folder (`python -m`
    # puts the working directory first on sys.path).
    for name in ("keras", "numpy", "tensorflow", "libcst", "rich", "h5py"):
        (folder / f"{name}.py").write_text(f"open({m!r} + '/import_{name}', 'w')\n")
    notebook = {
        "cells": [{"cell_type": "code", "source": f"import keras\nopen({m!r} + '/cell', 'w')"}]
    }
    (folder / "nb.ipynb").write_text(json.dumps(notebook))


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_analysed_code_is_never_run(tmp_path: Path, mode: str) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    _hostile_project(project, markers)
    help_text = run_check(project, "--help").stdout
    if mode == "dynamic" and "--dynamic" not in help_text:
        pytest.skip("no --dynamic in this build")
    if mode == "dynamic" and _dynamic_missing():
        pytest.skip(f"--dynamic needs {_dynamic_missing()}")
    extra = ["--dynamic"] if mode == "dynamic" else []
    run = subprocess.run(
        [*CHECK, *extra, "."],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout)
    # It was analysed (the 1-unit softmax was found), yet nothing of it ran.
    assert "KC101" in {f["code"] for f in report["findings"] if f["path"] == "model.py"}
    assert sorted(p.name for p in markers.iterdir()) == []


def _dynamic_missing() -> str | None:
    from kerascheck.dynamic import missing

    return missing()


def _call_name(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


# What can run code or unpickle, wherever it appears in kerascheck/ and rules/.
RUNS_CODE = {"eval", "exec", "compile", "__import__", "breakpoint", "execfile"}
RUNS_CODE_ATTRIBUTES = {
    "import_module", "exec_module", "run_path", "run_module", "load_model", "model_from_json",
    "model_from_yaml", "model_from_config", "from_config", "deserialize", "system", "popen",
    "Popen", "execv", "execvp", "spawnv", "startfile", "unsafe_load",
}  # fmt: skip
RISKY_KEYWORDS = {"allow_pickle", "safe_mode", "shell"}
DATA_ONLY_LOADERS = {"json", "tomllib", "tomli"}  # `.load()`/`.loads()` on these parse data
# Calls on these modules, whatever the function (but dump/dumps, which only write data).
RUNS_CODE_RECEIVERS = {
    "pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "runpy", "joblib",
    "subprocess", "ctypes", "pty",
}  # fmt: skip
RUNS_CODE_MODULES = {
    "pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "runpy", "code",
    "codeop", "joblib", "subprocess", "ctypes", "pty",
}  # fmt: skip

# Every use there is, each with why it never runs analysed code. A new use fails the test
# until it is justified here; a use that goes away fails it too, to keep the list honest.
ALLOWED = {
    ("kerascheck/registry.py", "importlib.import_module()"): (
        "imports kerascheck.rules' own modules (the built-in rules), not analysed code"
    ),
    ("kerascheck/registry.py", "ep.load()"): (
        "loads rule plugins from installed packages' entry points, not analysed code"
    ),
    ("kerascheck/dynamic/worker.py", "importlib.import_module()"): (
        "--dynamic worker: imports installed keras.* modules only (refuses other names), "
        "from an empty working directory"
    ),
    ("kerascheck/dynamic/channel.py", "import pickle"): (
        "frames between kerascheck and its own --dynamic worker over a private pipe"
    ),
    ("kerascheck/dynamic/channel.py", "pickle.loads()"): (
        "reads only frames its own worker wrote to that pipe; never a file or project data"
    ),
    ("kerascheck/dynamic/runner.py", "import subprocess"): "starts the --dynamic worker",
    ("kerascheck/dynamic/runner.py", "subprocess.Popen()"): (
        "runs `python -m kerascheck.dynamic.worker`, kerascheck's own code"
    ),
    ("kerascheck/extract/saved_h5.py", "import subprocess"): "isolates h5py in a child",
    ("kerascheck/extract/saved_h5.py", "subprocess.run()"): (
        "runs kerascheck's own h5py reader (python -I -c) on the .h5 path, which is data"
    ),
}


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def _runs_code(source: str) -> set[str]:
    """The calls, keywords and imports in ``source`` that could run code or unpickle."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            head, _, last = name.rpartition(".")
            loader = bool(head) and last in ("load", "loads") and head not in DATA_ONLY_LOADERS
            module_call = head in RUNS_CODE_RECEIVERS and last not in ("dump", "dumps")
            if name in RUNS_CODE or last in RUNS_CODE_ATTRIBUTES or loader or module_call:
                found.add(f"{name}()")
            found.update(f"{k.arg}=" for k in node.keywords if k.arg in RISKY_KEYWORDS)
        elif isinstance(node, ast.Import):
            found.update(
                f"import {a.name}" for a in node.names if _top(a.name) in RUNS_CODE_MODULES
            )
        elif isinstance(node, ast.ImportFrom) and _top(node.module) in RUNS_CODE_MODULES:
            found.add(f"from {node.module} import")
    return found


def test_no_eval_exec_import_or_unpickling_of_analysed_code() -> None:
    found = {
        (path.relative_to(ROOT).as_posix(), use)
        for path in sorted([*(ROOT / "kerascheck").rglob("*.py"), *(ROOT / "rules").rglob("*.py")])
        for use in _runs_code(path.read_text(encoding="utf-8"))
    }
    assert found - set(ALLOWED) == set(), "justify these in ALLOWED or remove them"
    assert set(ALLOWED) - found == set(), "no longer used: drop them from ALLOWED"


def test_the_scan_sees_what_it_looks_for() -> None:
    # The scan passing means something only if it catches the real thing.
    sample = """\
import pickle, marshal
from runpy import run_path
eval(s); exec(s); compile(s, "f", "exec"); __import__(n)
importlib.import_module(n); spec.loader.exec_module(m)
pickle.loads(b); marshal.loads(b); subprocess.run(c); os.system(c)
np.load(p, allow_pickle=True); keras.models.load_model(p, safe_mode=False)
json.loads(t); tomllib.loads(t); pickle.dumps(x); model.compile(loss="mse"); re.compile(r)
"""
    assert _runs_code(sample) == {
        "import pickle",
        "import marshal",
        "from runpy import",
        "eval()",
        "exec()",
        "compile()",
        "__import__()",
        "importlib.import_module()",
        "spec.loader.exec_module()",
        "pickle.loads()",
        "marshal.loads()",
        "subprocess.run()",
        "os.system()",
        "np.load()",
        "allow_pickle=",
        "keras.models.load_model()",
        "safe_mode=",
    }


# ------------------------------------------------------------------ saved models


def test_saved_models_are_read_as_data_only(tmp_path: Path) -> None:
    """A .keras archive with a pickle, Lambda bytecode and a custom module: none of it
    runs (static and, when available, --dynamic); it is linted from its JSON config."""
    markers = tmp_path / "markers"
    markers.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "evil_module.py").write_text(f"open({str(markers)!r} + '/custom_module', 'w')\n")
    layers = [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
        {
            "class_name": "Lambda",
            "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {}}},
        },
        {
            "module": "evil_module",
            "class_name": "Evil",
            "registered_name": "evil_module>Evil",
            "config": {"name": "evil"},
        },
        {"class_name": "Dense", "config": {"name": "d", "units": 1, "activation": "softmax"}},
    ]
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "s", "layers": layers},
        "compile_config": {"loss": "binary_crossentropy", "optimizer": "adam"},
    }
    pickled = b"cos\nsystem\n(S'touch " + str(markers).encode() + b"/unpickled'\ntR."
    with zipfile.ZipFile(project / "m.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("model.weights.pkl", pickled)
        archive.writestr("assets/evil.pkl", pickled)
    for extra in ([], [] if _dynamic_missing() else ["--dynamic"]):
        run = run_check(project, "--isolated", "--no-cache", "--format", "json", *extra, ".")
        assert "Traceback" not in run.stderr
        report = json.loads(run.stdout)
        assert "KC101" in {f["code"] for f in report["findings"]}, report
    assert sorted(p.name for p in markers.iterdir()) == []
    assert sorted(p.name for p in project.iterdir()) == ["evil_module.py", "m.keras"]


# ------------------------------------------------------------------ --fix


@pytest.fixture
def legacy_file() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kerascheck-fix-"))
    path = folder / "model.py"
    path.write_text(LEGACY)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".kerascheck-")]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("os.replace", OSError(errno.EXDEV, "Invalid cross-device link")),
        ("os.fsync", OSError(errno.ENOSPC, "No space left on device")),
        ("tempfile.mkstemp", PermissionError(errno.EACCES, "Permission denied")),
        ("os.chmod", OSError(errno.EPERM, "Operation not permitted")),
    ],
    ids=["rename", "disk-full", "read-only-folder", "chmod"],
)
def test_a_failed_write_leaves_the_original_and_says_so(
    legacy_file: Path, monkeypatch: pytest.MonkeyPatch, target: str, error: OSError
) -> None:
    module, name = target.split(".")

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(getattr(fix_module, module), name, fail)
    outcome = fix_file(str(legacy_file), Options(), unsafe=False, write=True)
    assert legacy_file.read_text() == LEGACY
    assert _leftovers(legacy_file.parent) == []
    (reported,) = outcome.result.errors
    assert reported.message == f"cannot write the fixed file: {error.strerror}"
    assert not outcome.changed and not outcome.fixed


def test_a_failed_write_through_the_cli_is_exit_2(
    legacy_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fix_module.os, "replace", fail)
    # --jobs 1: the fix runs in this process, where the failure is patched in.
    status = main(
        ["check", "--fix", "--isolated", "--no-cache", "--jobs", "1", *JSON, str(legacy_file)]
    )
    report = json.loads(capsys.readouterr().out)
    assert status == 2 and legacy_file.read_text() == LEGACY
    assert [e["message"] for e in report["errors"]] == [
        "cannot write the fixed file: Read-only file system"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(legacy_file: Path) -> None:
    folder = legacy_file.parent
    folder.chmod(0o555)
    try:
        run = run_check(folder, "--fix", "--isolated", "--format", "json", "model.py")
    finally:
        folder.chmod(0o755)
    assert run.returncode == 2 and legacy_file.read_text() == LEGACY


def test_a_file_saved_while_being_fixed_is_not_overwritten(
    legacy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = LEGACY + "# typed in the editor meanwhile\n"
    real_fix_source = fix_module.fix_source

    def slow_fix_source(*args: object, **kwargs: object) -> fix_module.FixOutcome:
        outcome = real_fix_source(*args, **kwargs)  # type: ignore[arg-type]
        legacy_file.write_text(edited)  # the editor saves while the fix is computed
        return outcome

    monkeypatch.setattr(fix_module, "fix_source", slow_fix_source)
    outcome = fix_file(str(legacy_file), Options(), unsafe=False, write=True)
    assert legacy_file.read_text() == edited
    (error,) = outcome.result.errors
    assert error.message == "cannot write the fixed file: it changed while being fixed; run again"


def test_fix_keeps_owner_mode_and_symlinks(legacy_file: Path) -> None:
    folder = legacy_file.parent
    os.chmod(legacy_file, 0o751)
    if os.geteuid() == 0:
        os.chown(legacy_file, 1234, 5678)  # root fixing someone else's file
    link = folder / "link.py"
    link.symlink_to(legacy_file.name)
    before = legacy_file.stat()
    fix_file(str(link), Options(), unsafe=False, write=True)
    after = legacy_file.stat()
    assert link.is_symlink() and legacy_file.read_text() == LEGACY_FIXED
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert _leftovers(folder) == []


LATIN_BEFORE = (
    "# coding: latin-1\nfrom keras.layers import Dense\nn = 'é'; l = Dense(output_dim=1)\n"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # Mixed endings: only the fixed token changes, every line keeps its own ending.
        (
            b"from keras.layers import Dense\r\nx = 1\nlayer = Dense(output_dim=10)\r\n",
            b"from keras.layers import Dense\r\nx = 1\nlayer = Dense(units=10)\r\n",
        ),
        (  # old Mac line endings
            b"from keras.layers import Dense\rlayer = Dense(output_dim=10)\r",
            b"from keras.layers import Dense\rlayer = Dense(units=10)\r",
        ),
        (  # no newline at the end, a form feed, tabs and trailing spaces kept
            b"from keras.layers import Dense\n\x0c\nif 1:\n\tlayer = Dense(output_dim=10)   ",
            b"from keras.layers import Dense\n\x0c\nif 1:\n\tlayer = Dense(units=10)   ",
        ),
        (
            LATIN_BEFORE.encode("latin-1"),
            LATIN_BEFORE.replace("output_dim", "units").encode("latin-1"),
        ),
    ],
    ids=["mixed-endings", "cr", "no-final-newline", "latin1-same-line"],
)
def test_fix_changes_only_the_fixed_bytes(legacy_file: Path, before: bytes, after: bytes) -> None:
    legacy_file.write_bytes(before)
    fix_file(str(legacy_file), Options(), unsafe=False, write=True)
    assert legacy_file.read_bytes() == after
    fix_file(str(legacy_file), Options(), unsafe=False, write=True)
    assert legacy_file.read_bytes() == after  # idempotent


class _NonLatinRule(Rule):
    """A plugin whose fix inserts text the file's encoding cannot hold."""

    code = "KC998"
    name = "non-latin-fix"
    summary = why = example = use_instead = "test"

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        span = module.api_uses[-1].span  # `Dense`, last on its line: a comment may follow
        yield self.finding(span, "x", fix=Fix("snowman", (Edit(span, "  # ☃", "after"),), True))


def test_a_fix_the_encoding_cannot_hold_is_an_error_not_a_crash(legacy_file: Path) -> None:
    data = "# coding: latin-1\nfrom keras.layers import Dense\n".encode("latin-1")
    legacy_file.write_bytes(data)
    outcome = fix_file(str(legacy_file), Options(), False, True, rules=[_NonLatinRule()])
    assert legacy_file.read_bytes() == data
    (error,) = outcome.result.errors
    assert error.message.startswith("cannot write the fixed file: 'latin-1' codec")


def test_a_fix_that_does_not_parse_never_reaches_the_disk(legacy_file: Path) -> None:
    outcome = fix_file(str(legacy_file), Options(), False, True, rules=[BreakingFixRule()])
    assert legacy_file.read_text() == LEGACY and not outcome.fixed
    assert _leftovers(legacy_file.parent) == []


@pytest.mark.parametrize(
    "data",
    [
        LEGACY.encode() + b"try:\n    pass\nexcept Exception, e:\n    pass\n",  # libcst takes it
        LEGACY.encode() + b"x = 1\x00\n",
        LEGACY.encode() + b"x = '\xff'\n",
        LEGACY.encode() + b"x = " + b"(" * 1000 + b")" * 1000 + b"\n",
        b"\xef\xbb\xbf# coding: latin-1\n" + LEGACY.encode(),
    ],
    ids=["python2-except", "null-byte", "undecodable", "too-deep", "bom-and-latin1"],
)
def test_files_that_cannot_be_checked_are_never_touched(legacy_file: Path, data: bytes) -> None:
    legacy_file.write_bytes(data)
    outcome = fix_file(str(legacy_file), Options(), unsafe=True, write=True)
    assert legacy_file.read_bytes() == data
    assert len(outcome.result.errors) == 1 and not outcome.fixed


def test_fix_on_every_fixture_is_idempotent_and_leaves_python(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    first = run_check(tmp_path, "--fix", "--unsafe-fixes", "--isolated", "fixtures")
    assert "Traceback" not in first.stderr
    fixed = {p: p.read_bytes() for p in sorted((tmp_path / "fixtures").rglob("*.py"))}
    second = run_check(tmp_path, "--fix", "--unsafe-fixes", "--isolated", "fixtures")
    assert {p: p.read_bytes() for p in fixed} == fixed
    assert second.returncode == first.returncode
    for path, data in fixed.items():
        ast.parse(data, filename=str(path))
