"""Pairs each model output with the loss and metrics compiled for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import CompileSpec, Flavour, LossSpec, MetricSpec, ModelSpec, OutputSpec


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
