"""Knowledge tables about Keras: names, aliases, defaults and removed API.

The tables are data (``tables.json``, ``keras3_api.json``, ``api_drift.json``), checked
against installed Keras by tests/test_knowledge.py, tools/gen_knowledge.py and
tools/gen_api_drift.py, so static mode needs no TensorFlow. ``load()``, ``keras3_api()`` and
``api_drift()`` parse them once per process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from kerascheck.knowledge.drift import (
    ApiDrift,
    MetricClassKey,
    MetricKeys,
    Monitor,
    OldSignature,
    Removed,
    RemovedArgument,
    RemovedMember,
    Signature,
    Spelling,
    api_drift,
    spelling_of,
)

__all__ = [
    "ApiDrift",
    "Dataset",
    "Keras3Api",
    "Knowledge",
    "LearningRateRange",
    "LossClass",
    "MetricClassKey",
    "MetricKeys",
    "Monitor",
    "OldSignature",
    "Removed",
    "RemovedArgument",
    "RemovedMember",
    "Saving",
    "Signature",
    "Spelling",
    "UnitArg",
    "api_drift",
    "keras3_api",
    "load",
    "spelling_of",
]


@dataclass(frozen=True)
class UnitArg:
    """Where a layer takes the size of its last axis (``Dense(units)``, ``Conv2D(filters)``)."""

    arg: str
    index: int
    legacy: str | None


@dataclass(frozen=True)
class LossClass:
    name: str
    from_logits_index: int | None


@dataclass(frozen=True)
class Dataset:
    """A ``keras.datasets`` loader: ``classes`` is None for a regression target, whose
    documented typical range is ``target_range``."""

    classes: int | None
    image: bool
    target_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class MeasuredShape:
    """A network the learning rates were measured on: ``hidden`` Dense layers of
    ``activation`` units (with BatchNormalization after each when ``batchnorm``), at each
    of ``sizes``: (units per hidden layer, inputs), narrowest first."""

    hidden: int
    activation: str
    batchnorm: bool
    sizes: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class MeasuredTask:
    """An output the learning rates were measured on: its activation and the losses that
    compute the same thing (a linear output with ``from_logits=True`` counts as the
    activation: Keras computes the cross-entropy of a sigmoid/softmax from its logits)."""

    activation: str | None
    losses: frozenset[str]
    # Output units the measurement stands for: mse averages over the units, so more units
    # than measured take smaller steps (more tolerant); None: any number.
    min_units: int
    max_units: int | None

    def takes(self, units: int) -> bool:
        return self.min_units <= units and (self.max_units is None or units <= self.max_units)


@dataclass(frozen=True)
class Measurement:
    """How one optimizer trained one measured network and output: the lowest rate from
    which training mostly failed at that rate and every rate above it, at each batch size
    measured (None: it did not fail at the highest rate), and the range of its best rates."""

    fails_from: float | None
    best: tuple[float, float]


@dataclass(frozen=True)
class LearningRates:
    """KC402's learning-rate limits, measured by tools/measure_learning_rates.py
    (docs/knowledge.md): ``measured[optimizer][shape][task]`` holds a Measurement per
    measured size of the network (None where the measurement could not tell)."""

    min: float
    lowest_trained: float
    measured_with: str
    shapes: dict[str, MeasuredShape]
    tasks: dict[str, MeasuredTask]
    measured: dict[str, dict[str, dict[str, tuple[Measurement | None, ...]]]]
    momentum: tuple[str, float]  # SGD with momentum >= this is measured as this optimizer
    weight_layers: frozenset[str]
    batchnorm_layers: frozenset[str]
    weightless_layers: frozenset[str]
    decaying_schedules: frozenset[str]

    def limit(
        self, optimizer: str, shapes: Iterable[tuple[str, int]], tasks: Iterable[str]
    ) -> Measurement | None:
        """The rate from which every given network with every given output mostly failed,
        and the range of their best rates; None when one of them did not fail or could not
        be told. A network is given with the index of the widest measured size the model
        is at least as wide as: where the model reaches the widest size and that size
        failed no later than the narrower ones, its limit is the widest size's; otherwise
        the highest over the sizes (a size in between fails somewhere in that range)."""
        tasks = tuple(tasks)
        chosen: list[Measurement] = []
        for shape, reach in shapes:
            for task in tasks:
                sizes = self.measured.get(optimizer, {}).get(shape, {}).get(task, ())
                picked = _pick(sizes, reach)
                if picked is None:
                    return None
                chosen.append(picked)
        if not chosen:
            return None
        return Measurement(
            max(m.fails_from for m in chosen if m.fails_from is not None),
            (min(m.best[0] for m in chosen), max(m.best[1] for m in chosen)),
        )


def _pick(sizes: tuple[Measurement | None, ...], reach: int) -> Measurement | None:
    """The measurement that holds for a model reaching ``sizes[reach]`` (see ``limit``)."""
    if not sizes or any(m is None for m in sizes):
        return None
    measured = [m for m in sizes if m is not None]
    widest = measured[-1].fails_from
    # Reaching the widest size, whose limit is the lowest: wider networks fail sooner.
    reaches = reach == len(measured) - 1 and widest is not None
    if reaches and all(m.fails_from is None or widest <= m.fails_from for m in measured):
        return measured[-1]
    if any(m.fails_from is None for m in measured):
        return None
    return max(measured, key=lambda m: m.fails_from or 0.0)


@dataclass(frozen=True)
class Saving:
    """What Keras 3 accepts as file names when saving (measured on Keras 3.15.1,
    docs/knowledge.md): ``model.save`` needs one of ``model_suffixes``, ``save_weights``
    and a weights-only ModelCheckpoint need ``weights_suffix``, a whole-model
    ModelCheckpoint one of ``checkpoint_suffixes``; ``save(save_format=...)`` only warns
    for a file name ending in one of ``save_format_warns_for`` and raises otherwise.
    ``load_model`` reads a file ending in one of ``model_load_suffixes`` and
    ``load_weights`` one ending in ``weights_load_suffixes``: any other name with a suffix
    (a TensorFlow checkpoint ``w.ckpt``, a SavedModel ``m.tf``) raises "File format not
    supported" (a name without one may be a Keras 3 Orbax checkpoint directory)."""

    model_suffixes: tuple[str, ...]
    weights_suffix: str
    checkpoint_suffixes: tuple[str, ...]
    save_format_warns_for: tuple[str, ...]
    model_load_suffixes: tuple[str, ...]
    weights_load_suffixes: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    namespace_prefixes: tuple[tuple[str, str], ...]
    families: frozenset[str]
    model_constructors: dict[str, str]
    model_bases: frozenset[str]
    input_constructors: frozenset[str]
    model_loaders: frozenset[str]
    activations: frozenset[str]
    activation_aliases: dict[str, str | None]
    activation_functions: dict[str, str]
    activation_layers: dict[str, str]
    default_activation: dict[str, str | None]
    unit_layers: dict[str, UnitArg]
    channel_layers: frozenset[str]
    # Identity at inference (measured, docs/knowledge.md): values pass through unchanged.
    transparent_layers: frozenset[str]
    # Functions that return their input's values (a dtype cast): ``tf.cast(x, "float32")``.
    identity_functions: frozenset[str]
    wrapper_layers: frozenset[str]
    datasets: dict[str, Dataset]
    learning_rate: LearningRates
    input_scaling_layers: frozenset[str]
    dropout_layers: frozenset[str]
    dropout_max: float
    loss_aliases: dict[str, str]
    loss_classes: dict[str, LossClass]
    probabilistic_losses: frozenset[str]
    categorical_losses: frozenset[str]
    regression_losses: frozenset[str]
    metric_aliases: dict[str, str]
    bounded_activations: dict[str, tuple[float, float]]
    probability_activations: frozenset[str]
    misspelt_arguments: dict[str, str]
    saving: Saving
    # Modules gone from Keras 3 (from api_drift.json): the extractor counts the uses of
    # names imported from them, for the fix that rewrites every use.
    removed_modules: frozenset[str]
    keras1_convolutions: frozenset[str]
    model_methods: frozenset[str]
    optimizers: frozenset[str]
    # What the preprocess_input of each keras.applications module makes of raw pixels.
    preprocess_input_scales: dict[str, str]
    # Model members Keras 3 still has but fills otherwise (measured): what changed.
    changed_members: dict[str, str]
    # Keras callbacks known to add no log key but these, per flavour (KC204); any other
    # callback may add some.
    history_callbacks: dict[str, dict[str, frozenset[str]]]

    def canonical_activation(self, written: str) -> str | bool | None:
        """Canonical name of an activation string, or False when Keras has no such name."""
        if written in self.activation_aliases:
            return self.activation_aliases[written]
        if written in self.activations:
            return written
        return False


