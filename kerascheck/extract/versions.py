"""Keras version and backend checks, evaluated per flavour.

Code written for several Keras versions branches on them: ``if keras.__version__
.startswith("1"):``, ``if int(tf.__version__.split(".")[0]) >= 2:``, ``if
version.parse(keras.__version__) < version.parse("2.4"):``, ``if K.backend() == "theano":``.
A branch that the target flavour excludes describes code that cannot run there, so its
findings are dropped (kerascheck.guards). The extractor does not know the target while it
walks (configuration and version pins decide it later), so such an expression evaluates to
a :class:`Versioned`: one value per flavour, each a plain value, a :class:`VersionRange`
(a version known only within bounds), a :class:`OneOf` (one of a few strings), or UNKNOWN.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kerascheck.ir import UNKNOWN, Flavour

FLAVOURS: tuple[Flavour, ...] = ("legacy", "tf2", "keras3")
Version = tuple[int, ...]


@dataclass(frozen=True)
class VersionRange:
    """A version string known to lie in ``[low, high)``."""

    low: Version
    high: Version

    def within(self, low: Version, high: Version) -> bool | None:
        """True if every version of the range is in [low, high), False if none is."""
        if _le(low, self.low) and _le(self.high, high):
            return True
        if _le(self.high, low) or _le(high, self.low):
            return False
        return None

    def majors(self) -> OneOf:
        """The major versions the range holds (``1`` or ``2`` for [1, 2.4))."""
        last = self.high[0] if any(self.high[1:]) else self.high[0] - 1
        return OneOf(frozenset(range(self.low[0], last + 1)))


@dataclass(frozen=True)
class OneOf:
    """A value that is one of ``choices`` (the backend of a flavour, its major version)."""

    choices: frozenset[Any]

    def apply(self, operation: Callable[[Any], Any]) -> Any:
        """``operation`` on every choice: one value if they agree, else what they may be."""
        results = frozenset(operation(choice) for choice in self.choices)
        return next(iter(results)) if len(results) == 1 else OneOf(results)


@dataclass(frozen=True)
class Versioned:
    """A value per flavour; UNKNOWN where the flavour does not decide it."""

    values: tuple[Any, ...]  # in FLAVOURS order

    def truth(self) -> tuple[bool | None, ...]:
        return tuple(_truth(v) for v in self.values)


@dataclass(frozen=True)
class VersionedMethod:
    """``keras.__version__.startswith`` before it is called."""

    receiver: Versioned
    name: str


# What each flavour means for the version attributes (kerascheck.flavour): standalone Keras
# <= 2.3 (on TensorFlow 1.x to 2.1), tf.keras 2.x / tf_keras, Keras 3 (with TensorFlow >= 2.16).
_KERAS = (VersionRange((1,), (2, 4)), VersionRange((2, 4), (3,)), VersionRange((3,), (4,)))
_TENSORFLOW = (VersionRange((1,), (2, 2)), VersionRange((2,), (3,)), VersionRange((2, 16), (3,)))
_BACKENDS = (
    OneOf(frozenset({"tensorflow", "theano", "cntk"})),
    OneOf(frozenset({"tensorflow"})),
    OneOf(frozenset({"tensorflow", "jax", "torch", "numpy"})),
)
VERSION_ATTRIBUTES = {
    "keras.__version__": _KERAS,
    "keras.version": _KERAS,
    "tensorflow.__version__": _TENSORFLOW,
    "tensorflow.version.VERSION": _TENSORFLOW,
}
BACKEND_FUNCTIONS = frozenset({"keras.backend.backend", "keras.config.backend"})
PARSERS = frozenset(
    {
        "packaging.version.parse",
        "packaging.version.Version",
        "distutils.version.LooseVersion",
        "distutils.version.StrictVersion",
        "looseversion.LooseVersion",
        "pkg_resources.parse_version",
    }
)
_STRING_METHODS = frozenset({"startswith", "split", "strip", "lower"})
_PARTS = re.compile(r"\d+")


def attribute(qualname: str) -> Versioned | None:
    """``keras.__version__`` and the like, per flavour."""
    ranges = VERSION_ATTRIBUTES.get(qualname)
    return Versioned(ranges) if ranges is not None else None


def backend() -> Versioned:
    return Versioned(_BACKENDS)


def _le(a: Version, b: Version) -> bool:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)) <= b + (0,) * (width - len(b))


def parse(text: str) -> Version | None:
    parts = _PARTS.findall(text)
    return tuple(int(p) for p in parts[:3]) if parts else None


def _truth(value: Any) -> bool | None:
    if isinstance(value, OneOf):
        truths = {bool(choice) for choice in value.choices}
        return truths.pop() if len(truths) == 1 else None
    if value is UNKNOWN:
        return None
    if isinstance(value, VersionRange):
        return True  # a version string is never empty
    try:
        return bool(value)
    except Exception:  # an odd object: say nothing
        return None


def _each(values: tuple[Any, ...], apply: Callable[[Any], Any]) -> Versioned:
    results = []
    for value in values:
        if value is UNKNOWN:
            results.append(UNKNOWN)
            continue
        try:
            results.append(apply(value))
        except Exception:  # an operation Python would refuse: unknown, never a crash
            results.append(UNKNOWN)
    return Versioned(tuple(results))


def call_method(method: VersionedMethod, args: list[Any]) -> Versioned | None:
    """``v.startswith("2")``, ``v.split(".")`` ... with plain arguments."""
    if method.name not in _STRING_METHODS:
        return None
    return _each(method.receiver.values, lambda v: _string_method(v, method.name, args))


def _string_method(value: Any, name: str, args: list[Any]) -> Any:
    if isinstance(value, VersionRange):
        if name == "startswith" and len(args) == 1 and isinstance(args[0], str):
            prefix = parse(args[0])
            if prefix is None or not re.fullmatch(r"[\d.]+", args[0].rstrip(".")):
                return UNKNOWN
            upper = (*prefix[:-1], prefix[-1] + 1)
            known = value.within(prefix, upper)
            return UNKNOWN if known is None else known
        if name == "split" and args in ([], ["."]):
            return _Parts(value)
        return UNKNOWN
    if isinstance(value, str):
        return getattr(value, name)(*args)
    return UNKNOWN


@dataclass(frozen=True)
class _Parts:
    """``version.split(".")``: only its first part (the major version) can be known."""

    version: VersionRange


def subscript(value: Versioned, index: Any) -> Versioned:
    def pick(v: Any) -> Any:
        if isinstance(v, _Parts) and index == 0:
            return v.version.majors().apply(str)
        if isinstance(v, VersionRange) and index == 0:  # the first character
            return v.majors().apply(lambda major: str(major)[0])
        if isinstance(v, OneOf):
            return v.apply(lambda choice: choice[index])
        if isinstance(v, (str, tuple, list)):
            return v[index]
        return UNKNOWN

    return _each(value.values, pick)


def convert(name: str, value: Versioned) -> Versioned | None:
    """``int(...)``, ``str(...)``, ``float(...)`` and version parsers applied per flavour."""
    if name in ("int", "float", "str"):
        cast = {"int": int, "float": float, "str": str}[name]

        def converted(v: Any) -> Any:
            if isinstance(v, OneOf):
                return v.apply(cast)
            return cast(v) if isinstance(v, (str, int)) else UNKNOWN

        return _each(value.values, converted)
    if name in PARSERS:
        return _each(value.values, lambda v: v if isinstance(v, VersionRange) else _parsed(v))
    return None


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        version = parse(value)
        return version if version is not None else UNKNOWN
    return UNKNOWN


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def compare(op: str, left: Any, right: Any) -> Versioned:
    """``left op right`` where either side may be a Versioned (the other a plain value)."""
    count = len(FLAVOURS)
    lefts = left.values if isinstance(left, Versioned) else (left,) * count
    rights = right.values if isinstance(right, Versioned) else (right,) * count
    results = []
    for a, b in zip(lefts, rights, strict=True):
        if a is UNKNOWN or b is UNKNOWN:
            results.append(UNKNOWN)
            continue
        try:
            outcome = _compare(op, a, b)
        except Exception:  # incomparable values: unknown
            outcome = None
        results.append(UNKNOWN if outcome is None else outcome)
    return Versioned(tuple(results))


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if isinstance(b, (VersionRange, OneOf)) and not isinstance(a, (VersionRange, OneOf)):
        flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        return _compare(flipped, b, a)
    if isinstance(a, OneOf):
        outcome = a.apply(lambda choice: _compare(op, choice, b))
        return outcome if isinstance(outcome, bool) else None
    if isinstance(a, VersionRange):
        bound = parse(b) if isinstance(b, str) else (b if isinstance(b, tuple) else None)
        if bound is None:
            return None
        below = _le(a.high, bound)  # every version < bound
        at_or_above = _le(bound, a.low)  # every version >= bound
        if op in ("<", "<="):
            return True if below else (False if at_or_above and op == "<" else None)
        if op in (">", ">="):
            return True if at_or_above and op == ">=" else (False if below else None)
        if op in ("==", "!="):
            never_equal = below or not _le(a.low, bound)  # bound outside [low, high)
            return (op == "!=") if never_equal else None
        return None
    return _ORDER[op](a, b) if op in _ORDER else None


def logical_not(value: Versioned) -> Versioned:
    return Versioned(tuple(UNKNOWN if t is None else (not t) for t in value.truth()))


def logical(op: str, left: Any, right: Any) -> Versioned:
    """``and`` / ``or`` of truth values per flavour."""
    count = len(FLAVOURS)
    lefts = left.truth() if isinstance(left, Versioned) else (_truth(left),) * count
    rights = right.truth() if isinstance(right, Versioned) else (_truth(right),) * count
    results: list[Any] = []
    for a, b in zip(lefts, rights, strict=True):
        if op == "and":
            value = False if False in (a, b) else (True if a and b else None)
        else:
            value = True if True in (a, b) else (False if a is False and b is False else None)
        results.append(UNKNOWN if value is None else value)
    return Versioned(tuple(results))


def decided(test: Versioned, branch: bool) -> frozenset[Flavour]:
    """The flavours under which the ``branch`` surely runs."""
    return frozenset(
        flavour for flavour, truth in zip(FLAVOURS, test.truth(), strict=True) if truth == branch
    )


def runs_under(test: Versioned, branch: bool) -> frozenset[Flavour]:
    """The flavours under which the ``branch`` (True: then, False: else) may run."""
    return frozenset(
        flavour
        for flavour, truth in zip(FLAVOURS, test.truth(), strict=True)
        if truth is None or truth == branch
    )
