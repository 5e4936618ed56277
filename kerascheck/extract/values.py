"""Abstract values the Python extractor tracks while it walks a module.

These never leave the extractor: rules see only the IR built from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from kerascheck.extract.versions import Versioned, VersionedMethod
from kerascheck.ir import UNKNOWN, Call, Count, DataInfo, Known, LayerSpec, Pipeline, Span, _Unknown


@dataclass(frozen=True)
class Ref:
    """A name that refers to something importable (``keras.layers.Dense``, ``numpy``)."""

    qualname: str
    raw: str


@dataclass(frozen=True)
class KerasObject:
    """The result of calling a Keras name that is not a layer or model (a loss, optimizer...)."""

    call: Call


@dataclass
class LayerObject:
    """A Keras layer instance (not yet applied to a tensor)."""

    spec: LayerSpec


@dataclass(frozen=True)
class Tensor:
    """A symbolic tensor in a functional graph.

    ``layer`` produced it from ``inputs``; ``activation`` / ``activation_span`` are set when
    the tensor is the result of an activation function (``tf.nn.softmax(x)``). A tensor with
    neither is opaque (an unknown operation).
    """

    inputs: tuple[Tensor, ...] = ()
    layer: LayerSpec | None = None
    activation: Any = UNKNOWN
    activation_span: Span | None = None
    is_input: bool = False
    # What produced it when that is not a layer: a model used as a layer (PartUse), or an
    # operation on pixels (PixelOp: ``x / 255``, ``preprocess_input(x)``).
    op: Any = None


@dataclass
class ModelObject:
    """A model under construction; becomes a ModelSpec when the module is done."""

    kind: str
    span: Span
    name: str | None = None
    layers: list[LayerSpec] = field(default_factory=list)
    output_tensors: list[Tensor] | None = None
    output_names: list[str | None] | None = None
    # compile() calls and runs (RunSpec), in program order.
    events: list[Any] = field(default_factory=list)
    complete: bool = True
    cond_level: int = 0
    embedded: bool = False  # used as a layer of another model
    # What the model's class replaces of Keras's training: "compile" (its own signature),
    # "train_step" / "test_step" (a loss of its own instead of the compiled one).
    overrides: frozenset[str] = frozenset()
    # A keras.applications model (ApplicationSpec), built by its constructor.
    application: Any = None
    # Models added to this Sequential as layers, with their position among its layers (a
    # functional model's are in its graph).
    parts: list[tuple[ModelObject, int]] = field(default_factory=list)
    # ``model.input`` / ``model.output`` once read: the same tensor every time.
    io: dict[str, Any] = field(default_factory=dict)


@dataclass
class SelfObject:
    """``self`` inside a class body: attributes assigned in ``__init__``."""

    attrs: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class BoundMethod:
    receiver: ModelObject | SelfObject
    name: str


@dataclass(frozen=True)
class Function:
    node: cst.FunctionDef
    scope: Scope
    owner: ClassObject | None = None


@dataclass
class ClassObject:
    node: cst.ClassDef
    scope: Scope
    is_model: bool
    methods: dict[str, Function] = field(default_factory=dict)


@dataclass(frozen=True)
class Seq:
    """A list or tuple whose items are not all plain literals."""

    items: tuple[Value, ...]
    is_tuple: bool


@dataclass(frozen=True)
class Mapping:
    items: tuple[tuple[str, Value], ...]


@dataclass(frozen=True)
class Data:
    """An array whose provenance matters to the rules (labels, inputs)."""

    info: DataInfo


@dataclass(frozen=True)
class Instance:
    """An object of a non-Keras class the data flow models (``StandardScaler()``).

    ``state`` is what the data flow knows of it (an ImageDataGenerator's options, the rows a
    scaler or tokenizer was fitted on); a method that changes it (``fit``) makes a new
    Instance that replaces the old one under every name bound to it."""

    qualname: str
    # What its transform's values range over, when its options fix it (MinMaxScaler).
    value_range: Any = UNKNOWN
    # The pixel scale an image generator gives its batches (``rescale=1/255``: "unit").
    scaled: Any = UNKNOWN
    state: Any = None


@dataclass(frozen=True, eq=False)
class PartUse:
    """A model used as a layer of another: called (``base(x, training=False)``) or read
    (``base.output``, ``call`` None)."""

    model: ModelObject
    call: Call | None
    span: Span


@dataclass(frozen=True, eq=False)
class LayerGroup:
    """Layers of a model: every one (``base.layers``, scope ``all_layers``), some
    (``base.layers[:100]``), or one (``base.get_layer("x")``, ``base.layers[-1]``). A loop
    over a group binds its variable to the group: what the body sets, it sets on each."""

    model: ModelObject
    text: str
    scope: str  # all_layers | some_layers | layer


@dataclass(frozen=True)
class Flow:
    """A generator or ``tf.data`` dataset: what the batches it yields hold.

    ``order`` is a token for the order every pass yields when it is the same on each pass
    (file order, or a shuffle that does not reshuffle); UNKNOWN otherwise."""

    pipeline: Pipeline
    x: DataInfo
    y: DataInfo | None  # None: it yields inputs only
    order: Any = UNKNOWN


@dataclass(frozen=True)
class Size:
    """A whole number relative to a vocabulary the code builds: ``len(tok.word_index) + 1``."""

    count: Count


@dataclass(frozen=True)
class Vocabulary:
    """``tokenizer.word_index`` (or ``word_counts``): ``len()`` of it is a Size."""

    base: object
    what: str


@dataclass(frozen=True)
class Lambda:
    """A ``lambda`` with the scope it was written in (``ds.map(lambda x, y: (x / 255, y))``)."""

    node: cst.Lambda
    scope: Scope


@dataclass(frozen=True)
class Method:
    """A method looked up on an array or a modelled object (``y.astype``, ``sc.transform``)."""

    receiver: Data | Instance | Flow | LayerObject
    name: str


Value = (
    Known[Any]
    | _Unknown
    | Ref
    | KerasObject
    | LayerObject
    | Tensor
    | ModelObject
    | SelfObject
    | BoundMethod
    | Function
    | ClassObject
    | Seq
    | Mapping
    | Data
    | Instance
    | Method
    | Flow
    | Size
    | Vocabulary
    | Lambda
    | Versioned
    | VersionedMethod
    | PartUse
    | LayerGroup
)


class Scope:
    """Names bound in one function, class or module body; reads fall through to parents."""

    __slots__ = ("names", "parent")

    def __init__(self, parent: Scope | None = None, names: dict[str, Value] | None = None):
        self.parent = parent
        self.names: dict[str, Value] = names if names is not None else {}

    def lookup(self, name: str) -> Value | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.names.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def fork(self) -> Scope:
        """A copy of this scope's own names for one branch of an ``if`` / loop body."""
        return Scope(self.parent, dict(self.names))


