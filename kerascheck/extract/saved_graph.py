"""A saved model config as a ModelSpec: Sequential chains and functional graphs.

Every layer of the config becomes a LayerSpec whose Call carries the config's keys as
keyword arguments and whose Span points into the config (``layers[3] dense_2``). Functional
graphs are rebuilt from ``inbound_nodes`` (Keras 1/2 ``[name, node, tensor, kwargs]`` lists
and Keras 3 ``__keras_tensor__`` histories) and handed to the model builder that Python
sources use, so outputs, trailing activations and edges mean the same for both.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any

from kerascheck.extract.model_builder import build_model_spec
from kerascheck.extract.saved_compile import plain
from kerascheck.extract.values import ModelObject, Tensor
from kerascheck.ir import (
    UNKNOWN,
    Activation,
    Arg,
    Call,
    CompileSpec,
    Known,
    LayerSpec,
    ModelSpec,
    Span,
    Value,
)
from kerascheck.knowledge import Knowledge, keras3_api, load

# What tf.keras wrote for TensorFlow functions (``activation=tf.nn.softmax``).
_TF_ACTIVATIONS = {"softmax_v2": "softmax", "log_softmax_v2": "log_softmax"}
_FUNCTIONAL = frozenset({"Functional", "Model"})

Ref = tuple[str, int]  # (layer name, node index)


@dataclass(frozen=True)
class _Entry:
    """One item of the config's layer list: a layer (``spec``), or an operation that is not
    a layer (``spec`` None): ``activation`` is known for ``tf.nn.softmax`` and the like."""

    name: str
    class_name: str
    config: dict[str, Any]
    spec: LayerSpec | None
    activation: Activation
    span: Span
    inbound: list[Any]


@cache
def _layer_classes() -> frozenset[str]:
    """Keras's own layer classes: today's API plus Keras 1/2 names the tables know."""
    k = load()
    return frozenset(keras3_api().layer_arguments).union(
        k.unit_layers,
        k.activation_layers,
        k.default_activation,
        k.keras1_convolutions,
        k.transparent_layers,
        k.dropout_layers,
        k.wrapper_layers,
    )


def _activation(value: object, k: Knowledge) -> Activation:
    if value is None:
        return Known(None)
    if isinstance(value, dict) and value.get("class_name") == "function":
        value = value.get("config")  # a function serialized by Keras 3
    if isinstance(value, str):
        name = k.canonical_activation(_TF_ACTIVATIONS.get(value, value))
        return UNKNOWN if name is False else Known(name)  # type: ignore[arg-type]
    return UNKNOWN


def _opaque(span: Span) -> LayerSpec:
    """A layer the IR cannot describe (a custom class, a nested model)."""
    return LayerSpec("", None, span, UNKNOWN, None, UNKNOWN, position=-1)


def _layer_spec(class_name: str, config: dict[str, Any], span: Span, k: Knowledge) -> LayerSpec:
    # Keras 1 wrote every built Dense's input size as `input_dim`; only Embedding's is its own.
    args = tuple(
        Arg(key, index, plain(value), span)
        for index, (key, value) in enumerate(config.items())
        if key != "input_dim" or class_name == "Embedding"
    )
    units: Value[int] = UNKNOWN
    unit = k.unit_layers.get(class_name)
    if unit is not None:
        written = config.get(unit.arg, config.get(unit.legacy) if unit.legacy else None)
        if isinstance(written, int) and not isinstance(written, bool):
            units = Known(written)
    activation: Activation
    if class_name in k.activation_layers:
        activation = Known(k.activation_layers[class_name])
    elif "activation" in config:
        activation = _activation(config["activation"], k)
    elif class_name in k.unit_layers or class_name in k.default_activation:
        activation = Known(k.default_activation.get(class_name))
    else:
        activation = UNKNOWN
    inner = config.get("layer")
    if class_name in k.wrapper_layers and isinstance(inner, dict):
        inner_class, inner_config = inner.get("class_name"), inner.get("config")
        if inner_class in _layer_classes() and isinstance(inner_config, dict):
            wrapped = _layer_spec(inner_class, inner_config, span, k)
            activation = wrapped.activation
            if class_name == "TimeDistributed":
                units = wrapped.units
    call = Call(f"keras.layers.{class_name}", args, span, span)
    return LayerSpec(class_name, call, span, activation, span, units, position=-1)


def _snake(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _entry(raw: object, index: int, k: Knowledge) -> _Entry:
    raw = raw if isinstance(raw, dict) else {}
    class_name = raw.get("class_name") if isinstance(raw.get("class_name"), str) else ""
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    name = raw.get("name", config.get("name"))
    name = name if isinstance(name, str) else ""
    span = Span(pointer=f"layers[{index}] {name}".rstrip())
    inbound = raw.get("inbound_nodes")
    inbound = inbound if isinstance(inbound, list) else []
    module = raw.get("module")
    from_keras = module is None or module == "keras" or str(module).startswith("keras.")
    activation: Activation = UNKNOWN
    spec: LayerSpec | None = None
    if from_keras and "ops" in str(module).split("."):
        # A Keras 3 operation in a functional graph (keras.ops.sigmoid(x)).
        found = k.canonical_activation(_snake(class_name))
        activation = UNKNOWN if found is False else Known(found)  # type: ignore[arg-type]
    elif class_name == "TFOpLambda":
        # A TensorFlow function in a tf.keras functional graph (tf.nn.softmax(x)).
        function = config.get("function")
        found_tf = k.activation_functions.get(f"tensorflow.{function}")
        activation = Known(found_tf) if found_tf else UNKNOWN
    elif from_keras and class_name in _layer_classes():
        spec = _layer_spec(class_name, config, span, k)
    else:
        spec = _opaque(span)
    return _Entry(name, class_name, config, spec, activation, span, inbound)


# ----------------------------------------------------------------------------- Sequential
def _sequential(raw_layers: list[Any], k: Knowledge) -> tuple[list[Tensor], bool]:
    entries = [_entry(raw, i, k) for i, raw in enumerate(raw_layers)]
    # tf.keras lists the InputLayer it made from the first layer's input_shape, which the
    # first layer still carries as batch_input_shape: the source had no such layer.
    if (
        len(entries) > 1
        and entries[0].class_name == "InputLayer"
        and "batch_input_shape" in entries[1].config
    ):
        entries = entries[1:]
    chain: Tensor | None = None
    complete = True
    for entry in entries:
        spec = entry.spec if entry.spec is not None else _opaque(entry.span)
        complete = complete and spec.known_layer
        chain = Tensor(
            inputs=(chain,) if chain is not None else (), layer=spec, is_input=chain is None
        )
    return ([chain] if chain is not None else []), complete


# ----------------------------------------------------------------------------- functional
def _is_ref(value: object, names: dict[str, _Entry]) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= 3
        and isinstance(value[0], str)
        and value[0] in names
        and isinstance(value[1], int)
    )


def _refs(node: object, names: dict[str, _Entry]) -> list[Ref]:
    """The tensors a node consumes, in order, each once: ``[name, node, tensor, kwargs]``
    entries (Keras 1/2, also inside tf.keras kwargs) and Keras 3 ``keras_history``."""
    found: dict[Ref, None] = {}
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            config = item.get("config")
            if item.get("class_name") == "__keras_tensor__" and isinstance(config, dict):
                history = config.get("keras_history")
                if _is_ref(history, names):
                    found.setdefault((history[0], history[1]), None)  # type: ignore[index]
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            if _is_ref(item, names):
                found.setdefault((item[0], item[1]), None)
                stack.extend(reversed(item[3:]))
            else:
                stack.extend(reversed(item))
    return list(found)


def _output_refs(value: object) -> list[Ref]:
    """``output_layers``: ``[name, node, tensor]`` (Keras 3, one output) or a list of them."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    refs: list[Ref] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) >= 2 and isinstance(item[0], str):
            refs.append((item[0], item[1] if isinstance(item[1], int) else 0))
    return refs


