from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class AccuracyAmbiguous(Rule):
    """Flags `'accuracy'` where Keras resolves it to a metric that does not measure the task.

    Version-aware (see `--target-keras`): standalone Keras <= 2.3 picks the accuracy from the
    loss, so `binary_crossentropy` on a multi-class softmax reports `binary_accuracy`
    (inflated). tf.keras and Keras 3 pick it from the output shape, so a multi-unit sigmoid
    (multi-label) output reports `CategoricalAccuracy`.
    """

    code = "KC105"
    relevant_names = frozenset()
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
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """,
            line=3,
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
            inp = tf.keras.Input((32,))
            out = tf.keras.layers.Dense(5, activation="sigmoid")(inp)
            model = tf.keras.Model(inp, out)
            model.compile(loss="binary_crossentropy",
                          metrics=["acc"])
            """,
            line=6,
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
                elif output.activation == Known("sigmoid"):
                    yield self.finding(
                        metric.span,
                        f"on a {units.value}-unit sigmoid (multi-label) output Keras resolves "
                        f"'{metric.written}' to CategoricalAccuracy, which does not measure "
                        "per-label accuracy; use metrics=[keras.metrics.BinaryAccuracy()]",
                    )
