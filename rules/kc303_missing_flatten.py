from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import Call, CompileSpec, Finding, Known, LayerSpec, ModelSpec, Value
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads, labels_under

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


# Layers whose output is a sequence (batch, steps, channels) whatever they receive.
_SEQUENCE = frozenset(
    {
        "Conv1D",
        "Convolution1D",
        "SeparableConv1D",
        "Conv1DTranspose",
        "MaxPooling1D",
        "AveragePooling1D",
        "MaxPool1D",
        "AvgPool1D",
        "UpSampling1D",
        "ZeroPadding1D",
        "Cropping1D",
    }
)
_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU"})
# Layers that end with one vector per sample (keepdims=False, the default).
_PER_SAMPLE = frozenset(
    {
        "Flatten",
        "GlobalMaxPooling1D",
        "GlobalAveragePooling1D",
        "GlobalMaxPool1D",
        "GlobalAvgPool1D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPool2D",
        "GlobalAvgPool2D",
        "GlobalMaxPooling3D",
        "GlobalAveragePooling3D",
    }
)


@dataclass(frozen=True)
class _Rank:
    """The number of axes of a layer's output (batch included), and the layer that fixed
    it, as written in messages."""

    axes: int
    source: str


def _flag(call: Call | None, name: str) -> Value[object] | None:
    arg = call.kwarg(name) if call is not None else None
    return arg.value if arg is not None else None


def _length(value: Value[object] | None) -> int | None:
    if isinstance(value, Known) and isinstance(value.value, (tuple, list)):
        return len(value.value)
    return None


def _recurrent(name: str, call: Call | None) -> _Rank | None:
    """An RNN returns (batch, steps, units) with return_sequences=True, else (batch, units)."""
    if _flag(call, "return_state") not in (None, Known(False)):
        return None  # a list: the output and the states
    sequences = _flag(call, "return_sequences")
    if sequences == Known(True):
        return _Rank(3, f"{name}(return_sequences=True)")
    return _Rank(2, name) if sequences in (None, Known(False)) else None


def _own_rank(layer: LayerSpec) -> _Rank | None:
    """The rank a layer's output has whatever its input (None: it depends on the input)."""
    name, call = layer.class_name, layer.call
    if name in _RECURRENT:
        return _recurrent(name, call)
    wrapped = call.positional(0) if call is not None else None
    if name == "Bidirectional" and wrapped is not None and _flag(call, "merge_mode") != Known(None):
        inner = wrapped.value.value if isinstance(wrapped.value, Known) else None
        inner_name = inner.qualname.rsplit(".", 1)[1] if isinstance(inner, Call) else ""
        found = _recurrent(inner_name, inner) if inner_name in _RECURRENT else None
        return _Rank(found.axes, f"Bidirectional({found.source})") if found else None
    if name in _SEQUENCE:
        return _Rank(3, name)
    if name in _SPATIAL:
        return _Rank(5 if name.endswith("3D") else 4, name)
    if name in _PER_SAMPLE:
        return _Rank(2, name) if _flag(call, "keepdims") in (None, Known(False)) else None
    if name == "Reshape" and call is not None:
        target = call.argument("target_shape", 0)
        length = _length(target.value) if target is not None else None
        return _Rank(length + 1, name) if length is not None else None
    if name == "InputLayer" and call is not None:
        shape = call.argument("shape", 0)
        length = _length(shape.value) if shape is not None else None
        return _Rank(length + 1, "the input") if length is not None else None
    return None


def _declared_input_rank(layer: LayerSpec) -> int | None:
    """The rank of the input a first layer declares (``input_shape=(100, 8)``)."""
    shape = _length(_flag(layer.call, "input_shape"))
    if shape is not None:
        return shape + 1
    batch = _length(_flag(layer.call, "batch_input_shape"))
    if batch is not None:
        return batch
    if layer.class_name == "Embedding" and _flag(layer.call, "input_length") is not None:
        return 2
    return None


def _keeps_rank(layer: LayerSpec) -> bool:
    k = load()
    name = layer.class_name
    return (
        name in ("Dense", "Embedding")
        or name in _RANK_KEEPING
        or name in k.transparent_layers
        or name in k.activation_layers
    )


