"""Experiments about how the code uses a model rather than the model itself: what an
Embedding does with the ids that reach it (KC114), what fit(validation_split=) holds out of
labels ordered by class (KC409), in which order a shuffling pipeline serves predictions
(KC410), which weights train when the code changes `trainable` (KC406), whether an
unfrozen backbone's BatchNormalization statistics move (KC408); and what KC407 would need.
Each runs Keras on synthetic data (and small stand-in models where the real one is
pretrained) shaped as the IR knows the code's.
"""

from __future__ import annotations

from typing import Literal

from kerascheck.dynamic.cases import Case, Context, Judge, ModelCase, Verdict, unverifiable
from kerascheck.dynamic.jobs import (
    BatchNormProbe,
    LookupProbe,
    OrderProbe,
    Outcome,
    PipelineKind,
    SplitProbe,
    TrainableProbe,
)
from kerascheck.dynamic.parts import Part
from kerascheck.ir import Count, DataInfo, Flavour, Known, Pipeline, RunSpec
from kerascheck.knowledge import applications

# A vocabulary known only by name (``len(tokenizer.word_index)``) is given this size: the
# fault is in the offset between the rows and the ids, which any size shows.
_STAND_IN_VOCABULARY = 50
# Class counts tried when the IR does not know how many classes ordered labels hold.
_CLASS_COUNTS = (2, 3, 10)
_ROWS_PER_CLASS = 100


def _ran(case: Case, index: int) -> Outcome | str:
    """The probe's outcome, or why there is none: the job failed or Keras raised."""
    found = case.answered(index, Outcome)
    if isinstance(found, Outcome) and found.error is not None:
        return f"Keras raised {found.error.text()}"
    return found


# ----------------------------------------------------------------------------- KC114
def _sizes(rows: Count, ids: Count) -> tuple[int, int, str] | None:
    """The table's rows and the number of ids, and what stood in for an unknown size."""
    if rows.value is not None and ids.value is not None:
        return rows.value, ids.value, ""
    if rows.base is not None and rows.base is ids.base:
        size = _STAND_IN_VOCABULARY
        note = f" ({rows.what.replace(f' + {rows.offset}', '')} stood in by {size})"
        return size + rows.offset, size + ids.offset, note
    return None


