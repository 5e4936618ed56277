"""Measure what `check --dynamic` makes of the model-fault findings (KC1xx, KC3xx, KC4xx) of
fixtures/ and of every rule's invalid examples, and of each rule's experiment run directly
on the models of its valid examples (where it must confirm nothing).

    python tools/dynamic_coverage.py              # the table, the counts, the timings
    python tools/dynamic_coverage.py --runs 3     # also: the same verdicts and numbers 3 times

Needs TensorFlow and Keras (`pip install -e '.[dynamic]'`). docs/dynamic.md records the last
run; tests/test_dynamic.py holds the verdicts it expects, example by example.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kerascheck import dynamic  # noqa: E402
from kerascheck.dynamic import compare, runner  # noqa: E402
from kerascheck.dynamic.experiments import REGISTRY  # noqa: E402
from kerascheck.engine import Options, extract, flavour_of, lint_file, lint_source  # noqa: E402
from kerascheck.registry import all_rules  # noqa: E402

MODEL_FAULTS = ("KC1", "KC3", "KC4")


@dataclass(frozen=True)
class Row:
    case: str  # "KC102 invalid 0", "fixtures/seed000_bce_raw_logits.py:14"
    code: str
    status: str
    evidence: str


_CURRENT = ["?"]  # the case being checked, to name the jobs it runs


def _timed_jobs() -> list[tuple[float, str]]:
    """Wrap the worker so that each job's wall time (one model's budget) is recorded."""
    times: list[tuple[float, str]] = []
    original = runner.Worker.run

    def run(self: runner.Worker, job: object, timeout: float) -> object:
        started = time.perf_counter()
        try:
            return original(self, job, timeout)  # type: ignore[arg-type]
        finally:
            times.append((time.perf_counter() - started, _CURRENT[0]))

    runner.Worker.run = run  # type: ignore[method-assign]
    return times


def findings(timeout: float) -> list[Row]:
    rows = []
    for rule in all_rules():
        if not rule.code.startswith(MODEL_FAULTS):
            continue
        for index, example in enumerate(rule.invalid):
            source = textwrap.dedent(example.code).lstrip("\n")
            _CURRENT[0] = f"{rule.code} invalid {index}"
            options = Options(
                select=(rule.code,),
                target_keras=example.flavour,
                dynamic=True,
                dynamic_timeout=timeout,
            )
            result = lint_source(source, "example.py", options)
            for f in result.findings:
                if f.code == rule.code:
                    rows.append(
                        Row(
                            f"{rule.code} invalid {index}",
                            f.code,
                            f.dynamic or "",
                            f.evidence or "",
                        )
                    )
    for path in sorted((ROOT / "fixtures").rglob("*")):
        if path.suffix not in (".py", ".ipynb") or path.name.startswith("ok_"):
            continue
        name = path.relative_to(ROOT).as_posix()
        _CURRENT[0] = name
        result = lint_file(str(path), Options(dynamic=True, dynamic_timeout=timeout))
        for f in result.findings:
            if f.code.startswith(MODEL_FAULTS):
                case = f"{name}:{f.span.line}"
                rows.append(Row(case, f.code, f.dynamic or "", f.evidence or ""))
    return rows


def specificity(timeout: float) -> list[Row]:
    """Each rule's experiment on every part of its valid examples' models it tests."""
    rows = []
    for rule in all_rules():
        if not rule.code.startswith(MODEL_FAULTS) or rule.experiment is None:
            continue
        for index, example in enumerate(rule.valid):
            source = textwrap.dedent(example.code).lstrip("\n")
            spec = extract(cst.parse_module(source), "valid.py", lines=source.count("\n"))
            flavour = flavour_of(spec, example.flavour)
            _CURRENT[0] = f"{rule.code} valid {index}"
            models = spec.models if rule.experiment in REGISTRY else (None,)  # about the data
            for model in models:
                for verdict in dynamic.experiment(model, rule.experiment, flavour, timeout, spec):
                    case = f"{rule.code} valid {index}"
                    rows.append(Row(case, rule.code, verdict.status, verdict.evidence))
    return rows


def summary(rows: list[Row], valid: list[Row], times: list[tuple[float, str]]) -> str:
    counts = Counter(r.status for r in rows)
    decided = counts["confirmed"] + counts["refuted"]
    seeds_refuted = [r for r in rows if r.case.startswith("fixtures/") and r.status == "refuted"]
    valid_confirmed = [r for r in valid if r.status == "confirmed"]
    return "\n".join(
        [
            f"model-fault findings: {len(rows)}; confirmed {counts['confirmed']}, refuted "
            f"{counts['refuted']}, unverifiable {counts['unverifiable']}: "
            f"{decided / max(len(rows), 1):.1%} confirmed or refuted",
            f"seed fixtures' faults refuted: {len(seeds_refuted)}",
            f"experiments on valid examples: {len(valid)} parts tested, "
            f"{Counter(r.status for r in valid)}; confirmed: {len(valid_confirmed)}",
            f"jobs (one model each): {len(times)}, {sum(t for t, _ in times):.0f} s in all; "
            "slowest: " + ", ".join(f"{name} {t:.1f} s" for t, name in sorted(times)[-5:]),
        ]
    )


def _print_margins() -> None:
    """Each training comparison's values per seed, on stderr: how far a verdict is from
    the other one (two ranges that nearly touch could tip on another CPU's arithmetic)."""
    decide = compare.Outcome.worse.fget
    assert decide is not None

    def worse(self: compare.Outcome) -> bool:
        written = ", ".join(compare.number(v) for v in self.written.values)
        fixed = ", ".join(compare.number(v) for v in self.fixed.values)
        print(f"{_CURRENT[0]}: written {written} | fixed {fixed}", file=sys.stderr)
        return decide(self)

    compare.Outcome.worse = property(worse)  # type: ignore[method-assign,assignment]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat and compare (determinism)")
    parser.add_argument("--timeout", type=float, default=dynamic.DEFAULT_TIMEOUT)
    parser.add_argument(
        "--margins", action="store_true", help="print each comparison's values per seed"
    )
    args = parser.parse_args()
    if args.margins:
        _print_margins()
    times = _timed_jobs()
    runs = []
    for number in range(args.runs):
        if number:
            runner.shared_worker().stop()  # each run in a fresh worker, as a new process would
        del times[:]
        started = time.perf_counter()
        rows, valid = findings(args.timeout), specificity(args.timeout)
        runs.append((rows, valid))
        print(f"run {number + 1}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rows, valid = runs[0]
    for row in rows + valid:
        print(f"| {row.case} | {row.code} | {row.status} | {row.evidence} |")
    print()
    print(summary(rows, valid, times))
    if args.runs > 1:
        same = all(run == runs[0] for run in runs[1:])
        print(f"{args.runs} runs: verdicts and evidence {'identical' if same else 'DIFFER'}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