@dataclass(frozen=True)
class Keras3Api:
    """What Keras 3 accepts, generated from installed Keras by tools/gen_knowledge.py."""

    version: str
    layer_arguments: dict[str, frozenset[str]]
    activations: frozenset[str]
    losses: frozenset[str]
    metrics: frozenset[str]
    optimizers: frozenset[str]
    optimizer_arguments: dict[str, frozenset[str]]


# What a pixel of value 0 and one of 255 become, per channel.
PixelMap = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True)
class Application:
    """A ``keras.applications`` constructor (tools/gen_applications.py)."""

    module: str  # the module whose preprocess_input goes with it
    default_weights: str | None
    include_preprocessing: bool  # takes ``include_preprocessing=`` (default True)
    batch_normalization: bool
    preprocessing_layers: tuple[str, ...]  # Rescaling / Normalization layers it starts with
    exported_in: tuple[str, ...]  # keras.applications.<module>.<constructor> spellings


@dataclass(frozen=True)
class Applications:
    version: str
    constructors: dict[str, Application]
    # Per module (and ``imagenet_utils:<mode>``): what its preprocess_input does to pixels.
    preprocess_input: dict[str, PixelMap]


@cache
def applications() -> Applications:
    raw = json.loads(resources.files(__package__).joinpath("applications.json").read_text("utf-8"))
    return Applications(
        version=raw["keras_version"],
        constructors={
            name: Application(
                module=entry["module"],
                default_weights=entry["default_weights"],
                include_preprocessing=entry["include_preprocessing"],
                batch_normalization=entry["batch_normalization"],
                preprocessing_layers=tuple(entry["preprocessing_layers"]),
                exported_in=tuple(entry["exported_in"]),
            )
            for name, entry in raw["constructors"].items()
        },
        preprocess_input={
            module: (tuple(values["0"]), tuple(values["255"]))
            for module, values in raw["preprocess_input"].items()
        },
    )


