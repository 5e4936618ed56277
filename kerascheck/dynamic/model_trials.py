"""Experiments on a model's architecture and training: stacked linear layers (KC302), raw
0-255 inputs (KC401), an extreme learning rate (KC402), validation on the training data
(KC403), extreme or misplaced dropout (KC404). Shared machinery: ``trials``; docs/dynamic.md
gives each one's setup and threshold.
"""

from __future__ import annotations

from dataclasses import replace

from kerascheck.dynamic.cases import Context, Judge, ModelCase, Verdict, fixed, unverifiable
from kerascheck.dynamic.compare import LOSS, Outcome, Series
from kerascheck.dynamic.jobs import (
    AffineOutcome,
    AffineProbe,
    GraphPlan,
    MeasureName,
    ResplitProbe,
)
from kerascheck.dynamic.jobs import Outcome as ProbeOutcome
from kerascheck.dynamic.parts import Part
from kerascheck.dynamic.plan import Unbuildable, layer_plan, optimizer_value
from kerascheck.dynamic.trials import (
    SEEDS,
    STEPS,
    Targets,
    Training,
    compared,
    informative,
    known_labels,
    notes,
    subject_of,
    targets_for,
    train_probe,
    trained,
    training_of,
    units_of,
    variant,
)
from kerascheck.dynamic.variants import (
    move_before,
    optimizer_with_rate,
    set_argument,
)
from kerascheck.ir import CompileSpec, DataInfo, Known, LayerSpec, Lineage, ModelSpec, RunSpec, Span
from kerascheck.knowledge import load
from kerascheck.rule import RuleContext
from kerascheck.rules.kc402_learning_rate_out_of_range import rate_problem

_AFFINE_TOLERANCE = 1e-4  # float32 arithmetic's relative deviation from one affine map
_LEAK_NOISE = 0.5  # the share of noise in the targets of the validation-leak experiment


