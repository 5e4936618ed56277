"""A case gathers the probes one job runs and, once it has run, hands out their answers.

Checks are prepared in two steps: first each finding's check asks for the probes it needs
(``Case.ask``) and returns a judge; after the worker has answered, the judge turns the
answers into a ``Verdict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from kerascheck.dynamic.jobs import (
    Answer,
    Construct,
    Event,
    GraphPlan,
    JobFailed,
    LabelPlan,
    ModelOutcome,
    ModelProbe,
    Outcome,
    OutputStats,
    Probe,
    Rebuild,
    TrainOutcome,
    TrainProbe,
    TrainStep,
)
from kerascheck.dynamic.plan import (
    CompileParts,
    Unbuildable,
    compile_plan,
    graph_plan,
    head_plan,
)
from kerascheck.dynamic.variants import stand_in
from kerascheck.ir import DataInfo, DynamicVerdict, Flavour, ModelSpec, ModuleSpec

A = TypeVar("A", bound=Answer)


@dataclass(frozen=True)
class Verdict:
    status: DynamicVerdict
    evidence: str
    claims: tuple[str, ...] = ()  # Keras messages this verdict explains (no KC900 for them)


def unverifiable(reason: str) -> Verdict:
    return Verdict("unverifiable", reason)


Judge = Callable[[], Verdict]


def fixed(verdict: Verdict) -> Judge:
    """A verdict known before anything runs."""
    return lambda: verdict


@dataclass
class Context:
    flavour: Flavour
    version: str = ""  # the installed Keras, known once the worker has started
    timeout: float = 20.0  # the per-model budget (--dynamic-timeout)
    # The layer calls some model of the module outputs as they are, without an activation
    # (an encoder's linear code): deliberate, whatever another model does with them.
    linear_outputs: frozenset[int] = frozenset()
    module: ModuleSpec | None = None  # the source the models come from

    @classmethod
    def of(cls, flavour: Flavour, module: ModuleSpec | None, timeout: float) -> Context:
        outputs = (o for m in (module.models if module else ()) for o in m.outputs)
        linear = frozenset(
            id(o.layer.call)
            for o in outputs
            if o.layer is not None and o.layer.call is not None and not o.activations
        )
        return cls(flavour, timeout=timeout, linear_outputs=linear, module=module)

    @property
    def keras(self) -> str:
        return f"Keras {self.version}" if self.version else "Keras"


def judge_named(
    outcome: Answer | JobFailed,
    needles: tuple[str, ...],
    ctx: Context,
    accepted: str,
    opaque: bool = False,
) -> Verdict:
    """Confirmed when Keras's exception or warning names the flagged thing; refuted when
    Keras accepts the call as written."""
    if isinstance(outcome, JobFailed):
        return unverifiable(outcome.reason)
    assert isinstance(outcome, Outcome)
    error = outcome.error
    if error is not None and any(n in error.message for n in needles):
        return Verdict("confirmed", f"{ctx.keras} raised {error.text()}", (error.message,))
    for warning in outcome.warnings:
        if any(n in warning.message for n in needles):
            return Verdict("confirmed", f"{ctx.keras} warns {warning.text()}", (warning.message,))
    if error is not None:
        return unverifiable(f"Keras raised an error that names something else: {error.text()}")
    if opaque:
        return unverifiable(f"{ctx.keras} accepted the call, with values the check could not see")
    return Verdict("refuted", f"{ctx.keras} {accepted}")


def fitted_inputs(model: ModelSpec) -> DataInfo | None:
    """What is known of the inputs the model is trained on (the first training run's)."""
    return model.fits[0].x if model.fits else None


@dataclass
class Case:
    probes: list[Probe] = field(default_factory=list)
    answers: tuple[Answer, ...] | JobFailed | None = None

    def ask(self, probe: Probe) -> int:
        self.probes.append(probe)
        return len(self.probes) - 1

    def answer(self, index: int) -> Answer | JobFailed:
        if isinstance(self.answers, JobFailed):
            return self.answers
        if self.answers is None:
            return JobFailed("the Keras check did not run")
        return self.answers[index]

    def answered(self, index: int, kind: type[A]) -> A | str:
        """A probe's answer of the kind its probe gives, or why there is none."""
        found = self.answer(index)
        if isinstance(found, JobFailed):
            return found.reason
        assert isinstance(found, kind)
        return found


@dataclass(frozen=True)
class TrainView:
    """One experiment's variants within a train probe it may share with others."""

    index: int  # the probe in the case's probes
    places: tuple[int, ...]  # where each of the experiment's variants is in that probe


@dataclass(frozen=True)
class Trained:
    """A train probe's answer, seen by one experiment: its variants by its own numbering."""

    outcome: TrainOutcome
    places: tuple[int, ...]

    def series(self, variant: int, key: str) -> tuple[float, ...]:
        return self.outcome.series(self.places[variant], key)

    def failed(self, variant: int) -> Event | None:
        return self.outcome.failed(self.places[variant])

    def metrics(self, variant: int) -> tuple[str, ...]:
        found = self.outcome.metrics
        place = self.places[variant]
        return found[place] if place < len(found) else ()


def _shared(probe: TrainProbe) -> TrainProbe:
    """What two train probes must agree on to be run as one: all but variants and measures."""
    return replace(probe, variants=(), measures=(), fallback=None)


def _merged(old: TrainProbe, new: TrainProbe) -> tuple[TrainProbe, tuple[int, ...]]:
    """One probe doing both (new's variants added unless already there; measures joined),
    and where new's variants are in it."""
    variants = list(old.variants)
    alone = list(old.fallback.variants) if old.fallback is not None else []
    places = []
    for index, variant in enumerate(new.variants):
        if variant not in variants:
            variants.append(variant)
            if new.fallback is not None:
                alone.append(new.fallback.variants[index])
        places.append(variants.index(variant))
    measures = tuple(dict.fromkeys((*old.measures, *new.measures)))
    fallback = None
    if old.fallback is not None:
        fallback = replace(old.fallback, variants=tuple(alone), measures=measures)
    merged = replace(old, variants=tuple(variants), measures=measures, fallback=fallback)
    return merged, tuple(places)


@dataclass(kw_only=True)
class ModelCase(Case):
    """One model: its rebuild plans (or why there are none) and its model probe."""

    model: ModelSpec
    graph_reason: str | None = None
    head_reason: str | None = None
    compile_reason: str | None = None
    compile_parts: CompileParts | None = None
    extra: list[LabelPlan] = field(default_factory=list)
    graph: GraphPlan | None = None
    head: GraphPlan | None = None
    wanted: bool = False
    probe: int | None = None
    # The input given to a Sequential model that declares none, and how evidence says so.
    stand_in: tuple[Construct, str] | None = None

    @classmethod
    def of(cls, model: ModelSpec) -> ModelCase:
        case = cls(model=model, stand_in=stand_in(model, fitted_inputs(model)))
        try:
            case.graph = graph_plan(model, shapes_optional=True)
        except Unbuildable as exc:
            case.graph_reason = str(exc)
        try:
            case.head = head_plan(model)
        except Unbuildable as exc:
            case.head_reason = str(exc)
        try:
            case.compile_parts = compile_plan(model)
        except Unbuildable as exc:
            case.compile_reason = str(exc)
        return case

    def want(self) -> None:
        self.wanted = True

    def ask_train(self, probe: TrainProbe) -> TrainView:
        """Ask for a train probe, run together with an earlier one on the same data: the
        model as written, trained once, serves every experiment that trains it."""
        for index, asked in enumerate(self.probes):
            same_data = isinstance(asked, TrainProbe) and _shared(asked) == _shared(probe)
            if same_data and (asked.fallback is None) == (probe.fallback is None):
                merged, places = _merged(asked, probe)  # type: ignore[arg-type]
                self.probes[index] = merged
                return TrainView(index, places)
        return TrainView(self.ask(probe), tuple(range(len(probe.variants))))

    def trained(self, view: TrainView) -> Trained | str:
        """A train probe's answer for one experiment, or why there is none."""
        found = self.answered(view.index, TrainOutcome)
        return found if isinstance(found, str) else Trained(found, view.places)

    def add_labels(self, labels: LabelPlan) -> int:
        self.want()
        self.extra.append(labels)
        return len(self.extra) - 1

    def finish(self) -> None:
        """Ask for the model probe once every check has said what it needs."""
        if not self.wanted or self.probe is not None:
            return
        if self.graph is not None or self.head is not None:
            parts = self.compile_parts
            plan = parts.plan if parts is not None else None
            given = self.stand_in[0] if self.stand_in is not None else None
            probe = ModelProbe(self.graph, self.head, plan, tuple(self.extra), given)
            self.probe = self.ask(probe)

    # ------------------------------------------------------------------ reading answers
    def outcome(self) -> ModelOutcome | str:
        if self.probe is None:
            return self.graph_reason or self.head_reason or "the model could not be rebuilt"
        return self.answered(self.probe, ModelOutcome)

    def built(self) -> Rebuild | str:
        """The whole model as Keras built it, or why it is not there."""
        outcome = self.outcome()
        if isinstance(outcome, str):
            return outcome
        if outcome.model is None:
            return self.graph_reason or "the model could not be rebuilt"
        return outcome.model

    def note(self, rebuild: Rebuild | str | None) -> str:
        """What evidence from this rebuild must say: the input stood in for a missing one."""
        if isinstance(rebuild, Rebuild) and rebuild.stand_in and self.stand_in is not None:
            return f" ({self.stand_in[1]})"
        return ""

    def why_not(self, rebuild: Rebuild | None) -> str:
        if rebuild is None:
            return self.graph_reason or "the model could not be rebuilt"
        error = next((e for e in rebuild.events if e.kind == "error"), None)
        stopped = rebuild.stopped or "it stopped early"
        if rebuild.stand_in and self.stand_in is not None:
            stopped = f"{stopped} on a stand-in input ({self.stand_in[1]})"
        return f"{stopped} ({error.text()})" if error else stopped

    def output(self, index: int) -> tuple[OutputStats, int, str] | str:
        """Forward-pass statistics of one output, the sample count, and a note when they
        come from the output layer rebuilt alone; or why there are none."""
        outcome = self.outcome()
        if isinstance(outcome, str):
            return outcome
        model = outcome.model
        if model is not None and index < len(model.outputs):
            return model.outputs[index], model.samples, self.note(model)
        why = self.why_not(model)
        head = outcome.head
        if head is not None and head.outputs and index == 0:
            return head.outputs[0], head.samples, f" (output layer rebuilt alone: {why})"
        alone = self.why_not(head) if head is not None else self.head_reason
        return why if alone in (None, why) else f"{why}; the output layer alone: {alone}"

    def train(self, allow_head: bool) -> tuple[TrainStep, str] | str:
        """The train step with the labels the loss expects (and a note for the head)."""
        if self.compile_parts is None:
            return self.compile_reason or "the model is not compiled"
        outcome = self.outcome()
        if isinstance(outcome, str):
            return outcome
        model = outcome.model
        if model is not None and model.train is not None:
            return model.train, self.note(model)
        why = self.why_not(model)
        head = outcome.head
        if allow_head and head is not None and head.train is not None:
            return head.train, f" (output layer rebuilt alone: {why})"
        return why

    def extra_step(self, index: int) -> TrainStep | str:
        built = self.built()
        if isinstance(built, str):
            return built
        if index < len(built.extra):
            return built.extra[index]
        return self.why_not(built)
