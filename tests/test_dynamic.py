"""`check --dynamic` against real TensorFlow and Keras: nothing of Keras is mocked.

The in-process tests share one Keras worker per test process (TensorFlow is imported once);
the fixture run and the no-TensorFlow runs are whole CLI subprocesses, as a user runs them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerascheck.engine import FileResult, Options, Report, lint_source
from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.registry import rule_by_code
from kerascheck.rule import RuleContext
from kerascheck.rules.kc101_softmax_single_unit import SoftmaxSingleUnit

ROOT = Path(__file__).resolve().parent.parent
HAS_KERAS = all(importlib.util.find_spec(name) for name in ("tensorflow", "keras"))
needs_keras = pytest.mark.skipif(not HAS_KERAS, reason="TensorFlow / Keras not installed")
pytestmark = pytest.mark.dynamic
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
HINT = "pip install 'kerascheck[dynamic]'"


def _dynamic(code: str, **options: object) -> FileResult:
    source = textwrap.dedent(code).lstrip("\n")
    result = lint_source(source, "snippet.py", Options(dynamic=True, **options))  # type: ignore[arg-type]
    assert not result.errors, result.errors
    return result


def _verdicts(result: FileResult) -> list[tuple[int, str, str | None]]:
    return [(f.span.line, f.code, f.dynamic) for f in result.findings]


def _only(result: FileResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, result.findings
    return found[0]


# ----------------------------------------------------------------------------- fixtures
FIXTURE_VERDICTS = {
    ("seed000_bce_raw_logits.py", 14, "KC106", "confirmed"),
    ("seed000_mlp_sgd_lr.py", 19, "KC201", "confirmed"),
    ("seed001_activation_function_kwarg.py", 6, "KC203", "confirmed"),
    ("seed001_activation_function_kwarg.py", 9, "KC203", "confirmed"),
    ("seed001_binary_softmax_notebook.ipynb", 3, "KC101", "confirmed"),
    ("seed001_cnn_softmax_one_unit.py", 15, "KC301", "unverifiable"),
    ("seed001_cnn_softmax_one_unit.py", 19, "KC302", "unverifiable"),
    ("seed001_cnn_softmax_one_unit.py", 20, "KC101", "confirmed"),
    ("seed001_function_approx_softmax_poisson.py", 14, "KC102", "unverifiable"),
    ("seed001_function_approx_softmax_poisson.py", 15, "KC201", "confirmed"),
    ("seed001_function_approx_softmax_poisson.py", 17, "KC104", "confirmed"),
    ("seed001_rgb_band_adadelta.py", 18, "KC201", "confirmed"),  # lr= and decay=
    ("seed002_fake_model_stacked_linear.py", 14, "KC302", "unverifiable"),
    ("seed002_mc_dropout_learning_phase.py", 31, "KC202", "confirmed"),
    ("seed003_house_prices_sigmoid.py", 17, "KC103", "unverifiable"),
    ("seed003_lstm_softmax_pm1.py", 19, "KC201", "confirmed"),
    ("seed003_lstm_softmax_pm1.py", 24, "KC101", "confirmed"),
    ("seed003_lstm_softmax_pm1.py", 30, "KC112", "confirmed"),
    ("seed003_mnist_lenet.py", 6, "KC202", "confirmed"),
    ("seed003_mnist_lenet.py", 7, "KC202", "confirmed"),
    ("seed003_mnist_lenet.py", 10, "KC202", "confirmed"),
    # Channels-first input_shape=(1, 28, 28) under a channels-last Keras: pooling fails.
    ("seed003_mnist_lenet.py", 16, "KC900", "confirmed"),
    ("seed003_mnist_lenet.py", 37, "KC202", "confirmed"),
    # model.save('model2'): a file name, not a missing name (nothing is saved dynamically).
    ("seed003_mnist_lenet.py", 58, "KC202", "unverifiable"),
    ("seed003_mnist_unnormalized.py", 6, "KC202", "confirmed"),
    ("seed003_mnist_unnormalized.py", 7, "KC202", "confirmed"),
    ("seed003_mnist_unnormalized.py", 10, "KC202", "confirmed"),
    ("seed003_mnist_unnormalized.py", 15, "KC900", "confirmed"),
    ("seed003_mnist_unnormalized.py", 35, "KC202", "confirmed"),
    ("seed003_mnist_unnormalized.py", 48, "KC401", "unverifiable"),
    ("seed003_mnist_unnormalized.py", 55, "KC202", "unverifiable"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 5, "KC202", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 13, "KC202", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 14, "KC201", "confirmed"),  # twice
    ("legacy/seed003_mnist_binary_crossentropy.py", 18, "KC201", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 18, "KC202", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 22, "KC201", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 24, "KC201", "confirmed"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 26, "KC201", "confirmed"),
    # Keras <= 2.3 picked 'accuracy' by the loss; the installed Keras 3 cannot show that.
    ("legacy/seed003_mnist_binary_crossentropy.py", 27, "KC105", "unverifiable"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 27, "KC110", "unverifiable"),
    ("legacy/seed003_mnist_binary_crossentropy.py", 28, "KC201", "confirmed"),
}


FIXTURE_EVIDENCE = [
    ("seed001_cnn_softmax_one_unit.py", 20, "KC101", "output is constant 1.0 on 16 random"),
    ("seed001_cnn_softmax_one_unit.py", 20, "KC101", "`input_shape=` of `Conv2D` is not known"),
    ("seed001_function_approx_softmax_poisson.py", 17, "KC104", "to CategoricalAccuracy"),
    ("seed000_mlp_sgd_lr.py", 19, "KC201", "Argument(s) not recognized: {'lr': 0.1}"),
    ("seed001_rgb_band_adadelta.py", 18, "KC201", "Argument `decay` is no longer supported"),
    ("seed003_lstm_softmax_pm1.py", 30, "KC112", "unbounded below"),
    ("seed003_mnist_binary_crossentropy.py", 13, "KC202", "kernel_size=(5, 5) and strides=(5, 5)"),
    ("seed003_mnist_lenet.py", 16, "KC900", "seen in Keras 3."),
]


@needs_keras
def test_fixtures_under_dynamic() -> None:
    """`kerascheck check --dynamic fixtures/`, in a process that reports afterwards which
    heavy modules it imported itself: none, the Keras worker is a process of its own."""
    probe = (
        "import sys; from kerascheck.cli import main;"
        "code = main(['check', 'fixtures', '--dynamic', '--no-cache', '--format', 'json']);"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'));"
        "print('HEAVY', heavy, file=sys.stderr); sys.exit(code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=ENV
    )
    assert run.returncode == 1, run.stderr[-3000:]
    assert run.stderr == "HEAVY []\n", run.stderr[-2000:]  # no progress bar when piped
    report = json.loads(run.stdout)
    assert report["errors"] == []
    found = {
        (Path(f["path"]).relative_to("fixtures").as_posix(), f["line"], f["code"], f["dynamic"])
        for f in report["findings"]
    }
    assert found - FIXTURE_VERDICTS == set(), f"unexpected: {sorted(found - FIXTURE_VERDICTS)}"
    assert FIXTURE_VERDICTS - found == set(), f"missing: {sorted(FIXTURE_VERDICTS - found)}"
    evidence: dict[tuple[str, int, str], str] = {}
    for f in report["findings"]:
        assert f["evidence"], f
        key = (Path(f["path"]).name, f["line"], f["code"])
        evidence[key] = evidence.get(key, "") + f["evidence"]
    for name, line, code, expected in FIXTURE_EVIDENCE:
        assert expected in evidence[(name, line, code)], (name, line, code)
    pooling = next(f for f in report["findings"] if f["code"] == "KC900")
    assert "Computed output size would be zero or negative" in pooling["message"]


# ----------------------------------------------------------------------------- verdicts
class _CarelessSoftmaxRule(SoftmaxSingleUnit):
    """KC101 with its unit check removed: a static false alarm made on purpose."""

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for output in model.outputs:
            if output.activation == Known("softmax"):
                yield self.finding(output.activation_span, "softmax output is constant")


@needs_keras
def test_a_static_false_alarm_is_refuted() -> None:
    source = textwrap.dedent(
        """
        import keras
        inputs = keras.Input(shape=(8,))
        outputs = keras.layers.Dense(3, activation="softmax")(inputs)
        model = keras.Model(inputs, outputs)
        """
    ).lstrip("\n")
    options = Options(dynamic=True)
    result = lint_source(source, "snippet.py", options, [_CarelessSoftmaxRule()])
    finding = _only(result, "KC101")
    assert finding.dynamic == "refuted"
    assert finding.evidence is not None and finding.evidence.startswith("output varies over [")


@needs_keras
def test_softmax_over_another_axis_is_not_flagged() -> None:
    # Attention weights: softmax over the 10 time steps of a 1-unit score. Static KC101 used
    # to flag it; this case is how --dynamic found that false alarm.
    result = _dynamic(
        """
        import keras
        inputs = keras.Input(shape=(10, 8))
        scores = keras.layers.Dense(1)(inputs)
        weights = keras.layers.Softmax(axis=1)(scores)
        model = keras.Model(inputs, weights)
        """
    )
    assert [f for f in result.findings if f.code == "KC101"] == []


EVIDENCE = """
from keras import Input, Sequential, datasets, layers, losses, utils
from sklearn.preprocessing import MultiLabelBinarizer
multilabel = Sequential([Input(shape=(6,)), layers.Dense(5, activation="sigmoid")])
multilabel.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
multilabel.fit(features, MultiLabelBinarizer().fit_transform(tags))
twice = Sequential([Input(shape=(6,)), layers.Dense(3, activation="softmax")])
twice.compile(loss=losses.CategoricalCrossentropy(from_logits=True), optimizer="adam")
twice.fit(features, labels)
single = Sequential([Input(shape=(6,)), layers.Dense(1, activation="sigmoid")])
single.compile(loss="categorical_crossentropy", optimizer="adam"); single.fit(features, labels)

