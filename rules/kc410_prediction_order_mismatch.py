from collections.abc import Iterator

from kerascheck.ir import Edit, Finding, Fix, Known, ModuleSpec, Pipeline, Score
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _file_order(score: Score) -> bool:
    order = score.labels.order
    return isinstance(order, Known) and isinstance(order.value, tuple) and order.value[0] == "files"


def _trained_on(module: ModuleSpec, pipeline: Pipeline) -> bool:
    """The generator is also given to a fit() (where turning shuffling off would hurt)."""
    return any(
        run.kind == "train" and run.x.pipeline is not None and run.x.pipeline == pipeline
        for model in module.models
        for run in model.runs
    )


def _fix(module: ModuleSpec, pipeline: Pipeline | None) -> Fix | None:
    """``shuffle=False`` where the predicted generator is made, when it is not trained on."""
    if pipeline is None or pipeline.call is None or pipeline.made_by == "tf.data":
        return None
    if _trained_on(module, pipeline) or pipeline.call.has_star_args:
        return None
    given = pipeline.call.kwarg("shuffle")
    if given is not None:
        edit = Edit(given.span, "False")
    elif pipeline.shuffle_default and pipeline.call.args:
        # Before the closing parenthesis: after the last argument's value could land inside
        # its parentheses (``target_size=(64, 64)``).
        edit = Edit(pipeline.call.span, ", shuffle=False", "before_close")
    else:
        return None
    return Fix(f"Create the {pipeline.made_by} with shuffle=False", (edit,), safe=True)


