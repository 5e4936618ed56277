"""Experiments on a model's output, loss and metrics: softmax or a bounded activation on
regression targets (KC102, KC103), cross-entropy on logits or on a non-probability output
(KC106, KC111), categorical cross-entropy on sigmoid units (KC109), binary cross-entropy on
a softmax (KC110), 'accuracy' on a regression (KC104) or resolved to the wrong accuracy
(KC105). Shared machinery: ``trials``; docs/dynamic.md gives each one's setup and threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kerascheck.dynamic.cases import Context, Judge, ModelCase, Trained, Verdict, unverifiable
from kerascheck.dynamic.compare import LOSS, Measure, Series, number
from kerascheck.dynamic.jobs import (
    MeasureName,
    Plain,
    RangeOutcome,
    RangeProbe,
    Reading,
    TargetPlan,
)
from kerascheck.dynamic.parts import Part
from kerascheck.dynamic.plan import Unbuildable, loss_value
from kerascheck.dynamic.trials import (
    ONEHOT_LOSSES,
    SEEDS,
    Targets,
    activation_of,
    as_written,
    class_targets,
    compared,
    continuous_targets,
    data_targets,
    given_loss,
    known_labels,
    label_text,
    loss_name,
    notes,
    outputs_text,
    passed_metrics,
    subject_of,
    targets_for,
    train_probe,
    trained,
    unit_range,
    units_of,
    variant,
)
from kerascheck.dynamic.variants import (
    loss_with_from_logits,
    with_output_activation,
)
from kerascheck.ir import Known
from kerascheck.knowledge import load
from kerascheck.rules._heads import Head

_METRIC_TOLERANCE = 1e-6  # "the metric did not move"
_FLOOR_SHARE = 0.01  # a loss floor above 1 % of the best constant prediction's loss matters
_DISCREPANCY = 0.02  # two accuracies 2 points apart in every seed differ
_SIGNED_LOSSES = frozenset({"hinge", "squared_hinge"})


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
    subject = subject_of(case, head)
    loss = loss_value(given_loss(head.loss))
    changed, described = with_output_activation(subject.graph, case.model, head.output, activation)
    variants = (as_written(subject, head), variant(described, changed, loss))
    probe = train_probe(ctx, subject, variants, targets, measures)
    setup = f"{targets.text}, {outputs_text(head.output)}, '{given_loss(head.loss).written}'"
    return compared(case, subject, probe, measure, key, setup, f"with {described}", shown)


def linear_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC102: a softmax over several units against a linear output (softplus for a poisson
    loss, whose log needs positive predictions), on the targets the IR knows."""
    head = part.head
    if head is None or activation_of(head.output) != "softmax" or (units_of(head.output) or 0) < 2:
        return None
    name = loss_name(head.loss)
    if name not in load().regression_losses:
        return None
    info = known_labels(case.model, head)
    if info is None:
        raise Unbuildable("the targets are not known, and a softmax fits class targets")
    targets = data_targets(info, units_of(head.output))
    if targets is None:
        targets = unit_range("their range is not known: the softmax's own")
    activation = "softplus" if name == "poisson" else "linear"
    return _output_swap(ctx, head, case, targets, activation, LOSS, "loss", ("loss",))


