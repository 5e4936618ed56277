from collections.abc import Iterator

from kerascheck.ir import Finding, Flavour, Known, ModelSpec, RunSpec, TrainableState
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

TRUE = Known(True)
FALSE = Known(False)


class TrainableWithoutRecompile(Rule):
    """Flags a training run of a model whose `trainable` flags, as the code has set them,
    are not the ones Keras trains with.

    Keras reads `trainable` (of the model, a sub-model such as a pretrained base, or a
    layer) once per compile: Keras 3 when the model first trains after `compile()`, tf.keras
    2 and standalone Keras 2 at `compile()` itself (measured, docs/knowledge.md). So:

    - a flag changed after the model's first training, then more training with no
      `compile()` in between, has no effect, in either direction (a base frozen after the
      first `fit()` keeps training; a base unfrozen for fine-tuning stays frozen); under
      tf.keras 2 the same holds for a sub-model or layer changed after `compile()`;
    - under Keras 3, the Keras 2 GAN idiom (compile D; `D.trainable = False`; compile the
      combined model G->D; train D on its own) trains nothing: D has no trainable weights at
      its first training. tf.keras 2 and Keras 2 keep D trainable (its compile came first).
    """

    code = "KC406"
    name = "trainable-without-recompile"
    experiment = "trainable-flags"
    severity = "error"
    relevant_names = frozenset({"trainable"})
    summary = (
        "trainable changed where Keras ignores it: the training does not do what the code says."
    )
    why = """
        Freezing and unfreezing are how transfer learning and GANs work, and Keras says
        nothing when a change is ignored: the fine-tuning phase trains only the head, the
        frozen base keeps drifting, or the discriminator never learns (Keras 3 only warns
        "The model does not have any trainable weights" once). The loss curves look normal.
    """
    example = """
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=5)        # base frozen
        base.trainable = True            # unfreeze for fine-tuning...
        model.fit(x, y, epochs=5)        # ...ignored: base is still frozen
    """
    use_instead = """
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=5)
        base.trainable = True
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=5)

        # GAN (Keras 3): set the flag before each model's training
        discriminator.trainable = True
        discriminator.train_on_batch(images, labels)
        discriminator.trainable = False
        gan.train_on_batch(noise, misleading_labels)
    """
    fix_safety = """
        No automatic fix. Inserting `model.compile(...)` is not safe: it needs the optimizer,
        loss and metrics the code means (a fine-tuning phase usually wants a lower learning
        rate), and it resets the optimizer's state. For the GAN idiom under Keras 3, setting
        the flag before each model's training is the repair (measured: each model keeps the
        trainable weights of its own first training); recompiling the discriminator after
        unfreezing it is not enough, because the combined model then trains it too.
    """
    limitations = """
        Only assignments the analysis can resolve count: `model.trainable`, `layer.trainable`
        on a layer object, `for layer in base.layers[...]:` loops, `base.get_layer(...)`; an
        assignment to something it cannot resolve makes every flag unknown from there on, and
        a model handed to code it cannot see is no longer judged. A change inside a loop that
        only a later iteration's training sees is not reported. Keras 3 is judged as the
        TensorFlow backend runs it (measured); the JAX and PyTorch backends are not measured.
    """
    invalid = (
        Invalid(
            """
            import keras
            base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
            model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
            base.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, epochs=5)
            base.trainable = True
            model.fit(x, y, epochs=5)
            """,
            line=8,
        ),
        Invalid(
            """
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            outputs = keras.layers.Dense(5, activation="softmax")(base(inputs))
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x, y)
            for layer in base.layers:
                layer.trainable = False
            model.fit(x, y)
            """,
            line=10,
        ),
        Invalid(
            """
            import keras
            generator = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4)])
            discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
            discriminator.compile(optimizer="adam", loss="binary_crossentropy")
            discriminator.trainable = False
            gan = keras.Sequential([generator, discriminator])
            gan.compile(optimizer="adam", loss="binary_crossentropy")
            for step in range(steps):
                discriminator.train_on_batch(images, labels)
                gan.train_on_batch(noise, ones)
            """,
            line=9,
            flavour="keras3",
        ),
        Invalid(
            """
            # tf.keras 2 reads the flags at compile(): freezing the base after it is ignored.
            from tensorflow import keras
            base = keras.applications.MobileNetV2(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(2)(base(inputs)))
            model.compile(optimizer="adam", loss="mse")
            base.trainable = False
            model.fit(x, y)
            """,
            line=8,
            flavour="tf2",
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            model.layers[0].trainable = False
            model.fit(x, y)
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            base = keras.applications.VGG16(include_top=False, pooling="avg")
            head = keras.layers.Dense(1, activation="sigmoid")
            model = keras.Sequential([base, head])
            model.compile(optimizer="sgd", loss="binary_crossentropy")
            model.fit(x, y)
            base.trainable = False
            model.fit(x, y, epochs=10)
            """,
            line=8,
            flavour="legacy",
        ),
    )
    valid = (
        Valid(
            """
            # Recompiled after unfreezing: the fine-tuning phase trains the base.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Frozen before the first training: Keras 3 honours it.
            import keras
            base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
            model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            base.trainable = False
            model.fit(x, y)
            """,
            flavour="keras3",
        ),
        Valid(
            """
            # The GAN idiom works in tf.keras 2: the discriminator's compile kept it trainable.
            from tensorflow import keras
            generator = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4)])
            discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
            discriminator.compile(optimizer="adam", loss="binary_crossentropy")
            discriminator.trainable = False
            gan = keras.Sequential([generator, discriminator])
            gan.compile(optimizer="adam", loss="binary_crossentropy")
            discriminator.train_on_batch(images, labels)
            gan.train_on_batch(noise, ones)
            """,
            flavour="tf2",
        ),
        Valid(
            """
            # Keras 3 GAN done right: the flag is set before each model trains.
            import keras
            generator = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4)])
            discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
            discriminator.compile(optimizer="adam", loss="binary_crossentropy")
            discriminator.trainable = False
            gan = keras.Sequential([generator, discriminator])
            gan.compile(optimizer="adam", loss="binary_crossentropy")
            for step in range(steps):
                discriminator.trainable = True
                discriminator.train_on_batch(images, labels)
                discriminator.trainable = False
                gan.train_on_batch(noise, ones)
            """,
            flavour="keras3",
        ),
        Valid(
            """
            # Set to the value it already had: nothing to ignore.
            import keras
            base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
            model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
            base.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = False
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Only one branch unfreezes: what the second fit trains is decided at run time.
            import keras
            base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
            model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
            base.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            if fine_tune:
                base.trainable = True
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Unfrozen on a layer the analysis cannot resolve: nothing is known any more.
            import keras
            base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
            model = keras.Sequential([keras.Input((8,)), base, keras.layers.Dense(1)])
            base.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            for layer in pick_layers(model):
                layer.trainable = False
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        # One finding per change (the first training it misleads), not per training.
        reported: set[tuple[str, str, object]] = set()
        name = model.name or "the model"
        for run in model.fits:
            for state in run.trainable:
                for kind, check in (("ignored", _ignored), ("untrainable", _untrainable)):
                    message = check(state, name, run, ctx.flavour)
                    key = (kind, state.target, state.now)
                    if message is not None and key not in reported:
                        reported.add(key)
                        yield self.finding(run.span, message)


