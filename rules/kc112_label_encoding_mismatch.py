from collections.abc import Iterator

from kerascheck.ir import (
    DataInfo,
    Finding,
    Known,
    LossSpec,
    ModelSpec,
    OutputSpec,
    RunSpec,
    Span,
)
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads_of


def _made_by(y: DataInfo, default: str) -> str:
    return y.origin or default


def _hint(y: DataInfo, pipeline: str, arrays: str) -> str:
    """How to fix the labels where they are made: a generator's class_mode / label_mode, or
    the arrays' encoding."""
    origin = y.origin or ""
    if "class_mode" in origin or "label_mode" in origin:
        return pipeline
    return arrays


def _problem(loss: LossSpec, y: DataInfo, output: OutputSpec) -> str | None:
    """Why these labels do not fit this loss and output, or None (each case raises or trains
    the wrong objective on Keras 3.15: docs/knowledge.md)."""
    name = loss.name.value if isinstance(loss.name, Known) else None
    encoding = y.encoding.value if isinstance(y.encoding, Known) else None
    classes = y.num_classes.value if isinstance(y.num_classes, Known) else None
    units = output.units.value if isinstance(output.units, Known) else None
    if name == "sparse_categorical_crossentropy" and encoding == "onehot":
        fix = _hint(
            y,
            "class_mode='sparse' (flow_from_directory) or label_mode='int'",
            "drop to_categorical",
        )
        return (
            f"labels are one-hot ({_made_by(y, 'to_categorical')}) but "
            "sparse_categorical_crossentropy expects integer class ids; use "
            f"loss='categorical_crossentropy' or {fix}"
        )
    # Labels whose shape is known to be one id per sample: a generator's or a data set's.
    one_per_sample = y.pipeline is not None or isinstance(y.dataset, Known)
    if (
        name == "categorical_crossentropy"
        and encoding == "integer"
        and ((classes or 0) > 2 or ((units or 0) > 1 and one_per_sample))
    ):
        fix = _hint(
            y,
            "class_mode='categorical' / label_mode='categorical'",
            "keras.utils.to_categorical(y)",
        )
        return (
            f"labels are integer class ids{_of(y)} but categorical_crossentropy expects one-hot "
            f"labels; use loss='sparse_categorical_crossentropy' or {fix}"
        )
    if (
        name == "categorical_crossentropy"
        and encoding == "binary"
        and (units or 0) > 1
        and y.pipeline is not None
    ):
        return (
            f"labels are 0/1 class ids{_of(y)} but categorical_crossentropy on a {units}-unit "
            "output expects one-hot rows; use loss='sparse_categorical_crossentropy', or "
            "Dense(1, activation='sigmoid') with binary_crossentropy"
        )
    single_label = classes is None or classes > 1
    if name == "binary_crossentropy" and encoding == "onehot" and units == 1 and single_label:
        fix = _hint(y, "class_mode='binary' / label_mode='binary'", "drop to_categorical")
        return (
            f"labels are one-hot ({_made_by(y, 'to_categorical')}) but the output has one "
            f"unit: binary_crossentropy expects one 0/1 label per sample; use {fix}, or "
            "a softmax output over the classes with categorical_crossentropy"
        )
    if name == "binary_crossentropy" and encoding == "plus_minus_one":
        return (
            "labels are -1/+1 but binary_crossentropy expects 0/1 labels; map them with "
            "(y + 1) / 2 (or np.where(..., 0, 1))"
        )
    if units is not None and classes is not None and units > 1:
        if name == "categorical_crossentropy" and encoding == "onehot" and units != classes:
            return (
                f"labels are one-hot over {classes} classes but the output has {units} units; "
                f"use Dense({classes}, ...) for the output layer"
            )
        if name == "sparse_categorical_crossentropy" and encoding == "integer" and units < classes:
            return (
                f"labels take {classes} class ids but the output has only {units} units; "
                f"use Dense({classes}, ...) for the output layer"
            )
    return None


def _of(y: DataInfo) -> str:
    return f" ({y.origin})" if y.origin else ""


def _agreed(model: ModelSpec, fit: RunSpec, y: DataInfo) -> str | None:
    """The problem of these labels under every compile that may be in effect, if it is the
    same for all of them."""
    problems = set()
    for compile_spec in fit.compiles:
        if compile_spec is None or len(model.outputs) != 1:
            return None
        (head,) = heads_of(model, compile_spec)
        problem = _problem(head.loss, y, head.output) if head.loss is not None else None
        if problem is None:
            return None
        problems.add(problem)
    return problems.pop() if len(problems) == 1 else None


