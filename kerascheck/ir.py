"""The intermediate representation every extractor produces and every rule reads.

Plain frozen dataclasses and the standard library only: rules never see libcst, so one rule
serves Python files, notebooks and saved model configs alike, and the dynamic checker can
rebuild a model from these objects.

Values the extractor could not resolve are ``UNKNOWN``; rules treat ``UNKNOWN`` as "no
finding" (precision first).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")


class _Unknown(enum.Enum):
    """A value the extractor could not resolve statically."""

    UNKNOWN = "UNKNOWN"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown.UNKNOWN


@dataclass(frozen=True, slots=True)
class Known(Generic[T]):
    """A statically resolved value."""

    value: T


Value = Known[T] | _Unknown


def known(value: Value[T], default: Any = None) -> T | Any:
    """The resolved value, or ``default`` when it is ``UNKNOWN``."""
    return value.value if isinstance(value, Known) else default


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 1-based lines and columns, end exclusive.

    ``anchor`` is an opaque handle the extractor may leave instead of computing positions
    on the hot path; the engine fills ``line``/``col`` in only for spans that end up in a
    finding. ``pointer`` names a location inside a saved model config (``layers[3] dense_2``)
    where there is no source line; ``cell`` places the span in a notebook cell.
    """

    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    anchor: object = field(default=None, compare=False, hash=False, repr=False)
    pointer: str | None = None
    # For a notebook: the 1-based cell (every cell counts, as the notebook shows them); line
    # and column are then inside that cell.
    cell: int | None = None

    @property
    def resolved(self) -> bool:
        return self.line > 0 or self.pointer is not None


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a call: ``name`` is None for a positional argument."""

    name: str | None
    index: int
    value: Value[Any]
    span: Span
    keyword_span: Span | None = None
    # Spans of the items when the argument is a literal list, tuple or dict (its values).
    element_spans: tuple[Span, ...] = ()
    # The dotted name written as the argument (``x_train``), and for a literal tuple or list
    # the names of its items: what data-flow rules compare (``validation_data=(x, y)``).
    source: str | None = None
    element_sources: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Call:
    """A call resolved to a Keras name (``keras.layers.Dense``) with its arguments."""

    qualname: str
    args: tuple[Arg, ...]
    span: Span
    func_span: Span
    # The called name alone: ``fit_generator`` of ``model.fit_generator``, ``Dense`` of
    # ``keras.layers.Dense`` (what a rename fix replaces).
    name_span: Span | None = None

    def kwarg(self, name: str) -> Arg | None:
        for arg in self.args:
            if arg.name == name:
                return arg
        return None

    def positional(self, index: int) -> Arg | None:
        for arg in self.args:
            if arg.name is None and arg.index == index:
                return arg
        return None

    def argument(self, name: str, index: int | None = None) -> Arg | None:
        """The argument given by keyword ``name`` or at positional ``index``."""
        found = self.kwarg(name)
        if found is None and index is not None:
            found = self.positional(index)
        return found

    @property
    def has_star_args(self) -> bool:
        return any(arg.name in ("*", "**") for arg in self.args)


Flavour = Literal["legacy", "tf2", "keras3"]

# Canonical activation name, None for linear, or UNKNOWN.
Activation = Value[str | None]


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """One layer: its canonical Keras class name and resolved arguments."""

    class_name: str
    call: Call | None
    span: Span
    activation: Activation
    activation_span: Span | None
    units: Value[int]
    position: int
    conditional: bool = False
    # The size of the layer's vocabulary: an Embedding's rows (``input_dim``), exact or
    # relative to a tokenizer's vocabulary; a TextVectorization's ``max_tokens`` once it
    # learns its vocabulary with ``adapt()`` (its ids are then all below it).
    vocabulary: Count | None = None

    @property
    def known_layer(self) -> bool:
        """False for a placeholder standing for something that is not a Keras layer."""
        return self.call is not None

    @property
    def is_first(self) -> bool:
        return self.position == 0


@dataclass(frozen=True, slots=True)
class AppliedActivation:
    """One activation applied on the way to an output: by the unit-defining layer itself, by
    an ``Activation`` / ``Softmax()`` layer, or by a function (``tf.nn.softmax``)."""

    activation: Activation
    span: Span


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What a model's output really is: the unit-defining layer and the final activation.

    ``activation`` already accounts for trailing ``Activation('softmax')`` / ``Softmax()``
    layers and ``tf.nn.softmax`` applied to the output tensor; ``activation_span`` points
    where that activation is written. ``name`` is what Keras keys a loss dict by: the key
    of a dict of outputs, else the ``name=`` given to the layer producing the output.
    """

    layer: LayerSpec | None
    units: Value[int]
    activation: Activation
    activation_span: Span
    name: str | None = None
    # Every activation applied from the unit-defining layer to the output, in the order
    # they run (linear ones and identity layers left out; an unresolved one is UNKNOWN).
    activations: tuple[AppliedActivation, ...] = ()


