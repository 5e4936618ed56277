"""Code that never runs under the target: branches of Keras version or backend checks, and
``try`` blocks that handle a missing API, keep findings only where they can run."""

from __future__ import annotations

import pytest
from conftest import codes_at

from kerascheck.extract import versions
from kerascheck.extract.versions import Versioned, VersionRange

LEGACY_LAYER = 'model.add(Dense(10, init="uniform", activation="relu"))'
SOFTMAX_ONE = 'model = keras.Sequential([Dense(1, activation="softmax")])'


def check(code: str, flavour: str) -> list[tuple[str, int, int]]:
    return codes_at(code, target_keras=flavour, select=("KC101", "KC201", "KC202"))


@pytest.mark.parametrize(
    ("condition", "runs_under"),
    [
        ('keras.__version__.startswith("1")', {"legacy"}),
        ('keras.__version__.startswith("2")', {"legacy", "tf2"}),
        ('keras.__version__[0] == "3"', {"keras3"}),
        ('int(keras.__version__.split(".")[0]) >= 3', {"keras3"}),
        ('version.parse(keras.__version__) < version.parse("3.0")', {"legacy", "tf2"}),
        ('LooseVersion(tf.__version__) < LooseVersion("2.0")', {"legacy"}),
        ('tf.__version__.startswith("1.")', {"legacy"}),
        ('K.backend() == "theano"', {"legacy"}),
        ('K.backend() != "theano"', {"legacy", "tf2", "keras3"}),
        ('not keras.__version__.startswith("3")', {"legacy", "tf2"}),
        ('keras.__version__.startswith("2") and K.backend() == "tensorflow"', {"legacy", "tf2"}),
    ],
)
def test_a_version_check_runs_its_branch_only_where_it_can(
    condition: str, runs_under: set[str]
) -> None:
    code = f"""
import keras
import tensorflow as tf
from keras import backend as K
from keras.layers import Dense
from packaging import version
from distutils.version import LooseVersion
if {condition}:
    {SOFTMAX_ONE}
"""
    for flavour in ("legacy", "tf2", "keras3"):
        found = [c for c, line, _ in check(code, flavour) if line == 8]
        assert (found == ["KC101"]) == (flavour in runs_under), (condition, flavour, found)


def test_api_drift_is_reported_only_where_the_check_decides_the_branch_runs() -> None:
    code = f"""
import keras
from keras.layers import Dense
model = keras.Sequential()
if keras.__version__.startswith("2"):
    {LEGACY_LAYER}
"""
    assert check(code, "tf2") == [("KC201", 5, 25)]  # tf.keras 2.x: surely runs
    assert check(code, "keras3") == []  # never runs
    assert check(code, "legacy") == []  # Keras 1 or 2: undecided, version-specific code


def test_the_else_branch_runs_where_the_condition_is_false() -> None:
    code = f"""
import keras
from keras.layers import Dense
model = keras.Sequential()
if keras.__version__.startswith("1"):
    {LEGACY_LAYER}
else:
    {SOFTMAX_ONE}
"""
    assert check(code, "keras3") == [("KC101", 7, 51)]
    # Keras 1 or 2: either branch may run; the then-branch API drift is version-specific.
    assert check(code, "legacy") == [("KC101", 7, 51)]


def test_an_elif_chain_narrows_each_branch() -> None:
    code = f"""
import keras
from keras.layers import Dense
model = keras.Sequential()
if keras.__version__.startswith("3"):
    model.add(Dense(10, activation="relu"))
elif keras.__version__.startswith("2"):
    {LEGACY_LAYER}
"""
    assert check(code, "keras3") == []
    assert check(code, "tf2") == [("KC201", 7, 25)]


def test_an_undecidable_version_check_keeps_model_faults_but_not_api_drift() -> None:
    code = f"""
import keras
from keras.layers import Dense
model = keras.Sequential()
if keras.__version__ >= MINIMUM:
    {LEGACY_LAYER}
    {SOFTMAX_ONE}
"""
    assert check(code, "keras3") == [("KC101", 6, 51)]


def test_a_try_that_handles_a_missing_import_is_not_api_drift() -> None:
    code = """
try:
    from keras.layers.core import Dense
except ImportError:
    from keras.layers import Dense
import keras
model = keras.Sequential([Dense(1, activation="softmax")])
"""
    assert check(code, "keras3") == [("KC101", 6, 47)]


def test_a_try_without_an_import_handler_reports_as_usual() -> None:
    code = """
try:
    from keras.layers.core import Dense
except KeyboardInterrupt:
    raise
"""
    assert [c for c, _, _ in check(code, "keras3")] == ["KC202"]


def test_an_ordinary_condition_is_not_a_guard() -> None:
    code = f"""
import keras
from keras.layers import Dense
model = keras.Sequential()
if use_old_layers:
    {LEGACY_LAYER}
"""
    assert check(code, "keras3") == [("KC201", 5, 25)]


def test_version_ranges_compare_only_where_every_version_agrees() -> None:
    tf2 = VersionRange((2, 4), (3,))
    assert versions.compare("<", tf2, "3.0").values == (True, True, True)
    assert versions.compare(">=", tf2, "2.4").values == (True, True, True)
    assert versions.compare("<", tf2, "2.6").values[0] is versions.UNKNOWN
    assert versions.compare("==", tf2, "3.1").values == (False, False, False)
    assert versions.compare("!=", tf2, "3.1").values == (True, True, True)
    both = Versioned((tf2, "x", versions.UNKNOWN))
    assert versions.runs_under(versions.compare("<", both, "3"), True) == {"legacy", "keras3"}
