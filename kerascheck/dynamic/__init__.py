"""Dynamic mode (``--dynamic``): rebuild each model from the IR in real Keras and confirm,
refute or mark unverifiable every finding, with evidence.

Never executes, imports or reads the checked file: models are rebuilt from the IR's Keras
names and resolved literal values, in a separate worker process that alone imports
TensorFlow (``runner``, ``worker``). Importing this package stays cheap and TensorFlow-free.
See docs/dynamic.md.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import replace

from kerascheck.dynamic import api_checks, experiments
from kerascheck.dynamic.cases import Case, Context, Judge, ModelCase, Verdict, unverifiable
from kerascheck.dynamic.jobs import Job
from kerascheck.dynamic.owners import ModelOwner, Owner, owners
from kerascheck.dynamic.progress import track
from kerascheck.dynamic.runner import INSTALL_HINT, DynamicUnavailable, shared_worker
from kerascheck.dynamic.runtime import CODE as RUNTIME_CODE
from kerascheck.dynamic.runtime import runtime_findings
from kerascheck.ir import Finding, Flavour, ModelSpec, ModuleSpec
from kerascheck.rule import Rule

__all__ = ["INSTALL_HINT", "DynamicUnavailable", "experiment", "missing", "start", "verify"]

DEFAULT_TIMEOUT = 20.0


def missing() -> str | None:
    """The first of TensorFlow and Keras that cannot be found, without importing either."""
    for name in ("tensorflow", "keras"):
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def start() -> None:
    """Start the Keras worker now (it imports TensorFlow), or raise ``DynamicUnavailable``."""
    shared_worker().start()


def _choose(verdicts: list[Verdict]) -> Verdict:
    """A finding produced by several models (a builder called twice) takes the first
    verdict that is not unverifiable."""
    if not verdicts:
        return unverifiable("not part of a model or Keras call the check can rebuild")
    return next((v for v in verdicts if v.status != "unverifiable"), verdicts[0])


def _guarded(step: Callable[[], Judge]) -> Judge:
    """A bug of ours in one check costs that finding its verdict, not the run."""
    try:
        judge = step()
    except Exception as exc:
        verdict = _internal(exc)
        return lambda: verdict

    def guarded() -> Verdict:
        try:
            return judge()
        except Exception as exc:
            return _internal(exc)

    return guarded


def _run(cases: Sequence[Case], title: str, timeout: float, ctx: Context) -> None:
    """Each case's probes as one job in the worker, with the time budget of one model."""
    jobs = [case for case in cases if case.probes]
    worker = shared_worker()
    for case in track(jobs, title):
        case.answers = worker.run(Job(tuple(case.probes)), timeout)
    ctx.version = worker.version


def experiment(
    model: ModelSpec | None,
    name: str,
    flavour: Flavour,
    timeout: float = DEFAULT_TIMEOUT,
    module: ModuleSpec | None = None,
) -> list[Verdict]:
    """An experiment run directly on every part of a model it tests, without a finding (a
    rule's valid examples: an experiment must confirm nothing there); ``module`` is the
    source the model comes from (what its other models do with it). An experiment about
    the module's data runs on ``module`` (``model`` may be None)."""
    ctx = Context.of(flavour, module, timeout)
    if name in experiments.MODULE_REGISTRY:
        data = Case()
        prepared = experiments.every_module_part(name, data, ctx)
        judges = [_guarded(lambda j=judge: j) for _, judge in prepared]
        _run([data], f"running {name}", timeout, ctx)
        return [judge() for judge in judges]
    assert model is not None
    case = ModelCase.of(model)
    judges = [_guarded(lambda j=judge: j) for _, judge in experiments.every_part(name, case, ctx)]
    case.finish()
    _run([case], f"running {name}", timeout, ctx)
    return [judge() for judge in judges]


def _internal(exc: Exception) -> Verdict:
    return unverifiable(f"internal error in the dynamic check ({type(exc).__name__}: {exc})")


def verify(
    spec: ModuleSpec,
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    flavour: Flavour,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Finding]:
    """The findings with their verdict and evidence, plus KC900 findings for what Keras
    itself warned about (when KC900 is among ``rules``)."""
    runtime = any(rule.code == RUNTIME_CODE for rule in rules)
    if not findings and not (runtime and spec.models):
        return list(findings)
    ctx = Context.of(flavour, spec, timeout)
    models: dict[int, ModelCase] = {}
    calls = Case()
    declared = {rule.code: rule.experiment for rule in rules}

    def model_case(owner: ModelOwner) -> ModelCase:
        if owner.index not in models:
            models[owner.index] = ModelCase.of(owner.model)
        return models[owner.index]

    def prepare(finding: Finding, owner: Owner) -> Judge:
        if isinstance(owner, ModelOwner):
            name = declared.get(finding.code)
            return experiments.prepare(finding, name, model_case(owner), ctx)
        return api_checks.prepare(finding, owner.use, calls, ctx)

    def module_prepare(finding: Finding, name: str) -> Judge:
        return experiments.prepare_module(finding, name, calls, ctx)

    judges: list[list[Judge]] = []
    for finding, found in zip(findings, owners(spec, findings, rules, flavour), strict=True):
        name = declared.get(finding.code)
        if name in experiments.MODULE_REGISTRY:  # about the data, whatever the model
            assert name is not None
            judges.append([_guarded(lambda f=finding, n=name: module_prepare(f, n))])
            continue
        judges.append([_guarded(lambda o=o, f=finding: prepare(f, o)) for o in found])
    if runtime:
        for index, model in enumerate(spec.models):
            model_case(ModelOwner(index, model)).want()
    for case in models.values():
        case.finish()
    _run([*models.values(), calls], f"rebuilding models of {spec.path}", timeout, ctx)
    verdicts = [_choose([judge() for judge in found]) for found in judges]
    claimed = {claim for v in verdicts if v.status == "confirmed" for claim in v.claims}
    checked = [
        replace(f, dynamic=v.status, evidence=v.evidence)
        for f, v in zip(findings, verdicts, strict=True)
    ]
    if runtime:
        checked += runtime_findings(models.values(), claimed, ctx)
    return checked
