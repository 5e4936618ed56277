"""Turn the extractor's abstract values into IR: models, outputs, losses, metrics, fits."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kerascheck.extract import history, ordering
from kerascheck.extract.values import (
    Data,
    KerasObject,
    LayerObject,
    Mapping,
    ModelObject,
    Ref,
    Seq,
    Tensor,
    Value,
    post_order,
)
from kerascheck.ir import (
    UNKNOWN,
    AppliedActivation,
    Call,
    CompileSpec,
    DataInfo,
    Known,
    LayerSpec,
    LossSpec,
    MetricSpec,
    ModelSpec,
    OptimizerSpec,
    OutputSpec,
    PartSpec,
    RunKind,
    RunSpec,
    Span,
    TrainableState,
)
from kerascheck.knowledge import Knowledge

if TYPE_CHECKING:
    from kerascheck.extract.pipelines import Pipelines


def resolve_activation(value: Value | None, k: Knowledge) -> Any:
    """Canonical activation (``Known('softmax')``, ``Known(None)`` = linear) or UNKNOWN."""
    if isinstance(value, Known):
        if value.value is None:
            return Known(None)
        if isinstance(value.value, str):
            name = k.canonical_activation(value.value)
            return UNKNOWN if name is False else Known(name)
        return UNKNOWN
    if isinstance(value, Ref):
        q = value.qualname
        if q in k.activation_functions:
            return Known(k.activation_functions[q])
        if q.startswith("keras.activations."):
            name = k.canonical_activation(q.rsplit(".", 1)[1])
            return UNKNOWN if name is False else Known(name)
        return UNKNOWN
    if isinstance(value, LayerObject) and value.spec.class_name in k.activation_layers:
        return Known(k.activation_layers[value.spec.class_name])
    return UNKNOWN


# ----------------------------------------------------------------------------- models
def build_model_spec(
    model: ModelObject,
    final_compiles: tuple[CompileSpec | None, ...],
    k: Knowledge,
    parts: tuple[PartSpec, ...] = (),
) -> ModelSpec:
    edges: tuple[tuple[int, int], ...] = ()
    if model.kind == "sequential":
        layers = [replace(layer, position=i) for i, layer in enumerate(model.layers)]
        outputs = _sequential_outputs(layers, model, k)
    else:
        layers, edges, placed = _graph(model.output_tensors or [])
        outputs = tuple(
            _placed(
                _tensor_output(t, k, model.span, (model.output_names or [None] * 99)[i]), placed
            )
            for i, t in enumerate(model.output_tensors or [])
        )
    return ModelSpec(
        kind=model.kind,  # type: ignore[arg-type]
        name=model.name,
        span=model.span,
        layers=tuple(layers),
        outputs=outputs,
        complete=model.complete,
        events=tuple(model.events),
        final_compiles=final_compiles,
        embedded=model.embedded,
        edges=edges,
        application=model.application,
        parts=parts,
    )


def _sequential_outputs(
    layers: list[LayerSpec], model: ModelObject, k: Knowledge
) -> tuple[OutputSpec, ...]:
    if not layers:
        return ()
    if any(layer.conditional for layer in layers[-1:]):
        return (OutputSpec(None, UNKNOWN, UNKNOWN, model.span),)
    chain: Tensor = Tensor(is_input=True)
    for layer in layers:
        chain = Tensor(inputs=(chain,), layer=layer if layer.known_layer else None)
    return (_tensor_output(chain, k, model.span, None),)


def _placed(output: OutputSpec, placed: dict[int, LayerSpec]) -> OutputSpec:
    """The output with its layer as the model lists it (with its position)."""
    if output.layer is None or id(output.layer) not in placed:
        return output
    return replace(output, layer=placed[id(output.layer)])


def _graph(
    outputs: list[Tensor],
) -> tuple[list[LayerSpec], tuple[tuple[int, int], ...], dict[int, LayerSpec]]:
    """Layers reachable from the outputs (inputs first, each once) and the edges between
    them: (producer position, consumer position), consumer -1 for an operation that is not
    a layer (``x + y``); and each layer as placed, by the identity of the layer met in the
    graph. Iterative, so deep graphs cannot exhaust the stack."""
    ordered: list[LayerSpec] = []
    position: dict[int, int] = {}
    for tensor in post_order(outputs):
        if tensor.layer is not None and id(tensor.layer) not in position:
            position[id(tensor.layer)] = len(ordered)
            ordered.append(tensor.layer)
    edges: set[tuple[int, int]] = set()
    seen: set[int] = set()
    frontier = list(outputs)
    while frontier:
        tensor = frontier.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        consumer = position[id(tensor.layer)] if tensor.layer is not None else -1
        for parent in tensor.inputs:
            if parent.layer is not None:
                edges.add((position[id(parent.layer)], consumer))
            frontier.append(parent)
    layers = [replace(layer, position=i) for i, layer in enumerate(ordered)]
    placed = {id(original): layer for original, layer in zip(ordered, layers, strict=True)}
    return layers, tuple(sorted(edges)), placed


def _layer_name(layer: LayerSpec) -> str | None:
    if layer.call is None:
        return None
    arg = layer.call.kwarg("name")
    if arg is not None and isinstance(arg.value, Known) and isinstance(arg.value.value, str):
        return arg.value.value
    return None


def _units(layer: LayerSpec, k: Knowledge) -> Any:
    if layer.class_name in k.channel_layers and layer.call is not None:
        data_format = layer.call.kwarg("data_format")
        if data_format is not None and data_format.value != Known("channels_last"):
            return UNKNOWN
    return layer.units


def _tensor_output(tensor: Tensor, k: Knowledge, fallback: Span, name: str | None) -> OutputSpec:
    """Walk back from an output tensor through activations and transparent layers to the
    layer that defines the units, collecting the activations applied on the way."""
    if name is None and tensor.layer is not None:
        # Keras keys losses by the name of the layer that produces the output itself; an
        # unnamed layer gets a generated name nobody can key by.
        name = _layer_name(tensor.layer)
    applied: list[AppliedActivation] = []  # outermost first
    current: Tensor | None = tensor
    while current is not None:
        layer = current.layer
        single = current.inputs[0] if len(current.inputs) == 1 else None
        if layer is None:
            if current.activation is UNKNOWN or single is None:
                break
            if current.activation != Known(None):  # ``keras.activations.linear(x)``
                span = current.activation_span or fallback
                applied.append(AppliedActivation(current.activation, span))
            current = single
            continue
        if layer.class_name in k.transparent_layers:
            current = single
            continue
        is_activation = layer.class_name == "Activation" or layer.class_name in k.activation_layers
        if is_activation:
            # Activation("linear") computes nothing: mixed precision's float32 cast after a
            # softmax (``Activation("linear", dtype="float32")``) leaves the softmax output.
            if layer.activation != Known(None):
                span = layer.activation_span or layer.span
                applied.append(AppliedActivation(layer.activation, span))
            current = single
            continue
        # The unit-defining layer: the last activation applied is the output's.
        own = AppliedActivation(layer.activation, layer.activation_span or layer.span)
        outer = applied[0] if applied else own
        if layer.activation != Known(None):
            applied.append(own)
        activations = tuple(reversed(applied))
        units = _units(layer, k)
        return OutputSpec(layer, units, outer.activation, outer.span, name, activations)
    outer_activation = applied[0].activation if applied else UNKNOWN
    outer_span = applied[0].span if applied else fallback
    return OutputSpec(None, UNKNOWN, outer_activation, outer_span, name, tuple(reversed(applied)))


# ----------------------------------------------------------------------------- compile
def _loss_spec(value: Value, span: Span, k: Knowledge) -> LossSpec:
    if isinstance(value, Known) and isinstance(value.value, str):
        name = k.loss_aliases.get(value.value)
        return LossSpec(
            Known(name) if name else UNKNOWN, Known(False), span, value.value, literal=True
        )
    if isinstance(value, Ref) and value.qualname.startswith("keras.losses."):
        written = value.qualname.rsplit(".", 1)[1]
        name = k.loss_aliases.get(written)
        return LossSpec(Known(name) if name else UNKNOWN, Known(False), span, written)
    if isinstance(value, KerasObject) and value.call.qualname.startswith("keras.losses."):
        written = value.call.qualname.rsplit(".", 1)[1]
        cls = k.loss_classes.get(written)
        if cls is None:
            return LossSpec(UNKNOWN, UNKNOWN, span, written, value.call)
        from_logits: Any = Known(False)
        if value.call.has_star_args:
            from_logits = UNKNOWN
        arg = value.call.argument("from_logits", cls.from_logits_index)
        if arg is not None:
            v = arg.value
            from_logits = v if isinstance(v, Known) and isinstance(v.value, bool) else UNKNOWN
        return LossSpec(Known(cls.name), from_logits, span, written, value.call)
    return LossSpec(UNKNOWN, UNKNOWN, span, "")


def _metric_spec(value: Value, span: Span, k: Knowledge) -> MetricSpec | None:
    if isinstance(value, Known) and isinstance(value.value, str):
        written = value.value
        return MetricSpec(written, Known(k.metric_aliases.get(written, written)), span, True)
    if isinstance(value, Ref):
        if not value.qualname.startswith("keras.metrics."):
            return None
        written = value.qualname.rsplit(".", 1)[1]
        return MetricSpec(written, Known(k.metric_aliases.get(written, written)), span)
    if isinstance(value, KerasObject):
        written = value.call.qualname.rsplit(".", 1)[1]
        return MetricSpec(written, UNKNOWN, span, call=value.call)
    return None


def _metrics(
    value: Value, span: Span, k: Knowledge, spans: tuple[Span, ...] = ()
) -> list[tuple[str | None, MetricSpec]]:
    """Metrics as written; ``spans`` are the list elements' spans when the list is literal."""
    found: list[tuple[str | None, MetricSpec]] = []
    if isinstance(value, Known) and isinstance(value.value, (list, tuple)):
        value = Seq(tuple(Known(v) for v in value.value), True)
    if isinstance(value, Known) and isinstance(value.value, dict):
        value = Mapping(tuple((key, Known(v)) for key, v in value.value.items()))
    if isinstance(value, Seq):
        for index, item in enumerate(value.items):
            if isinstance(item, Seq) or (
                isinstance(item, Known) and isinstance(item.value, (list, tuple))
            ):
                found.extend((f"#{index}", m) for _, m in _metrics(item, span, k))
            else:
                item_span = spans[index] if index < len(spans) else span
                metric = _metric_spec(item, item_span, k)
                if metric is not None:
                    found.append((None, metric))
    elif isinstance(value, Mapping):
        for index, (key, item) in enumerate(value.items):
            item_span = spans[index] if index < len(spans) else span
            found.extend((key, m) for _, m in _metrics(item, item_span, k))
    else:
        metric = _metric_spec(value, span, k)
        if metric is not None:
            found.append((None, metric))
    return found


