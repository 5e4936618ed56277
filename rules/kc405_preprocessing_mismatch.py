from collections.abc import Iterator

from kerascheck.ir import DataInfo, Finding, Known, ModelSpec, RunSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

# The scales the data flow knows, as a message names them.
_SCALES = {
    "raw_0_255": "raw 0-255 pixels",
    "unit": "values scaled to [0, 1]",
    "standardized": "standardised values",
    "centered": "centred values",
    "untouched": "unscaled values",
    "half_255": "values divided by 127.5",
    "minus_one_one": "values scaled to [-1, 1]",
    "caffe": "caffe-style values (preprocess_input of ResNet50 / VGG: BGR, ImageNet mean subtracted)",
    "torch": "torch-style values (preprocess_input of DenseNet: ImageNet mean and std)",
}
# Layers that may scale the model's own input: which scale is meant is then the model's.
_SCALING_LAYERS = frozenset({"Rescaling", "Normalization", "Lambda"})
_VERBS = {"evaluate": "evaluated", "predict": "predicted"}


def _scale(info: DataInfo) -> str | None:
    value = info.scaled.value if isinstance(info.scaled, Known) else None
    if isinstance(value, str) and value.startswith("preprocess_input:"):
        # A keras.applications module's preprocess_input of 0-255 pixels: its family's
        # scale (ResNet50 and VGG16 share caffe's; measured, docs/knowledge.md).
        value = load().preprocess_input_scales.get(value.partition(":")[2])
    return value if value in _SCALES else None


def _differ(trained: DataInfo, other: DataInfo) -> bool:
    """Two known, different scales. "Unscaled" is relative to where the data came from, so it
    is compared only between samples of one source (a split's parts, rows of the same)."""
    a, b = _scale(trained), _scale(other)
    if a is None or b is None or a == b:
        return False
    if "untouched" in (a, b):
        return (
            trained.lineage is not None
            and other.lineage is not None
            and trained.lineage.related(other.lineage)
        )
    return True


def _scales_itself(model: ModelSpec) -> bool:
    """The model may scale its input (a Rescaling layer, an operation that is not a layer, a
    layer the engine cannot see), or is not a model whose layers it knows."""
    if model.kind not in ("sequential", "functional") or not model.complete:
        return True
    if any(layer.class_name in _SCALING_LAYERS or not layer.known_layer for layer in model.layers):
        return True
    return any(consumer == -1 for _, consumer in model.edges)


