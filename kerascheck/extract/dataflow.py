"""What the extractor learns about the arrays that reach ``fit()``.

Labels and inputs are followed through the handful of operations real training scripts use:
``keras.datasets.*.load_data()``, ``to_categorical``, ``np.where(c, -1, 1)``, scikit-learn
scalers and ``train_test_split``, ``/ 255`` and ``(y - y.mean()) / y.std()``. Anything else
drops the knowledge (the value becomes UNKNOWN), so the rules stay silent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import libcst as cst

from kerascheck.extract.values import Data, Instance, Method, Seq, Value
from kerascheck.ir import UNKNOWN, Call, DataInfo, Known
from kerascheck.knowledge import Knowledge

_SCALERS = {
    "sklearn.preprocessing.StandardScaler": "standardized",
    "sklearn.preprocessing.RobustScaler": "standardized",
    "sklearn.preprocessing.MinMaxScaler": "unit",
}
_ARRAY_PASSTHROUGH = frozenset(
    {
        "numpy.array",
        "numpy.asarray",
        "numpy.expand_dims",
        "numpy.reshape",
        "numpy.squeeze",
        "keras.utils.img_to_array",
        "keras.preprocessing.image.img_to_array",
    }
)
_RAW = Known("raw_0_255")
# Calls that return images with 0-255 pixel values (the name is shown in messages).
_RAW_IMAGE_SOURCES = {
    "keras.utils.image_dataset_from_directory": "image_dataset_from_directory",
    "keras.preprocessing.image_dataset_from_directory": "image_dataset_from_directory",
    "keras.utils.load_img": "load_img",
    "keras.preprocessing.image.load_img": "load_img",
    "cv2.imread": "cv2.imread",
    "imageio.imread": "imageio.imread",
    "imageio.v2.imread": "imageio.imread",
    "imageio.v3.imread": "imageio.imread",
    "PIL.Image.open": "PIL.Image.open",
}
_IMAGE_GENERATORS = frozenset({"keras.preprocessing.image.ImageDataGenerator"})
# ImageDataGenerator arguments that scale or standardise the pixels.
_GENERATOR_SCALING = (
    "rescale",
    "preprocessing_function",
    "featurewise_center",
    "samplewise_center",
    "featurewise_std_normalization",
    "samplewise_std_normalization",
)
_GENERATOR_FLOWS = frozenset({"flow", "flow_from_directory", "flow_from_dataframe"})
_PASSTHROUGH_METHODS = frozenset({"astype", "reshape", "copy", "squeeze", "ravel", "flatten"})


def _known_int(value: Value | None) -> Any:
    if (
        isinstance(value, Known)
        and isinstance(value.value, int)
        and not isinstance(value.value, bool)
    ):
        return value
    return UNKNOWN


def data_from_call(
    qualname: str, positional: list[Value], keywords: dict[str, Value], call: Call, k: Knowledge
) -> Value | None:
    """The value a data-related call returns, or None when the call is not one of them."""
    parts = qualname.split(".")
    if qualname.startswith("keras.datasets.") and parts[-1] == "load_data" and len(parts) == 4:
        dataset = k.datasets.get(parts[2])
        if dataset is None:
            return UNKNOWN
        x = DataInfo(
            dataset=Known(parts[2]),
            scaled=_RAW if dataset.image else UNKNOWN,
            span=call.span,
        )
        if dataset.classes is None:
            y = DataInfo(encoding=Known("continuous"), dataset=Known(parts[2]), span=call.span)
        else:
            y = DataInfo(
                encoding=Known("integer"),
                num_classes=Known(dataset.classes),
                dataset=Known(parts[2]),
                span=call.span,
            )
        splits = (
            Seq((Data(replace(x, split=Known(s))), Data(replace(y, split=Known(s)))), True)
            for s in ("train", "test")
        )
        return Seq(tuple(splits), True)
    if qualname in _RAW_IMAGE_SOURCES:
        source = Known(_RAW_IMAGE_SOURCES[qualname])
        return Data(DataInfo(dataset=source, scaled=_RAW, span=call.span))
    if qualname in _IMAGE_GENERATORS:
        if any(name in keywords for name in _GENERATOR_SCALING):
            return UNKNOWN
        return Instance(qualname)
    if qualname.startswith("keras.utils.") and parts[-1] == "to_categorical":
        given = _known_int(
            keywords.get("num_classes", positional[1] if len(positional) > 1 else None)
        )
        source = positional[0] if positional else keywords.get("y")
        if given is UNKNOWN and isinstance(source, Data):
            given = source.info.num_classes
        return Data(DataInfo(encoding=Known("onehot"), num_classes=given, span=call.span))
    if qualname == "numpy.where" and len(positional) == 3:
        choices = {v.value for v in positional[1:] if isinstance(v, Known)}
        if choices in ({-1, 1}, {-1.0, 1.0}):
            return Data(DataInfo(encoding=Known("plus_minus_one"), span=call.span))
        if choices in ({0, 1}, {0.0, 1.0}):
            return Data(DataInfo(encoding=Known("binary"), span=call.span))
        return UNKNOWN
    if qualname in _ARRAY_PASSTHROUGH and positional and isinstance(positional[0], Data):
        return positional[0]
    if qualname == "sklearn.model_selection.train_test_split":
        split: list[Value] = []
        for array in positional:
            split += [array, array] if isinstance(array, Data) else [UNKNOWN, UNKNOWN]
        return Seq(tuple(split), True) if split else UNKNOWN
    if qualname in _SCALERS:
        return Instance(qualname)
    return None


def call_method(method: Method, positional: list[Value]) -> Value:
    receiver = method.receiver
    if isinstance(receiver, Data):
        return receiver if method.name in _PASSTHROUGH_METHODS else UNKNOWN
    if receiver.qualname in _IMAGE_GENERATORS:
        if method.name in _GENERATOR_FLOWS:
            return Data(DataInfo(dataset=Known("ImageDataGenerator"), scaled=_RAW))
        return UNKNOWN
    if method.name in ("fit_transform", "transform") and positional:
        array = positional[0]
        info = array.info if isinstance(array, Data) else DataInfo()
        return Data(replace(info, scaled=Known(_SCALERS[receiver.qualname])))
    return UNKNOWN


def _is_binary(info: DataInfo) -> bool:
    return info.encoding == Known("binary") or (
        info.encoding == Known("integer") and info.num_classes == Known(2)
    )


def _is_call_to(node: cst.BaseExpression, names: tuple[str, ...]) -> bool:
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    return isinstance(func, cst.Attribute) and func.attr.value in names


def binary(
    op: Callable[[Any, Any], Any], left: Value, right: Value, right_node: cst.CSTNode | None
) -> Value | None:
    """``x / 255``, ``y - y.mean()``, ``(...) / y.std()`` on a tracked array; else None."""
    if not isinstance(left, Data):
        # ``y - y.mean()`` centres whatever ``y`` was.
        centring = op is operator.sub and right_node is not None
        if left is UNKNOWN and centring and _is_call_to(right_node, ("mean",)):
            return Data(DataInfo(scaled=Known("centered")))
        return None
    info = left.info
    # 0/1 labels mapped with ``y * 2 - 1`` become -1/+1.
    if _is_binary(info) and op is operator.mul and right == Known(2):
        return Data(replace(info, encoding=Known("doubled_binary")))
    if info.encoding == Known("doubled_binary") and op is operator.sub and right == Known(1):
        return Data(replace(info, encoding=Known("plus_minus_one"), num_classes=UNKNOWN))
    if op is operator.truediv and isinstance(right, Known) and right.value in (255, 255.0):
        return Data(replace(info, scaled=Known("unit")))
    if op is operator.sub and right_node is not None and _is_call_to(right_node, ("mean",)):
        return Data(replace(info, scaled=Known("centered")))
    if (
        op is operator.truediv
        and info.scaled == Known("centered")
        and right_node is not None
        and _is_call_to(right_node, ("std",))
    ):
        return Data(replace(info, scaled=Known("standardized")))
    return Data(replace(info, scaled=UNKNOWN, encoding=UNKNOWN, num_classes=UNKNOWN))
