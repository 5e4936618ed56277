"""Counterfactual models, as plain request data (no TensorFlow): the planned model changed
the way a rule's fix would change it, and the stand-in input of a model that declares none.

A counterfactual changes one thing and keeps everything else as written, so that the
experiment compares the fault with its fix and nothing else.
"""

from __future__ import annotations

from dataclasses import replace

from kerascheck.dynamic.jobs import Construct, GraphPlan, LayerPlan, Plain
from kerascheck.dynamic.plan import HEAD_FEATURES, Unbuildable, output_chain
from kerascheck.ir import DataInfo, Known, LayerSpec, ModelSpec, OutputSpec
from kerascheck.knowledge import load

# One sample of each keras.datasets loader (the loaders' documented shapes): the stand-in
# input of a Sequential model that starts with Flatten and is fitted on that data set.
DATASET_SHAPES: dict[str, tuple[int, ...]] = {
    "mnist": (28, 28),
    "fashion_mnist": (28, 28),
    "cifar10": (32, 32, 3),
    "cifar100": (32, 32, 3),
    "boston_housing": (13,),
    "california_housing": (8,),
}
_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN", "Bidirectional", "RNN", "TimeDistributed"})
_SEQUENCE_STEPS = 8
_SEQUENCE_FEATURES = 4
_IMAGE = (16, 16, 3)
_VOLUME = (8, 8, 8, 1)
_EMBEDDING_STEPS = 8
_RANK_KEEPING = frozenset({"BatchNormalization", "LayerNormalization", "Activation"})


def _input(shape: tuple[int, ...], dtype: str | None = None) -> Construct:
    kwargs: tuple[tuple[str, Plain], ...] = (("shape", shape),)
    if dtype is not None:
        kwargs += (("dtype", dtype),)
    return Construct("keras.Input", (), kwargs)


def _declared(layer: LayerSpec) -> tuple[int | None, ...] | None:
    if layer.call is None:
        return None
    for name in ("input_shape", "batch_input_shape", "input_dim"):
        arg = layer.call.kwarg(name)
        if arg is None or not isinstance(arg.value, Known):
            continue
        value = arg.value.value
        if name == "input_dim" and isinstance(value, int):
            return (value,)
        if isinstance(value, (tuple, list)) and all(v is None or isinstance(v, int) for v in value):
            shape = tuple(value)
            return shape[1:] if name == "batch_input_shape" else shape
    return None


def stand_in(model: ModelSpec, x: DataInfo | None) -> tuple[Construct, str] | None:
    """The input a Sequential model that declares no (full) input shape is given, and how
    the evidence describes it; None when its first layers do not say what rank it takes.

    A declared shape keeps its known dimensions (16 for the ones only the data fixes); a
    Flatten first takes the sample shape of the keras.datasets loader that feeds it; else
    the first layer decides: 16 features for Dense, 8 steps of 4 features for 1D and
    recurrent layers, 16x16x3 images for 2D layers, ids for an Embedding."""
    if model.kind != "sequential" or not model.layers:
        return None
    declared = _declared(model.layers[0])
    if declared is not None:
        shape = tuple(d if d is not None else HEAD_FEATURES for d in declared)
        if shape == declared:
            return None  # declared in full: no stand-in
        return _input(shape), f"the input's free dimensions set to {HEAD_FEATURES}: {shape}"
    k = load()
    skipped = (
        k.transparent_layers
        | _RANK_KEEPING
        | frozenset(k.activation_layers)
        | frozenset(k.input_scaling_layers)
    )
    first = next((x for x in model.layers if x.class_name not in skipped), None)
    if first is None:
        return None
    name = first.class_name
    dataset = x.dataset.value if x is not None and isinstance(x.dataset, Known) else None
    if name == "Flatten" and dataset in DATASET_SHAPES:
        shape = DATASET_SHAPES[dataset]
        return _input(shape), f"`{dataset}`'s sample shape {shape}, the model declaring none"
    if name == "Embedding":
        shape = (_EMBEDDING_STEPS,)
        return _input(
            shape, "int32"
        ), f"{_EMBEDDING_STEPS} ids per sample, the model declaring none"
    if name in _RECURRENT or name.endswith("1D"):
        shape = (_SEQUENCE_STEPS, _SEQUENCE_FEATURES)
    elif name.endswith("2D"):
        shape = _IMAGE
    elif name.endswith("3D"):
        shape = _VOLUME
    elif name in ("Dense", "Flatten"):
        shape = (HEAD_FEATURES,)
    else:
        return None
    return _input(shape), f"no input shape declared: built on inputs of shape {shape}"


