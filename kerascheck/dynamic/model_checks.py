"""Experiments that read what Keras itself shows of a model as written: a constant output,
an output range, a train step's loss or error, a built shape, a name Keras rejects.

Each takes the part of the model a finding points at (``parts``), asks the model's rebuild
probe for what it needs, and returns a judge that turns the answers into a verdict with
evidence. The experiments that train a model and its fix are in ``trials``.
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
from kerascheck.dynamic.jobs import (
    CompileNameProbe,
    CompilePlan,
    LossProbe,
    ModelOutcome,
    ModelProbe,
    Outcome,
    SquashOutcome,
    SquashProbe,
    TrainStep,
)
from kerascheck.dynamic.parts import Part
from kerascheck.dynamic.plan import (
    Unbuildable,
    bare_head_plan,
    data_labels,
    default_labels,
    loss_value,
)
from kerascheck.ir import Known, LayerSpec, LossSpec, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rules._heads import Head, labels_under

_SHAPE_ARGUMENTS = ("input_shape", "input_dim", "batch_input_shape")
_CONSTANT = 1e-6  # an output that varies less than this over random inputs is constant
_SQUASH_SHARE = 0.01  # a squashed output misses more than 1 % of the range it should have
_OWN_INPUT_DIM = frozenset({"Embedding"})


def _claims(case: ModelCase, needle: str) -> tuple[str, ...]:
    built = case.built()
    if isinstance(built, str):
        return ()
    return tuple(e.message for e in built.events if needle in e.message)


def _range(low: float, high: float) -> str:
    return f"[{low:.3g}, {high:.3g}]"


# ----------------------------------------------------------------------------- outputs
def constant_output(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC101: a softmax over one unit outputs exactly 1.0 whatever the input (and what any
    activation after it makes of 1.0: a constant too)."""
    head = part.head
    if head is None:
        return None
    applied = [a.activation for a in head.output.activations] or [head.output.activation]
    if Known("softmax") not in applied:
        return None
    case.want()

    def judge() -> Verdict:
        got = case.output(head.index)
        if isinstance(got, str):
            return unverifiable(got)
        stats, samples, note = got
        if stats.high - stats.low <= _CONSTANT:
            value = "1.0" if stats.all_one else f"{stats.low:.3g}"
            evidence = f"output is constant {value} on {samples} random inputs{note}"
            return Verdict("confirmed", evidence, _claims(case, "softmax over axis"))
        span = _range(stats.low, stats.high)
        return Verdict("refuted", f"output varies over {span} on {samples} random inputs{note}")

    return judge