def _flat_losses(value: Seq) -> list[Value]:
    """One loss per output of nested outputs (``[a, [b, c]]``): Keras accepts the loss list
    nested like the outputs or flat (measured, Keras 3.15)."""
    flat: list[Value] = []
    for item in value.items:
        if isinstance(item, Known) and isinstance(item.value, (list, tuple)):
            item = Seq(tuple(Known(v) for v in item.value), True)
        if isinstance(item, Seq):
            flat.extend(_flat_losses(item))
        else:
            flat.append(item)
    return flat


def build_compile(
    call: Call, positional: list[Value], keywords: dict[str, Value], k: Knowledge
) -> CompileSpec:
    loss_value = keywords.get("loss", positional[1] if len(positional) > 1 else None)
    loss_arg = call.argument("loss", 1)
    loss_span = loss_arg.span if loss_arg is not None else call.span
    losses: list[tuple[str | None, LossSpec]] = []
    broadcast = True
    if loss_value is not None:
        if isinstance(loss_value, Known) and isinstance(loss_value.value, (list, tuple)):
            loss_value = Seq(tuple(Known(v) for v in loss_value.value), True)
        if isinstance(loss_value, Known) and isinstance(loss_value.value, dict):
            loss_value = Mapping(tuple((key, Known(v)) for key, v in loss_value.value.items()))
        spans = loss_arg.element_spans if loss_arg is not None else ()

        def at(index: int) -> Span:
            return spans[index] if index < len(spans) else loss_span

        if isinstance(loss_value, Seq):
            broadcast = False
            flat = _flat_losses(loss_value)
            # Spans of a nested list's items are not kept: the list's own span stands in.
            nested = len(flat) != len(loss_value.items)
            losses = [
                (None, _loss_spec(v, loss_span if nested else at(i), k)) for i, v in enumerate(flat)
            ]
        elif isinstance(loss_value, Mapping):
            broadcast = False
            losses = [(key, _loss_spec(v, at(i), k)) for i, (key, v) in enumerate(loss_value.items)]
        else:
            losses = [(None, _loss_spec(loss_value, loss_span, k))]
    metrics_value = keywords.get("metrics")
    metrics_arg = call.kwarg("metrics")
    metrics = (
        _metrics(metrics_value, metrics_arg.span, k, metrics_arg.element_spans)
        if metrics_value is not None and metrics_arg is not None
        else []
    )
    optimizer_value = keywords.get("optimizer", positional[0] if positional else None)
    optimizer_arg = call.argument("optimizer", 0)
    optimizer = None
    if optimizer_value is not None and optimizer_arg is not None:
        if isinstance(optimizer_value, Known) and isinstance(optimizer_value.value, str):
            optimizer = OptimizerSpec(Known(optimizer_value.value), optimizer_arg.span)
        elif isinstance(optimizer_value, KerasObject):
            name = optimizer_value.call.qualname.rsplit(".", 1)[1]
            optimizer = OptimizerSpec(Known(name), optimizer_arg.span, optimizer_value.call)
        else:
            optimizer = OptimizerSpec(UNKNOWN, optimizer_arg.span)
    unresolved, functions = history.metric_names(positional, keywords, call)
    return CompileSpec(
        span=call.span,
        losses=tuple(losses),
        broadcast=broadcast,
        metrics=tuple(metrics),
        optimizer=optimizer,
        call=call,
        unresolved_metrics=unresolved,
        function_metrics=functions,
    )