# ----------------------------------------------------------------------------- changes
def _with_kwarg(construct: Construct, name: str, value: Plain) -> Construct:
    kept = tuple((k, v) for k, v in construct.kwargs if k != name)
    return replace(construct, kwargs=(*kept, (name, value)))


def _replaced(graph: GraphPlan, position: int, construct: Construct) -> GraphPlan:
    layers = tuple(
        replace(layer, construct=construct) if layer.position == position else layer
        for layer in graph.layers
    )
    return replace(graph, layers=layers)


def _planned(graph: GraphPlan, position: int) -> LayerPlan:
    for layer in graph.layers:
        if layer.position == position:
            return layer
    raise Unbuildable(f"layer {position + 1} is not in the rebuilt model")


def set_argument(graph: GraphPlan, position: int, name: str, value: Plain) -> GraphPlan:
    """The layer at ``position`` (in the IR's layers) with one keyword argument changed."""
    return _replaced(graph, position, _with_kwarg(_planned(graph, position).construct, name, value))


def _activation_layer(activation: str) -> Construct:
    return Construct("keras.layers.Activation", (activation,))


def with_output_activation(
    graph: GraphPlan, model: ModelSpec, output: OutputSpec, activation: str
) -> tuple[GraphPlan, str]:
    """The model with its output activation replaced, and how the evidence says so.

    The unit layer's own activation changes (activation layers after it become the identity);
    a unit layer without an activation argument of its kind (an LSTM's tanh) keeps it, and a
    Dense output layer with the new activation is added after it."""
    unit, following = output_chain(model, output)
    layer = model.layers[unit]
    k = load()
    if layer.class_name == "Dense":
        changed = set_argument(graph, unit, "activation", activation)
        for position in following:
            name = model.layers[position].class_name
            if name == "Activation" or name in k.activation_layers:
                changed = _replaced(changed, position, _activation_layer("linear"))
        return changed, f"a {activation} output"
    if not isinstance(output.units, Known):
        raise Unbuildable("the output's number of units is not known")
    units = output.units.value
    dense = Construct("keras.layers.Dense", (units,), (("activation", activation),))
    return append(graph, dense), f"a Dense({units}, activation='{activation}') output layer"


def append(graph: GraphPlan, construct: Construct) -> GraphPlan:
    """The graph with one more layer after its (single) output."""
    if graph.kind == "sequential":
        return replace(graph, layers=(*graph.layers, LayerPlan(construct, -2)))
    (output,) = graph.outputs
    layers = (*graph.layers, LayerPlan(construct, -2, (output,)))
    return replace(graph, layers=layers, outputs=(len(graph.layers),))


def move_before(graph: GraphPlan, moved: int, before: int) -> GraphPlan:
    """A Sequential model with the layer at IR position ``moved`` put before ``before``."""
    if graph.kind != "sequential":
        raise Unbuildable("only a Sequential model's layers are moved")
    layer = _planned(graph, moved)
    rest = [x for x in graph.layers if x.position != moved]
    at = next(i for i, x in enumerate(rest) if x.position == before)
    return replace(graph, layers=(*rest[:at], layer, *rest[at:]))


# ----------------------------------------------------------------------------- losses
def loss_with_from_logits(loss: Plain, name: str) -> Plain:
    """The loss with from_logits=True: its class built with it (a class call keeps its other
    arguments)."""
    if isinstance(loss, Construct):
        return _with_kwarg(loss, "from_logits", True)
    for class_name, known in load().loss_classes.items():
        if known.name == name and known.from_logits_index is not None:
            return Construct(f"keras.losses.{class_name}", (), (("from_logits", True),))
    raise Unbuildable(f"'{name}' takes no from_logits argument")


def optimizer_with_rate(optimizer: Plain, rate: float) -> Plain:
    """The same optimizer with another constant learning rate (its other arguments kept)."""
    if isinstance(optimizer, str):
        name = _OPTIMIZER_CLASSES.get(optimizer.lower(), optimizer)
        return Construct(f"keras.optimizers.{name}", (), (("learning_rate", rate),))
    if isinstance(optimizer, Construct):
        kwargs = tuple((k, v) for k, v in optimizer.kwargs if k not in ("learning_rate", "lr"))
        if optimizer.args:  # the rate is the first positional argument
            return replace(optimizer, args=(rate, *optimizer.args[1:]), kwargs=kwargs)
        return replace(optimizer, kwargs=(*kwargs, ("learning_rate", rate)))
    raise Unbuildable("the optimizer is not known statically")


_OPTIMIZER_CLASSES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "ftrl": "Ftrl",
}
