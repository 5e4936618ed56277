from collections.abc import Iterator, Sequence

from kerascheck.ir import (
    ApplicationSpec,
    DataInfo,
    Finding,
    Known,
    ModelSpec,
    PartSpec,
    PixelOp,
    RunSpec,
    Span,
)
from kerascheck.knowledge import PixelMap, applications
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

RAW: PixelMap = ((0.0, 0.0, 0.0), (255.0, 255.0, 255.0))
# Rescaling a raw-pixel pipeline writes first: evidence the code feeds 0-255 pixels.
_RAW_SCALES = (1 / 255, 1 / 127.5)


class BackboneInputScale(Rule):
    """Flags a pretrained `keras.applications` backbone fed pixels on another scale than the
    one its weights were trained on.

    What each family expects is generated from the installed Keras
    (tools/gen_applications.py): its module's `preprocess_input` applied to 0-255 pixels.
    EfficientNet, EfficientNetV2, ConvNeXt and MobileNetV3 start with their own Rescaling /
    Normalization layers and their `preprocess_input` does nothing, so they expect raw 0-255
    pixels; ResNet, VGG, DenseNet, Inception, MobileNet(V2), NASNet and Xception need their
    module's `preprocess_input` (caffe: BGR, mean-subtracted; tf: [-1, 1]; torch:
    standardised). The pixels reaching the backbone are followed from the data given to
    `fit` / `evaluate` / `predict` (`x / 255`, an `ImageDataGenerator`'s `rescale` or
    `preprocessing_function`, `preprocess_input` of which module) through the layers and
    operations in front of it (`Rescaling`, `x / 255`, `preprocess_input`,
    `Lambda(preprocess_input)`, augmentation layers that keep the scale).
    """

    code = "KC407"
    name = "backbone-input-scale"
    experiment = "pretrained-input-scale"
    severity = "warning"
    relevant_names = frozenset({"preprocess_input"}) | frozenset(applications().constructors)
    summary = "A pretrained backbone is fed pixels on a scale its weights were not trained on."
    why = """
        The ImageNet weights of a backbone only make sense on inputs scaled the way they were
        trained: EfficientNet given `x / 255` sees images 255 times darker than it learnt on
        (it rescales again inside), ResNet50 given raw or [0, 1] pixels misses its mean
        subtraction and BGR order. Nothing fails: the features are just poor, transfer
        learning underperforms, and the usual conclusion is that the backbone is bad.
    """
    example = """
        base = keras.applications.EfficientNetB0(include_top=False, pooling="avg")
        inputs = keras.Input((224, 224, 3))
        x = keras.layers.Rescaling(1 / 255)(inputs)   # EfficientNet rescales itself
        model = keras.Model(inputs, keras.layers.Dense(10)(base(x)))
    """
    use_instead = """
        base = keras.applications.EfficientNetB0(include_top=False, pooling="avg")
        inputs = keras.Input((224, 224, 3))          # raw 0-255 pixels
        model = keras.Model(inputs, keras.layers.Dense(10)(base(inputs)))

        base = keras.applications.ResNet50(include_top=False, pooling="avg")
        x = keras.applications.resnet50.preprocess_input(inputs)
        model = keras.Model(inputs, keras.layers.Dense(10)(base(x)))
    """
    fix_safety = """
        No automatic fix: whether to remove a scaling step, add the right `preprocess_input`
        or replace another module's depends on where the data is prepared, which may be far
        from the model.
    """
    limitations = """
        Only backbones built with `weights="imagenet"` (the default) and their default
        preprocessing are judged; a weights file may hold weights trained on anything. Data
        prepared in `tf.data` maps, user functions or loops, a `Normalization` layer, and any
        operation the analysis cannot follow between the model's input and the backbone leave
        the scale unknown and the rule silent. When only the graph is known, its first
        rescaling (`Rescaling(1/255)`, `preprocess_input`) is taken as the code's own word
        that the data are 0-255 pixels. Standalone Keras 2 (`keras_applications`) is not
        judged: its families preprocess differently.
    """
    invalid = (
        Invalid(
            """
            import keras
            base = keras.applications.EfficientNetB0(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            x = keras.layers.Rescaling(1.0 / 255)(inputs)
            outputs = keras.layers.Dense(10, activation="softmax")(base(x))
            model = keras.Model(inputs, outputs)
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.cifar10.load_data()
            x_train = x_train / 255.0
            base = keras.applications.ResNet50(include_top=False, pooling="avg", input_shape=(32, 32, 3))
            inputs = keras.Input((32, 32, 3))
            model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(base(inputs)))
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_train, y_train)
            """,
            line=8,
        ),
        Invalid(
            """
            from tensorflow.keras.applications import EfficientNetB3
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            from tensorflow.keras import layers, models
            train = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory("data/train")
            model = models.Sequential([EfficientNetB3(include_top=False, pooling="avg"), layers.Dense(5, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(train, epochs=3)
            """,
            line=7,
        ),
        Invalid(
            """
            import keras
            from keras.applications.efficientnet import EfficientNetB0
            from keras.applications.vgg16 import preprocess_input
            base = EfficientNetB0(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            x = preprocess_input(inputs)
            model = keras.Model(inputs, keras.layers.Dense(2)(base(x)))
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            base = keras.applications.MobileNetV2(include_top=False, pooling="avg", input_shape=(32, 32, 3))
            features = base.predict(x)
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            base = keras.applications.DenseNet121(include_top=False, input_shape=(224, 224, 3))
            model = keras.Sequential([
                keras.layers.Rescaling(1.0 / 255),
                base,
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(3, activation="softmax"),
            ])
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            # EfficientNet on raw pixels: it rescales them itself.
            import keras
            (x_train, y_train), _ = keras.datasets.cifar10.load_data()
            base = keras.applications.EfficientNetB0(include_top=False, pooling="avg", input_shape=(32, 32, 3))
            inputs = keras.Input((32, 32, 3))
            model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(base(inputs)))
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            # ResNet50 with resnet50's preprocess_input on raw pixels.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            x = keras.applications.resnet50.preprocess_input(inputs)
            model = keras.Model(inputs, keras.layers.Dense(10)(base(x)))
            """
        ),
        Valid(
            """
            # Random weights learn whatever scale they are given.
            import keras
            base = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            x = keras.layers.Rescaling(1.0 / 255)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(10)(base(x)))
            """
        ),
        Valid(
            """
            # VGG16's preprocess_input is the same caffe preprocessing as ResNet50's.
            from tensorflow import keras
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            from tensorflow.keras.applications.vgg16 import preprocess_input
            train = ImageDataGenerator(preprocessing_function=preprocess_input).flow_from_directory("data")
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            model = keras.Sequential([base, keras.layers.Dense(4, activation="softmax")])
            model.fit(train)
            """
        ),
        Valid(
            """
            # MobileNetV2 expects [-1, 1]: Rescaling(1/127.5, offset=-1) gives exactly that.
            import keras
            base = keras.applications.MobileNetV2(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            x = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)
            model = keras.Model(inputs, keras.layers.Dense(10)(base(x)))
            """
        ),
        Valid(
            """
            # The data are prepared in a tf.data map the analysis does not follow.
            import keras
            train = keras.utils.image_dataset_from_directory("data").map(prepare)
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((256, 256, 3))
            model = keras.Model(inputs, keras.layers.Dense(3)(base(inputs)))
            model.fit(train)
            """
        ),
        Valid(
            """
            # ResNet50 given raw pixels by data of unknown origin: nothing is known.
            import keras
            base = keras.applications.ResNet50(include_top=False, pooling="avg")
            inputs = keras.Input((224, 224, 3))
            model = keras.Model(inputs, keras.layers.Dense(10)(base(inputs)))
            model.fit(images, labels)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if ctx.flavour == "legacy":
            return
        # One finding per backbone use and cause, at the first run that shows it.
        reported: set[tuple[int, str]] = set()
        uses = list(_backbones(model.parts, ()))
        if model.application is not None:
            uses.append((model.application, ()))
        for application, ops in uses:
            if not _pretrained(application):
                continue
            runs: Sequence[RunSpec | None] = model.runs or (None,)
            for run in runs:
                finding = self._judge(application, ops, run)
                key = (id(application), finding.message) if finding is not None else None
                if finding is not None and key not in reported:
                    reported.add(key)  # type: ignore[arg-type]
                    yield finding

    def _judge(
        self, application: ApplicationSpec, ops: tuple[PixelOp, ...], run: RunSpec | None
    ) -> Finding | None:
        table = applications()
        entry = table.constructors[application.constructor]
        expected = table.preprocess_input[entry.module]
        data = run.x if run is not None else DataInfo()
        start, described = _data_scale(data, table.preprocess_input)
        scaling = [op for op in ops if op.kind != "keep"]
        if start is None:
            if not scaling or not _raw_pixel_op(scaling[0]):
                return None
            start, described = RAW, None  # the graph's own word: 0-255 pixels come in
        actual = start
        for op in scaling:
            actual = _apply(op, actual, table.preprocess_input)
            if actual is None:
                return None
        if _close(actual, expected):
            return None
        steps = ([described] if described else []) + [op.written for op in scaling]
        arg = run.call.argument("x", 0) if run is not None else None
        if described or not scaling:
            span: Span | None = arg.span if arg is not None else (run.span if run else None)
        else:
            span = scaling[0].span
        if span is None:
            return None
        return self.finding(
            span, _message(application.constructor, entry.module, expected, actual, steps)
        )


def _backbones(
    parts: tuple[PartSpec, ...], before: tuple[PixelOp, ...]
) -> Iterator[tuple[ApplicationSpec, tuple[PixelOp, ...]]]:
    """Each backbone among the parts (and the parts' parts), with the pixel operations
    from the model's input to it."""
    for part in parts:
        for use in part.calls:
            if use.input_ops is None:
                continue
            ops = before + use.input_ops
            if part.application is not None:
                yield part.application, ops
            else:
                yield from _backbones(part.parts, ops)


def _pretrained(application: ApplicationSpec) -> bool:
    return application.weights == Known("imagenet") and application.include_preprocessing == Known(
        True
    )


def _data_scale(data: DataInfo, maps: dict[str, PixelMap]) -> tuple[PixelMap | None, str | None]:
    """What the data's pixels are, from what the code did to them (None: not known)."""
    scaled = data.scaled.value if isinstance(data.scaled, Known) else None
    generator = data.dataset == Known("ImageDataGenerator")
    if scaled == "raw_0_255":
        return RAW, None
    if scaled == "unit":
        how = "the generator's rescale=1/255" if generator else "the data divided by 255"
        return _affine(RAW, 1 / 255, 0.0), how
    if isinstance(scaled, str) and "preprocess_input:" in scaled:
        before, _, module = scaled.partition("preprocess_input:")
        if module not in maps:
            return None, None
        start = _affine(RAW, 1 / 255, 0.0) if before == "unit+" else RAW
        mapped = _through(maps[module], start)
        where = "the generator's preprocessing_function" if generator else "the data given"
        return mapped, f"{where} {_module_name(module)}.preprocess_input" + (
            " after / 255" if before else ""
        )
    return None, None


def _raw_pixel_op(op: PixelOp) -> bool:
    if op.kind == "preprocess_input":
        return True
    return op.kind == "affine" and any(abs(op.scale - s) < 1e-6 for s in _RAW_SCALES)


def _affine(pixels: PixelMap, scale: float, offset: float) -> PixelMap:
    low, high = pixels
    return (tuple(v * scale + offset for v in low), tuple(v * scale + offset for v in high))


def _through(module_map: PixelMap, pixels: PixelMap) -> PixelMap:
    """A module's preprocess_input (affine per channel) applied to ``pixels``."""
    low, high = module_map
    scales = [(h - lo) / 255 for lo, h in zip(low, high, strict=True)]
    return tuple(
        tuple(lo + v * s for v, lo, s in zip(values, low, scales, strict=True)) for values in pixels
    )  # type: ignore[return-value]


def _apply(op: PixelOp, pixels: PixelMap, maps: dict[str, PixelMap]) -> PixelMap | None:
    if op.kind == "affine":
        return _affine(pixels, op.scale, op.offset)
    if op.module is None or op.module not in maps:
        return None
    return _through(maps[op.module], pixels)


def _close(actual: PixelMap, expected: PixelMap) -> bool:
    for channel in range(3):
        low, high = expected[0][channel], expected[1][channel]
        tolerance = 0.05 * abs(high - low)
        if abs(actual[0][channel] - low) > tolerance or abs(actual[1][channel] - high) > tolerance:
            return False
    return True


def _range(pixels: PixelMap) -> str:
    low, high = pixels
    if len(set(low)) == 1 and len(set(high)) == 1:
        return f"[{low[0]:.4g}, {high[0]:.4g}]"
    lows = ", ".join(f"{v:.4g}" for v in low)
    highs = ", ".join(f"{v:.4g}" for v in high)
    return f"0 -> [{lows}], 255 -> [{highs}]"


def _module_name(module: str) -> str:
    if module.startswith("imagenet_utils:"):
        return f"imagenet_utils (mode='{module.partition(':')[2]}')"
    return module


def _message(
    constructor: str, module: str, expected: PixelMap, actual: PixelMap, steps: list[str]
) -> str:
    if expected == RAW:
        wanted = (
            f"{constructor} expects raw 0-255 pixels: it rescales them itself "
            f"(keras.applications.{module}.preprocess_input does nothing)"
        )
        advice = "drop the scaling in front of it"
    else:
        wanted = (
            f"{constructor}'s ImageNet weights expect keras.applications.{module}"
            f".preprocess_input of 0-255 pixels ({_range(expected)})"
        )
        advice = f"apply keras.applications.{module}.preprocess_input to the 0-255 pixels instead"
    how = " then ".join(steps) if steps else "raw pixels"
    return f"{wanted}, but it is fed {_range(actual)} ({how}); {advice}"
