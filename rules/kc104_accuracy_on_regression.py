from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class AccuracyOnRegression(Rule):
    """Flags `metrics=['accuracy']` (or `'acc'`) on an output trained with a regression loss."""

    code = "KC104"
    relevant_names = frozenset()
    name = "accuracy-on-regression"
    severity = "warning"
    summary = "'accuracy' reported for a regression loss is meaningless."
    why = """
        Accuracy counts exact class matches. For a regression target Keras silently turns
        `'accuracy'` into BinaryAccuracy or CategoricalAccuracy depending on the output
        shape, and reports a number that has nothing to do with how close the predictions
        are: a model can show 50 % "accuracy" while its predictions are far off.
    """
    example = """
        model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
    """
    use_instead = """
        model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam",
                          metrics=["accuracy"])
            """,
            line=4,
        ),
        Invalid(
            """
            from tensorflow import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=keras.losses.Huber(), optimizer="adam", metrics=["mae", "acc"])
            """,
            line=3,
        ),
        Invalid(
            """
            from keras.models import Model
            from keras.layers import Input, Dense
            i = Input((3,))
            model = Model(i, Dense(5, activation="softmax")(i))
            model.compile(optimizer="adam", loss="poisson", metrics=["accuracy"])
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam", metrics=["mae"])
            """
        ),
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
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=my_loss, optimizer="adam", metrics=["accuracy"])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        regression = load().regression_losses
        for head in heads(model, ctx.flavour):
            loss = head.loss
            if (
                loss is None
                or not isinstance(loss.name, Known)
                or loss.name.value not in regression
            ):
                continue
            for metric in head.metrics:
                if metric.name == Known("accuracy"):
                    yield self.finding(
                        metric.span,
                        f"'{metric.written}' with the regression loss '{loss.written}' measures "
                        "nothing useful (Keras turns it into a class-match accuracy); report "
                        "'mae' or 'mse' instead",
                    )
