"""A saved compile configuration (``compile_config`` / ``training_config``) as a CompileSpec.

Losses, metrics and the optimizer arrive as Keras serialized them: identifier strings,
``{"class_name": "function", "config": "binary_crossentropy"}`` for functions (Keras 3),
``{"class_name": "BinaryCrossentropy", "config": {"from_logits": true, ...}}`` for objects,
``MeanMetricWrapper`` for a metric string that tf.keras resolved, per-output lists and
dicts. Anything else stays UNKNOWN.
"""

from __future__ import annotations

from typing import Any

from kerascheck.ir import (
    UNKNOWN,
    Arg,
    Call,
    CompileSpec,
    Known,
    LossSpec,
    MetricSpec,
    OptimizerSpec,
    Span,
    Value,
)
from kerascheck.knowledge import Knowledge

# Metric names under which tf.keras saved the ``'accuracy'`` string it resolved.
_ACCURACY_STRINGS = frozenset({"accuracy", "acc"})


def plain(value: object) -> Value[Any]:
    """A JSON value as an argument value: scalars and lists of them (as tuples) are known; a
    dict is a serialized object, which no rule reads as a literal."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return Known(value)
    if isinstance(value, list):
        items = [plain(item) for item in value]
        if all(isinstance(item, Known) for item in items):
            return Known(tuple(item.value for item in items))  # type: ignore[union-attr]
    return UNKNOWN


def _is_object(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str)


def _function_name(value: dict[str, Any]) -> str | None:
    """The name of a serialized function (Keras 3: class_name "function")."""
    name = value.get("config")
    return name if value.get("class_name") == "function" and isinstance(name, str) else None


def _loss(value: object, span: Span, literal: bool, k: Knowledge) -> LossSpec:
    if isinstance(value, str):
        name = k.loss_aliases.get(value)
        return LossSpec(
            Known(name) if name else UNKNOWN, Known(False), span, value, literal=literal
        )
    if not isinstance(value, dict) or not _is_object(value):
        return LossSpec(UNKNOWN, UNKNOWN, span, "")
    function = _function_name(value)
    if function is not None:
        name = k.loss_aliases.get(function)
        return LossSpec(Known(name) if name else UNKNOWN, Known(False), span, function)
    class_name: str = value["class_name"]
    loss_class = k.loss_classes.get(class_name)
    config = value.get("config")
    if loss_class is None or not isinstance(config, dict):
        return LossSpec(UNKNOWN, UNKNOWN, span, class_name)
    from_logits = config.get("from_logits", False)
    known_logits = Known(from_logits) if isinstance(from_logits, bool) else UNKNOWN
    return LossSpec(Known(loss_class.name), known_logits, span, class_name)


def _losses(
    value: object, pointer: str, literal: bool, k: Knowledge
) -> tuple[list[tuple[str | None, LossSpec]], bool]:
    """(output key, loss) pairs and whether the single loss applies to every output."""
    if value is None:
        return [], True
    if isinstance(value, dict) and not _is_object(value):
        return [
            (str(key), _loss(item, Span(pointer=f"{pointer}.{key}"), literal, k))
            for key, item in value.items()
        ], False
    if isinstance(value, list):
        return [
            (None, _loss(item, Span(pointer=f"{pointer}[{i}]"), literal, k))
            for i, item in enumerate(value)
        ], False
    return [(None, _loss(value, Span(pointer=pointer), literal, k))], True


def _metric(value: object, span: Span, literal: bool, k: Knowledge) -> MetricSpec | None:
    if isinstance(value, str):
        return MetricSpec(value, Known(k.metric_aliases.get(value, value)), span, literal)
    if not isinstance(value, dict) or not _is_object(value):
        return None
    function = _function_name(value)
    if function is not None:
        return MetricSpec(function, Known(k.metric_aliases.get(function, function)), span)
    class_name: str = value["class_name"]
    config = value.get("config")
    if class_name == "MeanMetricWrapper" and isinstance(config, dict):
        name, function = config.get("name"), config.get("fn")
        if isinstance(name, str) and name in _ACCURACY_STRINGS:
            return MetricSpec(name, Known("accuracy"), span)
        if isinstance(function, str):
            return MetricSpec(function, Known(k.metric_aliases.get(function, function)), span)
    return MetricSpec(class_name, UNKNOWN, span)


def _metrics(
    value: object, pointer: str, literal: bool, k: Knowledge
) -> list[tuple[str | None, MetricSpec]]:
    """Like compile(metrics=...): a flat list applies to every output, a list of lists is
    per output (``#i`` keys), a dict is keyed by output name."""
    found: list[tuple[str | None, MetricSpec]] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            at = f"{pointer}[{index}]"
            if isinstance(item, list):
                found.extend((f"#{index}", m) for _, m in _metrics(item, at, literal, k))
            else:
                metric = _metric(item, Span(pointer=at), literal, k)
                if metric is not None:
                    found.append((None, metric))
    elif isinstance(value, dict) and not _is_object(value):
        for key, item in value.items():
            found.extend((str(key), m) for _, m in _metrics(item, f"{pointer}.{key}", literal, k))
    else:
        metric = _metric(value, Span(pointer=pointer), literal, k)
        if metric is not None:
            found.append((None, metric))
    return found


def _optimizer(value: object, span: Span, k: Knowledge) -> OptimizerSpec | None:
    if isinstance(value, str):
        return OptimizerSpec(Known(value), span)
    if not isinstance(value, dict) or not _is_object(value):
        return None
    # TF 2.11+ registered the built-in optimizers as "Custom>Adam".
    name = value["class_name"].rpartition(">")[2]
    config = value.get("config")
    if name not in k.optimizers or not isinstance(config, dict):
        return OptimizerSpec(UNKNOWN, span)
    args = tuple(Arg(key, i, plain(item), span) for i, (key, item) in enumerate(config.items()))
    return OptimizerSpec(Known(name), span, Call(f"keras.optimizers.{name}", args, span, span))


def build_compile(training: dict[str, Any], key: str, literal: bool, k: Knowledge) -> CompileSpec:
    """``literal``: bare strings are what the user wrote (Keras 3 ``compile_config``), not
    names of functions that tf.keras serialized as strings (``training_config``)."""
    losses, broadcast = _losses(training.get("loss"), f"{key}.loss", literal, k)
    metrics = _metrics(training.get("metrics"), f"{key}.metrics", literal, k)
    optimizer_key = "optimizer" if "optimizer" in training else "optimizer_config"
    optimizer = _optimizer(training.get(optimizer_key), Span(pointer=f"{key}.{optimizer_key}"), k)
    span = Span(pointer=key)
    return CompileSpec(
        span=span,
        losses=tuple(losses),
        broadcast=broadcast,
        metrics=tuple(metrics),
        optimizer=optimizer,
        call=Call("keras.Model.compile", (), span, span),
    )
