"""The pre-pass that lets libcst parse less: function bodies no rule can learn from are left out.

Parsing with libcst is most of a check's cost (docs/performance.md); CPython's ``ast``
parses the same file in about a tenth of the time. So a file is parsed with ``ast`` first,
and every function or method body that mentions none of the *relevant names* is replaced
by ``...`` in the text that libcst parses. The relevant names are the ones the extractor
reacts to (Keras layers, models, inputs, optimizers, losses, activations, the model methods
``add``/``compile``/``fit``..., data sources, ``keras`` itself for imports; all read from
the knowledge tables), plus, found to a fixed point, the names of the functions and classes
that are kept and the module-level names bound from relevant code (``D =
keras.layers.Dense``, ``from keras.layers import Dense as D``).

For the extractor a left-out function is then exactly what a function imported from
another file is: calling it returns UNKNOWN and changes nothing it tracks. A body that
could change a tracked value mentions a relevant name (``model.add``, ``model.compile``),
so it is kept; a left-out body can cost a finding (a constant it would have returned), never
add one. ``tests/test_slicing.py`` checks that every fixture and rule example gives the same
findings either way, and the corpus gate does the same on the reference corpus.

Kept whole: module-level and class-level statements, every method of a model subclass (the
extractor runs ``__init__`` and ``call`` together on one ``self``), one-line functions, and
files that load training data (the label and input data flow follows arrays through plain
helpers such as ``def scale(x): return x / 255``).

Lines of kept code are copied verbatim, so columns do not change; ``SlicedSource.line``
maps a line of the parsed text back to the file's.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from kerascheck.knowledge import api_drift, keras3_api, load, spelling_of

# A word of the source as Python tokenizes identifiers (and keywords); strings and comments
# are scanned too, which can only keep more.
_WORD = re.compile(r"(?!\d)\w+")

# Text that the calls the data flow of kerascheck.extract.dataflow starts from contain
# (``PIL`` for ``PIL.Image.open``, ``Scaler`` for scikit-learn's scalers). A file with one is
# never sliced: the flow goes through helpers that mention no Keras name.
DATA_SOURCES = (
    "load_data",
    "to_categorical",
    "train_test_split",
    "ImageDataGenerator",
    "image_dataset_from_directory",
    "load_img",
    "imread",
    "PIL",
    "Scaler",
)

# The model methods the extractor records, besides the removed ones of the knowledge tables.
_MODEL_METHODS = frozenset({"add", "compile", "fit", "train_on_batch"})
# What kerascheck.extract.pipelines follows: generators, datasets, tokenizers, oversamplers
# and the functions that score predictions. A body with one is kept (the file is not kept
# whole for them: they are common in library code that trains nothing).
_PIPELINE_NAMES = frozenset(
    {
        "flow_from_directory",
        "flow_from_dataframe",
        "text_dataset_from_directory",
        "from_tensor_slices",
        "Tokenizer",
        "texts_to_sequences",
        "fit_on_texts",
        "word_index",
        "pad_sequences",
        "fit_resample",
        "resample",
        "read_csv",
        "accuracy_score",
        "confusion_matrix",
        "classification_report",
    }
)


def _leaf(qualname: str) -> str:
    return qualname.rpartition(".")[2]


@cache
def model_vocabulary() -> frozenset[str]:
    """The names the extractor reacts to; a body mentioning none of them is left out."""
    k = load()
    api = keras3_api()
    # ``keras``: an import inside a body; ``where``: ``np.where(y > 0, 1, -1)`` makes labels.
    names = set(_MODEL_METHODS) | _PIPELINE_NAMES | {"keras", "tf_keras", "where"}
    for table in (
        api.layer_arguments,
        api.activations,
        api.optimizer_arguments,
        api.optimizers,
        k.activations,
        k.unit_layers,
        k.channel_layers,
        k.activation_layers,
        k.default_activation,
        k.dropout_layers,
        k.wrapper_layers,
        k.transparent_layers,
        k.input_scaling_layers,
        k.keras1_convolutions,
        k.optimizers,
        k.loss_classes,
        k.datasets,
        k.model_methods,
    ):
        names.update(table)
    for qualnames in (
        k.model_constructors,
        k.model_bases,
        k.input_constructors,
        k.model_loaders,
        k.activation_functions,
    ):
        names.update(_leaf(q) for q in qualnames)
    # Removed model methods: a helper handed a model (``def show(m): m.predict_classes(x)``)
    # matters. Removed functions need no names here: a body calling ``K.int_shape`` is kept
    # through ``K``, which its import binds (``_relevant_import``).
    drift = api_drift()
    names.update(
        _leaf(q)
        for q in drift.members
        if q.startswith("Model.") and drift.members[q].kind == "method"
    )
    return frozenset(names)


@cache
def _drift_modules() -> frozenset[str]:
    """The Keras modules that lost names (``keras.backend``, ``keras.preprocessing.image``)."""
    drift = api_drift()
    return frozenset(q.rpartition(".")[0] for q in drift.names) | frozenset(drift.modules)


def _relevant_import(path: str) -> bool:
    """Whether an import binds removed Keras API or a module that lost some (``from keras
    import backend as K``, ``from keras.backend import int_shape``): the bound name is then
    relevant, so the bodies using it (``K.sum(...)`` in a custom metric) are kept."""
    found = spelling_of(path)
    if found is None:
        return False
    keras_path = found[1]
    return keras_path in api_drift().names or keras_path in _drift_modules()


@cache
def _model_bases() -> frozenset[str]:
    return frozenset(_leaf(q) for q in load().model_bases)


@dataclass(frozen=True)
class SlicedSource:
    """The text libcst parses, and where its lines are in the file.

    ``firsts[i]`` is the first line of the text after the i-th left-out body and
    ``removed[i]`` how many lines of the file were left out up to there."""

    text: str
    firsts: tuple[int, ...]
    removed: tuple[int, ...]

    def line(self, line: int) -> int:
        """The file's line number of ``line`` of ``text``."""
        index = bisect_right(self.firsts, line)
        return line + self.removed[index - 1] if index else line


