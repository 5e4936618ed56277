"""Checks of findings that belong to a model: what to ask the worker, and how to read it.

Each check finds the part of the model its finding points at (by span), asks for probes,
and returns a judge that turns the answers into a verdict with evidence.
"""

from __future__ import annotations

from collections.abc import Callable

from kerascheck.dynamic.cases import (
    Context,
    Judge,
    ModelCase,
    Verdict,
    fixed,
    judge_named,
    unverifiable,
)
from kerascheck.dynamic.jobs import CompileNameProbe, JobFailed, LossProbe, Outcome
from kerascheck.dynamic.owners import same
from kerascheck.dynamic.plan import Unbuildable, data_labels, loss_value
from kerascheck.ir import DataInfo, Finding, Known, LossSpec, ModelSpec, Span
from kerascheck.rules._heads import Head, heads

# Codes with no run-time evidence, and why.
NO_CHECK = {
    "KC102": "whether the target is continuous depends on the data",
    "KC103": "the target's range depends on the data",
    "KC109": "a categorical loss on sigmoid units trains without an error; the harm shows "
    "only in what the model learns",
    "KC110": "a binary loss on a softmax output trains without an error; the harm shows "
    "only in what the model learns",
    "KC111": "the loss accepts a non-probability output without an error; the harm shows "
    "only in what the model learns",
    "KC302": "stacked linear layers build and train without an error; the lost capacity "
    "shows only on real data",
    "KC4": "depends on data",
}
_ACCURACIES = frozenset({"BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy"})
_SHAPE_ARGUMENTS = ("input_shape", "input_dim", "batch_input_shape")


def no_check(code: str) -> Verdict:
    for prefix, reason in NO_CHECK.items():
        if code.startswith(prefix):
            label = "KC4xx" if prefix == "KC4" else code
            return unverifiable(f"no dynamic check for {label}: {reason}")
    return unverifiable(f"no dynamic check for {code}")


def _lost() -> Judge:
    return fixed(unverifiable("the finding does not point at a part of the model the check knows"))


def _claims(case: ModelCase, needle: str) -> tuple[str, ...]:
    built = case.built()
    if isinstance(built, str):
        return ()
    return tuple(e.message for e in built.events if needle in e.message)


def _head_at(
    model: ModelSpec, finding: Finding, part: Callable[[Head], Span | None]
) -> Head | None:
    return next((h for h in heads(model) if same(finding.span, part(h))), None)


def _loss_span(head: Head) -> Span | None:
    return head.loss.span if head.loss is not None else None


def _range(low: float, high: float) -> str:
    return f"[{low:.3g}, {high:.3g}]"


