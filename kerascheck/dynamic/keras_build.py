"""Rebuild a planned model in real Keras, run it on random data, compile it, train a step.

Runs in the worker process only: this is the one module (with ``worker``) that imports
Keras. Every step goes through a ``Recorder``, so Keras's warnings and exceptions are kept
as events and a failing step stops the rebuild instead of the worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import keras
import numpy as np

from kerascheck.dynamic.capture import Recorder
from kerascheck.dynamic.jobs import (
    CompilePlan,
    Construct,
    GraphPlan,
    LabelPlan,
    LayerPlan,
    ModelOutcome,
    ModelProbe,
    OutputStats,
    Rebuild,
    Reference,
    Stage,
    TrainStep,
)

SAMPLES = 16  # random inputs per forward pass; also the train batch
SEED = 0
# 1.0 up to float32 rounding: TensorFlow's softmax over one unit gives 0.99999994 or 1.0
# depending on the kernel (1 ulp below 1.0 is 6e-8).
_ONE = 1e-6


class _Stopped(Exception):
    """A build step failed; the recorder holds Keras's exception."""


Step = Callable[..., Any]


def _plainly(stage: Stage, call: Callable[[], Any], where: int | None = None) -> Any:
    return call()


def build_layers(plan: GraphPlan, step: Step = _plainly) -> list[Any]:
    """The planned layers, made. ``step(stage, call, layer index)`` runs each step (the
    rebuild records Keras's warnings and exceptions through it)."""
    return [
        step("construct", lambda c=layer.construct: materialize(c), index)
        for index, layer in enumerate(plan.layers)
    ]


def connect(plan: GraphPlan, objects: list[Any], step: Step = _plainly) -> Any:
    """The model the plan makes of these layers."""
    if plan.kind == "sequential":
        model = keras.Sequential()
        for index, layer in enumerate(objects):
            step("build", lambda x=layer: model.add(x), index)
        return model
    tensors: list[Any] = []
    for index, (layer, planned) in enumerate(zip(objects, plan.layers, strict=True)):
        if index == 0:
            # keras.Input(...) gives a tensor; an InputLayer(...) object holds one.
            is_layer = isinstance(layer, keras.layers.InputLayer)
            tensors.append(layer.output if is_layer else layer)
            continue
        sources = [tensors[i] for i in planned.inputs]
        given = sources[0] if len(sources) == 1 else sources
        tensors.append(step("build", lambda x=layer, g=given: x(g), index))
    outputs = [tensors[i] for i in plan.outputs]
    given = outputs[0] if len(outputs) == 1 else outputs
    return step("build", lambda: keras.Model(tensors[0], given))


def build_graph(plan: GraphPlan) -> Any:
    return connect(plan, build_layers(plan))


def resolve(qualname: str) -> Any:
    """A Keras object by its dotted name; only names under ``keras.``."""
    head, _, rest = qualname.partition(".")
    if head != "keras" or not rest:
        raise ValueError(f"not a Keras name: {qualname}")
    found: Any = keras
    for part in rest.split("."):
        found = getattr(found, part)
    return found


def materialize(value: Any) -> Any:
    """Plain request data as Keras objects: calls made, references looked up."""
    if isinstance(value, Construct):
        args = [materialize(a) for a in value.args]
        kwargs = {k: materialize(v) for k, v in value.kwargs}
        return resolve(value.qualname)(*args, **kwargs)
    if isinstance(value, Reference):
        return resolve(value.qualname)
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value  # a literal, or an Opaque placeholder for Keras to reject by name


def _shape(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in shape)


