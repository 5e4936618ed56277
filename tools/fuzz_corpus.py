"""The long reliability run: the reference corpus and N mutated variants of each file,
linted in-process and fixed (--fix, unsafe fixes included) on copies.

Counts inputs tried, tracebacks (must be 0), interpreter crashes (must be 0) and broken
invariants (must be 0):

- a check never raises; a file that cannot be read, decoded or parsed gives exactly one
  error naming it, a syntax error at Python's own line and column;
- no findings on code Python cannot parse, no "internal error";
- --fix never breaks a file: one that parsed still parses, one that did not is left byte
  for byte, and a second --fix changes nothing.

The mutation functions and the invariant checks are also what tests/test_reliability_fuzz.py
runs, on fewer inputs. Usage (docs/reliability.md has the reference figures):

    ../shared/corpus/get.sh .cache/corpus          # once
    .venv/bin/python tools/fuzz_corpus.py          # 3 mutants a file, all CPUs
    .venv/bin/python tools/fuzz_corpus.py --mutants 10 --limit 200 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import libcst as cst

from kerascheck import nesting
from kerascheck.engine import FileResult, Options, lint_file, might_use_keras
from kerascheck.fix import fix_file
from kerascheck.source import SourceError, decode

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ mutations

# Bytes and snippets that tend to upset tokenizers, decoders and parsers.
INTERESTING_BYTES = b"()[]{}:;,.\"'\\#\t\r\n \x00\x0c\x1b\x7f\x80\xc3\xe9\xef\xbb\xbf\xff"
TOKENS = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\\",
    "'",
    '"',
    '"""',
    "'''",
    "#",
    "\t",
    "    ",
    "\r",
    "\x00",
    "\ufeff",
    "é",
    "\u202e",
    "lambda",
    "lambda:",
    "if",
    "else",
    "elif",
    "async ",
    "await ",
    "yield",
    "return",
    "print ",
    "exec ",
    "def ",
    "class ",
    "import ",
    "from ",
    "keras.",
    "keras.layers.Dense(",
    "model.compile(",
    "model.fit(",
    "activation=",
    "loss=",
    "**",
    "*",
    "@",
    ":=",
    "->",
    "...",
    "f'{",
    "b'",
    "rb'",
    "0777",
    "1e999",
    "9" * 5000,
    "(" * 300,
    "[" * 150,
    "-" * 5000,
    " and x" * 2000,
    # Past the depths that crash libcst's native parser (the nesting guard's job).
    "(" * 2000,
    "-" * 10_000,
    "lambda: " * 4000,
    " and x" * 8000,
    "elif x:\n pass\n" * 4000,
    "# -*- coding: latin-1 -*-\n",
    "# coding: utf-16\n",
    "# coding: klingon\n",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        byte = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
        out[rng.randrange(len(out))] = byte
    return bytes(out)


def delete_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    del lines[start : start + rng.randint(1, 5)]
    return b"\n".join(lines)


def shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    width = len(lines) if rng.random() < 0.2 else rng.randint(2, 10)
    start = rng.randrange(max(1, len(lines) - width + 1))
    window = lines[start : start + width]
    rng.shuffle(window)
    lines[start : start + width] = window
    return b"\n".join(lines)


def duplicate_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
    return b"\n".join(lines)