@dataclass(frozen=True, slots=True)
class LossSpec:
    """One loss: canonical name (``binary_crossentropy``) and the arguments that matter."""

    name: Value[str]
    from_logits: Value[bool]
    span: Span
    written: str
    call: Call | None = None
    literal: bool = False  # written as a string ('mse'), not a class or function


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric as written (``'acc'``) and canonical (``accuracy``)."""

    written: str
    name: Value[str]
    span: Span
    literal: bool = False  # written as a string ('acc'), not a class or function
    call: Call | None = None  # a metric object (``keras.metrics.BinaryAccuracy(threshold=0)``)


@dataclass(frozen=True, slots=True)
class OptimizerSpec:
    name: Value[str]
    span: Span
    call: Call | None = None


@dataclass(frozen=True, slots=True)
class CompileSpec:
    """``model.compile(...)``.

    ``losses`` holds one entry per output when the loss was given as a list or dict, or a
    single entry (``broadcast``) that applies to every output.
    """

    span: Span
    losses: tuple[tuple[str | None, LossSpec], ...]
    broadcast: bool
    metrics: tuple[tuple[str | None, MetricSpec], ...]
    optimizer: OptimizerSpec | None
    call: Call
    # Some metric is given in a way the analysis cannot name (an unknown value, a custom
    # class, ``weighted_metrics=``, metrics passed positionally): the keys it logs are unknown.
    unresolved_metrics: bool = False
    # Metrics given as functions the code defines (``def f1(y_true, y_pred)``), keyed like
    # ``metrics``, with the function's name: the key Keras logs them under.
    function_metrics: tuple[tuple[str | None, str], ...] = ()

    def loss_for(self, index: int, output: OutputSpec) -> LossSpec | None:
        """The loss applied to the ``index``-th output, if it can be told."""
        if self.broadcast:
            return self.losses[0][1] if self.losses else None
        for key, loss in self.losses:
            if key is not None and key == output.name:
                return loss
        keyed = any(key is not None for key, _ in self.losses)
        if not keyed and index < len(self.losses):
            return self.losses[index][1]
        return None

    def metrics_for(
        self, index: int, output: OutputSpec, flavour: Flavour | None = None, outputs: int = 1
    ) -> Iterator[MetricSpec]:
        """Metrics that apply to the ``index``-th of ``outputs`` outputs (``#i`` keys come
        from a list of lists). A flat list on a multi-output model is mapped one metric per
        output by Keras 3 when the lengths match (and rejected otherwise), and applied to
        every output by tf.keras 2 and standalone Keras (measured; KERAS_FACTS.md)."""
        flat = [metric for key, metric in self.metrics if key is None]
        # Keras 3 maps a flat list one per output, and rejects one of another length at the
        # first training step (measured): then no flat metric is ever computed.
        mapped = flavour == "keras3" and outputs > 1 and bool(flat)
        if mapped and len(flat) == outputs:
            yield flat[index]
        for key, metric in self.metrics:
            applies = not mapped if key is None else key in (output.name, f"#{index}")
            if applies:
                yield metric


@dataclass(frozen=True, slots=True)
class Lineage:
    """Which samples (rows) a value holds, whatever their scale or encoding.

    Two values hold the same samples when their lineages are equal, which only value flow
    decides: a rebinding (``x_test = x_train``), ``copy()``, ``astype``, ``/ 255`` or a
    scaler's ``transform`` keep the lineage; a split, a row selection or an unknown function
    does not. ``key`` is a directory's ``(path, subset, ...)`` (two generators reading the
    same directory read the same files), a row range of another lineage, or for arrays a
    token unique to the operation that made them.
    """

    key: object
    what: str = field(default="", compare=False)  # how a message names these samples
    span: Span | None = field(default=None, compare=False)
    # The samples these rows were taken from (a train_test_split part, a row range).
    parent: Lineage | None = field(default=None, compare=False)
    # Rows repeated by oversampling with replacement (resample, RandomOverSampler, SMOTE).
    duplicated: str | None = field(default=None, compare=False)

    def within(self, ancestor: Lineage) -> bool:
        """These samples are ``ancestor``'s, or rows taken from them."""
        current: Lineage | None = self
        while current is not None:
            if current == ancestor:
                return True
            current = current.parent
        return False

    def related(self, other: Lineage) -> bool:
        """The same samples, one taken from the other, or two parts of one split."""
        if self == other or self.parent == other or other.parent == self:
            return True
        return self.parent is not None and self.parent == other.parent