def _rank(model: ModelSpec, position: int) -> _Rank | None:
    """The rank of layer ``position``'s output, traced back through the chain or the
    graph while every layer on the way is known to keep or fix it."""
    seen = 0
    rank_change = 0  # Embedding adds an axis to what it receives
    while seen <= len(model.layers):
        seen += 1
        layer = model.layers[position]
        fixed = _own_rank(layer)
        if fixed is not None:
            return _Rank(fixed.axes + rank_change, fixed.source)
        if not _keeps_rank(layer):
            return None
        if layer.class_name == "Embedding":
            rank_change += 1
        declared = _declared_input_rank(layer)
        if declared is not None:
            source = "the input" if layer.class_name != "Embedding" else "Embedding"
            return _Rank(declared + rank_change, source)
        previous = _producer(model, position)
        if previous is None:
            return None
        position = previous
    return None


def _producer(model: ModelSpec, position: int) -> int | None:
    if model.is_chain:
        return position - 1 if position > 0 else None
    producers = {producer for producer, consumer in model.edges if consumer == position}
    return producers.pop() if len(producers) == 1 else None


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
    """Flags a Dense classification head that receives a feature map or a sequence instead of
    one vector per sample.

    - A Dense applied to a Conv2D/Pooling2D output without Flatten or global pooling, in a
      Sequential classifier (compiled with a cross-entropy loss), or as the output of a
      functional classifier.
    - The output Dense of a classifier whose input is a sequence (batch, steps, features):
      from an RNN with `return_sequences=True`, a Conv1D or 1-D pooling without global
      pooling or Flatten, an Embedding of token ids. Per-step outputs are right for
      sequence tagging, so this needs labels shown to be one per sample: the labels of a
      `keras.datasets` classification set (`imdb`, `reuters`, `mnist`...), also one-hot.

    Tensor ranks are traced through the chain or the graph only where every layer on the
    way fixes or keeps the rank (Dense, normalisation, dropout and activation layers keep
    it; an Embedding adds an axis; Flatten, global pooling and Reshape fix it).
    """

    code = "KC303"
    relevant_names = frozenset()
    experiment = "output-rank"
    name = "missing-flatten"
    summary = "Dense classifier head on a feature map or sequence without Flatten / pooling."
    why = """
        Dense acts on the last axis only. Applied to a (batch, h, w, c) feature map it
        builds fine and outputs (batch, h, w, units): one prediction per pixel instead of
        one per image; applied to a (batch, steps, features) sequence it outputs one
        prediction per step. Labels of shape (batch,) or (batch, classes) then fail at fit
        time (Keras 3.15: "Arguments `target` and `output` must have the same rank") or,
        with a regression loss, broadcast silently.
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
        Only classifiers (a cross-entropy loss): a per-position Dense is legitimate in
        regression, segmentation and sequence-tagging heads. A sequence output needs labels
        known to be one per sample, which only the `keras.datasets` loaders give today; a
        layer of unknown effect on the rank (Lambda, Attention, a custom layer, a merge)
        stops the tracing.
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
        Invalid(
            """
            from keras.datasets import imdb
            from keras.models import Sequential
            from keras.layers import Embedding, LSTM, Dense
            (x_train, y_train), _ = imdb.load_data(num_words=10000)
            model = Sequential()
            model.add(Embedding(10000, 32))
            model.add(LSTM(32, return_sequences=True))
            model.add(Dense(1, activation="sigmoid"))
            model.compile(optimizer="rmsprop", loss="binary_crossentropy")
            model.fit(x_train, y_train, epochs=3)
            """,
            line=8,
        ),
        Invalid(
            """
            import keras
            (x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            inputs = keras.Input((28, 28))
            features = keras.layers.Conv1D(32, 3, activation="relu")(inputs)
            features = keras.layers.MaxPooling1D()(features)
            outputs = keras.layers.Dense(10, activation="softmax")(features)
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(x, y)
            """,
            line=7,
        ),
        Invalid(
            """
            import tensorflow as tf
            (x, y), _ = tf.keras.datasets.reuters.load_data(num_words=5000)
            model = tf.keras.Sequential([
                tf.keras.layers.Embedding(5000, 64, input_length=200),
                tf.keras.layers.Bidirectional(tf.keras.layers.GRU(32, return_sequences=True)),
                tf.keras.layers.Dropout(0.3),
                tf.keras.layers.Dense(46, activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x, y)
            """,
            line=7,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((64, 64, 3))
            features = keras.layers.Conv2D(16, 3, activation="relu")(inputs)
            features = keras.layers.BatchNormalization()(features)
            outputs = keras.layers.Dense(5, activation="softmax")(features)
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """,
            line=5,
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
        Valid(
            """
            # Sequence tagging: one label per step is what the per-step head is for.
            import keras
            model = keras.Sequential([
                keras.layers.Embedding(5000, 64),
                keras.layers.LSTM(64, return_sequences=True),
                keras.layers.Dense(12, activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(token_ids, tag_ids)
            """
        ),
        Valid(
            """
            import keras
            (x, y), _ = keras.datasets.imdb.load_data(num_words=10000)
            model = keras.Sequential([
                keras.layers.Embedding(10000, 32),
                keras.layers.LSTM(32, return_sequences=True),
                keras.layers.LSTM(16),
                keras.layers.Dense(1, activation="sigmoid"),
            ])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            (x, y), _ = keras.datasets.imdb.load_data(num_words=10000)
            model = keras.Sequential([
                keras.layers.Embedding(10000, 32),
                keras.layers.Conv1D(32, 5, activation="relu"),
                keras.layers.GlobalMaxPooling1D(),
                keras.layers.Dense(1, activation="sigmoid"),
            ])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # A language model on the imdb reviews: the targets are the next tokens.
            import keras
            (x, _), _ = keras.datasets.imdb.load_data(num_words=10000)
            model = keras.Sequential([
                keras.layers.Embedding(10000, 32),
                keras.layers.GRU(32, return_sequences=True),
                keras.layers.Dense(10000, activation="softmax"),
            ])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x[:, :-1], x[:, 1:])
            """
        ),
        Valid(
            """
            # An attention layer in between: its effect on the rank is not traced.
            import keras
            (x, y), _ = keras.datasets.imdb.load_data(num_words=10000)
            inputs = keras.Input((200,))
            seq = keras.layers.Embedding(10000, 32)(inputs)
            seq = keras.layers.LSTM(32, return_sequences=True)(seq)
            pooled = keras.layers.Attention()([seq, seq])
            model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if model.is_chain and model.compile is not None and _classifier(model):
            dense = _dense_on_spatial(model.layers)
            if dense is not None and not dense.conditional:
                yield self.finding(dense.span, _SPATIAL_MESSAGE)
        probabilistic = load().probabilistic_losses
        for head in heads(model, ctx.flavour):
            layer, loss = head.output.layer, head.loss
            if layer is None or layer.class_name != "Dense" or layer.conditional:
                continue
            if loss is None or not isinstance(loss.name, Known):
                continue
            if loss.name.value not in probabilistic or head.compile is None:
                continue
            received = _producer(model, layer.position)
            rank = _rank(model, received) if received is not None else None
            if rank is None:
                continue
            if rank.axes >= 4 and not model.is_chain:
                yield self.finding(layer.span, _SPATIAL_MESSAGE)
            elif rank.axes == 3:
                labels = _per_sample_labels(model, head.compile)
                if labels is not None:
                    yield self.finding(
                        layer.span,
                        f"this Dense receives a sequence (batch, steps, features) from "
                        f"{rank.source} and outputs one prediction per step, but the "
                        f"`{labels}` labels are one per sample; set return_sequences=False "
                        "on the last recurrent layer, or add GlobalMaxPooling1D() or "
                        "Flatten() before it",
                    )


_SPATIAL_MESSAGE = (
    "this Dense receives a convolutional feature map (batch, h, w, c) and outputs one "
    "prediction per position; add Flatten() or GlobalAveragePooling2D() before it"
)


def _classifier(model: ModelSpec) -> bool:
    probabilistic = load().probabilistic_losses
    losses = [loss.name for spec in model.judged_compiles for _, loss in spec.losses]
    return any(isinstance(n, Known) and n.value in probabilistic for n in losses)


def _per_sample_labels(model: ModelSpec, compile_spec: CompileSpec) -> str | None:
    """The data set whose labels (one per sample) a run under ``compile_spec`` trains or
    evaluates on: a keras.datasets classification set's labels, also one-hot."""
    datasets = load().datasets
    for labels in labels_under(model, compile_spec):
        name = labels.dataset.value if isinstance(labels.dataset, Known) else None
        known = datasets.get(name) if name is not None else None
        encoded = labels.encoding in (Known("integer"), Known("onehot"))
        if known is not None and known.classes is not None and encoded:
            return name
    return None
