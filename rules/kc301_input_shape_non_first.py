from collections.abc import Iterator

from kerascheck.ir import Finding, Known, LayerSpec, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

_SHAPE_ARGUMENTS = ("input_shape", "input_dim", "batch_input_shape")
# Layers whose own `input_dim` is not a shape (Embedding: the vocabulary size).
_OWN_INPUT_DIM = frozenset({"Embedding"})
# Layers that pass on the shape they receive.
_SAME_SHAPE = frozenset(
    {
        "InputLayer",
        "Masking",
        "Activation",
        "BatchNormalization",
        "LayerNormalization",
        "ReLU",
        "LeakyReLU",
        "PReLU",
        "ELU",
        "Softmax",
    }
)


def _declared(layer: LayerSpec) -> tuple[object, ...] | None:
    """The input shape a layer's arguments state (``input_shape``, ``shape`` of an
    InputLayer, ``(input_dim,)``): literal values, or the names written where a value is
    not known (``input_shape=(n,)`` then ``input_dim=n`` state the same shape)."""
    if layer.call is None:
        return None
    for name in ("input_shape", "shape", "batch_input_shape", "input_dim"):
        arg = layer.call.kwarg(name)
        if arg is None:
            continue
        value = arg.value.value if isinstance(arg.value, Known) else None
        if name == "input_dim":
            stated = value if isinstance(value, int) else arg.source
            return (stated,) if stated is not None else None
        if isinstance(value, (tuple, list)):
            shape = tuple(value)
        elif arg.element_sources and all(arg.element_sources):
            shape = tuple(arg.element_sources)
        else:
            return None
        return shape[1:] if name == "batch_input_shape" else shape
    return None


# What a layer receives when only shape-keeping layers with no stated shape come before it:
# the model's input, taken from the data at the first call.
_FROM_DATA = ("<the data>",)


def _incoming(layers: tuple[LayerSpec, ...], index: int) -> tuple[object, ...] | None:
    """The shape the layer at ``index`` receives, where the chain shows it: what the first
    layer states, through layers that keep the shape, or a Dense's width."""
    same_shape = _SAME_SHAPE | load().transparent_layers
    for position in range(index - 1, -1, -1):
        layer = layers[position]
        if position == 0 and layer.class_name in same_shape:
            declared = _declared(layer)
            if declared is None and layer.class_name != "InputLayer":
                return _FROM_DATA
            return declared
        if layer.class_name in same_shape:
            continue
        units = layer.units
        if layer.class_name == "Dense" and isinstance(units, Known):
            return (units.value,)
        return None
    return None