def _produce(entry: _Entry, inputs: tuple[Tensor, ...]) -> Tensor:
    if entry.spec is not None:
        return Tensor(inputs=inputs, layer=entry.spec)
    if isinstance(entry.activation, Known) and inputs:
        return Tensor(inputs=inputs[:1], activation=entry.activation, activation_span=entry.span)
    return Tensor(inputs=inputs)


def _functional(
    config: dict[str, Any], k: Knowledge
) -> tuple[list[Tensor], list[str | None], bool]:
    """Output tensors and names. Nodes are resolved in dependency order (Kahn), so neither
    the order of the layer list nor the depth of the graph matters."""
    names: dict[str, _Entry] = {}
    for index, raw in enumerate(config["layers"]):
        entry = _entry(raw, index, k)
        names.setdefault(entry.name, entry)
    tensors: dict[Ref, Tensor] = {}
    jobs: list[tuple[_Entry, int, list[Ref]]] = []
    for entry in names.values():
        if not entry.inbound:
            tensors[(entry.name, 0)] = Tensor(is_input=True, layer=entry.spec)
        jobs.extend((entry, i, _refs(node, names)) for i, node in enumerate(entry.inbound))
    waiting: dict[Ref, list[int]] = {}
    missing = [0] * len(jobs)
    ready: deque[int] = deque()
    for number, (_, _, refs) in enumerate(jobs):
        for ref in refs:
            if ref not in tensors:
                waiting.setdefault(ref, []).append(number)
                missing[number] += 1
        if missing[number] == 0:
            ready.append(number)
    while ready:
        entry, node_index, refs = jobs[ready.popleft()]
        key = (entry.name, node_index)
        tensors[key] = _produce(entry, tuple(tensors[ref] for ref in refs))
        for number in waiting.pop(key, []):
            missing[number] -= 1
            if missing[number] == 0:
                ready.append(number)
    complete = not any(missing) and all(
        e.spec is None or e.spec.known_layer for e in names.values()
    )
    outputs: list[Tensor] = []
    output_names: list[str | None] = []
    for ref in _output_refs(config.get("output_layers")):
        found = tensors.get(ref)
        complete = complete and found is not None
        outputs.append(found if found is not None else Tensor())
        output_names.append(ref[0])
    return outputs, output_names, complete


def build_model(
    document: dict[str, Any], compile_spec: CompileSpec | None, k: Knowledge
) -> ModelSpec | None:
    """The ModelSpec of a Sequential or functional model config; None for anything else
    (a subclassed model's config holds constructor arguments, not layers)."""
    class_name, config = document["class_name"], document["config"]
    name = config.get("name") if isinstance(config, dict) else None
    span = Span(pointer=f"model {name}" if isinstance(name, str) else "model")
    layers = config if isinstance(config, list) else None  # Keras <= 2.1 Sequential
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        layers = config["layers"]
    if layers is None:
        return None
    if class_name == "Sequential":
        outputs, complete = _sequential(layers, k)
        output_names: list[str | None] = [None] * len(outputs)
    elif class_name in _FUNCTIONAL and isinstance(config, dict):
        outputs, output_names, complete = _functional(config, k)
    else:
        return None
    model = ModelObject(
        "config",
        span,
        name=name if isinstance(name, str) else None,
        output_tensors=outputs,
        output_names=output_names,
        events=[compile_spec] if compile_spec is not None else [],
        complete=complete,
    )
    # The saved compile is the one the model was trained with: it is in effect at the end.
    return build_model_spec(model, (compile_spec,), k)
