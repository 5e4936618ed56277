"""The experiment registry: what ``--dynamic`` runs to test a rule's findings on a model.

A rule names its experiment in its ``experiment`` class attribute (``kerascheck.rule``);
this registry maps each name to the parts of a model the experiment tests and the function
that prepares it. A new rule picks an experiment that tests what its fix changes (for
example ``linear-output`` for a bounded output on regression targets), or a new one is
registered here: a ``parts`` function listing what it tests (``kerascheck.dynamic.parts``)
and a ``prepare`` function that asks the worker for probes and returns a judge
(``model_checks`` for what Keras shows of the model as written, ``output_trials`` and
``model_trials`` for experiments that train it against its fix). docs/dynamic.md documents each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kerascheck.dynamic import data_checks, model_checks, model_trials, output_trials, parts
from kerascheck.dynamic.cases import Case, Context, Judge, ModelCase, fixed, unverifiable
from kerascheck.dynamic.owners import same
from kerascheck.dynamic.parts import Part
from kerascheck.dynamic.plan import Unbuildable
from kerascheck.ir import Finding, Flavour, ModelSpec, ModuleSpec, Span

Prepare = Callable[[Part, ModelCase, Context], Judge | None]
Parts = Callable[[ModelSpec, Flavour], Iterable[Part]]
ModuleParts = Callable[[ModuleSpec], Iterable[Part]]
PrepareModule = Callable[[Part, Case, Context], Judge | None]


@dataclass(frozen=True)
class Experiment:
    name: str
    parts: Parts
    prepare: Prepare


@dataclass(frozen=True)
class ModuleExperiment:
    """An experiment about the module's data rather than one of its models (predictions
    compared with labels, whatever model made them, a loaded one included)."""

    name: str
    parts: ModuleParts
    prepare: PrepareModule


REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("constant-output", parts.output_heads, model_checks.constant_output),
        Experiment("linear-output", parts.output_heads, output_trials.linear_output),
        Experiment("attainable-range", parts.output_heads, output_trials.attainable_range),
        Experiment("metric-blind-to-error", parts.metrics, output_trials.metric_blind_to_error),
        Experiment("reported-vs-true-accuracy", parts.metrics, output_trials.reported_vs_true),
        Experiment("from-logits", parts.output_heads, output_trials.from_logits),
        Experiment("probability-range", parts.output_heads, model_checks.probability_range),
        Experiment("single-unit-loss", parts.output_heads, model_checks.single_unit_loss),
        Experiment("softmax-output", parts.output_heads, output_trials.softmax_output),
        Experiment("categorical-loss", parts.output_heads, output_trials.categorical_loss),
        Experiment("probability-output", parts.output_heads, output_trials.probability_output),
        Experiment("label-encoding", parts.training_labels, model_checks.label_encoding),
        Experiment("squashed-range", parts.activation_pairs, model_checks.squashed_range),
        Experiment("compile-name", parts.compile_names, model_checks.compile_name),
        Experiment("ignored-input-shape", parts.layers, model_checks.ignored_input_shape),
        Experiment("composed-linear-map", parts.layers, model_trials.composed_linear_map),
        Experiment("output-rank", parts.layers, model_checks.output_rank),
        Experiment("scaled-input", parts.training_runs, model_trials.scaled_input),
        Experiment("usual-learning-rate", parts.compiles, model_trials.usual_learning_rate),
        Experiment("held-out-validation", parts.all_runs, model_trials.held_out_validation),
        Experiment("dropout-fix", parts.layers, model_trials.dropout_fix),
        Experiment("scale-mismatch", parts.all_runs, model_trials.scale_mismatch),
        Experiment("trainable-flags", parts.training_runs, data_checks.trainable_flags),
        Experiment(
            "batch-norm-statistics", parts.backbone_calls, data_checks.batch_norm_statistics
        ),
        Experiment(
            "pretrained-input-scale", parts.backbone_inputs, data_checks.pretrained_input_scale
        ),
        Experiment("embedding-lookup", parts.embeddings, data_checks.embedding_lookup),
        Experiment("ordered-split", parts.training_runs, data_checks.ordered_split),
    )
}
MODULE_REGISTRY: dict[str, ModuleExperiment] = {
    e.name: e
    for e in (ModuleExperiment("prediction-order", parts.scores, data_checks.prediction_order),)
}


def _prepared(experiment: Experiment, part: Part, case: ModelCase, ctx: Context) -> Judge | None:
    """The experiment's judge for this part, or None when it does not test such a part;
    what it needs and the IR does not say makes it unverifiable, saying what is missing."""
    try:
        return experiment.prepare(part, case, ctx)
    except Unbuildable as exc:
        return fixed(unverifiable(str(exc)))


def prepare(finding: Finding, name: str | None, case: ModelCase, ctx: Context) -> Judge:
    """The judge of a finding about this model, by its rule's experiment."""
    experiment = REGISTRY.get(name) if name is not None else None
    if experiment is None:
        return fixed(unverifiable(f"{finding.code} declares no dynamic experiment"))
    found = list(experiment.parts(case.model, ctx.flavour))
    for span in (finding.span, _scored_run(finding, ctx)):
        for part in found:
            if span is not None and part.points_at(span):
                judge = _prepared(experiment, part, case, ctx)
                if judge is not None:
                    return judge
    return fixed(unverifiable("the finding does not point at a part the experiment tests"))


def _scored_run(finding: Finding, ctx: Context) -> Span | None:
    """A finding on a score of predictions (``accuracy_score(y, p)``) is about the predict()
    call that made them."""
    scores = ctx.module.scores if ctx.module is not None else ()
    for score in scores:
        prediction = score.predictions.prediction
        if prediction is not None and same(finding.span, score.span):
            return prediction.span
    return None


def every_part(name: str, case: ModelCase, ctx: Context) -> list[tuple[Part, Judge]]:
    """The experiment prepared on every part of the model it tests (a direct run, without a
    finding: a rule's valid examples, to check that the experiment confirms nothing there)."""
    experiment = REGISTRY[name]
    found = []
    for part in experiment.parts(case.model, ctx.flavour):
        judge = _prepared(experiment, part, case, ctx)
        if judge is not None:
            found.append((part, judge))
    return found


def prepare_module(finding: Finding, name: str, case: Case, ctx: Context) -> Judge:
    """The judge of a finding about the module's data, by its rule's module experiment."""
    experiment = MODULE_REGISTRY[name]
    parts = experiment.parts(ctx.module) if ctx.module is not None else ()
    for part in parts:
        if part.points_at(finding.span):
            try:
                judge = experiment.prepare(part, case, ctx)
            except Unbuildable as exc:
                return fixed(unverifiable(str(exc)))
            if judge is not None:
                return judge
    return fixed(unverifiable("the finding does not point at a part the experiment tests"))


def every_module_part(name: str, case: Case, ctx: Context) -> list[tuple[Part, Judge]]:
    """A module experiment prepared on every part of the module it tests (valid examples)."""
    experiment = MODULE_REGISTRY[name]
    found = []
    for part in experiment.parts(ctx.module) if ctx.module is not None else ():
        judge = experiment.prepare(part, case, ctx)
        if judge is not None:
            found.append((part, judge))
    return found
