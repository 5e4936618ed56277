from collections.abc import Iterator

from kerascheck.ir import Edit, Finding, Fix, Known, LossSpec, ModelSpec, ModuleSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads

_LOSS_CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
}


def _keras_name(module: ModuleSpec) -> str | None:
    """The local name of ``import keras`` (or ``import keras as k``), if any."""
    for use in module.api_uses:
        if use.kind == "import" and use.written == "keras" and not use.from_import:
            return use.local
    return None


def _edits(loss: LossSpec, module: ModuleSpec) -> tuple[Edit, ...]:
    call = loss.call
    if call is not None:
        given = call.kwarg("from_logits")
        if given is not None:
            return (Edit(given.span, "True"),)
        if call.has_star_args:
            return ()
        if call.args:
            last = max(call.args, key=lambda a: a.index if a.name is None else 10**6)
            return (Edit(last.span, ", from_logits=True", "after"),)
        return (Edit(call.span, "from_logits=True", "before_close"),)
    keras = _keras_name(module)
    name = loss.name.value if isinstance(loss.name, Known) else None
    if not loss.literal or keras is None or name not in _LOSS_CLASSES:
        return ()
    return (Edit(loss.span, f"{keras}.losses.{_LOSS_CLASSES[name]}(from_logits=True)"),)


class LogitsWithoutFromLogits(Rule):
    """Flags a cross-entropy loss on a linear (logit) output without `from_logits=True`."""

    code = "KC106"
    relevant_names = frozenset()
    experiment = "from-logits"
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
    fix_safety = """
        Unsafe fix (it changes the loss): `from_logits=False` becomes `True`, a loss class
        call gets `from_logits=True`, and a string loss becomes the loss class with
        `from_logits=True` when the module imports `keras` (`import keras`). No fix for a
        loss function passed by name.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
            """,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation=None)])
            model.compile(optimizer="adam",
                          loss=tf.keras.losses.SparseCategoricalCrossentropy())
            """,
            line=4,
            fixed="""
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation=None)])
            model.compile(optimizer="adam",
                          loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10)])
            model.compile("adam", keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(10)])
            model.compile("adam", keras.losses.CategoricalCrossentropy(label_smoothing=0.1, from_logits=True))
            """,
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
        Invalid(
            """
            import keras
            inputs = keras.Input((8,))
            score = keras.layers.Dense(1, name="score")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [kind, score])
            model.compile(optimizer="adam", loss={"kind": "categorical_crossentropy", "score": "binary_crossentropy"})
            """,
            line=6,
            fixed="""
            import keras
            inputs = keras.Input((8,))
            score = keras.layers.Dense(1, name="score")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [kind, score])
            model.compile(optimizer="adam", loss={"kind": "categorical_crossentropy", "score": keras.losses.BinaryCrossentropy(from_logits=True)})
            """,
        ),
    )
    valid = (
        Valid(
            """
            # Mixed precision: a float32 identity cast after the softmax keeps the softmax.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="softmax", dtype="mixed_float16"),
                keras.layers.Activation("linear", dtype="float32"),
            ])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """
        ),
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
        Valid(
            """
            # The linear head is trained with mse; the cross-entropy goes to the softmax head.
            import keras
            inputs = keras.Input((8,))
            score = keras.layers.Dense(1, name="score")(inputs)
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            model = keras.Model(inputs, [kind, score])
            model.compile(optimizer="adam", loss={"score": "mse", "kind": "categorical_crossentropy"})
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        probabilistic = load().probabilistic_losses
        for head in heads(model, ctx.flavour):
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
                    fix=self._fix(loss, ctx.module),
                )

    @staticmethod
    def _fix(loss: LossSpec, module: ModuleSpec) -> Fix | None:
        edits = _edits(loss, module)
        return Fix("Pass from_logits=True to the loss", edits, safe=False) if edits else None
