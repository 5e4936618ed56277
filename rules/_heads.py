"""Pairs each model output with the loss and metrics compiled for it, and the labels it is
trained on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import (
    UNKNOWN,
    CompileSpec,
    DataInfo,
    Flavour,
    Known,
    LossSpec,
    MetricSpec,
    ModelSpec,
    OutputSpec,
)


@dataclass(frozen=True)
class Head:
    index: int
    output: OutputSpec
    loss: LossSpec | None
    metrics: tuple[MetricSpec, ...]
    compile: CompileSpec | None = None


def heads_of(
    model: ModelSpec, compile_spec: CompileSpec | None, flavour: Flavour | None = None
) -> Iterator[Head]:
    """Each output with what ``compile_spec`` gives it (nothing when it is None)."""
    count = len(model.outputs)
    for index, output in enumerate(model.outputs):
        if compile_spec is None:
            yield Head(index, output, None, ())
            continue
        loss = compile_spec.loss_for(index, output)
        metrics = tuple(compile_spec.metrics_for(index, output, flavour, count))
        yield Head(index, output, loss, metrics, compile_spec)


def heads(model: ModelSpec, flavour: Flavour | None = None) -> Iterator[Head]:
    """Each output with each compile the rules judge (program order: the compiles in effect
    where the model is trained or evaluated); each output once, bare, when there is none."""
    judged = model.judged_compiles
    for compile_spec in judged or (None,):
        yield from heads_of(model, compile_spec, flavour)


# Label encodings that say the targets are classes (Keras then picks a class accuracy).
CLASS_ENCODINGS = frozenset(
    {"onehot", "multihot", "integer", "binary", "plus_minus_one", "doubled_binary"}
)


def labels_under(model: ModelSpec, compile_spec: CompileSpec) -> Iterator[DataInfo]:
    """The labels of every training or evaluation run that ``compile_spec`` decidedly
    governs (validation labels included)."""
    for run in model.runs:
        if run.kind == "predict" or len(run.compiles) != 1 or run.compiles[0] is not compile_spec:
            continue
        yield run.y
        yield run.validation_y


def is_class_target(labels: DataInfo) -> bool:
    return isinstance(labels.encoding, Known) and labels.encoding.value in CLASS_ENCODINGS


def is_continuous_target(labels: DataInfo) -> bool:
    """Targets shown to be continuous: random reals, a regression data set, or standardised
    (nobody standardises class ids)."""
    if labels.encoding == Known("continuous"):
        return True
    return labels.encoding is UNKNOWN and labels.scaled in (
        Known("standardized"),
        Known("centered"),
    )