def probability_range(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC107: with from_logits=True, an output already in [0, 1] is squashed twice."""
    head = part.head
    if head is None or head.loss is None or head.loss.from_logits != Known(True):
        return None
    if not isinstance(head.output.activation, Known):
        return None
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


def squashed_range(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC113: the values two activations, one after the other, attain against the second
    alone (the fix: the first made linear), computed by Keras on extreme pre-activations.
    Exact; nothing is trained, and nothing of the model but the two activations is needed."""
    inner, outer = part.pair
    if part.head is None or inner is None or outer is None:
        return None
    units = part.head.output.units
    width = units.value if isinstance(units, Known) else 2  # unknown: the widest band
    index = case.ask(SquashProbe(inner, outer, width))
    over = f" over {width} units" if outer == "softmax" else ""

    def judge() -> Verdict:
        found = case.answered(index, SquashOutcome)
        if isinstance(found, str):
            return unverifiable(found)
        if found.error is not None:
            return unverifiable(f"Keras could not apply the activations: {found.error.text()}")
        both = f"[{found.low:.3g}, {found.high:.3g}]"
        alone = f"[{found.alone_low:.3g}, {found.alone_high:.3g}]"
        lost = 1 - (found.high - found.low) / (found.alone_high - found.alone_low)
        seen = (
            f"{ctx.keras}'s {outer} of {inner}{over} attains only {both} (pre-activations of "
            f"+-1e4 and 0), {outer} alone {alone}"
        )
        if lost > _SQUASH_SHARE:
            return Verdict("confirmed", f"{seen}: {lost:.0%} of the output's range is out of reach")
        return Verdict("refuted", f"{seen}: the range is kept")

    return judge


# ----------------------------------------------------------------------------- losses
def single_unit_loss(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC108: a categorical loss on one unit is 0 (nothing to learn) or fails."""
    head = part.head
    if head is None or head.loss is None:
        return None
    written = head.loss.written
    train = _head_step(head, case) if len(case.model.outputs) > 1 else None
    if train is None:
        case.want()

    def judge() -> Verdict:
        got = train() if train is not None else case.train(allow_head=True)
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


def _head_step(head: Head, case: ModelCase) -> Callable[[], tuple[TrainStep, str] | str]:
    """One output of a multi-output model, alone with its own loss: a train step."""
    assert head.loss is not None
    try:
        plan = bare_head_plan(case.model, head.index)
        loss = loss_value(head.loss)
    except Unbuildable as exc:
        reason = str(exc)
        return lambda: reason
    compiled = CompilePlan(loss, (), "rmsprop", default_labels(head.loss))
    index = case.ask(ModelProbe(None, plan, compiled))
    note = " (output layer rebuilt alone: a multi-output model)"

    def step() -> tuple[TrainStep, str] | str:
        found = case.answered(index, ModelOutcome)
        if isinstance(found, str):
            return found
        alone = found.head
        if alone is None or alone.train is None:
            return case.why_not(alone)
        return alone.train, note

    return step


# ----------------------------------------------------------------------------- labels
def label_encoding(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC112: a train step on labels encoded as the IR says the data is."""
    info = part.labels
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
        note = case.note(built)
        if step.error is not None:
            return Verdict("confirmed", f"{shapes}: {ctx.keras} raised {step.error.text()}{note}")
        return Verdict("refuted", f"{ctx.keras} trained a step on {shapes} without an error{note}")

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
        outcome = case.answered(index, Outcome)
        if isinstance(outcome, str):
            return unverifiable(outcome)
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
def ignored_input_shape(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC301: the input shape a later layer states against the one it receives. Keras
    ignores the stated one: a fault where they differ (what the author set is lost), none
    where the layer receives that shape anyway."""
    layer = case.model.layers[part.layer]
    names = [n for n in _SHAPE_ARGUMENTS if layer.call is not None and layer.call.kwarg(n)]
    if layer.class_name in _OWN_INPUT_DIM:  # an Embedding's input_dim is its vocabulary
        names = [n for n in names if n != "input_dim"]
    if not names or layer.is_first or case.model.kind != "sequential":
        return None
    name = names[0]
    stated = _stated(layer, name)
    case.want()

    def judge() -> Verdict:
        built = case.built()
        if isinstance(built, str):
            return unverifiable(built)
        received = built.layer_inputs[layer.position] if built.input_shape else None
        if received is None:
            return unverifiable(case.why_not(built))
        at = f"the {layer.class_name} at position {layer.position + 1}"
        note = case.note(built)
        if stated is not None and stated == received[1:]:
            return Verdict(
                "refuted",
                f"{at} receives {received}, the shape its {name}= states: Keras ignores it, "
                f"and nothing is lost{note}",
            )
        says = f"states {stated} but " if stated is not None else ""
        evidence = (
            f"the built model's input is {built.input_shape}; {at} {says}receives {received} "
            f"from the layer before it, and Keras ignores its {name}={note}"
        )
        return Verdict("confirmed", evidence, _claims(case, "Do not pass an `input_shape`"))

    return judge


def _stated(layer: LayerSpec, name: str) -> tuple[int | None, ...] | None:
    """One sample's shape as the argument states it, when it is a literal."""
    arg = layer.call.kwarg(name) if layer.call is not None else None
    value = arg.value.value if arg is not None and isinstance(arg.value, Known) else None
    if name == "input_dim":
        return (value,) if isinstance(value, int) and not isinstance(value, bool) else None
    if not isinstance(value, (tuple, list)) or not all(
        v is None or isinstance(v, int) for v in value
    ):
        return None
    shape = tuple(value)
    return shape[1:] if name == "batch_input_shape" else shape


def output_rank(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC303: a Dense on a feature map predicts once per position, on a sequence once per
    step: not once per sample, as a classifier's labels are."""
    layer = case.model.layers[part.layer]
    if layer.class_name != "Dense":
        return None
    # A per-position Dense is legitimate in a regression or segmentation head: the experiment
    # tests classifiers (a cross-entropy loss), as the rule does.
    probabilistic = load().probabilistic_losses
    losses = [x.name for spec in case.model.judged_compiles for _, x in spec.losses]
    if not any(isinstance(n, Known) and n.value in probabilistic for n in losses):
        return None
    per_sample = _per_sample_labels(case.model)
    case.want()

    def judge() -> Verdict:
        built = case.built()
        if isinstance(built, str):
            return unverifiable(built)
        position = layer.position
        outputs, inputs = built.layer_outputs, built.layer_inputs
        shape = outputs[position] if position < len(outputs) else None
        if shape is None:
            return unverifiable(case.why_not(built))
        received = inputs[position]
        note = case.note(built)
        said = f"the Dense receives {received} and outputs {shape}"
        if len(shape) <= 2:
            return Verdict("refuted", f"{said}: one prediction per sample{note}")
        if len(shape) == 3 and per_sample is None:
            return unverifiable(
                f"{said}: one prediction per step, which a sequence tagger wants; whether the "
                "labels are one per sample is not known"
            )
        labels = f"; the `{per_sample}` labels are one per sample" if per_sample else ""
        unit = "step" if len(shape) == 3 else "position"
        evidence = (
            f"{said}: one prediction per {unit}, not per sample{labels}; the model outputs "
            f"{built.output_shapes[0]}{note}"
        )
        return Verdict("confirmed", evidence)

    return judge


def _per_sample_labels(model: ModelSpec) -> str | None:
    """A keras.datasets classification set whose labels (one per sample) the model is
    trained or evaluated on."""
    datasets = load().datasets
    for spec in model.judged_compiles:
        for labels in labels_under(model, spec):
            name = labels.dataset.value if isinstance(labels.dataset, Known) else None
            known = datasets.get(name) if name is not None else None
            encoded = labels.encoding in (Known("integer"), Known("onehot"))
            if known is not None and known.classes is not None and encoded:
                return name
    return None


# ----------------------------------------------------------------------------- names
def compile_name(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC203 on a compile(): the loss, metric or optimizer name compiled on a tiny model."""
    if part.name is None:
        return None
    role, name = part.name
    index = case.ask(CompileNameProbe(role, name))  # type: ignore[arg-type]
    accepted = f"compiles and trains with {role} '{name}'"
    return lambda: judge_named(case.answer(index), (name,), ctx, accepted)


Check = Callable[[Part, ModelCase, Context], Judge | None]
