"""What ``%load_ext kerascheck`` adds to each cell's run, measured.

Default: a 50-cell Keras session run in a real IPython shell with the extension loaded. Keras
is replaced by a stub module so the cells run in microseconds and nothing but the check is
measured (the check never imports Keras either way); the time of the extension's
``pre_run_cell`` callback is taken for every cell.

With notebooks as arguments, their code cells are replayed through the check one by one as
an IPython session would run them (not executed), 50 cells each by default.

    .venv/bin/python benchmarks/live.py [--cells N] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL_CELLS = [
    "import numpy as np\nimport keras\nfrom keras import layers",
    "import plots as plt",
    "SEED = 7\nrng = np.random.default_rng(SEED)",
    "x_train = rng.random((600, 28, 28))\ny_train = rng.integers(0, 10, 600)",
    "x_test = rng.random((100, 28, 28))\ny_test = rng.integers(0, 10, 100)",
    "print(x_train.shape, y_train.shape)",
    "x_train = x_train.reshape(-1, 784) / 1.0\nx_test = x_test.reshape(-1, 784) / 1.0",
    "num_classes = 10\nbatch_size = 64\nepochs = 2",
    "def describe(a):\n    return a.min(), a.max(), a.mean()\n\ndescribe(x_train)",
    "model = keras.Sequential([\n    layers.Dense(128, activation='relu'),\n"
    "    layers.Dense(num_classes, activation='softmax'),\n])",
    "model.compile(loss='sparse_categorical_crossentropy', optimizer='adam',\n"
    "              metrics=['accuracy'])",
    "history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,\n"
    "                    validation_split=0.1)",
    "plt.plot(history.history['loss'])\nplt.plot(history.history['val_loss'])",
    "score = model.evaluate(x_test, y_test)\nprint(score)",
    "predictions = model.predict(x_test[:5])\npredictions.argmax(axis=1)",
    "def build(units, activation):\n"
    "    m = keras.Sequential([layers.Dense(64, activation='relu'),\n"
    "                          layers.Dense(units, activation=activation)])\n    return m",
    "binary = build(1, 'softmax')",
    "binary.compile(loss='binary_crossentropy', optimizer='adam')",
    "y_binary = (y_train > 4).astype('int32')\ny_binary[:10]",
    "binary.fit(x_train, y_binary, epochs=1)",
    "for rate in [0.1, 0.01]:\n    print(rate)",
    "results = {}\nresults['dense'] = score",
    "results",
    "!nvidia-smi",
    "%time model.evaluate(x_test, y_test)",
]
PLAIN_CELLS = [
    "table = {{'run': {i}, 'loss': {i} * 0.1}}\ntable",
    "values = [v * {i} for v in range(10)]\nsum(values)",
    "print('step {i}')",
    "note_{i} = 'checked'\nlen(note_{i})",
    "def helper_{i}(a, b=2):\n    return a * b + {i}\n\nhelper_{i}(3)",
]


def synthetic_session(cells: int) -> list[str]:
    """A Keras session of ``cells`` cells: the model cells above, interleaved with the
    exploration, printing and bookkeeping cells notebooks are full of."""
    session = []
    plain = 0
    for index in range(cells):
        if index % 2 == 0 and index // 2 < len(MODEL_CELLS):
            session.append(MODEL_CELLS[index // 2])
        else:
            session.append(PLAIN_CELLS[plain % len(PLAIN_CELLS)].format(i=plain))
            plain += 1
    return session


def _stub_modules() -> None:
    """Keras and matplotlib stand-ins that accept every call (the session runs in a
    moment; the check reads the code, never the modules)."""

    class Anything:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.history = {"loss": [], "val_loss": []}

        def __call__(self, *args: Any, **kwargs: Any) -> Anything:
            return Anything()

        def __getattr__(self, name: str) -> Anything:
            return Anything()

        def __getitem__(self, key: Any) -> Anything:
            return Anything()

    def attribute(name: str) -> Anything:
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    for name in ("keras", "keras.layers", "plots"):
        module = types.ModuleType(name)
        module.__getattr__ = attribute  # type: ignore[method-assign]
        sys.modules[name] = module
    sys.modules["keras"].layers = sys.modules["keras.layers"]  # type: ignore[attr-defined]


def _timed(callback: Callable[[Any], None], spent: list[float]) -> Callable[[Any], None]:
    def wrapper(info: Any = None) -> None:
        start = time.perf_counter()
        callback(info)
        spent.append(time.perf_counter() - start)

    return wrapper


def in_a_shell(cells: list[str]) -> list[float]:
    """Each cell run in a real IPython shell; the extension's callback timed."""
    from IPython.core.interactiveshell import InteractiveShell

    import kerascheck.live as live

    _stub_modules()
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext kerascheck", store_history=True)
    check, _ = live._LOADED[id(shell)]
    spent: list[float] = []
    shell.events.unregister("pre_run_cell", check.pre_run_cell)
    shell.events.register("pre_run_cell", _timed(check.pre_run_cell, spent))
    live._show = lambda plain, markup: None  # time the check, not the terminal
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        for cell in cells:
            shell.run_cell(cell, store_history=True)
    return spent


def replayed(cells: list[str]) -> list[float]:
    """Cells replayed through the check as a session would run them, not executed."""
    import kerascheck.live as live

    history = types.SimpleNamespace(input_hist_raw=[""])
    check = live.LiveCheck(types.SimpleNamespace(history_manager=history))
    live._show = lambda plain, markup: None
    spent = []
    for cell in cells:
        start = time.perf_counter()
        check.pre_run_cell(types.SimpleNamespace(raw_cell=cell, store_history=True))
        spent.append(time.perf_counter() - start)
        history.input_hist_raw.append(cell.rstrip("\n"))
    return spent


def summary(label: str, spent: list[float]) -> str:
    ms = sorted(s * 1000 for s in spent)
    return (
        f"{label}: {len(ms)} cells, mean {statistics.mean(ms):.1f} ms, median "
        f"{statistics.median(ms):.1f} ms, 90th percentile {ms[int(len(ms) * 0.9)]:.1f} ms, "
        f"max {ms[-1]:.1f} ms, last cell {spent[-1] * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if not args.notebooks:
        print(
            summary("IPython shell, synthetic session", in_a_shell(synthetic_session(args.cells)))
        )
        return 0
    from kerascheck.notebook import parse_notebook

    every: list[float] = []
    for path in args.notebooks:
        cells = [c.text for c in parse_notebook(path.read_bytes()).cells][: args.cells]
        every.extend(replayed(cells))
    print(summary(f"{len(args.notebooks)} notebooks replayed", every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
