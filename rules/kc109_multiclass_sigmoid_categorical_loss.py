from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads

# Losses that read the output as one distribution over the classes.
_CATEGORICAL = frozenset({"categorical_crossentropy", "sparse_categorical_crossentropy"})


class MulticlassSigmoidCategoricalLoss(Rule):
    """Flags categorical or sparse categorical cross-entropy on a multi-unit sigmoid output
    (the sigmoid written on the layer, as a following `Activation('sigmoid')`, or applied
    to the output tensor)."""

    code = "KC109"
    relevant_names = frozenset()
    experiment = "softmax-output"
    name = "multiclass-sigmoid-categorical-loss"
    summary = "Multi-unit sigmoid output trained with (sparse) categorical_crossentropy."
    why = """
        Keras's categorical cross-entropy (sparse or not) normalises the outputs over the
        classes before taking the log, so a sigmoid output trains like a softmax; but
        `predict()` returns the independent sigmoid scores, which do not sum to 1
        (measured, Keras 3.15: rows summing to 1.02-4.2 after training), so they are not
        the class probabilities the loss was trained on.
    """
    example = """
        model.add(Dense(10, activation="sigmoid"))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    """
    use_instead = """
        model.add(Dense(10, activation="softmax"))  # one label per sample
        # or, for multi-label targets:
        model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    fix_safety = "Unsafe fix (changes the model): sigmoid -> softmax."
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """,
            line=3,
        ),
        Invalid(
            """
            from tensorflow.keras import layers, losses, Model, Input
            i = Input((16,))
            o = layers.Dense(4, activation="sigmoid")(i)
            m = Model(i, o)
            m.compile("adam", losses.CategoricalCrossentropy())
            """,
            line=5,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense, Activation
            N = 3
            model = Sequential([Dense(N), Activation("sigmoid")])
            model.compile(optimizer="sgd", loss="categorical_crossentropy")
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(5), keras.layers.Activation("sigmoid")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((8,))
            hidden = keras.layers.Dense(16, activation="relu")(inputs)
            kind = keras.layers.Dense(4, activation="sigmoid", name="kind")(hidden)
            size = keras.layers.Dense(1, name="size")(hidden)
            model = keras.Model(inputs, [kind, size])
            model.compile(
                optimizer="adam",
                loss={"size": "mse", "kind": keras.losses.SparseCategoricalCrossentropy()},
            )
            """,
            line=9,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            # The sigmoid head is trained with binary cross-entropy, the softmax head with
            # the categorical one: each output has its own loss.
            import keras
            inputs = keras.Input((8,))
            tags = keras.layers.Dense(6, activation="sigmoid", name="tags")(inputs)
            kind = keras.layers.Dense(4, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [tags, kind])
            model.compile(optimizer="adam", loss={"kind": "categorical_crossentropy", "tags": "binary_crossentropy"})
            """
        ),
        Valid(
            """
            # A softmax applied after the sigmoid layer: the output is a softmax (KC113's).
            import keras
            model = keras.Sequential([keras.layers.Dense(5, activation="sigmoid"), keras.layers.Softmax()])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            units, loss = head.output.units, head.loss
            if head.output.activation != Known("sigmoid") or loss is None:
                continue
            multiclass = isinstance(units, Known) and units.value > 1
            if multiclass and isinstance(loss.name, Known) and loss.name.value in _CATEGORICAL:
                yield self.finding(
                    loss.span,
                    f"{loss.name.value} on a {units.value}-unit sigmoid output: the loss "  # type: ignore[union-attr]
                    "normalises the outputs, so the model trains like a softmax, but "
                    "predict() returns sigmoid scores that do not sum to 1; use softmax for "
                    "one label per sample, or binary_crossentropy for multi-label targets",
                )
