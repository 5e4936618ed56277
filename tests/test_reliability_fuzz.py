"""Reliability (issue #7), generated inputs: Python modules from hypothesmith and mutated
real files (fixtures and a sample of the reference corpus when it is downloaded), checked
in-process (many examples) and through the CLI on a directory of mutants.

The invariants are tools/fuzz_corpus.py's (the long run uses the same checks on the whole
corpus): never a traceback; one error per unreadable or unparsable input, naming it, at
Python's line and column for syntax errors; exit status 2 if any input could not be
checked; --fix never breaks a file and a second --fix changes nothing. The example counts
are fixed (EXAMPLES) and derandomized, so every run tries the same inputs.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerascheck.engine import Options, lint_file, lint_source
from kerascheck.fix import fix_file

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / ".cache" / "corpus"

# Inputs tried per run (docs/reliability.md quotes these).
EXAMPLES = {"grammar": 200, "libcst_nodes": 40, "mutants": 600, "fix": 200}
CLI_MUTANTS = 60
TRIED: Counter[str] = Counter()


def _load_fuzz_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_corpus", ROOT / "tools" / "fuzz_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_tool()


def _seeds() -> list[bytes]:
    """Every fixture, and every 90th small Keras file of the corpus if it is there (the
    order is fixed, so a derandomized run draws the same inputs)."""
    files = sorted((ROOT / "fixtures").rglob("*.py"))
    if CORPUS.is_dir():
        small = [
            p
            for p in sorted(CORPUS.rglob("*.py"))
            if "wheels" not in p.parts and p.stat().st_size < 8000 and b"keras" in p.read_bytes()
        ]
        files += small[::90]
    return [p.read_bytes() for p in files]


SEEDS = _seeds()


def fuzz_settings(kind: str) -> settings:
    return settings(
        max_examples=EXAMPLES[kind],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    seed = draw(st.sampled_from(SEEDS))
    return fuzz.mutate(seed, draw(st.randoms(use_true_random=False)))


def _lint_generated(kind: str, source: str, with_keras: bool) -> None:
    TRIED[kind] += 1
    # Most generated modules never mention Keras; the prefix gets them past the prefilter.
    source = ("import keras\n" if with_keras else "") + source
    result = lint_source(source, "generated.py", Options())
    assert fuzz.check_source(source, result) == []


def _ran(kind: str, run: Callable[[], None]) -> None:
    """Run a hypothesis test and check it tried all its examples (the figure the docs
    quote); the count is per process, so it holds under xdist too."""
    TRIED[kind] = 0
    run()
    assert TRIED[kind] == EXAMPLES[kind], (kind, TRIED[kind])


# hypothesmith compiles what it generates; Python warns about `...()` and the like.
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
def test_generated_modules_are_checked_without_a_traceback() -> None:
    @fuzz_settings("grammar")
    @given(source=hypothesmith.from_grammar(), with_keras=st.booleans())
    def generated(source: str, with_keras: bool) -> None:
        _lint_generated("grammar", source, with_keras)

    _ran("grammar", generated)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
def test_modules_built_from_libcst_nodes_are_checked() -> None:
    @fuzz_settings("libcst_nodes")
    @given(source=hypothesmith.from_node(), with_keras=st.booleans())
    def generated(source: str, with_keras: bool) -> None:
        _lint_generated("libcst_nodes", source, with_keras)

    _ran("libcst_nodes", generated)


def test_mutated_files_are_checked_or_one_error(tmp_path: Path) -> None:
    path = tmp_path / "mutant.py"

    @fuzz_settings("mutants")
    @given(data=mutated_files())
    def mutated(data: bytes) -> None:
        TRIED["mutants"] += 1
        path.write_bytes(data)
        result = lint_file(str(path), Options())
        assert fuzz.check_result(data, result) == []

    _ran("mutants", mutated)


def test_fix_on_mutated_files_never_breaks_one(tmp_path: Path) -> None:
    path = tmp_path / "mutant.py"
    options = Options()

    @fuzz_settings("fix")
    @given(data=mutated_files())
    def fixed(data: bytes) -> None:
        TRIED["fix"] += 1
        path.write_bytes(data)
        fix_file(str(path), options, unsafe=True, write=True)
        after = path.read_bytes()
        fix_file(str(path), options, unsafe=True, write=True)
        assert fuzz.check_fix(data, after, path.read_bytes()) == []
        assert [p.name for p in tmp_path.iterdir()] == ["mutant.py"]  # no temporary left

    _ran("fix", fixed)


# ------------------------------------------------------------------ the CLI, end to end


def _mutant_tree(folder: Path) -> dict[str, bytes]:
    """CLI_MUTANTS mutated files (a fixed sample), two intact fixtures, one subfolder."""
    rng = random.Random(7)
    files: dict[str, bytes] = {}
    for index in range(CLI_MUTANTS):
        files[f"m{index:03d}.py"] = fuzz.mutate(rng.choice(SEEDS), rng)
    files["intact/a.py"] = (ROOT / "fixtures" / "seed001_cnn_softmax_one_unit.py").read_bytes()
    files["intact/b.py"] = (ROOT / "fixtures" / "seed000_mlp_sgd_lr.py").read_bytes()
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files


def _check(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", "check", "--isolated", "--no-cache", *args],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=300,
        check=False,
    )


def test_cli_on_a_directory_of_mutants(tmp_path: Path) -> None:
    files = _mutant_tree(tmp_path)
    run = _check(tmp_path, "--format", "json", "--jobs", "2", ".")
    assert "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout)
    errors = Counter(e["path"] for e in report["errors"])
    assert all(count == 1 for count in errors.values()), errors
    for name, data in files.items():
        # The CLI says what the engine says in-process about each file, and that is right.
        result = lint_file(str(tmp_path / name), Options())
        assert fuzz.check_result(data, result) == [], name
        expected = [(e.message, e.line, e.column) for e in result.errors]
        mine = [e for e in report["errors"] if e["path"] == name]
        got = [(e["message"], e["line"], e["column"]) for e in mine]
        assert got == expected, name
        found = [f for f in report["findings"] if f["path"] == name]
        assert len(found) == len(result.findings), name
    assert report["summary"]["errors"] == len(report["errors"])
    expected_status = 2 if report["errors"] else 1 if report["findings"] else 0
    assert run.returncode == expected_status
    assert errors and {"intact/a.py", "intact/b.py"} <= {f["path"] for f in report["findings"]}


def test_cli_fix_on_a_directory_of_mutants(tmp_path: Path) -> None:
    files = _mutant_tree(tmp_path)
    run = _check(tmp_path, "--fix", "--unsafe-fixes", "--format", "json", "--jobs", "2", ".")
    assert "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout)
    assert run.returncode == (2 if report["errors"] else 1 if report["findings"] else 0)
    after = {name: (tmp_path / name).read_bytes() for name in files}
    again = _check(tmp_path, "--fix", "--unsafe-fixes", "--format", "json", ".")
    assert "Traceback" not in again.stderr
    for name, data in files.items():
        assert fuzz.check_fix(data, after[name], (tmp_path / name).read_bytes()) == [], name
    assert sum(after[name] != data for name in files) >= 2  # the intact fixtures got fixed
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".kerascheck-")]
    assert leftovers == []