class PreprocessingMismatch(Rule):
    """Flags data evaluated, predicted or validated on another scale than the model was
    trained on.

    The scale of the inputs is followed from where they are made, as KC401 does, into
    generators and datasets: raw 0-255 images (`keras.datasets`, `load_img`,
    `image_dataset_from_directory`, `flow_from_directory` without `rescale=`), `/ 255`,
    `rescale=1/255`, `Rescaling(1/255)` in a dataset `map`, scikit-learn scalers,
    `keras.applications` `preprocess_input` (each family's own scale, measured), `x / 127.5
    - 1`. The training scale is the one of every `fit()` before the call, in program order.
    Data "unscaled" (a split part nothing was done to) is compared only with samples of the
    same source: `X_train = scaler.fit_transform(X_train)` but `X_test` given raw.
    """

    code = "KC405"
    relevant_names = frozenset()
    name = "preprocessing-mismatch"
    experiment = "scale-mismatch"
    severity = "error"
    summary = "Data evaluated, predicted or validated on another scale than the training data."
    why = """
        A network learns the scale of its training inputs. Given raw 0-255 pixels after
        training on [0, 1] (a test generator without `rescale=`, an image loaded for
        prediction and not divided by 255), every activation is hundreds of times off: the
        predictions are garbage and the test accuracy is chance, while nothing raises.
    """
    example = """
        train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train")
        test = ImageDataGenerator().flow_from_directory("data/test")
        model.fit(train)
        model.evaluate(test)
    """
    use_instead = """
        train = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train")
        test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test")
        model.fit(train)
        model.evaluate(test)
    """
    limitations = """
        Only scales the data flow knows are compared; anything between that could scale (a
        function it cannot follow, a `map` it cannot read, a loop) leaves the scale unknown
        and the rule silent. A model that scales its own input (a `Rescaling` /
        `Normalization` / `Lambda` layer, an operation on the input tensor, a subclassed or
        loaded model) is not judged. Runs before any `fit()` of the model (a loaded model)
        have no training scale to compare with.
    """
    invalid = (
        Invalid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            import keras
            train = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True).flow_from_directory("data/train")
            test = ImageDataGenerator().flow_from_directory("data/test")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, epochs=5)
            model.evaluate(test)
            """,
            line=8,
            col=16,
        ),
        Invalid(
            """
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train / 255.0, y_train, epochs=5)
            model.evaluate(x_test, y_test)
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
            x_train = x_train.astype("float32") / 255
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train, y_train, validation_data=(x_test, y_test))
            """,
            line=6,
            col=46,
        ),
        Invalid(
            """
            # A photo loaded for prediction is not divided by 255 as the training images were.
            import numpy as np
            import keras
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory("pets/train", class_mode="binary")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, epochs=10)
            image = keras.utils.img_to_array(keras.utils.load_img("cat.jpg", target_size=(150, 150)))
            print(model.predict(np.expand_dims(image, axis=0)))
            """,
            line=10,
        ),
        Invalid(
            """
            import keras
            from sklearn.model_selection import train_test_split
            from sklearn.preprocessing import StandardScaler
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
            scaler = StandardScaler()
            X_train = scaler.fit_transform(X_train)
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(X_train, y_train, epochs=20)
            predictions = model.predict(X_test)
            """,
            line=10,
        ),
        Invalid(
            """
            # ResNet50's preprocess_input on the training images, 1/255 on the test images.
            import keras
            from keras.applications.resnet50 import preprocess_input
            from keras.preprocessing.image import ImageDataGenerator
            train = ImageDataGenerator(preprocessing_function=preprocess_input).flow_from_directory("data/train")
            test = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory("data/test")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train)
            model.evaluate(test)
            """,
            line=10,
        ),
        Invalid(
            """
            # A Rescaling layer mapped over the training dataset only.
            import keras
            train_ds = keras.utils.image_dataset_from_directory("flowers/train")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test")
            normalize = keras.layers.Rescaling(1.0 / 255)
            train_ds = train_ds.map(lambda x, y: (normalize(x), y))
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train_ds, epochs=3)
            model.evaluate(test_ds)
            """,
            line=10,
        ),
    )
    valid = (
        Valid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            import keras
            train = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True).flow_from_directory("data/train")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, epochs=5)
            model.evaluate(test)
            """
        ),
        Valid(
            """
            # The model rescales its own input: the scale outside it is its business.
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train / 255.0, y_train, epochs=5)
            model.evaluate(x_test, y_test)
            """
        ),
        Valid(
            """
            # A helper the engine cannot see may scale the test images.
            import keras
            from utils import prepare
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train / 255.0, y_train, epochs=5)
            model.evaluate(prepare(x_test), y_test)
            """
        ),
        Valid(
            """
            import keras
            from sklearn.model_selection import train_test_split
            from sklearn.preprocessing import StandardScaler
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
            scaler = StandardScaler().fit(X_train)
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(scaler.transform(X_train), y_train, epochs=20)
            predictions = model.predict(scaler.transform(X_test))
            """
        ),
        Valid(
            """
            # Another file: its own scale is not known, so nothing is compared.
            import keras
            import pandas as pd
            from sklearn.preprocessing import MinMaxScaler
            train = pd.read_csv("train.csv")
            test = pd.read_csv("test.csv")
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(MinMaxScaler().fit_transform(train.values), target, epochs=20)
            model.predict(test.values)
            """
        ),
        Valid(
            """
            # Evaluated before any fit() here (weights loaded): no training scale to compare.
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.load_weights("mnist.weights.h5")
            model.evaluate(x_test, y_test)
            model.fit(x_train / 255.0, y_train)
            """
        ),
        Valid(
            """
            import keras
            train_ds = keras.utils.image_dataset_from_directory("flowers/train")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test")
            normalize = keras.layers.Rescaling(1.0 / 255)
            train_ds = train_ds.map(lambda x, y: (normalize(x), y))
            test_ds = test_ds.map(lambda x, y: (normalize(x), y))
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(train_ds, validation_data=test_ds, epochs=3)
            model.evaluate(test_ds)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if _scales_itself(model):
            return
        trained: list[DataInfo] = []
        for event in model.events:
            if not isinstance(event, RunSpec):
                continue
            if event.kind == "train":
                if _differ(event.x, event.validation_x):
                    yield self._mismatch(event.x, event.validation_x, "validated", event)
                trained.append(event.x)
                continue
            scales = {_scale(info) for info in trained}
            if len(scales) != 1 or None in scales:
                continue  # not trained here yet, or on scales the paths do not agree on
            if all(_differ(info, event.x) for info in trained):
                yield self._mismatch(trained[-1], event.x, _VERBS[event.kind], event)

    def _mismatch(self, trained: DataInfo, other: DataInfo, verb: str, run: RunSpec) -> Finding:
        was, given = _SCALES[_scale(trained) or ""], _SCALES[_scale(other) or ""]
        return self.finding(
            other.span or run.span,
            f"{verb} on {given} but the model was trained on {was}: it sees inputs on "
            "another scale than it learnt and its outputs mean nothing; preprocess them as "
            "the training data was",
        )
