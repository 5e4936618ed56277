from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class MulticlassSigmoidCategoricalLoss(Rule):
    """Flags categorical cross-entropy on a multi-unit sigmoid output."""

    code = "KC109"
    relevant_names = frozenset()
    experiment = "softmax-output"
    name = "multiclass-sigmoid-categorical-loss"
    summary = "Multi-unit sigmoid output trained with categorical_crossentropy."
    why = """
        Categorical cross-entropy assumes the outputs form one distribution that sums to 1.
        Independent sigmoids do not: the loss only pushes the true class up and never pushes
        the others down, so every unit drifts towards 1 and predictions are not
        probabilities (rows do not sum to 1).
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
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            units, loss = head.output.units, head.loss
            if head.output.activation != Known("sigmoid") or loss is None:
                continue
            multiclass = isinstance(units, Known) and units.value > 1
            if multiclass and loss.name == Known("categorical_crossentropy"):
                yield self.finding(
                    loss.span,
                    f"categorical_crossentropy on a {units.value}-unit sigmoid output: the "  # type: ignore[union-attr]
                    "units are not one distribution; use softmax for one label per sample, "
                    "or binary_crossentropy for multi-label targets",
                )