@dataclass(frozen=True, slots=True)
class Preprocessing:
    """A fitted preprocessor (scaler, imputer, tokenizer) applied to the data: whose rows
    its statistics or vocabulary come from."""

    what: str  # ``StandardScaler``
    fitted_on: Lineage | None
    span: Span | None = None  # where it was fitted


@dataclass(frozen=True, slots=True)
class Count:
    """A whole number the code fixes: exact (``value``), or relative to a vocabulary it builds
    (``len(tokenizer.word_index) + 1``: ``base`` names that vocabulary, ``offset`` the + 1)."""

    value: int | None
    base: object | None = None
    offset: int = 0
    what: str = ""  # as the code writes it, for messages

    def less_than(self, other: Count) -> bool | None:
        """Whether this count is smaller than ``other``, when the code decides it."""
        if self.value is not None and other.value is not None:
            return self.value < other.value
        if self.base is not None and self.base is other.base:
            return self.offset < other.offset
        return None


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A generator or ``tf.data`` dataset that yields a model its batches.

    ``shuffles`` is whether each pass over it yields the samples in a new random order
    (flow_from_directory, flow and image_dataset_from_directory do by default; measured on
    Keras 3.15). ``resplit`` is set when ``take``/``skip`` split it after a ``shuffle`` that
    reshuffles every pass: the two parts then hold different samples on every pass.
    Compared by identity (``token``).
    """

    made_by: str  # ``flow_from_directory``, ``image_dataset_from_directory``, ``tf.data``...
    span: Span
    call: Call | None  # the call that made it (where ``shuffle=`` goes)
    shuffles: Value[bool] = UNKNOWN
    shuffle_default: bool = False  # shuffles only because the call leaves shuffle= out
    augments: Value[bool] = UNKNOWN
    augment_span: Span | None = None
    reads: Value[str] = UNKNOWN  # the directory it reads, when it reads one
    subset: Value[str | None] = UNKNOWN
    seed: Value[object] = UNKNOWN
    resplit: Span | None = None
    token: object = field(default_factory=object, repr=False)


@dataclass(frozen=True, slots=True)
class Prediction:
    """A ``model.predict()`` result (or what ``argmax`` / a threshold made of it)."""

    span: Span  # the predict call
    # The samples predicted on include rows an earlier fit() of that model trained on.
    on_training_data: bool = False
    pipeline: Pipeline | None = None  # the generator or dataset predicted on


@dataclass(frozen=True, slots=True)
class DataInfo:
    """What is known about an array (or a generator's batches) at one point of the program.

    Each fact is known or not on its own, and every operation keeps only the facts it
    provably preserves (a boolean-mask subset keeps the encoding but not the exact class
    count; an unknown function keeps nothing).

    ``encoding`` is one of ``onehot``, ``multihot`` (several ones per row: multi-label),
    ``integer``, ``binary`` (0/1), ``plus_minus_one``, ``continuous`` (or
    ``doubled_binary``, the 0/2 step of ``y * 2 - 1``).
    """

    encoding: Value[str] = UNKNOWN
    num_classes: Value[int] = UNKNOWN
    dataset: Value[str] = UNKNOWN
    scaled: Value[str] = UNKNOWN
    split: Value[str] = UNKNOWN  # "train" / "test" for keras.datasets loaders
    span: Span | None = None
    # Which samples these are (value flow decides "the same arrays as the training data").
    lineage: Lineage | None = None
    # The order the rows come in: a token equal for values in the same order. A generator
    # that reshuffles gives every pass a new token; ``.classes`` is in file order.
    order: Value[object] = UNKNOWN
    # Set on the inputs and labels of a generator or dataset.
    pipeline: Pipeline | None = None
    # What made the label encoding, for messages ("flow_from_directory's default
    # class_mode='categorical'").
    origin: str | None = None
    preprocessing: tuple[Preprocessing, ...] = ()
    # Integer ids (token sequences) all below this count: the rows an Embedding needs.
    ids_below: Count | None = None
    prediction: Prediction | None = None
    # The interval the values are drawn from or scaled into (low, high; +-inf when
    # unbounded): ``np.random.uniform(a, b)``, ``MinMaxScaler``, a regression data set's
    # documented targets. Kept only by operations that keep the values (row ranges,
    # ``astype``, ``reshape``) and moved by arithmetic with known numbers (``/ 255``).
    value_range: Value[tuple[float, float]] = UNKNOWN
    # ``by_label``: the rows are grouped or sorted by label (per-class blocks concatenated,
    # ``np.sort``, indexing with an ``argsort`` of the labels) and nothing has shuffled them.
    label_order: Value[str] = UNKNOWN
    # Every row holds this one value (``np.zeros(n)``, ``np.full(n, 2)``, ``[1] * n``).
    constant: Value[Any] = UNKNOWN


RunKind = Literal["train", "evaluate", "predict"]


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """A key read from what a ``fit()`` returned: ``history.history["acc"]`` (``subscript``)
    or ``history.history.get("acc")`` without a default (``get``)."""

    key: str
    span: Span  # the key as written
    method: Literal["subscript", "get"]


@dataclass(frozen=True, slots=True)
class TrainableState:
    """A model, a sub-model or a group of layers whose ``trainable`` flag the code sets, as
    it stands for one training run of a model that contains it.

    Each value says whether the target's weights are trainable (its own flag and those of
    the models around it): at the model's last ``compile()``, at the model's first training
    since that compile (None when this run is that first training), and as the code has set
    it at this run. Keras uses one of them, depending on the version (docs/knowledge.md).
    """

    target: str  # as written: ``base``, ``base.layers[:100]``, ``layer``
    scope: Literal["model", "all_layers", "some_layers", "layer"]
    own: bool  # the trained model itself
    part: int | None  # index in the trained model's ``parts`` of the sub-model it belongs to
    at_compile: Value[bool]
    at_first_training: Value[bool] | None
    now: Value[bool]
    span: Span | None  # the assignment that set ``now``


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A call that runs a model: ``fit`` / ``train_on_batch`` (train), ``evaluate`` /
    ``test_on_batch`` (evaluate), ``predict`` (predict), with what is in effect at that point
    of the program: the data bound to its arguments there and the compile() that may be.
    """

    span: Span
    method: str
    kind: RunKind
    x: DataInfo
    y: DataInfo
    call: Call
    validation_y: DataInfo = DataInfo()  # labels of validation_data=(x, y) or a generator
    # Every compile() that may be in effect here, in program order (None: not compiled on
    # some path). One entry when the program decides it; branches that disagree give more.
    compiles: tuple[CompileSpec | None, ...] = ()
    # Training runs: every model or layer group inside the model whose trainable flag the
    # code sets somewhere, with its value at compile, at the first training and now.
    trainable: tuple[TrainableState, ...] = ()

    validation_x: DataInfo = DataInfo()  # inputs of validation_data
    # The names the result is bound to and the strings of the statement it is in, lowercased
    # ("train_acc", "training accuracy: "): what the code calls this run.
    named: str = ""
    # Keys read from the History this fit() returns, in program order.
    history_reads: tuple[HistoryRead, ...] = ()
    # The code asks which keys were logged (``"acc" in h.history``, ``h.history.keys()``,
    # a read inside ``try``): its reads may be guarded.
    history_probed: bool = False
    # The callbacks given: Known(calls) when each is a Keras callback the code constructs
    # (``Known(())``: none), UNKNOWN when any is something else or built out of sight.
    callbacks: Value[tuple[Call, ...]] = Known(())
    # Whether the run is given validation data (``validation_data=``, ``validation_split=``
    # above 0), so that it logs ``val_`` keys; UNKNOWN when the code does not decide it.
    validation: Value[bool] = Known(False)

    @property
    def compile(self) -> Value[CompileSpec | None]:
        """The compile in effect here, or UNKNOWN where paths disagree."""
        return Known(self.compiles[0]) if len(self.compiles) == 1 else UNKNOWN


