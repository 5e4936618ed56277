from collections.abc import Iterator

from kerascheck.ir import Finding, Known, LayerSpec, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

# Affine at inference (a scale and a shift per feature): linear layers around it still
# compose into one affine map.
_AFFINE = frozenset({"BatchNormalization"})
# Where a layer declares the shape it receives; the last axis is what Dense maps.
_SHAPE_ARGUMENTS = ("input_shape", "batch_input_shape", "batch_shape")


def _linear_passthrough(layer: LayerSpec) -> bool:
    """Adds no nonlinearity: identity at inference, affine, or Activation('linear')."""
    if layer.class_name in load().transparent_layers or layer.class_name in _AFFINE:
        return True
    return layer.class_name == "Activation" and layer.activation == Known(None)


def _neighbour(model: ModelSpec, index: int, forward: bool) -> int | None:
    """The single layer that consumes (``forward``) or produces the output of layer
    ``index``, seen through linear pass-through layers; None when there is not exactly one
    (a branch, an operation that is not a layer, the model's end)."""
    while True:
        if model.is_chain:
            index += 1 if forward else -1
            if not 0 <= index < len(model.layers):
                return None
        else:
            ends = {
                (consumer if forward else producer)
                for producer, consumer in model.edges
                if (producer if forward else consumer) == index
            }
            if len(ends) != 1 or min(ends) < 0:
                return None
            (index,) = ends
        if not _linear_passthrough(model.layers[index]):
            return index


def _last(value: object) -> int | None:
    if isinstance(value, Known):
        value = value.value
    if isinstance(value, (tuple, list)) and value:
        value = value[-1]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _declared_width(layer: LayerSpec) -> int | None:
    """The last axis of the input a layer declares (``input_shape=(8,)``, ``input_dim=8``,
    ``keras.Input((8,))``)."""
    if layer.call is None:
        return None
    if layer.class_name == "InputLayer":
        shape = layer.call.argument("shape", 0)
        if shape is not None:
            return _last(shape.value)
    for name in _SHAPE_ARGUMENTS:
        arg = layer.call.kwarg(name)
        if arg is not None:
            return _last(arg.value)
    dim = layer.call.kwarg("input_dim")
    return _last(dim.value) if dim is not None else None


def _width(layer: LayerSpec) -> int | None:
    """The size of the last axis a layer outputs, when the IR knows it."""
    if layer.class_name == "InputLayer":
        return _declared_width(layer)
    if layer.class_name in load().unit_layers and isinstance(layer.units, Known):
        data_format = layer.call.kwarg("data_format") if layer.call is not None else None
        if data_format is None or data_format.value == Known("channels_last"):
            return layer.units.value
    return None


def _input_width(model: ModelSpec, index: int) -> int | None:
    declared = _declared_width(model.layers[index])
    if declared is not None:
        return declared
    producer = _neighbour(model, index, forward=False)
    return _width(model.layers[producer]) if producer is not None else None


def _units(layer: LayerSpec) -> int | None:
    return layer.units.value if isinstance(layer.units, Known) else None


def _is_autoencoder(model: ModelSpec) -> bool:
    """Trained to give back its input (``fit(x, x)``), or a stack whose output is as wide
    as its input with a narrower layer inside."""
    for run in model.fits:
        x, y = run.call.argument("x", 0), run.call.argument("y", 1)
        if x is not None and y is not None and x.source is not None and x.source == y.source:
            return True
    if len(model.outputs) != 1 or model.outputs[0].layer is None:
        return False
    dense = [i for i, layer in enumerate(model.layers) if layer.class_name == "Dense"]
    if not dense:
        return False
    width = _input_width(model, dense[0])
    narrowest = min((_units(model.layers[i]) or width or 0) for i in dense)
    return width is not None and model.outputs[0].units == Known(width) and narrowest < width


