"""Measure at which learning rates small Keras models stop training (KC402's thresholds).

    python tools/measure_learning_rates.py             # the full grid (a few minutes, 2 cores)
    python tools/measure_learning_rates.py --verify    # stacked training == keras model.fit?
    python tools/measure_learning_rates.py --derive    # thresholds from the recorded results
    python tools/measure_learning_rates.py --quick     # smoke run (seconds)

Every optimizer family is trained, at every rate of a grid from 1e-5 to 100 and with five
seeds, on small multilayer perceptrons (no hidden layer; 1, 3 or 6 hidden Dense(16) layers of
relu, tanh or sigmoid units, some with BatchNormalization) and four output/loss pairs
(regression with mse on standardised targets, one sigmoid unit with binary cross-entropy, a
5-class softmax with sparse categorical cross-entropy, 10 sigmoid units with mse on one-hot
targets: the output of the textbook MNIST network, which is also checked on its own). The
networks are narrow on purpose, with a single standardised input feature: a step moves the
outputs of a wider layer more, so wider networks fail at the same rates or lower ones, and
the limits hold for them. Six of them are measured again with 64 inputs and 32 units per
hidden layer, for models known to be at least that wide (``--wider`` compares the two).
The targets come from a random teacher network (one per seed).
Each run is 5 epochs of 2048 samples at batch size 32 (320 steps) or 256 (40 steps), judged
on 1024 held-out samples by its skill: R^2 for regression, accuracy above the majority class
scaled to [0, 1] for classification. Per seed:

- ``diverged``: the training loss became NaN/inf or ended no lower than it started;
- ``failed``: diverged, or a skill below half the skill of the best rate (the rate with
  the highest median skill);
- ``trained``: a skill within 0.1 of the best rate's.

To train hundreds of models in one TensorFlow graph, the models of one optimizer (every rate
and seed) are stacked along a leading axis: a Dense layer is one batched matmul, and Keras's
own optimizer steps all of them at once. Keras optimizers update each weight elementwise and
the step is proportional to the learning rate (SGD's momentum buffer included), so the
optimizer runs at rate 1 and each model's change is scaled by its own rate afterwards.
``--verify`` checks this against plain ``keras.Sequential`` models trained by ``fit()``.

Results go to docs/measurements/learning_rates.json; ``--derive`` turns them into the
``learning_rate`` entries of kerascheck/knowledge/tables.json (tests/test_knowledge.py checks
the two agree, without TensorFlow).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "measurements" / "learning_rates.json"

RATES = (1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
SEEDS = (0, 1, 2, 3, 4)
BATCHES = (32, 256)  # Keras's default batch size, and a large one
TRAIN, VALIDATION, EPOCHS = 2048, 1024, 5
TOLERANCE = 0.1  # skill below the best rate's by more than this is "degraded"
INFORMATIVE = 0.2  # a best skill below this cannot tell failing from not learning


@dataclass(frozen=True)
class Shape:
    """A multilayer perceptron on ``features`` inputs: ``hidden`` Dense(width) layers, then
    the output layer."""

    name: str
    hidden: int
    activation: str  # of the hidden layers
    batchnorm: bool  # Dense -> BatchNormalization -> activation
    width: int = 16
    features: int = 1


@dataclass(frozen=True)
class Task:
    """The output layer, its loss, and the data: one standardised feature and a random
    teacher network's targets, or (``images``) 784 MNIST-like pixels in [0, 1]."""

    name: str
    units: int
    activation: str | None
    loss: str
    classes: int  # 0 for regression
    # What the rule may take the measurement for: losses that compute the same, and the
    # output units (mse averages over them, so more units take smaller SGD steps).
    same_as: tuple[str, ...] = ()
    stands_for: tuple[int, int | None] = (1, 1)
    images: bool = False  # MNIST-like pixels instead of a teacher's targets


@dataclass(frozen=True)
class OptimizerConfig:
    name: str
    cls: str
    kwargs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Setup:
    """What one graph trains: every optimizer, rate and seed on one shape, task and batch."""

    shape: Shape
    task: Task
    batch: int
    epochs: int = EPOCHS