def attainable_range(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC103: the values a bounded output activation attains against the targets' range:
    the lowest loss any weights could reach. Exact; nothing is trained."""
    head = part.head
    activation = activation_of(head.output) if head is not None else None
    # A softmax on continuous targets is KC102's experiment (the rule leaves it there too).
    if head is None or activation not in load().bounded_activations or activation == "softmax":
        return None
    if loss_name(head.loss) not in load().regression_losses:
        return None
    info = known_labels(case.model, head)
    if info is not None and class_targets(info, None) is not None:
        return None  # class labels are no regression target: not what this tests
    targets = continuous_targets(info) if info is not None else None
    if targets is None:
        bounded = info is not None and isinstance(info.value_range, Known)
        why = "only bounded on one side" if bounded else "not known"
        raise Unbuildable(f"the targets' range is {why}, and the experiment is about it")
    loss = given_loss(head.loss)
    width = units_of(head.output) or 1
    probe = RangeProbe(activation, loss_value(loss), targets.plan, width)  # type: ignore[arg-type]
    index = case.ask(probe)

    def judge() -> Verdict:
        found = case.answered(index, RangeOutcome)
        if isinstance(found, str):
            return unverifiable(found)
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
    name = loss_name(head.loss)
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
    activation = activation_of(head.output) if head is not None else None
    if head is None or head.loss is None or activation is None:
        return None
    k = load()
    name = loss_name(head.loss)
    if activation in k.probability_activations or head.loss.from_logits != Known(False):
        return None
    if name not in k.probabilistic_losses:
        return None
    categorical = name in ONEHOT_LOSSES or name == "sparse_categorical_crossentropy"
    target = "softmax" if categorical and (units_of(head.output) or 0) > 1 else "sigmoid"
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
    units = units_of(head.output)
    loss_spec = given_loss(head.loss)
    if targets is None:
        targets = targets_for(known_labels(case.model, head), loss_name(loss_spec), units)
    if not targets.classes:
        raise Unbuildable("the labels are not class labels the loss can take")
    subject = subject_of(case, head)
    loss = loss_value(loss_spec)
    graph = subject.graph
    if activation is not None:
        graph, described = with_output_activation(graph, case.model, head.output, activation)
        fix = fix or f"with {described}"
    variants = (as_written(subject, head), variant(fix, graph, change(loss), reading=reading))
    probe = train_probe(ctx, subject, variants, targets, ("crossentropy", "accuracy"))
    setup = f"{targets.text}, {outputs_text(head.output)}, '{loss_spec.written}'"
    measure = Measure("cross-entropy of the predictions")
    shown = (("accuracy", "accuracy"),)
    return compared(case, subject, probe, measure, "crossentropy", setup, fix, shown)


def softmax_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC109: (sparse) categorical cross-entropy on sigmoid units against a softmax output:
    whether the predictions are one distribution per sample (rows summing to 1). On
    multi-label targets, against binary cross-entropy instead."""
    head = part.head
    units = units_of(head.output) if head is not None else None
    if head is None or activation_of(head.output) != "sigmoid" or (units or 0) < 2:
        return None
    loss = loss_name(head.loss)
    if loss not in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return None
    info = known_labels(case.model, head)
    multilabel = info is not None and info.encoding == Known("multihot")
    if loss == "categorical_crossentropy" and multilabel:
        targets = Targets(TargetPlan("multihot"), label_text("multihot", units))
        fix = "with loss='binary_crossentropy'"
        change = lambda _: "binary_crossentropy"  # noqa: E731
        return _loss_swap(ctx, head, case, change, fix, "probabilities", None, targets)
    encoding = "integer" if loss == "sparse_categorical_crossentropy" else "onehot"
    text = f"{label_text(encoding, units)} (what the loss takes)"
    targets = Targets(TargetPlan(encoding), text)  # type: ignore[arg-type]
    measure = Measure("mean |row sum - 1| of the predictions", relative=0.0, absolute=0.05)
    measures: tuple[MeasureName, ...] = ("row_sum", "accuracy")
    shown = (("accuracy", "accuracy"),)
    return _output_swap(ctx, head, case, targets, "softmax", measure, "row_sum", measures, shown)


# ----------------------------------------------------------------------------- metrics
def metric_blind_to_error(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC104: 'accuracy' under a regression loss. On the briefly trained model's own
    predictions, the value Keras reports, and again on the same predictions pushed far from
    0.5, each on its own side (every class decision kept, the error multiplied): a metric
    that stays put does not see the error. On class labels, the reported against the true
    accuracy."""
    head, metric = part.head, part.metric
    if head is None or metric is None or metric.name != Known("accuracy"):
        return None
    if loss_name(head.loss) not in load().regression_losses:
        return None
    info = known_labels(case.model, head)
    targets = data_targets(info, units_of(head.output)) if info is not None else None
    if targets is None and info is not None and info.encoding == Known("continuous"):
        targets = unit_range("their range is not known")
    if targets is None:
        raise Unbuildable(
            "the targets are not known: a regression loss may train a least-squares classifier"
        )
    subject = subject_of(case, head)
    loss = given_loss(head.loss)
    written = as_written(subject, head)
    regression = not targets.classes
    measures: tuple[MeasureName, ...] = (
        ("keras_metric", "pushed_metric", "mse", "pushed_mse")
        if regression
        else ("keras_metric", "accuracy")
    )
    view = case.ask_train(train_probe(ctx, subject, (written,), targets, measures))
    setup = f"{targets.text}, '{loss.written}' loss"
    at = part.metric_index

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        classes = found.metrics(0)
        resolved = classes[at] if at < len(classes) else "?"
        noted = notes(case, subject, found)
        reported = Series(found.series(0, f"keras_metric/{at}"))
        lead = f"{setup}: {ctx.keras} resolves '{metric.written}' to {resolved}"
        if not regression:
            true = Series(found.series(0, "accuracy"))
            pairs = zip(reported.values, true.values, strict=True)
            same = all(abs(r - t) < _DISCREPANCY for r, t in pairs)
            evidence = (
                f"{lead} and reports {reported.text()} where the true accuracy of these labels "
                f"is {true.text()}; {len(SEEDS)} seeds{noted}"
            )
            return Verdict("refuted" if same else "confirmed", evidence)
        pushed = Series(found.series(0, f"pushed_metric/{at}"))
        error, grown = Series(found.series(0, "mse")), Series(found.series(0, "pushed_mse"))
        rows = zip(reported.values, pushed.values, error.values, grown.values, strict=True)
        blind = all(abs(a - b) <= _METRIC_TOLERANCE and g >= 2 * e for a, b, e, g in rows)
        evidence = (
            f"{lead}; it reports {reported.text()} on the trained model's predictions (mse "
            f"{error.text()}) and {pushed.text()} on the same predictions pushed away from 0.5, "
            f"every decision kept (mse {grown.text()}); {len(SEEDS)} seeds"
        )
        if blind:
            return Verdict("confirmed", f"{evidence}: it does not see the error{noted}")
        return Verdict("refuted", f"{evidence}: it follows the error{noted}")

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
    units = units_of(head.output) if head is not None else None
    if head is None or metric is None:
        return None
    misread = _misread(part, head, case, ctx)
    if misread is not None:
        return misread
    if metric.name != Known("accuracy") or (units or 0) < 2:
        return None
    legacy = ctx.flavour == "legacy"
    # What the experiment tests: under Keras <= 2.3 a softmax, else sigmoid units, whose
    # 'accuracy' Keras picks wrongly; a sigmoid under categorical_crossentropy is KC109's.
    expected = "softmax" if legacy else "sigmoid"
    if activation_of(head.output) != expected or loss_name(head.loss) == "categorical_crossentropy":
        return None
    info = known_labels(case.model, head)
    targets = class_targets(info, units) if info is not None else None
    if targets is None and legacy and activation_of(head.output) == "softmax":
        text = f"{label_text('onehot', units)} (a softmax: one class per sample)"
        targets = Targets(TargetPlan("onehot"), text)
    if targets is None:
        raise Unbuildable(
            "the labels are not known: what 'accuracy' should measure depends on them"
        )
    subject = subject_of(case, head)
    loss = given_loss(head.loss)
    chosen = legacy_accuracy(loss_name(loss), units)
    written = as_written(subject, head)
    if legacy:
        written = replace(written, legacy_metric=chosen)
    measure: MeasureName = "legacy_metric" if legacy else "keras_metric"
    key = "legacy_metric" if legacy else f"keras_metric/{part.metric_index}"
    view = case.ask_train(train_probe(ctx, subject, (written,), targets, (measure, "accuracy")))
    task = "per-label" if targets.plan.encoding == "multihot" else "true"
    setup = f"{targets.text}, '{loss.written}' loss, {outputs_text(head.output)}"

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        reported, true, apart, compiled = _reported_and_true(found, key, part.metric_index)
        resolved = chosen if legacy else compiled
        by = "Keras <= 2.3 resolves" if legacy else f"{ctx.keras} resolves"
        evidence = (
            f"{setup}: {by} '{metric.written}' to {resolved}, which reports {reported.text()} "
            f"on the trained model's predictions where the {task} accuracy is {true.text()}; "
            f"{len(SEEDS)} seeds{notes(case, subject, found)}"
        )
        return Verdict("confirmed" if apart else "refuted", evidence)

    return judge


def _reported_and_true(
    found: Trained, key: str, metric_index: int
) -> tuple[Series, Series, bool, str]:
    """The accuracy Keras reported and the true one on the same predictions, whether they
    are apart (the same way in every seed, by at least _DISCREPANCY), and the class the
    compiled metric resolved to."""
    reported, true = Series(found.series(0, key)), Series(found.series(0, "accuracy"))
    gaps = [r - t for r, t in zip(reported.values, true.values, strict=True)]
    one_way = all(g > 0 for g in gaps) or all(g < 0 for g in gaps)
    apart = one_way and min(abs(g) for g in gaps) >= _DISCREPANCY
    classes = found.metrics(0)
    resolved = classes[metric_index] if metric_index < len(classes) else "?"
    return reported, true, apart, resolved


def _misread(part: Part, head: Head, case: ModelCase, ctx: Context) -> Judge | None:
    """KC105 on one output under Keras 3 / tf.keras 2: an accuracy that thresholds logits at
    0.5 (a from_logits loss), compares values for equality (``keras.metrics.Accuracy()``), or
    counts -1/+1 labels as 0/1. The metric as compiled against the true accuracy, on the same
    predictions of the briefly trained model."""
    metric = part.metric
    assert metric is not None
    if ctx.flavour == "legacy" or units_of(head.output) != 1 or head.loss is None:
        return None
    thresholded = metric.name == Known("accuracy") or metric.written == "BinaryAccuracy"
    custom_threshold = metric.call is not None and metric.call.kwarg("threshold") is not None
    info = known_labels(case.model, head)
    # -1/+1 labels under a loss that takes them (hinge); under a cross-entropy they are
    # KC112's fault, not the metric's.
    signed = info is not None and info.encoding == Known("plus_minus_one")
    if signed and thresholded and not isinstance(head.loss.name, Known):
        raise Unbuildable(
            "the loss is user code (not a Keras loss): the experiment cannot train the model "
            "with it, and what its -1/+1 labels mean to it is its own"
        )
    signed = signed and loss_name(head.loss) in _SIGNED_LOSSES
    if head.loss.from_logits == Known(True) and thresholded and not custom_threshold:
        targets, reading, what = (
            Targets(TargetPlan("binary"), label_text("binary", 1)),
            "logits",
            "logits",
        )
    elif metric.written == "Accuracy" and metric.call is not None:
        targets = (class_targets(info, 1) if info is not None else None) or Targets(
            TargetPlan("binary"), label_text("binary", 1)
        )
        reading, what = "probabilities", "probabilities"
    elif signed and thresholded:
        targets = class_targets(info, 1)  # type: ignore[arg-type]
        assert targets is not None
        reading, what = "values", "-1/+1 decisions (the sign)"
    else:
        return None
    subject = subject_of(case, head)
    loss = given_loss(head.loss)
    written = replace(as_written(subject, head), reading=reading)
    key = f"keras_metric/{part.metric_index}"
    view = case.ask_train(
        train_probe(ctx, subject, (written,), targets, ("keras_metric", "accuracy"))
    )
    setup = f"{targets.text}, '{loss.written}' loss, {outputs_text(head.output)} read as {what}"

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        reported, true, apart, resolved = _reported_and_true(found, key, part.metric_index)
        evidence = (
            f"{setup}: {ctx.keras} computes '{metric.written}' as {resolved}, which reports "
            f"{reported.text()} on the trained model's predictions where the true accuracy is "
            f"{true.text()}; {len(SEEDS)} seeds{notes(case, subject, found)}"
        )
        return Verdict("confirmed" if apart else "refuted", evidence)

    return judge


def categorical_loss(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC110: binary_crossentropy on a softmax over more than two classes. Under Keras <= 2.3
    with 'accuracy': the reported against the true accuracy (KC105's experiment). Otherwise:
    trained against categorical_crossentropy, on the true cross-entropy of the predictions."""
    head = part.head
    units = units_of(head.output) if head is not None else None
    if head is None or activation_of(head.output) != "softmax" or (units or 0) <= 2:
        return None
    if loss_name(head.loss) != "binary_crossentropy":
        return None
    if ctx.flavour == "legacy":
        for index, (metric, _) in enumerate(passed_metrics(head)):
            if metric.name == Known("accuracy"):
                inner = Part(part.spans, head=head, metric=metric, metric_index=index)
                return reported_vs_true(inner, case, ctx)
    text = f"{label_text('onehot', units)} (a softmax: one class per sample)"
    targets = Targets(TargetPlan("onehot"), text)
    fix = "with loss='categorical_crossentropy'"
    return _loss_swap(
        ctx, head, case, lambda _: "categorical_crossentropy", fix, "probabilities", None, targets
    )