@cache
def keras3_api() -> Keras3Api:
    raw = json.loads(resources.files(__package__).joinpath("keras3_api.json").read_text("utf-8"))
    return Keras3Api(
        version=raw["keras_version"],
        layer_arguments={k: frozenset(v) for k, v in raw["layer_arguments"].items()},
        activations=frozenset(raw["activations"]),
        losses=frozenset(raw["losses"]),
        metrics=frozenset(raw["metrics"]),
        optimizers=frozenset(raw["optimizers"]),
        optimizer_arguments={k: frozenset(v) for k, v in raw["optimizer_arguments"].items()},
    )


def _learning_rates(raw: dict[str, Any]) -> LearningRates:
    def measurement(value: list[Any] | None) -> Measurement | None:
        return None if value is None else Measurement(value[0], (value[1], value[2]))

    return LearningRates(
        min=raw["min"],
        lowest_trained=raw["lowest_trained"],
        measured_with=raw["measured_with"],
        shapes={
            name: MeasuredShape(hidden, activation, bn, tuple((w, f) for w, f in sizes))
            for name, (hidden, activation, bn, sizes) in raw["shapes"].items()
        },
        tasks={
            name: MeasuredTask(activation, frozenset(losses), low, high)
            for name, (activation, losses, low, high) in raw["tasks"].items()
        },
        measured={
            optimizer: {
                shape: {task: tuple(map(measurement, sizes)) for task, sizes in per_task.items()}
                for shape, per_task in per_shape.items()
            }
            for optimizer, per_shape in raw["measured"].items()
        },
        momentum=(raw["momentum"][0], raw["momentum"][1]),
        weight_layers=frozenset(raw["weight_layers"]),
        batchnorm_layers=frozenset(raw["batchnorm_layers"]),
        weightless_layers=frozenset(raw["weightless_layers"]),
        decaying_schedules=frozenset(raw["decaying_schedules"]),
    )


