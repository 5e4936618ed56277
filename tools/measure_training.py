"""Measure, on the installed Keras, the training behaviour KC406, KC408 and KC409 rest on.

Each measurement trains a tiny model for a step or two on random data and reports what
changed; docs/knowledge.md records the results with the Keras version, and
tests/test_knowledge_training.py re-runs them when TensorFlow is installed.

    python tools/measure_training.py              # Keras 3 (``keras``)
    python tools/measure_training.py --tf-keras   # tf.keras 2 (``tf_keras``, if installed)

Prints one JSON object: measurement name -> result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

Result = dict[str, Any]


def _weights(model: Any) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _changed(before: list[np.ndarray], model: Any) -> bool:
    after = _weights(model)
    return any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))


def _data(rng: np.random.Generator, features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(64, features)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    return x, y


def _base_and_model(k: ModuleType) -> tuple[Any, Any]:
    base = k.Sequential([k.Input((8,)), k.layers.Dense(8)], name="base")
    model = k.Sequential([k.Input((8,)), base, k.layers.Dense(1)])
    return base, model


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> None:
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)


def _compile(model: Any, k: ModuleType) -> None:
    model.compile(optimizer=k.optimizers.SGD(0.1), loss="mse")


def trainable_after_fit(k: ModuleType) -> Result:
    """A base frozen or unfrozen after the first fit, with and without compile() again:
    does the second fit change the base's weights?"""
    rng = np.random.default_rng(0)
    x, y = _data(rng)
    result: Result = {}
    for direction, first, second in (("freeze", True, False), ("unfreeze", False, True)):
        for recompile in (False, True):
            base, model = _base_and_model(k)
            base.trainable = first
            _compile(model, k)
            _fit(model, x, y)
            base.trainable = second
            if recompile:
                _compile(model, k)
            before = _weights(base)
            _fit(model, x, y)
            key = f"{direction}_after_fit{'_recompiled' if recompile else ''}"
            result[key] = {"base_weights_changed": _changed(before, base)}
    return result


def trainable_after_compile(k: ModuleType) -> Result:
    """A base frozen after compile() but before the first fit: does the fit change it?"""
    rng = np.random.default_rng(1)
    x, y = _data(rng)
    base, model = _base_and_model(k)
    _compile(model, k)
    base.trainable = False
    before = _weights(base)
    _fit(model, x, y)
    return {"freeze_after_compile_before_fit": {"base_weights_changed": _changed(before, base)}}


def _gan(k: ModuleType) -> tuple[Any, Any, Any]:
    generator = k.Sequential([k.Input((2,)), k.layers.Dense(4)], name="generator")
    discriminator = k.Sequential(
        [k.Input((4,)), k.layers.Dense(1, activation="sigmoid")], name="discriminator"
    )
    discriminator.compile(optimizer=k.optimizers.SGD(0.5), loss="binary_crossentropy")
    discriminator.trainable = False
    combined = k.Sequential([k.Input((2,)), generator, discriminator])
    combined.compile(optimizer=k.optimizers.SGD(0.5), loss="binary_crossentropy")
    return generator, discriminator, combined


def _gan_steps(
    k: ModuleType, generator: Any, discriminator: Any, combined: Any, before_d: Callable, before_g
) -> Result:
    rng = np.random.default_rng(2)
    real = rng.normal(size=(32, 4)).astype("float32")
    labels = np.ones((32, 1), "float32")
    noise = rng.normal(size=(32, 2)).astype("float32")
    d_learns = g_learns = combined_moves_d = False
    messages: list[str] = []
    for _ in range(2):
        before_d()
        d_before = _weights(discriminator)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            discriminator.train_on_batch(real, labels)
        messages += [str(w.message) for w in caught]
        d_learns |= _changed(d_before, discriminator)
        before_g()
        d_before, g_before = _weights(discriminator), _weights(generator)
        combined.train_on_batch(noise, labels)
        combined_moves_d |= _changed(d_before, discriminator)
        g_learns |= _changed(g_before, generator)
    trainable_warning = any("does not have any trainable weights" in m for m in messages)
    return {
        "discriminator_learns": d_learns,
        "generator_learns": g_learns,
        "combined_changes_discriminator": combined_moves_d,
        "no_trainable_weights_warning": trainable_warning,
    }


