from collections.abc import Iterator

from kerascheck.ir import Edit, Finding, Fix, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class SoftmaxRegression(Rule):
    """Flags a softmax output trained with a regression loss (mse, mae, poisson, huber...)."""

    code = "KC102"
    relevant_names = frozenset()
    name = "softmax-regression"
    summary = "Softmax output trained with a regression loss."
    why = """
        Softmax forces the outputs to be positive and to sum to 1, so a regression target
        (several continuous values, a count, a price) can never be reached: the loss
        plateaus and predictions are squashed towards 1/n. Softmax is for a probability
        distribution over classes, trained with a cross-entropy.
    """
    example = """
        outputs = Dense(n, activation="softmax")(hidden)
        model.compile(loss="poisson", optimizer="adam")
    """
    use_instead = """
        outputs = Dense(n, activation="linear")(hidden)  # or softplus/exponential for counts
        model.compile(loss="poisson", optimizer="adam")
    """
    fix_safety = """
        Unsafe fix (it changes the model): the string 'softmax' becomes 'linear'. No fix
        when the softmax is not a string literal (a `Softmax()` layer, `tf.nn.softmax`).
    """
    invalid = (
        Invalid(
            """
            from tensorflow.keras.layers import Input, Dense
            from tensorflow.keras.models import Model
            inputs = Input(shape=(8,))
            hidden = Dense(100, activation="sigmoid")(inputs)
            outputs = Dense(10, activation="softmax")(hidden)
            model = Model(inputs=inputs, outputs=outputs)
            model.compile(optimizer="adam", loss="poisson")
            """,
            line=5,
            fixed="""
            from tensorflow.keras.layers import Input, Dense
            from tensorflow.keras.models import Model
            inputs = Input(shape=(8,))
            hidden = Dense(100, activation="sigmoid")(inputs)
            outputs = Dense(10, activation="linear")(hidden)
            model = Model(inputs=inputs, outputs=outputs)
            model.compile(optimizer="adam", loss="poisson")
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
            """,
            line=2,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="linear")])
            model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
            """,
        ),
        Invalid(
            """
            from keras import layers, models
            LOSS = "mae"
            model = models.Sequential()
            model.add(layers.Dense(4))
            model.add(layers.Softmax())
            model.compile("adam", LOSS)
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="categorical_crossentropy")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="kld")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        regression = load().regression_losses
        for head in heads(model, ctx.flavour):
            if head.output.activation != Known("softmax") or head.loss is None:
                continue
            name = head.loss.name
            if isinstance(name, Known) and name.value in regression:
                yield self.finding(
                    head.output.activation_span,
                    f"softmax output trained with the regression loss '{head.loss.written}': "
                    "softmax outputs sum to 1 and cannot fit continuous targets; use a linear "
                    "output (activation=None) for regression",
                    fix=Fix(
                        "Use a linear output",
                        (Edit(head.output.activation_span, "linear", "string"),),
                        safe=False,
                    ),
                )
