"""IPython syntax in notebook cells (kerascheck/ipython_syntax.py), checked against IPython.

The oracle is IPython's own ``TransformerManager``, which turns a cell into the Python it
runs. On generated and real-world-shaped cells: wherever IPython's result is valid Python,
kerascheck's is too, with one line per line of the cell, and every line IPython left as
Python (after removing the indentation and prompts it strips) is byte-identical at the same
line; wherever IPython's result is not valid Python, neither is kerascheck's (the cell is
then reported, not analysed). kerascheck never imports IPython itself.
"""

from __future__ import annotations

import ast
import difflib
import random
import subprocess
import sys
import warnings

import pytest

from kerascheck.ipython_syntax import CellCode, python_cell
from kerascheck.source import split_lines

# ------------------------------------------------------------------------ the oracle
# How IPython compiles a cell (its compiler adds the top-level await flag).
CELL_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
GENERATED_CELLS = 700
MIN_VALID = 500

# Building blocks of cells: Python as notebooks hold it, and every IPython construct.
PYTHON = [
    "import numpy as np",
    "from tensorflow import keras",
    "x = np.ones((4, 3))",
    "model.fit(x, y, epochs=2, verbose=0)",
    "print('done?')",
    's = "50% off!"',
    "ratio = a % 3 + b / 2 - c // 4",
    "flag = a != b and not c",
    "d = {'k': 1}",
    "t = (1,\n     2)",
    "w = [i for i in range(3)]",
    "x += 1",
    "x[0] = 1",
    "a, b = 1, 2",
    "get_ipython().system('ls')",
    "result = await fetch()",
    "await asyncio.sleep(0)",
    "# a comment, or a question?",
    "# %time in a comment",
    "f'{x!r:>{width}}'",
    'print(f"{x=}")',
    "doc = '''text\n%time in a string\n!ls in a string\n'''",
    "x = 1  # why?",
    "total = 1 + \\\n    2",
    "s = 'it\\'s'",
    "n = 0x1f + 1e-3 + 1_000",
    "x = ...",
    "lambda: 0",
    "y = x @ w",
]
BLOCK_HEADS = [
    "if x:",
    "for i in range(3):",
    "while False:",
    "def f(a=1):",
    "async def g():",
    "class C:",
    "with open('f') as fh:",
]
LINE_MAGICS = [
    "%matplotlib inline",
    "%load_ext autoreload",
    "%autoreload 2",
    "%time f(x)",
    "%time model.fit(x, y)",
    "%time history = model.fit(x, y)",
    "%timeit -n 3 -r 1 f(x)",
    "%timeit y = f(x)",
    "%prun -s cumulative f()",
    "%debug f()",
    "%debug",
    "%pip install keras",
    "%cd /tmp",
    "%env A=1",
    "%who",
    "%config InlineBackend.figure_format = 'retina'",
    "%tensorflow_version 2.x",
    "%time for i in range(2): f(i)",
    "%%time",
]
SHELL = [
    "!ls -la",
    "!pip install -q tensorflow",
    "!!ls",
    "!nvidia-smi",
    "!wget http://example.invalid/y?z=1",
    "!echo it's",
    "!git clone https://example.invalid/x.git && cd x",
]
HELP = ["model.summary?", "np.array??", "?obj", "??obj", "x[0]?", "np.*load*?", "%time?", "f(x)?"]
AUTOCALL = [",f a b", ";f a b", "/f a b", "/ a"]
ASSIGNED = [
    "files = !ls",
    "out = !!pwd",
    "t = %timeit -o f()",
    "h = %time model.fit(x)",
    "v = %time 1 + 2",
    "a, b = !ls",
    "d['k'] = %who_ls",
    "x: list = !ls",
    "r = %time y = 1",
    "w = %env HOME",
]
CONTINUED = [
    "!pip install \\\n    tensorflow \\\n    keras",
    "%pip install \\\n  numpy",
    "x = !ls \\\n  -l",
    "%time f(1, \\\n   2)",
    "!echo a \\\n  'b c'",
]
CELL_MAGICS = [
    "%%time",
    "%%timeit",
    "%%timeit -n 2",
    "%%capture",
    "%%capture out",
    "%%prun",
    "%%debug",
    "%%bash",
    "%%writefile train.py",
    "%%html",
    "%%javascript",
    "%%sh",
    "%%script python3",
    "%%latex",
    "%%sql",
    "%%time x = 1",
]
PASTED = [
    ">>> x = 1\n>>> y = x\n",
    "In [1]: x = 1\n   ...: y = 2\n",
    ">>> for i in range(2):\n...     print(i)\n0\n1\n",
    "    >>> x = 1\n    >>> x\n    1\n",
]


