from collections.abc import Iterator

from kerascheck.ir import (
    Edit,
    Finding,
    Fix,
    Flavour,
    Known,
    ModelSpec,
    PartCall,
    RunSpec,
    TrainableState,
    Value,
)
from kerascheck.knowledge import applications
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

TRUE = Known(True)
FALSE = Known(False)


class BatchNormFineTuning(Rule):
    """Flags a pretrained backbone with BatchNormalization layers that is unfrozen for
    fine-tuning (`base.trainable = True`, in effect for a training of the model around it)
    while its BatchNormalization layers still run in training mode.

    Which backbones contain BatchNormalization is generated from the installed Keras
    (tools/gen_applications.py: every family but VGG and ConvNeXt). Measured
    (docs/knowledge.md): under tf.keras 2, calling the base with `training=False` keeps its
    BatchNormalization layers in inference mode; under Keras 3.15 it does not, because
    `fit()` calls the model with `training=True` and that overrides the `training=False`
    written at the call (keras-team/keras#20285), so only freezing the BatchNormalization
    layers themselves (`layer.trainable = False`) keeps their statistics.
    """

    code = "KC408"
    name = "batchnorm-fine-tuning"
    experiment = "batch-norm-statistics"
    severity = "warning"
    relevant_names = frozenset({"trainable"}) | frozenset(applications().constructors)
    summary = "An unfrozen pretrained backbone's BatchNormalization layers update their statistics."
    why = """
        In training mode BatchNormalization normalises with the statistics of the current
        batch and moves its stored ImageNet statistics towards them. Fine-tuning on a small
        data set with small batches then shifts every normalised feature of the backbone,
        which undoes much of what the pretrained weights give: accuracy drops when the base
        is unfrozen instead of improving (the Keras transfer-learning guide's warning).
    """
    example = """
        base = keras.applications.ResNet50(include_top=False, pooling="avg")
        x = base(inputs)                       # BatchNormalization in training mode
        ...
        base.trainable = True
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy")
        model.fit(train, epochs=5)
    """
    use_instead = """
        # tf.keras 2: keep the base in inference mode
        x = base(inputs, training=False)

        # Keras 3 (training=False is overridden by fit): freeze BatchNormalization itself
        base.trainable = True
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy")
    """
    fix_safety = """
        Under tf.keras 2 the fix adds `training=False` to the call. It is unsafe: it changes
        what the model computes while training (BatchNormalization uses its stored statistics
        and dropout inside the base is off), which is the point, but it is a change of the
        computation all the same, applied only with `--unsafe-fixes`. Under Keras 3 there is
        no automatic fix: the repair is a loop that freezes the BatchNormalization layers,
        placed after the unfreezing and before `compile()`.
    """
    limitations = """
        Only `keras.applications` backbones called in a functional graph are judged, and
        only when the code sets `trainable = True` on the backbone and trains the model with
        that in effect. A Sequential model cannot pass `training=`; freezing done in a
        function the analysis cannot see, or a flag set under a condition
        (`if isinstance(layer, BatchNormalization)`), leaves the rule silent. Standalone
        Keras 2 is not judged.
    """
    invalid = (
        Invalid(
            """
            from tensorflow import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((224, 224, 3))
            x = keras.applications.resnet50.preprocess_input(inputs)
            outputs = keras.layers.Dense(5, activation="softmax")(base(x))
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(train, epochs=5)
            base.trainable = True
            model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy")
            model.fit(train, epochs=5)
            """,
            line=6,
            flavour="tf2",
            fixed="""
            from tensorflow import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((224, 224, 3))
            x = keras.applications.resnet50.preprocess_input(inputs)
            outputs = keras.layers.Dense(5, activation="softmax")(base(x, training=False))
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(train, epochs=5)
            base.trainable = True
            model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy")
            model.fit(train, epochs=5)
            """,
        ),
        Invalid(
            """
            import keras
            base = keras.applications.EfficientNetB0(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            features = base(inputs)
            model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))
            base.trainable = True
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(images, labels)
            """,
            line=4,
            flavour="keras3",
        ),
        Invalid(
            """
            # Keras 3: fit() calls the model with training=True, which overrides this False.
            import keras
            base = keras.applications.MobileNetV2(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((160, 160, 3))
            x = keras.applications.mobilenet_v2.preprocess_input(inputs)
            x = base(x, training=False)
            model = keras.Model(inputs, keras.layers.Dense(1)(x))
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(train, epochs=10)
            base.trainable = True
            model.compile(optimizer=keras.optimizers.RMSprop(1e-5), loss="binary_crossentropy")
            model.fit(train, epochs=10)
            """,
            line=7,
            flavour="keras3",
        ),
        Invalid(
            """
            # Unfreezing the top layers only: their BatchNormalization still trains.
            from tensorflow import keras
            base = keras.applications.InceptionV3(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((299, 299, 3))
            model = keras.Model(inputs, keras.layers.Dense(3)(base(inputs)))
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            for layer in base.layers[:-30]:
                layer.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """,
            line=6,
            flavour="tf2",
            fixed="""
            # Unfreezing the top layers only: their BatchNormalization still trains.
            from tensorflow import keras
            base = keras.applications.InceptionV3(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((299, 299, 3))
            model = keras.Model(inputs, keras.layers.Dense(3)(base(inputs, training=False)))
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            for layer in base.layers[:-30]:
                layer.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """,
        ),
        Invalid(
            """
            import keras
            base = keras.applications.Xception(include_top=False, pooling="avg")
            inputs = keras.Input((299, 299, 3))
            model = keras.Model(inputs, keras.layers.Dense(2)(base(inputs)))
            base.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """,
            line=4,
            flavour="keras3",
        ),
    )
    valid = (
        Valid(
            """
            # tf.keras 2 honours training=False: BatchNormalization stays in inference mode.
            from tensorflow import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            outputs = keras.layers.Dense(5)(base(inputs, training=False))
            model = keras.Model(inputs, outputs)
            base.trainable = True
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """,
            flavour="tf2",
        ),
        Valid(
            """
            # BatchNormalization frozen on its own after unfreezing.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
            base.trainable = True
            for layer in base.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # The base stays frozen: frozen BatchNormalization runs in inference mode.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # VGG16 has no BatchNormalization.
            import keras
            base = keras.applications.VGG16(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
            base.trainable = True
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Unfrozen after the first fit without a recompile: Keras ignores it (KC406), so
            # the base, BatchNormalization included, stays frozen.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            base.trainable = False
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            base.trainable = True
            model.fit(x, y)
            """,
            flavour="keras3",
        ),
        Valid(
            """
            # training=True written on purpose.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs, training=True)))
            base.trainable = True
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if ctx.flavour == "legacy":
            return
        table = applications().constructors
        for index, part in enumerate(model.parts):
            application = part.application
            if application is None or not table[application.constructor].batch_normalization:
                continue
            if application.weights == Known(None):
                continue  # nothing pretrained to lose
            if not any(_unfrozen(run, index, ctx.flavour) for run in model.fits):
                continue
            for use in part.calls:
                finding = self._judge(use, part.name or "the backbone", ctx.flavour)
                if finding is not None:
                    yield finding

    def _judge(self, use: PartCall, name: str, flavour: Flavour) -> Finding | None:
        if use.call is None:
            return None
        training = use.call.kwarg("training")
        if training is not None and training.value != FALSE:
            return None  # training=True or a variable: the code decides on purpose
        freeze = (
            f"freeze the BatchNormalization layers after unfreezing {name} (for layer in "
            f"{name}.layers: if isinstance(layer, keras.layers.BatchNormalization): "
            "layer.trainable = False), then compile"
        )
        if flavour == "keras3":
            if training is None:
                why = "its BatchNormalization layers run in training mode"
            else:
                why = (
                    "fit() calls the model with training=True, which overrides the "
                    "training=False written here (measured on Keras 3.15), so its "
                    "BatchNormalization layers still run in training mode"
                )
            return self.finding(
                use.span,
                f"{name} is unfrozen for fine-tuning and {why}: they replace their ImageNet "
                f"statistics with those of your batches; {freeze}",
            )
        if training is not None:
            return None
        fix = Fix(
            "call the backbone with training=False",
            (Edit(use.span, ", training=False", mode="before_close"),),
            safe=False,
        )
        return self.finding(
            use.span,
            f"{name} is unfrozen for fine-tuning but called without training=False: its "
            "BatchNormalization layers run in training mode and replace their ImageNet "
            f"statistics with those of your batches; call {name}(x, training=False), or "
            f"{freeze}",
            fix=fix,
        )


def _unfrozen(run: RunSpec, index: int, flavour: Flavour) -> bool:
    """The training trains part ``index`` because the code set its ``trainable`` to True,
    and none of its layers' flags is left in doubt (a conditional freeze of BN layers)."""
    states = [s for s in run.trainable if s.part == index]
    set_true = False
    for state in states:
        used = _used(state, flavour)
        if state.scope == "model" and used == TRUE:
            set_true = True
            continue
        # The base frozen, a layer flag in doubt, or every layer frozen one by one.
        doubtful = used is None or not isinstance(used, Known)
        if state.scope == "model" or doubtful or (state.scope == "all_layers" and used != TRUE):
            return False
    return set_true


def _used(state: TrainableState, flavour: Flavour) -> Value[bool] | None:
    """The value Keras trains with: the first training's under Keras 3, compile's under
    tf.keras 2."""
    if flavour == "keras3":
        return state.now if state.at_first_training is None else state.at_first_training
    return state.at_compile
