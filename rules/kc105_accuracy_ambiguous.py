from collections.abc import Iterator

from kerascheck.ir import CompileSpec, Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads, labels_under


def _multi_label(model: ModelSpec, compile_spec: CompileSpec) -> bool:
    """The code shows multi-label targets (several ones per row) under this compile."""
    return any(y.encoding == Known("multihot") for y in labels_under(model, compile_spec))


class AccuracyAmbiguous(Rule):
    """Flags `'accuracy'` where Keras resolves it to a metric that does not measure the task.

    Version-aware (see `--target-keras`): standalone Keras <= 2.3 picks the accuracy from the
    loss, so `binary_crossentropy` on a multi-class softmax reports `binary_accuracy`
    (inflated). tf.keras and Keras 3 pick it from the output shape, so a multi-unit sigmoid
    output reports `CategoricalAccuracy`: wrong for multi-label targets (several ones per
    row), exactly right for one-hot single-label targets. So under tf.keras and Keras 3 the
    rule needs evidence of multi-label targets in the code (`MultiLabelBinarizer`,
    `make_multilabel_classification`) at a training or evaluation under that compile.
    """

    code = "KC105"
    relevant_names = frozenset()
    experiment = "reported-vs-true-accuracy"
    name = "accuracy-ambiguous"
    severity = "warning"
    summary = "'accuracy' resolves to a metric that does not fit the output."
    why = """
        The string 'accuracy' is not one metric: Keras chooses one for you. On MNIST,
        softmax(10) + binary_crossentropy + 'accuracy' reported 99.8 % under Keras 2 while
        the real categorical accuracy was 98.99 %; in Keras 3, a multi-label sigmoid output
        reports categorical accuracy (7 % measured) while the element-wise accuracy is 52 %.
    """
    example = """
        model.add(Dense(10, activation="sigmoid"))  # multi-label
        model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    """
    use_instead = """
        model.compile(loss="binary_crossentropy", metrics=[keras.metrics.BinaryAccuracy()])
    """
    limitations = """
        Multi-label targets built by hand (a loop setting several ones per row, a file of
        tags) carry no evidence the engine can see: the rule is then silent under tf.keras
        and Keras 3. With categorical_crossentropy on a multi-unit sigmoid the fault is the
        loss (KC109), reported there.
    """
    invalid = (
        Invalid(
            """
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            y = MultiLabelBinarizer().fit_transform(tags)
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """,
            line=5,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential()
            model.add(Dense(10, init="glorot_uniform", activation="softmax"))
            model.compile(loss="binary_crossentropy", optimizer="adamax", metrics=["accuracy"])
            """,
            line=5,
            flavour="legacy",
        ),
        Invalid(
            """
            import tensorflow as tf
            from sklearn.datasets import make_multilabel_classification
            inp = tf.keras.Input((32,))
            out = tf.keras.layers.Dense(5, activation="sigmoid")(inp)
            model = tf.keras.Model(inp, out)
            model.compile(loss="binary_crossentropy",
                          metrics=["acc"])
            x, y = make_multilabel_classification(n_classes=5)
            model.fit(x, y)
            """,
            line=7,
        ),
        Invalid(
            """
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            mlb = MultiLabelBinarizer()
            y_train = mlb.fit_transform(train_tags)
            y_test = mlb.transform(test_tags)
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(20, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.evaluate(x_test, y_test)
            """,
            line=7,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(4, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["acc"])
            """,
            line=4,
            flavour="legacy",
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """,
            flavour="keras3",
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", metrics=["binary_accuracy"])
            """
        ),
        Valid(
            """
            # One-hot single-label targets: CategoricalAccuracy is exactly right.
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            y = keras.utils.to_categorical(y, 10)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Nothing shows the targets are multi-label.
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # np.eye(n)[y]: one-hot rows.
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, np.eye(3)[labels])
            """,
            flavour="tf2",
        ),
        Valid(
            """
            # categorical_crossentropy on a multi-unit sigmoid: KC109's finding, not this one.
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            y = MultiLabelBinarizer().fit_transform(tags)
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            output, loss = head.output, head.loss
            units = output.units
            if not isinstance(units, Known) or units.value < 2:
                continue
            for metric in head.metrics:
                if metric.name != Known("accuracy"):
                    continue
                if ctx.flavour == "legacy":
                    if (
                        output.activation == Known("softmax")
                        and units.value > 2
                        and loss is not None
                        and loss.name == Known("binary_crossentropy")
                    ):
                        yield self.finding(
                            metric.span,
                            "with binary_crossentropy, Keras <= 2.3 turns "
                            f"'{metric.written}' into binary_accuracy, which is inflated for a "
                            f"{units.value}-class softmax; use metrics=['categorical_accuracy'] "
                            "(and loss='categorical_crossentropy')",
                        )
                elif (
                    output.activation == Known("sigmoid")
                    and head.compile is not None
                    and loss is not None
                    and loss.name != Known("categorical_crossentropy")
                    and _multi_label(model, head.compile)
                ):
                    yield self.finding(
                        metric.span,
                        f"on a {units.value}-unit sigmoid (multi-label) output Keras resolves "
                        f"'{metric.written}' to CategoricalAccuracy, which does not measure "
                        "per-label accuracy; use metrics=[keras.metrics.BinaryAccuracy()]",
                    )
