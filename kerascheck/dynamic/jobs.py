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
    the output's last dimension."""

    encoding: LabelEncoding
    classes: int | None = None


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


Probe = (
    ModelProbe
    | ConstructProbe
    | ImportProbe
    | AttributeProbe
    | MethodProbe
    | CompileNameProbe
    | LossProbe
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
    all_one: bool


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
    layer_inputs: tuple[tuple[int | None, ...] | None, ...]  # per plan layer, Sequential
    output_shapes: tuple[tuple[int | None, ...], ...]  # as built, even without a forward pass
    outputs: tuple[OutputStats, ...]  # from the forward pass
    train: TrainStep | None
    extra: tuple[TrainStep, ...]
    events: tuple[Event, ...]
    stopped: str | None
    samples: int


@dataclass(frozen=True)
class ModelOutcome:
    model: Rebuild | None
    head: Rebuild | None


Answer = ModelOutcome | Outcome


@dataclass(frozen=True)
class Job:
    """Probes that share one time budget (one model, or a module's API uses)."""

    probes: tuple[Probe, ...]


@dataclass(frozen=True)
class JobFailed:
    """The worker gave no answer: it ran out of time or died."""

    reason: str