SHAPES = (
    Shape("linear", 0, "linear", False),
    Shape("h1-relu", 1, "relu", False),
    Shape("h1-tanh", 1, "tanh", False),
    Shape("h1-sigmoid", 1, "sigmoid", False),
    Shape("h3-relu", 3, "relu", False),
    Shape("h3-relu-bn", 3, "relu", True),
    Shape("h3-tanh", 3, "tanh", False),
    Shape("h3-sigmoid", 3, "sigmoid", False),
    Shape("h6-relu", 6, "relu", False),
    Shape("h6-relu-bn", 6, "relu", True),
)
# Wider networks (64 inputs, 32 units per hidden layer) fail at lower rates: where the model
# is at least as wide, KC402 uses these.
WIDE = tuple(
    dataclasses.replace(shape, name=f"{shape.name}-wide", width=32, features=64)
    for shape in SHAPES
    if shape.name in ("linear", "h1-relu", "h3-relu", "h3-relu-bn", "h6-relu", "h6-relu-bn")
)
TASKS = (
    Task("regression", 1, None, "mean_squared_error", 0),
    Task("binary", 1, "sigmoid", "binary_crossentropy", 2),
    Task(
        "softmax",
        5,
        "softmax",
        "sparse_categorical_crossentropy",
        5,
        same_as=("categorical_crossentropy",),  # the same loss on one-hot labels
        stands_for=(2, None),  # the gradient (softmax - one-hot) does not grow with classes
    ),
    Task("sigmoid_mse", 10, "sigmoid", "mean_squared_error", 10, stands_for=(1, 10)),
)
# The textbook network (Nielsen, "Neural Networks and Deep Learning", ch. 1): 784-30-10
# sigmoid units, quadratic cost, mini-batches of 10, SGD at 3.0.
TEXTBOOK = Setup(
    Shape("textbook-784-30-10", 1, "sigmoid", False, width=30, features=784),
    Task("mnist_like_mse", 10, "sigmoid", "mean_squared_error", 10, images=True),
    batch=10,
    epochs=2,
)
OPTIMIZERS = (
    OptimizerConfig("Adam", "Adam"),
    OptimizerConfig("AdamW", "AdamW"),
    OptimizerConfig("Nadam", "Nadam"),
    OptimizerConfig("Adamax", "Adamax"),
    OptimizerConfig("RMSprop", "RMSprop"),
    OptimizerConfig("Adagrad", "Adagrad"),
    OptimizerConfig("Adadelta", "Adadelta"),
    OptimizerConfig("SGD", "SGD"),
    OptimizerConfig("SGD+momentum", "SGD", (("momentum", 0.9),)),
)


def setups() -> list[Setup]:
    grid = [Setup(s, t, b) for b in BATCHES for t in TASKS for s in (*SHAPES, *WIDE)]
    # Big graphs first, so that two workers finish together.
    return [*sorted(grid, key=lambda s: -s.shape.hidden * s.shape.width), TEXTBOOK]


# ---------------------------------------------------------------------------------------
# Data and initial weights (NumPy, seeded)


def dataset(task: Task, seed: int, features: int) -> tuple[Any, Any, Any, Any]:
    """Training and held-out inputs and targets, the same for every rate of a seed."""
    import numpy as np

    rng = np.random.default_rng(10_000 + seed)
    n = TRAIN + VALIDATION
    if task.images:
        # Ten sparse prototype "digits" (about a fifth of the pixels on), each sample a
        # noisy copy of one of them, clipped to [0, 1] like scaled MNIST pixels.
        prototypes = (rng.random((10, 784)) < 0.2).astype("float32")
        labels = rng.integers(0, 10, n)
        noise = rng.random((n, 784)) * 0.6
        x = np.clip(np.abs(prototypes[labels] - noise), 0, 1).astype("float32")
        y = np.eye(10, dtype="float32")[labels]
        return x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]
    x = rng.standard_normal((n, features)).astype("float32")
    w1 = rng.standard_normal((features, 32)) * 2.0 / math.sqrt(features)
    w2 = rng.standard_normal((32, max(task.classes, 1))) / math.sqrt(32)
    z = np.tanh(x @ w1 + rng.standard_normal(32) * 0.1) @ w2
    if task.classes == 0:
        y = z[:, 0] + 0.1 * rng.standard_normal(n)
        y = ((y - y.mean()) / y.std()).astype("float32")[:, None]
    elif task.classes == 2:
        y = (z[:, 0] > np.median(z[:, 0])).astype("float32")[:, None]
    elif task.loss == "sparse_categorical_crossentropy":
        y = z.argmax(axis=1).astype("int32")
    else:
        y = np.eye(task.classes, dtype="float32")[z.argmax(axis=1)]
    return x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]


