import math
from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import (
    Arg,
    Call,
    CompileSpec,
    Finding,
    Known,
    LayerSpec,
    LossSpec,
    ModelSpec,
    OutputSpec,
    Span,
)
from kerascheck.knowledge import LearningRates, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

# Layers that leave the shape of their input as it is.
_SHAPE_KEEPING = frozenset(
    {"InputLayer", "Normalization", "Rescaling", "BatchNormalization", "Activation", "ReLU"}
    | {"LeakyReLU", "ELU", "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
)

# Training steps in each measured run (tools/measure_learning_rates.py: 5 epochs of 2048
# samples at batch size 32): the legacy `decay=` argument is judged over these.
_MEASURED_STEPS = 320


@dataclass(frozen=True)
class _Rate:
    """A learning rate as written: its value, where, and whether a schedule starts at it."""

    value: float
    arg: Arg
    schedule: str | None = None
    integer: bool = False  # written as an int, which Keras 3 rejects


class LearningRateOutOfRange(Rule):
    """Flags a learning rate at or below zero, and a constant one at which networks like the
    model mostly failed to train in kerascheck's measurements.

    Checked on optimizers that reach `model.compile(optimizer=...)` of a model that is
    trained or evaluated here (or returned compiled), directly or through a variable.

    - A rate <= 0 is always reported (also as the start of a schedule that only scales it,
      such as ExponentialDecay), and a constant rate below 1e-7.
    - A high constant rate is reported where `tools/measure_learning_rates.py` (Keras
      3.15.1; docs/knowledge.md) saw training mostly fail (diverge, or end with less than
      half the skill of a good rate) at that rate and every rate above it, at batch sizes
      32 and 256, for every measured network the model may be. The model must be a chain of
      Dense layers (with Dropout, Flatten, Normalization, activation layers or
      BatchNormalization between them): its number of hidden layers, their activations
      (relu, tanh, sigmoid), BatchNormalization, its width and its output activation and
      loss pick the measurements. Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad, Adadelta
      and SGD (with and without momentum) were measured; other optimizers are checked only
      for rates <= 0.
    """

    code = "KC402"
    relevant_names = frozenset({"LearningRateScheduler"})
    name = "learning-rate-out-of-range"
    severity = "warning"
    summary = "Learning rate at or below zero, or far above what trains such a network."
    why = """
        Neither raises an error. A rate of 0 never moves the weights, and a negative rate
        is gradient ascent: every step makes the loss worse. Far too high a rate overshoots:
        in kerascheck's measurements Adam at 1.0 mostly failed to train every relu network
        with 3 or more hidden layers and no BatchNormalization, and SGD failed from 0.3 or 1
        on relu regression networks, while lower rates trained the same networks well. How
        high is too high depends on the optimizer and the network: Adam at 0.1 trains a
        linear regression, Adadelta's classic rate is 1.0, and SGD at 3.0 is the textbook
        setting for a sigmoid network; none of these is reported.
    """
    example = """
        model = keras.Sequential([keras.Input((784,))] + [keras.layers.Dense(64, activation="relu") for _ in range(6)] + [keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1.0), loss="sparse_categorical_crossentropy")
    """
    use_instead = """
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    """
    fix_safety = """
        No automatic fix: the right rate depends on the network and the data (the message
        gives the rates at which the measured networks trained best).
    """
    limitations = """
        High rates are judged only on networks like the measured ones: multilayer
        perceptrons with up to 6 hidden Dense layers (a deeper one is judged by the 6-layer
        measurements) of at least 16 units, relu, tanh or sigmoid hidden units, and a
        regression (mse), binary (sigmoid, binary cross-entropy), softmax (categorical
        cross-entropy) or sigmoid+mse output. Convolutional and recurrent networks,
        pretrained bases, models with frozen layers and other losses (mae...) are checked
        only for rates <= 0 or below 1e-7: no rate up to 100 failed every measured network.
        The measured inputs were standardised; inputs on a much smaller scale tolerate
        larger rates. Freezing by assignment (`base.trainable = False`) is not seen, nor a
        rate changed after compile() (`model.optimizer.learning_rate = ...`); a file that
        uses a LearningRateScheduler callback is not checked for high rates. A schedule is
        judged only for a start <= 0 it cannot leave: whether training recovers from a
        too-high start as the schedule lowers the rate was not measured. Rates computed at
        run time or read from configuration files are not checked.
    """
    invalid = (
        Invalid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([
                keras.Input((784,)),
                layers.Dense(256, activation="relu"),
                layers.Dense(128, activation="relu"),
                layers.Dense(128, activation="relu"),
                layers.Dense(64, activation="relu"),
                layers.Dense(64, activation="relu"),
                layers.Dense(64, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=1.0), loss="sparse_categorical_crossentropy")
            model.fit(x, y)
            """,
            line=13,
            col=61,
        ),
        Invalid(
            """
            import keras
            opt = keras.optimizers.SGD(learning_rate=-0.01)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=opt, loss="mse")
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0), loss="mse")
            """,
            line=3,
        ),
        Invalid(
            """
            from tensorflow.keras.optimizers import SGD
            from tensorflow.keras.models import Sequential
            from tensorflow.keras.layers import Dense
            LR = 20 / 2
            model = Sequential([Dense(64, activation="relu", input_shape=(8,))])
            model.add(Dense(64, activation="relu"))
            model.add(Dense(1))
            model.compile(SGD(LR, momentum=0.9), "mse")
            """,
            line=8,
        ),
        Invalid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((13,))])
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dense(1))
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mse")
            model.fit(x_train, y_train, epochs=100)
            """,
            line=8,
        ),
        Invalid(
            """
            import keras
            schedule = keras.optimizers.schedules.ExponentialDecay(0.0, 1000, 0.9)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1.0), loss="sparse_categorical_crossentropy")
            model.fit(x_train, y_train, batch_size=128)
            """,
            line=4,
            col=64,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((784,)), layers.Dense(30, activation="sigmoid"), layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="categorical_crossentropy", metrics=["accuracy"])
            model.fit(x_train, y_train, batch_size=10, epochs=30)  # sigmoid units: trains
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((8,)), layers.Dense(32, activation="relu"), layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((10, 1)), layers.SimpleRNN(5), layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mse")
            model.fit(series, targets, epochs=80)  # a tiny recurrent model: not measured
            """
        ),
        Valid(
            """
            import keras
            normalizer = keras.layers.Normalization(input_shape=[1], axis=None)
            normalizer.adapt(horsepower)
            model = keras.Sequential([normalizer, keras.layers.Dense(units=1)])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
            model.fit(horsepower, mpg, epochs=100)
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([keras.Input((784,)), layers.Dense(30, activation="sigmoid"), layers.Dense(10, activation="sigmoid")])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mse")
            model.fit(x_train, y_train, batch_size=10, epochs=30)
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu"), layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0), loss="mse")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mse")
            model.fit(points, labels, epochs=5, batch_size=128)
            """
        ),
        Valid(
            """
            import keras
            from keras import layers
            model = keras.Sequential([
                keras.Input((20,)),
                layers.Dense(64, activation="relu", trainable=False),
                layers.Dense(64, activation="relu", trainable=False),
                layers.Dense(1, trainable=False),
            ])
            model.compile(optimizer=keras.optimizers.Adam(5.0), loss="mse")  # nothing to train
            """
        ),
        Valid(
            """
            import keras
            schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 1000, 0.9)
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
            """
        ),
        Valid(
            """
            import keras
            model = keras.applications.ResNet50(weights=None, classes=10)
            model.compile(optimizer=keras.optimizers.Adam(100.0), loss="categorical_crossentropy")
            model.fit(x, y)  # a network kerascheck did not measure
            """
        ),
        Valid(
            """
            import keras
            opt = keras.optimizers.SGD(learning_rate=0.5)
            opt.apply(grads, variables)  # an optimizer stepped by hand, not training a model
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adam(1.0), loss="mse")
            model.fit(x, y, callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3)])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        limits = load().learning_rate
        # The callback sets the rate at every epoch: the rate written here may never be used.
        scheduled = any(
            use.qualname.rpartition(".")[2] == "LearningRateScheduler"
            for use in ctx.module.api_uses
        )
        seen: set[Span] = set()
        for compile_spec in model.judged_compiles:
            optimizer = compile_spec.optimizer
            if optimizer is None or optimizer.call is None:
                continue
            rate = _rate(optimizer.call, limits)
            if rate is None or rate.arg.span in seen:
                continue
            seen.add(rate.arg.span)
            problem = _not_positive(rate, limits)
            if problem is None and not scheduled:
                problem = _too_high(model, compile_spec, optimizer.call, rate, limits, ctx)
            if problem is None:
                continue
            if rate.integer and ctx.flavour == "keras3":
                problem += " (Keras 3 also rejects an int rate: ValueError; write it as a float)"
            yield self.finding(rate.arg.span, problem)


