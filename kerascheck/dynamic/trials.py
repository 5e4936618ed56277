"""Experiments for faults Keras never signals: the model as written against the model as the
rule's fix would make it, trained on the same synthetic data from the same seeded start; or
an exact analytic check where one says it (an affine map's rank, the values an activation
can attain, the accuracy Keras reports against the true one on the same predictions).

Each experiment takes the part of a model a finding points at (``parts``) and returns a
judge, or None when the part is not one it tests (a direct run on a model without a
finding). The data follow what the IR knows (shapes, label encoding, class count, target
range). What an experiment needs and the IR does not say raises ``Unbuildable`` with what is
missing: the verdict is then ``unverifiable``. docs/dynamic.md gives each experiment's
setup, threshold and measurements.
"""

from __future__ import annotations

from collections.abc import Callable
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
from kerascheck.dynamic.compare import LOSS, Measure, Outcome, Series, number
from kerascheck.dynamic.jobs import (
    AffineOutcome,
    AffineProbe,
    Construct,
    Event,
    GraphPlan,
    JobFailed,
    MeasureName,
    Plain,
    RangeOutcome,
    RangeProbe,
    Reading,
    TargetPlan,
    TrainProbe,
    Variant,
)
from kerascheck.dynamic.parts import Part
from kerascheck.dynamic.plan import (
    Unbuildable,
    bare_head_plan,
    layer_plan,
    loss_value,
    optimizer_value,
)
from kerascheck.dynamic.variants import (
    loss_with_from_logits,
    move_before,
    optimizer_with_rate,
    set_argument,
    with_output_activation,
)
from kerascheck.ir import (
    CompileSpec,
    DataInfo,
    Known,
    LayerSpec,
    LossSpec,
    MetricSpec,
    ModelSpec,
    OutputSpec,
    RunSpec,
)
from kerascheck.knowledge import load
from kerascheck.rules._heads import Head, heads_of, labels_under

# Every experiment that is not about the optimizer trains with this one, the same for the
# model as written and for its fix: the comparison is about the fault alone.
OPTIMIZER = Construct("keras.optimizers.Adam", (), (("learning_rate", 0.01),))
SEEDS = (0, 1, 2)
STEPS = 200
# Multiply-adds a probe may spend with the default budget (--dynamic-timeout 20): a few
# seconds on one core. An estimate from the built model (training.multiply_adds), so the
# decision does not depend on how busy the machine is.
WORK = 3e10
DEFAULT_BUDGET = 20.0