def composed_linear_map(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC302: a Dense layer and the Dense it feeds (through layers that are affine at
    inference), up to that one's activation: one affine map x W + b? Exact: W is read off
    the unit vectors, then checked on random inputs. In a network with an activation
    elsewhere the missing one is the fault; in an all-linear network only a pair that is no
    bottleneck is (rank of W as high as its shape allows: the hidden layer adds nothing),
    a narrower hidden layer being a deliberate low-rank map (an autoencoder's code)."""
    model = case.model
    layer = model.layers[part.layer]
    if layer.class_name != "Dense" or layer.call is None or layer.activation != Known(None):
        return None
    path = _path_to_next_dense(model, part.layer)
    if path is None or id(layer.call) in ctx.linear_outputs:
        return None  # a model of the module outputs it as it is: a deliberate linear code
    nonlinear = any(isinstance(x.activation, Known) and x.activation.value for x in model.layers)
    if not nonlinear and _trained_on_its_input(model):
        return None  # a linear autoencoder: deliberate
    if not nonlinear:
        case.want()  # its input and output widths tell a linear autoencoder
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
        found = case.answered(index, AffineOutcome)
        if isinstance(found, str):
            return unverifiable(found)
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
        seen = (
            f"{names} (before its activation), applied to {width} {where}, compute one affine "
            f"map x W + b (relative deviation {found.deviation:.1g} on 64 random inputs); W is "
            f"{width}x{out} of rank {found.rank}"
        )
        if not nonlinear and _as_wide_as_its_input(case, model):
            return Verdict(
                "refuted",
                f"{seen}: a network without activations whose output is as wide as its input "
                "around a narrower layer is a linear autoencoder, which is deliberate",
            )
        if not nonlinear and found.rank < min(width, out):
            return Verdict(
                "refuted",
                f"{seen}: in a network without activations, a bottleneck of rank "
                f"{found.rank} is a deliberate low-rank map, which no single Dense makes",
            )
        return Verdict(
            "confirmed",
            f"{seen}: a single Dense({out}) computes the same map with {weights}",
        )

    return judge


def _trained_on_its_input(model: ModelSpec) -> bool:
    """fit(x, x): trained to give back its input."""
    for run in model.fits:
        x, y = run.call.argument("x", 0), run.call.argument("y", 1)
        if x is not None and y is not None and x.source is not None and x.source == y.source:
            return True
    return False


def _as_wide_as_its_input(case: ModelCase, model: ModelSpec) -> bool:
    """The built model's output is as wide as its input, with a narrower Dense inside."""
    built = case.built()
    if isinstance(built, str) or built.stand_in or not built.input_shape:
        return False
    if not built.output_shapes:
        return False
    width, out = built.input_shape[-1], built.output_shapes[0][-1]
    units = [x.units.value for x in model.layers if isinstance(x.units, Known)]
    return width is not None and width == out and bool(units) and min(units) < width


def _units_text(layer: LayerSpec) -> str:
    return str(layer.units.value) if isinstance(layer.units, Known) else "?"


def _passes_linearly(layer: LayerSpec) -> bool:
    """Adds no nonlinearity at inference: dropout-like and identity layers, Batch-
    Normalization (affine at inference), Activation('linear')."""
    if layer.class_name in load().transparent_layers or layer.class_name == "BatchNormalization":
        return True
    return layer.class_name == "Activation" and layer.activation == Known(None)


def _path_to_next_dense(model: ModelSpec, index: int) -> list[int] | None:
    """The layers after ``index`` up to the Dense it feeds, through layers that pass it on
    linearly, each the single consumer of the one before; None when it feeds no Dense."""
    path: list[int] = []
    current = index
    while True:
        if model.is_chain:
            current += 1
            if current >= len(model.layers):
                return None
        else:
            consumers = {c for p, c in model.edges if p == current}
            if len(consumers) != 1 or min(consumers) < 0:
                return None
            (current,) = consumers
        path.append(current)
        layer = model.layers[current]
        if layer.class_name == "Dense":
            return path
        if not _passes_linearly(layer):
            return None


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
    units = units_of(model.outputs[0]) if len(model.outputs) == 1 else None
    info = part.labels if part.labels is not None and informative(part.labels) else None
    if info is None and part.head is not None:
        info = known_labels(model, part.head)
    found = targets_for(info, training.name, units)
    takes = _TAKES.get(training.name or "")
    if takes is not None and found.plan.encoding not in takes:
        found = targets_for(None, training.name, units)
    if noise:
        found = Targets(replace(found.plan, noise=noise), f"{found.text}, {noise:.0%} of it noise")
    return found


def training_note(training: Training) -> str:
    return f" ({training.note})" if training.note else ""


def scaled_input(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC401: raw 0-255 inputs against the same inputs divided by 255, trained with the
    written loss and optimizer."""
    run = part.run
    if run is None or run.x.scaled != Known("raw_0_255"):
        return None
    training = training_of(case.model, _compile_at(case.model, run), run.y)
    subject = subject_of(case)
    targets = _run_targets(case, part, training)
    optimizer = training.optimizer if training.optimizer is not None else "adam"
    loss = training.loss
    written = variant("as written", subject.graph, loss, optimizer=optimizer)
    scaled = variant("scaled", subject.graph, loss, optimizer=optimizer, input_scale=1 / 255)
    measures: tuple[MeasureName, ...] = ("loss", "accuracy") if targets.classes else ("loss",)
    probe = train_probe(ctx, subject, (written, scaled), targets, measures, pixels=True)
    setup = f"synthetic 0-255 images, {targets.text}, '{training.name}'{training_note(training)}"
    shown = (("accuracy", "accuracy"),) if targets.classes else ()
    fix = "with the inputs divided by 255"
    return compared(case, subject, probe, LOSS, "loss", setup, fix, shown)


def usual_rate(optimizer: str) -> float:
    """The rate KC402's fix uses: Keras's default (0.001), and 0.01 for SGD (its default)."""
    return 0.01 if optimizer == "SGD" else 0.001


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
    if (
        ctx.module is None
        or rate_problem(case.model, spec, RuleContext(ctx.module, ctx.flavour)) is None
    ):
        return None  # not a rate KC402 reports
    written_optimizer = optimizer_value(optimizer)
    if written_optimizer is None:
        raise Unbuildable("the optimizer cannot be rebuilt as written")
    training = training_of(case.model, spec)
    subject = subject_of(case)
    targets = _run_targets(case, part, training)
    changed = optimizer_with_rate(written_optimizer, usual)
    written = variant("as written", subject.graph, training.loss, optimizer=written_optimizer)
    fix = variant("usual", subject.graph, training.loss, optimizer=changed)
    probe = train_probe(ctx, subject, (written, fix), targets, ("loss", "initial_loss"))
    setup = f"{targets.text}, '{training.name}', {name} at {float(rate):g}"
    shown = (("loss before training", "initial_loss"),)
    return compared(case, subject, probe, LOSS, "loss", setup, f"at {usual:g}", shown)


def held_out_validation(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC403: validation or evaluation on the training data (or training on the test split):
    the loss on data the model trained on against its loss on fresh data of the same task.
    A ``take``/``skip`` split of a dataset that reshuffles: the samples the two parts share
    (``resplit_overlap``)."""
    run = part.run
    if run is None:
        return None
    resplit = _resplit(run)
    if resplit is not None:
        return resplit_overlap(case, ctx)
    if not _leaks(case.model, run):
        return _other_leak(run)
    fit = run if run.kind == "train" else _last_fit(case.model, run)
    if fit is None:
        return None
    training = training_of(case.model, _compile_at(case.model, fit), fit.y)
    subject = subject_of(case)
    targets = _run_targets(case, part, training, noise=_LEAK_NOISE)
    written = variant("as written", subject.graph, training.loss)
    view = case.ask_train(train_probe(ctx, subject, (written,), targets, ("loss", "heldout_loss")))
    setup = f"{targets.text}{training_note(training)}"
    reports = {
        "train": "what this validation reports",
        "evaluate": "what it reports",
        "predict": "where the predictions are scored",
    }[run.kind]

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        held, seen = Series(found.series(0, "heldout_loss")), Series(found.series(0, "loss"))
        outcome = Outcome(held, seen, LOSS)
        why = "lower in every seed" if outcome.worse else outcome.why().replace("worse", "lower")
        evidence = (
            f"{setup}: loss {seen.text()} on the data it trained on ({reports}) vs "
            f"{held.text()} on fresh samples of the same task; {STEPS} steps, "
            f"{len(SEEDS)} seeds: the reported loss is {why}{notes(case, subject, found)}"
        )
        return Verdict("confirmed" if outcome.worse else "refuted", evidence)

    return judge


def _leaks(model: ModelSpec, run: RunSpec) -> bool:
    """The rule's premise as the IR shows it: validation_data are the training arrays or
    rows of them (a generator reading the same files), validation_split on a test split, or
    an evaluation of the samples an earlier fit() trained on."""
    if run.kind in ("evaluate", "predict"):
        trained = [f.x.lineage for f in _fits_before(model, run) if f.x.lineage is not None]
        # A figure the code names a training one, or one next to an evaluation on other
        # data (a train/test comparison), is no leak.
        compared = any(
            other.kind == "evaluate" and not _within(other.x, trained) for other in model.runs
        )
        return _within(run.x, trained) and "train" not in run.named and not compared
    if run.kind != "train":
        return False
    if run.call.kwarg("validation_split") is not None and run.x.split == Known("test"):
        return True
    x, y = run.call.argument("x", 0), run.call.argument("y", 1)
    validation = run.call.kwarg("validation_data")
    if validation is None:
        return False
    named = x is not None and y is not None and x.source is not None and y.source is not None
    if named and validation.element_sources[:2] == (x.source, y.source):  # type: ignore[union-attr]
        return True
    return run.x.lineage is not None and _within(run.validation_x, [run.x.lineage])


def _within(info: DataInfo, trained: list[Lineage]) -> bool:
    lineage = info.lineage
    return lineage is not None and any(lineage.within(t) for t in trained)


def _fits_before(model: ModelSpec, run: RunSpec) -> list[RunSpec]:
    found: list[RunSpec] = []
    for event in model.events:
        if event is run:
            break
        if isinstance(event, RunSpec) and event.kind == "train":
            found.append(event)
    return found


def _last_fit(model: ModelSpec, run: RunSpec) -> RunSpec | None:
    fits = _fits_before(model, run)
    return fits[-1] if fits else None


def _resplit(run: RunSpec) -> Span | None:
    for info in (run.x, run.validation_x):
        if info.pipeline is not None and info.pipeline.resplit is not None:
            return info.pipeline.resplit
    return None


def _other_leak(run: RunSpec) -> Judge | None:
    """What no experiment measures, said exactly: the other ways held-out data is shaped
    by the training data."""
    held = run.validation_x if run.kind == "train" else run.x
    pipeline = held.pipeline
    if pipeline is not None and pipeline.augments == Known(True):
        return fixed(
            unverifiable(
                "how much random augmentation lowers the validation metrics depends on the "
                "images and the transformations' ranges, which synthetic data cannot stand in for"
            )
        )
    lineage = held.lineage
    while lineage is not None:
        if lineage.duplicated:
            return fixed(
                unverifiable(
                    "how many held-out rows copy training rows depends on how many rows there "
                    "were before oversampling, which the IR does not know"
                )
            )
        lineage = lineage.parent
    if any(step.fitted_on is not None for step in held.preprocessing):
        return fixed(
            unverifiable(
                "what a preprocessing step fitted on the held-out rows changes depends on how "
                "they differ from the training rows: synthetic samples of one distribution "
                "do not differ, so they cannot show it"
            )
        )
    return None


def resplit_overlap(case: ModelCase, ctx: Context) -> Judge:
    """take()/skip() after a shuffle() that reshuffles: the held-out part of one pass
    against the training part of another, as tf.data yields them."""
    index = case.ask(ResplitProbe())

    def judge() -> Verdict:
        found = case.answered(index, ProbeOutcome)
        if isinstance(found, str):
            return unverifiable(found)
        if found.error is not None:
            return unverifiable(f"TensorFlow raised {found.error.text()}")
        shared, held = found.value("shared"), found.value("held")
        evidence = (
            f"a tf.data dataset of {found.value('samples')} ids, shuffle() then take("
            f"{found.value('taken')}) / skip(): {shared} of the {held} held-out ids of the "
            "second pass were in the training part of the first"
        )
        if shared:
            return Verdict("confirmed", f"{evidence}: the model trains on what it is validated on")
        return Verdict("refuted", f"{evidence}: the parts stay apart")

    return judge


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
        subject = subject_of(case)
        changed = set_argument(subject.graph, part.layer, "rate", 0.5)
        if layer.call.kwarg("rate") is None:  # written positionally: replace it there
            changed = _positional_rate(subject.graph, part.layer, 0.5)
        fix = "with a rate of 0.5"
    elif last and trained:
        subject = subject_of(case)
        kept = [i for i, x in enumerate(model.layers) if x.class_name not in k.transparent_layers]
        changed = move_before(subject.graph, part.layer, max(kept))
        fix = "with the dropout before the output layer"
    else:
        return None
    fitted = model.fits[0].y if model.fits else None
    training = training_of(model, model.compile, fitted)
    targets = _run_targets(case, part, training)
    written = variant("as written", subject.graph, training.loss)
    fixed = variant("fixed", changed, training.loss)
    measures: tuple[MeasureName, ...] = ("loss", "accuracy") if targets.classes else ("loss",)
    probe = train_probe(ctx, subject, (written, fixed), targets, measures)
    setup = f"{targets.text}{training_note(training)}; loss without dropout (what it learnt)"
    shown = (("accuracy", "accuracy"),) if targets.classes else ()
    return compared(case, subject, probe, LOSS, "loss", setup, fix, shown)


def _positional_rate(graph: GraphPlan, position: int, rate: float) -> GraphPlan:
    layers = []
    for layer in graph.layers:
        if layer.position == position and layer.construct.args:
            construct = layer.construct
            layer = replace(layer, construct=replace(construct, args=(rate, *construct.args[1:])))
        layers.append(layer)
    return replace(graph, layers=tuple(layers))


# Each input scale kerascheck follows, as an affine map of raw 0-255 pixels (scale, shift);
# synthetic pixels are uniform over 0-255 (mean 127.5, standard deviation 73.6). caffe
# subtracts each channel's ImageNet mean (BGR 103.939, 116.779, 123.68: 114.8 on average);
# torch divides by 255, subtracts the mean 0.449 and divides by the std 0.226 (averaged).
_PIXEL_SCALES: dict[str, tuple[float, float]] = {
    "raw_0_255": (1.0, 0.0),
    "unit": (1 / 255, 0.0),
    "half_255": (1 / 127.5, 0.0),
    "minus_one_one": (1 / 127.5, -1.0),
    "centered": (1.0, -127.5),
    "standardized": (1 / 73.6, -127.5 / 73.6),
    "caffe": (1.0, -114.8),
    "torch": (1 / (255 * 0.226), -0.449 / 0.226),
}

_SCALE_NAMES = {
    "raw_0_255": "raw 0-255 values",
    "unit": "values in [0, 1]",
    "half_255": "values divided by 127.5",
    "minus_one_one": "values in [-1, 1]",
    "centered": "centred values",
    "standardized": "standardised values",
    "caffe": "caffe-style values (mean subtracted)",
    "torch": "torch-style values (standardised by ImageNet's mean and std)",
}


def _scales_itself(model: ModelSpec) -> bool:
    """The model may scale its own input (KC405's premise: a scaling layer, or a layer or
    operation the IR does not know)."""
    if model.kind not in ("sequential", "functional") or not model.complete:
        return True
    scaling = ("Rescaling", "Normalization", "Lambda")
    if any(layer.class_name in scaling or not layer.known_layer for layer in model.layers):
        return True
    return any(consumer == -1 for _, consumer in model.edges)


def _pixel_scale(info: DataInfo) -> str | None:
    value = info.scaled.value if isinstance(info.scaled, Known) else None
    if isinstance(value, str) and value.startswith("preprocess_input:"):
        value = load().preprocess_input_scales.get(value.partition(":")[2])
    return value if isinstance(value, str) else None


def scale_mismatch(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC405: trained on one scale, then given samples on another: the loss on fresh
    samples on the other scale against the same samples on the training scale."""
    run = part.run
    if run is None:
        return None
    fit, given = (
        (run, run.validation_x) if run.kind == "train" else (_last_fit(case.model, run), run.x)
    )
    if fit is None:
        return None
    if _scales_itself(case.model):
        return None  # the scale outside the model is then the model's business
    trained_on, other = _pixel_scale(fit.x), _pixel_scale(given)
    if trained_on is None or other is None or trained_on == other:
        return None
    if "untouched" in (trained_on, other):
        # "Unscaled" is relative to its source: only samples of one source compare (KC405).
        a, b = fit.x.lineage, given.lineage
        if a is None or b is None or not a.related(b):
            return None
        return fixed(
            unverifiable(
                "the unscaled values' own scale is not known (they are not pixels): how far "
                "they are from the training scale cannot be synthesised"
            )
        )
    if trained_on not in _PIXEL_SCALES or other not in _PIXEL_SCALES:
        return fixed(unverifiable(f"no synthetic pixels stand in for '{trained_on}' / '{other}'"))
    training = training_of(case.model, _compile_at(case.model, fit), fit.y)
    subject = subject_of(case)
    targets = _run_targets(case, part, training)
    scale, shift = _PIXEL_SCALES[trained_on]
    written = variant(
        "as written",
        subject.graph,
        training.loss,
        input_scale=scale,
        input_shift=shift,
        other_input=_PIXEL_SCALES[other],
    )
    measures: tuple[MeasureName, ...] = ("heldout_loss", "other_input_loss")
    probe = train_probe(ctx, subject, (written,), targets, measures, pixels=True)
    view = case.ask_train(probe)
    setup = (
        f"synthetic 0-255 images trained on as {_SCALE_NAMES[trained_on]}, "
        f"{targets.text}{training_note(training)}"
    )

    def judge() -> Verdict:
        found = trained(case, view)
        if isinstance(found, str):
            return unverifiable(found)
        mismatched = Series(found.series(0, "other_input_loss"))
        matched = Series(found.series(0, "heldout_loss"))
        outcome = Outcome(mismatched, matched, LOSS)
        evidence = (
            f"{setup}: loss {mismatched.text()} on fresh samples given as "
            f"{_SCALE_NAMES[other]} vs {matched.text()} on the same samples on the "
            f"training scale; {STEPS} steps, {len(SEEDS)} seeds: {outcome.why()}"
            f"{notes(case, subject, found)}"
        )
        return Verdict("confirmed" if outcome.worse else "refuted", evidence)

    return judge
