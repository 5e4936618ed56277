"""KC900: what Keras itself warned about or raised while rebuilding, compiling and training
a model, as findings of their own at the part of the model that caused them."""

from __future__ import annotations

from collections.abc import Iterable

from kerascheck.dynamic.cases import Context, ModelCase
from kerascheck.dynamic.jobs import Event
from kerascheck.ir import Finding, ModelSpec, Span
from kerascheck.rules.kc900_keras_runtime_warning import KerasRuntimeWarning

CODE = KerasRuntimeWarning.code

# Keras's advice to start a Sequential model with keras.Input rather than give a layer
# input_shape=: on the first layer the code does what it says, and on a later one KC301
# judges it (the shape is ignored; a fault only where it differs from what the layer gets).
_ADVICE = "Do not pass an `input_shape`/`input_dim` argument to a layer"

_DOING = {
    "construct": "constructing this layer",
    "build": "building the model",
    "forward": "running the model",
    "optimizer": "constructing the optimizer",
    "compile": "compiling the model",
    "train": "running a train step",
}


def _span(model: ModelSpec, event: Event, positions: tuple[int, ...]) -> Span:
    """The most specific part of the model the event belongs to."""
    if event.where is not None and event.stage in ("construct", "build"):
        position = positions[event.where] if event.where < len(positions) else -1
        if 0 <= position < len(model.layers):
            return model.layers[position].span
    compiled = model.compile
    if event.stage == "optimizer" and compiled is not None and compiled.optimizer is not None:
        return compiled.optimizer.span
    if event.stage == "compile" and compiled is not None:
        return compiled.span
    if event.stage == "train":
        if model.fits:
            return model.fits[0].span
        if compiled is not None:
            return compiled.span
    return model.span


def _ignored(event: Event) -> bool:
    return event.message.startswith(_ADVICE)


def runtime_findings(cases: Iterable[ModelCase], claimed: set[str], ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    seen: set[tuple[int, str]] = set()
    for case in cases:
        built = case.built()
        # On a stand-in input, what Keras says may be about the stand-in, not the model.
        if isinstance(built, str) or case.graph is None or built.stand_in:
            continue
        positions = tuple(layer.position for layer in case.graph.layers)
        for event in built.events:
            if event.message in claimed or _ignored(event):
                continue
            span = _span(case.model, event, positions)
            key = (id(span.anchor) if span.anchor is not None else hash(span), event.message)
            if key in seen:
                continue
            seen.add(key)
            verb = "raised" if event.kind == "error" else "warns"
            doing = _DOING.get(event.stage, "checking the model")
            found.append(
                Finding(
                    CODE,
                    KerasRuntimeWarning.name,
                    "error" if event.kind == "error" else "warning",
                    f"Keras {verb} {event.text()}",
                    span,
                    dynamic="confirmed",
                    evidence=f"seen in {ctx.keras} while {doing}",
                )
            )
    return found
