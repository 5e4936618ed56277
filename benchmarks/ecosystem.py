#!/usr/bin/env python3
"""The ecosystem check: kerascheck on real user code at pinned commits, against reviewed findings.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/ecosystem.py             # check, compare, print precision
    .venv/bin/python benchmarks/ecosystem.py --update    # also record new findings (verdict null)
    .venv/bin/python benchmarks/ecosystem.py --mirror DIR --only ageron/handson-ml3

The set is REPOSITORIES below: notebooks and scripts people write to train Keras models
(books, courses, tutorials, GAN code, beginner projects, research bug benchmarks), each at a
pinned commit, with the folders that hold user code (a tool's own library code is left out).
Of those folders, every ``.py`` and ``.ipynb`` file under 4 MiB that mentions ``keras`` is
checked, and the repository's version pins (requirements*.txt, pyproject.toml, setup.cfg)
come along so that kerascheck infers the Keras flavour as in the user's checkout.

Materialising: the selected files are written to ``.cache/ecosystem/<owner>+<name>/`` (git
ignored; third-party code is never committed) from a local mirror (``--mirror``, default
/work/.mirror, holding ``<owner>+<name>/repo`` git directories), else from a shallow
``git clone`` of GitHub at the pinned commit (not with ``--offline``). A repository that
neither provides is skipped with the reason; when none can be had (CI has no network) the
script says so and exits 0.

Checking: ``python -m kerascheck check --format json --no-cache --isolated`` with every rule
and default options on the explicit list of files (``--jobs``, default 2).

Comparing: ``ecosystem_baseline.json`` holds every finding of the last reviewed run with a
verdict (true / false / null = not reviewed yet) and a one-line reason. A finding is keyed
by repository, path, cell (notebooks), code and an anchor: a hash of the stripped text of its
source line (the hash, not the line, so that no third-party code is committed); among
findings with the same key, equal line and column pair first, then equal line, then the
rest in order, so a finding moved by an edit elsewhere in the file still matches. Printed:
files checked, files that could not be checked (with kerascheck's error), findings per code,
precision (true / reviewed) overall, for model-fault codes (KC1xx, KC3xx, KC4xx) and for
API-drift codes (KC2xx), NEW findings (not in the baseline) and LOST ones (in the baseline
for a checked repository, not found now). ``--update`` rewrites the baseline as the current
run: verdicts of matched findings are kept, new ones get verdict null, lost ones are dropped.

Exit status: 0 when the comparison ran or was skipped for want of sources (whatever the
findings), 1 when kerascheck itself failed, 2 on misuse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "ecosystem_baseline.json"
CACHE = HERE.parent / ".cache" / "ecosystem"
MIRROR = Path("/work/.mirror")
SOURCE_SUFFIXES = (".py", ".ipynb")
PIN_FILE = re.compile(r"(?:^|/)(?:requirements[^/]*\.txt|pyproject\.toml|setup\.cfg)$")
MARKER = ".ecosystem.json"  # in each materialised repository: what it was made from
# Files of 4 MiB or more are left out: mirror snapshots lack them, and a clone must select
# the same files (they are notebooks whose size is their saved outputs).
MAX_FILE_BYTES = 4 * 1024 * 1024
CLONE_TIMEOUT = 900  # seconds for one shallow clone


@dataclass(frozen=True)
class Repo:
    """One pinned repository: which of its files are user code worth checking."""

    name: str  # owner/name on GitHub
    commit: str
    what: str  # one line: what the code is
    include: tuple[str, ...] = ("",)  # path prefixes holding user code ("" = everything)
    exclude: tuple[str, ...] = ()  # path prefixes left out (a tool's library, copies)

    @property
    def slug(self) -> str:
        return self.name.replace("/", "+")

    def selects(self, path: str) -> bool:
        return (
            path.endswith(SOURCE_SUFFIXES)
            and any(path.startswith(prefix) for prefix in self.include)
            and not any(path.startswith(prefix) for prefix in self.exclude)
        )

    def fingerprint(self) -> str:
        return hashlib.sha256(repr((self.commit, self.include, self.exclude)).encode()).hexdigest()


REPOSITORIES: tuple[Repo, ...] = (
    Repo(
        "fchollet/deep-learning-with-python-notebooks",
        "dea84a4e12cc3bb3cb61ce952a0168bca113d315",
        "book: Deep Learning with Python, 1st, 2nd and 3rd editions",
    ),
    Repo(
        "ageron/handson-ml2",
        "1e2115277b50f6c584cd668fa30e3af309a5b136",
        "book: Hands-On Machine Learning, 2nd edition (tf.keras 2)",
    ),
    Repo(
        "ageron/handson-ml3",
        "e3f3f9e66d58cfa1d068a498433063a1d3fba9ef",
        "book: Hands-On Machine Learning, 3rd edition",
    ),
    Repo(
        "rasbt/python-machine-learning-book-3rd-edition",
        "bf62496f44a92a21d23250d5ed13d2d2e617e0e2",
        "book: Python Machine Learning, 3rd edition (TensorFlow 2 chapters)",
    ),
    Repo(
        "davidADSP/GDL_code",
        "2a7b8c92ea07ddd796d7a895b171dbc5fcc2c7cd",
        "book: Generative Deep Learning, 1st edition (GANs, VAEs, Keras 2)",
    ),
    Repo(
        "PacktPublishing/Deep-Learning-with-Keras",
        "157230ac35c19e97229607362a1dddf90ff3138f",
        "book: Deep Learning with Keras (Keras 1/2)",
    ),
    Repo(
        "PacktPublishing/Advanced-Deep-Learning-with-Keras",
        "b065726ee733d32c6bd618fc7643c9fc51767c75",
        "book: Advanced Deep Learning with Keras (GANs, VAEs, detection)",
    ),
    Repo(
        "PacktPublishing/Deep-Learning-with-TensorFlow-2-and-Keras",
        "e23d2b4a4292386b70977473805acb2f93ef16ca",
        "book: Deep Learning with TensorFlow 2 and Keras",
    ),
    Repo(
        "PacktPublishing/Generative-Adversarial-Networks-Projects",
        "317e7682acfeb5563f70c020a09b1b2e4c6595bb",
        "book: Generative Adversarial Networks Projects (Keras 2 GANs)",
    ),
    Repo(
        "dipanjanS/hands-on-transfer-learning-with-python",
        "f6c5f6b4c2d0b5f14252f1ce9c7d4c74652b8ac6",
        "book: Hands-On Transfer Learning with Python",
    ),
    Repo(
        "jonkrohn/DLTFpT",
        "35438188d169ed692874a4e9e501ece68f4c51df",
        "book/course: Deep Learning Illustrated notebooks",
    ),
    Repo(
        "jeffheaton/t81_558_deep_learning",
        "e674d07b85289b0cfb4cc57ff213228fd2ae4dc4",
        "course: Washington University T81-558 Applications of Deep Neural Networks",
    ),
    Repo(
        "mrdbourke/tensorflow-deep-learning",
        "bd065b806249f7b1155e5b1fabd130c5cfc9d184",
        "course: Zero to Mastery TensorFlow (docs/ holds copies of the notebooks)",
        exclude=("docs/",),
    ),
    Repo(
        "Hvass-Labs/TensorFlow-Tutorials",
        "d5f33973570fe6ef9c78c8a38c7449a932c81010",
        "tutorials: Hvass Labs TensorFlow tutorials",
    ),
    Repo(
        "lazyprogrammer/machine_learning_examples",
        "9c35878543c99be13dd5201a5d1bebf492bcd2b4",
        "course: Lazy Programmer deep learning course scripts",
    ),
    Repo(
        "MorvanZhou/tutorials",
        "c36c8995951bc09890efd329635c2b74bd532610",
        "tutorials: Morvan's Keras tutorial scripts",
        include=("kerasTUT/",),
    ),
    Repo(
        "Kaggle/learntools",
        "8a8d4450a699c864febc419fb27ec41443a5942b",
        "course: Kaggle Learn deep learning / computer vision notebooks (learntools/ is the "
        "exercise checker, left out)",
        include=("notebooks/",),
    ),
    Repo(
        "tensorflow/docs",
        "7c3650212740204359d4ceae481abc79345541be",
        "tutorials and guides of tensorflow.org (tools/ is the site generator, left out)",
        include=("site/en/",),
    ),
    Repo(
        "bnsreenu/python_for_microscopists",
        "e345e4983fe85d6add34cd696f859d6c6598b9c3",
        "tutorials: DigitalSreeni's scripts (segmentation, GANs, beginner projects)",
    ),
    Repo(
        "Wardat-ISU/DeepLocalize",
        "297bc3441b5903b5c85bc5ffd7c9881a3c0c75a2",
        "research benchmark: buggy and fixed Keras programs from GitHub and StackOverflow "
        "(the tool itself left out)",
        include=("Benchmark/",),
    ),
    Repo(
        "neuralint/neuralint",
        "e27dacf63d3cc75fa02ef81f9ec5bbc90881d1f5",
        "research benchmark: NeuraLint's buggy Keras/TF sample programs (the tool left out)",
        include=("sample_buggy_scripts/",),
    ),
    Repo(
        "ArabelaTso/DeepFD",
        "9fe089510cf10af35b0c2cba024d9732a1048df4",
        "research benchmark: DeepFD's faulty Keras programs and their repairs (tool left out)",
        include=("Benchmark/",),
    ),
    Repo(
        "shiningrain/AUTOTRAINER",
        "03a463ea05691a73403d7cff99a368fb4b6720cf",
        "research benchmark: AUTOTRAINER's demo cases and motivating programs (tool left out)",
        include=("AutoTrainer/data/", "AutoTrainer/demo_case/", "Motivation/"),
    ),
    Repo(
        "dlfaults/deepcrime",
        "f1f4c8b2d26a1dfb75674cbac0ebf11fa62ec98a",
        "research benchmark: DeepCrime's subject Keras programs (mutation operators left out)",
        include=("test_models/",),
    ),
)

MODEL_FAULT_PREFIXES = ("KC1", "KC3", "KC4")
API_DRIFT_PREFIXES = ("KC2",)


# --- materialising ---------------------------------------------------------------------------


class Unavailable(Exception):
    """A repository's pinned files could not be had (the message says why)."""


