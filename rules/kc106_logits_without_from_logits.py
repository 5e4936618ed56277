from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class LogitsWithoutFromLogits(Rule):
    """Flags a cross-entropy loss on a linear (logit) output without `from_logits=True`."""

    code = "KC106"
    name = "logits-without-from-logits"
    summary = "Cross-entropy on a linear output without from_logits=True."
    why = """
        Binary, categorical and sparse categorical cross-entropy expect probabilities by
        default. Fed raw logits, Keras clips them into [epsilon, 1 - epsilon] and the loss is
        wrong: it can go negative, gradients vanish for every logit outside (0, 1), and the
        model trains badly without any error or warning.
    """
    example = """
        model = Sequential([Dense(64, activation="relu"), Dense(10)])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    """
    use_instead = """
        model = Sequential([Dense(64, activation="relu"), Dense(10)])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer="adam")
    """
    fix_safety = "Unsafe fix (changes the loss): add from_logits=True."
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """,
            line=3,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation=None)])
            model.compile(optimizer="adam",
                          loss=tf.keras.losses.SparseCategoricalCrossentropy())
            """,
            line=4,
        ),
        Invalid(
            """
            from keras import layers, losses, Model, Input
            x = Input((8,))
            y = layers.Dense(3, activation="linear")(x)
            m = Model(x, y)
            m.compile("adam", losses.categorical_crossentropy)
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10)])
            model.compile(optimizer="adam",
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            """
        ),
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
            model = keras.Sequential([keras.layers.Dense(10), keras.layers.Activation("softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        probabilistic = load().probabilistic_losses
        for head in heads(model):
            loss = head.loss
            if loss is None or head.output.activation != Known(None):
                continue
            probabilities_expected = (
                isinstance(loss.name, Known) and loss.name.value in probabilistic
            )
            if probabilities_expected and loss.from_logits == Known(False):
                yield self.finding(
                    loss.span,
                    f"'{loss.written}' expects probabilities but the output is linear "
                    "(logits); pass from_logits=True to the loss, or add a sigmoid/softmax "
                    "activation to the output layer",
                )