# ----------------------------------------------------------------------------- data
def _data_info(value: Value | None, span: Span | None) -> DataInfo:
    value = ordering.as_data(value)
    if isinstance(value, Data):
        return replace(value.info, span=span) if span is not None else value.info
    return DataInfo(span=span)


def _reconstruction(inputs: Data) -> Data:
    """``fit(x, x)``: an autoencoder's targets are its inputs; inputs known to be scaled
    values (pixels, standardised features) are continuous targets."""
    info = inputs.info
    if info.encoding is UNKNOWN and isinstance(info.scaled, Known):
        return Data(replace(info, encoding=Known("continuous")))
    return inputs


def build_run(
    method: str,
    kind: RunKind,
    call: Call,
    positional: list[Value],
    keywords: dict[str, Value],
    compiles: tuple[CompileSpec | None, ...],
    pipelines: Pipelines,
    trainable: tuple[TrainableState, ...] = (),
) -> RunSpec:
    """A run with the facts of its data: a generator or dataset gives its inputs and its
    labels (``fit(generator)`` takes y from it, as ``validation_data=generator`` does)."""
    x_arg = call.argument("x", 0)
    x_value = keywords.get("x", positional[0] if positional else None)
    x, flow_y = pipelines.run_input(x_value)
    y = flow_y if flow_y is not None else DataInfo()
    if kind != "predict" and flow_y is None:
        y_arg = call.argument("y", 1)
        y_value = keywords.get("y", positional[1] if len(positional) > 1 else None)
        if y_value is x_value and isinstance(x_value, Data):
            y_value = _reconstruction(x_value)
        y = _at(_data_info(y_value, None), y_arg.span if y_arg else None)
    validation = keywords.get("validation_data")
    validation_arg = call.kwarg("validation_data")
    validation_x = validation_y = DataInfo()
    if validation_arg is not None:
        if isinstance(validation, Seq) and len(validation.items) >= 2:
            spans = validation_arg.element_spans
            validation_x = _at(_data_info(validation.items[0], None), spans[0] if spans else None)
            validation_y = _at(
                _data_info(validation.items[1], None), spans[1] if len(spans) > 1 else None
            )
        else:
            validation_x, flow_labels = pipelines.run_input(validation)
            validation_x = _at(validation_x, validation_arg.span)
            if flow_labels is not None:
                validation_y = _at(flow_labels, validation_arg.span)
    return RunSpec(
        span=call.span,
        method=method,
        kind=kind,
        x=_at(x, x_arg.span if x_arg else None),
        y=y if flow_y is None else _at(y, x_arg.span if x_arg else None),
        call=call,
        validation_y=validation_y,
        compiles=compiles,
        trainable=trainable,
        validation_x=validation_x,
    )


def _at(info: DataInfo, span: Span | None) -> DataInfo:
    """The facts, placed where the run is given them (else where they were made)."""
    return replace(info, span=span) if span is not None else info