def _labels_span(fit: RunSpec) -> Span:
    arg = fit.call.argument("y", 1)
    if arg is not None:
        return arg.span
    # Labels a generator or dataset yields: where it is given.
    return fit.y.span if fit.y.pipeline is not None and fit.y.span is not None else fit.span


class LabelEncodingMismatch(Rule):
    """Flags labels passed to `fit()` whose encoding does not match the loss or the output.

    Labels are followed from where they are made: `to_categorical(y, n)`, `np.eye(n)[y]`,
    `tf.one_hot(y, n)`, `keras.ops.one_hot`, `pd.get_dummies`, `OneHotEncoder` and
    `LabelBinarizer` (one-hot; LabelBinarizer's single 0/1 column for two classes),
    `keras.datasets` loaders and `LabelEncoder` (integer ids; mnist / fashion_mnist /
    cifar10: 10, cifar100: 100, reuters: 46), `np.where(c, -1, 1)` and `y * 2 - 1` (-1/+1),
    through assignments, tuple unpacking and `train_test_split`, into `fit(x, y)` and
    `validation_data=(x, y)`. A generator or dataset gives `fit()` its labels itself:
    `flow_from_directory` / `flow_from_dataframe` by `class_mode` (default `'categorical'`:
    one-hot; `'binary'`, `'sparse'`: ids), `image_dataset_from_directory` /
    `text_dataset_from_directory` by `label_mode` (default `'int'`: ids; `'categorical'`:
    one-hot; `'binary'`: 0/1), `tf.data.Dataset.from_tensor_slices((x, y))` through `map`,
    `batch`, `shuffle`, `prefetch`, `cache`, `take`... (measured on Keras 3.15: each mismatch
    below raises at `fit()`, or trains on the wrong objective).
    """

    code = "KC112"
    relevant_names = frozenset()
    experiment = "label-encoding"
    name = "label-encoding-mismatch"
    summary = "Labels given to fit() do not match the loss or the number of output units."
    why = """
        Sparse categorical cross-entropy wants integer ids and categorical cross-entropy
        one-hot rows; binary cross-entropy wants 0/1. -1/+1 labels train without a word but
        optimise the wrong objective, and an output with fewer units than classes either
        fails late or learns nonsense.
    """
    example = """
        y_train = to_categorical(y_train, 10)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        model.fit(x_train, y_train)
    """
    use_instead = """
        y_train = to_categorical(y_train, 10)
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        model.fit(x_train, y_train)
    """
    limitations = """
        Labels read from files or built by user code carry no encoding information; the
        rule is silent for them. A `keras.utils.Sequence` subclass, a Python generator and a
        dataset `map` with a function it cannot follow yield labels it does not know.
    """
    invalid = (
        Invalid(
            """
            # flow_from_directory's default class_mode is 'categorical': one-hot labels.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train", target_size=(64, 64))
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train, epochs=3)
            """,
            line=7,
            col=11,
        ),
        Invalid(
            """
            # image_dataset_from_directory's default label_mode is 'int': class ids.
            import keras
            train_ds = keras.utils.image_dataset_from_directory("flowers", image_size=(180, 180))
            model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train_ds, epochs=10)
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            gen = ImageDataGenerator(rescale=1 / 255)
            train = gen.flow_from_directory("cats_dogs/train", class_mode="binary")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, epochs=3)
            """,
            line=7,
        ),
        Invalid(
            """
            # A 1-unit sigmoid with the one-hot default of flow_from_directory.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("cats_dogs/train")
            val = ImageDataGenerator(rescale=1 / 255).flow_from_directory("cats_dogs/val")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(train, validation_data=val, epochs=3)
            """,
            line=8,
        ),
        Invalid(
            """
            # The labels of a tf.data pipeline are followed through shuffle/batch/prefetch.
            import keras
            import tensorflow as tf
            (x, y), _ = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            ds = tf.data.Dataset.from_tensor_slices((x / 255, y)).shuffle(1000).batch(32).prefetch(2)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(ds, epochs=2)
            """,
            line=9,
        ),
        Invalid(
            """
            import pandas as pd
            import keras
            y = pd.get_dummies(frame["species"])
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(features, y)
            """,
            line=6,
        ),
        Invalid(
            """
            import tensorflow as tf
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            y = tf.one_hot(y.squeeze(), 10)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=7,
        ),
        Invalid(
            """
            # OneHotEncoder keeps the 10 classes of cifar10's ids.
            import keras
            from sklearn.preprocessing import OneHotEncoder
            (x, y), _ = keras.datasets.cifar10.load_data()
            y = OneHotEncoder().fit_transform(y).toarray()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=8,
        ),
        Invalid(
            """
            # validation_data may be a generator: its labels are checked too.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            gen = ImageDataGenerator(rescale=1 / 255)
            train = gen.flow_from_directory("data/train", class_mode="sparse")
            val = gen.flow_from_directory("data/val")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val)
            """,
            line=9,
            col=34,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, y, epochs=1)
            """,
            line=6,
        ),
        Invalid(
            """
            import numpy as np
            from keras.models import Sequential
            from keras.layers import Dense
            r = np.where(labels == 0, -1, 1)
            model = Sequential([Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(C, r)
            """,
            line=7,
        ),
        Invalid(
            """
            from tensorflow import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar100.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.imdb.load_data(num_words=10000)
            y = y * 2 - 1
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            (x, y), (x_val, y_val) = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x, y, validation_data=(x_val, y_val))
            """,
            line=6,
            col=41,
        ),
        Invalid(
            """
            # A range of rows keeps every fact of the loader's labels.
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            x_small, y_small = x[:5000], y[:5000]
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_small, y_small)
            """,
            line=7,
        ),
        Invalid(
            """
            # One-hot rows selected by a mask keep their columns: still 10 classes.
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            subset = x.mean(axis=(1, 2)) > 10
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x[subset], y[subset])
            """,
            line=8,
        ),
    )
    valid = (
        Valid(
            """
            # class_mode='sparse' gives ids: sparse categorical cross-entropy is right.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train", class_mode="sparse")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train, epochs=3)
            """
        ),
        Valid(
            """
            import keras
            train_ds = keras.utils.image_dataset_from_directory("flowers", image_size=(180, 180))
            model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train_ds, epochs=10)
            """
        ),
        Valid(
            """
            import keras
            train_ds = keras.utils.image_dataset_from_directory("flowers", label_mode="categorical")
            model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train_ds, epochs=10)
            """
        ),
        Valid(
            """
            # class_mode='binary' with a 1-unit sigmoid and binary cross-entropy.
            import keras
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("cats_dogs/train", class_mode="binary")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, epochs=3)
            """
        ),
        Valid(
            """
            # A map the engine cannot follow may re-encode the labels.
            import keras
            import tensorflow as tf
            from helpers import encode
            (x, y), _ = keras.datasets.mnist.load_data()
            ds = tf.data.Dataset.from_tensor_slices((x, y)).map(encode).batch(32)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(ds)
            """
        ),
        Valid(
            """
            # A map that one-hot encodes: followed.
            import keras
            import tensorflow as tf
            (x, y), _ = keras.datasets.mnist.load_data()
            ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a / 255, tf.one_hot(b, 10)))
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(ds.batch(64))
            """
        ),
        Valid(
            """
            # LabelBinarizer on two classes gives one 0/1 column: right for a sigmoid.
            import keras
            from sklearn.preprocessing import LabelBinarizer
            (x, y), _ = keras.datasets.imdb.load_data(num_words=5000)
            y = LabelBinarizer().fit_transform(y)
            model = keras.Sequential([keras.layers.Embedding(5000, 8), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(keras.utils.pad_sequences(x), y)
            """
        ),
        Valid(
            """
            # A Sequence subclass: its labels are unknown.
            import keras
            class Batches(keras.utils.Sequence):
                def __getitem__(self, i):
                    return load_batch(i)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(Batches())
            """
        ),
        Valid(
            """
            # A boolean-mask subset keeps integer ids but not the class count: two classes.
            import keras
            (x, y), _ = keras.datasets.fashion_mnist.load_data()
            keep = y < 2
            x, y = x[keep], y[keep]
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Labels remapped in place: the loader's class count no longer holds.
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            y[y > 1] = 1
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # A user function returns a transformed copy: nothing is known of it.
            import keras
            def to_binary(labels):
                return labels % 2
            (x, y), _ = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, to_binary(y))
            """
        ),
        Valid(
            """
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y)
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import numpy as np
            import keras
            r = np.where(labels == 0, 0, 1)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(C, r)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if len(model.outputs) != 1:
            return
        # Each training is judged against the compile in effect at that point; where paths
        # disagree on it, only a fault that every one of them has is reported.
        for fit in model.fits:
            labels = _agreed(model, fit, fit.y)
            if labels is not None:
                yield self.finding(_labels_span(fit), labels)
                continue
            validation = _agreed(model, fit, fit.validation_y)
            if validation is not None and fit.validation_y.span is not None:
                yield self.finding(fit.validation_y.span, f"validation {validation}")