# Documented target ranges of the keras.datasets regression sets (the loaders' docstrings,
# Keras 3.15.1): "typically between 10 and 50" (k$), "between 25,000 and 500,000" ($).
TARGET_RANGES: dict[str, tuple[float, float]] = {
    "boston_housing": (10.0, 50.0),
    "california_housing": (25_000.0, 500_000.0),
}
_BINARY_LOSSES = frozenset(
    {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"}
)
_ONEHOT_LOSSES = frozenset(
    {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"}
)
_CLASS_ENCODINGS = frozenset({"onehot", "integer", "binary", "multihot", "plus_minus_one"})
_CLASS_OUTPUTS = frozenset({"sigmoid", "softmax"})
_METRIC_TOLERANCE = 1e-6  # "the metric did not move"
_AFFINE_TOLERANCE = 1e-4  # float32 arithmetic's relative deviation from one affine map
_FLOOR_SHARE = 0.01  # a loss floor above 1 % of the best constant prediction's loss matters
_DISCREPANCY = 0.02  # two accuracies 2 points apart in every seed differ
_LEAK_NOISE = 0.5  # the share of noise in the targets of the validation-leak experiment


# ----------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Targets:
    plan: TargetPlan
    text: str  # "synthetic one-hot labels over 10 classes"

    @property
    def classes(self) -> bool:
        return self.plan.encoding != "continuous"


_STANDARDISED = "synthetic standardised targets (mean 0, std 1)"


def _loss_name(loss: LossSpec | None) -> str | None:
    return loss.name.value if loss is not None and isinstance(loss.name, Known) else None


def _units(output: OutputSpec) -> int | None:
    return output.units.value if isinstance(output.units, Known) else None


def _outputs(output: OutputSpec) -> str:
    units = _units(output)
    return "1 output unit" if units == 1 else f"{units} output units"


def _activation(output: OutputSpec) -> str | None:
    value = output.activation
    return value.value if isinstance(value, Known) else None


def _informative(info: DataInfo) -> bool:
    return any(isinstance(v, Known) for v in (info.encoding, info.scaled, info.dataset))


def _known_labels(model: ModelSpec, head: Head) -> DataInfo | None:
    """The first labels this head's compile governs of which the IR knows something."""
    if head.compile is None:
        return None
    return next((i for i in labels_under(model, head.compile) if _informative(i)), None)


def _continuous(info: DataInfo) -> Targets | None:
    """Continuous targets in the range the IR knows, or None."""
    scaled = info.scaled.value if isinstance(info.scaled, Known) else None
    dataset = info.dataset.value if isinstance(info.dataset, Known) else None
    if scaled in ("standardized", "centered"):
        return Targets(TargetPlan("continuous"), _STANDARDISED)
    if scaled == "unit":
        return Targets(TargetPlan("continuous", low=0.0, high=1.0), "synthetic targets in [0, 1]")
    if dataset in TARGET_RANGES and scaled is None:
        low, high = TARGET_RANGES[dataset]
        plan = TargetPlan("continuous", low=low, high=high)
        return Targets(plan, f"synthetic targets in [{low:g}, {high:g}] (`{dataset}`'s range)")
    return None


def _unit_range(why: str) -> Targets:
    plan = TargetPlan("continuous", low=0.0, high=1.0)
    return Targets(plan, f"synthetic targets in [0, 1] ({why})")


def _label_text(encoding: str, classes: int | None) -> str:
    over = f" over {classes} classes" if classes else ""
    return {
        "onehot": f"synthetic one-hot labels{over}",
        "integer": f"synthetic class ids{over}",
        "binary": "synthetic 0/1 labels",
        "multihot": f"synthetic multi-label targets{over.replace('classes', 'labels')}",
        "plus_minus_one": "synthetic -1/+1 labels",
    }[encoding]


def _classes(info: DataInfo, units: int | None) -> Targets | None:
    encoding = info.encoding.value if isinstance(info.encoding, Known) else None
    if encoding not in _CLASS_ENCODINGS:
        return None
    classes = info.num_classes.value if isinstance(info.num_classes, Known) else None
    plan = TargetPlan(encoding, classes)  # type: ignore[arg-type]
    return Targets(plan, _label_text(encoding, classes or units))  # type: ignore[arg-type]


def _of_data(info: DataInfo, units: int | None) -> Targets | None:
    return _classes(info, units) or _continuous(info)


def _for_loss(name: str | None, units: int | None) -> Targets | None:
    """Labels of the kind a loss takes: its format, not a guess at the task."""
    if name in _BINARY_LOSSES:
        return Targets(TargetPlan("binary"), "synthetic 0/1 labels")
    if name in _ONEHOT_LOSSES:
        return Targets(TargetPlan("onehot"), _label_text("onehot", units))
    if name == "sparse_categorical_crossentropy":
        return Targets(TargetPlan("integer"), _label_text("integer", units))
    if name in load().regression_losses:
        return Targets(TargetPlan("continuous"), _STANDARDISED)
    return None


def _data_or_loss(info: DataInfo | None, name: str | None, units: int | None) -> Targets:
    """The targets the IR knows, else the kind the loss takes."""
    if info is not None:
        found = _of_data(info, units)
        binary_loss = name in _BINARY_LOSSES or units == 1
        two_ids = found is not None and found.plan.encoding == "integer"
        if two_ids and binary_loss and found.plan.classes in (None, 2):  # type: ignore[union-attr]
            return Targets(TargetPlan("binary"), "synthetic 0/1 labels")  # ids 0/1 are 0/1 labels
        if found is not None:
            return found
        if info.encoding == Known("continuous"):
            return Targets(TargetPlan("continuous"), _STANDARDISED)
    found = _for_loss(name, units)
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


def _subject(case: ModelCase, output: Head | None = None) -> Subject:
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


def _notes(case: ModelCase, subject: Subject, found: Trained) -> str:
    notes = []
    outcome = found.outcome
    if subject.alone is not None:
        notes.append(f"output layer rebuilt alone: {subject.alone}")
    elif outcome.alone is not None:
        notes.append(f"output layer rebuilt alone: {outcome.alone}")
    elif outcome.stand_in and case.stand_in is not None:
        notes.append(case.stand_in[1])
    return f" ({'; '.join(notes)})" if notes else ""


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
    if encoding == "integer" and (classes == 2 or _units(output) == 1):
        encoding = "binary"
    if encoding not in _IMPLIED:
        encoding = {"sigmoid": "binary", "softmax": "onehot"}.get(str(_activation(output)))
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


def _training(
    model: ModelSpec, spec: CompileSpec | None, labels: DataInfo | None = None
) -> Training:
    if len(model.outputs) != 1:
        raise Unbuildable("multi-output models are not trained by the experiments")
    if spec is None:
        return _implied_loss(model, labels)
    (head,) = heads_of(model, spec)
    if head.loss is None:
        raise Unbuildable("the loss is not known")
    return Training(loss_value(head.loss), _loss_name(head.loss), optimizer_value(spec.optimizer))


def _written(subject: Subject, head: Head) -> Variant:
    """The model as written, compiled with its head's loss and metrics (so that one trained
    model serves every experiment about this head: the metrics change no gradient)."""
    metrics = tuple(
        _metric_value(m) for m in head.metrics if m.literal or isinstance(m.name, Known)
    )
    return _variant("as written", subject.graph, loss_value(_given(head.loss)), metrics=metrics)


def _variant(label: str, graph: GraphPlan, loss: Plain, **options: object) -> Variant:
    optimizer = options.pop("optimizer", OPTIMIZER)
    return Variant(label, graph, loss, optimizer, **options)  # type: ignore[arg-type]


def _probe(
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


def _trained(case: ModelCase, view: TrainView) -> Trained | str:
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


def _compared(
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
        found = _trained(case, view)
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
            f"{outcome.why()}{_notes(case, subject, found)}"
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
        f"{_notes(case, subject, found)}",
    )


# ----------------------------------------------------------------------------- outputs
def _output_swap(
    ctx: Context,
    head: Head,
    case: ModelCase,
    targets: Targets,
    activation: str,
    measure: Measure,
    key: str,
    measures: tuple[MeasureName, ...],
    shown: tuple[tuple[str, str], ...] = (),
) -> Judge:
    """The model as written against the same model with another output activation."""
    subject = _subject(case, head)
    loss = loss_value(_given(head.loss))
    changed, described = with_output_activation(subject.graph, case.model, head.output, activation)
    variants = (_written(subject, head), _variant(described, changed, loss))
    probe = _probe(ctx, subject, variants, targets, measures)
    setup = f"{targets.text}, {_outputs(head.output)}, '{_given(head.loss).written}'"
    return _compared(case, subject, probe, measure, key, setup, f"with {described}", shown)


def _given(loss: LossSpec | None) -> LossSpec:
    if loss is None:
        raise Unbuildable("the loss is not known")
    return loss


def linear_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC102: a softmax over several units against a linear output (softplus for a poisson
    loss, whose log needs positive predictions), on the targets the IR knows."""
    head = part.head
    if head is None or _activation(head.output) != "softmax" or (_units(head.output) or 0) < 2:
        return None
    name = _loss_name(head.loss)
    if name not in load().regression_losses:
        return None
    info = _known_labels(case.model, head)
    if info is None:
        raise Unbuildable("the targets are not known, and a softmax fits class targets")
    targets = _of_data(info, _units(head.output))
    if targets is None:
        targets = _unit_range("their range is not known: the softmax's own")
    activation = "softplus" if name == "poisson" else "linear"
    return _output_swap(ctx, head, case, targets, activation, LOSS, "loss", ("loss",))


def attainable_range(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC103: the values a bounded output activation attains against the targets' range:
    the lowest loss any weights could reach. Exact; nothing is trained."""
    head = part.head
    activation = _activation(head.output) if head is not None else None
    if head is None or activation not in load().bounded_activations:
        return None
    if _loss_name(head.loss) not in load().regression_losses:
        return None
    info = _known_labels(case.model, head)
    targets = _of_data(info, _units(head.output)) if info is not None else None
    if targets is None:
        raise Unbuildable("the targets' range is not known, and the experiment is about it")
    loss = _given(head.loss)
    width = _units(head.output) or 1
    index = case.ask(RangeProbe(activation, loss_value(loss), targets.plan, width))  # type: ignore[arg-type]

    def judge() -> Verdict:
        found = case.answer(index)
        if isinstance(found, JobFailed):
            return unverifiable(found.reason)
        assert isinstance(found, RangeOutcome)
        if found.error is not None:
            return unverifiable(f"Keras could not evaluate the loss: {found.error.text()}")
        seen = (
            f"{activation} attains only [{number(found.low)}, {number(found.high)}]; "
            f"{found.outside:.0%} of 4096 {targets.text}, in [{number(found.target_low)}, "
            f"{number(found.target_high)}], lie outside it"
        )
        if found.floor > _FLOOR_SHARE * found.constant and found.outside > 0:
            return Verdict(
                "confirmed",
                f"{seen}: no weights bring '{loss.written}' below {number(found.floor)} (the "
                f"best constant prediction gives {number(found.constant)}), while a linear "
                "output attains every value",
            )
        return Verdict(
            "refuted",
            f"{seen}: the nearest attainable values cost '{loss.written}' only "
            f"{number(found.floor)}, under 1 % of the best constant's {number(found.constant)}",
        )

    return judge


def from_logits(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC106: a cross-entropy on a linear output, as written against from_logits=True."""
    head = part.head
    if head is None or head.loss is None or head.output.activation != Known(None):
        return None
    name = _loss_name(head.loss)
    if name not in load().probabilistic_losses or head.loss.from_logits == Known(True):
        return None
    return _loss_swap(
        ctx,
        head,
        case,
        lambda loss: loss_with_from_logits(loss, name),  # type: ignore[arg-type]
        "with from_logits=True",
        "logits",
    )


def probability_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC111: a cross-entropy on a relu / tanh / ... output, against a sigmoid or softmax."""
    head = part.head
    activation = _activation(head.output) if head is not None else None
    if head is None or head.loss is None or activation is None:
        return None
    k = load()
    name = _loss_name(head.loss)
    if activation in k.probability_activations or head.loss.from_logits != Known(False):
        return None
    if name not in k.probabilistic_losses:
        return None
    categorical = name in _ONEHOT_LOSSES or name == "sparse_categorical_crossentropy"
    target = "softmax" if categorical and (_units(head.output) or 0) > 1 else "sigmoid"
    return _loss_swap(ctx, head, case, lambda loss: loss, "", "probabilities", target)


def _loss_swap(
    ctx: Context,
    head: Head,
    case: ModelCase,
    change: Callable[[Plain], Plain],
    fix: str,
    reading: Reading,
    activation: str | None = None,
    targets: Targets | None = None,
) -> Judge:
    """The model as written against its fix (another loss, another output activation, or
    both), on the true cross-entropy of the predictions (and their accuracy)."""
    units = _units(head.output)
    loss_spec = _given(head.loss)
    if targets is None:
        targets = _data_or_loss(_known_labels(case.model, head), _loss_name(loss_spec), units)
    if not targets.classes:
        raise Unbuildable("the labels are not class labels the loss can take")
    subject = _subject(case, head)
    loss = loss_value(loss_spec)
    graph = subject.graph
    if activation is not None:
        graph, described = with_output_activation(graph, case.model, head.output, activation)
        fix = fix or f"with {described}"
    variants = (_written(subject, head), _variant(fix, graph, change(loss), reading=reading))
    probe = _probe(ctx, subject, variants, targets, ("crossentropy", "accuracy"))
    setup = f"{targets.text}, {_outputs(head.output)}, '{loss_spec.written}'"
    measure = Measure("cross-entropy of the predictions")
    shown = (("accuracy", "accuracy"),)
    return _compared(case, subject, probe, measure, "crossentropy", setup, fix, shown)


def softmax_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC109: categorical cross-entropy on sigmoid units against a softmax output: whether
    the predictions are one distribution per sample (rows summing to 1). On multi-label
    targets, against binary cross-entropy instead."""
    head = part.head
    units = _units(head.output) if head is not None else None
    if head is None or _activation(head.output) != "sigmoid" or (units or 0) < 2:
        return None
    if _loss_name(head.loss) != "categorical_crossentropy":
        return None
    info = _known_labels(case.model, head)
    if info is not None and info.encoding == Known("multihot"):
        targets = Targets(TargetPlan("multihot"), _label_text("multihot", units))
        fix = "with loss='binary_crossentropy'"
        return _loss_swap(
            ctx, head, case, lambda _: "binary_crossentropy", fix, "probabilities", None, targets
        )
    targets = Targets(
        TargetPlan("onehot"),
        f"{_label_text('onehot', units)} (what categorical cross-entropy takes)",
    )
    measure = Measure("mean |row sum - 1| of the predictions", relative=0.0, absolute=0.05)
    measures: tuple[MeasureName, ...] = ("row_sum", "accuracy")
    return _output_swap(
        ctx,
        head,
        case,
        targets,
        "softmax",
        measure,
        "row_sum",
        measures,
        (("accuracy", "accuracy"),),
    )


# ----------------------------------------------------------------------------- metrics
def _metric_value(metric: MetricSpec) -> Plain:
    return metric.written if metric.literal else f"keras.metrics.{metric.written}"


def metric_blind_to_error(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC104: 'accuracy' under a regression loss. On the briefly trained model's own
    predictions, the value Keras reports, and again on the same predictions pushed far from
    0.5, each on its own side (every class decision kept, the error multiplied): a metric
    that stays put does not see the error. On class labels, the reported against the true
    accuracy."""
    head, metric = part.head, part.metric
    if head is None or metric is None or metric.name != Known("accuracy"):
        return None
    if _loss_name(head.loss) not in load().regression_losses:
        return None
    info = _known_labels(case.model, head)
    targets = _of_data(info, _units(head.output)) if info is not None else None
    if targets is None and info is not None and info.encoding == Known("continuous"):
        targets = _unit_range("their range is not known")
    if targets is None:
        activation = head.output.activation
        if not isinstance(activation, Known) or activation.value in _CLASS_OUTPUTS:
            raise Unbuildable("the targets are not known, and the output may be a classifier's")
        targets = _unit_range("the targets are not known; the output is not a classifier's")
    subject = _subject(case, head)
    loss = _given(head.loss)
    written = _written(subject, head)
    regression = not targets.classes
    measures: tuple[MeasureName, ...] = (
        ("keras_metric", "pushed_metric", "mse", "pushed_mse")
        if regression
        else ("keras_metric", "accuracy")
    )
    view = case.ask_train(_probe(ctx, subject, (written,), targets, measures))
    setup = f"{targets.text}, '{loss.written}' loss"
    at = part.metric_index

    def judge() -> Verdict:
        found = _trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        classes = found.metrics(0)
        resolved = classes[at] if at < len(classes) else "?"
        notes = _notes(case, subject, found)
        reported = Series(found.series(0, f"keras_metric/{at}"))
        lead = f"{setup}: {ctx.keras} resolves '{metric.written}' to {resolved}"
        if not regression:
            true = Series(found.series(0, "accuracy"))
            pairs = zip(reported.values, true.values, strict=True)
            same = all(abs(r - t) < _DISCREPANCY for r, t in pairs)
            evidence = (
                f"{lead} and reports {reported.text()} where the true accuracy of these labels "
                f"is {true.text()}; {len(SEEDS)} seeds{notes}"
            )
            return Verdict("refuted" if same else "confirmed", evidence)
        pushed = Series(found.series(0, f"pushed_metric/{at}"))
        error, grown = Series(found.series(0, "mse")), Series(found.series(0, "pushed_mse"))
        rows = zip(reported.values, pushed.values, error.values, grown.values, strict=True)
        blind = all(abs(a - b) <= _METRIC_TOLERANCE and g >= 2 * e for a, b, e, g in rows)
        evidence = (
            f"{lead}; on the trained model's predictions it reports {reported.text()} at mse "
            f"{error.text()}, and {pushed.text()} on the same predictions pushed away from "
            f"0.5, each on its own side (every decision kept), at mse {grown.text()}; "
            f"{len(SEEDS)} seeds"
        )
        if blind:
            return Verdict("confirmed", f"{evidence}: it does not see the error{notes}")
        return Verdict("refuted", f"{evidence}: it follows the error{notes}")

    return judge


def legacy_accuracy(loss: str | None, units: int | None) -> str:
    """What Keras <= 2.3 made of 'accuracy' (keras/engine/training.py, 2.3.1): binary accuracy
    for binary_crossentropy or a 1-unit output, sparse categorical accuracy for the sparse
    loss, categorical accuracy otherwise."""
    if loss == "binary_crossentropy" or units == 1:
        return "binary_accuracy"
    if loss == "sparse_categorical_crossentropy":
        return "sparse_categorical_accuracy"
    return "categorical_accuracy"


def reported_vs_true(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC105: 'accuracy' as Keras resolves it (Keras <= 2.3's choice for --target-keras
    legacy, the installed Keras's otherwise) against the task's true accuracy, both computed
    on the same predictions of the briefly trained model."""
    head, metric = part.head, part.metric
    units = _units(head.output) if head is not None else None
    if head is None or metric is None or metric.name != Known("accuracy") or (units or 0) < 2:
        return None
    legacy = ctx.flavour == "legacy"
    # What the experiment tests: under Keras <= 2.3 a softmax, else sigmoid units, whose
    # 'accuracy' Keras picks wrongly; a sigmoid under categorical_crossentropy is KC109's.
    expected = "softmax" if legacy else "sigmoid"
    if _activation(head.output) != expected or _loss_name(head.loss) == "categorical_crossentropy":
        return None
    info = _known_labels(case.model, head)
    targets = _classes(info, units) if info is not None else None
    if targets is None and legacy and _activation(head.output) == "softmax":
        text = f"{_label_text('onehot', units)} (a softmax: one class per sample)"
        targets = Targets(TargetPlan("onehot"), text)
    if targets is None:
        raise Unbuildable(
            "the labels are not known: what 'accuracy' should measure depends on them"
        )
    subject = _subject(case, head)
    loss = _given(head.loss)
    chosen = legacy_accuracy(_loss_name(loss), units)
    written = _written(subject, head)
    if legacy:
        written = replace(written, legacy_metric=chosen)
    measure: MeasureName = "legacy_metric" if legacy else "keras_metric"
    key = "legacy_metric" if legacy else f"keras_metric/{part.metric_index}"
    view = case.ask_train(_probe(ctx, subject, (written,), targets, (measure, "accuracy")))
    task = "per-label" if targets.plan.encoding == "multihot" else "true"
    setup = f"{targets.text}, '{loss.written}' loss, {_outputs(head.output)}"

    def judge() -> Verdict:
        found = _trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        reported, true = Series(found.series(0, key)), Series(found.series(0, "accuracy"))
        gaps = [r - t for r, t in zip(reported.values, true.values, strict=True)]
        one_way = all(g > 0 for g in gaps) or all(g < 0 for g in gaps)
        apart = one_way and min(abs(g) for g in gaps) >= _DISCREPANCY
        classes = found.metrics(0)
        at = part.metric_index
        resolved = chosen if legacy else (classes[at] if at < len(classes) else "?")
        by = "Keras <= 2.3 resolves" if legacy else f"{ctx.keras} resolves"
        evidence = (
            f"{setup}: {by} '{metric.written}' to {resolved}, which reports {reported.text()} "
            f"on the trained model's predictions where the {task} accuracy is {true.text()}; "
            f"{len(SEEDS)} seeds{_notes(case, subject, found)}"
        )
        return Verdict("confirmed" if apart else "refuted", evidence)

    return judge


def categorical_loss(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC110: binary_crossentropy on a softmax over more than two classes. Under Keras <= 2.3
    with 'accuracy': the reported against the true accuracy (KC105's experiment). Otherwise:
    trained against categorical_crossentropy, on the true cross-entropy of the predictions."""
    head = part.head
    units = _units(head.output) if head is not None else None
    if head is None or _activation(head.output) != "softmax" or (units or 0) <= 2:
        return None
    if _loss_name(head.loss) != "binary_crossentropy":
        return None
    if ctx.flavour == "legacy":
        passed = [m for m in head.metrics if m.literal or isinstance(m.name, Known)]
        for index, metric in enumerate(passed):
            if metric.name == Known("accuracy"):
                inner = Part(part.spans, head=head, metric=metric, metric_index=index)
                return reported_vs_true(inner, case, ctx)
    text = f"{_label_text('onehot', units)} (a softmax: one class per sample)"
    targets = Targets(TargetPlan("onehot"), text)
    fix = "with loss='categorical_crossentropy'"
    return _loss_swap(
        ctx, head, case, lambda _: "categorical_crossentropy", fix, "probabilities", None, targets
    )


# ----------------------------------------------------------------------------- KC302
def composed_linear_map(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC302: a Dense layer and the Dense it feeds (up to that one's activation): one affine
    map x W + b? Exact: W is read off the unit vectors, then checked on random inputs."""
    model = case.model
    layer = model.layers[part.layer]
    if layer.class_name != "Dense" or layer.call is None:
        return None
    path = _path_to_next_dense(model, part.layer)
    if path is None:
        return None
    # A network without any activation is a deliberate linear model, not what is tested.
    if not any(isinstance(x.activation, Known) and x.activation.value for x in model.layers):
        return None
    first = layer_plan(layer, part.layer, (), shapes_optional=True)
    between = [layer_plan(model.layers[i], i, (), shapes_optional=True) for i in path]
    last = between[-1]
    chain = GraphPlan("sequential", (first, *between))
    chain = set_argument(chain, last.position, "activation", "linear")
    given = case.stand_in[0] if case.stand_in is not None else None
    index = case.ask(AffineProbe(chain, 0, case.graph, part.layer, given))
    second = model.layers[path[-1]]
    names = f"Dense({_units_text(layer)}) and the Dense({_units_text(second)}) it feeds"

    def judge() -> Verdict:
        found = case.answer(index)
        if isinstance(found, JobFailed):
            return unverifiable(found.reason)
        assert isinstance(found, AffineOutcome)
        if found.error is not None:
            return unverifiable(f"Keras could not build the two layers: {found.error.text()}")
        width, out = found.shape
        where = (
            "features it receives"
            if found.given
            else "features, built on a stand-in input (the model's input shape is not known)"
        )
        if found.deviation >= _AFFINE_TOLERANCE:
            return Verdict(
                "refuted",
                f"{names}, applied to {width} {where}, are not one affine map: their output "
                f"deviates from the nearest one by {found.deviation:.2g} (relative) on 64 "
                "random inputs",
            )
        hidden = layer.units.value if isinstance(layer.units, Known) else None
        weights = f"{(width + 1) * out} weights"
        if hidden is not None:
            weights += f" instead of {(width + 1) * hidden + (hidden + 1) * out}"
        return Verdict(
            "confirmed",
            f"{names} (before its activation), applied to {width} {where}, compute one affine "
            f"map x W + b (relative deviation {found.deviation:.1g} on 64 random inputs); W is "
            f"{width}x{out} of rank {found.rank}: a single Dense({out}) computes the same map "
            f"with {weights}",
        )

    return judge


def _units_text(layer: LayerSpec) -> str:
    return str(layer.units.value) if isinstance(layer.units, Known) else "?"


def _path_to_next_dense(model: ModelSpec, index: int) -> list[int] | None:
    """The layers after ``index`` up to the Dense it feeds, through dropout-like layers."""
    transparent = load().transparent_layers
    if model.is_chain:
        path = []
        for position in range(index + 1, len(model.layers)):
            name = model.layers[position].class_name
            path.append(position)
            if name == "Dense":
                return path
            if name not in transparent:
                return None
        return None
    consumers = {c for p, c in model.edges if p == index}
    if len(consumers) != 1:
        return None
    (consumer,) = consumers
    if consumer < 0 or model.layers[consumer].class_name != "Dense":
        return None
    return [consumer]


# ----------------------------------------------------------------------------- KC4xx
def _compile_at(model: ModelSpec, run: RunSpec | None) -> CompileSpec | None:
    if run is not None and isinstance(run.compile, Known):
        return run.compile.value
    return model.compile


# The label encodings each loss takes (a loss not listed takes any).
_TAKES = {
    "sparse_categorical_crossentropy": frozenset({"integer"}),
    "categorical_crossentropy": frozenset({"onehot", "multihot"}),
    "binary_crossentropy": frozenset({"binary", "multihot", "onehot"}),
}


def _run_targets(case: ModelCase, part: Part, training: Training, noise: float = 0.0) -> Targets:
    """The labels of this training run as the IR knows them; labels of the kind the loss
    takes when the code's own do not fit it (that is KC112's fault, not the one tested)."""
    model = case.model
    units = _units(model.outputs[0]) if len(model.outputs) == 1 else None
    info = part.labels if part.labels is not None and _informative(part.labels) else None
    if info is None and part.head is not None:
        info = _known_labels(model, part.head)
    found = _data_or_loss(info, training.name, units)
    takes = _TAKES.get(training.name or "")
    if takes is not None and found.plan.encoding not in takes:
        found = _data_or_loss(None, training.name, units)
    if noise:
        found = Targets(replace(found.plan, noise=noise), f"{found.text}, {noise:.0%} of it noise")
    return found


def _note(training: Training) -> str:
    return f" ({training.note})" if training.note else ""


def scaled_input(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC401: raw 0-255 inputs against the same inputs divided by 255, trained with the
    written loss and optimizer."""
    run = part.run
    if run is None or run.x.scaled != Known("raw_0_255"):
        return None
    training = _training(case.model, _compile_at(case.model, run), run.y)
    subject = _subject(case)
    targets = _run_targets(case, part, training)
    optimizer = training.optimizer if training.optimizer is not None else "adam"
    loss = training.loss
    written = _variant("as written", subject.graph, loss, optimizer=optimizer)
    scaled = _variant("scaled", subject.graph, loss, optimizer=optimizer, input_scale=1 / 255)
    measures: tuple[MeasureName, ...] = ("loss", "accuracy") if targets.classes else ("loss",)
    probe = _probe(ctx, subject, (written, scaled), targets, measures, pixels=True)
    setup = f"synthetic 0-255 images, {targets.text}, '{training.name}'{_note(training)}"
    shown = (("accuracy", "accuracy"),) if targets.classes else ()
    fix = "with the inputs divided by 255"
    return _compared(case, subject, probe, LOSS, "loss", setup, fix, shown)


def usual_rate(optimizer: str) -> float:
    """The rate KC402's fix uses: Keras's default (0.001), and 0.01 for SGD (its default)."""
    return 0.01 if optimizer == "SGD" else 0.001


def _unusual(optimizer: str, rate: float) -> bool:
    """Outside the range the knowledge tables call usual (what the rule tests)."""
    limits = load().learning_rate
    if rate <= 0 or rate < limits.min:
        return True
    if optimizer in limits.adaptive_optimizers:
        return rate >= limits.adaptive_max
    return optimizer == "SGD" and rate >= limits.sgd_max


def usual_learning_rate(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC402: the optimizer as written against the same optimizer at its usual rate."""
    head = part.head
    spec = head.compile if head is not None else None
    optimizer = spec.optimizer if spec is not None else None
    if spec is None or optimizer is None or optimizer.call is None:
        return None
    call = optimizer.call
    arg = call.kwarg("learning_rate") or call.kwarg("lr") or call.positional(0)
    rate = arg.value.value if arg is not None and isinstance(arg.value, Known) else None
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        return None
    name = call.qualname.rpartition(".")[2]
    usual = usual_rate(name)
    if not _unusual(name, float(rate)):
        return None
    written_optimizer = optimizer_value(optimizer)
    if written_optimizer is None:
        raise Unbuildable("the optimizer cannot be rebuilt as written")
    training = _training(case.model, spec)
    subject = _subject(case)
    targets = _run_targets(case, part, training)
    changed = optimizer_with_rate(written_optimizer, usual)
    written = _variant("as written", subject.graph, training.loss, optimizer=written_optimizer)
    fix = _variant("usual", subject.graph, training.loss, optimizer=changed)
    probe = _probe(ctx, subject, (written, fix), targets, ("loss", "initial_loss"))
    setup = f"{targets.text}, '{training.name}', {name} at {float(rate):g}"
    shown = (("loss before training", "initial_loss"),)
    return _compared(case, subject, probe, LOSS, "loss", setup, f"at {usual:g}", shown)


def held_out_validation(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC403: validation on the training data (or training on the test split): the loss on
    data the model trained on against its loss on fresh data of the same task."""
    run = part.run
    if run is None or not _leaks(run):
        return None
    training = _training(case.model, _compile_at(case.model, run), run.y)
    subject = _subject(case)
    targets = _run_targets(case, part, training, noise=_LEAK_NOISE)
    written = _variant("as written", subject.graph, training.loss)
    view = case.ask_train(_probe(ctx, subject, (written,), targets, ("loss", "heldout_loss")))
    setup = f"{targets.text}{_note(training)}"

    def judge() -> Verdict:
        found = _trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        held, seen = Series(found.series(0, "heldout_loss")), Series(found.series(0, "loss"))
        outcome = Outcome(held, seen, LOSS)
        why = "lower in every seed" if outcome.worse else outcome.why().replace("worse", "lower")
        evidence = (
            f"{setup}: loss {seen.text()} on the data it trained on (what this validation "
            f"reports) vs {held.text()} on fresh samples of the same task; {STEPS} steps, "
            f"{len(SEEDS)} seeds: the reported loss is {why}{_notes(case, subject, found)}"
        )
        return Verdict("confirmed" if outcome.worse else "refuted", evidence)

    return judge


def _leaks(run: RunSpec) -> bool:
    """The rule's premise as the IR shows it: validation_data are the training arrays, or
    validation_split on a test split."""
    if run.call.kwarg("validation_split") is not None and run.x.split == Known("test"):
        return True
    x, y = run.call.argument("x", 0), run.call.argument("y", 1)
    validation = run.call.kwarg("validation_data")
    if x is None or y is None or validation is None or x.source is None or y.source is None:
        return False
    return validation.element_sources[:2] == (x.source, y.source)


def dropout_fix(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC404: dropout of 0.9 or more against 0.5; dropout after the output layer against
    the same dropout before it. Measured without dropout (what the model learnt)."""
    model = case.model
    layer = model.layers[part.layer]
    k = load()
    if layer.class_name not in k.dropout_layers or layer.call is None:
        return None
    arg = layer.call.argument("rate", 0)
    rate = arg.value.value if arg is not None and isinstance(arg.value, Known) else None
    numeric = isinstance(rate, (int, float)) and not isinstance(rate, bool)
    last = part.layer == len(model.layers) - 1 and model.is_chain
    trained = bool(model.compiles) or bool(model.fits)
    if numeric and rate >= k.dropout_max:  # type: ignore[operator]
        subject = _subject(case)
        changed = set_argument(subject.graph, part.layer, "rate", 0.5)
        if layer.call.kwarg("rate") is None:  # written positionally: replace it there
            changed = _positional_rate(subject.graph, part.layer, 0.5)
        fix = "with a rate of 0.5"
    elif last and trained:
        subject = _subject(case)
        kept = [i for i, x in enumerate(model.layers) if x.class_name not in k.transparent_layers]
        changed = move_before(subject.graph, part.layer, max(kept))
        fix = "with the dropout before the output layer"
    else:
        return None
    fitted = model.fits[0].y if model.fits else None
    training = _training(model, model.compile, fitted)
    targets = _run_targets(case, part, training)
    written = _variant("as written", subject.graph, training.loss)
    variant = _variant("fixed", changed, training.loss)
    measures: tuple[MeasureName, ...] = ("loss", "accuracy") if targets.classes else ("loss",)
    probe = _probe(ctx, subject, (written, variant), targets, measures)
    setup = f"{targets.text}{_note(training)}; loss without dropout (what it learnt)"
    shown = (("accuracy", "accuracy"),) if targets.classes else ()
    return _compared(case, subject, probe, LOSS, "loss", setup, fix, shown)


def _positional_rate(graph: GraphPlan, position: int, rate: float) -> GraphPlan:
    layers = []
    for layer in graph.layers:
        if layer.position == position and layer.construct.args:
            construct = layer.construct
            layer = replace(layer, construct=replace(construct, args=(rate, *construct.args[1:])))
        layers.append(layer)
    return replace(graph, layers=tuple(layers))