def layer_sizes(shape: Shape, task: Task) -> list[tuple[int, int]]:
    sizes = [shape.features] + [shape.width] * shape.hidden + [task.units]
    return list(itertools.pairwise(sizes))


def initial_weights(shape: Shape, task: Task, seed: int) -> list:
    """Glorot-uniform kernels and zero biases, as keras.layers.Dense initialises them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in layer_sizes(shape, task):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        kernel = rng.uniform(-limit, limit, (fan_in, fan_out)).astype("float32")
        weights.append((kernel, np.zeros(fan_out, "float32")))
    return weights


# ---------------------------------------------------------------------------------------
# Stacked training (TensorFlow + Keras optimizers)


def _activation(name: str | None, logits: Any) -> Any:
    import keras

    # keras.activations attach the logits to sigmoid/softmax outputs, so Keras's losses
    # compute cross-entropy from logits exactly as in model.fit.
    return logits if name in (None, "linear") else keras.activations.get(name)(logits)


def _loss(task: Task, y: Any, prediction: Any) -> Any:
    import keras

    per_sample = keras.losses.get(task.loss)(y, prediction)  # (models, batch)
    return keras.ops.mean(per_sample, axis=-1)


class Stack:
    """Every (rate, seed) model of one optimizer, stacked along axis 0.

    Each model's trainable weights are one flat vector (a row of ``params``): Keras's
    optimizers work elementwise, so this changes nothing but the size of the graph."""

    def __init__(
        self,
        shape: Shape,
        task: Task,
        config: OptimizerConfig,
        members: list[tuple[float, int]],
    ) -> None:
        import keras
        import numpy as np

        self.shape, self.task, self.members = shape, task, members
        self.rate = np.array([rate for rate, _ in members], "float32")[:, None]
        sizes = layer_sizes(shape, task)
        width = shape.width
        # Row layout: each layer's kernel and bias, then BatchNormalization's gamma and beta.
        self.layout: list[tuple[str, int, int, tuple[int, ...]]] = []
        offset = 0
        for index, (fan_in, fan_out) in enumerate(sizes):
            for kind, size in (("kernel", (fan_in, fan_out)), ("bias", (1, fan_out))):
                self.layout.append((kind, index, offset, size))
                offset += math.prod(size)
        if shape.batchnorm:
            for index in range(shape.hidden):
                for kind in ("gamma", "beta"):
                    self.layout.append((kind, index, offset, (1, width)))
                    offset += width
        inits = {s: initial_weights(shape, task, s) for _, s in members}
        rows = []
        for _, seed in members:
            row = []
            for kind, index, *_ in self.layout:
                if kind == "kernel":
                    row.append(inits[seed][index][0].ravel())
                elif kind == "bias":
                    row.append(inits[seed][index][1])
                else:
                    row.append(np.full(width, 1.0 if kind == "gamma" else 0.0, "float32"))
            rows.append(np.concatenate(row))
        self.params = keras.Variable(np.stack(rows), name="params")
        moving = np.zeros((len(members), max(shape.hidden, 1), 1, width), "float32")
        self.moving_mean = keras.Variable(moving, trainable=False, name="moving_mean")
        self.moving_var = keras.Variable(moving + 1, trainable=False, name="moving_var")
        cls = getattr(keras.optimizers, config.cls)
        self.optimizer = cls(learning_rate=1.0, **dict(config.kwargs))
        self.optimizer.build([self.params])

    def _weights(self) -> dict[tuple[str, int], Any]:
        import tensorflow as tf

        # One split, whose gradient is one concatenation (slices would each pad a copy).
        parts = tf.split(self.params.value, [math.prod(size) for *_, size in self.layout], 1)
        return {
            (kind, index): tf.reshape(part, (-1, *size))
            for (kind, index, _, size), part in zip(self.layout, parts, strict=True)
        }

    def forward(self, x: Any, training: bool, update: bool = False) -> Any:
        """The models' outputs for ``x`` (models, batch, features). ``training`` normalises
        with batch statistics; ``update`` also moves the BatchNormalization averages."""
        import tensorflow as tf

        weights = self._weights()
        h, means, variances = x, [], []
        for index in range(self.shape.hidden + 1):
            h = tf.einsum("kbi,kio->kbo", h, weights["kernel", index]) + weights["bias", index]
            if index == self.shape.hidden:
                break
            if self.shape.batchnorm:
                # keras.layers.BatchNormalization's defaults: momentum 0.99, epsilon 1e-3.
                if training:
                    mean, variance = tf.nn.moments(h, axes=[1], keepdims=True)
                    means.append(mean)
                    variances.append(variance)
                else:
                    mean = self.moving_mean.value[:, index]
                    variance = self.moving_var.value[:, index]
                h = (h - mean) * tf.math.rsqrt(variance + 1e-3)
                h = h * weights["gamma", index] + weights["beta", index]
            h = _activation(self.shape.activation, h)
        if update and means:
            self.moving_mean.assign(self.moving_mean.value * 0.99 + tf.stack(means, 1) * 0.01)
            self.moving_var.assign(self.moving_var.value * 0.99 + tf.stack(variances, 1) * 0.01)
        return _activation(self.task.activation, h)

    def apply(self, gradient: Any) -> None:
        """One optimizer step at rate 1, then each model's change scaled by its own rate."""
        import tensorflow as tf

        before = tf.identity(self.params.value)
        self.optimizer.apply([gradient], [self.params])
        self.params.assign(before + self.rate * (self.params.value - before))


