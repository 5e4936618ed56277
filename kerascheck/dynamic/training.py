"""Short controlled experiments in real Keras: train the model as written and as a rule's fix
would make it, on the same synthetic data from the same seeded start, and measure both.

Runs in the worker process only (it imports Keras and TensorFlow). Each variant is traced
once (one ``tf.function`` runs all its steps) and reused across seeds: its weights and its
optimizer's state are reset to the seed's fresh values before each run, so tracing, the
expensive part, is paid once per variant, not once per run.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerascheck.dynamic import synthetic
from kerascheck.dynamic.capture import Recorder
from kerascheck.dynamic.jobs import (
    AffineOutcome,
    AffineProbe,
    Construct,
    Event,
    GraphPlan,
    InputPlan,
    LayerPlan,
    RangeOutcome,
    RangeProbe,
    SquashOutcome,
    SquashProbe,
    TargetPlan,
    TrainOutcome,
    TrainProbe,
    Variant,
)
from kerascheck.dynamic.keras_build import build_graph, build_layers, connect, materialize
from kerascheck.dynamic.plan import HEAD_FEATURES

# A recurrent layer's time step costs like this many multiply-adds of fixed overhead (its
# loop iteration), measured: about 0.3 ms per batch step and time step on one core.
_STEP_OVERHEAD = 10_000
_EPSILON = 1e-7  # Keras's clipping of probabilities
_TEACHER_SEED = 10_000
_FAR = 1e4  # a pre-activation far enough to saturate any squashing activation
_PUSH = 10.0  # how far _pushed moves outputs, in units of the targets' scale


class TooLarge(Exception):
    """Training this model the probe's way would not fit the budget."""


class NoInputShape(Exception):
    """The model declares no input shape and no stand-in applies."""


def _built(plan: GraphPlan, seed: int) -> Any:
    """The planned model, its weights drawn from ``seed``."""
    keras.utils.set_random_seed(seed)
    return build_graph(plan)


def _declared(model: Any) -> tuple[int, ...] | None:
    """One sample's input shape, if the model fixes every dimension of it."""
    try:
        shape = model.inputs[0].shape[1:]
    except (AttributeError, IndexError, ValueError, TypeError):
        return None
    if any(d is None for d in shape):
        return None
    return tuple(int(d) for d in shape)


def effective(plan: GraphPlan, stand_in: Construct | None) -> tuple[GraphPlan, bool]:
    """The plan with a stand-in input first when the model declares no full input shape."""
    if _declared(_built(plan, 0)) is not None:
        return plan, False
    if stand_in is None or plan.kind != "sequential":
        raise NoInputShape("the model declares no input shape (Keras sets it at fit())")
    with_input = replace(plan, layers=(LayerPlan(stand_in, -1), *plan.layers))
    if _declared(_built(with_input, 0)) is None:
        raise NoInputShape("the model declares no input shape (Keras sets it at fit())")
    return with_input, True


def input_plan(model: Any, pixels: bool) -> InputPlan:
    """Synthetic inputs for this model: ids below the smallest vocabulary for integer
    inputs, else raw pixels or standard normal features."""
    shape = _declared(model)
    assert shape is not None
    if "int" in str(model.inputs[0].dtype):
        vocabularies = [
            int(layer.input_dim)
            for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.Embedding)
        ]
        return InputPlan(shape, "ids", min(vocabularies, default=2))
    return InputPlan(shape, "pixels" if pixels else "normal")


def _output_shape(model: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in model.outputs[0].shape[1:])


