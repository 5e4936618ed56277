"""The worker process: imports Keras once, then answers jobs until its input closes.

Started by ``runner`` as ``python -m kerascheck.dynamic.worker``, a fresh interpreter that
shares nothing with the linter but two pipes: jobs arrive on standard input and answers
leave on a copy of standard output, whose own descriptor then points at the null device
(TensorFlow's logging and any stray print must not corrupt the answers). Nothing here
imports or runs the checked files: jobs carry only Keras names and literal values.
"""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO

from kerascheck.dynamic.channel import receive, send
from kerascheck.dynamic.jobs import (
    AffineProbe,
    Answer,
    AttributeProbe,
    BatchNormProbe,
    CompileNameProbe,
    ConstructProbe,
    Event,
    ImportProbe,
    Job,
    LookupProbe,
    LossProbe,
    MethodProbe,
    ModelProbe,
    OrderProbe,
    Outcome,
    Probe,
    RangeProbe,
    ResplitProbe,
    SplitProbe,
    SquashProbe,
    TrainableProbe,
    TrainProbe,
)


def _answers_channel() -> BinaryIO:
    channel = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    return channel


def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    try:
        import keras
    except Exception as exc:  # a broken or missing install is the user's to fix
        send(answers, ("unavailable", f"{type(exc).__name__}: {exc}"))
        return
    send(answers, ("ready", keras.__version__))
    while True:
        try:
            job = receive(jobs)
        except EOFError:
            return
        send(answers, answer(job))


def answer(job: Job) -> tuple[Answer, ...]:
    return tuple(_safely(probe) for probe in job.probes)


def _safely(probe: Probe) -> Answer:
    try:
        return _run(probe)
    except Exception as exc:  # a bug of ours must not take the other probes with it
        event = Event("probe", "error", type(exc).__name__, f"internal error: {exc}")
        return Outcome(event)


def _run(probe: Probe) -> Answer:
    from kerascheck.dynamic import keras_build

    if isinstance(probe, ModelProbe):
        return keras_build.run_model_probe(probe)
    if isinstance(probe, ConstructProbe):
        return _construct(probe)
    if isinstance(probe, ImportProbe):
        return _outcome(lambda: _import(probe.module))
    if isinstance(probe, AttributeProbe):
        return _outcome(lambda: keras_build.resolve(probe.path))
    if isinstance(probe, MethodProbe):
        return _method(probe)
    if isinstance(probe, CompileNameProbe):
        return _compile_name(probe)
    data = (LookupProbe, SplitProbe, OrderProbe, ResplitProbe, TrainableProbe, BatchNormProbe)
    if isinstance(probe, data):
        from kerascheck.dynamic import data_probes

        if isinstance(probe, LookupProbe):
            return _outcome(lambda: data_probes.lookup(probe), reads=True)
        if isinstance(probe, SplitProbe):
            return _outcome(lambda: data_probes.split(probe), reads=True)
        if isinstance(probe, TrainableProbe):
            return _outcome(lambda: data_probes.trainable(probe), reads=True)
        if isinstance(probe, BatchNormProbe):
            return _outcome(lambda: data_probes.batch_norm(probe), reads=True)
        if isinstance(probe, ResplitProbe):
            return _outcome(lambda: data_probes.resplit(probe), reads=True)
        return _outcome(lambda: data_probes.order(probe), reads=True)
    if isinstance(probe, (TrainProbe, AffineProbe, RangeProbe, SquashProbe)):
        from kerascheck.dynamic import training

        if isinstance(probe, TrainProbe):
            return training.run_train_probe(probe)
        if isinstance(probe, AffineProbe):
            return training.run_affine_probe(probe)
        if isinstance(probe, SquashProbe):
            return training.run_squash_probe(probe)
        return training.run_range_probe(probe)
    return _loss(probe)


def _outcome(step: Any, reads: bool = False) -> Outcome:
    """Run a step; with ``reads`` it returns the (name, value) pairs to report."""
    from kerascheck.dynamic.capture import Recorder

    record = Recorder()
    result = record.run("probe", step)
    warnings = tuple(e for e in record.events if e.kind == "warning")
    return Outcome(record.failed, warnings, result if reads and result is not None else ())


def _import(module: str) -> None:
    import importlib

    if not module.startswith("keras."):
        raise ValueError(f"only Keras modules are imported, not {module}")
    importlib.import_module(module)


def _construct(probe: ConstructProbe) -> Outcome:
    from kerascheck.dynamic.keras_build import materialize

    def read(built: Any) -> tuple[tuple[str, Any], ...]:
        return tuple((name, _plain(getattr(built, name, None))) for name in probe.read)

    return _outcome(lambda: read(materialize(probe.target)), reads=True)


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def _tiny_model() -> Any:
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    return model


def _method(probe: MethodProbe) -> Outcome:
    from kerascheck.dynamic.keras_build import materialize

    model = _tiny_model()

    def call() -> None:
        kwargs = {name: materialize(value) for name, value in probe.kwargs}
        getattr(model, probe.method)(**kwargs)

    return _outcome(call)


def _compile_name(probe: CompileNameProbe) -> Outcome:
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    settings: dict[str, Any] = {"optimizer": "sgd", "loss": "mse"}
    if probe.role == "metric":
        settings["metrics"] = [probe.name]
    else:
        settings[probe.role] = probe.name
    x = np.zeros((4, 1), dtype="float32")

    def step() -> None:
        model.compile(run_eagerly=True, **settings)
        model.train_on_batch(x, x)

    return _outcome(step)


def _loss(probe: LossProbe) -> Outcome:
    import keras
    import numpy as np

    from kerascheck.dynamic.keras_build import materialize

    def values(function: Any) -> tuple[tuple[str, Any], ...]:
        found = []
        for p in probe.probabilities:
            predicted = float(np.log(p / (1 - p))) if probe.from_logits else p
            value = function(np.array([[probe.label]]), np.array([[predicted]]))
            found.append((f"{p:g}", float(np.mean(np.asarray(value)))))
        return tuple(found)

    return _outcome(lambda: values(keras.losses.get(materialize(probe.loss))), reads=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    serve(sys.stdin.buffer, _answers_channel())
