"""What the experiments that train share: synthetic targets from what the IR knows, the
model to train (whole, with a stand-in input, or its output layer alone), what it is trained
with, train probes, and the judge that turns two variants' numbers into a verdict.

The experiments themselves: ``output_trials`` (outputs, losses, metrics) and ``model_trials``
(stacked linear layers, inputs, learning rate, validation, dropout). Each takes the part of a
model a finding points at (``parts``) and returns a judge, or None when the part is not one
it tests (a direct run on a model without a finding). What an experiment needs and the IR
does not say raises ``Unbuildable`` with what is missing: the verdict is then unverifiable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from kerascheck.dynamic.cases import (
    Context,
    Judge,
    ModelCase,
    Trained,
    TrainView,
    Verdict,
    unverifiable,
)
from kerascheck.dynamic.compare import Measure, Outcome, Series
from kerascheck.dynamic.jobs import (
    Construct,
    Event,
    GraphPlan,
    MeasureName,
    Plain,
    TargetPlan,
    TrainProbe,
    Variant,
)
from kerascheck.dynamic.plan import (
    Unbuildable,
    bare_head_plan,
    construct,
    loss_value,
    optimizer_value,
)
from kerascheck.ir import (
    CompileSpec,
    DataInfo,
    Known,
    LossSpec,
    MetricSpec,
    ModelSpec,
    OutputSpec,
)
from kerascheck.knowledge import load
from kerascheck.rules._heads import Head, heads_of, labels_under

# Every experiment that is not about the optimizer trains with this one, the same for the
# model as written and for its fix: the comparison is about the fault alone.
OPTIMIZER = Construct("keras.optimizers.Adam", (), (("learning_rate", 0.01),))
SEEDS = (0, 1, 2)
STEPS = 200
# Multiply-adds a probe may spend with the default budget (--dynamic-timeout 20): a few
# seconds on one core (measured: KC402's 784-512-10 example, about 5e10, trains its 2 x 3
# runs of 200 steps in about 3 s on an idle core of the 2-CPU reference machine). An
# estimate from the built model (training.multiply_adds), so the decision does not depend
# on how busy the machine is.
WORK = 6e10
DEFAULT_BUDGET = 20.0

BINARY_LOSSES = frozenset(
    {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"}
)
ONEHOT_LOSSES = frozenset(
    {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"}
)
_CLASS_ENCODINGS = frozenset({"onehot", "integer", "binary", "multihot", "plus_minus_one"})
CLASS_OUTPUTS = frozenset({"sigmoid", "softmax"})


# ----------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Targets:
    plan: TargetPlan
    text: str  # "synthetic one-hot labels over 10 classes"

    @property
    def classes(self) -> bool:
        return self.plan.encoding != "continuous"


STANDARDISED = "synthetic standardised targets (mean 0, std 1)"


def loss_name(loss: LossSpec | None) -> str | None:
    return loss.name.value if loss is not None and isinstance(loss.name, Known) else None


def units_of(output: OutputSpec) -> int | None:
    return output.units.value if isinstance(output.units, Known) else None


def outputs_text(output: OutputSpec) -> str:
    units = units_of(output)
    return "1 output unit" if units == 1 else f"{units} output units"


def activation_of(output: OutputSpec) -> str | None:
    value = output.activation
    return value.value if isinstance(value, Known) else None


def informative(info: DataInfo) -> bool:
    facts = (info.encoding, info.scaled, info.dataset, info.value_range)
    return any(isinstance(v, Known) for v in facts)


def known_labels(model: ModelSpec, head: Head) -> DataInfo | None:
    """The first labels this head's compile governs of which the IR knows something."""
    if head.compile is None:
        return None
    return next((i for i in labels_under(model, head.compile) if informative(i)), None)


