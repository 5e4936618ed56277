"""The ast pre-pass (kerascheck.slicing): which function bodies libcst is spared, how
positions map back to the file, and that leaving a body out never changes a finding."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerascheck.engine import FileResult, Options, lint_file, lint_source
from kerascheck.extract import dataflow
from kerascheck.fix import apply_fixes
from kerascheck.ir import Finding, ModuleSpec
from kerascheck.knowledge import keras3_api, load
from kerascheck.nesting import python_tree
from kerascheck.notebook import code_cells, join, parse_notebook
from kerascheck.registry import all_rules
from kerascheck.rule import Rule, RuleContext
from kerascheck.slicing import (
    DATA_SOURCES,
    SlicedSource,
    model_vocabulary,
    slice_source,
    worth_slicing,
)

ROOT = Path(__file__).resolve().parent.parent


def _source(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


def _slice(source: str) -> SlicedSource | None:
    """What the engine does: files not worth slicing are parsed whole."""
    if not worth_slicing(source):
        return None
    tree = python_tree(source)
    assert tree is not None
    return slice_source(source, tree, model_vocabulary())


def _sliced(code: str) -> SlicedSource | None:
    return _slice(_source(code))


class WholeFileRule(Rule):
    """A plugin rule that says nothing about what it reads: files are parsed whole."""

    code = "KC998"
    name = "whole-file"
    summary = why = example = use_instead = "test"


class MatmulRule(Rule):
    """A plugin rule on a Keras call no built-in rule reads (``keras.ops.matmul``)."""

    code = "KC997"
    name = "matmul"
    summary = why = example = use_instead = "test"
    relevant_names = frozenset({"matmul"})

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        for use in module.api_uses:
            if use.kind == "call" and use.qualname == "keras.ops.matmul":
                yield self.finding(use.span, "matmul")


def _lint(source: str, *extra: Rule) -> FileResult:
    options = Options()
    return lint_source(source, "example.py", options, [*options.rules(), *extra])


def _key(result: FileResult) -> list[tuple[object, ...]]:
    """Everything a reporter shows of a result, fix edits included."""
    found = [
        (
            f.code,
            f.span.line,
            f.span.col,
            f.span.end_line,
            f.span.end_col,
            f.message,
            f.fix and tuple((e.span.line, e.span.col, e.text, e.mode) for e in f.fix.edits),
        )
        for f in [*result.findings, *result.suppressed]
    ]
    return found + [(e.message, e.line, e.column) for e in result.errors]


def test_a_body_without_a_relevant_name_becomes_an_ellipsis_and_lines_map_back() -> None:
    sliced = _sliced(
        '''
        import keras
        from keras.src import ops

        def helper(x):
            """Not about Dense: a docstring does not count."""
            y = ops.matmul(x, x)
            return y

        def build():
            return keras.Sequential([keras.layers.Dense(1, activation="softmax")])
        '''
    )
    assert sliced is not None
    assert sliced.text == _source(
        """
        import keras
        from keras.src import ops

        def helper(x):
            ...

        def build():
            return keras.Sequential([keras.layers.Dense(1, activation="softmax")])
        """
    )
    # Text lines 1-5 are the file's 1-5 (the body's three lines became line 5); 6 is 8 ...
    assert [sliced.line(n) for n in range(1, 9)] == [1, 2, 3, 4, 5, 8, 9, 10]


def test_several_bodies_and_methods_of_plain_classes_shift_lines_cumulatively() -> None:
    sliced = _sliced(
        """
        import keras

        class Config:
            def a(self):
                x = 1
                return x

            def b(self):
                return 2

        def c():
            y = 3
            return y

        model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
        """
    )
    assert sliced is not None
    assert sliced.text.splitlines() == [
        "import keras",
        "",
        "class Config:",
        "    def a(self):",
        "        ...",
        "",
        "    def b(self):",
        "        ...",
        "",
        "def c():",
        "    ...",
        "",
        'model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])',
    ]
    assert sliced.line(13) == 15
    assert sliced.line(10) == 11
    assert sliced.line(7) == 8


KEPT = {
    "a layer": """
        def head():
            return keras.layers.Dense(1, activation="softmax")
        """,
    "an alias from an import": """
        from keras.layers import Dense as D

        def head():
            return D(1, activation="softmax")
        """,
    "an alias from an assignment": """
        Head = keras.layers.Dense

        def head():
            return Head(1, activation="softmax")
        """,
    "a call of a kept function": """
        def build():
            return keras.Sequential([keras.layers.Dense(1, activation="softmax")])

        def outer():
            model = build()
            return model
        """,
    "a model method": """
        def extend(model, layer):
            model.add(layer)
        """,
    "an import of keras": """
        def lazy():
            from keras import layers
            return layers
        """,
    "a labels helper": """
        def labels(y):
            return np.where(y > 0, 1, -1)
        """,
    "a method of a model subclass": """
        class Net(keras.Model):
            def call(self, x):
                return self.head(x)
        """,
    "a method of a subclass of a local model class": """
        class Base(keras.Model):
            pass

        class Net(Base):
            def call(self, x):
                return self.head(x)
        """,
    "a method of a subclass of an aliased model base": """
        from keras.models import Model as Base

        class Net(Base):
            def call(self, x):
                return self.head(x)
        """,
    "a body on the header's line": """
        def f(a,
              b): return a
        """,
}


@pytest.mark.parametrize("code", KEPT.values(), ids=KEPT.keys())
def test_what_keeps_a_body(code: str) -> None:
    source = "import keras\nimport numpy as np\n\n" + _source(code)
    assert _slice(source) is None


NOT_SLICED = {
    "a data source": """
        import keras
        (x, y), _ = keras.datasets.mnist.load_data()

        def scale(x):
            return x / 255
        """,
    "lone CR line ends": "import keras\r\rdef f():\r    x = 1\r    return x\r",
    "no function": """
        import keras
        model = keras.Sequential()
        """,
}


@pytest.mark.parametrize("code", NOT_SLICED.values(), ids=NOT_SLICED.keys())
def test_files_parsed_whole(code: str) -> None:
    assert _sliced(code) is None


def test_crlf_text_keeps_crlf() -> None:
    source = "import keras\r\n\r\ndef f():\r\n    x = 1\r\n    return x\r\n\r\ny = 2\r\n"
    sliced = _slice(source)
    assert sliced is not None
    assert sliced.text == "import keras\r\n\r\ndef f():\r\n    ...\r\n\r\ny = 2\r\n"


def test_a_body_at_the_end_of_a_file_without_a_final_newline() -> None:
    sliced = _sliced("import keras\n\ndef f():\n    x = 1\n    return x")
    assert sliced is not None
    assert sliced.text == "import keras\n\ndef f():\n    ..."


AFTER_A_LEFT_OUT_BODY = """\
import keras
from keras.src import ops