class CloneFailed(Unavailable):
    """GitHub could not be reached or refused the pinned commit."""


def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=data, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise Unavailable(f"git {args[0]}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _has_commit(git_dir: Path, commit: str) -> bool:
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def mirror_git_dir(mirror: Path, repo: Repo) -> Path | None:
    """The git directory of the repository in the mirror, when it holds the pinned commit."""
    base = mirror / repo.slug / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "objects").is_dir() and _has_commit(candidate, repo.commit):
            return candidate
    return None


def clone_git_dir(cache: Path, repo: Repo) -> Path:
    """A shallow bare clone of the pinned commit from GitHub, kept under the cache."""
    target = cache / "_git" / f"{repo.slug}.git"
    if target.is_dir() and _has_commit(target, repo.commit):
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    url = f"https://github.com/{repo.name}.git"
    steps = (
        ["git", "init", "--bare", "--quiet", str(target)],
        # A transfer slower than 1 kB/s for a minute is given up rather than waited for.
        [
            "git",
            f"--git-dir={target}",
            "-c",
            "http.lowSpeedLimit=1000",
            "-c",
            "http.lowSpeedTime=60",
            "fetch",
            "--quiet",
            "--depth=1",
            url,
            repo.commit,
        ],
    )
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, env=env, timeout=CLONE_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise CloneFailed(f"git clone of {url} failed: {exc}") from exc
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise CloneFailed(f"git clone of {url} failed: {message[-1] if message else '?'}")
    return target


