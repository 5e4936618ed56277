"""--fix, --unsafe-fixes and --diff: byte-exact results, atomic writes, never a broken file."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import BreakingFixRule, run_check

from kerascheck.engine import Options
from kerascheck.fix import fix_source, parses

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

LEGACY = (
    "from keras.layers.core import Dense\n"
    "from keras.optimizers import Adam\n"
    "opt = Adam(lr=0.01)  # tuned\n"
    "layer = Dense(output_dim=10, init='he_normal')\n"
)
LEGACY_FIXED = (
    "from keras.layers import Dense\n"
    "from keras.optimizers import Adam\n"
    "opt = Adam(learning_rate=0.01)  # tuned\n"
    "layer = Dense(units=10, kernel_initializer='he_normal')\n"
)


def _copy_fixtures(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


def _findings(cwd: Path, *args: str) -> list[str]:
    result = run_check(cwd, "--format", "concise", "--isolated", *args)
    return [line for line in result.stdout.splitlines() if ": KC" in line]


def test_fix_rewrites_in_place_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(LEGACY)
    result = run_check(tmp_path, "--fix", "--isolated", "model.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == LEGACY_FIXED
    again = run_check(tmp_path, "--fix", "--isolated", "model.py")
    assert again.returncode == 0 and path.read_text() == LEGACY_FIXED  # idempotent


def test_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(LEGACY)
    result = run_check(tmp_path, "--diff", "--isolated", "model.py")
    assert result.returncode == 1
    assert path.read_text() == LEGACY
    assert result.stdout.splitlines()[:2] == ["--- a/model.py", "+++ b/model.py"]
    assert "-opt = Adam(lr=0.01)  # tuned" in result.stdout.splitlines()
    assert "+opt = Adam(learning_rate=0.01)  # tuned" in result.stdout.splitlines()
    clean = tmp_path / "clean.py"
    clean.write_text(LEGACY_FIXED)
    assert run_check(tmp_path, "--diff", "--isolated", "clean.py").returncode == 0


def test_unsafe_fixes_need_the_flag(tmp_path: Path) -> None:
    source = (
        "import keras\n"
        "model = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='binary_crossentropy')\n"
    )
    path = tmp_path / "m.py"
    path.write_text(source)
    assert run_check(tmp_path, "--fix", "--isolated", "m.py").returncode == 1
    assert path.read_text() == source
    assert run_check(tmp_path, "--fix", "--unsafe-fixes", "--isolated", "m.py").returncode == 0
    assert path.read_text() == source.replace("'softmax'", "'sigmoid'")


def test_fix_keeps_crlf_bom_encoding_and_permissions(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(LEGACY.replace("\n", "\r\n").encode())
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + LEGACY.encode())
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# caf\xe9\n" + LEGACY).encode("latin-1"))
    os.chmod(crlf, 0o640)
    result = run_check(tmp_path, "--fix", "--isolated", ".")
    assert result.returncode == 0, result.stdout
    assert crlf.read_bytes() == LEGACY_FIXED.replace("\n", "\r\n").encode()
    assert bom.read_bytes() == b"\xef\xbb\xbf" + LEGACY_FIXED.encode()
    expected = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + LEGACY_FIXED).encode("latin-1")
    assert latin.read_bytes() == expected
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kerascheck-")]


def test_syntax_errors_are_never_touched(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    data = b"from keras.optimizers import Adam\nopt = Adam(lr=0.01\n"
    broken.write_bytes(data)
    good = tmp_path / "good.py"
    good.write_text(LEGACY)
    result = run_check(tmp_path, "--fix", "--isolated", "--format", "concise", ".")
    assert result.returncode == 2
    assert broken.read_bytes() == data
    assert good.read_text() == LEGACY_FIXED
    assert "broken.py:2:" in result.stdout


def test_stdin_fix_prints_the_fixed_buffer(tmp_path: Path) -> None:
    result = run_check(
        tmp_path, "-", "--fix", "--isolated", "--stdin-filename", "m.py", stdin=LEGACY
    )
    assert result.stdout == LEGACY_FIXED
    assert result.returncode == 0


def test_a_fix_that_does_not_parse_is_dropped() -> None:
    source = "from keras.layers import Dense\n"
    outcome = fix_source(source, "x.py", Options(), unsafe=False, rules=[BreakingFixRule()])
    assert outcome.after == source
    assert not outcome.fixed
    assert [f.code for f in outcome.result.findings] == ["KC999"]


def test_fix_on_fixtures_leaves_only_unfixable_findings(tmp_path: Path) -> None:
    copy = _copy_fixtures(tmp_path)
    before = _findings(tmp_path, "fixtures")
    run_check(tmp_path, "--fix", "--unsafe-fixes", "--isolated", "fixtures")
    after = _findings(tmp_path, "fixtures")
    assert len(after) < len(before)
    # Whatever is left has no fix the engine can apply.
    for path in sorted(copy.rglob("*.py")):
        source = path.read_text()
        assert parses(source), path
        outcome = fix_source(source, str(path), Options(), unsafe=True)
        assert outcome.after == source, path
    # KC201: every renamed keyword is fixed; `decay=` and a layer's `batch_input_shape=`
    # have no one-to-one replacement to rename to.
    remaining_kc201 = [line for line in after if ": KC201 " in line]
    kept = ("`decay=`", "`batch_input_shape=`")
    assert remaining_kc201 and all(any(k in line for k in kept) for line in remaining_kc201)
    remaining_kc202 = [line for line in after if ": KC202 " in line]
    # KC202: what is left needs a person (removed with no one-to-one replacement; a model
    # saved without a suffix, which the fixed imports show to be Keras 3 code now);
    # set_image_dim_ordering('th') became set_image_data_format('channels_first').
    unfixable = ("keras.backend.function", "learning_phase", "`model.save` raises for 'model2'")
    assert all(any(name in line for name in unfixable) for line in remaining_kc202), remaining_kc202
    assert not any("set_image_dim_ordering" in line for line in after)


# Every fix the issue lists, byte for byte: the file, the text a fix replaces, what it
# writes instead, and whether it needs --unsafe-fixes.
GOLDEN = [
    ("from keras.optimizers import SGD\nopt = SGD(lr=0.1)\n", "lr=", "learning_rate=", False),
    (
        "from keras.models import Sequential\nm = Sequential()\nm.fit(x, y, nb_epoch=3)\n",
        "nb_epoch=",
        "epochs=",
        False,
    ),
    (
        "from keras.layers import Dense\nd = Dense(3, init='zeros')\n",
        "init=",
        "kernel_initializer=",
        False,
    ),
    (
        "from keras.layers import Conv2D\nc = Conv2D(8, 3, border_mode='same')\n",
        "border_mode=",
        "padding=",
        False,
    ),
    (
        "from keras.layers import Conv2D\nc = Conv2D(8, 3, subsample=(2, 2))\n",
        "subsample=",
        "strides=",
        False,
    ),
    (
        "from keras.layers import Dense\nd = Dense(3, W_regularizer=r)\n",
        "W_regularizer=",
        "kernel_regularizer=",
        False,
    ),
    (
        "from keras.layers import Dense\nd = Dense(3, b_regularizer=r)\n",
        "b_regularizer=",
        "bias_regularizer=",
        False,
    ),
    ("from keras.layers import Dense\nd = Dense(output_dim=3)\n", "output_dim=", "units=", False),
    (
        "from keras.layers import Conv1D\nc = Conv1D(nb_filter=8, kernel_size=3)\n",
        "nb_filter=",
        "filters=",
        False,
    ),
    (
        "from keras.models import Sequential\nm = Sequential()\nm.fit_generator(g, epochs=2)\n",
        "fit_generator",
        "fit",
        False,
    ),
    (
        "from keras.utils.np_utils import to_categorical\n",
        "keras.utils.np_utils",
        "keras.utils",
        False,
    ),
    ("from keras.layers.core import Dense, Dropout\n", "keras.layers.core", "keras.layers", False),
    ("import keras\nkeras.layers.Dense(2, activation='relu6_')\n", "'relu6_'", "'relu6'", False),
    (
        "import keras\nm = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
        "m.compile(loss='categorical_crossentropy')\n",
        "'softmax')])\nm.compile(loss='categorical_crossentropy')",
        "'sigmoid')])\nm.compile(loss='binary_crossentropy')",
        True,
    ),
    (
        "import keras\nm = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
        "m.compile(loss='mse')\nm.fit(x, keras.datasets.boston_housing.load_data()[0][1])\n",
        "'softmax'",
        "'linear'",
        True,
    ),
    (
        "import keras\nm = keras.Sequential([keras.layers.Dense(3)])\n"
        "m.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=False))\n",
        "from_logits=False",
        "from_logits=True",
        True,
    ),
    (
        "from keras.models import Sequential\nfrom keras.layers import Dense\n"
        "m = Sequential([Dense(10, activation='softmax')])\nc = m.predict_classes(x)\n",
        "m.predict_classes(x)",
        "m.predict(x).argmax(axis=-1)",
        True,
    ),
    (
        "from keras.models import Sequential\nfrom keras.layers import Dense\n"
        "m = Sequential([Dense(1, activation='sigmoid')])\nc = m.predict_classes(x)\n",
        "m.predict_classes(x)",
        '(m.predict(x) > 0.5).astype("int32")',
        True,
    ),
    (
        "from keras.layers import Convolution2D\nc = Convolution2D(32, 3, 3)\n",
        "32, 3, 3",
        "32, (3, 3)",
        True,
    ),
]


@pytest.mark.parametrize(("before", "old", "new", "unsafe"), GOLDEN)
def test_golden_fix(tmp_path: Path, before: str, old: str, new: str, unsafe: bool) -> None:
    path = tmp_path / "m.py"
    path.write_text(before)
    args = ("--isolated", "--target-keras", "keras3", "m.py")
    run_check(tmp_path, "--fix", *args)
    if unsafe:
        assert path.read_text() == before, "an unsafe fix needs --unsafe-fixes"
        run_check(tmp_path, "--fix", "--unsafe-fixes", *args)
    assert before.count(old) == 1
    assert path.read_text() == before.replace(old, new)
