from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class BinaryLossMulticlassSoftmax(Rule):
    """Flags binary_crossentropy on a softmax output with more than 2 units."""

    code = "KC110"
    relevant_names = frozenset()
    experiment = "categorical-loss"
    name = "binary-loss-multiclass-softmax"
    summary = "binary_crossentropy on a multi-class softmax output."
    why = """
        binary_crossentropy treats each of the K softmax units as an independent yes/no
        problem, which is not the single-label task a softmax encodes; with one-hot labels
        the loss is dominated by the K-1 easy zeros, and Keras <= 2.3 additionally reported
        the inflated binary accuracy for 'accuracy' (MNIST: 99.8 % shown, 98.99 % real).
    """
    example = """
        model.add(Dense(10, activation="softmax"))
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    """
    use_instead = """
        model.add(Dense(10, activation="softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    """
    fix_safety = "Unsafe fix (changes the loss): binary_crossentropy -> categorical_crossentropy."
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="adamax", metrics=["accuracy"])
            """,
            line=3,
        ),
        Invalid(
            """
            import tensorflow as tf
            i = tf.keras.Input((5,))
            o = tf.keras.layers.Dense(3, activation=tf.nn.softmax)(i)
            m = tf.keras.Model(i, o)
            m.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy())
            """,
            line=5,
        ),
        Invalid(
            """
            from keras import layers, models
            model = models.Sequential([layers.Dense(5), layers.Softmax()])
            model.compile(optimizer="adam",
                          loss="bce")
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            """
        ),
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
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            units, loss = head.output.units, head.loss
            if head.output.activation != Known("softmax") or loss is None:
                continue
            multiclass = isinstance(units, Known) and units.value > 2
            if multiclass and loss.name == Known("binary_crossentropy"):
                yield self.finding(
                    loss.span,
                    f"binary_crossentropy on a {units.value}-class softmax output; use "  # type: ignore[union-attr]
                    "categorical_crossentropy (one-hot labels) or "
                    "sparse_categorical_crossentropy (integer labels)",
                )