def _number(arg: Arg | None) -> int | float | None:
    value = arg.value if arg is not None else None
    if not isinstance(value, Known) or isinstance(value.value, bool):
        return None
    return value.value if isinstance(value.value, (int, float)) else None


def _rate(call: Call, limits: LearningRates) -> _Rate | None:
    """The optimizer's rate: a number, or the start of a schedule that only scales it."""
    arg = call.argument("learning_rate", 0) or call.kwarg("lr")
    number = _number(arg)
    if arg is not None and number is not None:
        return _Rate(float(number), arg, integer=isinstance(number, int))
    if arg is None or not isinstance(arg.value, Known) or not isinstance(arg.value.value, Call):
        return None
    schedule = arg.value.value
    name = schedule.qualname.rpartition(".")[2]
    # A warm-up rises from the start towards `warmup_target`.
    if name not in limits.decaying_schedules or schedule.kwarg("warmup_target") is not None:
        return None
    start = schedule.argument("initial_learning_rate", 0)
    number = _number(start)
    return _Rate(float(number), start, name) if start is not None and number is not None else None


def _not_positive(rate: _Rate, limits: LearningRates) -> str | None:
    """What is wrong with a rate at or below zero, or a constant one too small to matter."""
    written = f"a learning rate of {rate.value:g}"
    if rate.schedule is not None:
        written = f"{rate.schedule} from {rate.value:g} (it only scales this start)"
    if rate.value < 0:
        problem = (
            f"{written}: every step climbs the loss instead of descending it (gradient "
            "ascent), so training makes the model worse; use a positive rate"
        )
    elif rate.value == 0:
        problem = f"{written}: the weights never move; use a positive rate such as 1e-3"
    elif rate.schedule is None and rate.value < limits.min:
        problem = (
            f"a learning rate of {rate.value:g} barely moves the weights: far below the "
            f"lowest rate that trained any network in kerascheck's measurements "
            f"({limits.lowest_trained:g})"
        )
    else:
        return None
    return problem


