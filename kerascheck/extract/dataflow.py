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

from kerascheck.extract import ordering
from kerascheck.extract.backbones import flow_scale, generator_scale
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
_INF = float("inf")
_UNIT = (0.0, 1.0)
_UNBOUNDED = (-_INF, _INF)
# Arrays of continuous random values (targets of synthetic regressions) and the interval
# they are drawn from (``uniform`` reads its own bounds).
_CONTINUOUS_RANDOM: dict[str, tuple[float, float] | None] = {
    "numpy.random.rand": _UNIT,
    "numpy.random.randn": _UNBOUNDED,
    "numpy.random.random": _UNIT,
    "numpy.random.random_sample": _UNIT,
    "numpy.random.uniform": None,
    "numpy.random.normal": _UNBOUNDED,
    "numpy.random.standard_normal": _UNBOUNDED,
}
# Random counts and waiting times: no class ids, but never negative and unbounded above.
_NONNEGATIVE_RANDOM = frozenset({"numpy.random.poisson", "numpy.random.exponential"})
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
    ordered = ordering.from_call(qualname, positional, keywords, call)
    if ordered is not None:
        return ordered
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
            documented = dataset.target_range
            y = DataInfo(
                encoding=Known("continuous"),
                dataset=Known(parts[2]),
                span=call.span,
                value_range=Known(documented) if documented is not None else UNKNOWN,
            )
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
        return Instance(qualname, scaled=generator_scale(keywords, k))
    if qualname.startswith("keras.utils.") and parts[-1] == "to_categorical":
        given = _known_int(
            keywords.get("num_classes", positional[1] if len(positional) > 1 else None)
        )
        source = positional[0] if positional else keywords.get("y")
        if given is UNKNOWN and isinstance(source, Data):
            given = source.info.num_classes
        onehot = DataInfo(encoding=Known("onehot"), num_classes=given, span=call.span)
        if isinstance(source, Data) and source.info.encoding == Known("integer"):
            # The same labels, one-hot: still a loader's labels, one per sample.
            onehot = replace(onehot, dataset=source.info.dataset, split=source.info.split)
        if isinstance(source, Data):
            # The rows stay in place.
            onehot = replace(onehot, order=source.info.order, label_order=source.info.label_order)
        return Data(onehot)
    if qualname == "numpy.where" and len(positional) == 3:
        choices = {v.value for v in positional[1:] if isinstance(v, Known)}
        if choices in ({-1, 1}, {-1.0, 1.0}):
            return Data(DataInfo(encoding=Known("plus_minus_one"), span=call.span))
        if choices in ({0, 1}, {0.0, 1.0}):
            return Data(DataInfo(encoding=Known("binary"), span=call.span))
        return UNKNOWN
    if qualname in _ARRAY_PASSTHROUGH and positional and isinstance(positional[0], Data):
        return positional[0]
    if qualname in _CONTINUOUS_RANDOM:
        drawn = _CONTINUOUS_RANDOM[qualname]
        interval = Known(drawn) if drawn is not None else _uniform_range(positional, keywords)
        return Data(DataInfo(encoding=Known("continuous"), span=call.span, value_range=interval))
    if qualname in _NONNEGATIVE_RANDOM:
        return Data(DataInfo(span=call.span, value_range=Known((0.0, _INF))))
    if qualname == "sklearn.datasets.make_regression":
        # y = X @ coef + noise with normal X: unbounded targets (and coef with coef=True).
        y = Data(
            DataInfo(encoding=Known("continuous"), span=call.span, value_range=Known(_UNBOUNDED))
        )
        items: tuple[Value, ...] = (Data(DataInfo(span=call.span)), y)
        coef = keywords.get("coef")
        if coef is not None and coef != Known(False):
            items = (*items, UNKNOWN) if coef == Known(True) else ()
        return Seq(items, True) if items else UNKNOWN
    if qualname in _CONTINUOUS_FUNCTIONS:
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
            return Data(replace(info, encoding=Known("integer"), value_range=UNKNOWN))
        return UNKNOWN
    if qualname == "sklearn.datasets.make_multilabel_classification":
        x = Data(DataInfo(span=call.span))
        return Seq((x, Data(DataInfo(encoding=Known("multihot"), span=call.span))), True)
    if qualname == "sklearn.model_selection.train_test_split":
        split: list[Value] = []
        shuffled = keywords.get("shuffle") != Known(False)
        for array in positional:
            if isinstance(array, Data) and shuffled:
                array = Data(replace(array.info, order=UNKNOWN, label_order=UNKNOWN))
            split += [array, array] if isinstance(array, Data) else [UNKNOWN, UNKNOWN]
        return Seq(tuple(split), True) if split else UNKNOWN
    if qualname == "sklearn.preprocessing.MinMaxScaler":
        given = keywords.get("feature_range", positional[0] if positional else None)
        return Instance(qualname, _literal_range(given) if given is not None else Known(_UNIT))
    if qualname in _SCALERS or qualname in _ENCODERS:
        return Instance(qualname)
    return None


def _number(value: Value | None, default: float | None = None) -> float | None:
    if value is None:
        return default
    if isinstance(value, Known) and isinstance(value.value, (int, float)):
        return None if isinstance(value.value, bool) else float(value.value)
    return None


