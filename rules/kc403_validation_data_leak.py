from collections.abc import Iterator

from kerascheck.ir import (
    DataInfo,
    Finding,
    Known,
    Lineage,
    ModelSpec,
    ModuleSpec,
    RunSpec,
    Span,
)
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _training_inputs(model: ModelSpec, before: RunSpec | None = None) -> list[DataInfo]:
    """The inputs of every fit() of the model before ``before`` (all of them when None)."""
    found: list[DataInfo] = []
    for event in model.events:
        if event is before:
            break
        if isinstance(event, RunSpec) and event.kind == "train":
            found.append(event.x)
    return found


def _trained_on(model: ModelSpec, before: RunSpec | None = None) -> list[Lineage]:
    """The samples of every fit() of the model before ``before`` (all of them when None)."""
    return [x.lineage for x in _training_inputs(model, before) if x.lineage is not None]


def _on_training_data(info: DataInfo, trained: list[Lineage]) -> bool:
    lineage = info.lineage
    return lineage is not None and any(lineage.within(t) for t in trained)


def _tested(module: ModuleSpec) -> bool:
    """The code also evaluates a model on data it was not trained on (or may not have been):
    an evaluation on the training data next to it is then a deliberate comparison."""
    for model in module.models:
        trained = _trained_on(model)
        for run in model.runs:
            if run.kind == "evaluate" and not _on_training_data(run.x, trained):
                return True
    predictions = (s.predictions.prediction for s in module.scores)
    return any(p is not None and not p.on_training_data for p in predictions)


def _named_training(named: str) -> bool:
    """The code calls this result a training figure (``train_acc``, "Training accuracy")."""
    return "train" in named


def _oversampled(lineage: Lineage) -> Lineage | None:
    """The nearest ancestor (or the lineage itself) whose rows were oversampled."""
    current: Lineage | None = lineage
    while current is not None:
        if current.duplicated:
            return current
        current = current.parent
    return None


def _child_of(lineage: Lineage, ancestor: Lineage) -> Lineage:
    """The lineage on ``lineage``'s chain taken directly from ``ancestor`` (the split part)."""
    current = lineage
    while current.parent is not None and current.parent != ancestor:
        current = current.parent
    return current