def _too_high(
    model: ModelSpec,
    compile_spec: CompileSpec,
    call: Call,
    rate: _Rate,
    limits: LearningRates,
    ctx: RuleContext,
) -> str | None:
    """A constant rate from which every network the model may be mostly failed to train."""
    optimizer = _measured_optimizer(call, limits)
    if optimizer is None or rate.schedule is not None or _decays(call, ctx):
        return None
    network = _network(model, limits)
    if network is None:
        return None  # not a network like the measured ones
    tasks = _tasks(model, compile_spec, limits)
    measurement = limits.limit(optimizer, network.shapes, tasks) if tasks else None
    if measurement is None or measurement.fails_from is None:
        return None
    if rate.value < measurement.fails_from:
        return None
    low, high = measurement.best
    best = f"{low:g}" if low == high else f"{low:g} to {high:g}"
    shown = "SGD with momentum" if optimizer == limits.momentum[0] else optimizer
    return (
        f"{shown} at a learning rate of {rate.value:g}: in kerascheck's measurements "
        f"({limits.measured_with}), training {network.describe()} mostly failed (diverged, or "
        f"ended with less than half the skill of a good rate) from {measurement.fails_from:g} "
        f"up; it trained best at {best}"
    )


def _decays(call: Call, ctx: RuleContext) -> bool:
    """The legacy ``decay=`` lowers the rate as training goes (Keras 3 ignores it): judged
    only when it changes the rate by less than a tenth over the measured steps."""
    decay = _number(call.kwarg("decay"))
    return ctx.flavour != "keras3" and decay is not None and decay * _MEASURED_STEPS >= 0.1