def _literal_range(value: Value) -> Any:
    """``(low, high)`` written as literal numbers, else UNKNOWN."""
    if (
        isinstance(value, Known)
        and isinstance(value.value, (tuple, list))
        and len(value.value) == 2
    ):
        low, high = (_number(Known(v)) for v in value.value)
        if low is not None and high is not None and low <= high:
            return Known((low, high))
    return UNKNOWN


def _uniform_range(positional: list[Value], keywords: dict[str, Value]) -> Any:
    """``np.random.uniform(low=0.0, high=1.0, size)``."""
    low = _number(keywords.get("low", positional[0] if positional else None), 0.0)
    high = _number(keywords.get("high", positional[1] if len(positional) > 1 else None), 1.0)
    if low is None or high is None:
        return UNKNOWN
    return Known((min(low, high), max(low, high)))


def _random_ints(positional: list[Value], keywords: dict[str, Value], call: Call) -> Value:
    """``np.random.randint(low, high, size)``: class ids 0..high-1 when low is 0 (or when
    only ``high`` is given, as ``randint(n)``)."""
    low = keywords.get("low", positional[0] if positional else None)
    high = keywords.get("high", positional[1] if len(positional) > 1 else None)
    if high is None or high == Known(None):
        low, high = Known(0), low
    interval: Any = UNKNOWN
    if isinstance(_known_int(low), Known) and isinstance(_known_int(high), Known):
        interval = Known((float(low.value), float(high.value - 1)))  # type: ignore[union-attr]
    if low != Known(0) or _known_int(high) is UNKNOWN:
        return Data(DataInfo(span=call.span, value_range=interval))
    return Data(
        DataInfo(encoding=Known("integer"), num_classes=high, span=call.span, value_range=interval)
    )


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
        # Elements of the array: still in its range (a mask on a later axis could pick by
        # value, but then the rows are not kept either).
        kept_range = info.value_range if isinstance(rows, cst.Slice) else UNKNOWN
        return Data(
            DataInfo(
                scaled=info.scaled, dataset=info.dataset, span=info.span, value_range=kept_range
            )
        )
    if isinstance(rows, cst.Slice) or _is_reshape(rows):
        return array
    encoding = info.encoding.value if isinstance(info.encoding, Known) else None
    kept = info.num_classes if encoding in _COLUMN_ENCODINGS else UNKNOWN
    # A mask or an index array may select rows by their values (``y[y < 1]``).
    return Data(replace(info, num_classes=kept, value_range=UNKNOWN))


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
            return Data(DataInfo(dataset=Known("ImageDataGenerator"), scaled=flow_scale(receiver)))
        if method.name == "flow" and positional:
            scaled = flow_scale(receiver, positional[0])
            return Data(DataInfo(dataset=Known("ImageDataGenerator"), scaled=scaled))
        return UNKNOWN
    if method.name not in ("fit_transform", "transform") or not positional:
        return UNKNOWN
    array = positional[0]
    info = array.info if isinstance(array, Data) else DataInfo()
    if receiver.qualname in _ENCODERS:
        encoding = Known(_ENCODERS[receiver.qualname])
        return Data(
            DataInfo(
                encoding=encoding,
                dataset=info.dataset,
                span=info.span,
                order=info.order,
                label_order=info.label_order,
            )
        )
    scaled = Known(_SCALERS[receiver.qualname])
    return Data(replace(info, scaled=scaled, value_range=receiver.value_range))


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


def _moved(op: Callable[[Any, Any], Any], interval: Any, right: Value) -> Any:
    """Where ``values <op> number`` lies when the values lie in ``interval``."""
    number = _number(right)
    if not isinstance(interval, Known) or number is None:
        return UNKNOWN
    low, high = interval.value
    if op is operator.add or op is operator.sub:
        shift = number if op is operator.add else -number
        return Known((low + shift, high + shift))
    if op is operator.truediv and number != 0:
        number = 1 / number
    elif op is not operator.mul:
        return UNKNOWN
    if number == 0:
        return Known((0.0, 0.0))
    ends = (low * number, high * number)
    return Known((min(ends), max(ends)))


def binary(
    op: Callable[[Any, Any], Any], left: Value, right: Value, right_node: cst.CSTNode | None
) -> Value | None:
    """``x / 255``, ``y - y.mean()``, ``(...) / y.std()`` on a tracked array; else None."""
    if op in _ARITHMETIC and (_continuous(left) or _continuous(right)):
        # Continuous values (random reals) added to, scaling or scaled by anything stay
        # continuous: ``5 * x ** 2 + noise``.
        span = left.info.span if isinstance(left, Data) else None
        moved = _moved(op, left.info.value_range, right) if isinstance(left, Data) else UNKNOWN
        return Data(DataInfo(encoding=Known("continuous"), span=span, value_range=moved))
    if not isinstance(left, Data):
        # ``y - y.mean()`` centres whatever ``y`` was; ``x / 255`` scales pixel values.
        centring = op is operator.sub and right_node is not None
        if left is UNKNOWN and centring and _is_call_to(right_node, ("mean",)):
            return Data(DataInfo(scaled=Known("centered")))
        if left is UNKNOWN and _scales_pixels(op, right):
            return Data(DataInfo(encoding=Known("continuous"), scaled=Known("unit")))
        return None
    info = replace(left.info, value_range=_moved(op, left.info.value_range, right))
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
