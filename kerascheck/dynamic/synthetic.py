"""Synthetic data for the experiments: inputs of a model's shape, and targets that a fixed
random teacher computes from them, so that there is something to learn.

NumPy only and seeded: the same plan and seed give the same arrays on every run. Never the
user's data: the plans carry only shapes, encodings, class counts and ranges from the IR.
"""

from __future__ import annotations

import math

import numpy as np

from kerascheck.dynamic.jobs import InputPlan, TargetPlan

_HIDDEN = 32  # the teacher's hidden width
_EMBEDDED = 8  # the teacher's view of each integer id


def inputs(plan: InputPlan, count: int, rng: np.random.Generator) -> np.ndarray:
    size = (count, *plan.shape)
    if plan.kind == "pixels":
        return rng.integers(0, 256, size=size).astype("float32")
    if plan.kind == "ids":
        return rng.integers(0, plan.high, size=size).astype("int32")
    return rng.standard_normal(size).astype("float32")


def _features(x: np.ndarray, plan: InputPlan, rng: np.random.Generator) -> np.ndarray:
    """The inputs as centred real features of comparable scale, one row per sample."""
    if plan.kind == "ids":
        table = rng.standard_normal((plan.high, _EMBEDDED))
        return table[x.reshape(len(x), -1)].mean(axis=1)
    flat = x.reshape(len(x), -1).astype("float64")
    return flat / 127.5 - 1.0 if plan.kind == "pixels" else flat


def _scores(
    x: np.ndarray, plan: InputPlan, positions: tuple[int, ...], width: int, seed: int
) -> np.ndarray:
    """Standardised teacher scores, shaped (samples, *positions, width)."""
    rng = np.random.default_rng(10_000 + seed)  # the teacher: fixed per seed, not per batch
    features = _features(x, plan, rng)
    first = rng.standard_normal((features.shape[1], _HIDDEN)) / math.sqrt(features.shape[1])
    columns = int(np.prod(positions, dtype=np.int64)) * width
    second = rng.standard_normal((_HIDDEN, columns))
    scores = standardised(np.tanh(features @ first) @ second)
    return scores.reshape(len(x), *positions, width)


def _uniform(z: np.ndarray) -> np.ndarray:
    """Standard normal values mapped to (0, 1) by the normal distribution function."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def standardised(scores: np.ndarray) -> np.ndarray:
    """Each score column scaled to mean 0 and standard deviation 1 over the samples."""
    return (scores - scores.mean(axis=0)) / (scores.std(axis=0) + 1e-9)


def targets(
    plan: TargetPlan,
    x: np.ndarray,
    inputs_plan: InputPlan,
    output_shape: tuple[int, ...],
    seed: int,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Targets for ``x`` shaped after one sample's output (``output_shape``, no batch).
    ``scores``: a teacher's standardised outputs to use instead of the default teacher's
    (a model's own architecture, for outputs with positions such as a feature map)."""
    positions, width = output_shape[:-1], output_shape[-1]
    classes = plan.classes or width
    categorical = plan.encoding in ("onehot", "integer")
    if scores is None or scores.shape[-1] != (classes if categorical else width):
        scores = _scores(x, inputs_plan, positions, classes if categorical else width, seed)
    z = scores
    noise_rng = np.random.default_rng(20_000 + seed)
    if plan.noise:
        fresh = noise_rng.standard_normal(z.shape)
        z = math.sqrt(1 - plan.noise) * z + math.sqrt(plan.noise) * fresh
    if plan.encoding == "continuous":
        if plan.low is None or plan.high is None:
            return z.astype("float32")
        return (plan.low + (plan.high - plan.low) * _uniform(z)).astype("float32")
    if categorical:
        ids = z.argmax(axis=-1)
        if plan.encoding == "integer":
            return ids.astype("int32")
        return np.eye(classes, dtype="float32")[ids]
    threshold = 0.5 if plan.encoding == "multihot" else 0.0  # multi-hot: ~31 % ones per label
    ones = (z > threshold).astype("float32")
    return ones * 2 - 1 if plan.encoding == "plus_minus_one" else ones