def _measured_optimizer(call: Call, limits: LearningRates) -> str | None:
    """The measured optimizer the call is: SGD with momentum of at least the measured one
    counts as it (its limits are lower); Nesterov's or a smaller momentum as plain SGD."""
    name = call.qualname.rpartition(".")[2]
    if name not in limits.measured:
        return None
    with_momentum, measured = limits.momentum
    momentum = _number(call.argument("momentum", 1))
    nesterov = call.kwarg("nesterov") is not None
    if name == "SGD" and momentum is not None and momentum >= measured and not nesterov:
        return with_momentum
    return name


@dataclass(frozen=True)
class _Network:
    """What the IR shows of a chain of Dense layers: hidden layers, their activations and
    BatchNormalization."""

    hidden: int
    activations: frozenset[str]
    batchnorm: frozenset[bool]
    # The measured networks it may be, each with the widest size it reaches.
    shapes: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        if self.hidden == 0:
            return "a linear model like this one"
        layers = "layer" if self.hidden == 1 else "layers"
        units = "/".join(sorted(self.activations))
        extra = " and BatchNormalization" if self.batchnorm == frozenset({True}) else ""
        return f"a network with {self.hidden} hidden {units} {layers}{extra}"


def _network(model: ModelSpec, limits: LearningRates) -> _Network | None:
    """The model as measured networks, or None when it is not like any of them."""
    layers = model.layers
    known = limits.weight_layers | limits.batchnorm_layers | limits.weightless_layers
    if not model.complete or not _is_chain(model):
        return None
    if any(not x.known_layer or x.class_name not in known or x.conditional for x in layers):
        return None
    weights = [layer for layer in layers if layer.class_name in limits.weight_layers]
    if not weights:
        return None
    # Frozen layers: what trains is not the measured network (nothing at all when every
    # layer is frozen, and then the rate does nothing).
    if any(_frozen(layer) for layer in layers):
        return None
    activations = _hidden_activations(layers, limits)
    if activations is None:
        return None
    hidden = len(weights) - 1
    # Measured: BatchNormalization after every hidden layer, or none.
    normalized = sum(layer.class_name in limits.batchnorm_layers for layer in layers)
    if normalized == 0:
        batchnorm = frozenset({False})
    elif hidden and normalized >= hidden:
        batchnorm = frozenset({True})
    else:
        batchnorm = frozenset({True, False})
    units = [layer.units for layer in weights[:-1]]
    width = min((u.value for u in units if isinstance(u, Known)), default=math.inf)
    if not all(isinstance(u, Known) for u in units):
        width = 0  # narrower than any measured network, for all that is known
    shapes = _measured_shapes(hidden, activations, batchnorm, width, _features(layers), limits)
    return _Network(hidden, activations, batchnorm, shapes) if shapes is not None else None


def _is_chain(model: ModelSpec) -> bool:
    if model.kind == "sequential":
        return True
    chain = tuple((i, i + 1) for i in range(len(model.layers) - 1))
    return model.kind in ("functional", "config") and model.edges == chain


def _frozen(layer: LayerSpec) -> bool:
    """Frozen, or maybe frozen (``trainable=`` something not known to be True)."""
    arg = layer.call.kwarg("trainable") if layer.call is not None else None
    return arg is not None and arg.value != Known(True)