@dataclass(frozen=True)
class _Body:
    name: str
    first: int  # the body's first and last lines (1-based) and the first one's indentation
    last: int
    indent: str
    words: frozenset[str]  # the body's words, its docstring left out
    removable: bool  # False for a body that starts on the header's line


@dataclass(frozen=True)
class _Binding:
    names: frozenset[str]
    words: frozenset[str]


class _Scan:
    """The candidate bodies and the module- and class-level bindings of one file."""

    def __init__(self, source: str, starts: list[int], vocabulary: frozenset[str]) -> None:
        self.source = source
        self.starts = starts
        self.vocabulary = vocabulary
        self.bodies: list[_Body] = []
        self.bindings: list[_Binding] = []
        self.models = set(_model_bases())

    def words(self, first: int, last: int) -> frozenset[str]:
        return frozenset(_WORD.findall(self.source, self.starts[first - 1], self.starts[last]))

    def expression_words(self, nodes: list[ast.expr] | list[ast.keyword]) -> frozenset[str]:
        if not nodes:
            return frozenset()
        first = min(node.lineno for node in nodes)
        return self.words(first, max(node.end_lineno or first for node in nodes))

    def block(self, statements: list[ast.stmt], in_model: bool) -> None:
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not in_model:
                    self.function(statement)
            elif isinstance(statement, ast.ClassDef):
                bases = self.expression_words([*statement.bases, *statement.keywords])
                is_model = not self.models.isdisjoint(bases)
                if is_model:
                    self.models.add(statement.name)
                self.bindings.append(_Binding(frozenset({statement.name}), bases))
                self.block(statement.body, is_model)
            else:
                self.binding(statement)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        body = node.body
        first = body[0].lineno
        line = self.source[self.starts[first - 1] : self.starts[first]]
        indent = line[: len(line) - len(line.lstrip(" \t\f"))]
        # A body that starts on the header's line (``def f(a,\n b): return a``) stays.
        removable = first != node.lineno and len(indent) == body[0].col_offset
        docstring = (
            isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        )
        scanned = body[1].lineno if docstring and len(body) > 1 and removable else first
        last = node.end_lineno or first
        self.bodies.append(
            _Body(node.name, first, last, indent, self.words(scanned, last), removable)
        )

    def binding(self, statement: ast.stmt) -> None:
        names = frozenset(_bound_names(statement, self.vocabulary))
        if names:
            last = statement.end_lineno or statement.lineno
            words = self.words(statement.lineno, last)
            self.bindings.append(_Binding(names, words))
            if not self.models.isdisjoint(words):
                # ``from keras.models import Model as Base``, ``Base = keras.Model``: a class
                # deriving from ``Base`` is a model class too.
                self.models |= names