def norm(x):
    scale = ops.sqrt(ops.sum(x * x))
    return x / scale


model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
model.compile(optimizer=keras.optimizers.SGD(lr=0.1), loss="mse")
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_findings_after_a_left_out_body_are_at_the_files_positions(newline: str) -> None:
    source = AFTER_A_LEFT_OUT_BODY.replace("\n", newline)
    assert _slice(source) is not None
    result = _lint(source)
    assert [(f.code, f.span.line, f.span.col) for f in result.findings] == [
        ("KC101", 10, 60),
        ("KC201", 11, 46),
    ]
    fix = next(f.fix for f in result.findings if f.code == "KC201")
    assert fix is not None
    fixed, applied = apply_fixes(source, [fix])
    assert applied == [0]
    assert fixed == source.replace("SGD(lr=", "SGD(learning_rate=")
    assert _key(result) == _key(_lint(source, WholeFileRule()))


def test_a_syntax_error_after_a_function_is_reported_at_the_files_line() -> None:
    source = _source(
        """
        import keras

        def helper():
            x = 1
            return x

        model = keras.Sequential(
        """
    )
    assert python_tree(source) is None
    (error,) = _lint(source).errors
    assert (error.line, error.message) == (7, "syntax error: '(' was never closed")


def test_a_suppression_comment_after_a_left_out_body_still_applies() -> None:
    source = AFTER_A_LEFT_OUT_BODY.replace('"mse")', '"mse")  # kerascheck: ignore[KC201]')
    result = _lint(source)
    assert [f.code for f in result.suppressed] == ["KC201"]
    assert [f.code for f in result.findings] == ["KC101"]


