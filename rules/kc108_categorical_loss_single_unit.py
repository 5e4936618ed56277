from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class CategoricalLossSingleUnit(Rule):
    """Flags categorical or sparse categorical cross-entropy on a 1-unit output."""

    code = "KC108"
    relevant_names = frozenset()
    experiment = "single-unit-loss"
    name = "categorical-loss-single-unit"
    summary = "Categorical cross-entropy on a 1-unit output."
    why = """
        Categorical cross-entropy compares a distribution over classes. With one unit the
        distribution has a single class: categorical_crossentropy is exactly 0.0 for every
        sample (nothing is learned), and the sparse variant fails at fit time with a shape
        error.
    """
    example = """
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    """
    use_instead = """
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """,
            line=3,
        ),
        Invalid(
            """
            from tensorflow.keras import layers, models, losses
            model = models.Sequential([layers.Dense(1)])
            model.compile(optimizer="adam",
                          loss=losses.SparseCategoricalCrossentropy(from_logits=True))
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            UNITS = 2 - 1
            inp = keras.Input((4,))
            out = keras.layers.Dense(UNITS, activation="softmax")(inp)
            model = keras.Model(inp, out)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((8,))
            real = keras.layers.Dense(1, activation="sigmoid", name="real")(inputs)
            digit = keras.layers.Dense(10, activation="softmax", name="digit")(inputs)
            model = keras.Model(inputs, [real, digit])
            model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "sparse_categorical_crossentropy"])
            """,
            line=6,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(n_classes, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            """
        ),
        Valid(
            """
            # Each head its own loss: binary for the 1-unit head, categorical for the 10-unit one.
            import keras
            inputs = keras.Input((8,))
            real = keras.layers.Dense(1, activation="sigmoid", name="real")(inputs)
            digit = keras.layers.Dense(10, activation="softmax", name="digit")(inputs)
            model = keras.Model(inputs, [real, digit])
            model.compile(optimizer="adam", loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
            """
        ),
        Valid(
            """
            # A dict of outputs is keyed and ordered by its keys: "a" is the 10-unit head.
            import keras
            inputs = keras.Input((8,))
            digit = keras.layers.Dense(10, activation="softmax")(inputs)
            real = keras.layers.Dense(1, activation="sigmoid")(inputs)
            model = keras.Model(inputs, {"b": real, "a": digit})
            model.compile(optimizer="adam", loss=["categorical_crossentropy", "binary_crossentropy"])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        categorical = load().categorical_losses
        for head in heads(model, ctx.flavour):
            loss = head.loss
            if loss is None or head.output.units != Known(1):
                continue
            if isinstance(loss.name, Known) and loss.name.value in categorical:
                yield self.finding(
                    loss.span,
                    f"'{loss.written}' on a 1-unit output: the loss is constant (or fails at "
                    "fit time); use binary_crossentropy with a sigmoid output, or one unit "
                    "per class",
                )