(x, y), _ = datasets.mnist.load_data()
y = utils.to_categorical(y, 10)
digits = Sequential([Input((28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")])
digits.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
digits.fit(x, y)

typo = Sequential([Input(shape=(6,)), layers.Dense(1, activation="sigmoid")])
typo.compile(loss="binary_crossentropyy", optimizer="adam"); typo.fit(features, labels)

conv = Sequential([Input((8, 8, 1)), layers.Conv2D(4, 3), layers.Dense(2, activation="softmax")])
conv.compile(loss="categorical_crossentropy", optimizer="adam"); conv.fit(features, labels)

logits = Sequential([Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
logits.compile(loss="binary_crossentropy", optimizer="adam"); logits.fit(features, labels)
"""
ONE_UNIT_SOFTMAX = """
import keras
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
"""


@needs_keras
def test_each_rule_shows_its_own_evidence() -> None:
    result = _dynamic(EVIDENCE)
    evidence = {(f.span.line, f.code): (f.dynamic, f.evidence or "") for f in result.findings}
    assert evidence[(4, "KC105")] == (
        "confirmed",
        "Keras 3.15.1 resolved 'accuracy' to CategoricalAccuracy for output (None, 5) and "
        "labels (16, 5)",
    )
    status, text = evidence[(7, "KC107")]
    assert status == "confirmed" and "it is already a probability" in text
    assert evidence[(10, "KC108")] == (
        "confirmed",
        "output (None, 1), labels (16, 1): 'categorical_crossentropy' is exactly 0 on a train "
        "step: nothing is learnt",
    )
    status, text = evidence[(16, "KC112")]
    assert status == "confirmed" and "labels (16, 10) against output (None, 10)" in text
    assert "must have rank (ndim) `target.ndim - 1`" in text
    assert evidence[(19, "KC203")] == (
        "confirmed",
        "Keras 3.15.1 raised ValueError: Could not interpret loss identifier: binary_crossentropyy",
    )
    assert evidence[(21, "KC303")] == (
        "confirmed",
        "the built model outputs (None, 6, 6, 2): one prediction per position, not per sample",
    )
    assert evidence[(16, "KC401")] == (
        "unverifiable",
        "no dynamic check for KC4xx: depends on data",
    )
    status, text = evidence[(25, "KC106")]
    assert status == "confirmed" and text.startswith("output ranges over [")
    assert text.endswith(
        "on 16 random inputs; 'binary_crossentropy' expects probabilities in [0, 1]"
    )
    # Keras's own warnings that serve as evidence above are not repeated as KC900.
    assert [f for f in result.findings if f.code == "KC900"] == []


@needs_keras
def test_custom_layers_and_subclassed_models_are_unverifiable() -> None:
    result = _dynamic(
        """
        import keras

        class Scale(keras.layers.Layer):
            def call(self, x):
                return x * 2

        model = keras.Sequential()
        model.add(keras.layers.Dense(8, input_shape=(4,)))
        model.add(Scale())
        model.add(keras.layers.Dense(4, input_dim=8, activation="relu"))
        model.add(keras.layers.Dense(1, activation="softmax"))

        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.out = keras.layers.Dense(1, activation="softmax")

            def call(self, x):
                return self.out(x)

        net = Net()
        """
    )
    custom = "layer 2 is not a Keras layer (a custom layer or a call kerascheck cannot resolve)"
    by_line = {f.span.line: f for f in result.findings}
    assert _verdicts(result) == [
        (10, "KC301", "unverifiable"),
        (11, "KC101", "confirmed"),
        (16, "KC101", "unverifiable"),
    ]
    assert by_line[10].evidence is not None and by_line[10].evidence.startswith(custom)
    # The output layer alone still shows what a 1-unit softmax does, and says so.
    assert f"(output layer rebuilt alone: {custom}" in (by_line[11].evidence or "")
    assert by_line[16].evidence == (
        "a subclassed model: its call() is user code, which kerascheck never runs"
    )


@needs_keras
def test_unresolved_arguments_make_the_model_unverifiable() -> None:
    result = _dynamic(
        """
        import keras
        width = int(input())
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(width)])
        model.add(keras.layers.Dense(1, input_dim=width))
        """
    )
    finding = _only(result, "KC301")
    assert finding.dynamic == "unverifiable"
    assert finding.evidence == "positional argument 1 of `Dense` is not known statically"


@needs_keras
def test_only_removals_are_looked_up_among_model_members() -> None:
    """A file name, a changed member and a stub kept to raise are not missing names: a
    lookup would find them and refute a true finding."""
    result = _dynamic(
        """
        import keras
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
        model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        model.save("saved_model_dir")
        print(model.metrics_names[1])
        batches = ImageDataGenerator().flow_from_directory("data")
        images, labels = batches.next()
        model.add_metric(0.0)
        model.predict_classes(images)
        """,
        select=("KC202",),
    )
    verdicts = {f.span.line: f.dynamic for f in result.findings}
    assert verdicts == {
        5: "unverifiable",
        6: "unverifiable",
        8: "confirmed",
        9: "unverifiable",
        10: "confirmed",
    }, result.findings


# ----------------------------------------------------------------------------- KC900
KC900 = rule_by_code("KC900")
assert KC900 is not None


@needs_keras
@pytest.mark.parametrize("example", KC900.invalid, ids=lambda e: f"line{e.line}")
def test_kc900_reports_what_keras_says(example) -> None:
    result = _dynamic(example.code, select=("KC900",))
    assert [f.span.line for f in result.findings] == [example.line], result.findings
    finding = result.findings[0]
    assert finding.message.startswith(("Keras raised ", "Keras warns "))
    assert finding.dynamic == "confirmed"
    assert finding.evidence is not None and finding.evidence.startswith("seen in Keras 3.")


@needs_keras
@pytest.mark.parametrize("example", KC900.valid, ids=lambda e: "valid")
def test_kc900_is_silent_on_sound_models(example) -> None:
    assert _dynamic(example.code, select=("KC900",)).findings == ()


@needs_keras
def test_kc900_can_be_ignored_like_any_rule() -> None:
    code = textwrap.dedent(KC900.invalid[0].code).strip()
    assert _dynamic(code, ignore=("KC900",)).findings == ()
    inline = _dynamic(code + "  # kerascheck: ignore[KC900]\n")
    assert inline.findings == () and [f.code for f in inline.suppressed] == ["KC900"]


# ----------------------------------------------------------------------------- budget
@needs_keras
def test_a_model_over_its_time_budget_is_unverifiable() -> None:
    # An LSTM over a million time steps: minutes of work that the budget cuts to seconds.
    code = """
        import keras
        model = keras.Sequential([
            keras.Input(shape=(1000000, 4)),
            keras.layers.LSTM(8),
            keras.layers.Dense(1, activation="softmax"),
        ])
        """
    started = time.perf_counter()
    result = _dynamic(code, dynamic_timeout=2.0)
    elapsed = time.perf_counter() - started
    finding = _only(result, "KC101")
    assert finding.dynamic == "unverifiable"
    assert finding.evidence == "the Keras check did not finish within 2 s (--dynamic-timeout)"
    assert elapsed < 2.0 + 15.0  # the budget, plus starting a worker if this process had none
    # The killed worker is replaced: the next model is checked as usual.
    assert _only(_dynamic(ONE_UNIT_SOFTMAX), "KC101").dynamic == "confirmed"


# ----------------------------------------------------------------------------- output
@needs_keras
def test_every_output_format_shows_verdict_and_evidence() -> None:
    from kerascheck.report import concise, github, json_report, text

    report = Report([_dynamic(ONE_UNIT_SOFTMAX)])
    note = "[confirmed: output is constant 1.0 on 16 random inputs]"
    assert note in concise.render(report)
    assert note in text.render_plain(report)
    assert note in github.render(report)
    document = json.loads(json_report.render(report))
    assert document["findings"][0]["dynamic"] == "confirmed"
    assert document["findings"][0]["evidence"] == "output is constant 1.0 on 16 random inputs"


# ----------------------------------------------------------------------------- no TensorFlow
_NO_MODULE = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
"""

# Found, but broken on import: only the worker, which really imports, can tell.
_BROKEN = """
import importlib.machinery
import sys

class Refuse:
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError("libtensorflow_framework.so.2: cannot open shared object file")

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("tensorflow", "keras"):
            return importlib.machinery.ModuleSpec(name, Refuse())
        return None

sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize("blocker", [_NO_MODULE, _BROKEN], ids=["missing", "broken"])
def test_without_tensorflow_dynamic_exits_2_with_the_install_hint(
    tmp_path: Path, blocker: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(blocker)
    (tmp_path / "model.py").write_text(
        "import keras\nm = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
    )
    env = {**ENV, "PYTHONPATH": str(site)}

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "kerascheck",
            "check",
            "model.py",
            "--isolated",
            "--no-cache",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)

    dynamic = check("--dynamic")
    assert dynamic.returncode == 2, dynamic.stderr
    assert dynamic.stdout == ""
    lines = dynamic.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kerascheck: error: --dynamic")
    assert lines[0].endswith(HINT)
    # The static check does not need TensorFlow at all.
    static = check("--format", "concise")
    assert static.returncode == 1 and "KC101" in static.stdout, static.stderr


@needs_keras
def test_a_fully_cached_dynamic_run_never_starts_tensorflow(tmp_path: Path) -> None:
    """The second run finds every verdict in the cache. It is given a TensorFlow that
    breaks on import: had it started the Keras worker, it would exit 2."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_BROKEN)
    (tmp_path / "model.py").write_text(ONE_UNIT_SOFTMAX)
    command = [sys.executable, "-m", "kerascheck", "check", "model.py", "--isolated"]
    command += ["--dynamic", "--format", "concise", "--cache-dir", str(tmp_path / "cache")]

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)

    first = run(ENV)
    assert first.returncode == 1 and "[confirmed:" in first.stdout, first.stderr
    cached = run({**ENV, "PYTHONPATH": str(site)})
    assert (cached.returncode, cached.stdout) == (1, first.stdout), cached.stderr
    (tmp_path / "model.py").write_text(ONE_UNIT_SOFTMAX + "\n")  # now a file to check
    changed = run({**ENV, "PYTHONPATH": str(site)})
    assert changed.returncode == 2 and "could not import Keras" in changed.stderr


# ----------------------------------------------------------------------------- safety
@needs_keras
def test_progress_on_a_terminal_and_the_project_is_never_run(tmp_path: Path) -> None:
    """On a terminal, a progress bar on stderr. And a project with its own keras.py and
    numpy.py next to the checked file: the worker imports the real Keras (or no bar would be
    drawn: the run would stop with an error), and nothing of the project runs."""
    from test_terminal import run_on_a_terminal

    marker = tmp_path / "marker"
    evil = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    (tmp_path / "keras.py").write_text(evil)
    (tmp_path / "numpy.py").write_text(evil)
    (tmp_path / "model.py").write_text(evil + ONE_UNIT_SOFTMAX)
    env = {**ENV, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    args = ("--dynamic", "--no-cache", "--format", "concise", "model.py")
    drawn = run_on_a_terminal(tmp_path, env, *args, stream="stderr")
    assert "rebuilding models of model.py" in drawn, drawn
    assert not marker.exists()
    # Piped, nothing but the report: see test_fixtures_under_dynamic.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--fix",), "--dynamic cannot be combined with --fix or --diff"),
        (("--dynamic-timeout", "0"), "--dynamic-timeout must be a positive number of seconds"),
    ],
)
def test_dynamic_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "model.py").write_text(ONE_UNIT_SOFTMAX)
    command = [sys.executable, "-m", "kerascheck", "check", "--dynamic", *args, "model.py"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert run.returncode == 2
    assert run.stderr == f"kerascheck: error: {message}\n"