def gan_idiom(k: ModuleType) -> Result:
    """The Keras 2 GAN idiom (compile D; D.trainable = False; compile G->D; train D alone and
    the combined model), as written and with the two usual repairs."""
    result: Result = {}
    generator, discriminator, combined = _gan(k)
    result["as_written"] = _gan_steps(
        k, generator, discriminator, combined, lambda: None, lambda: None
    )

    generator, discriminator, combined = _gan(k)

    def unfreeze() -> None:
        discriminator.trainable = True

    def freeze() -> None:
        discriminator.trainable = False

    result["toggle_before_each_training"] = _gan_steps(
        k, generator, discriminator, combined, unfreeze, freeze
    )

    generator, discriminator, combined = _gan(k)
    discriminator.trainable = True
    discriminator.compile(optimizer=k.optimizers.SGD(0.5), loss="binary_crossentropy")
    result["unfreeze_and_recompile_discriminator"] = _gan_steps(
        k, generator, discriminator, combined, lambda: None, lambda: None
    )
    return result


def batchnorm_fine_tuning(k: ModuleType) -> Result:
    """A base with BatchNormalization unfrozen for fine-tuning, called with and without
    ``training=False``, or with its BatchNormalization layers frozen on their own: do the
    moving statistics change during fit()? And with the whole base frozen?"""
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(64, 8)) * 5 + 3).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    result: Result = {}
    for case, trainable, training, freeze_batchnorm in (
        ("unfrozen_called_plainly", True, None, False),
        ("unfrozen_called_with_training_false", True, False, False),
        ("unfrozen_batchnorm_layers_frozen", True, None, True),
        ("frozen_called_plainly", False, None, False),
    ):
        inner = k.Input((8,))
        base = k.Model(inner, k.layers.BatchNormalization()(k.layers.Dense(8)(inner)))
        inputs = k.Input((8,))
        features = base(inputs) if training is None else base(inputs, training=training)
        model = k.Model(inputs, k.layers.Dense(1)(features))
        base.trainable = trainable
        batchnorm = base.layers[-1]
        if freeze_batchnorm:
            batchnorm.trainable = False
        _compile(model, k)
        before = [np.array(batchnorm.moving_mean), np.array(batchnorm.moving_variance)]
        _fit(model, x, y)
        after = [np.array(batchnorm.moving_mean), np.array(batchnorm.moving_variance)]
        moved = any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
        result[case] = {"moving_statistics_changed": moved}
    return result


def validation_split(k: ModuleType) -> Result:
    """fit(validation_split=0.25, shuffle=True) on labels ordered by class (75 zeros then 25
    ones), with a model that outputs 0 and a learning rate of 0: the validation loss is the
    mean of the validation labels squared, so 1.0 means the validation rows are the last
    quarter (all ones)."""
    x = np.zeros((100, 1), "float32")
    y = np.concatenate([np.zeros(75), np.ones(25)]).astype("float32")
    model = k.Sequential(
        [k.Input((1,)), k.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")]
    )
    model.compile(optimizer=k.optimizers.SGD(0.0), loss="mse")
    history = model.fit(
        x, y, validation_split=0.25, shuffle=True, epochs=1, batch_size=25, verbose=0
    )
    return {"ordered_labels": {"val_loss": round(float(history.history["val_loss"][0]), 4)}}


def sorted_datasets(k: ModuleType) -> Result:
    """Which scikit-learn toy data sets list their samples sorted by class (no Keras)."""
    try:
        from sklearn import datasets
    except ImportError:
        return {}
    result: Result = {}
    for name in ("load_iris", "load_wine", "load_breast_cancer", "load_digits"):
        target = getattr(datasets, name)().target
        result[name] = {"sorted_by_class": bool(np.all(np.diff(target) >= 0))}
    return {"sklearn_targets": result}


MEASUREMENTS = (
    trainable_after_fit,
    trainable_after_compile,
    gan_idiom,
    batchnorm_fine_tuning,
    validation_split,
    sorted_datasets,
)


def measure(k: ModuleType) -> Result:
    results: Result = {"version": k.__version__}
    for measurement in MEASUREMENTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.update(measurement(k))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tf-keras", action="store_true", help="measure tf_keras (tf.keras 2)")
    args = parser.parse_args(argv)
    if args.tf_keras:
        import tf_keras as k
    else:
        import keras as k
    print(json.dumps(measure(k), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
