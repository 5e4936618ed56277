from collections.abc import Iterator

from kerascheck.ir import Finding, Known, LayerSpec, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _next_dense(layers: tuple[LayerSpec, ...], start: int) -> LayerSpec | None:
    """The Dense that directly consumes layer ``start``, skipping only dropout-like layers."""
    transparent = load().transparent_layers
    for layer in layers[start + 1 :]:
        if layer.class_name in transparent:
            continue
        return layer if layer.class_name == "Dense" else None
    return None


def _only_consumer(model: ModelSpec, index: int) -> LayerSpec | None:
    """In a graph, the Dense that is the single consumer of layer ``index``, if any."""
    consumers = {consumer for producer, consumer in model.edges if producer == index}
    if len(consumers) != 1:
        return None
    (consumer,) = consumers
    if consumer < 0 or model.layers[consumer].class_name != "Dense":
        return None
    return model.layers[consumer]


class StackedLinearLayers(Rule):
    """Flags a Dense layer without activation followed directly by another Dense layer
    (in a Sequential model, or as the only consumer in a functional graph), in a network
    that uses an activation somewhere else (an all-linear network is a deliberate choice).

    Dropout-like layers in between add no nonlinearity; an `Activation` layer, an activation
    layer (`ReLU()`...) or a normalisation layer in between silences it.
    """

    code = "KC302"
    relevant_names = frozenset()
    experiment = "composed-linear-map"
    name = "stacked-linear-layers"
    severity = "warning"
    summary = "Two Dense layers with no activation between them."
    why = """
        Two linear maps compose into one linear map: `Dense(64)` followed by `Dense(1)` can
        represent nothing that a single `Dense(1)` cannot. The hidden layer only adds
        parameters and training time; the author almost always forgot `activation='relu'`.
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
        flagged: a layer feeding several branches (attention projections, residuals) is not.
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
            import keras
            model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        layers = model.layers
        # A network with no activation anywhere is a deliberate linear model; the fault is
        # a forgotten activation in an otherwise nonlinear network.
        if not any(isinstance(x.activation, Known) and x.activation.value for x in layers):
            return
        for index, layer in enumerate(layers):
            if layer.class_name != "Dense" or layer.activation != Known(None):
                continue
            if model.is_chain:
                following = _next_dense(layers, index)
            else:
                following = _only_consumer(model, index)
            if following is not None and not (layer.conditional or following.conditional):
                yield self.finding(
                    layer.span,
                    "this Dense has no activation and feeds another Dense: two linear layers "
                    "compose into one; add an activation (e.g. activation='relu')",
                )
