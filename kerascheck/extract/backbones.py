"""Pretrained backbones (``keras.applications``) and the pixels that reach them.

A ``keras.applications`` constructor makes a model object of kind ``application`` (its
layers are Keras's, not the file's). Called in another model's graph it is a part of that
model (``PartUse`` on the tensor it returns); ``base.output`` / ``base.input`` connect a
graph built on it. On the way in, the operations that change the pixel scale are recorded:
``Rescaling`` layers, ``x / 255`` on a tensor, a module's ``preprocess_input`` (on arrays, on
tensors, in a ``Lambda`` layer or as an image generator's ``preprocessing_function``), and
augmentation layers that leave the scale alone. Anything else between the model's input and
the backbone makes the path unknown, and KC407 stays silent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import libcst as cst

from kerascheck.extract.trainable import direct_parts, graph_tensors
from kerascheck.extract.values import Data, Instance, ModelObject, PartUse, Ref, Tensor, Value
from kerascheck.ir import (
    UNKNOWN,
    ApplicationSpec,
    Call,
    DataInfo,
    Known,
    LayerSpec,
    PartCall,
    PartSpec,
    PixelOp,
    Span,
)
from kerascheck.knowledge import Knowledge, applications

_PREFIX = "keras.applications."
# Models inside models inside models... are followed this deep.
_MAX_NESTING = 4
# Layers that move or resize pixels without changing their scale.
_KEEP_SCALE = frozenset(
    {
        "InputLayer",
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "RandomCrop",
        "Resizing",
        "CenterCrop",
        "ZeroPadding2D",
        "Cropping2D",
    }
)
_ARITHMETIC: dict[Callable[[Any, Any], Any], Callable[[float], tuple[float, float]]] = {
    operator.truediv: lambda c: (1.0 / c, 0.0),
    operator.mul: lambda c: (c, 0.0),
    operator.sub: lambda c: (1.0, -c),
    operator.add: lambda c: (1.0, c),
}


def constructor_of(qualname: str) -> str | None:
    """``ResNet50`` for ``keras.applications.ResNet50`` or ``keras.applications.resnet50
    .ResNet50``; None for anything else."""
    if not qualname.startswith(_PREFIX):
        return None
    parts = qualname[len(_PREFIX) :].split(".")
    name = parts[-1]
    entry = applications().constructors.get(name)
    if entry is None or len(parts) > 2:
        return None
    if len(parts) == 2 and parts[0] not in entry.exported_in:
        return None
    return name


def preprocess_module(
    function: Value | None, keywords: dict[str, Value] | None, k: Knowledge
) -> str | None:
    """The module of ``keras.applications.<module>.preprocess_input`` (a Ref), or
    ``imagenet_utils:<mode>``; None when it is something else or the mode is not known.
    The module comes from the name as written: canonical names fold it away."""
    if not isinstance(function, Ref) or not function.qualname.endswith(".preprocess_input"):
        return None
    written = function.raw
    for prefix, replacement in k.namespace_prefixes:
        if written == prefix or written.startswith(prefix + "."):
            written = replacement + written[len(prefix) :]
            break
    if not written.startswith(_PREFIX):
        return None
    module = written[len(_PREFIX) : -len(".preprocess_input")]
    if module == "imagenet_utils":
        mode = (keywords or {}).get("mode", Known("caffe"))
        module = f"imagenet_utils:{mode.value}" if isinstance(mode, Known) else ""
    return module if module in applications().preprocess_input else None


def construct(
    name: str, call: Call, positional: list[Value], keywords: dict[str, Value], cond_level: int
) -> ModelObject:
    """The model a ``keras.applications`` constructor returns."""
    entry = applications().constructors[name]
    weights = keywords.get("weights", positional[1] if len(positional) > 1 else None)
    include_preprocessing = keywords.get("include_preprocessing")
    spec = ApplicationSpec(
        constructor=name,
        weights=Known(entry.default_weights) if weights is None else _plain(weights),
        include_preprocessing=(
            Known(True) if include_preprocessing is None else _plain(include_preprocessing)
        ),
        call=call,
    )
    model = ModelObject("application", call.span, complete=False, cond_level=cond_level)
    model.application = spec
    given = keywords.get("input_tensor", positional[2] if len(positional) > 2 else None)
    if isinstance(given, Tensor):
        model.io["input"] = given
    return model


def _plain(value: Value) -> Any:
    return value if isinstance(value, Known) else UNKNOWN


def io_tensor(model: ModelObject, which: str, span: Span) -> Tensor:
    """``model.input`` / ``model.output``: the same tensor each time it is read."""
    found = model.io.get(which)
    if found is None:
        if which == "input":
            found = Tensor(is_input=True)
        else:
            found = Tensor(inputs=(io_tensor(model, "input", span),), op=PartUse(model, None, span))
        model.io[which] = found
    return found


def preprocess(module: str, positional: list[Value], call: Call) -> Value:
    """``preprocess_input(x)`` on a tensor (a pixel operation in the graph) or an array."""
    source = positional[0] if positional else UNKNOWN
    if isinstance(source, Tensor):
        written = f"{module.partition(':')[0]}.preprocess_input"
        op = PixelOp("preprocess_input", call.span, written, module=module)
        return Tensor(inputs=(source,), op=op)
    info = source.info if isinstance(source, Data) else DataInfo(span=call.span)
    before = info.scaled
    if before in (UNKNOWN, Known("raw_0_255"), Known("untouched")):
        scaled = Known(f"preprocess_input:{module}")
    elif before == Known("unit"):
        scaled = Known(f"unit+preprocess_input:{module}")
    else:
        scaled = UNKNOWN
    return Data(replace(info, scaled=scaled))


def generator_scale(keywords: dict[str, Value], k: Knowledge) -> Any:
    """The scale of an ImageDataGenerator's batches from its scaling arguments: ``rescale``
    of 1/255 alone gives [0, 1]; a module's ``preprocess_input`` as the
    ``preprocessing_function`` alone gives that module's scale; anything else is unknown."""
    given = {name: value for name, value in keywords.items() if name in _GENERATOR_SCALING}
    if not given:
        return Known("raw_0_255")
    if set(given) == {"rescale"}:
        rescale = given["rescale"]
        if isinstance(rescale, Known) and _is_number(rescale.value):
            return Known("unit") if abs(rescale.value * 255 - 1) < 1e-3 else UNKNOWN
        return UNKNOWN
    if set(given) == {"preprocessing_function"}:
        module = preprocess_module(given["preprocessing_function"], None, k)
        return Known(f"preprocess_input:{module}") if module else UNKNOWN
    return UNKNOWN