def embedding_lookup(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC114: every id the data flow gives looked up in an Embedding of the written rows."""
    if part.counts is None:
        return None
    rows, ids = part.counts
    sizes = _sizes(rows, ids)
    if sizes is None:
        return lambda: unverifiable(
            f"the ids ({ids.what}) and the rows ({rows.what}) are not known in one measure"
        )
    table, count, note = sizes
    index = case.ask(LookupProbe(table, count))
    setup = f"Embedding(input_dim={table}) given the ids 0 to {count - 1}{note}"

    def judge() -> Verdict:
        found = case.answered(index, Outcome)
        if isinstance(found, str):
            return unverifiable(found)
        error = found.error
        if error is not None and "is not in [0," in error.message:
            message = error.message.split("}}")[-1].strip()
            return Verdict("confirmed", f"{setup}: {ctx.keras} raised {error.category}: {message}")
        if error is not None:
            return unverifiable(f"Keras raised an error that names something else: {error.text()}")
        return Verdict("refuted", f"{setup}: {ctx.keras} looked every id up (on CPU)")

    return judge


# ----------------------------------------------------------------------------- KC409
def ordered_split(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC409: labels in per-class blocks split as fit(validation_split=) splits them."""
    run = part.run
    if run is None or run.kind != "train" or run.y.label_order != Known("by_label"):
        return None
    split = run.call.kwarg("validation_split")
    value = split.value if split is not None else None
    if not isinstance(value, Known) or not isinstance(value.value, (int, float)):
        return None
    if not 0 < value.value < 1:
        return None
    fraction = float(value.value)
    known = _class_count(run.y)
    counts = (known,) if known is not None else _CLASS_COUNTS
    asked = [(k, case.ask(SplitProbe((_ROWS_PER_CLASS,) * k, fraction))) for k in counts]
    unknown = "" if known is not None else " (the class count is not known: each of these)"

    def judge() -> Verdict:
        seen: list[str] = []
        partial = True
        for classes, index in asked:
            found = _ran(case, index)
            if isinstance(found, str):
                return unverifiable(found)
            held = found.value("validation_classes")
            partial = partial and len(held) < classes
            seen.append(
                f"{classes} classes of {_ROWS_PER_CLASS} rows: the validation part "
                f"({found.value('validation_rows')} rows) holds class(es) "
                f"{', '.join(map(str, held))} only"
                if len(held) < classes
                else f"{classes} classes of {_ROWS_PER_CLASS} rows: the validation part holds "
                "every class"
            )
        evidence = (
            f"labels in class order split by {ctx.keras}'s own validation split (what fit() "
            f"does), validation_split={fraction:g}{unknown}: " + "; ".join(seen)
        )
        return Verdict("confirmed" if partial else "refuted", evidence)

    return judge


def _class_count(labels: DataInfo) -> int | None:
    if isinstance(labels.num_classes, Known):
        return int(labels.num_classes.value)
    if labels.encoding in (Known("binary"), Known("plus_minus_one")):
        return 2
    return None


# ----------------------------------------------------------------------------- KC410
_KINDS: dict[str, PipelineKind] = {
    "flow": "iterator",
    "flow_from_directory": "iterator",
    "flow_from_dataframe": "iterator",
    "image_dataset_from_directory": "directory_dataset",
    "text_dataset_from_directory": "directory_dataset",
    "tf.data": "tf.data",
}


def prediction_order(part: Part, case: Case, ctx: Context) -> Judge | None:
    """KC410: a model that predicts every sample exactly, given the pipeline the code
    predicts on, scored against labels in the order the code collects them (the model
    itself does not matter: any model's predictions come in the pipeline's order)."""
    score = part.score
    if score is None:
        return None
    prediction = score.predictions.prediction
    if prediction is None or score.predictions.lineage != score.labels.lineage:
        return None  # not the same samples: their order is not what is compared
    if score.predictions.order == score.labels.order:
        return None  # the code puts the labels in the order of the predictions
    pipeline = prediction.pipeline
    if pipeline is None or not isinstance(pipeline.shuffles, Known):
        return None
    kind = _KINDS.get(pipeline.made_by)
    if kind is None:
        return lambda: unverifiable(f"no experiment rebuilds a {pipeline.made_by} pipeline")
    order = score.labels.order
    files = isinstance(order, Known) and isinstance(order.value, tuple)
    files = files and order.value[0] == "files"  # type: ignore[union-attr]
    probe = OrderProbe(kind, bool(pipeline.shuffles.value), "files" if files else "pass")
    index = case.ask(probe)
    against = "the labels in file order" if files else "the labels of another pass"
    setup = (
        f"{_served(pipeline, kind)} of {probe.samples} synthetic images of {probe.classes} "
        f"classes, shuffle={probe.shuffle}, predicted by a model that outputs each image's "
        f"class exactly, scored against {against}"
    )

    def judge() -> Verdict:
        found = _ran(case, index)
        if isinstance(found, str):
            return unverifiable(found)
        agreement, chance = found.value("agreement"), found.value("chance")
        evidence = f"{setup}: accuracy {agreement:.3g} (chance {chance:.3g})"
        if agreement < 1:
            return Verdict("confirmed", f"{evidence}: rows and labels belong to other samples")
        return Verdict("refuted", f"{evidence}: every row matches its label")

    return judge


def _served(pipeline: Pipeline, kind: PipelineKind) -> str:
    if kind == "iterator" and pipeline.made_by != "flow":
        return (
            f"ImageDataGenerator.flow (its batches come in the order of the Iterator it shares "
            f"with {pipeline.made_by})"
        )
    if kind == "directory_dataset":
        return "image_dataset_from_directory"
    return "ImageDataGenerator.flow" if kind == "iterator" else "a tf.data dataset"


# ----------------------------------------------------------------------------- KC406
_TARGETS: dict[str, Literal["base", "layers"]] = {
    "model": "base",
    "all_layers": "layers",
    "some_layers": "layers",
    "layer": "layers",
}


def trainable_flags(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC406: a stand-in model trained with the flags in the order the code sets them:
    whether the weights the code freezes (or unfreezes) move in the training it means."""
    run = part.run
    if run is None or run.kind != "train":
        return None
    for state in run.trainable:
        values = (state.at_compile, state.now)
        if not all(isinstance(v, Known) for v in values):
            continue
        first = state.at_first_training
        if first is not None and not isinstance(first, Known):
            continue
        at_compile, now = bool(state.at_compile.value), bool(state.now.value)  # type: ignore[union-attr]
        earlier = bool(first.value) if first is not None else None  # type: ignore[union-attr]
        if ctx.flavour != "keras3":
            if at_compile != now or earlier not in (None, now):
                return lambda: unverifiable(
                    "the finding is about tf.keras 2 / Keras 2, which read the flags at "
                    "compile(); the installed Keras (3) reads them at the first training"
                )
            continue
        untrainable = state.own and earlier is None and at_compile and not now
        if not untrainable and earlier in (None, now):
            continue
        target = "model" if state.own and state.scope == "model" else _TARGETS[state.scope]
        probe = TrainableProbe(target, at_compile, earlier, now)
        intended = at_compile if untrainable else now
        return _trainable_judge(case, ctx, probe, state.target, intended)
    return None


def _trainable_judge(
    case: ModelCase, ctx: Context, probe: TrainableProbe, target: str, intended: bool
) -> Judge:
    index = case.ask(probe)
    steps = [f"trainable={probe.at_compile}", "compile()"]
    if probe.first is not None:
        steps += [f"trainable={probe.first}", "fit()"]
    steps += [f"trainable={probe.now}", "fit()"]
    where = {"model": "the model", "base": "a sub-model", "layers": "a sub-model's layers"}
    setup = (
        f"a stand-in of two Dense layers in a model, the flag of {where[probe.target]} (as "
        f"`{target}`) set as the code sets it: {', '.join(steps)}"
    )

    def judge() -> Verdict:
        found = _ran(case, index)
        if isinstance(found, str):
            return unverifiable(found)
        moved = float(found.value("moved"))
        trained = moved > 0
        did = f"its weights moved by up to {moved:.3g}" if trained else "its weights did not move"
        evidence = f"{setup}: in the last fit() {did} in {ctx.keras}"
        meant = "train" if intended else "stay frozen"
        if trained != intended:
            return Verdict("confirmed", f"{evidence}, where the code means them to {meant}")
        return Verdict("refuted", f"{evidence}, as the code means")

    return judge


# ----------------------------------------------------------------------------- KC408
def batch_norm_statistics(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC408: a stand-in backbone with a BatchNormalization layer, unfrozen and called as
    the code calls the pretrained one: whether fit() moves its moving statistics."""
    if part.backbone is None:
        return None
    index, use = part.backbone
    application = case.model.parts[index].application
    if (
        application is None
        or not applications().constructors[application.constructor].batch_normalization
    ):
        return None
    if application.weights == Known(None):
        return None
    if not any(_unfrozen(run, index, ctx.flavour) for run in case.model.fits):
        return None
    training_arg = use.call.kwarg("training") if use.call is not None else None
    if training_arg is not None and training_arg.value != Known(False):
        return None  # training=True or a variable: the code decides on purpose
    if training_arg is not None and ctx.flavour != "keras3":
        return None  # tf.keras 2 and Keras 2 honour training=False (the installed Keras does not)
    training = False if training_arg is not None else None
    probe_index = case.ask(BatchNormProbe(training))
    written = "training=False" if training is False else "no training argument"
    setup = (
        f"a stand-in backbone (Dense, BatchNormalization; {application.constructor}'s ImageNet "
        f"weights are never downloaded) unfrozen and called with {written}, one epoch of "
        "fit() on inputs of mean 3"
    )

    def judge() -> Verdict:
        found = _ran(case, probe_index)
        if isinstance(found, str):
            return unverifiable(found)
        moved = float(found.value("moved"))
        if moved > 0:
            return Verdict(
                "confirmed",
                f"{setup}: its moving mean moved by up to {moved:.3g} in {ctx.keras}: the "
                "statistics are replaced by the batches'",
            )
        return Verdict("refuted", f"{setup}: its moving mean did not move in {ctx.keras}")

    return judge


def _unfrozen(run: RunSpec, index: int, flavour: Flavour) -> bool:
    """The training trains part ``index`` because the code set its ``trainable`` to True and
    no layer flag of it is in doubt (KC408's premise)."""
    set_true = False
    for state in (s for s in run.trainable if s.part == index):
        if flavour == "keras3":
            used = state.now if state.at_first_training is None else state.at_first_training
        else:
            used = state.at_compile
        if state.scope == "model" and used == Known(True):
            set_true = True
            continue
        doubtful = not isinstance(used, Known)
        if (
            state.scope == "model"
            or doubtful
            or (state.scope == "all_layers" and used != Known(True))
        ):
            return False
    return set_true


# ----------------------------------------------------------------------------- KC407
def pretrained_input_scale(part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """KC407: not measurable. What a pretrained backbone makes of pixels on another scale
    than its weights learnt shows only with those weights; a stand-in with random weights
    has learnt no scale."""
    application = part.application
    if application is None:
        return None
    return lambda: unverifiable(
        f"the experiment needs {application.constructor}'s pretrained ImageNet weights, which "
        "kerascheck never downloads (a network with random weights has learnt no input scale)"
    )