def _tree(git_dir: Path, commit: str) -> Iterator[tuple[str, str, int]]:
    """(path, blob id, size) of every file of the commit."""
    for entry in _git(git_dir, "ls-tree", "-r", "-l", "-z", commit).split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        _mode, kind, blob, size = meta.split()
        if kind == b"blob":
            # A mirror snapshot lists its large files without their content (size "BAD").
            known = int(size) if size.isdigit() else MAX_FILE_BYTES
            yield path.decode("utf-8", "surrogateescape"), blob.decode(), known


def _blobs(git_dir: Path, ids: Sequence[str]) -> list[bytes]:
    """The contents of the blobs, in order (one ``git cat-file --batch``)."""
    out = _git(git_dir, "cat-file", "--batch", data="".join(f"{i}\n" for i in ids).encode())
    contents, at = [], 0
    for _ in ids:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].split()
        if header[-1] == b"missing":
            raise Unavailable(f"blob {header[0].decode()} is missing from {git_dir}")
        size = int(header[2])
        contents.append(out[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return contents


@dataclass(frozen=True)
class Materialised:
    repo: Repo
    files: tuple[str, ...]  # checked files, relative to the repository


def materialise(
    repo: Repo, cache: Path, mirror: Path | None, no_clone: str | None = None
) -> Materialised:
    """The repository's selected files under ``cache/<slug>``, reusing an up-to-date copy.

    ``no_clone``, when given, is why GitHub must not be asked (the mirror must serve)."""
    root = cache / repo.slug
    marker = root / MARKER
    if marker.is_file():
        made = json.loads(marker.read_text(encoding="utf-8"))
        files = tuple(made.get("files", ()))
        if made.get("fingerprint") == repo.fingerprint() and all(
            (root / f).is_file() for f in files
        ):
            return Materialised(repo, files)
    git_dir = mirror_git_dir(mirror, repo) if mirror is not None else None
    if git_dir is None:
        if no_clone is not None:
            where = f"not in the mirror {mirror}" if mirror is not None else "no mirror"
            raise Unavailable(f"commit {repo.commit[:12]} {where}, and {no_clone}")
        git_dir = clone_git_dir(cache, repo)
    entries = [
        (path, blob)
        for path, blob, size in _tree(git_dir, repo.commit)
        if size < MAX_FILE_BYTES and (repo.selects(path) or PIN_FILE.search(path))
    ]
    contents = _blobs(git_dir, [blob for _, blob in entries])
    partial = cache / f"{repo.slug}.part"
    shutil.rmtree(partial, ignore_errors=True)
    files: list[str] = []
    for (path, _), content in zip(entries, contents, strict=True):
        is_source = repo.selects(path)
        if is_source and b"keras" not in content:
            continue
        target = partial / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if is_source:
            files.append(path)
    # An empty .git marks the repository root: kerascheck looks for version pins in the
    # file's folder and its parents up to a VCS root, as in the user's checkout (without it
    # the walk would reach this project's own pyproject.toml).
    (partial / ".git").mkdir(parents=True, exist_ok=True)
    made = {"repo": repo.name, "commit": repo.commit, "fingerprint": repo.fingerprint()}
    (partial / MARKER).write_text(json.dumps(made | {"files": files}, indent=1), encoding="utf-8")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return Materialised(repo, tuple(files))


# --- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One finding, keyed so that a re-run at the same pins matches it exactly."""

    repo: str
    path: str
    cell: int | None
    code: str
    anchor: str  # hash of the stripped source line the finding starts on
    line: int
    column: int
    message: str
    verdict: bool | None = None
    reason: str = ""
    fp_class: str | None = None  # for a false positive: its reproduction in ecosystem_fp/

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (self.repo, self.path, self.cell or 0, self.code, self.anchor)

    @property
    def order(self) -> tuple[str, str, int, int, int, str]:
        return (self.repo, self.path, self.cell or 0, self.line, self.column, self.code)

    def where(self) -> str:
        cell = f":cell {self.cell}" if self.cell is not None else ""
        return f"{self.repo}/{self.path}{cell}:{self.line}:{self.column}"

    def as_json(self) -> dict[str, object]:
        found = asdict(self)
        if found["fp_class"] is None:
            del found["fp_class"]
        return found


@dataclass(frozen=True)
class FileError:
    repo: str
    path: str
    message: str


@dataclass(frozen=True)
class Run:
    files: int
    notebooks: int
    findings: list[Finding]
    errors: list[FileError]


def split_lines(text: str) -> list[str]:
    """Lines as Python splits them (\\n, \\r\\n, \\r), which is how kerascheck counts them."""
    return re.split(r"\r\n|\r|\n", text)


def _source_lines(path: Path, cell: int | None) -> list[str]:
    raw = path.read_bytes()
    if cell is None:
        return split_lines(raw.decode("utf-8-sig", errors="replace"))
    cells = json.loads(raw.decode("utf-8-sig", errors="replace")).get("cells", [])
    if not 1 <= cell <= len(cells):
        return []
    source = cells[cell - 1].get("source", "")
    return split_lines(source if isinstance(source, str) else "".join(source))


def line_anchor(path: Path, cell: int | None, line: int | None) -> str:
    """A short hash of the stripped source line: stable while the line's text is."""
    try:
        lines = _source_lines(path, cell)
    except (OSError, ValueError):
        lines = []
    text = lines[line - 1].strip() if line is not None and 1 <= line <= len(lines) else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def check(sets: Sequence[Materialised], cache: Path, jobs: int) -> Run:
    """Run kerascheck (JSON, no cache, isolated from config files) on every selected file."""
    slugs = {m.repo.slug: m.repo.name for m in sets}
    files = [f"{m.repo.slug}/{path}" for m in sets for path in m.files]
    if not files:
        return Run(0, 0, [], [])
    command = [sys.executable, "-m", "kerascheck", "check", "--format", "json", "--no-cache"]
    command += ["--isolated", "--jobs", str(jobs), "--", *files]
    done = subprocess.run(command, cwd=cache, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1, 2) or not done.stdout.startswith("{"):
        raise RuntimeError(f"kerascheck failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)

    def located(path: str) -> tuple[str, str]:
        slug, _, rest = path.partition("/")
        return slugs[slug], rest

    findings = []
    for found in report["findings"]:
        repo, path = located(found["path"])
        cell = found.get("cell")
        anchor = line_anchor(cache / found["path"], cell, found["line"])
        findings.append(
            Finding(
                repo,
                path,
                cell,
                found["code"],
                anchor,
                found["line"] or 0,
                found["column"] or 0,
                found["message"],
            )
        )
    errors = []
    for error in report["errors"]:
        repo, path = located(error["path"])
        where = "".join(
            f" {label} {error[key]}"
            for label, key in (("cell", "cell"), ("line", "line"))
            if error.get(key) is not None
        )
        errors.append(
            FileError(repo, path, f"{error['message']}{' (at' + where + ')' if where else ''}")
        )
    notebooks = sum(1 for f in files if f.endswith(".ipynb"))
    return Run(len(files), notebooks, sorted(findings, key=lambda f: f.order), errors)


# --- comparing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    findings: list[Finding]  # the current findings, with the baseline's verdicts where matched
    new: list[Finding]  # current findings the baseline does not hold
    lost: list[Finding]  # baseline findings of checked repositories not found now


def _pair(old: list[Finding], new: list[Finding]) -> list[tuple[Finding, Finding]]:
    """Pairs of same-key findings: equal line and column first, then equal line, then order."""
    pairs: list[tuple[Finding, Finding]] = []
    old_left, new_left = list(old), list(new)
    for same in (
        lambda a, b: (a.line, a.column) == (b.line, b.column),
        lambda a, b: a.line == b.line,
    ):
        for current in list(new_left):
            match = next((o for o in old_left if same(o, current)), None)
            if match is not None:
                pairs.append((match, current))
                old_left.remove(match)
                new_left.remove(current)
    pairs.extend(zip(old_left, new_left, strict=False))
    return pairs


def compare(baseline: Iterable[Finding], current: Iterable[Finding], repos: set[str]) -> Comparison:
    """Match the current findings against the baseline of the repositories in ``repos``."""
    old_by_key: dict[tuple, list[Finding]] = defaultdict(list)
    new_by_key: dict[tuple, list[Finding]] = defaultdict(list)
    for finding in baseline:
        if finding.repo in repos:
            old_by_key[finding.key].append(finding)
    for finding in current:
        new_by_key[finding.key].append(finding)
    merged, new, lost = [], [], []
    for key in old_by_key.keys() | new_by_key.keys():
        old_group = sorted(old_by_key.get(key, []), key=lambda f: f.order)
        new_group = sorted(new_by_key.get(key, []), key=lambda f: f.order)
        matched_old, matched_new = set(), set()
        for before, now in _pair(old_group, new_group):
            matched_old.add(id(before))
            matched_new.add(id(now))
            merged.append(
                replace(now, verdict=before.verdict, reason=before.reason, fp_class=before.fp_class)
            )
        new += [f for f in new_group if id(f) not in matched_new]
        lost += [f for f in old_group if id(f) not in matched_old]
    merged += new
    order = lambda f: f.order  # noqa: E731
    return Comparison(sorted(merged, key=order), sorted(new, key=order), sorted(lost, key=order))


@dataclass(frozen=True)
class Precision:
    true: int
    false: int
    unreviewed: int

    @property
    def value(self) -> float | None:
        reviewed = self.true + self.false
        return self.true / reviewed if reviewed else None

    def describe(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.3f}"
        text = f"{value} ({self.true} true of {self.true + self.false} reviewed"
        return text + (f"; {self.unreviewed} not reviewed)" if self.unreviewed else ")")


def precision(findings: Iterable[Finding], prefixes: tuple[str, ...] = ("",)) -> Precision:
    chosen = [f for f in findings if f.code.startswith(prefixes)]
    return Precision(
        sum(1 for f in chosen if f.verdict is True),
        sum(1 for f in chosen if f.verdict is False),
        sum(1 for f in chosen if f.verdict is None),
    )


# --- the baseline ----------------------------------------------------------------------------


def load_baseline(path: Path) -> list[Finding]:
    if not path.is_file():
        return []
    document = json.loads(path.read_text(encoding="utf-8"))
    return [Finding(**entry) for entry in document["findings"]]


def write_baseline(path: Path, findings: Iterable[Finding]) -> None:
    document = {
        "about": "kerascheck findings on the ecosystem set (benchmarks/ecosystem.py), each "
        "reviewed by reading the code: verdict true (a real fault), false (a false positive; "
        "fp_class names its reproduction in benchmarks/ecosystem_fp/) or null (not reviewed).",
        "findings": [f.as_json() for f in sorted(findings, key=lambda f: f.order)],
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)


def updated_baseline(
    baseline: Iterable[Finding], comparison: Comparison, repos: set[str]
) -> list[Finding]:
    """The current run's findings, plus the baseline's entries of repositories not checked."""
    kept = [f for f in baseline if f.repo not in repos]
    return kept + comparison.findings


# --- reporting -------------------------------------------------------------------------------


def report(run: Run, comparison: Comparison, out: Callable[[str], None]) -> None:
    out(f"files checked: {run.files} ({run.notebooks} notebooks)")
    out(f"files that could not be checked: {len(run.errors)}")
    for error in run.errors:
        out(f"  {error.repo}/{error.path}: {error.message}")
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in comparison.findings:
        by_code[finding.code].append(finding)
    out(f"findings: {len(comparison.findings)}")
    for code in sorted(by_code):
        group = precision(by_code[code])
        out(f"  {code}: {len(by_code[code]):4d}  {group.describe()}")
    out("precision (true / reviewed):")
    for label, prefixes in (
        ("overall", ("",)),
        ("model faults (KC1xx, KC3xx, KC4xx)", MODEL_FAULT_PREFIXES),
        ("API drift (KC2xx)", API_DRIFT_PREFIXES),
    ):
        out(f"  {label}: {precision(comparison.findings, prefixes).describe()}")
    out(f"NEW findings (not in the baseline, not reviewed): {len(comparison.new)}")
    for finding in comparison.new:
        out(f"  {finding.where()}: {finding.code} {finding.message}")
    out(f"LOST findings (in the baseline, not found now): {len(comparison.lost)}")
    for finding in comparison.lost:
        verdict = {True: "true", False: "false", None: "unreviewed"}[finding.verdict]
        out(f"  {finding.where()}: {finding.code} [{verdict}] {finding.message}")


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="kerascheck on pinned real-world Keras code, compared with reviewed findings"
    )
    parser.add_argument(
        "--mirror", type=Path, default=MIRROR, help="folder of <owner>+<name>/repo git mirrors"
    )
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help="where the files are materialised"
    )
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="the reviewed findings (JSON)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never git clone; use the mirror or the cache"
    )
    parser.add_argument(
        "--update", action="store_true", help="write the current findings into the baseline"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="OWNER/NAME",
        help="check only these repositories",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="kerascheck worker processes (default 2)"
    )
    args = parser.parse_args(argv)
    known = {repo.name for repo in REPOSITORIES}
    unknown = [name for name in args.only if name not in known]
    if unknown:
        parser.error(f"not in the ecosystem set: {', '.join(unknown)}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None, repositories: Sequence[Repo] = REPOSITORIES) -> int:
    args = parse_args(argv)
    chosen = [r for r in repositories if not args.only or r.name in args.only]
    args.cache.mkdir(parents=True, exist_ok=True)
    sets, missing = [], []
    no_clone = "--offline forbids a clone" if args.offline else None
    for repo in chosen:
        try:
            sets.append(materialise(repo, args.cache, args.mirror, no_clone))
        except CloneFailed as exc:
            missing.append(f"{repo.name}: {exc}")
            # Without network every clone would fail the same way: do not wait for each.
            no_clone = "an earlier clone failed, so no more are tried"
        except Unavailable as exc:
            missing.append(f"{repo.name}: {exc}")
    for line in missing:
        print(f"skipped {line}")
    if not sets:
        print("ecosystem check skipped: no repository of the set could be materialised")
        return 0
    try:
        run = check(sets, args.cache, args.jobs)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    checked = {m.repo.name for m in sets}
    baseline = load_baseline(args.baseline)
    comparison = compare(baseline, run.findings, checked)
    print(f"repositories checked: {len(sets)} of {len(chosen)}")
    report(run, comparison, print)
    if args.update:
        write_baseline(args.baseline, updated_baseline(baseline, comparison, checked))
        print(f"baseline written: {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