def skill(task: Task, y: Any, prediction: Any) -> Any:
    """Per model: R^2 (regression) or accuracy above the majority class, scaled to 1."""
    import numpy as np

    if task.classes == 0:
        with np.errstate(over="ignore", invalid="ignore"):
            residual = ((prediction - y) ** 2).mean(axis=(1, 2))
        return 1.0 - residual / y.var(axis=(1, 2))
    if task.classes == 2:
        truth, guess = y[..., 0] > 0.5, prediction[..., 0] > 0.5
    elif task.loss == "sparse_categorical_crossentropy":
        truth, guess = y, prediction.argmax(axis=-1)
    else:
        truth, guess = y.argmax(axis=-1), prediction.argmax(axis=-1)
    accuracy = (truth == guess).mean(axis=1)
    majority = np.array([np.bincount(t.astype(int).ravel()).max() / t.size for t in truth])
    return (accuracy - majority) / (1.0 - majority)


@dataclass(frozen=True)
class Run:
    """One trained model: held-out skill (None when it diverged) and its training losses."""

    optimizer: str
    shape: str
    task: str
    batch: int
    rate: float
    seed: int
    skill: float | None
    first_loss: float
    last_loss: float | None


def train_grid(
    setup: Setup,
    configs: Iterable[OptimizerConfig] = OPTIMIZERS,
    rates: Iterable[float] = RATES,
    seeds: Iterable[int] = SEEDS,
) -> list[Run]:
    """Train every (optimizer, rate, seed) model of one setup in one graph."""
    import numpy as np
    import tensorflow as tf

    shape, task, size = setup.shape, setup.task, setup.batch
    seeds, configs = tuple(seeds), tuple(configs)
    members = [(rate, seed) for rate in rates for seed in seeds]
    data = [dataset(task, s, shape.features) for s in seeds]
    pick = [seeds.index(seed) for _, seed in members]  # each model trains on its seed's data
    x, y, vx, vy = (np.stack([data[i][part] for i in pick]) for part in range(4))
    stacks = [Stack(shape, task, c, members) for c in configs]

    def losses(xb: Any, yb: Any, update: bool) -> list:
        return [_loss(task, yb, s.forward(xb, True, update)) for s in stacks]

    @tf.function(autograph=False)
    def step(xb: Any, yb: Any) -> Any:
        with tf.GradientTape() as tape:
            current = losses(xb, yb, update=True)
            total = tf.add_n([tf.reduce_sum(loss) for loss in current])
        gradients = tape.gradient(total, [s.params.value for s in stacks])
        for s, gradient in zip(stacks, gradients, strict=True):
            s.apply(gradient)
        return tf.stack(current)

    @tf.function(autograph=False)
    def initial(xb: Any, yb: Any) -> Any:
        return tf.stack(losses(xb, yb, update=False))

    order = np.random.default_rng(0)
    epochs = [
        [permutation[i : i + size] for i in range(0, TRAIN - size + 1, size)]
        for permutation in (order.permutation(TRAIN) for _ in range(setup.epochs))
    ]
    # The loss before training, over the batches of an epoch (BatchNormalization normalises
    # each batch by its own statistics, as in training).
    first = np.mean([initial(x[:, i], y[:, i]).numpy() for i in epochs[0]], axis=0)
    finite = np.ones_like(first, dtype=bool)
    for batches in epochs:
        last_epoch = []
        for index in batches:
            batch_losses = step(x[:, index], y[:, index]).numpy()
            finite &= np.isfinite(batch_losses)
            last_epoch.append(batch_losses)
    last = np.mean(last_epoch, axis=0)
    runs = []
    for number, s in enumerate(stacks):
        scores = skill(task, vy, s.forward(vx, training=False).numpy())
        for k, (rate, seed) in enumerate(members):
            # Diverged: NaN/inf on the way, no lower at the end than at the start, or NaN
            # predictions.
            ok = finite[number, k] and last[number, k] < first[number, k]
            ok = ok and np.isfinite(scores[k])
            runs.append(
                Run(
                    configs[number].name,
                    shape.name,
                    task.name,
                    size,
                    rate,
                    seed,
                    round(max(float(scores[k]), -9.99), 2) if ok else None,  # -9.99: far off
                    round(float(first[number, k]), 4),
                    float(f"{last[number, k]:.4g}") if np.isfinite(last[number, k]) else None,
                )
            )
    return runs