class InputShapeNonFirst(Rule):
    """Flags `input_shape` / `input_dim` / `batch_input_shape` on a layer that is not the
    first of a Sequential model.

    Silent where the ignored shape is what the layer receives anyway (`Dense(18,
    input_dim=36)` after a 36-unit Dense): redundant, but nothing the author set is lost;
    and where only shape-keeping layers with no stated shape come first
    (`BatchNormalization()` then `Dense(64, input_dim=16)`): the model takes its input shape
    from the data, which the engine does not see.
    """

    code = "KC301"
    relevant_names = frozenset()
    name = "input-shape-non-first"
    severity = "warning"
    summary = "input_shape / input_dim on a layer that is not first in a Sequential model."
    why = """
        Only the first layer's input shape defines the model's input. On any later layer
        the argument is ignored (Keras 3 only emits a generic UserWarning), so a shape the
        author believed they set, such as `Dense(18, input_dim=36)`, silently has no effect
        and usually hides a misunderstanding of the architecture (a shape that differs from
        what the layer really receives).
    """
    example = """
        model.add(Dense(64, input_dim=36, activation="relu"))
        model.add(Dense(18, input_dim=36, activation="relu"))  # receives 64 values
    """
    use_instead = """
        model.add(keras.Input(shape=(36,)))
        model.add(Dense(64, activation="relu"))
        model.add(Dense(18, activation="relu"))
    """
    fix_safety = "Safe fix: remove the argument (it has no effect)."
    invalid = (
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential()
            model.add(Dense(64, input_dim=36, activation="relu"))
            model.add(Dense(18, input_dim=36, activation="relu"))
            """,
            line=5,
            col=21,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([
                tf.keras.layers.Conv2D(8, 3, input_shape=(32, 32, 3)),
                tf.keras.layers.Conv2D(8, 3, input_shape=(32, 32, 3)),
            ])
            """,
            line=4,
        ),
        Invalid(
            """
            # The stated shape is not what the layer receives after the convolution.
            import keras
            model = keras.Sequential([
                keras.layers.GaussianNoise(0.1, input_shape=(32, 32, 3)),
                keras.layers.Conv2D(8, 3),
                keras.layers.Conv2D(8, 3, input_shape=(32, 32, 3)),
            ])
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, input_shape=(8,))])
            """,
            line=2,
        ),
    )
    valid = (
        Valid(
            """
            # No shape before it: the model is built from the data (16 features or not).
            from keras.models import Sequential
            from keras.layers import BatchNormalization, Dense
            model = Sequential()
            model.add(BatchNormalization())
            model.add(Dense(64, input_dim=16, activation="tanh"))
            model.add(Dense(2, activation="softmax"))
            """
        ),
        Valid(
            """
            # The first layers pass their stated shape on: the repeat states what is received.
            import keras
            model = keras.Sequential([
                keras.layers.Masking(mask_value=0.0, input_shape=(20, 5)),
                keras.layers.BatchNormalization(),
                keras.layers.LSTM(8, input_shape=(20, 5)),
            ])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.InputLayer(input_shape=(12,)), keras.layers.Dense(4, input_dim=12)])
            """
        ),
        Valid(
            """
            import keras
            features = train_x.shape[1]
            model = keras.Sequential()
            model.add(keras.layers.InputLayer(input_shape=(features,)))
            model.add(keras.layers.Dense(64, input_dim=features, activation="relu"))
            """
        ),
        Valid(
            """
            # Redundant but consistent: the second layer does receive 36 values.
            from keras.models import Sequential
            from keras.layers import Dense, Dropout
            model = Sequential()
            model.add(Dense(36, input_dim=36, activation="relu"))
            model.add(Dropout(0.2))
            model.add(Dense(18, input_dim=36, activation="relu"))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(4, input_shape=(8,)), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input((20,)), keras.layers.Embedding(input_dim=10, output_dim=5)])
            """
        ),
        Valid(
            """
            import keras
            inputs = keras.Input((8,))
            outputs = keras.layers.Dense(1, input_dim=8)(keras.layers.Dense(4)(inputs))
            model = keras.Model(inputs, outputs)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if not model.is_chain or not model.layers or not model.layers[0].known_layer:
            return
        for index, layer in enumerate(model.layers[1:], start=1):
            if layer.call is None or layer.conditional:
                continue
            for name in _SHAPE_ARGUMENTS:
                if name == "input_dim" and layer.class_name in _OWN_INPUT_DIM:
                    continue
                arg = layer.call.kwarg(name)
                if arg is None:
                    continue
                declared = _declared(layer)
                incoming = _incoming(model.layers, index)
                if declared is not None and declared == incoming:
                    continue  # ignored, but it says what the layer receives: nothing is lost
                if incoming == _FROM_DATA:
                    # The model takes its input shape from the data: whether the stated one
                    # is what arrives is not known here, and nothing the code sets is lost.
                    continue
                yield self.finding(
                    arg.keyword_span or arg.span,
                    f"`{name}=` on the {layer.class_name} at position {layer.position + 1} "
                    "has no effect: only the first layer's input shape is used; remove it "
                    "(or start the model with keras.Input(shape=...))",
                )