def test_a_rule_without_relevant_names_sees_every_body() -> None:
    """The plugin contract: None (the default) parses whole files; a rule that names what it
    reads gets those bodies kept; the built-in vocabulary alone leaves them out."""
    source = _source(
        """
        import keras
        from keras import ops

        def attention(q, k):
            return ops.matmul(q, k)
        """
    )

    class Unnamed(MatmulRule):
        relevant_names = None

    class Unread(MatmulRule):
        relevant_names = frozenset()

    assert [f.span.line for f in _lint(source, Unnamed()).findings] == [5]
    assert [f.span.line for f in _lint(source, MatmulRule()).findings] == [5]
    assert _lint(source, Unread()).findings == ()


def _examples() -> list[object]:
    return list(_example_params())


def _example_params() -> Iterator[object]:
    for rule in all_rules():
        for kind in ("valid", "invalid"):
            for index, example in enumerate(getattr(rule, kind)):
                code = _source(example.code)
                yield pytest.param(code, id=f"{rule.code}-{kind}-{index}")
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        yield pytest.param(path.read_text("utf-8"), id=path.name)


@pytest.mark.parametrize("source", _examples())
def test_slicing_changes_no_finding(source: str) -> None:
    """Every rule example and fixture: the same findings, positions and fixes sliced or
    whole (the corpus gate, tests/test_corpus.py, holds the same on the reference corpus)."""
    assert _key(_lint(source)) == _key(_lint(source, WholeFileRule()))


def test_every_built_in_rule_declares_what_it_reads() -> None:
    assert all(rule.relevant_names is not None for rule in all_rules())


def test_the_vocabulary_covers_the_knowledge_tables() -> None:
    vocabulary = model_vocabulary()
    k = load()
    assert set(keras3_api().layer_arguments) <= vocabulary
    assert set(k.optimizers) | set(k.model_methods) <= vocabulary
    for qualnames in (k.model_constructors, k.input_constructors):
        assert {q.rpartition(".")[2] for q in qualnames} <= vocabulary
    assert {"add", "compile", "fit", "keras", "tf_keras", "where"} <= vocabulary
    # Removed model methods are relevant; removed functions through their imports (below).
    assert {"predict_classes", "fit_generator", "reset_states"} <= vocabulary
    assert {"sum", "cast", "text", "int_shape"}.isdisjoint(vocabulary)


def test_a_body_using_removed_keras_api_through_its_import_is_kept() -> None:
    """``K.sum`` in a custom metric: ``from keras import backend as K`` makes ``K``
    relevant, so the removed-API findings inside the body are the same sliced or whole."""
    source = textwrap.dedent(
        """
        from keras import backend as K
        from keras.backend import int_shape


        def recall(y_true, y_pred):
            positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
            return positives / (K.sum(y_true) + K.epsilon())


        def width(x):
            return int_shape(x)[-1]


        def unrelated(values):
            return sum(values) / len(values)
        """
    )
    sliced = _lint(source)
    assert _key(sliced) == _key(_lint(source, WholeFileRule()))
    assert {(f.span.line, f.code) for f in sliced.findings} >= {(7, "KC202"), (3, "KC202")}
    kept = _sliced(source)
    assert kept is not None and "sum(values)" not in kept.text  # `unrelated` is left out


def test_every_data_flow_source_keeps_a_file_whole() -> None:
    """A file calling any call the data flow starts from is never sliced."""
    sources = [
        *dataflow._RAW_IMAGE_SOURCES,
        *dataflow._SCALERS,
        *dataflow._IMAGE_GENERATORS,
        "keras.datasets.mnist.load_data",
        "keras.utils.to_categorical",
        "sklearn.model_selection.train_test_split",
    ]
    for qualname in sources:
        assert any(word in qualname for word in DATA_SOURCES), qualname


def test_a_notebook_cell_after_a_left_out_helper_is_placed_in_its_cell(tmp_path: Path) -> None:
    """Slicing works on the notebook's joined code; its line map and then the cell map
    place the finding."""
    helper = "from keras.src import ops\n\ndef norm(x):\n    s = ops.sum(x)\n    return x / s\n"
    model = 'import keras\nm = keras.Sequential([keras.layers.Dense(1, activation="softmax")])\n'
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# A notebook"},
        *(
            {"cell_type": "code", "metadata": {}, "source": text, "outputs": []}
            for text in (helper, model)
        ),
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    notebook = join(code_cells(parse_notebook(path.read_bytes()).cells))
    assert _slice(notebook.source) is not None
    result = lint_file(str(path), Options())
    assert [(f.code, f.span.cell, f.span.line, f.span.col) for f in result.findings] == [
        ("KC101", 3, 2, 56)
    ]
