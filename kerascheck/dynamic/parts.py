"""The parts of a model an experiment can test, and where a finding about each one points.

An experiment lists every part of a model it applies to (each head, each Dense layer, each
training run...). A finding is matched to the part whose span it points at; a model without
a finding (a rule's valid example) can be tested part by part, to check that an experiment
confirms nothing there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from kerascheck.dynamic.owners import same
from kerascheck.dynamic.trials import passed_metrics
from kerascheck.ir import (
    ApplicationSpec,
    Count,
    DataInfo,
    Flavour,
    Known,
    LayerSpec,
    MetricSpec,
    ModelSpec,
    ModuleSpec,
    PartCall,
    RunSpec,
    Score,
    Span,
)
from kerascheck.rules._heads import Head, heads
from kerascheck.rules._vocabulary import embedding_ids


@dataclass(frozen=True)
class Part:
    """What an experiment tests: a head (output, loss, metrics of one compile), one of its
    metrics, a layer, or a training run and the labels it is given."""

    spans: tuple[Span | None, ...]
    head: Head | None = None
    metric: MetricSpec | None = None
    metric_index: int = -1  # in the compiled metrics list (dynamic.plan.compile_plan)
    layer: int = -1  # index in model.layers
    run: RunSpec | None = None
    labels: DataInfo | None = None
    name: tuple[str, str] | None = None  # (role, name) of a compiled loss, metric, optimizer
    pair: tuple[str | None, str | None] = (None, None)  # two activations, one after the other
    counts: tuple[Count, Count] | None = None  # an Embedding's rows and the ids reaching it
    score: Score | None = None  # predictions compared with labels
    backbone: tuple[int, PartCall] | None = None  # a sub-model (index in model.parts) call
    application: ApplicationSpec | None = None  # a keras.applications network it uses

    def points_at(self, span: Span) -> bool:
        return any(same(span, mine) for mine in self.spans)


def output_heads(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each head, found by the span of its output activation (or of any activation on the
    way to it) or of its loss."""
    for head in heads(model, flavour):
        loss_span = head.loss.span if head.loss is not None else None
        applied = tuple(a.span for a in head.output.activations)
        yield Part((head.output.activation_span, loss_span, *applied), head=head)


def activation_pairs(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each activation applied after another on the way to an output (KC113 points at the
    second), with that output's head."""
    for head in heads(model, flavour):
        applied = head.output.activations
        for first, second in pairwise(applied):
            pair = (_known(first.activation), _known(second.activation))
            yield Part((second.span,), head=head, pair=pair)


def _known(activation: object) -> str | None:
    return activation.value if isinstance(activation, Known) else None


def metrics(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each metric of each head (the index is the metric's place in what the dynamic check
    compiles: metrics it can pass to Keras by name, in order)."""
    for head in heads(model, flavour):
        for index, (metric, _) in enumerate(passed_metrics(head)):
            yield Part((metric.span,), head=head, metric=metric, metric_index=index)


def layers(
    model: ModelSpec, flavour: Flavour, kinds: frozenset[str] = frozenset()
) -> Iterator[Part]:
    """Each layer (of these classes, when given), found by its span or an argument's."""
    for index, layer in enumerate(model.layers):
        if kinds and layer.class_name not in kinds:
            continue
        yield Part((layer.span, *_argument_spans(layer)), layer=index)


def _argument_spans(layer: LayerSpec) -> tuple[Span, ...]:
    if layer.call is None:
        return ()
    return tuple(s for arg in layer.call.args for s in (arg.span, arg.keyword_span) if s)


def training_labels(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each training run's labels and validation labels, found by where they are passed."""
    for run in model.fits:
        y = run.call.argument("y", 1)
        x = run.call.argument("x", 0)
        # Without y, the labels come with x (a generator or a dataset yields both).
        spans = (y.span,) if y is not None else (run.span, x.span if x is not None else None)
        yield Part(spans, run=run, labels=run.y)
        if run.validation_y.span is not None:
            yield Part((run.validation_y.span,), run=run, labels=run.validation_y)


def training_runs(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each training run, found by its call, its x argument or its validation arguments."""
    for run in model.fits:
        spans: list[Span | None] = [run.span, run.call.span]
        spans += [s for arg in run.call.args for s in (arg.span, arg.keyword_span)]
        yield Part(tuple(spans), run=run, labels=run.y)


def compile_names(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each loss, metric and optimizer named in a judged compile, found by its span."""
    for head in heads(model, flavour):
        spec = head.compile
        if spec is None:
            continue
        for _, loss in spec.losses:
            yield Part((loss.span,), head=head, name=("loss", loss.written))
        for _, metric in spec.metrics:
            yield Part((metric.span,), head=head, name=("metric", metric.written))
        optimizer = spec.optimizer
        if optimizer is not None and isinstance(optimizer.name, Known):
            yield Part((optimizer.span,), head=head, name=("optimizer", optimizer.name.value))


def compiles(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each judged compile's head, found by the compile call or any of its arguments (the
    optimizer and its learning rate)."""
    for head in heads(model, flavour):
        spec = head.compile
        if spec is None:
            continue
        spans: list[Span | None] = [spec.span, spec.call.span]
        spans += [arg.span for arg in spec.call.args]
        optimizer = spec.optimizer
        if optimizer is not None:
            spans.append(optimizer.span)
            if optimizer.call is not None:
                spans += [a.span for a in optimizer.call.args]
                spans += [a.keyword_span for a in optimizer.call.args]
        yield Part(tuple(spans), head=head)


def embeddings(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each Embedding with known rows and a bound of the ids reaching it (the first bound
    found), by its span or its arguments'."""
    seen: set[int] = set()
    for layer, rows, ids in embedding_ids(model):
        index = next(i for i, known in enumerate(model.layers) if known is layer)
        if index not in seen:
            seen.add(index)
            yield Part((layer.span, *_argument_spans(layer)), layer=index, counts=(rows, ids))


def all_runs(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each run of any kind (training, evaluation, prediction), by its call, its arguments
    or the data it is given."""
    for run in model.runs:
        spans: list[Span | None] = [run.span, run.call.span, run.x.span, run.validation_x.span]
        spans += [arg.span for arg in run.call.args]
        for info in (run.x, run.validation_x):  # where the data was split, resampled, scaled
            spans += [step.span for step in info.preprocessing]
            if info.pipeline is not None:
                spans.append(info.pipeline.resplit)
            lineage = info.lineage
            while lineage is not None:
                spans.append(lineage.span)
                lineage = lineage.parent
        yield Part(tuple(spans), run=run, labels=run.y)


def scores(module: ModuleSpec) -> Iterator[Part]:
    """Each comparison of predictions with labels, by its span."""
    for score in module.scores:
        yield Part((score.span,), score=score)


def backbone_calls(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each call of each sub-model of the model, by its span."""
    for index, part in enumerate(model.parts):
        for use in part.calls:
            yield Part((use.span,), backbone=(index, use))


def backbone_inputs(model: ModelSpec, flavour: Flavour) -> Iterator[Part]:
    """Each sub-model call, found by the call, the operations in front of it, or the data a
    run feeds the model."""
    runs: list[Span | None] = []
    for run in model.runs:
        runs += [run.span, run.call.span, run.x.span, *(arg.span for arg in run.call.args)]
    for part in model.parts:
        for use in part.calls:
            ops = tuple(op.span for op in use.input_ops or ())
            yield Part((use.span, *ops, *runs), application=part.application)
    if model.application is not None:  # the model is the network itself
        yield Part(tuple(runs), application=model.application)