def insert_token(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(TOKENS).encode("utf-8", "surrogatepass") + data[at:]


def reindent(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    body = lines[index].lstrip(b" \t")
    lines[index] = rng.choice([b"\t", b" ", b"  ", b"        ", b" \t", b""]) + body
    return b"\n".join(lines)


def line_endings(data: bytes, rng: random.Random) -> bytes:
    ending = rng.choice([b"\r\n", b"\r"])
    if rng.random() < 0.5:
        return data.replace(b"\n", ending)
    lines = _lines(data)  # mixed: only some lines
    return b"".join(line + (ending if rng.random() < 0.5 else b"\n") for line in lines)[:-1]


def reencode(data: bytes, rng: random.Random) -> bytes:
    """The same text behind a BOM, in Latin-1 with a cookie, or with a cookie that lies."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    choice = rng.randrange(3)
    if choice == 0:
        return b"\xef\xbb\xbf" + data
    if choice == 1:
        return ("# -*- coding: latin-1 -*-\n" + text).encode("latin-1", "replace")
    return b"# -*- coding: ascii -*-\n" + data


MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    truncate,
    flip_bytes,
    delete_lines,
    shuffle_lines,
    duplicate_line,
    insert_token,
    reindent,
    line_endings,
    reencode,
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three mutations in a row."""
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(data, rng)
    return data


# ------------------------------------------------------------------ invariants


def python_verdict(source: str) -> BaseException | None:
    """None when CPython's parser accepts the source, else what it raised."""
    try:
        nesting.parse_python(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return exc
    return None


def libcst_parses(source: str) -> bool:
    if nesting.check(source) is not None:
        return False  # not safe to hand to libcst at all
    try:
        cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, UnicodeEncodeError):
        return False
    return True


def check_result(data: bytes, result: FileResult) -> list[str]:
    """What ``lint_file`` on a file holding ``data`` did wrong (nothing, we hope)."""
    try:
        source = decode(data)
    except SourceError:
        problems = _check_errors(result)
        if [e.message.startswith("cannot decode") for e in result.errors] != [True]:
            problems.append(f"undecodable input without one decode error: {result.errors}")
        return problems
    return check_source(source, result)


def check_source(source: str, result: FileResult) -> list[str]:
    """What ``lint_source`` on ``source`` did wrong (nothing, we hope)."""
    problems = _check_errors(result)
    if not might_use_keras(source):
        if result.errors or result.findings:
            problems.append("a file the prefilter skips has results")
        return problems
    lines = len(re.findall(r"\r\n|\r|\n", source)) + 1  # Python's newlines, no others
    for finding in result.findings:
        span = finding.span
        if not (1 <= span.line <= lines + 1 and span.col >= 1):
            problems.append(f"finding outside the file: {finding.code} at {span}")
    verdict = python_verdict(source)
    if result.errors:
        problems.extend(_check_error(source, result, verdict))
    elif verdict is not None:
        if result.findings:
            problems.append(f"findings on code Python rejects ({verdict!r})")
        if not libcst_parses(source):
            problems.append(f"no error for a file neither parser accepts ({verdict!r})")
    return problems


def _check_errors(result: FileResult) -> list[str]:
    problems: list[str] = []
    if len(result.errors) > 1:
        problems.append(f"{len(result.errors)} errors for one file")
    if result.errors and result.findings:
        problems.append("both errors and findings")
    for error in result.errors:
        if error.path != result.path or not error.message.strip():
            problems.append(f"error without path or reason: {error}")
        if "internal error" in error.message:
            problems.append(error.message)
    return problems


def _check_error(source: str, result: FileResult, verdict: BaseException | None) -> list[str]:
    error = result.errors[0]
    message = error.message
    if message.startswith("syntax error"):
        if verdict is None:
            return [f"syntax error on code Python accepts: {message}"]
        if "\x00" in source:
            null = source.index("\x00")
            where = (source.count("\n", 0, null) + 1, null - source.rfind("\n", 0, null))
            return [] if (error.line, error.column) == where else [f"null byte at {where}: {error}"]
        if isinstance(verdict, SyntaxError) and verdict.lineno is not None:
            expected = (verdict.lineno, verdict.offset or 1)
            if (error.line, error.column) != expected:
                return [f"syntax error at {(error.line, error.column)}, Python says {expected}"]
        return []
    if message.startswith("cannot parse") and verdict is not None:
        return [f"'cannot parse' for code Python rejects too: {message}"]
    if message.startswith(("too deeply nested", "cannot parse", "cannot decode")):
        return []
    return [f"unexpected error: {message}"]


def check_fix(before: bytes, after: bytes, again: bytes) -> list[str]:
    """--fix on a copy holding ``before`` left ``after``; a second --fix left ``again``."""
    problems: list[str] = []
    if again != after:
        problems.append("a second --fix changed the file again")
    try:
        source = decode(before)
    except SourceError:
        return [*problems, "--fix changed an undecodable file"] if after != before else problems
    parsed = python_verdict(source) is None and libcst_parses(source)
    if not parsed:
        if after != before:
            problems.append("--fix changed a file that did not parse")
        return problems
    if after == before:
        return problems
    try:
        fixed = decode(after)
    except SourceError:
        return [*problems, "--fix wrote a file that no longer decodes"]
    if python_verdict(fixed) is not None or not libcst_parses(fixed):
        problems.append("--fix broke a file that parsed")
    return problems


# ------------------------------------------------------------------ the run


@dataclass
class Tally:
    inputs: int = 0  # inputs linted
    fixed_inputs: int = 0  # inputs put through --fix
    files_changed_by_fix: int = 0
    tracebacks: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # the interpreter died (a segfault)
    outcomes: Counter = field(default_factory=Counter)  # clean / findings / error kinds
    original_errors: list[str] = field(default_factory=list)  # unmutated files not checked
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.inputs += other.inputs
        self.fixed_inputs += other.fixed_inputs
        self.files_changed_by_fix += other.files_changed_by_fix
        self.tracebacks += other.tracebacks
        self.violations += other.violations
        self.crashes += other.crashes
        self.outcomes.update(other.outcomes)
        self.original_errors += other.original_errors
        self.slowest = sorted(self.slowest + other.slowest, reverse=True)[:10]


def variants(path: Path, mutants: int, seed: int) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    yield "original", data
    for k in range(mutants):
        rng = random.Random(f"{seed}:{path}:{k}")
        yield f"mutant {k}", mutate(data, rng)


ERROR_KINDS = (
    "syntax error",
    "cannot decode",
    "cannot read",
    "cannot parse",
    "too deeply nested",
    "too large",
    "internal error",
)


def _outcome(result: FileResult) -> str:
    if result.errors:
        message = result.errors[0].message
        return "error: " + next((k for k in ERROR_KINDS if message.startswith(k)), message)
    return "findings" if result.findings else "clean"


def fuzz_file(path: Path, mutants: int, seed: int, fix: bool, scratch: Path) -> Tally:
    """Every variant of one corpus file, linted and (on a copy) fixed."""
    tally = Tally()
    options = Options()
    rules = options.rules()
    copy = scratch / "input.py"
    for label, data in variants(path, mutants, seed):
        name = f"{path} [{label}]"
        copy.write_bytes(data)
        started = time.perf_counter()
        try:
            result = lint_file(str(copy), options, rules)
            tally.violations += [f"{name}: {p}" for p in check_result(data, result)]
            tally.outcomes[_outcome(result)] += 1
            if label == "original" and result.errors:
                tally.original_errors.append(f"{path}: {result.errors[0].message}")
            if fix:
                fix_file(str(copy), options, unsafe=True, write=True, rules=rules)
                after = copy.read_bytes()
                fix_file(str(copy), options, unsafe=True, write=True, rules=rules)
                again = copy.read_bytes()
                tally.violations += [f"{name}: {p}" for p in check_fix(data, after, again)]
                tally.fixed_inputs += 1
                tally.files_changed_by_fix += after != data
        except Exception:
            tally.tracebacks.append(f"{name}\n{traceback.format_exc()}")
        tally.inputs += 1
        tally.slowest = sorted([*tally.slowest, (time.perf_counter() - started, name)])[-10:]
    return tally


Task = tuple[Path, int]  # a file and how many mutants of it


def _chunk(tasks: list[Task], seed: int, fix: bool) -> Tally:
    scratch = Path(tempfile.mkdtemp(prefix="kerascheck-fuzz-"))
    tally = Tally()
    try:
        for path, mutants in tasks:
            tally.merge(fuzz_file(path, mutants, seed, fix, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tally


def run(tasks: list[Task], seed: int, fix: bool, jobs: int) -> Tally:
    """All tasks over ``jobs`` processes. A worker that dies (a segfault) fails its pool;
    the tasks not done yet are then run one per process, so the culprit is named."""
    total = Tally()
    chunks = [tasks[i : i + 8] for i in range(0, len(tasks), 8)]
    pending = list(chunks)
    done = 0
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future, list[Task]] = {pool.submit(_chunk, c, seed, fix): c for c in chunks}
        try:
            for future in as_completed(futures):
                total.merge(future.result())
                pending.remove(futures[future])
                done += len(futures[future])
                _progress(done, len(tasks), total)
        except BrokenProcessPool:
            pass
    for chunk in pending:
        for task in chunk:
            total.merge(_isolated(task, seed, fix))
            done += 1
            _progress(done, len(tasks), total)
    return total


def _isolated(task: Task, seed: int, fix: bool) -> Tally:
    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(_chunk, [task], seed, fix).result()
        except BrokenProcessPool:
            return Tally(crashes=[f"{task[0]}: the interpreter died"])


def _progress(done: int, total: int, tally: Tally) -> None:
    if done % 200 == 0 or done == total:
        print(
            f"  {done}/{total} files, {tally.inputs} inputs, {len(tally.tracebacks)} tracebacks,"
            f" {len(tally.crashes)} crashes, {len(tally.violations)} violations",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / ".cache" / "corpus")
    parser.add_argument("--mutants", type=int, default=3, help="mutated variants per file")
    parser.add_argument(
        "--fixture-mutants",
        type=int,
        default=200,
        help="mutated variants per file of fixtures/ (small files with findings and fixes)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--no-fix", action="store_true", help="skip the --fix checks")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.corpus.rglob("*.py") if "wheels" not in p.parts)
    if not files:
        print(f"no .py files under {args.corpus}: run ../shared/corpus/get.sh first")
        return 2
    files = files[: args.limit] if args.limit is not None else files
    fixtures = sorted((ROOT / "fixtures").rglob("*.py"))
    tasks = [(f, args.fixture_mutants) for f in fixtures] + [(f, args.mutants) for f in files]
    started = time.perf_counter()
    tally = run(tasks, args.seed, not args.no_fix, max(1, args.jobs))
    elapsed = time.perf_counter() - started
    print(f"corpus files: {len(files)}, mutants per file: {args.mutants}, seed: {args.seed}")
    print(f"fixture files: {len(fixtures)}, mutants per fixture: {args.fixture_mutants}")
    print(f"inputs linted: {tally.inputs}, put through --fix: {tally.fixed_inputs}")
    print(f"files --fix changed: {tally.files_changed_by_fix}")
    print(f"tracebacks: {len(tally.tracebacks)}, interpreter crashes: {len(tally.crashes)}")
    print(f"invariant violations: {len(tally.violations)}")
    print(f"wall time: {elapsed:.0f} s on {args.jobs} processes")
    for outcome, count in tally.outcomes.most_common():
        print(f"  {count:>7}  {outcome}")
    print(f"unmutated files that could not be checked: {len(tally.original_errors)}")
    for line in tally.original_errors[:10]:
        print(f"  {line}")
    print("slowest inputs:")
    for seconds, name in tally.slowest[:5]:
        print(f"  {seconds:6.2f} s  {name}")
    for problem in [*tally.crashes, *tally.tracebacks, *tally.violations][:20]:
        print(f"\n{problem}")
    if args.json is not None:
        # asdict() would rebuild the Counter from (key, count) pairs, counting the pairs.
        figures = (
            asdict(tally)
            | {"outcomes": dict(tally.outcomes.most_common())}
            | {
                "files": len(files),
                "mutants": args.mutants,
                "fixtures": len(fixtures),
                "fixture_mutants": args.fixture_mutants,
                "seed": args.seed,
                "jobs": args.jobs,
                "seconds": round(elapsed, 1),
            }
        )
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 1 if tally.tracebacks or tally.crashes or tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