class ValidationDataLeak(Rule):
    """Flags validation or test data that holds (or was shaped by) the training data.

    Samples are compared by value flow, not by name (`x_test = x_train` and
    `x_train.copy()` are the training samples; a split part or rows selected from them are
    not): `validation_data` or a later `evaluate()` (program order) of the same samples a
    `fit()` of that model trained on, or of rows taken from them; a validation or test
    generator reading the same directory (and subset), dataframe or arrays as the training
    one; `validation_data` or `evaluate()` on a generator that augments; a `tf.data` split by
    `take`/`skip` after a `shuffle` that reshuffles every epoch; rows oversampled with
    replacement (`resample`, `RandomOverSampler`, SMOTE...) before `train_test_split`; a
    scaler, imputer or tokenizer fitted on all rows before the split, or fitted again on the
    test data; predictions on the training data scored against its labels; and
    `validation_split` on the test split of a `keras.datasets` loader.

    An evaluation the code names as a training figure (the result bound to `train_acc`, a
    "Training accuracy" string in its statement) is not a leak, nor is any evaluation on the
    training data when the code also evaluates the model on other data (a train/test
    comparison).
    """

    code = "KC403"
    relevant_names = frozenset()
    experiment = "held-out-validation"
    name = "validation-data-leak"
    severity = "warning"
    summary = "Validation or test data that holds, or was shaped by, the training data."
    why = """
        Metrics computed on the samples a model trained on only measure memorisation: they
        track the training loss, hide overfitting, and make early stopping and model
        selection meaningless. Copies of oversampled rows on both sides of a split, a scaler
        fitted on the test rows, an augmented or reshuffled validation set do the same more
        quietly: the numbers look good and mean little.
    """
    example = """
        model.fit(x_train, y_train, epochs=10)
        loss, acc = model.evaluate(x_train, y_train)
        print("Test accuracy:", acc)
    """
    use_instead = """
        model.fit(x_train, y_train, epochs=10)
        loss, acc = model.evaluate(x_test, y_test)
        print("Test accuracy:", acc)
    """
    limitations = """
        Only what value flow decides is compared: data read by code the engine cannot follow,
        a split it does not know, or a directory path it cannot resolve leaves the samples
        unknown and the rule silent. Rows selected from the training data by a range the
        engine cannot relate (`x[:1000]` after training on `x[:5000]`) are not seen. Labels
        collected in a loop are not followed.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_data=(x_train, y_train))
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x=data.x, y=data.y, epochs=3,
                      validation_data=[data.x, data.y])
            """,
            line=4,
        ),
        Invalid(
            """
            from tensorflow import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.fit(x_test / 255, y_test, validation_split=0.2, batch_size=32)
            """,
            line=4,
        ),
        Invalid(
            """
            # The test set is the training set under another name.
            import keras
            (x_train, y_train), _ = keras.datasets.mnist.load_data()
            x_test, y_test = x_train, y_train
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x_train / 255, y_train, epochs=5)
            test_loss, test_acc = model.evaluate(x_test / 255, y_test)
            """,
            line=8,
        ),
        Invalid(
            """
            # Validating on rows of the training set.
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model.fit(x, y, validation_data=(x[:100], y[:100]))
            """,
            line=6,
        ),
        Invalid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            import keras
            gen = ImageDataGenerator(rescale=1 / 255)
            train = gen.flow_from_directory("data/train", target_size=(64, 64))
            val = gen.flow_from_directory("data/train/", target_size=(64, 64))
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val, epochs=5)
            """,
            line=8,
        ),
        Invalid(
            """
            # The validation subset comes out of the augmenting generator.
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            import keras
            gen = ImageDataGenerator(rescale=1 / 255, validation_split=0.2, rotation_range=30, horizontal_flip=True)
            train = gen.flow_from_directory("photos", subset="training")
            val = gen.flow_from_directory("photos", subset="validation")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val, epochs=5)
            """,
            line=9,
        ),
        Invalid(
            """
            import keras
            from sklearn.utils import resample
            from sklearn.model_selection import train_test_split
            X_up, y_up = resample(X, y, n_samples=20000, random_state=0)
            X_train, X_test, y_train, y_test = train_test_split(X_up, y_up, test_size=0.2)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(X_train, y_train)
            model.evaluate(X_test, y_test)
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            from sklearn.preprocessing import StandardScaler
            from sklearn.model_selection import train_test_split
            X = StandardScaler().fit_transform(X)
            X_train, X_test, y_train, y_test = train_test_split(X, y)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(X_train, y_train, validation_data=(X_test, y_test))
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf
            ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(10000)
            train = ds.take(8000).batch(32)
            val = ds.skip(8000).batch(32)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val, epochs=10)
            """,
            line=5,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            from sklearn.metrics import accuracy_score
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
            model.fit(x_train, y_train)
            y_pred = np.argmax(model.predict(x_train), axis=1)
            print("Accuracy:", accuracy_score(y_train, y_pred))
            """,
            line=9,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_data=(x_val, y_val))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.fit(x_train, y_train, validation_split=0.2)
            """
        ),
        Valid(
            """
            # Disjoint rows: the last 100 validate, the others train.
            import keras
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x[100:], y[100:], validation_data=(x[:100], y[:100]))
            """
        ),
        Valid(
            """
            # A training figure, named as one, next to the test evaluation.
            import keras
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x_train, y_train)
            train_loss, train_acc = model.evaluate(x_train, y_train)
            test_loss, test_acc = model.evaluate(x_test, y_test)
            """
        ),
        Valid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            import keras
            train = ImageDataGenerator(rescale=1 / 255, rotation_range=30).flow_from_directory("data/train")
            val = ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/validation")
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val, epochs=5)
            """
        ),
        Valid(
            """
            # Oversampling after the split, on the training part only.
            import keras
            from imblearn.over_sampling import SMOTE
            from sklearn.model_selection import train_test_split
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
            X_train, y_train = SMOTE().fit_resample(X_train, y_train)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(X_train, y_train, validation_data=(X_test, y_test))
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf
            ds = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(10000, reshuffle_each_iteration=False)
            train = ds.take(8000).batch(32)
            val = ds.skip(8000).batch(32)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam")
            model.fit(train, validation_data=val, epochs=10)
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        tested = _tested(module)
        for model in module.models:
            yield from self.check_model(model, ctx)
            yield from self._evaluations(model, tested)
        for score in module.scores:
            prediction = score.predictions.prediction
            if prediction is None or not prediction.on_training_data:
                continue
            if tested or _named_training(score.named):
                continue
            yield self.finding(
                score.span,
                "predictions on the training data scored against its labels: the score only "
                "measures memorisation; score the predictions on held-out data",
            )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for fit in model.fits:
            split = fit.call.kwarg("validation_split")
            if split is not None and fit.x.split == Known("test"):
                yield self.finding(
                    split.span,
                    "validation_split on the test split of the data set: the model trains on "
                    "the test set; fit on the training split and keep the test set unseen",
                )
            validation = fit.call.kwarg("validation_data")
            if validation is None:
                continue
            if _same_names(fit):
                x, y = fit.call.argument("x", 0), fit.call.argument("y", 1)
                yield self.finding(
                    validation.span,
                    f"validation_data is the training data ({x.source}, {y.source}): the "  # type: ignore[union-attr]
                    "validation metrics only measure memorisation; hold out a separate set "
                    "or use validation_split",
                )
            elif _on_training_data(fit.validation_x, [fit.x.lineage] if fit.x.lineage else []):
                yield self.finding(
                    validation.span,
                    f"validation_data holds the training samples ({fit.validation_x.lineage.what}"  # type: ignore[union-attr]
                    "): the validation metrics only measure memorisation; hold out samples "
                    "the model does not train on",
                )
            yield from self._held_out(model, fit, fit.validation_x, validation.span, "validation")

    def _evaluations(self, model: ModelSpec, tested: bool) -> Iterator[Finding]:
        for run in model.runs:
            if run.kind != "evaluate":
                continue
            span = run.x.span or run.span
            if not _on_training_data(run.x, _trained_on(model, run)):
                yield from self._held_out(model, run, run.x, span, "test")
            elif not tested and not _named_training(run.named):
                yield self.finding(
                    span,
                    f"evaluate() on the samples an earlier fit() trained on "
                    f"({run.x.lineage.what}): the score only measures memorisation; "  # type: ignore[union-attr]
                    "evaluate on held-out data",
                )

    def _resplit(self, span: Span, held: Lineage | None, trained: list[Lineage]) -> Finding:
        """take()/skip() of a dataset that reshuffles every pass (measured, docs/knowledge.md)."""
        source = held
        while source is not None and source.parent is not None:
            source = source.parent  # the samples before any split: the shuffled dataset's
        sibling = source is not None and any(t.within(source) for t in trained)
        if sibling:
            consequence = "the model trains on samples it is then validated or tested on"
        else:
            consequence = "the held-out parts overlap one another"
        return self.finding(
            span,
            "take()/skip() after a shuffle() that reshuffles every pass: each pass splits a "
            f"new random order, so the parts change and share samples across passes, and "
            f"{consequence}; pass reshuffle_each_iteration=False to shuffle() or split "
            "before shuffling",
        )

    def _held_out(
        self, model: ModelSpec, run: RunSpec, held: DataInfo, span: Span, role: str
    ) -> Iterator[Finding]:
        """What leaks into data held out from ``run``'s model (validation or test data)."""
        pipeline = held.pipeline
        if pipeline is not None and pipeline.augments == Known(True):
            yield self.finding(
                span,
                f"the {role} data comes from a generator that augments (random "
                "transformations): its metrics are noisy and lower than on the real images; "
                "use a generator without augmentation (only rescale=) for it",
            )
        lineage = held.lineage
        inputs = [run.x] if run.kind == "train" else _training_inputs(model, run)
        trained = [x.lineage for x in inputs if x.lineage is not None]
        if pipeline is not None and pipeline.resplit is not None:
            yield self._resplit(pipeline.resplit, lineage, trained)
        if lineage is None or not trained:
            return
        oversampled = _oversampled(lineage)
        if oversampled is not None and any(t.within(oversampled) for t in trained):
            part = _child_of(lineage, oversampled)
            yield self.finding(
                part.span or span,
                f"{oversampled.duplicated} repeated rows before this split: copies of the same "
                "rows are in the training and the held-out part, so the held-out metrics count "
                "memorised rows; split first, then oversample the training part only",
            )
        for step in held.preprocessing:
            fitted = step.fitted_on
            if fitted is None or step.span is None:
                continue
            if (
                fitted != lineage
                and lineage.within(fitted)
                and any(t.within(fitted) for t in trained)
            ):
                yield self.finding(
                    step.span,
                    f"{step.what} fitted on all the rows before they were split: what it learns "
                    "(statistics, vocabulary) includes the held-out rows; fit it on the training "
                    "part only and transform the others",
                )
            elif fitted == lineage and _refitted(step.what, inputs, lineage):
                yield self.finding(
                    step.span,
                    f"a {step.what} fitted on the held-out data itself: it is preprocessed "
                    "with other statistics than the training data; transform it with the "
                    f"{step.what} fitted on the training data",
                )


def _refitted(what: str, inputs: list[DataInfo], held: Lineage) -> bool:
    """The training data was preprocessed by a ``what`` fitted on the training data, and the
    held-out data (samples of the same source) by one fitted on itself."""
    for info in inputs:
        own = info.lineage
        if own is None or own == held or not own.related(held):
            continue
        if any(step.what == what and step.fitted_on == own for step in info.preprocessing):
            return True
    return False


def _same_names(fit: RunSpec) -> bool:
    """``fit(x, y, validation_data=(x, y))`` written with the same names."""
    x, y = fit.call.argument("x", 0), fit.call.argument("y", 1)
    validation = fit.call.kwarg("validation_data")
    if x is None or y is None or validation is None:
        return False
    if x.source is None or y.source is None or len(validation.element_sources) < 2:
        return False
    return validation.element_sources[:2] == (x.source, y.source)
