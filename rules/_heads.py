"""Pairs each model output with the loss and metrics compiled for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import LossSpec, MetricSpec, ModelSpec, OutputSpec


@dataclass(frozen=True)
class Head:
    index: int
    output: OutputSpec
    loss: LossSpec | None
    metrics: tuple[MetricSpec, ...]


def heads(model: ModelSpec) -> Iterator[Head]:
    compile_spec = model.compile
    for index, output in enumerate(model.outputs):
        if compile_spec is None:
            yield Head(index, output, None, ())
            continue
        loss = compile_spec.loss_for(index, output)
        metrics = tuple(compile_spec.metrics_for(index, output))
        yield Head(index, output, loss, metrics)
