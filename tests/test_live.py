"""``%load_ext kerascheck`` in real IPython shells and a real Jupyter kernel.

The cells build models with a stand-in ``keras`` package (written to a temporary folder on
the kernel's path) so that they run in a moment; the check is static and reads only the
code, so what it reports does not depend on which ``keras`` the cells import. One test uses
the real Keras when TensorFlow is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from kerascheck.engine import Options, lint_code_cells
from kerascheck.notebook import code_cells

pytest.importorskip("IPython")

KERNEL_TIMEOUT = 600  # seconds per cell: a loaded CI machine starts kernels slowly

STUB_KERAS = {
    "keras/__init__.py": (
        "from keras import layers\n\n"
        "class Sequential:\n"
        "    def __init__(self, layers=None):\n"
        "        self.layers = list(layers or [])\n\n"
        "    def add(self, layer):\n"
        "        self.layers.append(layer)\n\n"
        "    def compile(self, **options):\n"
        "        self.options = options\n"
    ),
    "keras/layers.py": (
        "class Dense:\n"
        "    def __init__(self, units, activation=None, **options):\n"
        "        self.units, self.activation = units, activation\n"
    ),
}
SOFTMAX_1 = 'model = keras.Sequential([layers.Dense(1, activation="softmax")])'


@pytest.fixture
def stub_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``keras`` on PYTHONPATH (shells and kernels started from here see it)."""
    folder = tmp_path / "stub"
    for name, text in STUB_KERAS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.chdir(tmp_path)  # no project configuration from the checkout
    return folder


