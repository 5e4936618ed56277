"""Worker side of the data experiments: an Embedding lookup, Keras's validation split, the
order a shuffling pipeline serves predictions in. Only synthetic arrays (and images this
module writes to a temporary directory of its own) are used; each function returns the
(name, value) pairs the probe reports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from kerascheck.dynamic.jobs import (
    BatchNormProbe,
    LookupProbe,
    OrderProbe,
    ResplitProbe,
    SplitProbe,
    TrainableProbe,
)

_BATCH = 8
_SIDE = 4  # images of 4 x 4 pixels
_STEP = 40  # class k's pixels are k * 40: a mean pixel decodes the class exactly


def lookup(probe: LookupProbe) -> tuple[tuple[str, Any], ...]:
    """Every id below ``probe.ids`` looked up in one batch (raises where Keras raises)."""
    import keras

    layer = keras.layers.Embedding(probe.rows, 4)
    found = layer(np.arange(probe.ids, dtype="int32").reshape(1, -1))
    zero_rows = int(np.sum(np.all(np.asarray(found)[0] == 0, axis=-1)))
    return (("zero_rows", zero_rows),)


def split(probe: SplitProbe) -> tuple[tuple[str, Any], ...]:
    """The classes of the training and validation parts, as fit() splits the arrays."""
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    y = np.concatenate([np.full(count, k) for k, count in enumerate(probe.counts)])
    x = np.arange(len(y), dtype="float32").reshape(-1, 1)
    (_, train_y), (_, validation_y) = train_validation_split((x, y), probe.split)
    train_y, validation_y = np.asarray(train_y), np.asarray(validation_y)
    return (
        ("train_classes", tuple(int(c) for c in np.unique(train_y))),
        ("validation_classes", tuple(int(c) for c in np.unique(validation_y))),
        ("validation_rows", len(validation_y)),
        ("train_rows", len(train_y)),
    )


def order(probe: OrderProbe) -> tuple[tuple[str, Any], ...]:
    """The share of predict()'s outputs that match the labels they are compared with, for
    a model that predicts every sample's class exactly."""
    import keras

    keras.utils.set_random_seed(0)
    classes = np.arange(probe.samples) % probe.classes
    with tempfile.TemporaryDirectory() as folder:
        data, files = _pipeline(probe, classes, Path(folder))
        perfect = keras.Sequential(
            [keras.Input((_SIDE, _SIDE, 3)), keras.layers.GlobalAveragePooling2D()]
        )
        outputs = np.asarray(perfect.predict(data, verbose=0))
        predicted = np.rint(outputs[:, 0] / _STEP).astype(int)
        if probe.against == "files":
            labels = files
        else:  # labels collected in another pass, as `np.concatenate([y for _, y in ds])`
            labels = np.concatenate([np.asarray(y) for _, y in _passes(data)])
    agreement = float(np.mean(predicted == labels.astype(int)))
    return (("agreement", agreement), ("chance", 1 / probe.classes))


def _images(classes: np.ndarray) -> np.ndarray:
    return np.broadcast_to(
        (classes * _STEP).astype("float32")[:, None, None, None],
        (len(classes), _SIDE, _SIDE, 3),
    ).copy()


def _pipeline(probe: OrderProbe, classes: np.ndarray, folder: Path) -> tuple[Any, np.ndarray]:
    """The pipeline, and its labels in file order (what ``.classes`` holds)."""
    import keras
    import tensorflow as tf

    if probe.kind == "iterator":
        # flow() and flow_from_directory() share keras's Iterator, which orders the batches
        # (a permutation per pass when shuffling); flow() needs no image files.
        from keras.src.legacy.preprocessing.image import ImageDataGenerator

        generator = ImageDataGenerator()
        data = generator.flow(_images(classes), classes, batch_size=_BATCH, shuffle=probe.shuffle)
        return data, classes
    if probe.kind == "directory_dataset":
        for index, k in enumerate(classes):
            where = folder / f"class_{k}"
            where.mkdir(exist_ok=True)
            png = tf.io.encode_png(tf.constant(_images(np.array([k]))[0].astype("uint8")))
            (where / f"{index:03d}.png").write_bytes(png.numpy())
        data = keras.utils.image_dataset_from_directory(
            str(folder),
            image_size=(_SIDE, _SIDE),
            batch_size=_BATCH,
            shuffle=probe.shuffle,
            seed=None,
            verbose=False,
        )
        return data, np.sort(classes)
    dataset = tf.data.Dataset.from_tensor_slices((_images(classes), classes))
    if probe.shuffle:
        dataset = dataset.shuffle(len(classes))
    return dataset.batch(_BATCH), classes


def _passes(data: Any) -> Any:
    if hasattr(data, "on_epoch_end"):  # a keras Iterator: one pass is len(data) batches
        data.on_epoch_end()
        return (data[i] for i in range(len(data)))
    return iter(data)


def resplit(probe: ResplitProbe) -> tuple[tuple[str, Any], ...]:
    """The held-out ids of a second pass that the first pass trained on."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    shuffled = tf.data.Dataset.range(probe.samples).shuffle(probe.samples)
    train, held = shuffled.take(probe.taken), shuffled.skip(probe.taken)
    first = {int(i) for i in train}
    second = [int(i) for i in held]
    return (
        ("shared", sum(i in first for i in second)),
        ("held", len(second)),
        ("samples", probe.samples),
        ("taken", probe.taken),
    )


def trainable(probe: TrainableProbe) -> tuple[tuple[str, Any], ...]:
    """Whether the target's weights changed in the last training."""
    import keras

    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(4)], name="base"
    )
    model = keras.Sequential([keras.Input((4,)), base, keras.layers.Dense(1)])

    def flag(value: bool) -> None:
        if probe.target == "model":
            model.trainable = value
        elif probe.target == "base":
            base.trainable = value
        else:
            for layer in base.layers:
                layer.trainable = value

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")
    flag(probe.at_compile)
    model.compile(optimizer="adam", loss="mse")
    if probe.first is not None:
        flag(probe.first)
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    flag(probe.now)
    watched = model.weights if probe.target == "model" else base.weights
    before = [np.array(w.numpy()) for w in watched]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    moved = max(float(np.max(np.abs(w.numpy() - b))) for w, b in zip(watched, before, strict=True))
    return (("moved", moved),)


def batch_norm(probe: BatchNormProbe) -> tuple[tuple[str, Any], ...]:
    """How far the stand-in backbone's moving mean moved in one epoch of fit()."""
    import keras

    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), keras.layers.BatchNormalization()],
        name="base",
    )
    inputs = keras.Input((4,))
    features = base(inputs) if probe.training is None else base(inputs, training=probe.training)
    model = keras.Model(inputs, keras.layers.Dense(1)(features))
    base.trainable = True
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = (3 + 2 * rng.standard_normal((64, 4))).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")
    norm = base.layers[-1]
    before = np.array(norm.moving_mean.numpy())
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return (("moved", float(np.max(np.abs(norm.moving_mean.numpy() - before)))),)