# What a model goes through, in program order (a notebook's in cell order).
ModelEvent = CompileSpec | RunSpec

ModelKind = Literal["sequential", "functional", "subclass", "config", "application"]


@dataclass(frozen=True, slots=True)
class ApplicationSpec:
    """A ``keras.applications`` model: ``ResNet50(weights="imagenet", include_top=False)``."""

    constructor: str  # ``ResNet50``
    weights: Value[Any]  # Known("imagenet") (the default), Known(None), a file, or UNKNOWN
    include_preprocessing: Value[Any]  # as given, Known(True) by default
    call: Call


@dataclass(frozen=True, slots=True)
class PixelOp:
    """An operation on the pixels between a model's input and a sub-model: ``affine``
    (``Rescaling(scale, offset)``, ``x / 255``), ``preprocess_input`` of ``module`` (a
    ``keras.applications`` module, or ``imagenet_utils:<mode>``), or ``keep`` (a layer that
    leaves the scale as it is: flips, rotations, resizing)."""

    kind: Literal["affine", "preprocess_input", "keep"]
    span: Span
    written: str
    scale: float = 1.0
    offset: float = 0.0
    module: str | None = None


@dataclass(frozen=True, slots=True)
class PartCall:
    """One use of a sub-model in a model's graph: ``base(x, training=False)`` (``call``), or
    ``base.output`` (``call`` None). ``input_ops`` are the operations from the model's input
    to the sub-model's, in order; None when something between them cannot be followed."""

    span: Span
    call: Call | None
    input_ops: tuple[PixelOp, ...] | None