def continuous_targets(info: DataInfo) -> Targets | None:
    """Continuous targets in the range the IR knows, or None."""
    scaled = info.scaled.value if isinstance(info.scaled, Known) else None
    dataset = info.dataset.value if isinstance(info.dataset, Known) else None
    if isinstance(info.value_range, Known):
        low, high = (float(v) for v in info.value_range.value)
        if math.isinf(low) and math.isinf(high):  # normal random values
            return Targets(TargetPlan("continuous"), STANDARDISED)
        if math.isfinite(low) and math.isfinite(high):
            plan = TargetPlan("continuous", low=low, high=high)
            origin = f"`{dataset}`'s documented range" if dataset else "the range the code gives"
            return Targets(plan, f"synthetic targets in [{low:g}, {high:g}] ({origin})")
    if scaled in ("standardized", "centered"):
        return Targets(TargetPlan("continuous"), STANDARDISED)
    if scaled == "unit":
        return Targets(TargetPlan("continuous", low=0.0, high=1.0), "synthetic targets in [0, 1]")
    known = load().datasets.get(dataset) if dataset is not None else None
    if known is not None and known.target_range is not None and scaled is None:
        low, high = (float(v) for v in known.target_range)
        plan = TargetPlan("continuous", low=low, high=high)
        text = f"synthetic targets in [{low:g}, {high:g}] (`{dataset}`'s documented range)"
        return Targets(plan, text)
    return None


def unit_range(why: str) -> Targets:
    plan = TargetPlan("continuous", low=0.0, high=1.0)
    return Targets(plan, f"synthetic targets in [0, 1] ({why})")


def label_text(encoding: str, classes: int | None) -> str:
    over = f" over {classes} classes" if classes else ""
    return {
        "onehot": f"synthetic one-hot labels{over}",
        "integer": f"synthetic class ids{over}",
        "binary": "synthetic 0/1 labels",
        "multihot": f"synthetic multi-label targets{over.replace('classes', 'labels')}",
        "plus_minus_one": "synthetic -1/+1 labels",
    }[encoding]


def class_targets(info: DataInfo, units: int | None) -> Targets | None:
    encoding = info.encoding.value if isinstance(info.encoding, Known) else None
    if encoding not in _CLASS_ENCODINGS:
        return None
    classes = info.num_classes.value if isinstance(info.num_classes, Known) else None
    plan = TargetPlan(encoding, classes)  # type: ignore[arg-type]
    return Targets(plan, label_text(encoding, classes or units))  # type: ignore[arg-type]


def data_targets(info: DataInfo, units: int | None) -> Targets | None:
    return class_targets(info, units) or continuous_targets(info)


def loss_targets(name: str | None, units: int | None) -> Targets | None:
    """Labels of the kind a loss takes: its format, not a guess at the task."""
    if name in BINARY_LOSSES:
        return Targets(TargetPlan("binary"), "synthetic 0/1 labels")
    if name in ONEHOT_LOSSES:
        return Targets(TargetPlan("onehot"), label_text("onehot", units))
    if name == "sparse_categorical_crossentropy":
        return Targets(TargetPlan("integer"), label_text("integer", units))
    if name in load().regression_losses:
        return Targets(TargetPlan("continuous"), STANDARDISED)
    return None


def targets_for(info: DataInfo | None, name: str | None, units: int | None) -> Targets:
    """The targets the IR knows, else the kind the loss takes."""
    if info is not None:
        found = data_targets(info, units)
        binary_loss = name in BINARY_LOSSES or units == 1
        two_ids = found is not None and found.plan.encoding == "integer"
        if two_ids and binary_loss and found.plan.classes in (None, 2):  # type: ignore[union-attr]
            return Targets(TargetPlan("binary"), "synthetic 0/1 labels")  # ids 0/1 are 0/1 labels
        if found is not None:
            return found
        if info.encoding == Known("continuous"):
            return Targets(TargetPlan("continuous"), STANDARDISED)
    found = loss_targets(name, units)
    if found is None:
        raise Unbuildable("the labels are not known, nor what the loss takes")
    return found


# ----------------------------------------------------------------------------- what is trained
@dataclass(frozen=True)
class Subject:
    """The model an experiment trains as written (``alone``: its output layer alone, and why),
    and the same experiment on the output layer alone should the whole be too large."""

    graph: GraphPlan
    stand_in: Construct | None
    alone: str | None = None
    fallback: GraphPlan | None = None


def subject_of(case: ModelCase, output: Head | None = None) -> Subject:
    """The whole model (with its stand-in input); for an experiment about an output, that
    output's layer alone when the whole cannot be rebuilt or trained (a multi-output model,
    whose other outputs the experiment knows nothing of), or as a fallback."""
    given = case.stand_in[0] if case.stand_in is not None else None
    head = None
    if output is not None:
        try:
            head = bare_head_plan(case.model, output.index)
        except Unbuildable:
            head = None
    several = len(case.model.outputs) != 1
    if case.graph is not None and not several:
        return Subject(case.graph, given, None, head)
    if several and output is None:
        raise Unbuildable("multi-output models are not trained whole by the experiments")
    reason = (
        "a multi-output model" if several else case.graph_reason or "the model could not be rebuilt"
    )
    if head is not None:
        return Subject(head, None, reason)
    raise Unbuildable(reason)


