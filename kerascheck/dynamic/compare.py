"""How an experiment's numbers become a verdict: the model as written against its fix,
measured over several seeds.

``confirmed`` needs the written model to be worse in every seed than the fix in any seed
(the two ranges across seeds do not overlap: with three seeds each, a one-sided rank test at
p = 0.05), and worse on average by at least the measure's smallest difference that matters.
Anything else is ``refuted``: the difference is within the spread across seeds, too small to
matter, or the other way round. A rank criterion, not one on means and standard deviations:
a fault often shows as a few runs that blow up, which a standard deviation would call noise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def number(value: float) -> str:
    """Three significant digits; inf for a run whose loss overflowed (it diverged)."""
    if math.isinf(value):
        return "inf"
    if math.isnan(value):
        return "nan"
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True)
class Series:
    """One measure over the seeds."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        if any(math.isinf(v) for v in self.values):
            return math.inf
        return statistics.fmean(self.values)

    @property
    def spread(self) -> float:
        """The standard deviation across seeds (0 when a run diverged: inf says it all)."""
        finite = [v for v in self.values if math.isfinite(v)]
        if len(finite) != len(self.values) or len(finite) < 2:
            return 0.0
        return statistics.stdev(finite)

    def text(self) -> str:
        if math.isinf(self.mean):
            diverged = sum(math.isinf(v) for v in self.values)
            return f"inf (diverged in {diverged} of {len(self.values)} seeds)"
        return f"{number(self.mean)} ± {number(self.spread)}"


@dataclass(frozen=True)
class Measure:
    """What is compared (lower is better: a loss, an error): its name in the evidence, and
    the smallest difference that matters (``relative`` times the fix's value, at least
    ``absolute``)."""

    name: str
    relative: float = 0.05
    absolute: float = 1e-3


LOSS = Measure("loss")


@dataclass(frozen=True)
class Outcome:
    written: Series
    fixed: Series
    measure: Measure

    @property
    def gap(self) -> float:
        """How much worse (higher) the written model is (negative: better)."""
        return _difference(self.written.mean, self.fixed.mean)

    @property
    def separated(self) -> bool:
        return min(self.written.values) > max(self.fixed.values)

    @property
    def threshold(self) -> float:
        """The smallest average gap that matters."""
        fixed = self.fixed.mean
        scale = abs(fixed) if math.isfinite(fixed) else 0.0
        return max(self.measure.relative * scale, self.measure.absolute)

    @property
    def worse(self) -> bool:
        return self.separated and self.gap >= self.threshold

    def why(self) -> str:
        """Why the verdict is what it is, in a few words."""
        if self.worse:
            return "worse in every seed"
        if self.gap <= 0:
            return "not worse"
        if not self.separated:
            return "within the spread across seeds"
        return f"worse by less than {number(self.threshold)}, too little to matter"


def _difference(high: float, low: float) -> float:
    if math.isinf(high) and math.isinf(low):
        return 0.0
    return high - low