class _Rebuilder:
    def __init__(self, plan: GraphPlan) -> None:
        self.plan = plan
        self.record = Recorder()
        self.rng = np.random.default_rng(SEED)
        self.input_shape: tuple[int | None, ...] | None = None
        self.layer_inputs: list[tuple[int | None, ...] | None] = [None] * len(plan.layers)
        self.layer_outputs: list[tuple[int | None, ...] | None] = [None] * len(plan.layers)
        self.output_shapes: tuple[tuple[int | None, ...], ...] = ()
        self.outputs: list[OutputStats] = []
        self.train: TrainStep | None = None
        self.extra: list[TrainStep] = []

    def result(self, stopped: str | None) -> Rebuild:
        return Rebuild(
            self.input_shape,
            tuple(self.layer_inputs),
            self.output_shapes,
            tuple(self.outputs),
            self.train,
            tuple(self.extra),
            tuple(self.record.events),
            stopped,
            SAMPLES,
            tuple(self.layer_outputs),
        )

    def model(self) -> Any:
        def step(stage: Stage, call: Callable[[], Any], where: int | None = None) -> Any:
            result = self.record.run(stage, call, where)
            if self.record.failed is not None:
                raise _Stopped
            return result

        try:
            objects = build_layers(self.plan, step)
            model = connect(self.plan, objects, step)
        except _Stopped:
            return None
        for index, layer in enumerate(objects):
            # An input tensor has no input, nor has a layer Keras did not connect; a layer
            # called on several inputs (a merge) has a list of them.
            with contextlib.suppress(AttributeError, ValueError, TypeError):
                self.layer_inputs[index] = _shape(layer.input.shape)
            with contextlib.suppress(AttributeError, ValueError, TypeError):
                self.layer_outputs[index] = _shape(layer.output.shape)
        return model

    def forward(self, model: Any) -> Any | str:
        """The random inputs it ran on, why it could not run them, or None when Keras failed."""
        try:
            shape = _shape(model.input_shape)
        except (AttributeError, ValueError):
            return NO_INPUT_SHAPE
        self.input_shape = shape
        self.output_shapes = tuple(_shape(t.shape) for t in model.outputs)
        if any(d is None for d in shape[1:]):
            return f"the input shape {shape} {_UNFIXED}"
        dtype = str(model.inputs[0].dtype)
        size = (SAMPLES, *shape[1:])
        if "int" in dtype:
            x = self.rng.integers(0, 2, size=size).astype(dtype)
        elif "float" in dtype:
            x = self.rng.standard_normal(size).astype(dtype)
        else:
            return f"the input is of type {dtype}, not numbers"
        produced = self.record.run("forward", lambda: model(x, training=False))
        if self.record.failed is not None:
            return None
        arrays = produced if isinstance(produced, (list, tuple)) else [produced]
        for tensor, array in zip(model.outputs, arrays, strict=True):
            values = np.asarray(array, dtype="float64")
            self.outputs.append(
                OutputStats(
                    _shape(tensor.shape),
                    float(np.min(values)),
                    float(np.max(values)),
                    bool(np.all(np.abs(values - 1.0) <= _ONE)),
                )
            )
        return x

    def compile(self, model: Any, plan: CompilePlan) -> bool:
        optimizer: Any = keras.optimizers.SGD()
        if plan.optimizer is not None:
            written = self.record.run("optimizer", lambda: _optimizer(plan.optimizer))
            if self.record.failed is None:
                optimizer = written
        self.record.run(
            "compile",
            lambda: model.compile(
                optimizer=optimizer,
                loss=materialize(plan.loss),
                metrics=materialize(list(plan.metrics)),
                run_eagerly=True,  # one step: tracing a graph would cost more than it saves
            ),
        )
        return self.record.failed is None

    def step(self, model: Any, x: Any, labels: LabelPlan, record: Recorder) -> TrainStep:
        shape = self.outputs[0].shape
        y = make_labels(labels, shape, self.rng)
        result = record.run("train", lambda: model.train_on_batch(x, y, return_dict=True), None)
        loss = None if result is None else float(result["loss"])
        return TrainStep(labels, tuple(y.shape), loss, record.failed, _metric_classes(model))


def _optimizer(value: Any) -> Any:
    built = materialize(value)
    return keras.optimizers.get(built) if isinstance(built, str) else built


def _metric_classes(model: Any) -> tuple[str, ...]:
    # Keras keeps the metrics it resolved from compile(metrics=...) in this object, in order.
    compiled = getattr(model, "_compile_metrics", None)
    if compiled is None or not getattr(compiled, "built", False):
        return ()
    return tuple(type(m).__name__ for m in compiled.metrics)


