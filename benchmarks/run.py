#!/usr/bin/env python3
"""kerascheck performance harness (issue #11): every figure of the performance model in one run.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/run.py                      # reference corpus, 1 run each
    .venv/bin/python benchmarks/run.py --repeat 3           # median of 3 runs each
    .venv/bin/python benchmarks/run.py --quick              # every 10th file, for a fast try
    .venv/bin/python benchmarks/run.py --corpus ~/src/proj --skip-others --json out.json

Without ``--corpus`` the reference corpus is used, downloaded with ../shared/corpus/get.sh
into .cache/corpus when it is absent. All measurements see the same list of files: every
``*.py`` file under the corpus, skipping the directories kerascheck skips by default. The
floor and the scaling subsets get that list explicitly; kerascheck gets the corpus root when
its own discovery yields exactly that list (what a user runs), else the list itself. The
counts (floor, kerascheck's discovery, kerascheck's own report) are printed and stored.

Measurements (each a new process timed from the outside: wall clock, and CPU = user + sys
of the process and its workers from ``os.wait4``; each figure is the MEDIAN of ``--repeat``
runs, or the minimum with ``--statistic min``; the small-file case takes ``--small-repeat``
runs; every sample is in the JSON):

floor          ``benchmarks/floor.py``: read + ``libcst.parse_module`` every file, 1 process.
cold_single    ``kerascheck check --jobs 1 --no-cache --format concise --isolated PATH``.
cold_parallel  the same with ``--jobs N`` (``--jobs``, default 2).
warm           ``--cache-dir TMP`` run once untimed, then timed: every file a cache hit.
small_file     one small file as a new process (the editor on-save case), static mode.
peak_rss       ``ru_maxrss`` of the cold single-process run, from ``os.wait4`` on that child
               (Linux reports KiB; shown in MB = 10^6 bytes); the maximum over the repeats.
scaling        cold single-process time on nested deterministic subsets (every 10th file;
               files whose index mod 10 is 0, 3 or 6; all). A subset's share of the corpus
               is its share of the bytes; kerascheck's time (start-up included) / that
               share must stay within 15 % of the full run's time. The floor is run on
               each subset too, and the table shows its share of the floor's parse time
               ("work") for context: libcst's cost per byte varies 8x between files, and
               kerascheck, which leaves most of the costliest file unparsed, no longer
               follows it (docs/performance.md).
others         ruff, flake8, pylint, fixit when installed, default settings, same file list.

Contention: for every run the harness also records how many cores OTHER processes kept busy
meanwhile (busy time from /proc/stat minus the child's own CPU, over the wall time); the
table's "others" column shows it for the sample reported. Above 0.25 of a core the header
says BUSY: wall times are then inflated (parallel runs most), and the CPU columns are the
better guide. Run it on an otherwise idle machine for figures to quote.

``--snapshot [REV]`` measures kerascheck as committed at REV (default HEAD), extracted into
a scratch folder first on PYTHONPATH, instead of the working tree: other people's edits
during a run would change the code measured and invalidate kerascheck's cache. Children run
with bytecode caching on (PYTHONPYCACHEPREFIX in the scratch folder), like an installed tool.

``--no-cache`` / ``--cache-dir`` are used only when ``kerascheck check --help`` lists them;
without cache support the warm run is reported as "n/a (no cache support)". "Cold" means
no kerascheck result cache: the OS page cache and Python's bytecode caches are warm (every
file is read once and kerascheck runs once, untimed, before any measurement).

Targets (pass/fail in the table and the JSON): cold single <= 1.15x floor; cold --jobs 2
<= 0.65x floor; warm < 1 s; small file < 0.35 s; peak RSS < 200 MB; every subset's
time / fraction within 15 % of the full run. The exit status is 0 when the harness ran
(whatever the targets say), 1 with ``--strict`` and a failed target, 2 on a harness error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KERASCHECK_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = ROOT / ".cache" / "corpus"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"
DEFAULT_SMALL_FILE = ROOT / "fixtures" / "seed001_cnn_softmax_one_unit.py"
FLOOR_SCRIPT = Path(__file__).resolve().with_name("floor.py")

STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "median": statistics.median,
    "min": min,
}
MB = 1_000_000
COLD_SINGLE_MAX = 1.15
COLD_PARALLEL_MAX = 0.65
WARM_MAX_S = 1.0
SMALL_FILE_MAX_S = 0.35
PEAK_RSS_MAX_MB = 200.0
SCALING_TOLERANCE = 0.15
BUSY_OTHER_CORES = 0.25
# Subsets as residues of the file index modulo 10: nested, deterministic, spread over the corpus.
SUBSETS: tuple[tuple[str, frozenset[int]], ...] = (
    ("10 %", frozenset({0})),
    ("30 %", frozenset({0, 3, 6})),
)
MEASUREMENT_KEYS = (
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
OTHER_TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (python module for ``-m`` when there is no executable, arguments before the files)
    "ruff": ("ruff", ("check", "--isolated", "--no-cache", "--exit-zero")),
    "flake8": ("flake8", ("--isolated", "--exit-zero")),
    "pylint": ("pylint", ("--exit-zero",)),
    "fixit": ("fixit", ("lint",)),
}
# How a tool says it checked nothing: fixit honours .gitignore, and the reference corpus
# lives in the repository's ignored .cache/, so it would be timed doing nothing.
NOTHING_CHECKED = {"fixit": re.compile(r"\b0 files\b")}

TARGETED = ("cold_single", "cold_parallel", "warm", "small_file", "peak_rss", "scaling")
FALLBACK_EXCLUDES = (".git", ".venv", "venv", "__pycache__", "build", "dist", "site-packages")


class HarnessError(Exception):
    """The harness cannot measure (no corpus, kerascheck missing, ...)."""


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Run:
    """One process run, timed from the outside."""

    seconds: float
    max_rss_kb: int
    cpu_seconds: float
    returncode: int
    stdout: str
    stderr: str
    other_cores: float | None = None  # cores busy with other work meanwhile (see busy_seconds)


def busy_seconds() -> float | None:
    """CPU seconds all processors have spent busy since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    ticks = [int(x) for x in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def other_cores(busy_before: float | None, wall: float, own_cpu: float) -> float | None:
    """The average number of cores other processes kept busy while ours ran."""
    busy_after = busy_seconds()
    if busy_before is None or busy_after is None or wall <= 0:
        return None
    return max(0.0, (busy_after - busy_before - own_cpu) / wall)


def run_process(cmd: Sequence[str], cwd: Path) -> Run:
    """Start ``cmd``, wait for it with ``os.wait4`` (that child's own rusage), time it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: never leave a measured child running
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        out.seek(0)
        err.seek(0)
        return Run(
            seconds=seconds,
            max_rss_kb=usage.ru_maxrss,
            cpu_seconds=cpu,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            other_cores=other_cores(busy_before, seconds, cpu),
        )


def arg_budget() -> int:
    """Bytes of arguments one exec may take, with a wide margin for the environment."""
    try:
        limit = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        limit = 131072
    environment = sum(len(k) + len(v) + 2 + 8 for k, v in os.environ.items())
    return max(16384, limit // 2 - environment)


def batches(files: Sequence[str], budget: int) -> Iterator[list[str]]:
    batch: list[str] = []
    used = 0
    for name in files:
        cost = len(os.fsencode(name)) + 1 + 8  # the string, its NUL, its pointer
        if batch and used + cost > budget:
            yield batch
            batch, used = [], 0
        batch.append(name)
        used += cost
    if batch:
        yield batch


def run_on_files(prefix: Sequence[str], files: Sequence[str], cwd: Path) -> Run:
    """``prefix + files``, split into several processes only if the argument list is too long
    for one exec (then the times and CPU add up, the peak RSS is the largest)."""
    runs = [run_process([*prefix, *batch], cwd) for batch in batches(files, arg_budget())]
    if len(runs) == 1:
        return runs[0]
    return Run(
        seconds=sum(r.seconds for r in runs),
        max_rss_kb=max(r.max_rss_kb for r in runs),
        cpu_seconds=sum(r.cpu_seconds for r in runs),
        returncode=max(r.returncode for r in runs),
        stdout="".join(r.stdout for r in runs),
        stderr="".join(r.stderr for r in runs),
        other_cores=weighted_other_cores(runs),
    )


def weighted_other_cores(runs: Sequence[Run]) -> float | None:
    if any(r.other_cores is None for r in runs):
        return None
    wall = sum(r.seconds for r in runs)
    return sum(r.other_cores * r.seconds for r in runs) / wall if wall else None  # type: ignore[operator]


def summarize(
    runs: Sequence[Run], statistic: str, ok_codes: Sequence[int] = (0, 1, 2)
) -> dict[str, Any]:
    """The runs' median (or min) wall and cpu time, every sample; "error" if a run failed."""
    pick = STATISTICS[statistic]
    bad = [r for r in runs if r.returncode not in ok_codes]
    summary: dict[str, Any] = {
        "status": "error" if bad else "ok",
        "seconds": pick([r.seconds for r in runs]),
        "statistic": statistic,
        "samples": [round(r.seconds, 4) for r in runs],
        "min_seconds": min(r.seconds for r in runs),
        "min_cpu_seconds": min(r.cpu_seconds for r in runs),
        "cpu_seconds": pick([r.cpu_seconds for r in runs]),
        "max_rss_mb": max(r.max_rss_kb for r in runs) * 1024 / MB,
        "returncodes": sorted({r.returncode for r in runs}),
        "other_cores": [None if r.other_cores is None else round(r.other_cores, 2) for r in runs],
    }
    chosen = min(runs, key=lambda r: abs(r.seconds - summary["seconds"]))
    summary["other_cores_chosen"] = chosen.other_cores
    if bad:
        summary["error"] = f"exit {bad[0].returncode}: {tail(bad[0].stderr)}"
    return summary


def tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def progress(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def timed(label: str, action: Callable[[], Run]) -> Run:
    progress(f"{label} ...")
    run = action()
    progress(f"{label}: {run.seconds:.2f} s (exit {run.returncode})")
    return run


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: tuple[str, ...]  # relative to root, sorted, '/'-separated
    total_files: int  # before --quick

    def subset(self, residues: frozenset[int]) -> list[str]:
        return [name for i, name in enumerate(self.files) if i % 10 in residues]


def default_excludes() -> tuple[str, ...]:
    try:
        from kerascheck.discover import DEFAULT_EXCLUDES
    except ImportError:
        return FALLBACK_EXCLUDES
    return tuple(DEFAULT_EXCLUDES)


def excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def list_files(root: Path) -> list[str]:
    """Every ``*.py`` file under root, skipping the directories kerascheck skips by default."""
    patterns = default_excludes()
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not excluded(d, patterns))
        base = Path(dirpath).relative_to(root)
        for filename in sorted(filenames):
            path = root / base / filename
            if filename.endswith(".py") and not excluded(filename, patterns) and path.is_file():
                found.append((base / filename).as_posix())
    return sorted(found)


def ensure_reference_corpus() -> Path:
    if any(DEFAULT_CORPUS.rglob("*.py")):
        return DEFAULT_CORPUS
    get = SHARED / "corpus" / "get.sh"
    if not get.is_file():
        raise HarnessError(f"no corpus at {DEFAULT_CORPUS} and no {get} to download it")
    progress(f"downloading the reference corpus into {DEFAULT_CORPUS} ...")
    subprocess.run(["bash", str(get), str(DEFAULT_CORPUS)], check=True, cwd=ROOT)
    return DEFAULT_CORPUS


def load_corpus(path: str | None, quick: bool) -> Corpus:
    root = ensure_reference_corpus() if path is None else Path(path).expanduser().resolve()
    if not root.is_dir():
        raise HarnessError(f"corpus {root} is not a directory")
    files = list_files(root)
    if not files:
        raise HarnessError(f"no .py files under {root}")
    chosen = files[::10] if quick else files
    return Corpus(root, tuple(chosen), len(files))


def warm_page_cache(corpus: Corpus) -> int:
    """Read every file once so that no measurement pays for the disk; returns the bytes."""
    total = 0
    for name in corpus.files:
        total += len((corpus.root / name).read_bytes())
    return total


def kerascheck_discovery(root: Path) -> set[str] | None:
    """The files ``kerascheck check ROOT`` would check (its own discovery), if importable."""
    try:
        from kerascheck.discover import DEFAULT_EXCLUDES, discover
    except ImportError:
        return None
    return {Path(p).relative_to(root).as_posix() for p in discover([str(root)], DEFAULT_EXCLUDES)}


# --------------------------------------------------------------------------- kerascheck


@dataclass(frozen=True)
class Kerascheck:
    command: tuple[str, ...]
    no_cache: bool
    cache_dir: bool
    version: str

    def check(self, *args: str) -> list[str]:
        return [*self.command, "check", "--isolated", "--format", "concise", *args]

    def cold_flags(self, scratch: Path) -> list[str]:
        """Flags that guarantee no result cache: --no-cache, else a fresh empty --cache-dir."""
        if self.no_cache:
            return ["--no-cache"]
        if self.cache_dir:
            return ["--cache-dir", tempfile.mkdtemp(prefix="cold-", dir=scratch)]
        return []


def find_kerascheck() -> Kerascheck:
    exe = shutil.which("kerascheck", path=tool_path())
    command: tuple[str, ...] = (exe,) if exe else (sys.executable, "-m", "kerascheck")
    try:
        helped = subprocess.run(
            [*command, "check", "--help"], capture_output=True, text=True, check=True
        )
        version = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HarnessError(f"cannot run kerascheck ({' '.join(command)}): {exc}") from exc
    return Kerascheck(
        command, "--no-cache" in helped.stdout, "--cache-dir" in helped.stdout, version
    )


def tool_path() -> str:
    """PATH with this interpreter's bin directory first (the project's virtualenv)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def reported_count(run: Run) -> int | None:
    """Files kerascheck says it looked at: checked ones plus those it reported errors for."""
    try:
        document = json.loads(run.stdout)
        checked = int(document["summary"]["files_checked"])
        failed = {error["path"] for error in document["errors"]}
    except (ValueError, KeyError, TypeError):
        return None
    return checked + len(failed)


# --------------------------------------------------------------------------- measurements


@dataclass
class Bench:
    corpus: Corpus
    kc: Kerascheck
    args: argparse.Namespace
    scratch: Path
    target: list[str]  # what kerascheck is given for the whole corpus: ["."] or the list

    def floor(self, files: Sequence[str]) -> Run:
        listing = Path(tempfile.mkstemp(prefix="files-", suffix=".txt", dir=self.scratch)[1])
        listing.write_text("".join(f"{name}\n" for name in files), encoding="utf-8")
        return run_process([sys.executable, str(FLOOR_SCRIPT), str(listing)], self.corpus.root)

    def kerascheck(self, files: Sequence[str], *flags: str) -> Run:
        return run_on_files(self.kc.check(*flags), files, self.corpus.root)

    def cold(self, files: Sequence[str], jobs: int) -> Run:
        return self.kerascheck(files, "--jobs", str(jobs), *self.kc.cold_flags(self.scratch))


def measure_rounds(bench: Bench) -> dict[str, list[Run]]:
    """``--repeat`` rounds; each round runs every corpus measurement once, interleaved so
    that a slow phase of the machine does not fall on one measurement only."""
    runs: dict[str, list[Run]] = {}
    corpus, jobs = bench.corpus, bench.args.jobs
    warm_dir = bench.scratch / "warm-cache"
    if bench.kc.cache_dir:
        warm_dir.mkdir()
        timed("warm: priming run (untimed)", lambda: warm_run(bench, warm_dir))
    for round_no in range(1, bench.args.repeat + 1):
        tag = f"round {round_no}/{bench.args.repeat}"
        plan: list[tuple[str, Callable[[], Run]]] = [
            ("floor", lambda: bench.floor(corpus.files)),
            ("cold_single", lambda: bench.cold(bench.target, 1)),
            ("cold_parallel", lambda: bench.cold(bench.target, jobs)),
        ]
        if bench.kc.cache_dir:
            plan.append(("warm", lambda: warm_run(bench, warm_dir)))
        for label, residues in SUBSETS:
            files = corpus.subset(residues)
            plan.append((f"subset {label}", lambda f=files: bench.cold(f, 1)))
            plan.append((f"subset floor {label}", lambda f=files: bench.floor(f)))
        for key, action in plan:
            runs.setdefault(key, []).append(timed(f"{tag} {key}", action))
    return runs


def warm_run(bench: Bench, cache: Path) -> Run:
    return bench.kerascheck(bench.target, "--cache-dir", str(cache))


def measure_small_file(bench: Bench) -> list[Run]:
    path = Path(bench.args.small_file).resolve()
    if not path.is_file():
        raise HarnessError(f"small file {path} not found")
    runs = []
    for _ in range(bench.args.small_repeat):
        flags = small_file_flags(bench)
        runs.append(run_process(bench.kc.check(*flags, path.name), path.parent))
    progress(f"small file: median {statistics.median(r.seconds for r in runs):.3f} s")
    return runs


def small_file_flags(bench: Bench) -> list[str]:
    """An edited file is a cache miss: a fresh empty --cache-dir keeps the cache machinery in
    the measurement; without cache support, no flags."""
    if bench.kc.cache_dir:
        return ["--cache-dir", tempfile.mkdtemp(prefix="small-", dir=bench.scratch)]
    return []


def measure_startup(bench: Bench) -> dict[str, Any]:
    """What any new process pays before checking anything (context for the small file)."""
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import libcst'": [sys.executable, "-c", "import libcst"],
        "kerascheck --version": [*bench.kc.command, "--version"],
    }
    result: dict[str, Any] = {}
    for label, cmd in commands.items():
        runs = [run_process(cmd, ROOT) for _ in range(bench.args.small_repeat)]
        result[label] = summarize(runs, bench.args.statistic, ok_codes=(0,))
    return result


def find_other(name: str) -> list[str] | None:
    module, _ = OTHER_TOOLS[name]
    exe = shutil.which(name, path=tool_path())
    if exe:
        return [exe]
    try:
        importlib.metadata.distribution(module)
    except importlib.metadata.PackageNotFoundError:
        return None
    return [sys.executable, "-m", module]


def measure_others(bench: Bench) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, (_, arguments) in OTHER_TOOLS.items():
        base = find_other(name)
        if bench.args.skip_others:
            result[name] = {"status": "skipped", "reason": "--skip-others"}
        elif base is None:
            result[name] = {"status": "skipped", "reason": "not installed"}
        else:
            result[name] = measure_other(bench, name, base, arguments)
    return result


def measure_other(
    bench: Bench, name: str, base: list[str], arguments: Sequence[str]
) -> dict[str, Any]:
    version = run_process([*base, "--version"], ROOT).stdout.strip().splitlines()
    runs = [
        timed(
            f"{name} {i + 1}/{bench.args.repeat}",
            lambda: run_on_files([*base, *arguments], bench.corpus.files, bench.corpus.root),
        )
        for i in range(bench.args.repeat)
    ]
    pattern = NOTHING_CHECKED.get(name)
    if pattern is not None and any(pattern.search(r.stdout + r.stderr) for r in runs):
        reason = f"{name} checked no file (it skips what .gitignore lists: use --corpus PATH"
        return {"status": "skipped", "reason": reason + " outside the repository)"}
    summary = summarize(runs, bench.args.statistic, ok_codes=range(0, 128))
    summary["command"] = " ".join([Path(base[0]).name, *base[1:], *arguments, "FILES..."])
    summary["version"] = version[0] if version else "?"
    return summary


# --------------------------------------------------------------------------- verdicts


def with_ratio(summary: dict[str, Any], floor: dict[str, Any], limit: float) -> dict[str, Any]:
    ratio = summary["seconds"] / floor["seconds"]
    ok = summary["status"] == "ok"
    return {
        **summary,
        "ratio_to_floor": ratio,
        "target": f"<= {limit:.2f}x floor",
        "passed": ok and ratio <= limit,
    }


def with_limit(summary: dict[str, Any], limit_s: float) -> dict[str, Any]:
    ok = summary["status"] == "ok"
    return {**summary, "target": f"< {limit_s:g} s", "passed": ok and summary["seconds"] < limit_s}


def sizes(corpus: Corpus, files: Sequence[str]) -> int:
    return sum((corpus.root / name).stat().st_size for name in files)


@dataclass(frozen=True)
class Subset:
    label: str
    files: int
    fraction_files: float
    fraction_bytes: float
    kerascheck: str  # keys of the runs
    floor: str


def subsets(bench: Bench) -> list[Subset]:
    corpus = bench.corpus
    total, total_bytes = len(corpus.files), sizes(corpus, corpus.files)
    chosen = [(label, corpus.subset(residues)) for label, residues in SUBSETS]
    result = [
        Subset(
            label,
            len(files),
            len(files) / total,
            sizes(corpus, files) / total_bytes,
            f"subset {label}",
            f"subset floor {label}",
        )
        for label, files in chosen
    ]
    return [*result, Subset("100 %", total, 1.0, 1.0, "cold_single", "floor")]


def scaling(bench: Bench, runs: dict[str, list[Run]]) -> dict[str, Any]:
    """kerascheck's time per share of the corpus's bytes on nested subsets, with the floor's
    time on the same subsets for context."""
    stat = bench.args.statistic
    full = summarize(runs["cold_single"], stat)["seconds"]
    full_floor = floor_work(runs["floor"], stat)
    points = [
        scaling_point(
            subset,
            summarize(runs[subset.kerascheck], stat),
            summarize(runs[subset.floor], stat, ok_codes=(0,)),
            floor_work(runs[subset.floor], stat) / full_floor,
            full,
        )
        for subset in subsets(bench)
    ]
    worst = max(abs(p["deviation"]) for p in points)
    ok = all(p["status"] == "ok" for p in points)
    return {
        "status": "ok" if ok else "error",
        "fraction": "the subset's bytes / the corpus's bytes",
        "full_seconds": full,
        "full_floor_loop_seconds": full_floor,
        "points": points,
        "max_deviation": worst,
        "target": f"time / fraction within {SCALING_TOLERANCE:.0%} of the full run",
        "passed": ok and worst <= SCALING_TOLERANCE,
    }


def floor_work(runs: Sequence[Run], statistic: str) -> float:
    """The floor's own read + parse loop time (its start-up excluded): the subset's work."""
    loops = []
    for run in runs:
        try:
            loops.append(float(json.loads(run.stdout)["seconds"]))
        except (ValueError, KeyError, TypeError):
            loops.append(run.seconds)
    return STATISTICS[statistic](loops)


def scaling_point(
    subset: Subset, kc: dict[str, Any], floor: dict[str, Any], work: float, full: float
) -> dict[str, Any]:
    per_fraction = kc["seconds"] / subset.fraction_bytes
    return {
        "subset": subset.label,
        "files": subset.files,
        "fraction_files": subset.fraction_files,
        "fraction_bytes": subset.fraction_bytes,
        "fraction_work": work,
        "status": "ok" if kc["status"] == floor["status"] == "ok" else "error",
        "seconds": kc["seconds"],
        "samples": kc["samples"],
        "cpu_seconds": kc["cpu_seconds"],
        "seconds_per_fraction": per_fraction,
        "deviation": per_fraction / full - 1,
        "deviation_by_work": kc["seconds"] / work / full - 1,
        "floor_seconds": floor["seconds"],
        "ratio_to_floor": kc["seconds"] / floor["seconds"],
    }


def peak_rss(runs: Sequence[Run], floor_runs: Sequence[Run]) -> dict[str, Any]:
    mb = max(r.max_rss_kb for r in runs) * 1024 / MB
    floor_mb = max(r.max_rss_kb for r in floor_runs) * 1024 / MB
    return {
        "status": "ok",
        "mb": mb,
        "samples_mb": [round(r.max_rss_kb * 1024 / MB, 1) for r in runs],
        "floor_mb": floor_mb,
        "ratio_to_floor": mb / floor_mb,
        "method": "ru_maxrss from os.wait4() on the cold --jobs 1 child (KiB on Linux), "
        "maximum over the repeats; MB = 10^6 bytes",
        "target": f"< {PEAK_RSS_MAX_MB:g} MB",
        "passed": mb < PEAK_RSS_MAX_MB,
    }


def same_output(runs: dict[str, list[Run]]) -> dict[str, bool]:
    """Whether every kerascheck run on the whole corpus reported the same findings."""
    reference = sorted(runs["cold_single"][0].stdout.splitlines())
    return {
        key: all(sorted(r.stdout.splitlines()) == reference for r in runs[key])
        for key in ("cold_single", "cold_parallel", "warm")
        if key in runs
    }


# --------------------------------------------------------------------------- machine


def machine_info(kc: Kerascheck) -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": memory_gb(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libcst": package_version("libcst"),
        "libcst_parser": os.environ.get("LIBCST_PARSER_TYPE", "native (default)"),
        "kerascheck": kc.version,
        "kerascheck_command": list(kc.command),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "kerascheck", "rules")),
    }


def measured_sources(code: dict[str, str] | None) -> list[Path]:
    if code is not None:
        return [Path(code["path"])]
    return [ROOT / "kerascheck", ROOT / "rules"]


def source_fingerprint(folders: Sequence[Path]) -> str:
    """A hash of the measured kerascheck sources: others may edit the tree during a run."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".json") and path.is_file():
                digest.update(path.relative_to(folder.parent).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews wall times."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def busy(measurements: dict[str, Any]) -> bool:
    """Other processes kept more than a quarter of a core busy during a figure we report."""
    keys = ("floor", "cold_single", "cold_parallel", "warm", "small_file")
    seen = [measurements[k].get("other_cores_chosen") for k in keys]
    return any(cores is not None and cores > BUSY_OTHER_CORES for cores in seen)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) * 1024 / 1e9, 1)
    except (OSError, ValueError):
        pass
    return None


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


