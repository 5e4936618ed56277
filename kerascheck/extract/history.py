"""What a ``fit()`` logs and what the code reads of it (for KC204).

``fit()`` returns a History whose ``.history`` dict holds one list per logged key. The walk
gives the result of each ``fit()`` a :class:`History` value tied to the run it records, so
that ``h.history["acc"]`` or ``h.history.get("acc")`` anywhere later (a plotting function
it is passed to included) is recorded on that run. The run also records the callbacks it
is given (their ``monitor=`` and file names) and whether it logs ``val_`` keys; the compile
records whether every metric's key can be told.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from kerascheck.extract.values import (
    Data,
    Flow,
    Function,
    KerasObject,
    Mapping,
    ModelObject,
    Ref,
    Seq,
    Value,
)
from kerascheck.ir import UNKNOWN, Call, HistoryRead, Known, RunSpec, Span

# The methods whose result is a History.
RETURNS_HISTORY = frozenset({"fit", "fit_generator"})
# Positions of the arguments that decide the logged keys, per method (Keras 2 and 3 agree).
_POSITIONS: dict[str, dict[str, int]] = {
    "fit": {"callbacks": 5, "validation_split": 6, "validation_data": 7},
    "fit_generator": {"callbacks": 4, "validation_data": 5},
}
# Methods of ``history.history`` that change its keys
# (``history.history["acc"] = history.history.pop("accuracy")``): its reads may be renamed.
_CHANGES = frozenset({"pop", "popitem", "update", "setdefault", "clear", "__setitem__"})


@dataclass(frozen=True, eq=False)
class History:
    """What ``fit()`` returned (``logs`` False), or its ``.history`` dict (``logs`` True)."""

    model: ModelObject
    index: int  # the run's position in ``model.events``
    logs: bool = False


@dataclass(frozen=True, eq=False)
class HistoryMethod:
    """A method of a History's dict (``history.history.get``), not yet called."""

    history: History
    name: str


def returned(model: ModelObject) -> History:
    """The History of the run just recorded as ``model``'s last event."""
    return History(model, len(model.events) - 1)


def attribute(value: History, attr: str) -> Value:
    if not value.logs:
        return History(value.model, value.index, logs=True) if attr == "history" else UNKNOWN
    if attr in ("get", "keys") or attr in _CHANGES:
        return HistoryMethod(value, attr)
    return UNKNOWN


def call(
    method: HistoryMethod,
    positional: list[Value],
    keywords: dict[str, Value],
    key_span: Span | None,
    guarded: bool,
) -> Value:
    """``history.history.get("acc")`` is a read (with a default, the code expects the key
    may be missing); ``.keys()`` stands for the dict (``"acc" in h.history.keys()`` looks
    first; printing the keys does not); a method that changes the keys guards every read."""
    if method.name == "keys":
        return method.history
    if method.name == "get" and len(positional) == 1 and not keywords and key_span is not None:
        read(method.history, positional[0], key_span, "get", guarded)
    else:
        probed(method.history)
    return UNKNOWN


def read(
    value: History,
    key: Value,
    span: Span,
    method: Literal["subscript", "get"],
    guarded: bool,
) -> None:
    """``value[key]`` (or ``.get(key)``) on a History's dict: recorded on its run. A read
    the code guards (inside ``try``) makes every read of that run a guarded one."""
    if not value.logs:
        return
    if guarded:
        probed(value)
    if not (isinstance(key, Known) and isinstance(key.value, str)):
        return
    run = _run(value)
    if run is None or any(r.span.anchor is span.anchor for r in run.history_reads):
        return  # a function evaluated once per call site reads the same key again
    reads = (*run.history_reads, HistoryRead(key.value, span, method))
    value.model.events[value.index] = replace(run, history_reads=reads)


def probed(value: History) -> None:
    run = _run(value)
    if run is not None and not run.history_probed:
        value.model.events[value.index] = replace(run, history_probed=True)


def _run(value: History) -> RunSpec | None:
    event = value.model.events[value.index]
    return event if isinstance(event, RunSpec) else None


# ----------------------------------------------------------------------------- runs
def logging(
    method: str, call: Call, positional: list[Value], keywords: dict[str, Value]
) -> tuple[Value, Value]:
    """What a training run is given that decides its logged keys: its callbacks (Known
    calls, or UNKNOWN) and whether it has validation data (Known bool, or UNKNOWN)."""
    positions = _POSITIONS.get(method)
    if positions is None:
        return Known(()), Known(False)
    if call.has_star_args:
        return UNKNOWN, UNKNOWN

    def given(name: str) -> Value | None:
        index = positions.get(name)
        if name in keywords:
            return keywords[name]
        if index is not None and index < len(positional):
            return positional[index]
        return None

    return _callbacks(given("callbacks")), _validation(
        given("validation_data"), given("validation_split")
    )


def _callbacks(value: Value | None) -> Value:
    if value is None or value == Known(None):
        return Known(())
    if isinstance(value, Known) and value.value in ([], ()):
        return Known(())
    if not isinstance(value, Seq):
        return UNKNOWN
    calls: list[Call] = []
    for item in value.items:
        if not (
            isinstance(item, KerasObject) and item.call.qualname.startswith("keras.callbacks.")
        ):
            return UNKNOWN
        calls.append(item.call)
    return Known(tuple(calls))


def _validation(data: Value | None, split: Value | None) -> Value:
    answers: list[Value] = []
    if data is not None and data != Known(None):
        given = isinstance(data, (Seq, Data, Flow)) or (
            isinstance(data, Known) and isinstance(data.value, (tuple, list))
        )
        answers.append(Known(True) if given else UNKNOWN)
    if split is not None:
        if isinstance(split, Known) and isinstance(split.value, (int, float)):
            answers.append(Known(split.value > 0))
        elif split != Known(None):
            answers.append(UNKNOWN)
    if Known(True) in answers:
        return Known(True)
    return UNKNOWN if UNKNOWN in answers else Known(False)


# ----------------------------------------------------------------------------- compile
def metric_names(
    positional: list[Value], keywords: dict[str, Value], call: Call
) -> tuple[bool, tuple[tuple[str | None, str], ...]]:
    """Whether some metric of a compile() cannot be named, and the metrics given as
    functions the code defines, keyed like ``CompileSpec.metrics``."""
    weighted = keywords.get("weighted_metrics")
    if call.has_star_args or len(positional) > 2 or weighted not in (None, Known(None)):
        return True, ()
    functions: list[tuple[str | None, str]] = []
    value = keywords.get("metrics")
    named = value is None or _named(value, None, functions)
    return not named, tuple(functions)


def _named(value: Value, key: str | None, functions: list[tuple[str | None, str]]) -> bool:
    if isinstance(value, Known):
        return _literal(value.value)
    if isinstance(value, Seq):
        return all(
            _named(item, f"#{index}" if _nested(item) else key, functions)
            for index, item in enumerate(value.items)
        )
    if isinstance(value, Mapping):
        return all(_named(item, name, functions) for name, item in value.items)
    if isinstance(value, Ref):
        return value.qualname.startswith("keras.metrics.")
    if isinstance(value, KerasObject):
        return value.call.qualname.startswith("keras.metrics.")
    if isinstance(value, Function) and value.owner is None:
        functions.append((key, value.node.name.value))
        return True
    return False


def _nested(item: Value) -> bool:
    return isinstance(item, Seq) or (
        isinstance(item, Known) and isinstance(item.value, (list, tuple))
    )


def _literal(value: object) -> bool:
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return all(_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_literal(v) for v in value.values())
    return False
