"""Whether the rows of an array are ordered by label (the ``order`` fact of DataInfo).

``fit(validation_split=...)`` takes the last rows before any shuffling, so labels built as
per-class blocks (``np.concatenate([np.zeros(n), np.ones(m)])``, ``[0] * n + [1] * m``),
sorted (``np.sort(y)``, ``x[np.argsort(y)]``) or loaded sorted (scikit-learn's iris and wine,
measured) give a validation set of the last classes only. The fact is kept by what keeps
rows in place (range slices, ``astype``, ``to_categorical``, label encoders, elementwise
arithmetic) and dropped by everything that may reorder or select rows: fancy indexing and
masks (except an ``argsort`` of the labels), ``train_test_split`` (which shuffles unless told
not to), and any call the analysis cannot see that is handed the array (``np.random.shuffle``
, ``rng.shuffle``, a user's ``shuffle_in_unison``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kerascheck.extract.values import Data, Instance, Seq, Value
from kerascheck.ir import UNKNOWN, Call, DataInfo, Known

BY_LABEL = Known("by_label")
# Arrays that hold one value in every row: (qualname, index of the fill value or None).
_CONSTANTS: dict[str, Any] = {
    "numpy.zeros": 0,
    "numpy.zeros_like": 0,
    "numpy.ones": 1,
    "numpy.ones_like": 1,
}
_FULL = frozenset({"numpy.full", "numpy.full_like"})
_TO_ARRAY = frozenset({"numpy.array", "numpy.asarray", "keras.utils.to_categorical"})
_CONCATENATE = frozenset({"numpy.concatenate", "numpy.hstack", "numpy.append"})
# scikit-learn data sets whose targets are sorted by class (measured, scikit-learn 1.9).
SORTED_DATASETS = frozenset({"sklearn.datasets.load_iris", "sklearn.datasets.load_wine"})
_SHUFFLES = frozenset({"numpy.random.shuffle", "random.shuffle", "sklearn.utils.shuffle"})
# Libraries whose functions return new arrays rather than reorder their arguments.
_PURE_LIBRARIES = frozenset(
    {"numpy", "pandas", "sklearn", "scipy", "matplotlib", "seaborn", "math", "cv2", "PIL"}
)


@dataclass(frozen=True)
class LabelList:
    """A Python list of labels built block by block: ``[0] * n + [1] * m``. ``blocks`` are
    the value of each block, in order."""

    blocks: tuple[Any, ...]


@dataclass(frozen=True)
class ArgsortIndex:
    """``np.argsort(y)`` of labels: indexing rows with it sorts them by label."""


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _labels(blocks: tuple[Any, ...], call: Call | None) -> Value:
    """The array made of constant blocks, in order: ordered by label when at least two
    different values follow each other (one value is not an order, it is one class)."""
    distinct = list(dict.fromkeys(blocks))
    span = call.span if call is not None else None
    if len(distinct) == 1:
        return Data(DataInfo(constant=Known(distinct[0]), span=span))
    encoding: Any = UNKNOWN
    if set(distinct) <= {0, 1}:
        encoding = Known("binary")
    elif all(isinstance(v, int) and v >= 0 for v in distinct):
        encoding = Known("integer")
    return Data(DataInfo(encoding=encoding, label_order=BY_LABEL, span=span))


def _block(value: Value) -> Any:
    """The one value of a constant array, or None."""
    if isinstance(value, Data) and isinstance(value.info.constant, Known):
        return value.info.constant.value
    if isinstance(value, LabelList) and len(set(value.blocks)) == 1:
        return value.blocks[0]
    return None


def from_call(
    qualname: str, positional: list[Value], keywords: dict[str, Value], call: Call
) -> Value | None:
    """What a call returns when it makes or orders labels; None for any other call."""
    if qualname in _CONSTANTS:
        encoding = Known("binary")
        return Data(
            DataInfo(encoding=encoding, constant=Known(_CONSTANTS[qualname]), span=call.span)
        )
    if qualname in _FULL and len(positional) > 1:
        fill = positional[1]
        constant = fill if isinstance(fill, Known) and _number(fill.value) else UNKNOWN
        return Data(DataInfo(constant=constant, span=call.span))
    if qualname in _CONCATENATE:
        items = positional if qualname == "numpy.append" else _sequence(positional)
        blocks = [_block(item) for item in items or ()]
        if len(blocks) < 2 or any(block is None for block in blocks):
            return None
        return _labels(tuple(blocks), call)
    if qualname in _TO_ARRAY and positional and isinstance(positional[0], LabelList):
        labels = _labels(positional[0].blocks, call)
        if qualname.endswith("to_categorical") and isinstance(labels, Data):
            return Data(replace(labels.info, encoding=Known("onehot")))
        return labels
    if qualname == "numpy.sort" and positional and _labelled(positional[0]):
        return Data(replace(positional[0].info, label_order=BY_LABEL))  # type: ignore[union-attr]
    if qualname == "numpy.argsort" and positional and _labelled(positional[0]):
        return ArgsortIndex()
    if qualname in SORTED_DATASETS:
        return _sorted_dataset(qualname, keywords, call)
    return None


def _sequence(positional: list[Value]) -> list[Value] | None:
    if not positional:
        return None
    first = positional[0]
    if isinstance(first, Seq):
        return list(first.items)
    if isinstance(first, Known) and isinstance(first.value, (list, tuple)):
        return [Known(v) for v in first.value]
    return None


def _labelled(value: Value) -> bool:
    """Class labels: sorting or argsorting them orders by class."""
    return isinstance(value, Data) and value.info.encoding in (
        Known("integer"),
        Known("binary"),
    )


def _sorted_dataset(qualname: str, keywords: dict[str, Value], call: Call) -> Value:
    target = Data(DataInfo(encoding=Known("integer"), label_order=BY_LABEL, span=call.span))
    if keywords.get("return_X_y") == Known(True) and "as_frame" not in keywords:
        return Seq((Data(DataInfo(span=call.span)), target), True)
    return Instance(qualname)


def attribute(instance: Instance, name: str) -> Value | None:
    """``load_iris().target``: the sorted labels (``.data`` holds features)."""
    if instance.qualname not in SORTED_DATASETS:
        return None
    if name == "target":
        return Data(DataInfo(encoding=Known("integer"), label_order=BY_LABEL))
    return UNKNOWN


def binary(op: Callable[[Any, Any], Any] | None, left: Value, right: Value) -> Value | None:
    """``[0] * n`` and ``[0] * n + [1] * m``: label lists built block by block."""
    if op is operator.mul:
        for items, count in ((left, right), (right, left)):
            single = isinstance(items, Known) and isinstance(items.value, list)
            if single and len(items.value) == 1 and not isinstance(count, (LabelList, Data)):  # type: ignore[union-attr]
                value = items.value[0]  # type: ignore[union-attr]
                return LabelList((value,)) if _number(value) else None
    if op is operator.add and isinstance(right, LabelList):
        if isinstance(left, LabelList):
            return LabelList(left.blocks + right.blocks)
        if left == Known([]):  # ``labels = []; labels += [0] * n``
            return right
    return None


def as_data(value: Value | None) -> Value | None:
    """A label list handed to Keras as it is (``fit(x, [0] * n + [1] * m)``) is an array."""
    return _labels(value.blocks, None) if isinstance(value, LabelList) else value


def after_binary(op: Callable[[Any, Any], Any], left: Value, right: Value, result: Value) -> Value:
    """Elementwise arithmetic keeps the rows in place (and so their order); the constant of
    a constant array follows the operation."""
    if not isinstance(result, Data) or not isinstance(left, Data):
        return result
    constant = left.info.constant
    if not isinstance(constant, Known):
        return result
    try:
        value = op(constant.value, right.value) if isinstance(right, Known) else None
    except (ArithmeticError, TypeError, ValueError):
        value = None
    new = Known(value) if _number(value) else UNKNOWN
    return Data(replace(result.info, constant=new))


def indexed(array: Data, index: Value, selected: Data) -> Data:
    """``y[idx]``: rows picked by an index. Sorted by label with an argsort of the labels;
    any other selection of rows (a mask, a permutation) leaves the order unknown."""
    if isinstance(index, ArgsortIndex):
        return Data(replace(selected.info, label_order=BY_LABEL))
    if selected is array or selected.info.label_order is UNKNOWN:
        return selected
    return Data(replace(selected.info, label_order=UNKNOWN))


def shuffles(qualname: str | None) -> bool:
    """A call that may reorder the arrays handed to it in place: a known shuffle, or code
    the analysis cannot see (a helper from another file, a method of an unknown object);
    the functions of the usual numeric and plotting libraries do not."""
    if qualname is None or qualname in _SHUFFLES or qualname.endswith(".shuffle"):
        return True
    return qualname.partition(".")[0] not in _PURE_LIBRARIES


def forget_order(value: Value) -> Value | None:
    """The array with its order unknown, or None when there was no order to forget."""
    if isinstance(value, Data) and value.info.label_order is not UNKNOWN:
        return Data(replace(value.info, label_order=UNKNOWN))
    return None