# A real InteractiveShell, driven cell by cell in a fresh process; prints one JSON record
# per cell: what it printed, and whether IPython refused it before running it.
SHELL_DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    records = []
    for cell in json.loads(sys.argv[1]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = shell.run_cell(cell, store_history=True)
        refused = type(result.error_before_exec).__name__ if result.error_before_exec else None
        records.append({"out": out.getvalue(), "refused": refused})
    loaded = [m for m in ("tensorflow", "jax", "torch") if m in sys.modules]
    records.append({"modules": loaded})
    print(json.dumps(records))
    """
)


def run_shell(cells: list[str]) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", SHELL_DRIVER, json.dumps(cells)],
        capture_output=True,
        text=True,
        check=True,
        timeout=KERNEL_TIMEOUT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_import_kerascheck_stays_light() -> None:
    code = (
        "import sys, kerascheck; print(sorted(m.split('.')[0] for m in sys.modules "
        "if m.split('.')[0] in {'kerascheck', 'libcst', 'IPython', 'rich', 'tensorflow', 'keras'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['kerascheck']"
    assert callable(__import__("kerascheck").load_ipython_extension)


def test_a_cell_shows_the_findings_it_brings_before_it_runs(stub_keras: Path) -> None:
    records = run_shell(
        [
            "%load_ext kerascheck",
            "import keras\nfrom keras import layers",
            f"{SOFTMAX_1}\nprint('built')",
            "model.compile(loss='categorical_crossentropy', optimizer='adam')\nprint('compiled')",
            "print('unrelated')",
        ]
    )
    built = records[2]["out"]
    assert built.startswith("kerascheck: 1 finding\n  line 1:54: KC101 softmax over a 1-unit")
    assert built.endswith("[softmax-single-unit]\nbuilt\n")  # shown before the cell ran
    compiled = records[3]["out"]
    assert "line 1:20: KC108 " in compiled and "KC101" not in compiled  # only what is new
    assert compiled.endswith("compiled\n")
    assert records[4]["out"] == "unrelated\n"
    assert records[-1]["modules"] == []  # never TensorFlow (nor another backend)


def test_the_magic_rechecks_the_session_and_selects_codes(stub_keras: Path) -> None:
    records = run_shell(
        [
            "%load_ext kerascheck",
            "import keras\nfrom keras import layers",
            SOFTMAX_1,
            "%kerascheck",
            "%kerascheck --ignore KC101",
            "model2 = keras.Sequential([layers.Dense(1, activation='softmax')])",
            "%kerascheck --bogus",
        ]
    )
    whole = records[3]["out"]
    assert "In [3] line 1:54: KC101 " in whole
    assert whole.rstrip().endswith("(checking each cell before it runs)")
    assert records[4]["out"].startswith("kerascheck: no findings in this session")
    assert records[5]["out"] == ""  # KC101 is ignored from now on
    assert records[6]["out"].startswith("usage: %kerascheck")


def test_block_stops_a_cell_with_an_error_finding(stub_keras: Path) -> None:
    """The refused cell does not run (its print never happens), IPython reports it as an
    error before execution, and what it would have defined is not assumed later."""
    records = run_shell(
        [
            "%load_ext kerascheck",
            "import keras\nfrom keras import layers",
            "%kerascheck --block",
            f"{SOFTMAX_1}\nprint('ran')",
            "print(model)",
            "model = keras.Sequential([layers.Dense(10, activation='softmax')])",
            "model.compile(loss='categorical_crossentropy')",
            "%kerascheck --no-block",
            "m3 = keras.Sequential([layers.Dense(1, activation='softmax')])\nprint('ran too')",
        ]
    )
    refused = records[3]
    assert refused["refused"] == "CellRefused"
    assert "KC101" in refused["out"] and "ran" not in refused["out"].split("KC101")[-1]
    assert records[4]["refused"] is None  # the NameError is the cell's own, at run time
    assert records[6]["out"] == ""  # the 10-unit model is compiled: nothing to say
    assert records[8]["out"].endswith("ran too\n") and records[8]["refused"] is None


def test_the_terminal_ipython_prints_the_finding(stub_keras: Path) -> None:
    """The ``ipython`` program itself, reading cells from a pipe."""
    lines = [
        "%load_ext kerascheck",
        "import keras; from keras import layers",
        f"{SOFTMAX_1}; print('built')",
        "exit",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=NoColor"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=KERNEL_TIMEOUT,
        check=False,
    )
    output = done.stdout
    finding = output.index("line 1:54: KC101 softmax over a 1-unit output")
    assert finding < output.index("built")


def _kernel_notebook(cells: list[str], refused: set[int] = frozenset()) -> object:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if index in refused:
            cell.metadata["tags"] = ["raises-exception"]  # nbclient goes on after it
        notebook.cells.append(cell)
    return notebook


def _execute(notebook: object, folder: Path) -> object:
    nbclient = pytest.importorskip("nbclient")
    client = nbclient.NotebookClient(
        notebook,
        timeout=KERNEL_TIMEOUT,
        startup_timeout=KERNEL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def test_a_jupyter_kernel_shows_the_finding_before_the_cells_output(
    stub_keras: Path, tmp_path: Path
) -> None:
    notebook = _kernel_notebook(
        [
            "%load_ext kerascheck",
            "import keras\nfrom keras import layers",
            f"{SOFTMAX_1}\nprint('built')",
            "%kerascheck --block",
            "m2 = keras.Sequential([layers.Dense(1, activation='softmax')])\nprint('never')",
            "import sys\nprint([m for m in ('tensorflow', 'jax', 'torch') if m in sys.modules])",
        ],
        refused={4},
    )
    cells = _execute(notebook, tmp_path).cells  # type: ignore[attr-defined]
    finding, printed = cells[2].outputs
    assert finding.output_type == "display_data"
    assert "line 1:54: KC101 softmax over a 1-unit output" in finding.data["text/plain"]
    html = finding.data["text/html"]
    assert "KC101" in html and "line 1:54" in html and 'class="kerascheck"' in html
    assert (printed.output_type, printed.text) == ("stream", "built\n")
    shown, error = cells[4].outputs
    assert "KC101" in shown.data["text/plain"]
    assert (error.output_type, error.ename) == ("error", "CellRefused")
    assert error.traceback == [
        "kerascheck: cell not run: KC101 (run `%kerascheck --no-block` to allow it)"
    ]
    assert cells[5].outputs[0].text == "[]\n"


@pytest.mark.dynamic
def test_a_jupyter_kernel_with_real_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The acceptance check as a user would run it, with Keras itself."""
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = _kernel_notebook(
        [
            "%load_ext kerascheck",
            "import keras\nfrom keras import layers",
            f"{SOFTMAX_1}\nprint('built')",
        ]
    )
    cells = _execute(notebook, tmp_path).cells  # type: ignore[attr-defined]
    outputs = [o for o in cells[2].outputs if o.output_type != "stream" or o.name == "stdout"]
    assert "KC101" in outputs[0].data["text/plain"]
    assert outputs[-1].text == "built\n"


# ----------------------------------------------------- the incremental check is exact
SESSION = [
    "import keras\nfrom keras import layers\nimport numpy as np",
    "units = 1",
    "x = np.zeros((10, 4))\ny = np.zeros(10)",
    "print(x.shape)",
    "def head(n):\n    return layers.Dense(n, activation='softmax')",
    "model = keras.Sequential([layers.Dense(8), head(units)])",
    "table = {'a': 1}\ntable['b'] = 2",
    "model.compile(loss='categorical_crossentropy', optimizer='adam')",
    "units = 3\nother = keras.Sequential([head(units)])",
    "other.compile(loss='binary_crossentropy')",
    "model = keras.Sequential([layers.Dense(4, activation='sigmoid')])",
    "model.compile(loss='mse', metrics=['accuracy'])",
    "print 'a cell Python rejects'",
    "history = model.fit(x, y, epochs=1)",
]


def _key(finding: object) -> tuple:
    span = finding.span  # type: ignore[attr-defined]
    return finding.code, span.cell, span.line, span.col, finding.message  # type: ignore[attr-defined]


def test_each_cell_brings_exactly_what_a_full_check_adds() -> None:
    """At every cell, the incremental check (only the inputs sharing names with the new
    one, each parsed once) reports exactly the findings a full check of the session up to
    that cell has and the full check before it did not."""
    from kerascheck.live import LiveCheck

    history = types.SimpleNamespace(input_hist_raw=[""])
    check = LiveCheck(types.SimpleNamespace(history_manager=history))
    options = Options()
    previous: set[tuple] = set()
    seen_any = False
    for number, text in enumerate(SESSION, start=1):
        brought = {_key(f) for f in check.new_findings(text, number)}
        history.input_hist_raw.append(text)
        cells = [c for c in code_cells(list(enumerate(SESSION[:number], start=1)))]
        ran = [c for c in cells if c.problem is None]  # a rejected input never ran
        full = {_key(f) for f in lint_code_cells(ran, frozenset(), "<session>", options).findings}
        assert brought == full - previous, (number, text)
        seen_any |= bool(brought)
        previous = full
    assert seen_any


def test_the_overhead_benchmark_runs() -> None:
    """benchmarks/live.py (its figures are in docs/notebooks.md; no timing asserted here)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "live.py"), "--cells", "12"],
        capture_output=True,
        text=True,
        check=True,
        timeout=KERNEL_TIMEOUT,
    )
    assert done.stdout.startswith("IPython shell, synthetic session: 12 cells, mean ")


def test_the_documented_magic_options_are_the_magics_own() -> None:
    import re

    from kerascheck.live import _parser

    doc = (Path(__file__).resolve().parent.parent / "docs" / "notebooks.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `--")]
    documented = {option for row in rows for option in re.findall(r"`(--[\w-]+)", row)}
    accepted = {o for action in _parser()._actions for o in action.option_strings}
    assert documented == accepted
    config = re.search(r"```python\n(c\.InteractiveShellApp.*?)\n```", doc, re.DOTALL)
    assert config is not None
    namespace = {"c": types.SimpleNamespace(InteractiveShellApp=types.SimpleNamespace())}
    exec(config.group(1), namespace)  # the documented ipython_config.py line
    assert namespace["c"].InteractiveShellApp.extensions == ["kerascheck"]
