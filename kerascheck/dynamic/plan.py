"""From the IR to rebuild requests, without TensorFlow.

Precision first: a value the extractor did not resolve is never filled in by a guess. A part
that cannot be rebuilt exactly as written raises ``Unbuildable`` with the reason, which
becomes the evidence of an ``unverifiable`` verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kerascheck.dynamic.jobs import (
    OPAQUE,
    CompilePlan,
    Construct,
    GraphPlan,
    LabelPlan,
    LayerPlan,
    Plain,
    Reference,
)
from kerascheck.ir import (
    Activation,
    Call,
    DataInfo,
    Known,
    LayerSpec,
    LossSpec,
    MetricSpec,
    ModelSpec,
    OptimizerSpec,
    OutputSpec,
)
from kerascheck.knowledge import load


class Unbuildable(Exception):
    """This part cannot be rebuilt exactly as written; the message says why."""


# Keras families whose objects are built from literal arguments alone.
_REBUILT_FAMILIES = (
    "keras.layers.",
    "keras.initializers.",
    "keras.regularizers.",
    "keras.constraints.",
    "keras.losses.",
    "keras.metrics.",
    "keras.optimizers.",
)
_INPUTS = frozenset({"keras.Input", "keras.layers.Input", "keras.layers.InputLayer"})
# Layers that wrap user code or read files (a saved model, a vocabulary file): making them
# would run or read something of the user's.
_REFUSED = frozenset(
    {
        "Lambda",
        "TFSMLayer",
        "TorchModuleWrapper",
        "JaxLayer",
        "FlaxLayer",
        "TextVectorization",
        "StringLookup",
        "IntegerLookup",
    }
)
# Preprocessing layers that learn their state from data (adapt()) unless it is given.
_ADAPTED = {"Normalization": ("mean", "variance"), "Discretization": ("bin_boundaries",)}
# Merge layers: the order of their inputs, which the IR's edges do not keep, changes neither
# the shape nor the range of what they compute.
_MERGES = frozenset({"Concatenate", "Add", "Multiply", "Average", "Maximum", "Minimum"})
_SHAPE_ARGUMENTS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")
# The width of the random features fed to an output layer rebuilt alone: a Dense layer's
# activation range and output size do not depend on it.
HEAD_FEATURES = 16

_BINARY_LOSSES = frozenset(
    {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"}
)
_ONEHOT_LOSSES = frozenset(
    {
        "categorical_crossentropy",
        "categorical_focal_crossentropy",
        "categorical_hinge",
        "kl_divergence",
    }
)


def short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def plain(value: object) -> Plain:
    """A resolved literal as plain data; nested Keras calls become ``Construct``s."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Call):
        return construct(value)
    raise Unbuildable(f"the value {value!r} is not a literal kerascheck can pass to Keras")


def construct(
    call: Call,
    activation: Activation | None = None,
    drop: Iterable[str] = (),
    opaque: bool = False,
) -> Construct:
    """The call with its resolved arguments. ``activation`` stands in for an activation
    argument written as a function (``tf.nn.softmax``) that the IR resolved by name;
    with ``opaque``, unresolved values become ``OPAQUE`` instead of failing."""
    name = short(call.qualname)
    if not call.qualname.startswith(_REBUILT_FAMILIES) and call.qualname not in _INPUTS:
        raise Unbuildable(f"`{call.qualname}` is not a Keras object kerascheck rebuilds")
    if name in _REFUSED:
        raise Unbuildable(f"`{name}` wraps user code or reads files, which kerascheck never does")
    if call.has_star_args:
        raise Unbuildable(f"`{name}` is called with *args or **kwargs")
    dropped = set(drop)
    positional: dict[int, Plain] = {}
    keywords: list[tuple[str, Plain]] = []
    for arg in call.args:
        if arg.name in dropped:
            continue
        value = _argument(name, arg.name, arg.index, arg.value, activation, opaque)
        if arg.name is None:
            positional[arg.index] = value
        else:
            keywords.append((arg.name, value))
    if sorted(positional) != list(range(len(positional))):
        raise Unbuildable(f"the positional arguments of `{name}` are not all known")
    args = tuple(positional[i] for i in range(len(positional)))
    return Construct(call.qualname, args, tuple(keywords))