def _differs(a: object, b: object) -> bool:
    return isinstance(a, Known) and isinstance(b, Known) and a != b


def _ignored(state: TrainableState, name: str, run: RunSpec, flavour: Flavour) -> str | None:
    """A change Keras does not apply to this training."""
    if flavour == "keras3":
        used = state.at_first_training
        when = (
            f"{name}'s first training since compile(): Keras 3 keeps the trainable weights "
            "of that first training"
        )
    else:
        # tf.keras 2 and Keras 2 use the flags of compile(). A model's own flag changed
        # between compile and its first training is the Keras 2 GAN idiom, which relies on
        # exactly that; changed after the first training it is the same mistake as in Keras 3.
        used = state.at_compile
        if state.own and not (
            state.at_first_training is not None and state.at_first_training == state.at_compile
        ):
            return None
        when = f"{name}.compile(): tf.keras 2 and Keras 2 train with the flags of compile()"
    if used is None or not _differs(used, state.now):
        return None
    effect = "stays frozen" if state.now == TRUE else "is still trained"
    return (
        f"{_setting(state)} after {when}, so this {run.method}() ignores it: "
        f"`{state.target}` {effect}; call {name}.compile(...) again after changing `trainable`"
    )


def _setting(state: TrainableState) -> str:
    """``base.trainable = True`` as the code wrote it, or the loop over a group of layers."""
    value = state.now.value  # type: ignore[union-attr]
    if state.scope in ("all_layers", "some_layers"):
        return f"`layer.trainable = {value}` for every layer of `{state.target}` was set"
    return f"`{state.target}.trainable = {value}` was set"


def _untrainable(state: TrainableState, name: str, run: RunSpec, flavour: Flavour) -> str | None:
    """Keras 3: a model frozen after its compile() and trained on its own trains nothing."""
    if flavour != "keras3" or not state.own or state.at_first_training is not None:
        return None
    if state.at_compile != TRUE or state.now != FALSE:
        return None
    model = state.target  # the model itself, as the code names it where it freezes it
    return (
        f"`{model}.trainable = False` was set after {model}.compile(): Keras 3 reads "
        f"`trainable` at a model's first training, so this {run.method}() trains no weights "
        f"at all ({model} never learns; Keras only warns once). Set `{model}.trainable = "
        f"True` before training {model} and back to False before training the model that "
        "contains it: each model keeps the trainable weights of its own first training "
        f"(measured on Keras 3.15). Recompiling {model} after unfreezing it is not enough: "
        "the combined model would then train it too"
    )
