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


def _problem(loss: LossSpec, y: DataInfo, output: OutputSpec) -> str | None:
    """Why these labels do not fit this loss and output, or None."""
    name = loss.name.value if isinstance(loss.name, Known) else None
    encoding = y.encoding.value if isinstance(y.encoding, Known) else None
    classes = y.num_classes.value if isinstance(y.num_classes, Known) else None
    units = output.units.value if isinstance(output.units, Known) else None
    if name == "sparse_categorical_crossentropy" and encoding == "onehot":
        return (
            "labels are one-hot (to_categorical) but sparse_categorical_crossentropy expects "
            "integer class ids; use loss='categorical_crossentropy' or drop to_categorical"
        )
    if name == "categorical_crossentropy" and encoding == "integer" and (classes or 0) > 2:
        return (
            "labels are integer class ids but categorical_crossentropy expects one-hot labels; "
            "use loss='sparse_categorical_crossentropy' or keras.utils.to_categorical(y)"
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
    return arg.span if arg is not None else fit.span


class LabelEncodingMismatch(Rule):
    """Flags labels passed to `fit()` whose encoding does not match the loss or the output.

    Labels are followed from where they are made: `to_categorical(y, n)` (one-hot, n
    classes), `keras.datasets` loaders (integer ids; mnist / fashion_mnist / cifar10: 10,
    cifar100: 100, reuters: 46), `np.where(c, -1, 1)` and `y * 2 - 1` (-1/+1), through
    assignments, tuple
    unpacking and `train_test_split`, into `fit(x, y)` and `validation_data=(x, y)`.
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
        rule is silent for them.
    """
    invalid = (
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