# ----------------------------------------------------------------------------- outputs
def softmax_single_unit(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    head = _head_at(case.model, finding, lambda h: h.output.activation_span)
    if head is None:
        return _lost()
    case.want()

    def judge() -> Verdict:
        got = case.output(head.index)
        if isinstance(got, str):
            return unverifiable(got)
        stats, samples, note = got
        if stats.all_one:
            evidence = f"output is constant 1.0 on {samples} random inputs{note}"
            return Verdict("confirmed", evidence, _claims(case, "softmax over axis"))
        span = _range(stats.low, stats.high)
        return Verdict("refuted", f"output varies over {span} on {samples} random inputs{note}")

    return judge


def logits_without_from_logits(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    head = _head_at(case.model, finding, _loss_span)
    if head is None or head.loss is None:
        return _lost()
    written = head.loss.written
    case.want()

    def judge() -> Verdict:
        got = case.output(head.index)
        if isinstance(got, str):
            return unverifiable(got)
        stats, samples, note = got
        seen = f"output ranges over {_range(stats.low, stats.high)} on {samples} random inputs"
        if stats.low < 0 or stats.high > 1:
            return Verdict(
                "confirmed", f"{seen}; '{written}' expects probabilities in [0, 1]{note}"
            )
        return Verdict("refuted", f"{seen}: within [0, 1], as probabilities are{note}")

    return judge


def from_logits_on_probabilities(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    head = _head_at(case.model, finding, _loss_span)
    if head is None or not isinstance(head.output.activation, Known):
        return _lost()
    activation = head.output.activation.value
    case.want()

    def judge() -> Verdict:
        got = case.output(head.index)
        if isinstance(got, str):
            return unverifiable(got)
        stats, samples, note = got
        seen = f"output lies in {_range(stats.low, stats.high)} on {samples} random inputs"
        if stats.low >= 0 and stats.high <= 1:
            evidence = (
                f"{seen}: it is already a probability, and from_logits=True applies "
                f"{activation} a second time{note}"
            )
            return Verdict("confirmed", evidence, _claims(case, "from_logits=True"))
        return Verdict("refuted", f"{seen}: not a probability, so from_logits=True fits it{note}")

    return judge


# ----------------------------------------------------------------------------- losses
def categorical_loss_single_unit(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    head = _head_at(case.model, finding, _loss_span)
    if head is None or head.loss is None:
        return _lost()
    written = head.loss.written
    case.want()

    def judge() -> Verdict:
        got = case.train(allow_head=True)
        if isinstance(got, str):
            return unverifiable(got)
        step, note = got
        shapes = f"output (None, 1), labels {step.labels_shape}"
        if step.error is not None:
            return Verdict("confirmed", f"{shapes}: {ctx.keras} raised {step.error.text()}{note}")
        if step.loss is not None and abs(step.loss) < 1e-6:
            value = "exactly 0" if step.loss == 0 else f"{step.loss:.2g}"
            evidence = f"{shapes}: '{written}' is {value} on a train step: nothing is learnt{note}"
            return Verdict("confirmed", evidence, _claims(case, "expected y_pred.shape"))
        return Verdict("refuted", f"{shapes}: '{written}' is {step.loss:.3g} on a train step{note}")

    return judge


def _metric_index(finding: Finding, case: ModelCase) -> tuple[int, str] | None:
    parts = case.compile_parts
    if parts is None:
        return None
    for index, metric in enumerate(parts.metrics):
        if same(finding.span, metric.span):
            return index, metric.written
    return None


def _resolved_metric(case: ModelCase, index: int) -> tuple[str, str] | str:
    """The metric class Keras resolved, and the shapes it resolved it for."""
    got = case.train(allow_head=False)
    if isinstance(got, str):
        return got
    step, _ = got
    if step.error is not None:
        return f"the train step failed: {step.error.text()}"
    if index >= len(step.metrics):
        return "Keras did not report the metric"
    built = case.built()
    shape = built.output_shapes[0] if not isinstance(built, str) and built.output_shapes else "?"
    return step.metrics[index], f"output {shape} and labels {step.labels_shape}"


def accuracy_ambiguous(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    found = _metric_index(finding, case)
    if found is None:
        return fixed(unverifiable(case.compile_reason or "the metric is not compiled"))
    index, written = found
    case.want()

    def judge() -> Verdict:
        resolved = _resolved_metric(case, index)
        if ctx.flavour == "legacy":
            tail = (
                f" and resolves '{written}' to {resolved[0]}" if isinstance(resolved, tuple) else ""
            )
            return unverifiable(
                f"Keras <= 2.3 chose the accuracy from the loss; the installed {ctx.keras} "
                f"chooses it from shapes{tail}"
            )
        if isinstance(resolved, str):
            return unverifiable(resolved)
        metric, shapes = resolved
        evidence = f"{ctx.keras} resolved '{written}' to {metric} for {shapes}"
        if metric == "BinaryAccuracy":
            return Verdict("refuted", f"{evidence}, which is per-label accuracy")
        return Verdict("confirmed", evidence)

    return judge


def accuracy_on_regression(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    found = _metric_index(finding, case)
    if found is None or case.compile_parts is None:
        return fixed(unverifiable(case.compile_reason or "the metric is not compiled"))
    index, written = found
    loss = case.compile_parts.loss.written
    case.want()

    def judge() -> Verdict:
        resolved = _resolved_metric(case, index)
        if isinstance(resolved, str):
            return unverifiable(resolved)
        metric, shapes = resolved
        evidence = (
            f"{ctx.keras} resolved '{written}' to {metric} under the '{loss}' loss ({shapes})"
        )
        if metric in _ACCURACIES:
            return Verdict("confirmed", f"{evidence}: a class-match accuracy")
        return Verdict("refuted", evidence)

    return judge


# ----------------------------------------------------------------------------- labels
def _fitted_labels(finding: Finding, model: ModelSpec) -> DataInfo | None:
    for fit in model.fits:
        y = fit.call.argument("y", 1)
        if same(finding.span, y.span if y is not None else fit.span):
            return fit.y
        if same(finding.span, fit.validation_y.span):
            return fit.validation_y
    return None


def label_encoding_mismatch(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    info = _fitted_labels(finding, case.model)
    loss = case.compile_parts.loss if case.compile_parts is not None else None
    if info is None or loss is None:
        return fixed(unverifiable(case.compile_reason or "the labels are not known"))
    labels = data_labels(info)
    if labels is None:
        return fixed(unverifiable("the labels' encoding is not known"))
    if labels.encoding == "plus_minus_one":
        return _negative_loss(loss, case, ctx)
    extra = case.add_labels(labels)

    def judge() -> Verdict:
        step = case.extra_step(extra)
        if isinstance(step, str):
            return unverifiable(step)
        built = case.built()
        shape = built.output_shapes[0] if not isinstance(built, str) else "?"
        shapes = f"labels {step.labels_shape} against output {shape}"
        if step.error is not None:
            return Verdict("confirmed", f"{shapes}: {ctx.keras} raised {step.error.text()}")
        return Verdict("refuted", f"{ctx.keras} trained a step on {shapes} without an error")

    return judge


def _negative_loss(loss: LossSpec, case: ModelCase, ctx: Context) -> Judge:
    """-1/+1 labels: the loss of a -1 label has no lower bound, so training chases it."""
    try:
        value = loss_value(loss)
    except Unbuildable as exc:
        return fixed(unverifiable(str(exc)))
    probe = LossProbe(value, loss.from_logits == Known(True), -1.0, (0.1, 0.01))
    index = case.ask(probe)

    def judge() -> Verdict:
        outcome = case.answer(index)
        if isinstance(outcome, JobFailed):
            return unverifiable(outcome.reason)
        assert isinstance(outcome, Outcome)
        if outcome.error is not None:
            return unverifiable(f"Keras could not evaluate the loss: {outcome.error.text()}")
        high, low = outcome.value("0.1"), outcome.value("0.01")
        seen = (
            f"{ctx.keras}'s '{loss.written}' on a -1 label is {high:.3g} at p=0.1 and "
            f"{low:.3g} at p=0.01"
        )
        if min(high, low) < 0:
            return Verdict(
                "confirmed",
                f"{seen}: unbounded below, so training drives it down instead "
                "of fitting the labels",
            )
        return Verdict("refuted", f"{seen}: not negative")

    return judge


# ----------------------------------------------------------------------------- architecture
def input_shape_non_first(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    found = None
    for layer in case.model.layers:
        for name in _SHAPE_ARGUMENTS:
            arg = layer.call.kwarg(name) if layer.call is not None else None
            if arg is not None and same(finding.span, arg.keyword_span or arg.span):
                found = layer, name
    if found is None:
        return _lost()
    layer, name = found
    case.want()

    def judge() -> Verdict:
        built = case.built()
        if isinstance(built, str):
            return unverifiable(built)
        received = built.layer_inputs[layer.position] if built.input_shape else None
        if received is None:
            return unverifiable(case.why_not(built))
        evidence = (
            f"the built model's input is {built.input_shape}; the {layer.class_name} at "
            f"position {layer.position + 1} receives {received} from the layer before it, "
            f"and Keras ignores its {name}="
        )
        return Verdict("confirmed", evidence, _claims(case, "Do not pass an `input_shape`"))

    return judge


def missing_flatten(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    if not any(same(finding.span, layer.span) for layer in case.model.layers):
        return _lost()
    case.want()

    def judge() -> Verdict:
        built = case.built()
        if isinstance(built, str):
            return unverifiable(built)
        if not built.output_shapes:
            return unverifiable(case.why_not(built))
        shape = built.output_shapes[0]
        if len(shape) > 2:
            evidence = (
                f"the built model outputs {shape}: one prediction per position, not per sample"
            )
            return Verdict("confirmed", evidence)
        return Verdict("refuted", f"the built model outputs {shape}: one prediction per sample")

    return judge


# ----------------------------------------------------------------------------- names
def unknown_compile_name(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    spec = case.model.compile
    if spec is None:
        return _lost()
    named: list[tuple[str, str, Span]] = [("loss", x.written, x.span) for _, x in spec.losses]
    named += [("metric", m.written, m.span) for _, m in spec.metrics]
    optimizer = spec.optimizer
    if optimizer is not None and isinstance(optimizer.name, Known):
        named.append(("optimizer", optimizer.name.value, optimizer.span))
    found = next(((r, n) for r, n, s in named if same(finding.span, s)), None)
    if found is None:
        return _lost()
    role, name = found
    index = case.ask(CompileNameProbe(role, name))  # type: ignore[arg-type]
    accepted = f"compiles and trains with {role} '{name}'"
    return lambda: judge_named(case.answer(index), (name,), ctx, accepted)


CHECKS: dict[str, Callable[[Finding, ModelCase, Context], Judge]] = {
    "KC101": softmax_single_unit,
    "KC104": accuracy_on_regression,
    "KC105": accuracy_ambiguous,
    "KC106": logits_without_from_logits,
    "KC107": from_logits_on_probabilities,
    "KC108": categorical_loss_single_unit,
    "KC112": label_encoding_mismatch,
    "KC203": unknown_compile_name,
    "KC301": input_shape_non_first,
    "KC303": missing_flatten,
}


def prepare(finding: Finding, case: ModelCase, ctx: Context) -> Judge:
    check = CHECKS.get(finding.code)
    if check is None:
        return fixed(no_check(finding.code))
    return check(finding, case, ctx)
