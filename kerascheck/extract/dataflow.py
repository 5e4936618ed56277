"""What the extractor learns about the arrays that reach ``fit()``.

Labels and inputs are followed through the handful of operations real training scripts use:
``keras.datasets.*.load_data()``, ``to_categorical``, ``np.eye(n)[y]``, ``np.where(c, -1,
1)``, NumPy's random and constant arrays, scikit-learn scalers, encoders and
``train_test_split``, ``/ 255`` and ``(y - y.mean()) / y.std()``, indexing and slicing.
Each operation keeps only the facts it provably preserves; anything else drops the
knowledge (the value becomes UNKNOWN), so the rules stay silent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
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
# Label encoders and the encoding their transform gives (LabelBinarizer is left out: it
# gives one 0/1 column for two classes and one-hot rows for more).
_ENCODERS = {
    "sklearn.preprocessing.LabelEncoder": "integer",
    "sklearn.preprocessing.OneHotEncoder": "onehot",
    "sklearn.preprocessing.MultiLabelBinarizer": "multihot",
}
# Arrays of continuous random values (targets of synthetic regressions).
_CONTINUOUS_RANDOM = frozenset(
    {
        "numpy.random.rand",
        "numpy.random.randn",
        "numpy.random.random",
        "numpy.random.random_sample",
        "numpy.random.uniform",
        "numpy.random.normal",
        "numpy.random.standard_normal",
    }
)
# Functions whose values are non-integer reals whatever they are given (``np.sin(x)``), and
# those that keep continuous values continuous (``np.power(noise, 3)``).
_CONTINUOUS_FUNCTIONS = frozenset(
    {
        "numpy.sin",
        "numpy.cos",
        "numpy.tan",
        "numpy.tanh",
        "numpy.exp",
        "numpy.log",
        "numpy.log1p",
        "numpy.sqrt",
        "numpy.linspace",
    }
)
_CONTINUOUS_PRESERVING = frozenset(
    {"numpy.power", "numpy.square", "numpy.abs", "numpy.dot", "numpy.matmul", "numpy.cumsum"}
)
# Arrays of only ones or only zeros: valid 0/1 labels (a GAN's real / fake targets).
_CONSTANT_LABELS = frozenset({"numpy.ones", "numpy.zeros", "numpy.ones_like", "numpy.zeros_like"})
# Encodings whose class count is the number of columns, which selecting rows keeps.
_COLUMN_ENCODINGS = frozenset({"onehot", "multihot"})
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
    if qualname in _CONTINUOUS_RANDOM or qualname in _CONTINUOUS_FUNCTIONS:
        return Data(DataInfo(encoding=Known("continuous"), span=call.span))
    if qualname in _CONTINUOUS_PRESERVING and any(map(_continuous, positional)):
        return Data(DataInfo(encoding=Known("continuous"), span=call.span))
    if qualname == "numpy.arange" and any(
        isinstance(v, Known) and isinstance(v.value, float) for v in positional
    ):
        return Data(DataInfo(encoding=Known("continuous"), span=call.span))
    if qualname in _CONSTANT_LABELS:
        return Data(DataInfo(encoding=Known("binary"), span=call.span))
    if qualname == "numpy.random.randint":
        return _random_ints(positional, keywords, call)
    if qualname == "numpy.eye" and positional:
        # Each row of the identity is a one-hot row: ``np.eye(n)[y]`` one-hot encodes y.
        rows = _known_int(positional[0])
        return Data(DataInfo(encoding=Known("onehot"), num_classes=rows, span=call.span))
    if qualname == "numpy.argmax" and positional and isinstance(positional[0], Data):
        info = positional[0].info
        if info.encoding == Known("onehot"):
            return Data(replace(info, encoding=Known("integer")))
        return UNKNOWN
    if qualname == "sklearn.datasets.make_multilabel_classification":
        x = Data(DataInfo(span=call.span))
        return Seq((x, Data(DataInfo(encoding=Known("multihot"), span=call.span))), True)
    if qualname == "sklearn.model_selection.train_test_split":
        split: list[Value] = []
        for array in positional:
            split += [array, array] if isinstance(array, Data) else [UNKNOWN, UNKNOWN]
        return Seq(tuple(split), True) if split else UNKNOWN
    if qualname in _SCALERS or qualname in _ENCODERS:
        return Instance(qualname)
    return None


def _random_ints(positional: list[Value], keywords: dict[str, Value], call: Call) -> Value:
    """``np.random.randint(low, high, size)``: class ids 0..high-1 when low is 0 (or when
    only ``high`` is given, as ``randint(n)``)."""
    low = keywords.get("low", positional[0] if positional else None)
    high = keywords.get("high", positional[1] if len(positional) > 1 else None)
    if high is None or high == Known(None):
        low, high = Known(0), low
    if low != Known(0) or _known_int(high) is UNKNOWN:
        return Data(DataInfo(span=call.span))
    return Data(DataInfo(encoding=Known("integer"), num_classes=high, span=call.span))


def subscript(array: Data, elements: Sequence[cst.SubscriptElement]) -> Data:
    """``a[...]``: what indexing or slicing keeps of an array's facts.

    A range of rows (``y[:1000]``), new axes and ``...`` keep everything. Selecting rows by
    index, mask or fancy index keeps the encoding, but the class ids of integer labels may
    no longer all be there (one-hot rows keep their columns, so their class count). Any
    selection along another axis (``y[:, 0]``, ``x[:, :10]``) keeps only the scale."""
    info = array.info
    rows, others = elements[0].slice, elements[1:]
    reshaped = all(_is_reshape(e.slice) or _is_full(e.slice) for e in others)
    if not reshaped:
        return Data(DataInfo(scaled=info.scaled, dataset=info.dataset, span=info.span))
    if isinstance(rows, cst.Slice) or _is_reshape(rows):
        return array
    encoding = info.encoding.value if isinstance(info.encoding, Known) else None
    kept = info.num_classes if encoding in _COLUMN_ENCODINGS else UNKNOWN
    return Data(replace(info, num_classes=kept))


def _is_full(index: cst.BaseSlice) -> bool:
    return (
        isinstance(index, cst.Slice)
        and index.lower is None
        and index.upper is None
        and index.step is None
    )


def _is_reshape(index: cst.BaseSlice) -> bool:
    """``None``, ``np.newaxis`` or ``...``: adds or spans axes, selects nothing."""
    if not isinstance(index, cst.Index):
        return False
    value = index.value
    if isinstance(value, cst.Ellipsis):
        return True
    if isinstance(value, cst.Name):
        return value.value == "None"
    return isinstance(value, cst.Attribute) and value.attr.value == "newaxis"


def call_method(method: Method, positional: list[Value]) -> Value:
    receiver = method.receiver
    if isinstance(receiver, Data):
        return receiver if method.name in _PASSTHROUGH_METHODS else UNKNOWN
    if receiver.qualname in _IMAGE_GENERATORS:
        # A generator that does not scale yields images as its source has them: files are
        # raw 0-255 pixels; ``flow(x)`` gives x's scale, as far as it is known.
        if method.name in ("flow_from_directory", "flow_from_dataframe"):
            return Data(DataInfo(dataset=Known("ImageDataGenerator"), scaled=_RAW))
        if method.name == "flow" and positional and isinstance(positional[0], Data):
            scaled = positional[0].info.scaled
            return Data(DataInfo(dataset=Known("ImageDataGenerator"), scaled=scaled))
        return UNKNOWN
    if method.name not in ("fit_transform", "transform") or not positional:
        return UNKNOWN
    array = positional[0]
    info = array.info if isinstance(array, Data) else DataInfo()
    if receiver.qualname in _ENCODERS:
        encoding = Known(_ENCODERS[receiver.qualname])
        return Data(DataInfo(encoding=encoding, dataset=info.dataset, span=info.span))
    return Data(replace(info, scaled=Known(_SCALERS[receiver.qualname])))


def _is_binary(info: DataInfo) -> bool:
    return info.encoding == Known("binary") or (
        info.encoding == Known("integer") and info.num_classes == Known(2)
    )


_ARITHMETIC = frozenset({operator.add, operator.sub, operator.mul, operator.truediv, operator.pow})


def _continuous(value: Value) -> bool:
    return isinstance(value, Data) and value.info.encoding == Known("continuous")


def _scales_pixels(op: Callable[[Any, Any], Any], right: Value) -> bool:
    """``/ 255``: 0-255 pixel values become intensities in [0, 1] (continuous values)."""
    return op is operator.truediv and isinstance(right, Known) and right.value in (255, 255.0)


def _is_call_to(node: cst.BaseExpression, names: tuple[str, ...]) -> bool:
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    return isinstance(func, cst.Attribute) and func.attr.value in names


def binary(
    op: Callable[[Any, Any], Any], left: Value, right: Value, right_node: cst.CSTNode | None
) -> Value | None:
    """``x / 255``, ``y - y.mean()``, ``(...) / y.std()`` on a tracked array; else None."""
    if op in _ARITHMETIC and (_continuous(left) or _continuous(right)):
        # Continuous values (random reals) added to, scaling or scaled by anything stay
        # continuous: ``5 * x ** 2 + noise``.
        span = left.info.span if isinstance(left, Data) else None
        return Data(DataInfo(encoding=Known("continuous"), span=span))
    if not isinstance(left, Data):
        # ``y - y.mean()`` centres whatever ``y`` was; ``x / 255`` scales pixel values.
        centring = op is operator.sub and right_node is not None
        if left is UNKNOWN and centring and _is_call_to(right_node, ("mean",)):
            return Data(DataInfo(scaled=Known("centered")))
        if left is UNKNOWN and _scales_pixels(op, right):
            return Data(DataInfo(encoding=Known("continuous"), scaled=Known("unit")))
        return None
    info = left.info
    # 0/1 labels mapped with ``y * 2 - 1`` become -1/+1.
    if _is_binary(info) and op is operator.mul and right == Known(2):
        return Data(replace(info, encoding=Known("doubled_binary")))
    if info.encoding == Known("doubled_binary") and op is operator.sub and right == Known(1):
        return Data(replace(info, encoding=Known("plus_minus_one"), num_classes=UNKNOWN))
    if _scales_pixels(op, right):
        return Data(replace(info, scaled=Known("unit"), encoding=Known("continuous")))
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