_GENERATOR_SCALING = (
    "rescale",
    "preprocessing_function",
    "featurewise_center",
    "samplewise_center",
    "featurewise_std_normalization",
    "samplewise_std_normalization",
    "zca_whitening",
)


def flow_scale(generator: Instance, source: Value | None = None) -> Any:
    """The scale of what ``generator.flow*()`` yields (``source`` None: files, which are raw
    0-255 pixels; else the array given to ``flow``, with its scale), after the generator's
    own scaling. A generator that rescales by 1/255 or applies a ``preprocess_input`` says
    that the arrays it is given are 0-255 pixels, so their unknown scale is taken as that."""
    own = generator.scaled
    if source is None:
        base: Any = Known("raw_0_255")
    else:
        base = source.info.scaled if isinstance(source, Data) else UNKNOWN
    if own == Known("raw_0_255"):
        return base
    if base in (UNKNOWN, Known("raw_0_255")):
        return own
    return UNKNOWN


def pixel_arithmetic(
    op: Callable[[Any, Any], Any] | None, left: Value, right: Value, node: cst.BinaryOperation
) -> Tensor | None:
    """``x / 255``, ``x * (1 / 255)``, ``x - 1`` on a tensor: a pixel operation."""
    if op not in _ARITHMETIC or not isinstance(left, Tensor) or not isinstance(right, Known):
        return None
    constant = right.value
    if not _is_number(constant) or (op is operator.truediv and constant == 0):
        return None
    scale, offset = _ARITHMETIC[op](float(constant))
    symbol = {operator.truediv: "/", operator.mul: "*", operator.sub: "-", operator.add: "+"}
    written = f"x {symbol[op]} {constant}"
    pixel = PixelOp("affine", Span(anchor=node), written, scale=scale, offset=offset)
    return Tensor(inputs=(left,), op=pixel)