class PredictionOrderMismatch(Rule):
    """Flags predictions of a shuffling generator or dataset compared with labels in another
    order.

    `flow_from_directory`, `flow_from_dataframe`, `flow` and `image_dataset_from_directory` /
    `text_dataset_from_directory` shuffle by default, and `tf.data` `shuffle()` reshuffles on
    every pass (measured on Keras 3.15). `model.predict(generator)` then returns the
    predictions in that pass's random order, while `generator.classes` / `.labels` are in
    file order and labels collected in another pass (`[y for x, y in dataset]`) come in
    another random order. Comparisons followed: scikit-learn's `accuracy_score`,
    `confusion_matrix`, `classification_report`, `f1_score`... and `==`, through `np.argmax`
    and thresholds.
    """

    code = "KC410"
    relevant_names = frozenset()
    name = "prediction-order-mismatch"
    experiment = "prediction-order"
    severity = "error"
    summary = "Predictions of a shuffling generator compared with labels in another order."
    why = """
        The i-th prediction belongs to another image than the i-th label: the accuracy,
        confusion matrix and report describe random pairs and sit at chance level however
        good the model is (or, worse, look plausible). Nothing warns.
    """
    example = """
        test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test")
        predicted = np.argmax(model.predict(test), axis=1)
        print(confusion_matrix(test.classes, predicted))
    """
    use_instead = """
        test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test", shuffle=False)
        predicted = np.argmax(model.predict(test), axis=1)
        print(confusion_matrix(test.classes, predicted))
    """
    fix_safety = """
        Safe when the predicted generator is not used for training: `shuffle=False` where it
        is made keeps every prediction and changes only their order, to the order of its
        `.classes`. No fix when the same generator also feeds `fit()` (training would stop
        shuffling: make a separate generator for prediction), nor for a `tf.data`
        `shuffle()` (take it out of the prediction pipeline).
    """
    limitations = """
        Labels collected in a `for` loop over the dataset, a `Sequence` subclass, or
        predictions reordered by code the engine cannot follow are not seen.
    """
    invalid = (
        Invalid(
            """
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import confusion_matrix
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test", target_size=(64, 64))
            predicted = np.argmax(model.predict(test), axis=1)
            print(confusion_matrix(test.classes, predicted))
            """,
            line=8,
            fixed="""
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import confusion_matrix
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test", target_size=(64, 64), shuffle=False)
            predicted = np.argmax(model.predict(test), axis=1)
            print(confusion_matrix(test.classes, predicted))
            """,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            from sklearn.metrics import accuracy_score
            model = keras.models.load_model("flowers.keras")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test", image_size=(180, 180))
            y_true = np.concatenate([y for x, y in test_ds], axis=0)
            y_pred = np.argmax(model.predict(test_ds), axis=1)
            print(accuracy_score(y_true, y_pred))
            """,
            line=8,
            col=7,
            fixed="""
            import numpy as np
            import keras
            from sklearn.metrics import accuracy_score
            model = keras.models.load_model("flowers.keras")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test", image_size=(180, 180), shuffle=False)
            y_true = np.concatenate([y for x, y in test_ds], axis=0)
            y_pred = np.argmax(model.predict(test_ds), axis=1)
            print(accuracy_score(y_true, y_pred))
            """,
        ),
        Invalid(
            """
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import classification_report
            import keras
            gen = ImageDataGenerator(rescale=1.0 / 255)
            train = gen.flow_from_directory("xray/train", class_mode="binary")
            test = gen.flow_from_directory("xray/test", class_mode="binary", shuffle=True)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, epochs=5)
            model.evaluate(test)
            predictions = model.predict(test) > 0.5
            print(classification_report(test.classes, predictions))
            """,
            line=12,
            fixed="""
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import classification_report
            import keras
            gen = ImageDataGenerator(rescale=1.0 / 255)
            train = gen.flow_from_directory("xray/train", class_mode="binary")
            test = gen.flow_from_directory("xray/test", class_mode="binary", shuffle=False)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, epochs=5)
            model.evaluate(test)
            predictions = model.predict(test) > 0.5
            print(classification_report(test.classes, predictions))
            """,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test")
            y_pred = model.predict(test).argmax(axis=1)
            print("accuracy", np.mean(y_pred == test.classes))
            """,
            line=7,
            fixed="""
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test", shuffle=False)
            y_pred = model.predict(test).argmax(axis=1)
            print("accuracy", np.mean(y_pred == test.classes))
            """,
        ),
        Invalid(
            """
            # A tf.data dataset reshuffled on each pass: no automatic fix.
            import numpy as np
            import tensorflow as tf
            import keras
            from sklearn.metrics import f1_score
            model = keras.models.load_model("model.keras")
            ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(1024).batch(64)
            truth = np.concatenate([y.numpy() for _, y in ds])
            guess = np.argmax(model.predict(ds), axis=-1)
            print(f1_score(truth, guess, average="macro"))
            """,
            line=10,
        ),
        Invalid(
            """
            # The generator also trains the model: no automatic fix.
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import confusion_matrix
            data = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/all")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(data, epochs=3)
            print(confusion_matrix(data.classes, np.argmax(model.predict(data), axis=1)))
            """,
            line=10,
        ),
    )
    valid = (
        Valid(
            """
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import confusion_matrix
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test", shuffle=False)
            predicted = np.argmax(model.predict(test), axis=1)
            print(confusion_matrix(test.classes, predicted))
            """
        ),
        Valid(
            """
            import numpy as np
            import keras
            from sklearn.metrics import accuracy_score
            model = keras.models.load_model("flowers.keras")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test", shuffle=False)
            y_true = np.concatenate([y for x, y in test_ds], axis=0)
            y_pred = np.argmax(model.predict(test_ds), axis=1)
            print(accuracy_score(y_true, y_pred))
            """
        ),
        Valid(
            """
            # One fixed permutation: every pass yields the same order.
            import numpy as np
            import tensorflow as tf
            import keras
            from sklearn.metrics import f1_score
            model = keras.models.load_model("model.keras")
            ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(1024, reshuffle_each_iteration=False).batch(64)
            truth = np.concatenate([y.numpy() for _, y in ds])
            guess = np.argmax(model.predict(ds), axis=-1)
            print(f1_score(truth, guess, average="macro"))
            """
        ),
        Valid(
            """
            # Arrays keep their order: predictions of x_test line up with y_test.
            import numpy as np
            import keras
            from sklearn.metrics import confusion_matrix
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.models.load_model("mnist.keras")
            print(confusion_matrix(y_test, np.argmax(model.predict(x_test), axis=1)))
            """
        ),
        Valid(
            """
            # The labels are put in the order of the predictions.
            import numpy as np
            import keras
            from keras.preprocessing.image import ImageDataGenerator
            from sklearn.metrics import confusion_matrix
            model = keras.models.load_model("model.keras")
            test = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/test")
            predicted = np.argmax(model.predict(test), axis=1)
            print(confusion_matrix(test.classes[test.index_array], predicted))
            """
        ),
        Valid(
            """
            # Labels and predictions from the same pass.
            import numpy as np
            import keras
            model = keras.models.load_model("model.keras")
            test_ds = keras.utils.image_dataset_from_directory("flowers/test")
            y_true, y_pred = [], []
            for images, labels in test_ds:
                y_true.extend(labels.numpy())
                y_pred.extend(np.argmax(model.predict(images), axis=1))
            print(np.mean(np.array(y_true) == np.array(y_pred)))
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        for score in module.scores:
            predictions, labels = score.predictions, score.labels
            prediction = predictions.prediction
            if prediction is None or predictions.lineage is None or labels.lineage is None:
                continue
            if predictions.lineage != labels.lineage:
                continue
            if not isinstance(predictions.order, Known) or not isinstance(labels.order, Known):
                continue
            if predictions.order == labels.order:
                continue
            made_by = prediction.pipeline.made_by if prediction.pipeline else "the dataset"
            if _file_order(score):
                other = f"labels in file order ({labels.origin or '.classes'})"
            else:
                other = "labels collected in another pass over it, which reshuffles"
            yield self.finding(
                score.span,
                f"predictions of a {made_by} that shuffles, in a random order, compared with "
                f"{other}: prediction and label of a row belong to different samples and the "
                "score is chance; predict on a generator made with shuffle=False",
                fix=_fix(module, prediction.pipeline),
            )