class StackedLinearLayers(Rule):
    """Flags a Dense layer without activation whose output goes, through nothing but
    layers that add no nonlinearity (Dropout and its relatives, `Identity`,
    `BatchNormalization`, `Activation('linear')`), into another Dense: in a Sequential
    model, or as the single consumer in a functional graph.

    In a network that is linear throughout (no activation anywhere), a linear bottleneck is
    the one structure it can want (PCA, reduced-rank regression): there the pair is
    reported only when the first layer provably adds nothing — it is at least as wide as
    the second, or as its own input — and a linear autoencoder (output as wide as its
    input with a narrower layer inside, or trained with `fit(x, x)`) is left alone.
    """

    code = "KC302"
    relevant_names = frozenset()
    experiment = "composed-linear-map"
    name = "stacked-linear-layers"
    severity = "warning"
    summary = "Two Dense layers with no activation between them."
    why = """
        Two linear maps compose into one linear map: `Dense(64)` followed by `Dense(1)` can
        represent nothing that a single `Dense(1)` cannot, and Dropout or
        BatchNormalization between them (a scale and a shift at inference) changes
        nothing about that. The hidden layer only adds parameters and training time; the
        author almost always forgot `activation='relu'`.
    """
    example = """
        model.add(Dense(64))
        model.add(Dense(1, activation="sigmoid"))
    """
    use_instead = """
        model.add(Dense(64, activation="relu"))
        model.add(Dense(1, activation="sigmoid"))
    """
    fix_safety = "Unsafe fix (changes the model): add activation='relu'."
    limitations = """
        In functional graphs only a linear Dense whose single consumer is another Dense is
        flagged: a layer feeding several branches (attention projections, residuals) or an
        operation (`tf.nn.relu(x)`) is not. In an all-linear network, layers of unknown
        width are not judged.
    """
    invalid = (
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential()
            model.add(tf.keras.layers.Dense(64))
            model.add(tf.keras.layers.Dense(1, activation="sigmoid"))
            """,
            line=3,
        ),
        Invalid(
            """
            from keras import layers, models
            model = models.Sequential([
                layers.Dense(128, activation=None),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ])
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((2, 10))
            hidden = keras.layers.Dense(5)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(10, activation="sigmoid")(hidden))
            """,
            line=3,
        ),
        Invalid(
            """
            # BatchNormalization is a scale and a shift at inference: still one linear map.
            import keras
            inputs = keras.Input((32,))
            hidden = keras.layers.Dense(64)(inputs)
            hidden = keras.layers.BatchNormalization()(hidden)
            model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
            """,
            line=4,
        ),
        Invalid(
            """
            # All linear: the 4-unit layer adds nothing to the 2-unit one after it.
            import keras
            model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
            """,
            line=3,
        ),
        Invalid(
            """
            # All linear: the 16-unit layer is wider than its 8 inputs, so no bottleneck.
            from keras.models import Sequential
            from keras.layers import Dense, Dropout
            model = Sequential()
            model.add(Dense(16, input_dim=8))
            model.add(Dropout(0.2))
            model.add(Dense(32))
            model.compile(loss="mse", optimizer="sgd")
            """,
            line=5,
        ),
    )
    valid = (
        Valid(
            """
            # A misspelt activation keyword: Keras rejects the layer (KC201 reports it); its
            # "default" linear activation is not what the author wrote.
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential()
            model.add(Dense(32, activation_function="relu"))
            model.add(Dense(1, activation="sigmoid"))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activaton="relu"), keras.layers.Dense(3, activation="softmax")])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Dense(64),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("relu"),
                keras.layers.Dense(1),
            ])
            """
        ),
        Valid(
            """
            import keras
            inputs = keras.Input((16,))
            query = keras.layers.Dense(16)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(query) + query)
            """
        ),
        Valid(
            """
            # The linear 3-D code is itself the output of the encoder model (for plotting).
            import keras
            pixels = keras.Input((784,))
            hidden = keras.layers.Dense(32, activation="relu")(pixels)
            code = keras.layers.Dense(3)(hidden)
            restored = keras.layers.Dense(32, activation="relu")(code)
            restored = keras.layers.Dense(784, activation="sigmoid")(restored)
            autoencoder = keras.Model(pixels, restored)
            encoder = keras.Model(pixels, code)
            """
        ),
        Valid(
            """
            # PCA: an undercomplete linear autoencoder, output as wide as its input.
            import keras
            inputs = keras.Input((784,))
            code = keras.layers.Dense(32)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(784)(code))
            """
        ),
        Valid(
            """
            # A deep linear autoencoder trained to give back its input.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(64), keras.layers.Dense(8), keras.layers.Dense(64), keras.layers.Dense(n_features),
            ])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x_train, x_train, epochs=10)
            """
        ),
        Valid(
            """
            # Reduced-rank linear regression: a 4-unit bottleneck between 50 inputs and 10 outputs.
            import keras
            model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(4), keras.layers.Dense(10)])
            """
        ),
        Valid(
            """
            # The projection is followed by a nonlinearity that is not a layer.
            import keras
            import tensorflow as tf
            inputs = keras.Input((32,))
            hidden = keras.layers.Dense(64)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(1)(tf.nn.relu(hidden)))
            """
        ),
        Valid(
            """
            # LayerNormalization divides by each sample's own spread: not a linear map.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(64), keras.layers.LayerNormalization(), keras.layers.Dense(10, activation="softmax"),
            ])
            """
        ),
        Valid(
            """
            # Logistic regression on embeddings: one Dense after the lookup.
            import keras
            model = keras.Sequential([
                keras.layers.Embedding(1000, 16), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid"),
            ])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        layers = model.layers
        nonlinear = any(isinstance(x.activation, Known) and x.activation.value for x in layers)
        if not nonlinear and _is_autoencoder(model):
            return
        features = _linear_outputs(ctx)
        for index, layer in enumerate(layers):
            if layer.class_name != "Dense" or layer.activation != Known(None):
                continue
            if layer.call is not None and id(layer.call) in features:
                continue  # a model outputs it as it is: a deliberate linear code or feature
            after = _neighbour(model, index, forward=True)
            following = layers[after] if after is not None else None
            if following is None or following.class_name != "Dense":
                continue
            if layer.conditional or following.conditional:
                continue
            if not nonlinear and not _adds_nothing(model, index, following):
                continue
            yield self.finding(
                layer.span,
                "this Dense has no activation and feeds another Dense: two linear layers "
                "compose into one; add an activation (e.g. activation='relu')",
            )


def _linear_outputs(ctx: RuleContext) -> set[int]:
    """The Dense layers some model of the module outputs without an activation (an
    autoencoder's code that an encoder model returns, a logged intermediate output)."""
    return {
        id(output.layer.call)
        for model in ctx.module.models
        for output in model.outputs
        if output.layer is not None and output.layer.call is not None and not output.activations
    }


def _adds_nothing(model: ModelSpec, index: int, following: LayerSpec) -> bool:
    """The linear layer at ``index`` is no bottleneck: at least as wide as the Dense it
    feeds, or as its own input (the pair is then exactly one Dense)."""
    width, after = _units(model.layers[index]), _units(following)
    if after == 1 or (width is not None and after is not None and width >= after):
        return True
    received = _input_width(model, index)
    return width is not None and received is not None and width >= received