def _number(value: float) -> str:
    """``1/255`` rather than ``0.00392157``."""
    if value and abs(1 / value - round(2 / value) / 2) < 1e-6 and abs(value) < 1:
        return f"1/{1 / value:g}"
    return f"{value:g}"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Backbones:
    """What the extractor learns about pixel operations hidden in layer objects."""

    def __init__(self, k: Knowledge) -> None:
        self.k = k
        # ``Lambda(preprocess_input)``: the layer's spec (by identity) -> its pixel operation.
        self.lambdas: dict[int, PixelOp] = {}

    def lambda_layer(self, spec: LayerSpec, positional: list[Value]) -> None:
        module = preprocess_module(positional[0] if positional else None, None, self.k)
        if module is not None:
            written = f"Lambda({module}.preprocess_input)"
            self.lambdas[id(spec)] = PixelOp("preprocess_input", spec.span, written, module=module)

    def layer_op(self, layer: LayerSpec) -> PixelOp | None:
        """What a layer does to the pixel scale, or None when that is not known."""
        if layer.class_name in _KEEP_SCALE:
            return PixelOp("keep", layer.span, layer.class_name)
        if layer.class_name == "Lambda":
            return self.lambdas.get(id(layer))
        if layer.class_name == "Rescaling" and layer.call is not None:
            scale = layer.call.argument("scale", 0)
            offset = layer.call.argument("offset", 1)
            values = [
                arg.value.value if arg is not None and isinstance(arg.value, Known) else default
                for arg, default in ((scale, None), (offset, 0.0))
            ]
            if not all(_is_number(v) for v in values) or layer.call.has_star_args:
                return None
            written = f"Rescaling({_number(values[0])}" + (
                f", offset={values[1]:g})" if values[1] else ")"
            )
            return PixelOp(
                "affine", layer.span, written, scale=float(values[0]), offset=float(values[1])
            )
        return None

    def parts(
        self, model: ModelObject, direct: list[ModelObject], depth: int = 0
    ) -> tuple[PartSpec, ...]:
        """The models used as layers of ``model``, with each use and what leads to it, and
        theirs in turn (a few levels: models nest as a tree)."""
        uses: dict[int, list[PartCall]] = {id(part): [] for part in direct}
        if model.kind == "sequential":
            for part, position in model.parts:
                ops = self._layer_ops(model.layers[:position])
                uses.setdefault(id(part), []).append(PartCall(part.span, None, ops))
        else:
            for tensor in graph_tensors(model):
                if isinstance(tensor.op, PartUse) and id(tensor.op.model) in uses:
                    use = tensor.op
                    ops = self._path_ops(tensor.inputs[0]) if len(tensor.inputs) == 1 else None
                    uses[id(use.model)].append(PartCall(use.span, use.call, ops))
        return tuple(
            PartSpec(
                part.name,
                part.application,
                tuple(uses[id(part)]),
                self.parts(part, direct_parts(part), depth + 1) if depth < _MAX_NESTING else (),
            )
            for part in direct
        )

    def _layer_ops(self, layers: list[LayerSpec]) -> tuple[PixelOp, ...] | None:
        ops = []
        for layer in layers:
            op = self.layer_op(layer)
            if op is None:
                return None
            ops.append(op)
        return tuple(ops)

    def _path_ops(self, tensor: Tensor) -> tuple[PixelOp, ...] | None:
        """The pixel operations from the model's input to ``tensor``, in order."""
        ops: list[PixelOp] = []
        current = tensor
        while not current.is_input:
            if len(current.inputs) != 1:
                return None
            if isinstance(current.op, PixelOp):
                ops.append(current.op)
            elif current.layer is not None and current.op is None:
                op = self.layer_op(current.layer)
                if op is None:
                    return None
                ops.append(op)
            else:
                return None
            current = current.inputs[0]
        return tuple(reversed(ops))