def _hidden_activations(
    layers: tuple[LayerSpec, ...], limits: LearningRates
) -> frozenset[str] | None:
    """The activation after each hidden weight layer (its own, or an activation layer that
    follows it); None when one is unknown, two are stacked, or one was not measured."""
    k = load()
    applied: list[list[str]] = []
    for layer in layers:
        is_activation = layer.class_name == "Activation" or layer.class_name in k.activation_layers
        if layer.class_name not in limits.weight_layers and not (is_activation and applied):
            continue
        if not isinstance(layer.activation, Known):
            return None
        if layer.class_name in limits.weight_layers:
            applied.append([])
        if layer.activation.value is not None:
            applied[-1].append(layer.activation.value)
    hidden = [functions[0] if functions else "linear" for functions in applied[:-1]]
    if any(len(functions) > 1 for functions in applied[:-1]):
        return None
    measured = {shape.activation for shape in limits.shapes.values() if shape.hidden}
    return frozenset(hidden) if set(hidden) <= measured else None


def _measured_shapes(
    hidden: int,
    activations: frozenset[str],
    batchnorm: frozenset[bool],
    width: float,
    features: int,
    limits: LearningRates,
) -> tuple[tuple[str, int], ...] | None:
    """The measured networks on either side of the model's depth (a deeper model than any
    measured is judged by the deepest), with each activation and BatchNormalization it may
    have, each with the index of the widest measured size the model is at least as wide
    as; None when one of them was not measured, or the model is narrower than all sizes."""
    depths = sorted({shape.hidden for shape in limits.shapes.values()})
    around = {max(d for d in depths if d <= hidden), *[d for d in depths if d >= hidden][:1]}
    found = set()
    for depth in around:
        for activation in activations or {"linear"}:
            for bn in batchnorm:
                name = next(
                    (
                        name
                        for name, shape in limits.shapes.items()
                        if shape.hidden == depth
                        and shape.batchnorm == bn
                        and (depth == 0 or shape.activation == activation)
                    ),
                    None,
                )
                if name is None:
                    return None
                # A linear model has no hidden layer whose width would matter.
                reached = [
                    index
                    for index, (units, inputs) in enumerate(limits.shapes[name].sizes)
                    if (depth == 0 or units <= width) and inputs <= features
                ]
                if not reached:
                    return None
                found.add((name, max(reached)))
    return tuple(sorted(found))


def _features(layers: tuple[LayerSpec, ...]) -> int:
    """How many inputs reach the first Dense layer, as far as the model states its input
    shape (1, the fewest any model has, when it does not)."""
    shape: tuple[int, ...] | None = None
    for layer in layers:
        if layer.call is None:
            return 1
        if shape is None:
            stated = layer.call.kwarg("input_shape") or layer.call.kwarg("shape")
            if layer.class_name == "InputLayer":
                stated = stated or layer.call.positional(0)
            value = stated.value if stated is not None else None
            if isinstance(value, Known) and isinstance(value.value, tuple):
                shape = value.value
            dim = layer.call.kwarg("input_dim")
            if dim is not None and isinstance(dim.value, Known):
                shape = (dim.value.value,)
        if not shape or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            return 1
        if layer.class_name == "Dense":
            return shape[-1]
        if layer.class_name == "Flatten":
            shape = (math.prod(shape),)
        elif layer.class_name not in _SHAPE_KEEPING:
            return 1
    return 1


def _tasks(
    model: ModelSpec, compile_spec: CompileSpec, limits: LearningRates
) -> tuple[str, ...] | None:
    """The measured output/loss pair of each output; None when one was not measured."""
    found = set()
    for index, output in enumerate(model.outputs):
        task = _task(output, compile_spec.loss_for(index, output), limits)
        if task is None:
            return None
        found.add(task)
    return tuple(sorted(found)) or None


def _task(output: OutputSpec, loss: LossSpec | None, limits: LearningRates) -> str | None:
    if loss is None or not isinstance(loss.name, Known):
        return None
    if not isinstance(output.activation, Known) or not isinstance(output.units, Known):
        return None
    activation, units = output.activation.value, output.units.value
    logits = loss.from_logits
    for name, task in limits.tasks.items():
        if loss.name.value not in task.losses or not task.takes(units):
            continue
        probabilities = activation == task.activation and logits != Known(True)
        # Keras computes a sigmoid/softmax cross-entropy from the logits either way.
        from_logits = activation is None and task.activation is not None and logits == Known(True)
        if probabilities or from_logits:
            return name
    return None