def make_labels(plan: LabelPlan, shape: tuple[int | None, ...], rng: Any) -> Any:
    """Labels for ``SAMPLES`` rows shaped after the output (batch dimension first)."""
    last = shape[-1] or 1
    rows = (SAMPLES, *(d or 1 for d in shape[1:-1]))
    classes = plan.classes or last
    if plan.data and plan.encoding == "onehot" and classes < 2:
        classes = 2  # one-hot labels of an unknown count: at least two classes
    # Evenly spread class ids: the first and the last class always occur.
    ids = np.linspace(0, classes - 1, num=int(np.prod(rows))).round().astype("int64").reshape(rows)
    if plan.encoding == "onehot":
        return np.eye(classes, dtype="float32")[ids]
    if plan.encoding == "integer":
        return ids
    # 0/1 and -1/+1 labels: ``classes`` columns (1: one label per sample, as data gives
    # them), else one per output unit (what a binary loss takes).
    binary = rng.integers(0, 2, size=(*rows, plan.classes or last)).astype("float32")
    if plan.encoding == "binary":
        return binary
    if plan.encoding == "plus_minus_one":
        return binary * 2 - 1
    return rng.uniform(0, 1, size=(*rows, last)).astype("float32")


NO_INPUT_SHAPE = "the model declares no input shape (Keras sets it at fit())"
_UNFIXED = "has dimensions only the data fixes"


def rebuild(
    plan: GraphPlan,
    compile_plan: CompilePlan | None,
    extra: tuple[LabelPlan, ...],
    stand_in: Construct | None = None,
) -> Rebuild:
    """The model rebuilt, run, compiled and trained a step; a Sequential model that declares
    no (full) input shape is given ``stand_in`` as its first layer, and the answer is then
    reported in the plan's own layer indices, marked ``stand_in``."""
    found = _rebuild(plan, compile_plan, extra)
    stopped = found.stopped or ""
    unshaped = stopped == NO_INPUT_SHAPE or _UNFIXED in stopped
    if stand_in is None or plan.kind != "sequential" or not unshaped:
        return found
    given = _rebuild(
        replace(plan, layers=(LayerPlan(stand_in, -1), *plan.layers)), compile_plan, extra
    )
    events = tuple(
        replace(e, where=None if e.where in (None, 0) else e.where - 1) for e in given.events
    )
    return replace(
        given,
        layer_inputs=given.layer_inputs[1:],
        layer_outputs=given.layer_outputs[1:],
        events=events,
        stand_in=True,
    )


def _rebuild(
    plan: GraphPlan, compile_plan: CompilePlan | None, extra: tuple[LabelPlan, ...]
) -> Rebuild:
    keras.utils.set_random_seed(SEED)
    # Fresh layer names per model; the garbage collection it would also run costs 0.5 s.
    keras.backend.clear_session(free_memory=False)
    builder = _Rebuilder(plan)
    model = builder.model()
    if model is None:
        return builder.result("Keras could not build it")
    x = builder.forward(model)
    if isinstance(x, str):
        return builder.result(x)
    if x is None:
        return builder.result("Keras could not run it")
    if compile_plan is None:
        return builder.result(None)
    if not builder.compile(model, compile_plan):
        return builder.result("Keras could not compile it")
    if compile_plan.labels is None:
        return builder.result("the loss is not one the check knows labels for")
    builder.train = builder.step(model, x, compile_plan.labels, builder.record)
    for labels in extra:
        builder.extra.append(builder.step(model, x, labels, Recorder()))
    return builder.result(None)


def run_model_probe(probe: ModelProbe) -> ModelOutcome:
    model = None
    if probe.graph is not None:
        model = rebuild(probe.graph, probe.compile, probe.extra_labels, probe.stand_in)
    head = None
    if probe.head is not None and (model is None or not model.outputs):
        head_compile = replace(probe.compile, metrics=()) if probe.compile else None
        head = rebuild(probe.head, head_compile, ())
    return ModelOutcome(model, head)