def _argument(
    name: str,
    keyword: str | None,
    index: int,
    value: object,
    activation: Activation | None,
    opaque: bool,
) -> Plain:
    if isinstance(value, Known):
        try:
            return plain(value.value)
        except Unbuildable:
            if opaque:
                return OPAQUE
            raise
    is_activation = keyword == "activation" or (name == "Activation" and index == 0)
    if is_activation and isinstance(activation, Known):
        return activation.value or "linear"
    if opaque:
        return OPAQUE
    written = f"`{keyword}=`" if keyword else f"positional argument {index + 1}"
    raise Unbuildable(f"{written} of `{name}` is not known statically")


def _layer_name(layer: LayerSpec) -> str:
    return f"the {layer.class_name or 'layer'} at position {layer.position + 1}"


def layer_plan(
    layer: LayerSpec, index: int, inputs: tuple[int, ...] = (), shapes_optional: bool = False
) -> LayerPlan:
    """The layer as written; with ``shapes_optional``, input shape arguments the extractor
    could not resolve are left out (a stand-in input takes their place, see ``stand_in``)."""
    if layer.call is None:
        raise Unbuildable(
            f"layer {index + 1} is not a Keras layer (a custom layer or a call kerascheck "
            "cannot resolve); rebuilding it would mean running user code"
        )
    if layer.conditional:
        raise Unbuildable(f"{_layer_name(layer)} is added under a condition only a run decides")
    name = short(layer.call.qualname)
    needs = _ADAPTED.get(name)
    if needs is not None and not all(layer.call.kwarg(n) for n in needs):
        raise Unbuildable(f"`{name}` learns its state from the data (adapt())")
    drop: tuple[str, ...] = ()
    if shapes_optional:
        drop = tuple(
            arg.name
            for arg in layer.call.args
            if arg.name in _SHAPE_ARGUMENTS and not isinstance(arg.value, Known)
        )
    return LayerPlan(construct(layer.call, layer.activation, drop), index, inputs)


def _rebuilt_kind(model: ModelSpec) -> None:
    if model.kind == "subclass":
        raise Unbuildable(
            "a subclassed model: its call() is user code, which kerascheck never runs"
        )
    if model.kind not in ("sequential", "functional"):
        raise Unbuildable(f"a model read from a {model.kind} is not rebuilt")


def graph_plan(model: ModelSpec, shapes_optional: bool = False) -> GraphPlan:
    """The whole model, or ``Unbuildable``."""
    _rebuilt_kind(model)
    if not model.layers:
        raise Unbuildable("the model has no layers kerascheck knows of")
    if model.kind == "functional":
        plan = _functional_plan(model)
    else:
        layers = tuple(layer_plan(x, i, (), shapes_optional) for i, x in enumerate(model.layers))
        plan = GraphPlan("sequential", layers)
    # After the layers: a custom layer says more than "incomplete", which it also causes.
    if not model.complete:
        raise Unbuildable("the model is built partly by code kerascheck cannot follow")
    return plan


def _functional_plan(model: ModelSpec) -> GraphPlan:
    producers: dict[int, list[int]] = {}
    for producer, consumer in model.edges:
        if consumer == -1:
            raise Unbuildable(
                "the graph applies operations that are not layers (x + y, tf.* calls), "
                "which the IR does not record"
            )
        producers.setdefault(consumer, []).append(producer)
    inputs = [i for i, x in enumerate(model.layers) if x.class_name == "InputLayer"]
    if inputs != [0]:
        raise Unbuildable("only graphs with a single keras.Input are rebuilt")
    plans = [layer_plan(model.layers[0], 0)]
    for index, layer in enumerate(model.layers[1:], start=1):
        sources = tuple(sorted(producers.get(index, ())))
        if not sources:
            raise Unbuildable(f"{_layer_name(layer)} has no input the IR knows")
        if len(sources) > 1 and layer.class_name not in _MERGES:
            raise Unbuildable(
                f"{_layer_name(layer)} takes several tensors in an order the IR does not keep"
            )
        plans.append(layer_plan(layer, index, sources))
    consumed = {producer for producer, _ in model.edges}
    sinks = [i for i in range(len(model.layers)) if i not in consumed]
    if len(model.outputs) == 1 and len(sinks) == 1:
        return GraphPlan("functional", tuple(plans), (sinks[0],))
    outputs = tuple(_output_layer(model, index) for index in range(len(model.outputs)))
    if sorted(outputs) != sinks:
        raise Unbuildable("the IR does not tell which layer produces each output")
    return GraphPlan("functional", tuple(plans), outputs)


