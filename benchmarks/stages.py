"""Where a cold single-process check spends its time, stage by stage.

Checks every ``*.py`` file under a corpus in this process, as ``kerascheck check --jobs 1
--no-cache`` does, with the engine's stage functions wrapped in timers, and prints seconds
per stage and each as a multiple of the libcst parse. The wrappers add a little overhead of
their own, so compare stages with each other, not the total with benchmarks/run.py.

    .venv/bin/python benchmarks/stages.py [CORPUS]   # default: the reference corpus
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kerascheck import engine, nesting
from kerascheck.discover import discover

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".cache" / "corpus"

# (module, function, label): the engine looks each up through its module at call time.
STAGES = (
    (engine, "read_source", "read + decode"),
    (nesting, "might_be_deep", "nesting screen"),
    (nesting, "python_tree", "ast.parse"),
    (engine, "slice_source", "slicing scan"),
    (engine, "_parse", "libcst parse"),
    (engine, "extract", "extraction"),
    (engine, "run_rules", "rules"),
    (engine, "positioned", "positions"),
)


def _timed(function: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    return wrapper


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else DEFAULT_CORPUS
    if not corpus.is_dir():
        print(f"no corpus at {corpus}: bash ../shared/corpus/get.sh {corpus}", file=sys.stderr)
        return 2
    spent: dict[str, float] = defaultdict(float)
    for module, name, label in STAGES:
        setattr(module, name, _timed(getattr(module, name), label, spent))
    options = engine.Options()
    files = list(discover([str(corpus)], options.exclude))
    rules = options.rules()
    engine.tune_gc()
    start = time.perf_counter()
    for path in files:
        engine.lint_file(path, options, rules)
    total = time.perf_counter() - start
    parse = spent["libcst parse"] or 1.0
    print(f"{len(files)} files in {total:.1f} s (one process, timers included)")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:<16} {seconds:7.2f} s  {seconds / parse:5.2f} x the libcst parse")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
