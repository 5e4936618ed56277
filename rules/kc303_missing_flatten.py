from collections.abc import Iterator

from kerascheck.ir import Finding, Known, LayerSpec, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

# Layers whose output keeps 2-D/3-D spatial axes (rank 4 or 5).
_SPATIAL = frozenset(
    {
        "Conv2D",
        "Conv3D",
        "Convolution2D",
        "Convolution3D",
        "SeparableConv2D",
        "DepthwiseConv2D",
        "Conv2DTranspose",
        "Conv3DTranspose",
        "MaxPooling2D",
        "MaxPooling3D",
        "AveragePooling2D",
        "AveragePooling3D",
        "MaxPool2D",
        "AvgPool2D",
        "UpSampling2D",
        "ZeroPadding2D",
        "Cropping2D",
    }
)
# Layers after which the tensor is no longer spatial.
_FLATTENING = frozenset(
    {
        "Flatten",
        "Reshape",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling3D",
        "GlobalAvgPool2D",
        "GlobalMaxPool2D",
    }
)
# Layers that keep whatever rank they receive.
_RANK_KEEPING = frozenset({"BatchNormalization", "LayerNormalization", "Activation"})


def _dense_on_spatial(layers: tuple[LayerSpec, ...]) -> LayerSpec | None:
    """The first Dense that receives a spatial (rank >= 4) tensor, if the rank is known."""
    k = load()
    spatial = False
    for layer in layers:
        name = layer.class_name
        if name in _SPATIAL:
            spatial = True
        elif name in _FLATTENING:
            spatial = False
        elif name == "Dense":
            if spatial:
                return layer
        elif name in _RANK_KEEPING or name in k.transparent_layers or name in k.activation_layers:
            continue
        else:
            spatial = False  # unknown effect on the rank: stop reasoning
    return None


class MissingFlatten(Rule):
    """Flags a Dense layer applied to a Conv2D/Pooling2D output without Flatten or global
    pooling, in a Sequential classifier (compiled with a cross-entropy loss)."""

    code = "KC303"
    relevant_names = frozenset()
    experiment = "output-rank"
    name = "missing-flatten"
    summary = "Dense on a convolutional feature map without Flatten / global pooling."
    why = """
        Dense acts on the last axis only. Applied to a (batch, h, w, c) feature map it
        builds fine and outputs (batch, h, w, units): one prediction per pixel instead of
        one per image. Labels of shape (batch,) or (batch, classes) then fail at fit time or,
        with some losses, broadcast silently.
    """
    example = """
        model.add(Conv2D(32, (3, 3), activation="relu"))
        model.add(MaxPooling2D())
        model.add(Dense(10, activation="softmax"))
    """
    use_instead = """
        model.add(Conv2D(32, (3, 3), activation="relu"))
        model.add(MaxPooling2D())
        model.add(Flatten())  # or GlobalAveragePooling2D()
        model.add(Dense(10, activation="softmax"))
    """
    fix_safety = "Unsafe fix (changes the model): insert Flatten() before the Dense."
    limitations = """
        Only Sequential models compiled with a cross-entropy loss: a per-pixel Dense is
        legitimate in regression or segmentation heads, and Conv1D / recurrent outputs
        (per time step) are not flagged.
    """
    invalid = (
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Conv2D, MaxPooling2D, Dense
            model = Sequential()
            model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
            model.add(MaxPooling2D((2, 2)))
            model.add(Dense(10, activation="softmax"))
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """,
            line=6,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([
                tf.keras.layers.Conv2D(16, 3, activation="relu"),
                tf.keras.layers.BatchNormalization(),
                tf.keras.layers.Dropout(0.2),
                tf.keras.layers.Dense(1, activation="sigmoid"),
            ])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Conv2D(8, 3), keras.layers.Dense(64, activation="relu"),
                keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            """,
            line=3,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Conv2D(8, 3), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Conv2D(8, 3), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Conv2D(50, (3, 3), padding="same", input_shape=(None, None, 2)),
                keras.layers.Dense(50, activation="relu"),
                keras.layers.Dense(1),
            ])
            model.compile(loss="mean_squared_error", optimizer="adadelta")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if not model.is_chain or model.compile is None:
            return
        probabilistic = load().probabilistic_losses
        losses = [loss.name for spec in model.judged_compiles for _, loss in spec.losses]
        if not any(isinstance(n, Known) and n.value in probabilistic for n in losses):
            return
        dense = _dense_on_spatial(model.layers)
        if dense is not None and not dense.conditional:
            yield self.finding(
                dense.span,
                "this Dense receives a convolutional feature map (batch, h, w, c) and outputs "
                "one prediction per position; add Flatten() or GlobalAveragePooling2D() "
                "before it",
            )