def _unit_index(model: ModelSpec, output: OutputSpec) -> int:
    """The index in ``model.layers`` of the layer that defines an output's units."""
    layer = output.layer
    found = [i for i, x in enumerate(model.layers) if layer is not None and x.call is layer.call]
    if layer is None or layer.call is None or len(found) != 1:
        raise Unbuildable("an output cannot be traced to a layer")
    return found[0]


def _passes_through(layer: LayerSpec) -> bool:
    """Activation and inference-time identity layers between a unit layer and the output."""
    k = load()
    return (
        layer.class_name in k.transparent_layers
        or layer.class_name == "Activation"
        or layer.class_name in k.activation_layers
    )


def _following(model: ModelSpec, index: int) -> list[int]:
    """The activation / transparent layers that carry a unit layer's output to the model
    output, in order (the IR's own view of how the output activation is applied)."""
    if model.kind == "sequential":
        after = list(range(index + 1, len(model.layers)))
        if not all(_passes_through(model.layers[i]) for i in after):
            raise Unbuildable("the layers after the output layer are not only activations")
        return after
    chain, current = [], index
    while True:
        consumers = [c for p, c in model.edges if p == current]
        if -1 in consumers:
            raise Unbuildable("an operation that is not a layer follows the output layer")
        if len(consumers) != 1 or not _passes_through(model.layers[consumers[0]]):
            return chain
        current = consumers[0]
        chain.append(current)


def output_chain(model: ModelSpec, output: OutputSpec) -> tuple[int, list[int]]:
    """The layer that defines an output's units, and the activation / transparent layers
    that carry it to the output."""
    unit = _unit_index(model, output)
    return unit, _following(model, unit)


def _output_layer(model: ModelSpec, index: int) -> int:
    """The layer index that produces an output of a functional graph."""
    unit = _unit_index(model, model.outputs[index])
    return ([unit, *_following(model, unit)])[-1]


def head_plan(model: ModelSpec) -> GraphPlan:
    """The output layer and the activation layers after it, alone on random features, for a
    single-output model that cannot be rebuilt whole. Only a Dense output layer qualifies:
    what it outputs does not depend on how many features it receives."""
    _rebuilt_kind(model)
    if len(model.outputs) != 1:
        raise Unbuildable("only single-output models have their head rebuilt alone")
    unit = _unit_index(model, model.outputs[0])
    layer = model.layers[unit]
    if layer.class_name != "Dense" or layer.call is None or layer.conditional:
        raise Unbuildable(f"a {layer.class_name or 'custom'} output layer is not rebuilt alone")
    dense = construct(layer.call, layer.activation, drop=_SHAPE_ARGUMENTS)
    plans = [
        LayerPlan(Construct("keras.Input", (), (("shape", (HEAD_FEATURES,)),)), -1),
        LayerPlan(dense, unit, (0,)),
    ]
    for index in _following(model, unit):
        plans.append(layer_plan(model.layers[index], index, (len(plans) - 1,)))
    return GraphPlan("sequential", tuple(plans))