@cache
def load() -> Knowledge:
    raw = json.loads(resources.files(__package__).joinpath("tables.json").read_text("utf-8"))
    saving = raw["saving"]
    # Longest prefix first so "tensorflow.keras.src" wins over "tensorflow.keras".
    prefixes = sorted(raw["namespace_prefixes"].items(), key=lambda kv: -len(kv[0]))
    return Knowledge(
        namespace_prefixes=tuple(prefixes),
        families=frozenset(raw["families"]),
        model_constructors=raw["model_constructors"],
        model_bases=frozenset(raw["model_bases"]),
        input_constructors=frozenset(raw["input_constructors"]),
        model_loaders=frozenset(raw["model_loaders"]),
        activations=frozenset(raw["activations"]),
        activation_aliases=raw["activation_aliases"],
        activation_functions=raw["activation_functions"],
        activation_layers=raw["activation_layers"],
        default_activation=raw["default_activation"],
        unit_layers={k: UnitArg(**v) for k, v in raw["unit_layers"].items()},
        channel_layers=frozenset(raw["channel_layers"]),
        transparent_layers=frozenset(raw["transparent_layers"]),
        identity_functions=frozenset(raw["identity_functions"]),
        wrapper_layers=frozenset(raw["wrapper_layers"]),
        datasets={
            name: Dataset(
                v["classes"],
                v["image"],
                tuple(v["target_range"]) if "target_range" in v else None,  # type: ignore[arg-type]
            )
            for name, v in raw["datasets"].items()
        },
        learning_rate=_learning_rates(raw["learning_rate"]),
        input_scaling_layers=frozenset(raw["input_scaling_layers"]),
        dropout_layers=frozenset(raw["dropout_layers"]),
        dropout_max=raw["dropout_max"],
        loss_aliases=raw["loss_aliases"],
        loss_classes={k: LossClass(**v) for k, v in raw["loss_classes"].items()},
        probabilistic_losses=frozenset(raw["probabilistic_losses"]),
        categorical_losses=frozenset(raw["categorical_losses"]),
        regression_losses=frozenset(raw["regression_losses"]),
        metric_aliases=raw["metric_aliases"],
        bounded_activations={k: (v[0], v[1]) for k, v in raw["bounded_activations"].items()},
        probability_activations=frozenset(raw["probability_activations"]),
        misspelt_arguments=raw["misspelt_arguments"],
        saving=Saving(
            model_suffixes=tuple(saving["model_suffixes"]),
            weights_suffix=saving["weights_suffix"],
            checkpoint_suffixes=tuple(saving["checkpoint_suffixes"]),
            save_format_warns_for=tuple(saving["save_format_warns_for"]),
            model_load_suffixes=tuple(saving["model_load_suffixes"]),
            weights_load_suffixes=tuple(saving["weights_load_suffixes"]),
        ),
        removed_modules=frozenset(api_drift().modules),
        keras1_convolutions=frozenset(raw["keras1_convolutions"]),
        model_methods=frozenset(raw["model_methods"]),
        optimizers=frozenset(raw["optimizers"]),
        preprocess_input_scales=raw["preprocess_input_scales"],
        changed_members=raw["changed_members"],
        history_callbacks={
            name: {flavour: frozenset(keys) for flavour, keys in added.items()}
            for name, added in raw["history_callbacks"].items()
        },
    )