def multiply_adds(model: Any) -> int:
    """Rough multiply-adds of one sample's forward pass: each layer's weights times the
    positions it is applied at; a recurrent layer's times its time steps, plus each step's
    loop overhead."""
    total = 0
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    cells = {id(layer.cell) for layer in layers if hasattr(layer, "cell")}
    for layer in layers:
        recurrent = hasattr(layer, "cell")
        if id(layer) in cells:
            continue  # counted with its recurrent layer
        if layer._flatten_layers(include_self=False, recursive=False) and not recurrent:
            continue  # a container: its sublayers are counted
        weights = sum(int(np.prod(w.shape)) for w in layer.weights)
        if not weights or isinstance(layer, keras.layers.Embedding):
            continue
        try:
            if recurrent:
                steps = int(layer.input.shape[1] or 1)
                total += (weights + _STEP_OVERHEAD) * steps
                continue
            positions = int(np.prod([d or 1 for d in layer.output.shape[1:-1]]))
        except (AttributeError, ValueError, TypeError):
            positions = 1
        total += weights * positions
    return total


def _read(reading: str, outputs: np.ndarray, categorical: bool) -> np.ndarray:
    """Outputs as probabilities (logits through sigmoid or softmax)."""
    if reading != "logits":
        return outputs
    if categorical:
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-outputs))


def _accuracy(targets: TargetPlan, y: np.ndarray, p: np.ndarray) -> float:
    if targets.encoding in ("onehot", "integer"):
        truth = y if targets.encoding == "integer" else y.argmax(axis=-1)
        return float(np.mean(p.argmax(axis=-1) == truth))
    # -1/+1 labels: the decision is the sign (the midpoint of -1 and +1).
    middle = 0.0 if targets.encoding == "plus_minus_one" else 0.5
    return float(np.mean((p > middle) == (y > middle)))


def _crossentropy(targets: TargetPlan, y: np.ndarray, p: np.ndarray) -> float:
    """As Keras computes it for probabilities: categorical rows divided by their sum, then
    clipped into [epsilon, 1 - epsilon]."""
    if targets.encoding in ("onehot", "integer"):
        onehot = y if targets.encoding == "onehot" else np.eye(p.shape[-1])[y]
        rows = p / np.sum(p, axis=-1, keepdims=True)
        rows = np.clip(rows, _EPSILON, 1 - _EPSILON)
        return float(np.mean(-np.sum(onehot * np.log(rows), axis=-1)))
    truth = (y > (0 if targets.encoding == "plus_minus_one" else 0.5)).astype("float64")
    q = np.clip(p, _EPSILON, 1 - _EPSILON)
    return float(np.mean(-(truth * np.log(q) + (1 - truth) * np.log(1 - q))))


def _legacy_accuracy(name: str, y: np.ndarray, p: np.ndarray) -> float:
    """'accuracy' as Keras <= 2.3 computed it once it had chosen it from the loss."""
    if name == "binary_accuracy":
        return float(np.mean((p > 0.5) == (y > 0.5)))
    if name == "sparse_categorical_accuracy":
        return float(np.mean(p.argmax(axis=-1) == y.reshape(p.shape[:-1])))
    return float(np.mean(p.argmax(axis=-1) == y.argmax(axis=-1)))


