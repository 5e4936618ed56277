from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads


class FromLogitsOnProbabilities(Rule):
    """Flags `from_logits=True` on a loss whose output already applies sigmoid or softmax."""

    code = "KC107"
    relevant_names = frozenset()
    experiment = "probability-range"
    name = "from-logits-on-probabilities"
    summary = "from_logits=True while the output already applies sigmoid/softmax."
    why = """
        With `from_logits=True` the loss applies sigmoid/softmax itself. If the output layer
        already did, the activation is applied twice: the loss sees values squashed into
        (0, 1), gradients are tiny and the model learns slowly or not at all.
    """
    example = """
        model.add(Dense(10, activation="softmax"))
        model.compile(loss=CategoricalCrossentropy(from_logits=True), optimizer="adam")
    """
    use_instead = """
        model.add(Dense(10))  # logits
        model.compile(loss=CategoricalCrossentropy(from_logits=True), optimizer="adam")
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam",
                          loss=keras.losses.CategoricalCrossentropy(from_logits=True))
            """,
            line=4,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(True))
            """,
            line=3,
        ),
        Invalid(
            """
            from keras.layers import Dense, Softmax
            from keras.models import Sequential
            from keras.losses import SparseCategoricalCrossentropy
            LOGITS = True
            model = Sequential([Dense(5), Softmax()])
            model.compile(loss=SparseCategoricalCrossentropy(from_logits=LOGITS))
            """,
            line=6,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10)])
            model.compile(optimizer="adam",
                          loss=keras.losses.CategoricalCrossentropy(from_logits=True))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam",
                          loss=keras.losses.CategoricalCrossentropy(from_logits=False))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="relu")])
            model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=flag))
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        probability = load().probability_activations
        for head in heads(model, ctx.flavour):
            loss = head.loss
            activation = head.output.activation
            if loss is None or loss.from_logits != Known(True):
                continue
            if isinstance(activation, Known) and activation.value in probability:
                yield self.finding(
                    loss.span,
                    f"from_logits=True but the output already applies {activation.value}: the "
                    f"activation is applied twice; remove the {activation.value} from the "
                    "output layer or set from_logits=False",
                )
