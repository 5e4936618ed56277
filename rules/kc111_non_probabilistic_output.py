from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class NonProbabilisticOutput(Rule):
    """Flags a cross-entropy loss on an output whose activation is not a probability
    (relu, tanh, elu, selu, softplus, leaky_relu, ...)."""

    code = "KC111"
    relevant_names = frozenset()
    experiment = "probability-output"
    name = "non-probabilistic-output"
    summary = "Cross-entropy on a relu/tanh/... output that is not a probability."
    why = """
        Cross-entropy without `from_logits=True` reads the output as probabilities in
        (0, 1). A relu output is 0 for half the inputs (log(0) is clipped, gradients die)
        and unbounded above; tanh is negative half the time. The loss is computed on
        clipped values and training stalls or diverges.
    """
    example = """
        model.add(Dense(1, activation="relu"))
        model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    use_instead = """
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    fix_safety = "Unsafe fix (changes the model): the activation -> sigmoid/softmax."
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="relu")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            """,
            line=2,
        ),
        Invalid(
            """
            from tensorflow.keras.layers import Dense, LSTM
            from tensorflow.keras.models import Sequential
            model = Sequential([LSTM(10)])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            i = keras.Input((4,))
            o = keras.layers.Dense(3, activation="tanh")(i)
            m = keras.Model(i, o)
            m.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy())
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((8,))
            count = keras.layers.Dense(1, activation="relu", name="count")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [kind, count])
            model.compile(optimizer="adam", loss=["categorical_crossentropy", "binary_crossentropy"])
            """,
            line=3,
        ),
        Invalid(
            """
            # Nested outputs take a nested loss list.
            import keras
            inputs = keras.Input((8,))
            a = keras.layers.Dense(3, activation="softmax")(inputs)
            b = keras.layers.Dense(2, activation="tanh")(inputs)
            c = keras.layers.Dense(1)(inputs)
            model = keras.Model(inputs, [a, [b, c]])
            model.compile(optimizer="adam", loss=["categorical_crossentropy", ["categorical_crossentropy", "mse"]])
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            # Compiled, but only ever used to predict: its loss never meets a label.
            import numpy as np
            import keras
            encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16), keras.layers.ReLU()])
            encoder.compile(loss="binary_crossentropy", optimizer="adam")
            head = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1, activation="sigmoid")])
            head.compile(loss="binary_crossentropy", optimizer="adam")
            for batch, labels in batches:
                head.train_on_batch(encoder.predict_on_batch(batch), labels)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="relu")])
            model.compile(loss="mse", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="relu")])
            model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
            """
        ),
        Valid(
            """
            # The relu head gets a regression loss; the cross-entropy goes to the softmax head.
            import keras
            inputs = keras.Input((8,))
            count = keras.layers.Dense(1, activation="relu", name="count")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [kind, count])
            model.compile(optimizer="adam", loss={"count": "poisson", "kind": "categorical_crossentropy"})
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        k = load()
        for head in heads(model, ctx.flavour):
            activation, loss = head.output.activation, head.loss
            if loss is None or not isinstance(activation, Known) or activation.value is None:
                continue
            if activation.value in k.probability_activations or loss.from_logits != Known(False):
                continue
            if isinstance(loss.name, Known) and loss.name.value in k.probabilistic_losses:
                yield self.finding(
                    head.output.activation_span,
                    f"a {activation.value} output is not a probability but '{loss.written}' "
                    "expects one; use sigmoid/softmax, or a linear output with "
                    "from_logits=True",
                )