def notes(case: ModelCase, subject: Subject, found: Trained) -> str:
    """What the evidence must add about the model trained: its output layer alone, or the
    input that stood in for an undeclared one."""
    outcome = found.outcome
    if subject.alone is not None:
        return f" (output layer rebuilt alone: {subject.alone})"
    if outcome.alone is not None:
        return f" (output layer rebuilt alone: {outcome.alone})"
    if outcome.stand_in and case.stand_in is not None:
        return f" ({case.stand_in[1]})"
    return ""


@dataclass(frozen=True)
class Training:
    """What a model is trained with: its loss (and canonical name), optimizer, and a note
    when the experiment supplies the loss (a model never compiled here)."""

    loss: Plain
    name: str | None
    optimizer: Plain | None
    note: str = ""


_IMPLIED = {  # labels' encoding -> the loss class that takes them, and its name
    "integer": ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"),
    "onehot": ("CategoricalCrossentropy", "categorical_crossentropy"),
    "binary": ("BinaryCrossentropy", "binary_crossentropy"),
}


def _implied_loss(model: ModelSpec, labels: DataInfo | None) -> Training:
    """For a model never compiled here (only experiments whose fault any loss shows: KC401,
    KC403, KC404): the loss its labels and output imply. Known class labels take their
    cross-entropy (from logits on a linear output); else a sigmoid output binary, a softmax
    categorical cross-entropy, anything else mean squared error."""
    output = model.outputs[0]
    activation = output.activation
    encoding = (
        labels.encoding.value if labels is not None and isinstance(labels.encoding, Known) else None
    )
    classes = (
        labels.num_classes.value
        if labels is not None and isinstance(labels.num_classes, Known)
        else None
    )
    if encoding == "integer" and (classes == 2 or units_of(output) == 1):
        encoding = "binary"
    if encoding not in _IMPLIED:
        encoding = {"sigmoid": "binary", "softmax": "onehot"}.get(str(activation_of(output)))
    if encoding in _IMPLIED:
        class_name, name = _IMPLIED[encoding]
        logits = activation == Known(None)
        loss: Plain = Construct(f"keras.losses.{class_name}", (), (("from_logits", logits),))
        written = f"{class_name}(from_logits={logits})"
    else:
        loss, name = "mean_squared_error", "mean_squared_error"
        written = f"'{name}'"
    note = f"not compiled here: trained with {written}, the loss its labels and output imply"
    return Training(loss, name, None, note)


def training_of(
    model: ModelSpec, spec: CompileSpec | None, labels: DataInfo | None = None
) -> Training:
    if len(model.outputs) != 1:
        raise Unbuildable("multi-output models are not trained by the experiments")
    if spec is None:
        return _implied_loss(model, labels)
    (head,) = heads_of(model, spec)
    if head.loss is None:
        raise Unbuildable("the loss is not known")
    return Training(loss_value(head.loss), loss_name(head.loss), optimizer_value(spec.optimizer))


def given_loss(loss: LossSpec | None) -> LossSpec:
    if loss is None:
        raise Unbuildable("the loss is not known")
    return loss


def metric_value(metric: MetricSpec) -> Plain | None:
    """What the experiments compile for a metric: its name, or the metric object rebuilt
    (``keras.metrics.BinaryAccuracy()``); None for user code."""
    if metric.literal:
        return metric.written
    if isinstance(metric.name, Known):
        return f"keras.metrics.{metric.written}"
    if metric.call is not None:
        try:
            return construct(metric.call)
        except Unbuildable:
            return None
    return None


def passed_metrics(head: Head) -> list[tuple[MetricSpec, Plain]]:
    """The head's metrics the experiments compile, in order, with their values."""
    values = ((m, metric_value(m)) for m in head.metrics)
    return [(m, v) for m, v in values if v is not None]


def as_written(subject: Subject, head: Head) -> Variant:
    """The model as written, compiled with its head's loss and metrics (so that one trained
    model serves every experiment about this head: the metrics change no gradient)."""
    metrics = tuple(value for _, value in passed_metrics(head))
    return variant("as written", subject.graph, loss_value(given_loss(head.loss)), metrics=metrics)


def variant(label: str, graph: GraphPlan, loss: Plain, **options: object) -> Variant:
    optimizer = options.pop("optimizer", OPTIMIZER)
    return Variant(label, graph, loss, optimizer, **options)  # type: ignore[arg-type]