@dataclass(frozen=True, slots=True)
class PartSpec:
    """A model used as a layer of another (a pretrained backbone, a GAN's discriminator)."""

    name: str | None
    application: ApplicationSpec | None
    calls: tuple[PartCall, ...]
    # The models used as layers of this one (a backbone inside a feature extractor).
    parts: tuple[PartSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model build with everything the rules need about it."""

    kind: ModelKind
    name: str | None
    span: Span
    layers: tuple[LayerSpec, ...]
    outputs: tuple[OutputSpec, ...]
    complete: bool
    # Every compile() and run of this model object, in program order.
    events: tuple[ModelEvent, ...] = ()
    # The compiles that may be in effect when the program ends (None: not compiled); empty
    # where the module trains other models (this one's compile then trains nothing).
    final_compiles: tuple[CompileSpec | None, ...] = ()
    # Used as a layer of another model (``combined = Model(z, D(G(z)))``): trained through
    # that model, where its own compile() does not apply.
    embedded: bool = False
    # Functional graphs: (producer, consumer) layer positions; consumer -1 is an operation
    # that is not a layer. Empty for Sequential models, whose layers form a chain.
    edges: tuple[tuple[int, int], ...] = ()
    # A ``keras.applications`` model (kind ``application``): which one, with what weights.
    application: ApplicationSpec | None = None
    # The models used as layers of this one, with where and on what they are called.
    parts: tuple[PartSpec, ...] = ()

    @property
    def compiles(self) -> tuple[CompileSpec, ...]:
        return tuple(e for e in self.events if isinstance(e, CompileSpec))

    @property
    def runs(self) -> tuple[RunSpec, ...]:
        return tuple(e for e in self.events if isinstance(e, RunSpec))

    @property
    def fits(self) -> tuple[RunSpec, ...]:
        """The training runs (fit, fit_generator, train_on_batch)."""
        return tuple(e for e in self.events if isinstance(e, RunSpec) and e.kind == "train")

    @property
    def judged_compiles(self) -> tuple[CompileSpec, ...]:
        """The compiles whose loss and metrics do something, in program order.

        A compile is judged where the model is trained or evaluated with it in effect. A
        model the code never trains or evaluates is judged by its final compile (a library
        function returning a compiled model), unless the code shows what it is for instead:
        only predictions (its loss never meets a label), or being a part of another model
        (that model's compile trains it; a GAN's generator)."""
        runs = self.runs
        used = [e for e in runs if e.kind != "predict"]
        if used:
            candidates: Iterator[CompileSpec | None] = (c for run in used for c in run.compiles)
        elif self.embedded or runs:
            return ()
        else:
            candidates = iter(self.final_compiles)
        judged: list[CompileSpec] = []
        for spec in candidates:
            if spec is not None and not any(spec is seen for seen in judged):
                judged.append(spec)
        return tuple(judged)

    @property
    def compile(self) -> CompileSpec | None:
        """The last judged compile (what the model is trained with at the end)."""
        judged = self.judged_compiles
        return judged[-1] if judged else None

    @property
    def is_chain(self) -> bool:
        """The layers run one after the other, in order: a Sequential build, or a saved
        config (Sequential or functional) whose graph is a single path."""
        if self.kind == "sequential":
            return True
        chain = tuple((i, i + 1) for i in range(len(self.layers) - 1))
        return self.kind == "config" and self.edges == chain


@dataclass(frozen=True, slots=True)
class ApiUse:
    """A resolved use of a Keras name anywhere in a module.

    ``kind`` is ``call`` (with ``call`` set), ``import`` (one name bound by an import:
    ``Dense`` of ``from keras.layers.core import Dense``), ``module`` (the module of a
    ``from ... import`` statement: ``keras.layers.core``), ``method``
    (``model.fit_generator`` on a value known to be a Keras model; ``qualname`` is then
    ``Model.fit_generator``) or ``attribute`` (a member of a known model or layer that
    Keras 3 removed: ``Layer.output_shape``, ``Model.reset_states``; ``written`` is then the
    layer's class, ``Dense``). Otherwise ``written`` is the dotted name as written.
    """

    kind: Literal["call", "import", "module", "method", "attribute"]
    qualname: str
    span: Span
    call: Call | None = None
    written: str = ""
    # For an import: the local name it binds; for a method, the name the model is bound to
    # (``model`` of ``model.predict_classes(x)``), when it has one. For an import of a
    # removed module (``from keras.utils import np_utils``), how often that name occurs in
    # the module, the import included: a fix that rewrites every use must know it has seen
    # them all.
    local: str = ""
    occurrences: int = 0
    from_import: bool = False  # bound by ``from ... import``, not ``import ...``


@dataclass(frozen=True, slots=True)
class Score:
    """Predictions compared with labels: ``accuracy_score(y, p)``, ``confusion_matrix``,
    ``classification_report``, ``p == y``..."""

    span: Span
    function: str  # ``accuracy_score``, ``==``
    predictions: DataInfo
    labels: DataInfo
    named: str = ""  # as RunSpec.named


@dataclass(frozen=True, slots=True)
class FlavourGuard:
    """Code that runs only under some flavours: a branch of a Keras version or backend check
    (``if keras.__version__.startswith("1"):``), or the body and handlers of a ``try`` that
    catches the error of an API missing in some version (``except ImportError:``). Findings
    inside ``span`` whose code starts with ``codes`` ("" for every code) are dropped when the
    target flavour is not in ``runs_under``."""

    span: Span
    runs_under: frozenset[Flavour]
    codes: str = ""


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """One source (file, notebook or saved model) as the rules see it."""

    path: str
    models: tuple[ModelSpec, ...]
    api_uses: tuple[ApiUse, ...]
    flavour: Flavour | None  # what the module's own imports prove, if anything
    flavour_reason: str
    cell_map: tuple[tuple[int, int], ...] | None = None
    guards: tuple[FlavourGuard, ...] = ()
    scores: tuple[Score, ...] = ()


Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the source text of ``span`` with ``text``, or insert ``text`` before or after it.

    Spans are positioned by the engine like finding spans, so a rule writes edits against the
    IR without seeing source text; the engine applies them and re-parses the result.
    """

    span: Span
    text: str
    # ``string``: ``span`` is a string literal; replace its contents, keeping prefix and
    # quotes (the engine drops the fix if the span turns out not to be a plain literal).
    # ``before_close``: insert before the span's last character (a call's closing paren).
    mode: Literal["replace", "before", "after", "string", "before_close"] = "replace"
    through: Span | None = None  # replace from ``span``'s start through this span's end


@dataclass(frozen=True, slots=True)
class Fix:
    """A rule's proposed change. ``safe`` fixes keep what the code computes (``--fix``);
    unsafe ones change it on purpose and need ``--unsafe-fixes``."""

    description: str
    edits: tuple[Edit, ...]
    safe: bool


DynamicVerdict = Literal["confirmed", "refuted", "unverifiable"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnostic produced by a rule.

    ``dynamic`` and ``evidence`` are set only by ``--dynamic`` (what real Keras showed).
    """

    code: str
    rule: str
    severity: Severity
    message: str
    span: Span
    fix: Fix | None = None
    dynamic: DynamicVerdict | None = None
    evidence: str | None = None
