"""Checks of findings on single Keras calls, imports and methods (KC201, KC202, KC203).

The evidence is Keras's own reaction under the installed version: the exception it raises
(or the warning it gives) when the call is made as written, the module it cannot import,
the attribute it no longer has.
"""

from __future__ import annotations

from kerascheck.dynamic.cases import (
    Case,
    Context,
    Judge,
    Verdict,
    fixed,
    judge_named,
    unverifiable,
)
from kerascheck.dynamic.jobs import (
    OPAQUE,
    AttributeProbe,
    Construct,
    ConstructProbe,
    ImportProbe,
    MethodProbe,
    Outcome,
    Plain,
)
from kerascheck.dynamic.owners import same
from kerascheck.dynamic.plan import Unbuildable, construct, plain, short
from kerascheck.ir import ApiUse, Arg, Finding, Known
from kerascheck.knowledge import api_drift, spelling_of

# Model methods the check may call (with only the flagged keyword, so they fail before
# doing any work).
_METHODS = frozenset({"fit", "evaluate", "predict"})
_CALLED_FAMILIES = ("keras.layers.", "keras.optimizers.")


def _flagged(finding: Finding, use: ApiUse) -> tuple[Arg, bool] | None:
    """The argument the finding points at, and whether it flags the keyword (not its value)."""
    assert use.call is not None
    for arg in use.call.args:
        if arg.name is not None and same(finding.span, arg.keyword_span or arg.span):
            return arg, True
        if same(finding.span, arg.span):
            return arg, False
    return None


def _value(arg: Arg) -> Plain:
    if isinstance(arg.value, Known):
        try:
            return plain(arg.value.value)
        except Unbuildable:
            return OPAQUE
    return OPAQUE


def argument(finding: Finding, use: ApiUse, case: Case, ctx: Context) -> Judge:
    if use.call is None:
        return fixed(unverifiable("the finding is not on a call"))
    flagged = _flagged(finding, use)
    if flagged is None:
        return fixed(unverifiable("the finding does not point at an argument of the call"))
    arg, keyword = flagged
    if keyword:
        assert arg.name is not None
        needles: tuple[str, ...] = (f"'{arg.name}'", f"`{arg.name}`")
    elif isinstance(arg.value, Known) and isinstance(arg.value.value, str):
        needles = (arg.value.value,)
    else:
        return fixed(unverifiable("the flagged value is not known statically"))
    name = short(use.qualname)
    if use.kind == "method":
        if name not in _METHODS or arg.name is None:
            return fixed(unverifiable(f"Model.{name}() is not called by the dynamic check"))
        value = _value(arg)
        index = case.ask(MethodProbe(name, ((arg.name, value),)))
        accepted = f"accepts `{arg.name}=` in Model.{name}()"
        return lambda: judge_named(case.answer(index), needles, ctx, accepted, value is OPAQUE)
    if use.kind != "call" or not use.qualname.startswith(_CALLED_FAMILIES):
        return fixed(unverifiable(f"`{use.qualname}` is not called by the dynamic check"))
    try:
        target = construct(use.call, opaque=True)
    except Unbuildable as exc:
        return fixed(unverifiable(str(exc)))
    index = case.ask(ConstructProbe(target))
    opaque = _has_opaque(target)
    accepted = f"accepts {target.written()}"
    return lambda: judge_named(case.answer(index), needles, ctx, accepted, opaque)


