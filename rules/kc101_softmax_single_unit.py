from collections.abc import Iterator

from kerascheck.ir import Edit, Finding, Fix, Known, LossSpec, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads

# Losses that, on a 1-unit output, can only have meant binary cross-entropy.
_BINARY_INTENT = frozenset({"binary_crossentropy", "categorical_crossentropy"})


def _sigmoid_fix(activation: Edit, loss: LossSpec | None) -> Fix | None:
    edits = [activation]
    if loss is not None:
        name = loss.name.value if isinstance(loss.name, Known) else None
        if name not in _BINARY_INTENT or loss.from_logits == Known(True):
            return None
        if name != "binary_crossentropy":
            if not loss.literal:
                return None
            edits.append(Edit(loss.span, "binary_crossentropy", "string"))
    return Fix("Use a sigmoid output with binary_crossentropy", tuple(edits), safe=False)


class SoftmaxSingleUnit(Rule):
    """Flags a softmax applied over an output with a single unit.

    The activation may be written on the layer (`Dense(1, activation='softmax')`), as a
    following `Activation('softmax')` / `Softmax()` layer, or as `tf.nn.softmax` /
    `keras.activations.softmax` applied to the output tensor.
    """

    code = "KC101"
    relevant_names = frozenset()
    experiment = "constant-output"
    name = "softmax-single-unit"
    summary = "Softmax over a 1-unit output always outputs 1.0."
    why = """
        Softmax normalises over the last axis. With one unit, exp(x) / exp(x) = 1.0 for
        every input: the model predicts the same class for everything, the loss and the
        accuracy never move, and no error is raised (modern Keras only warns, and not for
        `activation=tf.nn.softmax`).
    """
    example = """
        model.add(Dense(1, activation="softmax"))
        model.compile(loss="binary_crossentropy", optimizer="adam")
    """
    use_instead = """
        model.add(Dense(1, activation="sigmoid"))  # binary: one unit, sigmoid
        # or, for K classes with one-hot labels:
        model.add(Dense(K, activation="softmax"))
    """
    fix_safety = """
        Unsafe fix (it changes what the model computes, which is the point): the string
        'softmax' becomes 'sigmoid', and a 'categorical_crossentropy' string loss becomes
        'binary_crossentropy'. No fix when the loss is anything else (the author's intent
        is unclear) or the activation is not a string literal.
    """
    invalid = (
        Invalid(
            """
            from keras import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(8, activation="relu"), Dense(1, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """,
            line=3,
            fixed="""
            from keras import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential()
            model.add(tf.keras.layers.Dense(1))
            model.add(tf.keras.layers.Activation('softmax'))
            """,
            line=4,
            fixed="""
            import tensorflow as tf
            model = tf.keras.Sequential()
            model.add(tf.keras.layers.Dense(1))
            model.add(tf.keras.layers.Activation('sigmoid'))
            """,
        ),
        Invalid(
            """
            # A sigmoid after the softmax only turns the constant 1.0 into 0.73.
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="softmax"), keras.layers.Activation("sigmoid")])
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf
            N_OUT = 1
            inputs = keras.Input(shape=(4,))
            outputs = keras.layers.Dense(N_OUT, activation=tf.nn.softmax)(inputs)
            model = keras.Model(inputs, outputs)
            """,
            line=5,
        ),
        Invalid(
            """
            # One head of a two-output model.
            import keras
            inputs = keras.Input((8,))
            flag = keras.layers.Dense(1, activation="softmax", name="flag")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [flag, kind])
            """,
            line=4,
            fixed="""
            # One head of a two-output model.
            import keras
            inputs = keras.Input((8,))
            flag = keras.layers.Dense(1, activation="sigmoid", name="flag")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [flag, kind])
            """,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            import tensorflow as tf
            inputs = keras.Input(shape=(10, 8))
            scores = keras.layers.Dense(1)(inputs)
            weights = keras.layers.Softmax(axis=1)(scores)  # attention over the 10 steps
            pooled = tf.nn.softmax(keras.layers.Dense(1)(inputs), axis=1)
            model = keras.Model(inputs, [weights, pooled])
            """
        ),
        Valid(
            """
            from keras import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
            """
        ),
        Valid(
            """
            from keras import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(8, activation="relu"), Dense(2, activation="softmax")])
            """
        ),
        Valid(
            """
            from keras import layers, Sequential
            def build(n):
                return Sequential([layers.Dense(n, activation="softmax")])
            """
        ),
        Valid(
            """
            # Softmax over 2 units, then a sigmoid: squashed twice (KC113), but not constant.
            import keras
            model = keras.Sequential([keras.layers.Dense(2, activation="softmax"), keras.layers.Activation("sigmoid")])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            output = head.output
            if output.units != Known(1):
                continue
            # The last softmax on the way to the output: one under a later activation
            # (``Activation('sigmoid')``) makes that one's output constant as well.
            softmax = [a for a in output.activations if a.activation == Known("softmax")]
            if not softmax:
                continue
            span = softmax[-1].span
            last = softmax[-1] is output.activations[-1]
            edit = Edit(span, "sigmoid", "string")
            yield self.finding(
                span,
                "softmax over a 1-unit output always outputs 1.0; use "
                "activation='sigmoid' for a binary output, or one unit per class",
                fix=_sigmoid_fix(edit, head.loss) if last else None,
            )
