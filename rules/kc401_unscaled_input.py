from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class UnscaledInput(Rule):
    """Flags raw 0-255 images fed to `fit()` of a Sequential model without any scaling.

    Raw images come from `keras.datasets` image loaders (mnist, fashion_mnist, cifar10,
    cifar100), `image_dataset_from_directory`, `load_img`, `cv2.imread`, `imageio.imread`,
    `PIL.Image.open`, and `ImageDataGenerator(...).flow*()` without `rescale=`. Scaling on the
    way (`/ 255`, `x /= 255`, a scikit-learn scaler, `rescale=`), or a `Rescaling` /
    `Normalization` layer in the model, silences it.
    """

    code = "KC401"
    relevant_names = frozenset()
    experiment = "scaled-input"
    name = "unscaled-input"
    severity = "warning"
    summary = "Raw 0-255 pixel values fed to fit()."
    why = """
        With inputs in [0, 255] the first layer's pre-activations are hundreds of times larger
        than the initialisers assume: activations saturate, gradients explode or vanish, and
        the model trains slower and to a worse accuracy than with inputs in [0, 1].
    """
    example = """
        (x_train, y_train), _ = mnist.load_data()
        model.fit(x_train, y_train)
    """
    use_instead = """
        (x_train, y_train), _ = mnist.load_data()
        x_train = x_train.astype("float32") / 255.0
        model.fit(x_train, y_train)
    """
    limitations = """
        Images collected in a loop or built by user functions, scaling done inside user
        functions or `dataset.map(...)`, and functional models (whose input may be scaled by
        operations that are not layers) are not checked.
    """
    invalid = (
        Invalid(
            """
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train, y_train, epochs=5)
            """,
            line=5,
            col=11,
        ),
        Invalid(
            """
            from tensorflow.keras import layers, models
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(horizontal_flip=True).flow_from_directory("data/train")
            model = models.Sequential([layers.Conv2D(32, 3), layers.Flatten(), layers.Dense(10)])
            model.fit(x=train, epochs=3)
            """,
            line=5,
        ),
        Invalid(
            """
            import numpy as np
            from keras.datasets import fashion_mnist
            from keras.models import Sequential
            from keras.layers import Dense, Flatten
            (X_train, y_train), _ = fashion_mnist.load_data()
            X_train = X_train[:, np.newaxis, :, :]
            model = Sequential([Flatten(), Dense(10, activation="softmax")])
            model.fit(X_train, y_train)
            """,
            line=8,
        ),
        Invalid(
            """
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            (x, y), _ = keras.datasets.cifar10.load_data()
            augment = ImageDataGenerator(rotation_range=10, horizontal_flip=True)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.fit(augment.flow(x, y, batch_size=32), epochs=3)
            """,
            line=6,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.mnist.load_data()
            x_train = x_train.astype("float32") / 255
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.mnist.load_data()
            x_train /= 255.0
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            import keras
            (x_train, y_train), _ = keras.datasets.cifar10.load_data()
            model = keras.Sequential([keras.layers.Rescaling(1.0 / 255), keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(x_train, y_train)
            """
        ),
        Valid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            import keras
            train = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory("data/train")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(train)
            """
        ),
        Valid(
            """
            # The arrays were scaled before the generator: flow() yields them as they are.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            (x, y), _ = keras.datasets.cifar10.load_data()
            x = x.astype("float32") / 255.0
            augment = ImageDataGenerator(rotation_range=10, horizontal_flip=True)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.fit(augment.flow(x, y, batch_size=32), epochs=3)
            """
        ),
        Valid(
            """
            # Nothing is known of these arrays' scale.
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            augment = ImageDataGenerator(horizontal_flip=True)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.fit(augment.flow(images, labels), epochs=3)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        k = load()
        # Only Sequential models: a functional graph can scale its input with an operation
        # that is not a layer (``preprocess_input(inputs)``), which the IR does not see.
        if model.kind != "sequential" or not model.complete:
            return
        if any(layer.class_name in k.input_scaling_layers for layer in model.layers):
            return
        for fit in model.fits:
            if fit.x.scaled != Known("raw_0_255"):
                continue
            arg = fit.call.argument("x", 0)
            source = fit.x.dataset.value if isinstance(fit.x.dataset, Known) else "image"
            yield self.finding(
                arg.span if arg is not None else fit.span,
                f"images from `{source}` are fed to fit() as raw 0-255 values; scale them first "
                "(x = x.astype('float32') / 255.0) or add keras.layers.Rescaling(1/255) as the "
                "first layer",
            )