def _has_opaque(value: Plain) -> bool:
    if value is OPAQUE:
        return True
    if isinstance(value, Construct):
        return any(_has_opaque(v) for v in value.args) or any(
            _has_opaque(v) for _, v in value.kwargs
        )
    if isinstance(value, (tuple, list)):
        return any(_has_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(_has_opaque(v) for v in value.values())
    return False


def removed_api(finding: Finding, use: ApiUse, case: Case, ctx: Context) -> Judge:
    drift = api_drift()
    if use.kind in ("module", "import"):
        return _lookup(case, ImportProbe(use.written), use.written, ctx)
    if use.kind in ("method", "attribute"):
        # Only a removal is looked up: a file name or a positional argument of a method
        # Keras 3 still has, or a member it fills otherwise, is no missing name.
        row = drift.members.get(use.qualname)
        if row is None or " was removed from " not in finding.message:
            return fixed(unverifiable("the dynamic check looks up removed names only"))
        if row.raises is not None:
            return fixed(unverifiable("Keras 3 keeps the name only to raise when called"))
    if use.kind == "method":
        method = short(use.qualname)
        return _lookup(case, AttributeProbe(f"keras.Model.{method}"), f"Model.{method}", ctx)
    if use.kind == "attribute":
        receiver, _, member = use.qualname.partition(".")
        owner = {
            "Layer": f"keras.layers.{use.written}",
            "Iterator": "keras._tf_keras.keras.preprocessing.image.DirectoryIterator",
        }.get(receiver, "keras.Model")
        return _lookup(case, AttributeProbe(f"{owner}.{member}"), f"{owner}.{member}", ctx)
    found = spelling_of(use.written) if use.kind == "call" else None
    if found is not None and found[0] == "keras":
        if found[1] in drift.names:
            return _lookup(case, AttributeProbe(found[1]), found[1], ctx)
        hit = drift.removed_module(found[1])
        if hit is not None:
            return _lookup(case, ImportProbe(hit[0]), hit[0], ctx)
    if use.kind == "call" and use.call is not None and finding.message.startswith("Keras 1 "):
        return _keras1_kernel(use, case, ctx)
    return fixed(unverifiable("the dynamic check looks up removed names and Keras 1 kernels"))


def _lookup(case: Case, probe: ImportProbe | AttributeProbe, name: str, ctx: Context) -> Judge:
    if not name.startswith(("keras.", "Model.")):
        return fixed(unverifiable(f"only names under `keras.` are looked up, not `{name}`"))
    index = case.ask(probe)

    def judge() -> Verdict:
        outcome = case.answered(index, Outcome)
        if isinstance(outcome, str):
            return unverifiable(outcome)
        if outcome.error is not None:
            return Verdict("confirmed", f"{ctx.keras}: {outcome.error.text()}")
        return Verdict("refuted", f"{ctx.keras} still has `{name}`")

    return judge


def _keras1_kernel(use: ApiUse, case: Case, ctx: Context) -> Judge:
    """``Convolution2D(100, 5, 5)``: what the installed Keras makes of Keras 1's
    (filters, rows, cols), next to what Keras 1 meant (that kernel, strides 1)."""
    assert use.call is not None
    numbers: list[int] = []
    for arg in sorted((a for a in use.call.args if a.name is None), key=lambda a: a.index):
        if not (isinstance(arg.value, Known) and type(arg.value.value) is int):
            break
        numbers.append(arg.value.value)
    if len(numbers) < 3:
        return fixed(unverifiable("the positional sizes are not known statically"))
    target = Construct(use.call.qualname, tuple(numbers))
    index = case.ask(ConstructProbe(target, ("kernel_size", "strides")))

    def judge() -> Verdict:
        outcome = case.answered(index, Outcome)
        if isinstance(outcome, str):
            return unverifiable(outcome)
        kernel, strides = outcome.value("kernel_size"), outcome.value("strides")
        if outcome.error is not None or not isinstance(kernel, tuple):
            error = outcome.error.text() if outcome.error else "no kernel size"
            return unverifiable(f"Keras raised {error}")
        meant = tuple(numbers[1 : 1 + len(kernel)])
        seen = (
            f"{ctx.keras} builds {target.written()} with kernel_size={kernel} and "
            f"strides={strides}; Keras 1 meant kernel {meant} with strides 1"
        )
        changed = kernel != meant or any(s != 1 for s in strides or ())
        return Verdict("confirmed" if changed else "refuted", seen)

    return judge


def prepare(finding: Finding, use: ApiUse, case: Case, ctx: Context) -> Judge:
    if finding.code in ("KC201", "KC203"):
        return argument(finding, use, case, ctx)
    if finding.code == "KC202":
        return removed_api(finding, use, case, ctx)
    return fixed(unverifiable(f"no dynamic check for {finding.code} on a Keras call"))