# ---------------------------------------------------------------------------------------
# From runs to outcomes and thresholds (no TensorFlow)

# One letter per rate and cell. Each seed has its own data (a teacher network of its own), so
# it is judged against its own best skill over the rates: it "trained" within TOLERANCE of
# it, and "failed" when it diverged or ended below half of it.
TRAINS, WORSE, FAILS, DIVERGES, SLOW = "+", "~", "u", "x", "s"
LEGEND = {
    TRAINS: "every seed trained (held-out skill within 0.1 of its best over the rates)",
    WORSE: "most seeds did not fail, but not every one trained as well as at its best rate",
    FAILS: "most seeds failed: less than half of their best skill (unstable), or diverged",
    DIVERGES: "most seeds diverged (NaN/inf, or the loss ended no lower than it started)",
    SLOW: "below the best rate and not every seed trained: too slow for the steps run",
}


def collect(runs: Iterable[Run]) -> dict[str, dict[str, Any]]:
    """Per (optimizer, shape, task, batch): each seed's held-out skill at each rate (None
    when it diverged)."""
    cells: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: (r.rate, r.seed)):
        key = "|".join(map(str, (run.optimizer, run.shape, run.task, run.batch)))
        cell = cells.setdefault(key, {"rates": [], "skills": []})
        if not cell["rates"] or cell["rates"][-1] != run.rate:
            cell["rates"].append(run.rate)
            cell["skills"].append([])
        cell["skills"][-1].append(run.skill)
    return dict(sorted(cells.items()))


@dataclass(frozen=True)
class Outcome:
    letters: str  # one per rate
    best_rate: float  # where the most seeds trained (then: the highest median skill)
    best_skill: float  # median over the seeds of each one's best skill


