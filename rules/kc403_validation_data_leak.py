from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class ValidationDataLeak(Rule):
    """Flags `fit()` whose `validation_data` is the training data itself, and
    `validation_split` on the test split of a `keras.datasets` loader.

    The arrays are compared by the names written in the call: `fit(x, y,
    validation_data=(x, y))` validates on the training set.
    """

    code = "KC403"
    relevant_names = frozenset()
    experiment = "held-out-validation"
    name = "validation-data-leak"
    severity = "warning"
    summary = "validation_data is the same array as the training data."
    why = """
        Validation metrics computed on the training set only measure memorisation: they
        track the training loss, hide overfitting, and make early stopping and model
        selection meaningless.
    """
    example = """
        model.fit(x_train, y_train, validation_data=(x_train, y_train))
    """
    use_instead = """
        model.fit(x_train, y_train, validation_data=(x_val, y_val))
        # or: model.fit(x_train, y_train, validation_split=0.2)
    """
    limitations = """
        Only names are compared: two different names bound to the same array, or a
        validation set built by slicing the training set, are not seen.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_data=(x_train, y_train))
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x=data.x, y=data.y, epochs=3,
                      validation_data=[data.x, data.y])
            """,
            line=4,
        ),
        Invalid(
            """
            from tensorflow import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(x_test / 255, y_test, validation_split=0.2, batch_size=32)
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_data=(x_val, y_val))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_split=0.2)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_data=(x_train[:100], y_train[:100]))
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for fit in model.fits:
            split = fit.call.kwarg("validation_split")
            if split is not None and fit.x.split == Known("test"):
                yield self.finding(
                    split.span,
                    "validation_split on the test split of the data set: the model trains on "
                    "the test set; fit on the training split and keep the test set unseen",
                )
            x = fit.call.argument("x", 0)
            y = fit.call.argument("y", 1)
            validation = fit.call.kwarg("validation_data")
            if x is None or y is None or validation is None:
                continue
            if x.source is None or y.source is None or len(validation.element_sources) < 2:
                continue
            if validation.element_sources[:2] == (x.source, y.source):
                yield self.finding(
                    validation.span,
                    f"validation_data is the training data ({x.source}, {y.source}): the "
                    "validation metrics only measure memorisation; hold out a separate set "
                    "or use validation_split",
                )