def _statement(rng: random.Random, depth: int) -> str:
    kinds = [PYTHON] * 5 + [LINE_MAGICS, SHELL, HELP, ASSIGNED, CONTINUED, AUTOCALL]
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(["", "   ", "\t", "  # an indented comment"])
    if roll < 0.2 and depth < 2:
        indent = rng.choice(["    ", "  ", "\t"])
        body = [_statement(rng, depth + 1) or "pass" for _ in range(rng.randint(1, 3))]
        lines = [indent + line if line else line for text in body for line in text.split("\n")]
        return "\n".join([rng.choice(BLOCK_HEADS), *lines])
    return rng.choice(rng.choice(kinds))


def generated_cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        body = [_statement(rng, 0) for _ in range(rng.randint(0, 4))]
        text = "\n".join([rng.choice(CELL_MAGICS), *body])
    elif roll < 0.2:
        text = rng.choice(PASTED)
    else:
        text = "\n".join(_statement(rng, 0) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.1:  # pasted with a margin
        margin = rng.choice(["  ", "    ", "\t"])
        text = "\n".join(margin + line if line.strip() else line for line in text.split("\n"))
    if rng.random() < 0.1:
        text = rng.choice(["\n", "\n\n", "  \n"]) + text
    return text + ("\n" if rng.random() < 0.5 else "")


# Cells as they are found in Keras notebooks (Colab, Kaggle, courses).
REAL_WORLD = [
    "!pip install -q tensorflow==2.15 \\\n    keras-tuner",
    "%tensorflow_version 2.x\nimport tensorflow as tf\nprint(tf.__version__)",
    "from google.colab import drive\ndrive.mount('/content/drive')",
    "!nvidia-smi\n!ls /content/drive/MyDrive",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot(history.history['loss'])",
    "%%time\nhistory = model.fit(x_train, y_train, epochs=10,\n"
    "                    validation_split=0.2)",
    "%%capture\n!pip install tensorflow-addons",
    "%%writefile model.py\nimport keras\nmodel = keras.Sequential()\n",
    "%%bash\nwget -q https://example.invalid/data.zip\nunzip -q data.zip",
    "%load_ext tensorboard\n%tensorboard --logdir logs",
    "model.summary()\nkeras.utils.plot_model?",
    "files = !ls data/\nprint(len(files))",
    "%time model.evaluate(x_test, y_test)",
    "t = %timeit -o model.predict(x_test[:32])",
    "!mkdir -p checkpoints && \\\n  cp model.keras checkpoints/",
    "for epoch in range(3):\n    %time model.fit(x, y, epochs=1, verbose=0)\n    !echo epoch done",
    "if IN_COLAB:\n    !pip install -q keras-cv\nelse:\n    import keras_cv",
    "result = await session.run()\nprint(result)",
    "%%timeit\nmodel.predict(x_test[:1], verbose=0)",
    "%%capture cap --no-stderr\nmodel.fit(x, y)",
    "import os\nos.environ['KERAS_BACKEND'] = 'jax'\n%env TF_CPP_MIN_LOG_LEVEL=2",
    "    model = build()\n    model.compile(loss='mse')",
    "model.fit?",
    "??keras.layers.Dense",
    "%pip install -U keras \\\n  tensorflow",
    "x = %time build_dataset()",
    "%%html\n<div>plot</div>",
    "%%javascript\nconsole.log('hi')",
    "In [3]: model.fit(x, y)\n   ...: model.evaluate(x, y)\n",
    "get_ipython().run_line_magic('matplotlib', 'inline')",
    "pip install -q keras-tuner",
    "ls data/train",
    "\ncd /content/drive/MyDrive\n",
]


def _compiles(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, "<cell>", "exec", CELL_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _cell_lines(cell: str) -> list[str]:
    """The cell's lines as IPython splits them (with their endings)."""
    return (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)


def _problems(manager: object, cell: str) -> list[str]:
    """How kerascheck's reading of ``cell`` departs from IPython's (nothing: it agrees)."""
    ran = manager.transform_cell(cell)  # type: ignore[attr-defined]
    ours = python_cell(cell)
    problems = []
    if len(ours.lines) != len(split_lines(cell)):
        problems.append(f"{len(ours.lines)} lines for a cell of {len(split_lines(cell))}")
    if not _compiles(ran):
        if _compiles(ours.text):
            problems.append("valid Python where IPython's is not")
        return problems
    if not _compiles(ours.text):
        problems.append("not valid Python where IPython's is")
    # The cell after IPython's own cleanup (dropped leading blank lines, margin, prompts),
    # aligned with what IPython finally runs: the lines it left are the equal runs.
    lines = _cell_lines(cell)
    dropped = next((i for i, line in enumerate(lines) if line.strip()), 0)
    for transform in manager.cleanup_transforms:  # type: ignore[attr-defined]
        lines = transform(lines)
    cleaned = [line.rstrip("\n") for line in lines]
    matcher = difflib.SequenceMatcher(a=cleaned, b=ran.splitlines(), autojunk=False)
    for tag, first, last, _, _ in matcher.get_opcodes():
        for index in range(first, last) if tag == "equal" else ():
            line = index + dropped
            if line < len(ours.lines) and ours.lines[line] != cleaned[index]:
                problems.append(f"line {line + 1}: {ours.lines[line]!r} != {cleaned[index]!r}")
    return problems


class _Oracle:
    """IPython's reading of a cell: its shell's ``transform_cell`` (the static
    transformations, and automagic for a one-line cell), in a fresh namespace."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        self.cleanup_transforms = self.shell.input_transformer_manager.cleanup_transforms

    def transform_cell(self, cell: str) -> str:
        return self.shell.transform_cell(cell)


@pytest.fixture(scope="module")
def ipython_manager() -> object:
    IPython = pytest.importorskip("IPython")
    if int(IPython.__version__.split(".")[0]) < 9:
        pytest.skip("the oracle follows IPython 9's transformations (the dev extra's)")
    return _Oracle()


def test_ipython_oracle_on_generated_and_real_world_cells(ipython_manager: object) -> None:
    rng = random.Random(17)
    cells = [generated_cell(rng) for _ in range(GENERATED_CELLS)] + REAL_WORLD
    valid = 0
    failures = []
    for cell in cells:
        problems = _problems(ipython_manager, cell)
        valid += _compiles(ipython_manager.transform_cell(cell))  # type: ignore[attr-defined]
        if problems:
            failures.append((cell, problems))
    assert not failures, failures[:5]
    assert valid >= MIN_VALID  # the oracle was really consulted


def test_every_real_world_cell_is_python_for_ipython(ipython_manager: object) -> None:
    """The real-world cells are all valid for IPython, so all of them were compared."""
    bad = [c for c in REAL_WORLD if not _compiles(ipython_manager.transform_cell(c))]  # type: ignore[attr-defined]
    assert bad == []


def test_ipython_is_not_imported() -> None:
    code = (
        "import sys; from kerascheck.ipython_syntax import python_cell; "
        "python_cell('%time f()\\n!ls'); print('IPython' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ----------------------------------------------------------------- exact behaviour
def lines_of(cell: str) -> list[str]:
    return list(python_cell(cell).lines)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("files = !ls", ["files = get_ipython().getoutput('ls')"]),
        ("t = %timeit -o f()", ["t = get_ipython().run_line_magic('timeit', '-o f()')"]),
        (
            "!pip install \\\n    tensorflow\nimport keras",
            ["get_ipython().system('pip install      tensorflow')", "", "import keras"],
        ),
        ("model.summary?", ["get_ipython().run_line_magic('pinfo', 'model.summary')"]),
        ("??obj", ["get_ipython().run_line_magic('pinfo2', 'obj')"]),
        ("if x:\n    !ls\n    y = 1", ["if x:", "    get_ipython().system('ls')", "    y = 1"]),
        ("%matplotlib inline", ["get_ipython().run_line_magic('matplotlib', 'inline')"]),
        ("/f a b", ["f(a, b)"]),
        ("result = await fetch()", ["result = await fetch()"]),
        ("get_ipython().system('ls')", ["get_ipython().system('ls')"]),
    ],
)
def test_ipython_lines_become_what_ipython_runs_on_the_same_line(
    cell: str, expected: list[str]
) -> None:
    assert lines_of(cell) == expected


def test_code_given_to_time_is_analysed_in_place() -> None:
    """``%time stmt`` runs ``stmt`` in the user's namespace; ``x = %time expr`` binds the
    value of ``expr``: both read as Python with the code's columns unchanged."""
    assert lines_of("%time history = model.fit(x, y)") == ["if 1: history = model.fit(x, y)"]
    assert lines_of("%prun -s cumulative f()") == ["if 1:" + " " * 15 + "f()"]
    assert lines_of("h = %time model.fit(x)") == ["h =       model.fit(x)"]
    # Not an expression: %time returns None for a statement; left to IPython's call.
    assert lines_of("r = %time y = 1") == ["r = get_ipython().run_line_magic('time', 'y = 1')"]
    # %timeit runs its code in a function of its own: a binding would not persist.
    assert lines_of("%timeit y = f(x)") == ["get_ipython().run_line_magic('timeit', 'y = f(x)')"]
    assert lines_of("%timeit -n 3 f(x)") == ["if 1:        f(x)"]


def test_cell_magics_with_python_bodies_are_analysed_and_others_are_not() -> None:
    assert lines_of("%%time\nm = build()\n!ls") == [
        "pass",
        "m = build()",
        "get_ipython().system('ls')",
    ]
    assert lines_of("%%capture out\nm = build()") == ["out = ...", "m = build()"]
    assert lines_of("%%bash\necho hi\nls") == [
        "get_ipython().run_cell_magic('bash', '', 'echo hi\\nls\\n')",
        "",
        "",
    ]
    # %%timeit's body binds nothing that persists; %%time with a statement does not run.
    assert lines_of("%%timeit\nm = build()")[1] == ""
    assert lines_of("%%time x = 1\nm = build()")[1] == ""
    # A body that is not Python is the magic's problem at run time, not a cell to report.
    assert lines_of("%%time\nthis is (not python")[0].startswith("get_ipython().run_cell_magic")


def test_columns_map_back_through_margins_and_prompts() -> None:
    """IPython drops a common margin and pasted prompts; the Python keeps the rest of each
    line, and columns map back to the cell as written."""
    code = python_cell("    model = build()\n    model.fit(x)")
    assert code.lines == ("model = build()", "model.fit(x)")
    assert code.column(1, 6) == 10  # the "f" of "fit"
    pasted = python_cell(">>> m = build()\n>>> m.fit(x)\n")
    assert pasted.lines == ("m = build()", "m.fit(x)")
    assert pasted.column(1, 2) == 6
    timed = python_cell("%time m.fit(x)")
    assert timed.column(0, 6) == 6  # the code's own columns are unchanged
    assert timed.column(0, 0) is None  # "if 1:" is kerascheck's, not the user's


def test_a_plain_cell_is_returned_untouched() -> None:
    cell = "import keras\nmodel = keras.Sequential()\n"
    assert python_cell(cell) == CellCode(("import keras", "model = keras.Sequential()"))


def test_ipython_syntax_inside_strings_and_comments_is_left_alone() -> None:
    cell = "s = '''\n%time\n!ls\n'''\nx = 1  # model.summary?\nprint('%d!' % 3)"
    assert lines_of(cell) == cell.split("\n")


def test_top_level_await_and_async_constructs_parse_as_ipython_compiles_them() -> None:
    cell = "r = await f()\nasync with a as b:\n    pass\n[x async for x in y]"
    assert ast.dump(compile(python_cell(cell).text, "<c>", "exec", CELL_FLAGS))
