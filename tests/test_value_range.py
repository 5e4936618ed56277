"""The value range the data flow knows of the targets that reach fit(): set by the sources
that fix it, moved by arithmetic with known numbers, kept only by what keeps the values."""

from __future__ import annotations

import pytest
from conftest import extract_module

from kerascheck.ir import UNKNOWN, Known

INF = float("inf")
PRELUDE = """
import numpy as np
import keras
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.datasets import make_regression
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="adam")
"""


def fitted_range(code: str) -> object:
    """The value range of the targets of the snippet's last fit()."""
    (model,) = extract_module(PRELUDE + code).models
    return model.fits[-1].y.value_range


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("y = np.random.rand(100)", Known((0.0, 1.0))),
        ("y = np.random.random((100, 1))", Known((0.0, 1.0))),
        ("y = np.random.uniform(-2, 8, 100)", Known((-2.0, 8.0))),
        ("y = np.random.uniform(high=5.0, size=10)", Known((0.0, 5.0))),
        ("y = np.random.uniform(lo, 5.0, 10)", UNKNOWN),
        ("y = np.random.randn(100)", Known((-INF, INF))),
        ("y = np.random.normal(3.0, 1.0, 100)", Known((-INF, INF))),
        ("y = np.random.randint(0, 10, 100)", Known((0.0, 9.0))),
        ("y = np.random.randint(5, size=100)", Known((0.0, 4.0))),
        ("y = np.random.poisson(2.0, 100)", Known((0.0, INF))),
        ("X, y = make_regression(n_samples=50)", Known((-INF, INF))),
        ("X, y, w = make_regression(n_samples=50, coef=True)", Known((-INF, INF))),
        ("(x, y), _ = keras.datasets.boston_housing.load_data()", Known((10, 50))),
        ("(x, y), _ = keras.datasets.california_housing.load_data()", Known((25000, 500000))),
        ("(x, y), _ = keras.datasets.mnist.load_data()", UNKNOWN),
        ("y = MinMaxScaler().fit_transform(raw)", Known((0.0, 1.0))),
        ("y = MinMaxScaler((-1, 1)).fit_transform(raw)", Known((-1.0, 1.0))),
        ("y = MinMaxScaler(feature_range=(0, 10)).fit_transform(raw)", Known((0.0, 10.0))),
        ("y = MinMaxScaler(feature_range=bounds).fit_transform(raw)", UNKNOWN),
        ("y = StandardScaler().fit_transform(np.random.rand(100))", UNKNOWN),
    ],
)
def test_sources_fix_the_range(code: str, expected: object) -> None:
    assert fitted_range(code + "\nmodel.fit(x, y)") == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("y = np.random.uniform(0, 255, 100) / 255", Known((0.0, 1.0))),
        ("y = np.random.uniform(0, 10, 100) * -2", Known((-20.0, -0.0))),
        ("y = np.random.rand(100) - 0.5", Known((-0.5, 0.5))),
        ("y = (np.random.rand(100) + 1) * 3", Known((3.0, 6.0))),
        ("y = np.random.rand(100) * 0", Known((0.0, 0.0))),
        ("y = np.random.rand(100) / 0", UNKNOWN),
        ("y = np.random.rand(100) ** 2", UNKNOWN),
        ("y = np.random.rand(100) * scale", UNKNOWN),
        ("y = np.random.randn(100) + 1", Known((-INF, INF))),
        ("y = np.random.rand(100)\ny = y - y.mean()", UNKNOWN),
    ],
)
def test_arithmetic_with_known_numbers_moves_the_range(code: str, expected: object) -> None:
    assert fitted_range(code + "\nmodel.fit(x, y)") == expected


@pytest.mark.parametrize(
    ("use", "kept"),
    [
        ("y[:80]", True),
        ("y.astype('float32')", True),
        ("y.reshape(-1, 1)", True),
        ("np.expand_dims(y, -1)", True),
        ("y[:, 0]", True),
        ("y[y < 5]", False),
        ("y[idx]", False),
        ("np.log1p(y)", False),
    ],
)
def test_only_what_keeps_the_values_keeps_the_range(use: str, kept: bool) -> None:
    code = f"y = np.random.uniform(0, 10, (100, 1))\nmodel.fit(x, {use})"
    assert fitted_range(code) == (Known((0.0, 10.0)) if kept else UNKNOWN)


def test_an_in_place_change_forgets_the_range() -> None:
    code = "y = np.random.uniform(0, 10, 100)\ny[y > 5] = 0\nmodel.fit(x, y)"
    assert fitted_range(code) is UNKNOWN