def outcome(cell: dict[str, Any]) -> Outcome:
    rates, skills = cell["rates"], cell["skills"]
    seeds = range(len(skills[0]))
    best = [max((s[k] for s in skills if s[k] is not None), default=-math.inf) for k in seeds]

    def trained(i: int) -> int:
        return sum(skills[i][k] is not None and skills[i][k] >= best[k] - TOLERANCE for k in seeds)

    top = max(range(len(rates)), key=lambda i: (trained(i), _median(skills[i])))
    letters = []
    for i in range(len(rates)):
        diverged = sum(skill is None for skill in skills[i])
        failed = sum(skills[i][k] is None or skills[i][k] < best[k] / 2 for k in seeds)
        if trained(i) == len(seeds):
            letters.append(TRAINS)
        elif i < top:
            letters.append(SLOW)
        elif 2 * failed <= len(seeds):
            letters.append(WORSE)
        elif 2 * diverged > len(seeds):
            letters.append(DIVERGES)
        else:
            letters.append(FAILS)
    return Outcome("".join(letters), rates[top], round(_median(best), 3))


def _median(values: Iterable[float | None]) -> float:
    ordered = sorted(-math.inf if v is None else v for v in values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def fails_from(cell: dict[str, Any]) -> float | None:
    """The lowest rate from which every measured rate mostly failed; None when the highest
    rate did not."""
    found = None
    letters = outcome(cell).letters
    for rate, letter in reversed(list(zip(cell["rates"], letters, strict=True))):
        if letter not in (FAILS, DIVERGES):
            break
        found = rate
    return found


def informative(cell: dict[str, Any]) -> bool:
    """Whether the seeds learned enough to tell failing from not learning at all."""
    return outcome(cell).best_skill >= INFORMATIVE


def _sizes(shape: Shape) -> list[Shape]:
    """The measured sizes of a network, narrowest first."""
    return [shape, *[w for w in WIDE if w.name == f"{shape.name}-wide"]]


def limit(cells: list[dict[str, Any]]) -> list[float | None] | None:
    """``[fails_from, best_low, best_high]`` over the batch sizes of one network, optimizer
    and output: the highest rate from which training mostly failed (so that a rate is
    reported only where it failed at every batch size), None when it did not fail at the
    highest rate at some batch size; and the range of the best rates. None when some batch
    size is not informative."""
    if not all(informative(cell) for cell in cells):
        return None
    limits = [fails_from(cell) for cell in cells]
    best = [outcome(cell).best_rate for cell in cells]
    highest = None if None in limits else max(v for v in limits if v is not None)
    return [highest, min(best), max(best)]


def derive(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``learning_rate`` knowledge entries.

    ``shapes[name]``: hidden layers, their activation, BatchNormalization, and the measured
    sizes ``[units per hidden layer, inputs]``, narrowest first. ``measured[optimizer][shape]
    [task]``: the ``limit`` at each size. ``lowest_trained``: the lowest rate at which every
    seed of some informative measurement trained."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for key, cell in table.items():
        optimizer, shape, task, _ = key.split("|")
        grouped.setdefault((optimizer, shape, task), []).append(cell)
    measured: dict[str, dict[str, dict[str, list[list[float | None] | None]]]] = {}
    for config in OPTIMIZERS:
        for shape in SHAPES:
            for task in TASKS:
                keys = [(config.name, size.name, task.name) for size in _sizes(shape)]
                per_size = [limit(grouped[key]) for key in keys]
                measured.setdefault(config.name, {}).setdefault(shape.name, {})[task.name] = (
                    per_size
                )
    lowest = min(
        rate
        for key, cells in grouped.items()
        if key[1] != TEXTBOOK.shape.name
        for cell in cells
        if informative(cell)
        for rate, letter in zip(cell["rates"], outcome(cell).letters, strict=True)
        if letter == TRAINS
    )
    return {
        "lowest_trained": lowest,
        "shapes": {
            s.name: [s.hidden, s.activation, s.batchnorm, [[z.width, z.features] for z in sizes]]
            for s in SHAPES
            for sizes in [_sizes(s)]
        },
        "tasks": {t.name: [t.activation, [t.loss, *t.same_as], *t.stands_for] for t in TASKS},
        "momentum": ["SGD+momentum", dict(OPTIMIZERS[-1].kwargs)["momentum"]],
        "measured": measured,
    }


# ---------------------------------------------------------------------------------------
# Command line


def _worker_init() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def _train(setup: Setup) -> list[Run]:
    started = time.perf_counter()
    runs = train_grid(setup)
    took = time.perf_counter() - started
    print(f"  {setup.shape.name} {setup.task.name} batch {setup.batch}: {took:.0f} s", flush=True)
    return runs


def measure(jobs: int) -> dict[str, Any]:
    import multiprocessing

    import keras
    import tensorflow as tf

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_worker_init) as pool:
        runs = [run for part in pool.imap_unordered(_train, setups()) for run in part]
    return {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "seconds": round(time.perf_counter() - started),
        "setup": {
            "rates": RATES,
            "seeds": SEEDS,
            "batches": BATCHES,
            "train": TRAIN,
            "validation": VALIDATION,
            "epochs": EPOCHS,
            "tolerance": TOLERANCE,
            "informative": INFORMATIVE,
            "legend": LEGEND,
        },
        "cells": collect(runs),
    }


VERIFIED = (
    (SHAPES[5], TASKS[2], OPTIMIZERS[0], 1e-2),  # h3-relu-bn, softmax, Adam
    (SHAPES[4], TASKS[0], OPTIMIZERS[8], 1e-2),  # h3-relu, regression, SGD+momentum
    (SHAPES[3], TASKS[1], OPTIMIZERS[6], 1.0),  # h1-sigmoid, binary, Adadelta
    (SHAPES[0], TASKS[3], OPTIMIZERS[4], 1e-3),  # linear, sigmoid_mse, RMSprop
)


def verify(checks: Iterable[tuple[Shape, Task, OptimizerConfig, float]] = VERIFIED) -> int:
    """Train plain keras.Sequential models with fit() and compare with the stacked run."""
    _worker_init()
    import keras
    import numpy as np

    failures = 0
    for shape, task, config, rate in checks:
        setup = Setup(shape, task, 32, epochs=1)
        (stacked,) = train_grid(setup, (config,), (rate,), (0,))
        x, y, vx, vy = dataset(task, 0, shape.features)
        model = keras.Sequential([keras.Input((shape.features,))])
        for _ in range(shape.hidden):
            model.add(keras.layers.Dense(shape.width))
            if shape.batchnorm:
                model.add(keras.layers.BatchNormalization())
            model.add(keras.layers.Activation(shape.activation))
        model.add(keras.layers.Dense(task.units, activation=task.activation))
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        for layer, (kernel, bias) in zip(dense, initial_weights(shape, task, 0), strict=True):
            layer.set_weights([kernel, bias])
        optimizer = getattr(keras.optimizers, config.cls)(rate, **dict(config.kwargs))
        model.compile(optimizer=optimizer, loss=task.loss)
        order = np.random.default_rng(0).permutation(TRAIN)
        history = model.fit(x[order], y[order], batch_size=32, epochs=1, shuffle=False, verbose=0)
        fitted = history.history["loss"][-1]
        score = float(skill(task, vy[None], model.predict(vx, verbose=0)[None])[0])
        close = math.isclose(fitted, stacked.last_loss or math.nan, rel_tol=1e-3)
        close = close and abs(score - (stacked.skill or math.nan)) < 0.01
        failures += not close
        print(
            f"{'ok ' if close else 'FAIL'} {config.name} {rate:g} {shape.name} {task.name}: "
            f"fit loss {fitted:.5f} skill {score:.4f}; stacked loss {stacked.last_loss:.5f} "
            f"skill {stacked.skill:.4f}"
        )
    return 1 if failures else 0


def wider(results: dict[str, Any]) -> Iterator[str]:
    """Where each wide network failed, against the narrow one of the same depth."""
    for key, cell in results["cells"].items():
        optimizer, shape, task, batch = key.split("|")
        if not shape.endswith("-wide"):
            continue
        narrow = results["cells"]["|".join((optimizer, shape.removesuffix("-wide"), task, batch))]
        if not (informative(cell) and informative(narrow)):
            yield f"- {key}: not informative"
            continue
        wide_limit, narrow_limit = fails_from(cell), fails_from(narrow)
        held = narrow_limit is None or (wide_limit is not None and wide_limit <= narrow_limit)
        verdict = "holds" if held else "DOES NOT HOLD"
        yield f"- {key}: wide fails from {wide_limit}, narrow from {narrow_limit}: {verdict}"


def dump(results: dict[str, Any]) -> str:
    """The results as JSON with one cell per line."""
    lines = []
    for name, value in results.items():
        if name == "cells":
            rows = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
            lines.append(f"  {json.dumps(name)}: {{\n" + ",\n".join(rows) + "\n  }")
        else:
            lines.append(f"  {json.dumps(name)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def summary(results: dict[str, Any]) -> Iterator[str]:
    """KC402's limits as a Markdown table: per network and optimizer, the rate from which
    training mostly failed for regression / binary / softmax / sigmoid+mse outputs ("-": it
    did not fail up to 100; "?": not informative), at each measured size."""
    derived = derive(results["cells"])["measured"]
    names = [c.name for c in OPTIMIZERS]
    yield "| network | " + " | ".join(names) + " |"
    yield "| --- |" + " --- |" * len(names)
    for shape in SHAPES:
        for index, size in enumerate(_sizes(shape)):
            row = []
            for optimizer in names:
                per_task = derived[optimizer][shape.name]
                row.append(" / ".join(_shown(per_task[t.name][index]) for t in TASKS))
            yield f"| {size.name} | " + " | ".join(row) + " |"


def _shown(value: list[float | None] | None) -> str:
    if value is None:
        return "?"
    return "-" if value[0] is None else f"{value[0]:g}"


def render(results: dict[str, Any]) -> Iterator[str]:
    """The outcome letters per optimizer and shape, as Markdown tables (docs/knowledge.md)."""
    cells = results["cells"]
    rates = results["setup"]["rates"]
    header = " ".join(f"{r:g}" for r in rates)
    for optimizer in [c.name for c in OPTIMIZERS]:
        yield f"**{optimizer}** (rates {header})"
        yield ""
        yield (
            "| shape | "
            + " | ".join(f"{t.name} b{b}" for t in TASKS for b in results["setup"]["batches"])
            + " |"
        )
        yield "| --- |" + " --- |" * (len(TASKS) * len(results["setup"]["batches"]))
        for shape in (*SHAPES, *WIDE):
            row = [
                f"`{outcome(cells[f'{optimizer}|{shape.name}|{t.name}|{b}']).letters}`"
                for t in TASKS
                for b in results["setup"]["batches"]
            ]
            yield f"| {shape.name} | " + " | ".join(row) + " |"
        yield ""
    textbook = TEXTBOOK.shape.name, TEXTBOOK.task.name, TEXTBOOK.batch
    yield f"**Textbook network** ({textbook[0]}, batch {textbook[2]}, rates {header})"
    yield ""
    for optimizer in [c.name for c in OPTIMIZERS]:
        cell = cells["|".join(map(str, (optimizer, *textbook)))]
        yield f"- {optimizer}: `{outcome(cell).letters}`"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--verify", action="store_true", help="compare with keras model.fit")
    mode.add_argument("--derive", action="store_true", help="print the knowledge entries")
    mode.add_argument("--render", action="store_true", help="print the outcome tables")
    mode.add_argument("--summary", action="store_true", help="print the limits table")
    mode.add_argument("--quick", action="store_true", help="one check and one small setup")
    mode.add_argument("--wider", action="store_true", help="wider networks against narrow")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.verify:
        return verify()
    if args.derive or args.render or args.wider or args.summary:
        results = json.loads(args.out.read_text())
        if args.derive:
            lines: Iterable[str] = [json.dumps(derive(results["cells"]))]
        elif args.summary:
            lines = summary(results)
        else:
            lines = render(results) if args.render else wider(results)
        print("\n".join(lines))
        return 0
    if args.quick:
        if verify(VERIFIED[:1]):
            return 1
        setup = Setup(SHAPES[1], TASKS[1], 32, epochs=1)
        runs = train_grid(setup, OPTIMIZERS[:1], (1e-3, 100.0), (0,))
        for key, cell in collect(runs).items():
            print(key, outcome(cell).letters)
        return 0
    print(f"training {len(setups())} setups with {args.jobs} processes", flush=True)
    results = measure(args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(results))
    print(f"wrote {args.out} ({results['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