def _pushed(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The outputs moved far from 0.5, each on its own side: every threshold decision at 0.5
    and every row's argmax stay what they were, while the error grows by orders."""
    distance = _PUSH * (float(np.max(np.abs(y))) + 1.0)
    return outputs + distance * np.sign(outputs - 0.5)


def _finite(value: Any) -> float:
    number = float(np.mean(np.asarray(value, dtype="float64")))
    return number if math.isfinite(number) else math.inf


class _Run:
    """One variant, traced once, trained once per seed."""

    def __init__(self, variant: Variant, probe: TrainProbe) -> None:
        self.variant = variant
        self.probe = probe
        self.plan, self.stand_in = effective(variant.graph, probe.stand_in)
        self.model = _built(self.plan, probe.seeds[0])
        self.inputs = input_plan(self.model, probe.pixels)
        self.output_shape = _output_shape(self.model)
        optimizer = materialize(variant.optimizer)
        if isinstance(optimizer, str):
            optimizer = keras.optimizers.get(optimizer)
        self.model.compile(
            optimizer=optimizer,
            loss=materialize(variant.loss),
            metrics=materialize(list(variant.metrics)),
            jit_compile=False,
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self.fresh_optimizer = [v.numpy() for v in self.model.optimizer.variables]
        self.train = self._trace()

    def _trace(self) -> Any:
        model, batch = self.model, self.probe.batch

        @tf.function(jit_compile=False, reduce_retracing=True)
        def train(x: Any, y: Any, steps: Any) -> None:
            count = tf.shape(x)[0]
            for step in tf.range(steps):
                start = (step * batch) % count
                model.train_step((x[start : start + batch], y[start : start + batch]))

        return train

    def reset(self, seed: int) -> None:
        self.model.set_weights(_built(self.plan, seed).get_weights())
        for variable, value in zip(
            self.model.optimizer.variables, self.fresh_optimizer, strict=True
        ):
            variable.assign(value)
        self.model.reset_metrics()

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        predicted = self.model(x, training=False)
        return _finite(self.model.compute_loss(x=x, y=y, y_pred=predicted, training=False))

    def measure(
        self,
        x: np.ndarray,
        y: np.ndarray,
        held: tuple[np.ndarray, np.ndarray],
        initial: float,
        other: np.ndarray,
    ) -> tuple[tuple[str, float], ...]:
        probe, variant = self.probe, self.variant
        categorical = probe.targets.encoding in ("onehot", "integer")
        outputs = np.asarray(self.model(x, training=False), dtype="float64")
        p = _read(variant.reading, outputs, categorical)
        found: dict[str, float] = {}
        for measure in probe.measures:
            if measure == "loss":
                found[measure] = self.loss(x, y)
            elif measure == "initial_loss":
                found[measure] = initial
            elif measure == "heldout_loss":
                found[measure] = self.loss(*held)
            elif measure == "other_input_loss":
                found[measure] = self.loss(other, held[1])
            elif measure in ("mse", "mae"):
                error = outputs - y.reshape(outputs.shape)
                found[measure] = _finite(error**2 if measure == "mse" else np.abs(error))
            elif measure == "pushed_mse":
                found[measure] = _finite((_pushed(outputs, y) - y.reshape(outputs.shape)) ** 2)
            elif measure in ("accuracy", "crossentropy") and probe.targets.encoding == "continuous":
                continue  # class measures: not for continuous targets
            elif measure == "accuracy":
                found[measure] = _accuracy(probe.targets, y, p)
            elif measure == "crossentropy":
                found[measure] = _finite(_crossentropy(probe.targets, y, p))
            elif measure == "row_sum":
                found[measure] = _finite(np.abs(p.sum(axis=-1) - 1.0))
            elif measure == "keras_metric":
                for index, metric in enumerate(self.resolved()):
                    found[f"{measure}/{index}"] = _computed(metric, y, outputs)
            elif measure == "pushed_metric":
                for index, metric in enumerate(self.resolved()):
                    found[f"{measure}/{index}"] = _computed(metric, y, _pushed(outputs, y))
            elif measure == "legacy_metric":
                found[measure] = _legacy_accuracy(variant.legacy_metric, y, p)
        return tuple(found.items())

    def resolved(self) -> list[Any]:
        compiled = getattr(self.model, "_compile_metrics", None)
        return list(compiled.metrics) if compiled is not None and compiled.built else []


def _computed(metric: Any, y: np.ndarray, outputs: np.ndarray) -> float:
    """A resolved Keras metric's value on these outputs."""
    metric.reset_state()
    metric.update_state(y, outputs.astype("float32"))
    return _finite(metric.result())


def _data(probe: TrainProbe, first: _Run, seed: int) -> tuple[np.ndarray, ...]:
    """Training and held-out samples, and their targets, from one teacher. An output with
    positions (a feature map) gets its targets from a teacher of the model's own
    architecture at another seed: a function of the whole input, the default teacher, is
    out of reach of local layers whatever the fault."""
    rng = np.random.default_rng(seed)
    count, inputs, shape = probe.samples, first.inputs, first.output_shape
    x = synthetic.inputs(inputs, 2 * count, rng)
    scores = None
    if len(shape) > 1:
        teacher = _built(first.plan, _TEACHER_SEED + seed)
        seen = x / 255.0 if inputs.kind == "pixels" else x
        scores = synthetic.standardised(np.asarray(teacher(seen, training=False), "float64"))
    y = synthetic.targets(probe.targets, x, inputs, shape, seed, scores)
    return x[:count], y[:count], x[count:], y[count:]


def run_train_probe(probe: TrainProbe) -> TrainOutcome:
    """The probe's numbers; when the whole model cannot be trained (Keras fails on it, or it
    is too large for the budget), its fallback's, saying why."""
    record = Recorder()
    outcome = record.run("train", lambda: _train(probe))
    if outcome is None:
        outcome = TrainOutcome(error=record.failed)
    failed = outcome.error
    if failed is None or probe.fallback is None:
        return outcome
    alone = run_train_probe(probe.fallback)
    why = failed.message if failed.category == "TooLarge" else f"Keras raised {failed.text()}"
    return replace(alone, alone=alone.alone or why)


def _train(probe: TrainProbe) -> TrainOutcome:
    """Every variant trained once per seed. A variant Keras refuses (an optimizer it
    rejects) is recorded as failed, and the others are still measured."""
    runs: list[_Run | None] = []
    failures: list[tuple[int, Event]] = []
    for index, variant in enumerate(probe.variants):
        record = Recorder()
        runs.append(record.run("build", lambda v=variant: _Run(v, probe)))
        if record.failed is not None:
            failures.append((index, record.failed))
    built = [run for run in runs if run is not None]
    if not built:
        return TrainOutcome(error=failures[0][1])
    cost = max(multiply_adds(run.model) for run in built)
    work = 3 * cost * probe.batch * probe.steps * len(probe.seeds) * len(built)
    if work > probe.max_work:
        raise TooLarge(
            f"the whole model is too large to train {len(built)} x {len(probe.seeds)} times "
            f"{probe.steps} steps within the budget (about {work:.1g} multiply-adds, "
            f"{probe.max_work:.1g} allowed)"
        )
    first = built[0]
    values: list[list[tuple[tuple[str, float], ...]]] = [[] for _ in runs]
    for seed in probe.seeds:
        x, y, held_x, held_y = _data(probe, first, seed)
        for index, run in enumerate(runs):
            if run is None:
                continue
            scale, shift = run.variant.input_scale, run.variant.input_shift
            seen_x, seen_held = (x * scale + shift, held_x * scale + shift)
            if (scale, shift) == (1, 0):
                seen_x, seen_held = x, held_x
            other_scale, other_shift = run.variant.other_input
            other = held_x * other_scale + other_shift
            run.reset(seed)
            keras.utils.set_random_seed(seed)  # dropout masks
            initial = run.loss(seen_x, y) if "initial_loss" in probe.measures else math.nan
            run.train(tf.constant(seen_x), tf.constant(y), tf.constant(probe.steps))
            values[index].append(run.measure(seen_x, y, (seen_held, held_y), initial, other))
    metrics = tuple(
        tuple(type(m).__name__ for m in run.resolved()) if run is not None else () for run in runs
    )
    return TrainOutcome(
        tuple(tuple(v) for v in values),
        None,
        metrics,
        inputs=first.inputs.shape,
        stand_in=first.stand_in,
        failures=tuple(failures),
    )


# ----------------------------------------------------------------------------- analytic
def run_affine_probe(probe: AffineProbe) -> AffineOutcome:
    record = Recorder()
    found = record.run("probe", lambda: _affine(probe))
    if found is None:
        return AffineOutcome(math.nan, 0, (0, 0), record.failed)
    return found


def _affine(probe: AffineProbe) -> AffineOutcome:
    width, given = probe.width, True
    if not width:
        width, given = _received_width(probe)
    model = _built(probe.graph, 0)

    def f(x: np.ndarray) -> np.ndarray:
        out = np.asarray(model(x.astype("float32"), training=False), dtype="float64")
        return out.reshape(len(x), -1)

    bias = f(np.zeros((1, width)))[0]
    weights = f(np.eye(width)) - bias  # row i: the image of the i-th unit vector
    x = np.random.default_rng(0).standard_normal((64, width))
    actual = f(x)
    deviation = np.max(np.abs(actual - (x @ weights + bias))) / (np.max(np.abs(actual)) + 1e-12)
    rank = int(np.linalg.matrix_rank(weights, tol=1e-5 * max(1.0, float(np.abs(weights).max()))))
    shape = (int(weights.shape[0]), int(weights.shape[1]))
    return AffineOutcome(float(deviation), rank, shape, given=given)


def _received_width(probe: AffineProbe) -> tuple[int, bool]:
    """The last dimension the whole model gives the chain's first layer, and whether it is
    the model's own (False: 16 features stand in for an input shape nobody declared)."""
    if probe.model is None:
        return HEAD_FEATURES, False
    try:
        plan, prepended = effective(probe.model, probe.stand_in)
    except NoInputShape:
        return HEAD_FEATURES, False
    keras.utils.set_random_seed(0)
    objects = build_layers(plan)
    connect(plan, objects)
    index = next(i for i, layer in enumerate(plan.layers) if layer.position == probe.first)
    return int(objects[index].input.shape[-1]), not prepended


def run_range_probe(probe: RangeProbe) -> RangeOutcome:
    record = Recorder()
    found = record.run("probe", lambda: _range(probe))
    if found is None:
        nan = math.nan
        return RangeOutcome(nan, nan, nan, nan, nan, nan, nan, record.failed)
    return found


def _extremes(width: int) -> np.ndarray:
    """Pre-activations at the extremes: each unit far above or far below the others, all
    far above, all far below, all zero (a softmax's extremes need the others far away)."""
    rows = np.zeros((2 * width + 3, width), dtype="float32")
    for unit in range(width):
        rows[unit] = -_FAR
        rows[unit, unit] = _FAR
        rows[width + unit] = _FAR
        rows[width + unit, unit] = -_FAR
    rows[2 * width] = _FAR
    rows[2 * width + 1] = -_FAR
    return rows


def _attained(values: Any) -> tuple[float, float]:
    found = np.asarray(values, dtype="float64")
    return float(found.min()), float(found.max())


def run_squash_probe(probe: SquashProbe) -> SquashOutcome:
    record = Recorder()
    found = record.run("probe", lambda: _squash(probe))
    if found is None:
        return SquashOutcome(math.nan, math.nan, math.nan, math.nan, record.failed)
    return found


def _squash(probe: SquashProbe) -> SquashOutcome:
    inner = keras.activations.get(probe.inner)
    outer = keras.activations.get(probe.outer)
    rows = _extremes(max(probe.units, 1))
    low, high = _attained(outer(inner(rows)))
    alone_low, alone_high = _attained(outer(rows))
    return SquashOutcome(low, high, alone_low, alone_high)


def _range(probe: RangeProbe) -> RangeOutcome:
    activation = keras.activations.get(probe.activation)
    width = max(probe.width, 1)
    low, high = _attained(activation(_extremes(width)))
    plan = InputPlan((8,))
    rng = np.random.default_rng(0)
    x = synthetic.inputs(plan, probe.samples, rng)
    y = synthetic.targets(probe.targets, x, plan, (width,), 0).astype("float64")
    loss = keras.losses.get(materialize(probe.loss))
    nearest = np.clip(y, low, high)
    constant = np.full_like(y, y.mean())
    return RangeOutcome(
        low,
        high,
        float(np.mean((y < low) | (y > high))),
        _finite(loss(y, nearest)),
        _finite(loss(y, constant)),
        float(y.min()),
        float(y.max()),
    )