def _bound_names(statement: ast.stmt, vocabulary: frozenset[str]) -> Iterator[str]:
    """The names a module- or class-level statement binds; an import binds only names of
    relevant things (``from keras.layers import Dense as D``: ``D``)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        module = statement.module if isinstance(statement, ast.ImportFrom) else None
        for alias in statement.names:
            full = f"{module}.{alias.name}" if module and not statement.level else alias.name
            if _leaf(alias.name) in vocabulary or _relevant_import(full):
                yield (alias.asname or alias.name).partition(".")[0]
        return
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [statement.target]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in statement.items if item.optional_vars]
    yield from _names_in(targets)
    for block in _blocks(statement):
        for inner in block:
            yield from _bound_names(inner, vocabulary)


def _names_in(targets: Iterable[ast.expr]) -> Iterator[str]:
    for target in targets:
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            yield from _names_in(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _names_in([target.value])


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists inside a compound statement (defs in them are bindings too)."""
    for field in ("body", "orelse", "finalbody"):
        block = getattr(statement, field, None)
        if isinstance(block, list):
            yield [s for s in block if isinstance(s, ast.stmt)]
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def worth_slicing(source: str) -> bool:
    """False for a source with no function to leave out, or a data flow to follow."""
    return "def" in source and not any(word in source for word in DATA_SOURCES)


def slice_source(source: str, tree: ast.Module, vocabulary: frozenset[str]) -> SlicedSource | None:
    """``source`` (``tree`` is Python's parse of it, and ``worth_slicing(source)`` holds)
    with the bodies that cannot matter left out; None when none is."""
    lines = source.split("\n")
    if "\r" in source and source.count("\r") != source.count("\r\n"):
        return None  # a lone CR ends a line for Python but not for this split
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    scan = _Scan(source, starts, vocabulary)
    scan.block(tree.body, in_model=False)
    if not scan.bodies:
        return None
    kept = _kept(scan, vocabulary)
    left_out = [
        body for body, keep in zip(scan.bodies, kept, strict=True) if body.removable and not keep
    ]
    if not left_out:
        return None
    return _assemble(source, starts, sorted(left_out, key=lambda b: b.first))


def _kept(scan: _Scan, vocabulary: frozenset[str]) -> list[bool]:
    """Which bodies mention a relevant name, to a fixed point: a kept function's or class's
    name and the names bound from relevant code are relevant too."""
    relevant = set(vocabulary)
    kept = [False] * len(scan.bodies)
    bound = [False] * len(scan.bindings)
    changed = True
    while changed:
        changed = False
        for index, body in enumerate(scan.bodies):
            if not kept[index] and not relevant.isdisjoint(body.words):
                kept[index] = changed = True
                relevant.add(body.name)
        for index, binding in enumerate(scan.bindings):
            if not bound[index] and not relevant.isdisjoint(binding.words):
                bound[index] = changed = True
                relevant.update(binding.names)
    return kept


def _assemble(source: str, starts: list[int], left_out: list[_Body]) -> SlicedSource:
    parts: list[str] = []
    firsts: list[int] = []
    removed: list[int] = []
    position = 0
    total = 0  # lines left out so far
    for body in left_out:
        parts.append(source[position : starts[body.first - 1]])
        # The ``...`` line ends like the body's last line (CRLF stays CRLF; none at the end).
        end = starts[body.last]
        ending = "\r\n" if source[end - 2 : end] == "\r\n" else "\n"
        parts.append(f"{body.indent}...{ending if end <= len(source) else ''}")
        position = end
        # The body's lines become one, on the text's line ``body.first - total``.
        firsts.append(body.first - total + 1)
        total += body.last - body.first
        removed.append(total)
    parts.append(source[position:])
    return SlicedSource("".join(parts), tuple(firsts), tuple(removed))