def train_probe(
    ctx: Context,
    subject: Subject,
    variants: tuple[Variant, ...],
    targets: Targets,
    measures: tuple[MeasureName, ...],
    pixels: bool = False,
) -> TrainProbe:
    backup = None
    if subject.fallback is not None:
        alone = tuple(
            replace(v, graph=_same_change(v.graph, subject.graph, subject.fallback))
            for v in variants
        )
        backup = TrainProbe(
            alone, targets.plan, measures, seeds=SEEDS, steps=STEPS, max_work=_work(ctx)
        )
    return TrainProbe(
        variants,
        targets.plan,
        measures,
        stand_in=subject.stand_in,
        pixels=pixels,
        seeds=SEEDS,
        steps=STEPS,
        fallback=backup,
        max_work=_work(ctx),
    )


def _work(ctx: Context) -> float:
    """The multiply-adds a probe may spend: the default for the default budget, more for a
    larger --dynamic-timeout (never less: the examples' verdicts stay those of the default)."""
    return WORK * max(1.0, ctx.timeout / DEFAULT_BUDGET)


def _same_change(changed: GraphPlan, written: GraphPlan, alone: GraphPlan) -> GraphPlan:
    """The change a variant made to the whole model, made to the output layer alone: layers
    the variant changed (matched by IR position) change alike, and layers it added after the
    output are added too."""
    before = {x.position: x.construct for x in written.layers}
    constructs = {
        x.position: x.construct
        for x in changed.layers
        if x.position >= 0 and before.get(x.position) != x.construct
    }
    layers = tuple(
        replace(x, construct=constructs.get(x.position, x.construct)) for x in alone.layers
    )
    added = [x for x in changed.layers if x.position == -2]
    result = replace(alone, layers=layers)
    for layer in added:
        result = replace(result, layers=(*result.layers, replace(layer, inputs=())))
    return result


def trained(case: ModelCase, view: TrainView) -> Trained | str:
    found = case.trained(view)
    if isinstance(found, str):
        return found
    error = found.outcome.error
    if error is not None and error.category == "NoInputShape":
        return f"{error.message}, and no stand-in input applies to its first layer"
    if error is not None and error.category == "TooLarge":
        return f"{error.message} (a larger --dynamic-timeout allows more)"
    if error is not None:
        return f"the experiment could not train the model: {error.text()}"
    return found


def compared(
    case: ModelCase,
    subject: Subject,
    probe: TrainProbe,
    measure: Measure,
    key: str,
    setup: str,
    fix: str,
    shown: tuple[tuple[str, str], ...] = (),
) -> Judge:
    """Judge a probe of two variants (as written, fixed) on one measure."""
    view = case.ask_train(probe)

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        refused, fix_refused = found.failed(0), found.failed(1)
        if refused is not None or fix_refused is not None:
            return _refused(case, subject, found, refused, fix_refused, measure, key, setup, fix)
        outcome = Outcome(Series(found.series(0, key)), Series(found.series(1, key)), measure)
        extra = "".join(
            f"; {label} {Series(found.series(0, k)).text()} vs {Series(found.series(1, k)).text()}"
            for label, k in shown
        )
        evidence = (
            f"{setup}: {measure.name} {outcome.written.text()} as written vs "
            f"{outcome.fixed.text()} {fix}{extra}; {STEPS} steps, {len(SEEDS)} seeds: "
            f"{outcome.why()}{notes(case, subject, found)}"
        )
        return Verdict("confirmed" if outcome.worse else "refuted", evidence)

    return judge


def _refused(
    case: ModelCase,
    subject: Subject,
    found: Trained,
    refused: Event | None,
    fix_refused: Event | None,
    measure: Measure,
    key: str,
    setup: str,
    fix: str,
) -> Verdict:
    """Keras refused the model as written (it cannot train at all) or the fix."""
    if refused is None or fix_refused is not None:
        event = fix_refused or refused
        assert event is not None
        return unverifiable(f"Keras refused the experiment's model: {event.text()}")
    fixed_series = Series(found.series(1, key))
    return Verdict(
        "confirmed",
        f"{setup}: as written, Keras raised {refused.text()}, so nothing trains; "
        f"{fix}, {measure.name} {fixed_series.text()}; {STEPS} steps, {len(SEEDS)} seeds"
        f"{notes(case, subject, found)}",
    )