def bare_head_plan(model: ModelSpec, output: int = 0) -> GraphPlan:
    """One output's Dense layer alone with only its units and activation (and the activation
    layers after it), on random features: what an experiment about the output trains when
    the whole model cannot be. Its initialisers and regularisers, and arguments of older
    Keras versions, are left out: they do not change what the output can represent."""
    _rebuilt_kind(model)
    unit = _unit_index(model, model.outputs[output])
    layer = model.layers[unit]
    if layer.class_name != "Dense" or layer.conditional:
        raise Unbuildable(f"a {layer.class_name or 'custom'} output layer is not rebuilt alone")
    if not isinstance(layer.units, Known) or not isinstance(layer.activation, Known):
        raise Unbuildable("the output layer's units or activation are not known statically")
    activation = layer.activation.value or "linear"
    dense = Construct("keras.layers.Dense", (layer.units.value,), (("activation", activation),))
    plans = [
        LayerPlan(Construct("keras.Input", (), (("shape", (HEAD_FEATURES,)),)), -1),
        LayerPlan(dense, unit, (0,)),
    ]
    for index in _following(model, unit):
        plans.append(layer_plan(model.layers[index], index, (len(plans) - 1,)))
    return GraphPlan("sequential", tuple(plans))


@dataclass(frozen=True)
class CompileParts:
    """A compile request and the metrics it passes, in order (to read back what Keras
    resolved each one to)."""

    plan: CompilePlan
    metrics: tuple[MetricSpec, ...]
    loss: LossSpec


def compile_plan(model: ModelSpec) -> CompileParts:
    spec = model.compile
    if spec is None:
        raise Unbuildable("the model is never compiled")
    if len(model.outputs) != 1:
        raise Unbuildable("multi-output models are not compiled by the dynamic check")
    output = model.outputs[0]
    loss = spec.loss_for(0, output)
    if loss is None:
        raise Unbuildable("the loss is not known")
    labels = default_labels(loss)
    metrics = tuple(m for m in spec.metrics_for(0, output) if _metric_value(m) is not None)
    plan = CompilePlan(
        loss=loss_value(loss),
        metrics=tuple(_metric_value(m) for m in metrics),
        optimizer=optimizer_value(spec.optimizer),
        labels=labels,
    )
    return CompileParts(plan, metrics, loss)


def loss_value(loss: LossSpec) -> Plain:
    if loss.call is not None:
        return construct(loss.call)
    if loss.literal:
        return loss.written
    if isinstance(loss.name, Known) and loss.written:
        return Reference(f"keras.losses.{loss.written}")
    raise Unbuildable("the loss is user code or not known statically")


def _metric_value(metric: MetricSpec) -> Plain | None:
    if metric.literal:
        return metric.written
    if isinstance(metric.name, Known):
        return Reference(f"keras.metrics.{metric.written}")
    return None  # a metric object: it resolves on its own and changes no other metric


def optimizer_value(optimizer: OptimizerSpec | None) -> Plain | None:
    if optimizer is None:
        return "rmsprop"  # compile()'s own default
    if optimizer.call is not None:
        try:
            return construct(optimizer.call)
        except Unbuildable:
            return None
    if isinstance(optimizer.name, Known):
        return optimizer.name.value
    return None


def default_labels(loss: LossSpec) -> LabelPlan | None:
    """Labels of the shape and kind the loss expects, or None for a loss the IR does not
    name (the model is still compiled, to hear what Keras says about it)."""
    name = loss.name.value if isinstance(loss.name, Known) else None
    if name in _BINARY_LOSSES:
        return LabelPlan("binary")
    if name in _ONEHOT_LOSSES:
        return LabelPlan("onehot")
    if name == "sparse_categorical_crossentropy":
        return LabelPlan("integer")
    if name in load().regression_losses or name == "cosine_similarity":
        return LabelPlan("continuous")
    return None


def data_labels(info: DataInfo) -> LabelPlan | None:
    """Labels encoded as the IR says the fitted data is, or None when it does not say."""
    encoding = info.encoding.value if isinstance(info.encoding, Known) else None
    classes = info.num_classes.value if isinstance(info.num_classes, Known) else None
    if encoding in ("binary", "plus_minus_one"):
        return LabelPlan(encoding, 1, data=True)  # one 0/1 (or -1/+1) label per sample
    if encoding in ("onehot", "integer", "continuous"):
        return LabelPlan(encoding, classes, data=True)  # type: ignore[arg-type]
    return None
