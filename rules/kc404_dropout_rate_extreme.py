from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class DropoutRateExtreme(Rule):
    """Flags `Dropout(rate)` with rate >= 0.9, and dropout as the last layer of a model."""

    code = "KC404"
    relevant_names = frozenset()
    experiment = "dropout-fix"
    name = "dropout-rate-extreme"
    severity = "warning"
    summary = "Dropout rate of 0.9 or more, or dropout applied to the model's output."
    why = """
        Keras's `rate` is the fraction of units DROPPED (Keras 1 and some other libraries
        take the fraction kept): `Dropout(0.9)` zeroes 90 % of the activations and the
        network barely learns. Dropout on the output layer randomly zeroes predictions
        during training, so the loss is computed on corrupted outputs.
    """
    example = """
        model.add(Dropout(0.9))
        model.add(Dense(10, activation="softmax"))
        model.add(Dropout(0.5))
    """
    use_instead = """
        model.add(Dropout(0.1))
        model.add(Dense(10, activation="softmax"))
    """
    limitations = "Rates computed at run time are not checked."
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(8), keras.layers.Dropout(0.9), keras.layers.Dense(1)])
            """,
            line=2,
            col=71,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense, Dropout
            model = Sequential()
            model.add(Dense(10, activation="softmax"))
            model.add(Dropout(0.2))
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """,
            line=5,
        ),
        Invalid(
            """
            from tensorflow.keras import layers, models
            KEEP = 0.05
            model = models.Sequential()
            model.add(layers.Conv2D(8, 3))
            model.add(layers.SpatialDropout2D(rate=1 - KEEP))
            model.add(layers.Conv2D(8, 3))
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(64), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            head = keras.Sequential([keras.layers.Dense(64), keras.layers.Dropout(0.2)])
            """
        ),
        Valid(
            """
            import keras
            with pytest.raises(ValueError):
                keras.layers.Dropout(1.5)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        k = load()
        for layer in model.layers:
            if layer.class_name not in k.dropout_layers or layer.call is None:
                continue
            arg = layer.call.argument("rate", 0)
            rate = arg.value.value if arg is not None and isinstance(arg.value, Known) else None
            numeric = isinstance(rate, (int, float)) and not isinstance(rate, bool)
            if arg is not None and numeric and rate >= k.dropout_max:
                yield self.finding(
                    arg.span,
                    f"{layer.class_name}({rate:g}) drops {rate:.0%} of the units (Keras's rate "
                    "is the fraction dropped, not kept); use a rate such as 0.1-0.5",
                )
        # A Sequential used as a block inside a bigger model may end in dropout; only a
        # model that is itself trained has its last layer as the prediction.
        trained = bool(model.compiles) or bool(model.fits)
        if not model.is_chain or not model.layers or not trained:
            return
        last = model.layers[-1]
        if last.class_name in k.dropout_layers and not last.conditional:
            yield self.finding(
                last.span,
                f"{last.class_name} is the model's last layer: it randomly zeroes the "
                "predictions during training; put it before the output layer",
            )