# --------------------------------------------------------------------------- report


def seconds_text(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def cores_text(cores: float | None) -> str:
    return "?" if cores is None else f"{cores:.2f} cores"


def verdict(entry: dict[str, Any]) -> str:
    if entry.get("status") == "skipped":
        return "skip"
    if entry.get("status") == "error":
        return "ERROR"
    return "PASS" if entry.get("passed") else "FAIL"


def row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def render(result: dict[str, Any]) -> str:
    lines = header_lines(result)
    lines += main_table(result)
    lines += scaling_table(result["measurements"]["scaling"])
    lines += startup_table(result["measurements"]["startup"])
    lines += others_table(result["measurements"]["others"], result["measurements"]["floor"])
    return "\n".join(lines) + "\n"


def header_lines(result: dict[str, Any]) -> list[str]:
    m, s, c = result["machine"], result["settings"], result["counts"]
    dirty = " + uncommitted changes" if m["git_dirty"] else ""
    if m["measured_code"] != "working tree":
        dirty = f", measured: {m['measured_code']}"
    if m["sources_changed_during_run"]:
        dirty += " (SOURCES CHANGED DURING THE RUN)"
    return [
        f"kerascheck benchmark  {result['created']}",
        f"corpus   {s['corpus']}: {s['files']} files, {s['bytes'] / MB:.1f} MB, "
        f"{s['lines']:,} lines{' (--quick: every 10th file)' if s['quick'] else ''}",
        f"machine  {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['python']}, "
        f"libcst {m['libcst']}",
        f"tool     {m['kerascheck']} at {m['git_commit'][:10]}{dirty}; cache flags: "
        f"{'yes' if s['cache_support'] else 'no'}; kerascheck given {s['target']}",
        f"files    floor {c['floor']}, kerascheck discovery {c['kerascheck_discovery']}, "
        f"kerascheck reported {c['kerascheck_reported']}"
        f" -> {'match' if c['match'] else 'MISMATCH'}",
        f"times    {s['statistic']} of {s['repeat']} run(s) each, new process, wall clock and "
        f"cpu (user+sys, children included); small file: {s['statistic']} of "
        f"{s['small_repeat']}",
        f"load     average {m['load_average_before']} before, {m['load_average_after']} after "
        f"({m['usable_cores']} usable cores)"
        + (
            "\nBUSY     other processes used CPU during the runs (column 'others'): wall times "
            "are inflated, compare cpu"
            if m["busy"]
            else ""
        ),
        "",
    ]


def main_table(result: dict[str, Any]) -> list[str]:
    m = result["measurements"]
    jobs = result["settings"]["jobs"]
    floor = m["floor"]
    rss = m["peak_rss"]
    dev = m["scaling"]["max_deviation"]
    rows = [
        timed_row("floor: read + libcst.parse_module, 1 proc", floor, floor),
        timed_row("kerascheck cold, --jobs 1", m["cold_single"], floor),
        timed_row(f"kerascheck cold, --jobs {jobs}", m["cold_parallel"], floor),
        timed_row("kerascheck warm rerun (cache hit)", m["warm"], floor),
        timed_row("one small file, new process", m["small_file"], None),
        [
            "peak RSS, cold --jobs 1",
            f"{rss['mb']:.0f} MB",
            f"{rss['ratio_to_floor']:.2f}",
            f"floor {rss['floor_mb']:.0f} MB",
            "",
            "",
            rss["target"],
            verdict(rss),
        ],
        [
            "scaling 10 % / 30 % / 100 %",
            f"worst {dev:+.1%}",
            "",
            "",
            "",
            "",
            f"within {SCALING_TOLERANCE:.0%}",
            verdict(m["scaling"]),
        ],
    ]
    head = ["measurement", "wall", "x floor", "cpu", "cpu x floor", "others", "target", "result"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    rule = ["-" * w for w in widths]
    return [row(head, widths), row(rule, widths), *(row(r, widths) for r in rows), ""]


def timed_row(label: str, entry: dict[str, Any], floor: dict[str, Any] | None) -> list[str]:
    """label, wall, wall / floor wall, cpu (user + sys), cpu / floor cpu, the cores other
    processes kept busy meanwhile, target, verdict."""
    if entry["status"] == "skipped":
        return [label, entry["reason"], "", "", "", "", entry.get("target", ""), "skip"]
    wall, cpu = entry["seconds"], entry["cpu_seconds"]
    ratios = ["", ""]
    if floor is not None:
        ratios = [f"{wall / floor['seconds']:.2f}", f"{cpu / floor['cpu_seconds']:.2f}"]
    return [
        label,
        seconds_text(wall),
        ratios[0],
        seconds_text(cpu),
        ratios[1],
        cores_text(entry.get("other_cores_chosen")),
        entry.get("target", ""),
        verdict(entry) if entry is not floor else "",
    ]


def scaling_table(entry: dict[str, Any]) -> list[str]:
    head = ["subset", "files", "bytes", "work", "kerascheck", "floor", "time/bytes", "vs 100 %"]
    rows = [
        [
            p["subset"],
            str(p["files"]),
            f"{p['fraction_bytes']:.1%}",
            f"{p['fraction_work']:.1%}",
            seconds_text(p["seconds"]),
            seconds_text(p["floor_seconds"]),
            seconds_text(p["seconds_per_fraction"]),
            f"{p['deviation']:+.1%}",
        ]
        for p in entry["points"]
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "scaling: cold --jobs 1 on every 10th file, residues 0,3,6 mod 10, all files",
        "(bytes = the subset's share of the corpus; work = its share of the floor's parse time)",
        row(head, widths),
        *(row(r, widths) for r in rows),
        "",
    ]


def startup_table(entry: dict[str, Any]) -> list[str]:
    lines = ["new-process start-up (context for the small-file figure)"]
    for label, summary in entry.items():
        lines.append(f"  {label:<28} {seconds_text(summary['seconds'])}")
    return [*lines, ""]


def others_table(entry: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    lines = ["other tools on the same files (default settings; informational)"]
    for name, summary in entry.items():
        if summary["status"] == "skipped":
            lines.append(f"  {name:<8} {summary['reason']}")
            continue
        ratio = summary["seconds"] / floor["seconds"]
        lines.append(
            f"  {name:<8} {seconds_text(summary['seconds']):>9}  {ratio:.2f}x floor  "
            f"{summary['version']}  (`{summary['command']}`)"
        )
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Measure kerascheck against the libcst parse floor on one corpus.",
    )
    parser.add_argument(
        "--corpus", default=None, metavar="PATH", help="default: the reference corpus"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="runs per measurement (median)"
    )
    parser.add_argument(
        "--small-repeat", type=int, default=10, metavar="N", help="small-file runs (median)"
    )
    parser.add_argument(
        "--small-file", default=str(DEFAULT_SMALL_FILE), metavar="PATH", help="on-save file"
    )
    parser.add_argument(
        "--statistic",
        choices=tuple(STATISTICS),
        default="median",
        help="how the --repeat runs are summarised (default: median)",
    )
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="parallel run's --jobs")
    parser.add_argument("--quick", action="store_true", help="every 10th file only")
    parser.add_argument("--skip-others", action="store_true", help="skip ruff, flake8, ...")
    parser.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH", help="JSON output")
    parser.add_argument(
        "--snapshot",
        nargs="?",
        const="HEAD",
        default=None,
        metavar="REV",
        help="measure kerascheck as committed at REV (default HEAD), not the working tree",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.small_repeat < 1 or args.jobs < 1:
        parser.error("--repeat, --small-repeat and --jobs must be at least 1")
    return args


def choose_target(corpus: Corpus) -> tuple[list[str], set[str] | None]:
    """The corpus root when kerascheck's discovery finds exactly the files, else the list."""
    discovered = kerascheck_discovery(corpus.root)
    if discovered is not None and discovered == set(corpus.files):
        return ["."], discovered
    return list(corpus.files), discovered


def verify_counts(bench: Bench, discovered: set[str] | None) -> dict[str, Any]:
    """Untimed run with JSON output: kerascheck's own count, and every import warmed up."""
    run = timed(
        "verification run (untimed, --format json)",
        lambda: run_on_files(
            [
                *bench.kc.command,
                "check",
                "--isolated",
                "--format",
                "json",
                "--jobs",
                str(bench.args.jobs),
                *bench.kc.cold_flags(bench.scratch),
            ],
            bench.target,
            bench.corpus.root,
        ),
    )
    if run.returncode not in (0, 1, 2):
        raise HarnessError(f"kerascheck failed (exit {run.returncode}): {tail(run.stderr)}")
    reported = reported_count(run)
    if reported is None:
        progress(f"kerascheck's JSON report gave no file count: {tail(run.stderr)}")
    floor = len(bench.corpus.files)
    in_target = len(bench.target) if bench.target != ["."] else len(discovered or ())
    return {
        "floor": floor,
        "kerascheck_discovery": len(discovered) if discovered is not None else None,
        "kerascheck_given": in_target,
        "kerascheck_reported": reported,
        "match": in_target == floor and reported in (None, floor),
        "verified_by": "untimed kerascheck check --format json: files_checked + files in errors",
        # not a measurement (it also compiles bytecode), but its time is a useful hint
        "verification_run": {
            "jobs": bench.args.jobs,
            "seconds": round(run.seconds, 3),
            "cpu_seconds": round(run.cpu_seconds, 3),
            "other_cores": run.other_cores,
        },
    }


def measure(args: argparse.Namespace, scratch: Path, code: dict[str, str] | None) -> dict[str, Any]:
    sources = measured_sources(code)
    fingerprint = source_fingerprint(sources)
    load_before = load_average()
    corpus = load_corpus(args.corpus, args.quick)
    kc = find_kerascheck()
    total_bytes = warm_page_cache(corpus)
    target, discovered = choose_target(corpus)
    bench = Bench(corpus, kc, args, scratch, target)
    counts = verify_counts(bench, discovered)
    if counts["kerascheck_given"] != counts["floor"]:
        raise HarnessError(f"the floor and kerascheck would not see the same files: {counts}")
    runs = measure_rounds(bench)
    measurements = corpus_measurements(bench, runs)
    measurements["small_file"] = {
        **with_limit(summarize(measure_small_file(bench), args.statistic), SMALL_FILE_MAX_S),
        "file": str(Path(args.small_file).resolve()),
    }
    measurements["startup"] = measure_startup(bench)
    measurements["others"] = measure_others(bench)
    measurements["consistency"] = {"same_findings": same_output(runs)}
    settings = run_settings(bench, total_bytes, measurements["floor"].get("lines", 0))
    machine = machine_info(kc)
    machine["measured_code"] = (
        f"snapshot of {code['revision']} ({code['commit'][:10]})" if code else "working tree"
    )
    machine["source_fingerprint"] = fingerprint
    machine["sources_changed_during_run"] = source_fingerprint(sources) != fingerprint
    machine["load_average_before"] = load_before
    machine["load_average_after"] = load_average()
    machine["busy"] = busy(measurements)
    return {
        "schema": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": settings,
        "counts": counts,
        "measurements": {key: measurements[key] for key in (*MEASUREMENT_KEYS, "consistency")},
        "all_passed": all(measurements[key].get("passed") is not False for key in TARGETED),
    }


def corpus_measurements(bench: Bench, runs: dict[str, list[Run]]) -> dict[str, Any]:
    stat = bench.args.statistic
    floor = floor_entry(runs["floor"], stat)
    return {
        "floor": floor,
        "cold_single": with_ratio(summarize(runs["cold_single"], stat), floor, COLD_SINGLE_MAX),
        "cold_parallel": with_ratio(
            summarize(runs["cold_parallel"], stat), floor, COLD_PARALLEL_MAX
        ),
        "warm": warm_entry(runs, floor, stat),
        "peak_rss": peak_rss(runs["cold_single"], runs["floor"]),
        "scaling": scaling(bench, runs),
    }


def floor_entry(runs: Sequence[Run], statistic: str) -> dict[str, Any]:
    """The floor's times plus what the floor process itself counted (first run)."""
    floor = summarize(runs, statistic, ok_codes=(0,))
    try:
        counted = json.loads(runs[0].stdout)
    except ValueError:
        counted = {}
    floor["in_process_seconds"] = counted.get("seconds")
    floor["parse_errors"] = counted.get("parse_errors")
    floor["lines"] = counted.get("lines", 0)
    floor["command"] = "python benchmarks/floor.py FILE-LIST"
    return floor


def run_settings(bench: Bench, total_bytes: int, lines: int) -> dict[str, Any]:
    args, kc = bench.args, bench.kc
    cold = ["--no-cache"] if kc.no_cache else ["--cache-dir", "EMPTY-DIR"] if kc.cache_dir else []
    return {
        "corpus": str(bench.corpus.root),
        "files": len(bench.corpus.files),
        "corpus_files": bench.corpus.total_files,
        "bytes": total_bytes,
        "lines": lines,
        "quick": args.quick,
        "repeat": args.repeat,
        "small_repeat": args.small_repeat,
        "statistic": args.statistic,
        "jobs": args.jobs,
        "cache_support": kc.cache_dir,
        "no_cache_flag": kc.no_cache,
        "target": "the corpus root" if bench.target == ["."] else "the file list",
        "bytecode_cache": "on, PYTHONPYCACHEPREFIX=<scratch>/pycache (warmed untimed)",
        "kerascheck_cold_command": " ".join(
            ["kerascheck", *kc.check("--jobs", "1", *cold)[len(kc.command) :], "PATH"]
        ),
    }


def warm_entry(runs: dict[str, list[Run]], floor: dict[str, Any], stat: str) -> dict[str, Any]:
    target = f"< {WARM_MAX_S:g} s"
    if "warm" not in runs:
        return {
            "status": "skipped",
            "reason": "n/a (no cache support)",
            "target": target,
            "passed": None,
        }
    entry = with_limit(summarize(runs["warm"], stat), WARM_MAX_S)
    return {**entry, "ratio_to_floor": entry["seconds"] / floor["seconds"]}


def snapshot(revision: str, scratch: Path) -> dict[str, str]:
    """Extract kerascheck (and the top-level rules/ package) at ``revision`` into scratch and
    put it first on the children's PYTHONPATH: the run measures that commit even while
    others edit the working tree (each edit would also invalidate kerascheck's cache)."""
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    if not commit:
        raise HarnessError(f"--snapshot: no commit {revision!r} in {ROOT}")
    src = scratch / "src"
    src.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "kerascheck", "rules"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(src, filter="data")
        else:  # Python < 3.10.12 / 3.11.4; the archive is our own commit
            tar.extractall(src)
    if (src / "rules").is_dir():  # installed as kerascheck.rules (pyproject package-dir)
        (src / "rules").rename(src / "kerascheck" / "rules")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(src), os.environ.get("PYTHONPATH")])
    )
    check_snapshot_imported(src)
    return {"revision": revision, "commit": commit, "path": str(src / "kerascheck")}


def check_snapshot_imported(src: Path) -> None:
    probe = (
        "import kerascheck, kerascheck.rules as r; print(kerascheck.__file__); print(*r.__path__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=src.parent, check=False
    )
    paths = done.stdout.split()
    if done.returncode != 0 or not paths or not all(Path(p).is_relative_to(src) for p in paths):
        raise HarnessError(f"--snapshot: kerascheck is not imported from {src}: {done.stdout}")


def child_environment(scratch: Path) -> None:
    """Children cache bytecode, as an installed tool does, in a scratch folder (never in the
    source tree); PYTHONDONTWRITEBYTECODE would make every process compile kerascheck."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    os.environ["NO_COLOR"] = "1"


def terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="kerascheck-bench-") as scratch:
            child_environment(Path(scratch))
            code = snapshot(args.snapshot, Path(scratch)) if args.snapshot else None
            result = measure(args, Path(scratch), code)
    except HarnessError as exc:
        sys.stderr.write(f"benchmarks/run.py: error: {exc}\n")
        return 2
    sys.stdout.write(render(result))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"\nJSON written to {out}\n")
    return 1 if args.strict and not result["all_passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
