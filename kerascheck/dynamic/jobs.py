"""What the linter asks the Keras worker and what the worker answers: plain picklable data.

The linter side (no TensorFlow) turns the IR into these requests; the worker side rebuilds
the objects in real Keras. Nothing here refers to the user's code: only Keras names and
literal values the extractor resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# A literal argument value: int, float, str, bool, None, tuples / lists / dicts of them,
# a ``Construct`` (a nested Keras call), a ``Reference`` (a Keras object by name) or
# ``OPAQUE``.
Plain = Any


@dataclass(frozen=True)
class Construct:
    """A call of a Keras name with literal arguments: ``keras.layers.Dense(3, activation=...)``."""

    qualname: str
    args: tuple[Plain, ...] = ()
    kwargs: tuple[tuple[str, Plain], ...] = ()

    def written(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.qualname.rsplit('.', 1)[1]}({', '.join(parts)})"


@dataclass(frozen=True)
class Reference:
    """A Keras object named, not called: ``keras.losses.binary_crossentropy``."""

    qualname: str


@dataclass(frozen=True)
class Opaque:
    """Stands for a value the extractor could not resolve. Only passed as the value of a
    keyword Keras is expected to reject by name, so the value itself never matters."""

    def __repr__(self) -> str:
        return "<unresolved>"


OPAQUE = Opaque()


# ----------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class LayerPlan:
    """One layer of a rebuilt graph; ``inputs`` are producer indices (functional graphs)."""

    construct: Construct
    position: int
    inputs: tuple[int, ...] = ()


@dataclass(frozen=True)
class GraphPlan:
    """A model to rebuild: a Sequential chain or a functional graph whose first layer is its
    only input. ``outputs`` are the layer indices of the model outputs, in order."""

    kind: Literal["sequential", "functional"]
    layers: tuple[LayerPlan, ...]
    outputs: tuple[int, ...] = ()


LabelEncoding = Literal["onehot", "integer", "binary", "plus_minus_one", "continuous"]


@dataclass(frozen=True)
class LabelPlan:
    """Labels for one train step, shaped after the built output: ``classes`` None means
    the output's last dimension (for 0/1 and -1/+1 labels, ``classes`` is their columns).
    ``data``: labels as the data gives them (KC112), not as a loss takes them: one-hot
    labels of an unknown count then have at least two classes."""

    encoding: LabelEncoding
    classes: int | None = None
    data: bool = False


@dataclass(frozen=True)
class CompilePlan:
    loss: Plain
    metrics: tuple[Plain, ...]
    optimizer: Plain | None  # None: plain SGD (the optimizer never changes the evidence)
    labels: LabelPlan | None  # None: compile only, no train step


@dataclass(frozen=True)
class ModelProbe:
    """Rebuild a model (or, failing that, its output head alone), run it on random inputs,
    compile it and run one train step per label set."""

    graph: GraphPlan | None
    head: GraphPlan | None
    compile: CompilePlan | None
    extra_labels: tuple[LabelPlan, ...] = ()
    # The first layer of a Sequential model that declares no input shape (see variants).
    stand_in: Construct | None = None


@dataclass(frozen=True)
class ConstructProbe:
    """Construct one Keras object; ``read`` names attributes to report (``strides``)."""

    target: Construct
    read: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportProbe:
    module: str  # always under ``keras.``


@dataclass(frozen=True)
class AttributeProbe:
    path: str  # ``keras.backend.learning_phase``, ``keras.Model.predict_classes``


@dataclass(frozen=True)
class MethodProbe:
    """Call a method of a tiny compiled model with only these keyword arguments."""

    method: str
    kwargs: tuple[tuple[str, Plain], ...]


@dataclass(frozen=True)
class CompileNameProbe:
    """Compile a tiny model with one name as loss, metric or optimizer and train a step."""

    role: Literal["loss", "metric", "optimizer"]
    name: str


@dataclass(frozen=True)
class LossProbe:
    """Evaluate a Keras loss on one label against several predicted probabilities."""

    loss: Plain
    from_logits: bool
    label: float
    probabilities: tuple[float, ...]


# ----------------------------------------------------------------------------- experiments
InputKind = Literal["normal", "pixels", "ids"]


@dataclass(frozen=True)
class InputPlan:
    """Synthetic inputs of one sample's shape: standard normal features, raw 0-255 pixel
    values, or integer ids below ``high`` (an Embedding's vocabulary)."""

    shape: tuple[int, ...]
    kind: InputKind = "normal"
    high: int = 2


TargetEncoding = Literal["continuous", "onehot", "integer", "binary", "multihot", "plus_minus_one"]


@dataclass(frozen=True)
class TargetPlan:
    """Synthetic targets a fixed random teacher computes from the inputs (so there is
    something to learn). Continuous targets lie in [low, high], or are standardised (mean
    0, std 1) when both are None; class targets have ``classes`` classes (None: the output's
    last dimension). ``noise`` mixes in that fraction of unlearnable noise."""

    encoding: TargetEncoding
    classes: int | None = None
    low: float | None = None
    high: float | None = None
    noise: float = 0.0


Reading = Literal["probabilities", "logits", "values"]


@dataclass(frozen=True)
class Variant:
    """One model of an experiment: as written, or as the rule's fix would make it.
    ``reading`` says how the measures read its outputs (a linear output trained with
    from_logits=True gives logits); ``input_scale`` multiplies the inputs (1/255 scales raw
    pixels); ``metrics`` are compiled so that Keras resolves them (``'accuracy'``)."""

    label: str
    graph: GraphPlan
    loss: Plain
    optimizer: Plain
    reading: Reading = "probabilities"
    input_scale: float = 1.0
    metrics: tuple[Plain, ...] = ()
    legacy_metric: str = ""  # what Keras <= 2.3 made of 'accuracy' under this loss
    # The inputs are x * input_scale + input_shift; ``other_input`` (scale, shift) is another
    # preprocessing of the same raw held-out samples, for ``other_input_loss``.
    input_shift: float = 0.0
    other_input: tuple[float, float] = (1.0, 0.0)


# What a train probe can measure on each trained variant (kerascheck.dynamic.training).
MeasureName = Literal[
    "loss",  # the variant's own loss on the training set, inference mode
    "initial_loss",  # the same, before the first step
    "heldout_loss",  # its loss on fresh samples from the same teacher
    "other_input_loss",  # the same, the fresh samples preprocessed as ``other_input`` says
    "mse",  # mean squared error of the outputs read as values
    "mae",
    "accuracy",  # the task's true accuracy (by the target encoding), outputs read per variant
    "crossentropy",  # cross-entropy of the outputs read as probabilities (clipped as Keras does)
    "row_sum",  # mean |sum of the outputs - 1|: 0 for one distribution per sample
    "keras_metric",  # each compiled metric as Keras resolves and computes it ("keras_metric/0")
    "legacy_metric",  # 'accuracy' as Keras <= 2.3 resolved it (from the loss)
    "pushed_metric",  # keras_metric on the outputs pushed far from 0.5 (same decisions)
    "pushed_mse",  # mse of those pushed outputs
]


@dataclass(frozen=True)
class TrainProbe:
    """Train every variant from the same seeded start on the same synthetic data, once per
    seed, and measure each. Everything is seeded: the same probe gives the same numbers.

    The inputs take the shape the model declares; a Sequential model that declares none is
    given ``stand_in`` (a ``keras.Input``) as its first layer. ``pixels``: raw 0-255 values
    instead of standard normal features; integer inputs (an Embedding) get ids below the
    smallest vocabulary."""

    variants: tuple[Variant, ...]
    targets: TargetPlan
    measures: tuple[MeasureName, ...]
    stand_in: Construct | None = None
    pixels: bool = False
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 200
    batch: int = 32
    samples: int = 256
    # Run instead when the whole model cannot be trained within the budget: the same
    # experiment on the output layer alone (findings about the output only).
    fallback: TrainProbe | None = None
    max_work: float = 6e10  # estimated multiply-adds allowed (training.multiply_adds)


@dataclass(frozen=True)
class AffineProbe:
    """Is this chain of layers one affine map x -> x W + b? ``graph`` starts with an input
    of ``width`` features; the answer holds the deviation from the fitted map and W's rank.
    ``width`` 0: the width the whole model gives the chain's first layer (``model`` is
    built to find it; its plan index ``first``), else 16 features."""

    graph: GraphPlan
    width: int
    model: GraphPlan | None = None
    first: int = 0
    stand_in: Construct | None = None


@dataclass(frozen=True)
class RangeProbe:
    """The values an output activation can attain, against synthetic targets: the lowest
    loss any weights could reach (each target predicted by its nearest attainable value)."""

    activation: str
    loss: Plain
    targets: TargetPlan
    width: int
    samples: int = 4096


@dataclass(frozen=True)
class SquashProbe:
    """The values ``outer`` applied to the output of ``inner`` attains over ``units`` units,
    against ``outer`` alone (pre-activations of +-1e4 and 0, the extremes)."""

    inner: str
    outer: str
    units: int


@dataclass(frozen=True)
class LookupProbe:
    """Look the ids 0 to ``ids - 1`` up in an ``Embedding(rows, 4)``, on CPU."""

    rows: int
    ids: int


@dataclass(frozen=True)
class SplitProbe:
    """Labels in per-class blocks of these sizes, in class order, split by the function
    ``fit(validation_split=)`` uses: the classes each part holds."""

    counts: tuple[int, ...]
    split: float


@dataclass(frozen=True)
class ResplitProbe:
    """A tf.data dataset of ``samples`` ids, ``shuffle()`` (reshuffling every pass, the
    default) then split by ``take(taken)`` / ``skip(taken)``: two passes."""

    samples: int = 100
    taken: int = 80


@dataclass(frozen=True)
class TrainableProbe:
    """A stand-in model (a sub-model ``base`` of two Dense layers, then a Dense head) trained
    as the code trains its own: the ``target``'s flag set to ``at_compile``, compile(), a
    first training with the flag ``first`` (None: none before), the flag set to ``now``, one
    more training: whether the target's weights changed in that last one."""

    target: Literal["model", "base", "layers"]
    at_compile: bool
    first: bool | None
    now: bool


@dataclass(frozen=True)
class BatchNormProbe:
    """A stand-in backbone (Dense then BatchNormalization) unfrozen inside a model that
    calls it with ``training`` as written (None: not given), trained with fit() on inputs
    whose statistics differ from the layer's: how far its moving statistics moved."""

    training: bool | None


PipelineKind = Literal["iterator", "directory_dataset", "tf.data"]


@dataclass(frozen=True)
class OrderProbe:
    """``samples`` images whose pixels are their class id, served by a pipeline of this kind
    (shuffling or not), predicted by a model that outputs its input's class exactly: the
    agreement of what ``predict()`` returns with the labels in file order (``against``
    "files") or with the labels a second pass yields ("pass")."""

    kind: PipelineKind
    shuffle: bool
    against: Literal["files", "pass"]
    classes: int = 3
    samples: int = 24


Probe = (
    ModelProbe
    | ConstructProbe
    | ImportProbe
    | AttributeProbe
    | MethodProbe
    | CompileNameProbe
    | LossProbe
    | TrainProbe
    | AffineProbe
    | RangeProbe
    | SquashProbe
    | LookupProbe
    | SplitProbe
    | OrderProbe
    | ResplitProbe
    | TrainableProbe
    | BatchNormProbe
)


# ----------------------------------------------------------------------------- answers
Stage = Literal["construct", "build", "forward", "compile", "optimizer", "train", "probe"]


@dataclass(frozen=True)
class Event:
    """A warning Keras emitted or the exception it raised; ``where`` is the layer index
    in the plan when the event belongs to one layer."""

    stage: Stage
    kind: Literal["warning", "error"]
    category: str
    message: str
    where: int | None = None

    def text(self) -> str:
        """``ValueError: ...`` for an exception, ``(UserWarning) ...`` for a warning."""
        if self.kind == "error":
            return f"{self.category}: {self.message}"
        return f"({self.category}) {self.message}"


@dataclass(frozen=True)
class Outcome:
    """What a simple probe saw: the exception, the warnings, and values it read."""

    error: Event | None
    warnings: tuple[Event, ...] = ()
    values: tuple[tuple[str, Any], ...] = ()

    def value(self, name: str) -> Any:
        return dict(self.values).get(name)


@dataclass(frozen=True)
class OutputStats:
    shape: tuple[int | None, ...]  # the built output shape, batch dimension None
    low: float
    high: float
    all_one: bool  # every value is 1.0 (up to float32 rounding)


@dataclass(frozen=True)
class TrainStep:
    labels: LabelPlan
    labels_shape: tuple[int, ...]
    loss: float | None
    error: Event | None
    metrics: tuple[str, ...]  # the metric classes Keras resolved, in compile order


@dataclass(frozen=True)
class Rebuild:
    """One rebuilt graph. ``stopped`` says why it did not get as far as a train step."""

    input_shape: tuple[int | None, ...] | None
    layer_inputs: tuple[tuple[int | None, ...] | None, ...]  # per plan layer
    output_shapes: tuple[tuple[int | None, ...], ...]  # as built, even without a forward pass
    outputs: tuple[OutputStats, ...]  # from the forward pass
    train: TrainStep | None
    extra: tuple[TrainStep, ...]
    events: tuple[Event, ...]
    stopped: str | None
    samples: int
    layer_outputs: tuple[tuple[int | None, ...] | None, ...] = ()  # per plan layer
    stand_in: bool = False  # built on the stand-in input: the model declares no input shape


@dataclass(frozen=True)
class ModelOutcome:
    model: Rebuild | None
    head: Rebuild | None


@dataclass(frozen=True)
class TrainOutcome:
    """Per variant, per seed, the measured values; or the error that stopped the probe."""

    values: tuple[tuple[tuple[tuple[str, float], ...], ...], ...] = ()
    error: Event | None = None
    # Per variant, the metric classes Keras resolved for its compiled metrics, in order.
    metrics: tuple[tuple[str, ...], ...] = ()
    # Set when the fallback ran: why the whole model was not trained.
    alone: str | None = None
    inputs: tuple[int, ...] = ()  # one sample's input shape
    stand_in: bool = False  # the model declared no input shape: ``stand_in`` gave it
    # Variants Keras refused (by index), with its exception; their values are empty.
    failures: tuple[tuple[int, Event], ...] = ()

    def failed(self, variant: int) -> Event | None:
        return dict(self.failures).get(variant)

    def series(self, variant: int, measure: str) -> tuple[float, ...]:
        return tuple(dict(seed)[measure] for seed in self.values[variant])


@dataclass(frozen=True)
class AffineOutcome:
    deviation: float  # max |f(x) - (x W + b)| over random inputs, relative to max |f(x)|
    rank: int
    shape: tuple[int, int]  # W's shape
    error: Event | None = None
    given: bool = True  # the input width is the one the model gives (not the 16 stand-in)


@dataclass(frozen=True)
class RangeOutcome:
    low: float  # what the activation attains (its value at -1e4 and 1e4, and at 0)
    high: float
    outside: float  # the fraction of target values outside [low, high]
    floor: float  # the loss of the nearest attainable predictions
    constant: float  # the loss of the best constant prediction (the targets' mean)
    target_low: float
    target_high: float
    error: Event | None = None


@dataclass(frozen=True)
class SquashOutcome:
    low: float  # what the two activations attain, one after the other
    high: float
    alone_low: float  # what the outer one attains alone
    alone_high: float
    error: Event | None = None


Answer = ModelOutcome | Outcome | TrainOutcome | AffineOutcome | RangeOutcome | SquashOutcome


@dataclass(frozen=True)
class Job:
    """Probes that share one time budget (one model, or a module's API uses)."""

    probes: tuple[Probe, ...]


@dataclass(frozen=True)
class JobFailed:
    """The worker gave no answer: it ran out of time or died."""

    reason: str