def same(a: Value, b: Value) -> bool:
    """The same value on two paths. Two spellings of one name are the same name
    (``keras.layers.core.Dense`` imported in a ``try``, ``keras.layers.Dense`` in its
    ``except ImportError``)."""
    if isinstance(a, Ref) and isinstance(b, Ref):
        return a.qualname == b.qualname
    return a is b or (type(a) is type(b) and isinstance(a, Known) and a == b)


def merge_into(target: Scope, branches: list[Scope]) -> None:
    """After an ``if`` / loop: a name keeps its value only if every branch agrees."""
    names: set[str] = set()
    for branch in branches:
        names.update(branch.names)
    for name in names:
        values = [branch.names.get(name) for branch in branches]
        first = values[0]
        if first is not None and all(v is not None and same(first, v) for v in values):
            target.names[name] = first
        else:
            target.names[name] = UNKNOWN


def plain(value: Value) -> Value:
    """Collapse a Seq/Mapping of literals into Known(tuple/list/dict)."""
    if isinstance(value, Seq) and all(isinstance(i, Known) for i in value.items):
        items = [i.value for i in value.items]  # type: ignore[union-attr]
        return Known(tuple(items) if value.is_tuple else items)
    if isinstance(value, Mapping) and all(isinstance(v, Known) for _, v in value.items):
        return Known({k: v.value for k, v in value.items})  # type: ignore[union-attr]
    return value


def post_order(outputs: Iterable[Tensor]) -> Iterator[Tensor]:
    """Every tensor of a graph, from the outputs back, each once, inputs before the
    operations that use them (iterative: deep graphs cannot exhaust the stack)."""
    done: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(t, False) for t in reversed(list(outputs))]
    while stack:
        tensor, expanded = stack.pop()
        if id(tensor) in done:
            continue
        if not expanded:
            stack.append((tensor, True))
            stack.extend((parent, False) for parent in reversed(tensor.inputs))
            continue
        done.add(id(tensor))
        yield tensor
