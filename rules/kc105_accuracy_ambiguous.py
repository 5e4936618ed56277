from collections.abc import Iterator

from kerascheck.ir import CompileSpec, Finding, Known, MetricSpec, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import Head, heads, labels_under

# Metrics that threshold predictions at 0.5 as binary accuracy does.
_BINARY_ACCURACY = frozenset({"accuracy", "binary_accuracy"})
_BINARY_LOSSES = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})


def _thresholds_at_half(metric: MetricSpec) -> bool:
    """'accuracy' on a 1-unit output, 'binary_accuracy', or BinaryAccuracy() at 0.5."""
    if metric.name in (Known(n) for n in _BINARY_ACCURACY):
        return True
    call = metric.call
    if call is None or metric.written != "BinaryAccuracy" or call.has_star_args:
        return False
    threshold = call.argument("threshold", 2)
    return threshold is None or threshold.value in (Known(0.5), Known(0.50))


def _exact_match(metric: MetricSpec) -> bool:
    """``keras.metrics.Accuracy`` (the class, not the string 'Accuracy', which compile()
    resolves like 'accuracy': measured)."""
    return metric.written == "Accuracy" and not metric.literal


def _plus_minus_one(model: ModelSpec, compile_spec: CompileSpec) -> bool:
    return any(y.encoding == Known("plus_minus_one") for y in labels_under(model, compile_spec))


def _measures_something_else(model: ModelSpec, head: Head, metric: MetricSpec) -> str | None:
    """Why the accuracy this metric computes is not the model's accuracy, or None."""
    output, loss = head.output, head.loss
    one_unit = output.units == Known(1)
    if _exact_match(metric) and isinstance(output.activation, Known):
        return (
            "keras.metrics.Accuracy counts predictions exactly equal to the labels: on "
            "real-valued outputs it stays near 0 (measured 0.002 against a true 0.996 on "
            "sigmoid probabilities); use 'accuracy' (or BinaryAccuracy / CategoricalAccuracy)"
        )
    if not one_unit or not _thresholds_at_half(metric):
        return None
    binary_loss = (
        loss is not None and isinstance(loss.name, Known) and loss.name.value in _BINARY_LOSSES
    )
    if binary_loss and output.activation == Known(None) and loss.from_logits == Known(True):  # type: ignore[union-attr]
        return (
            f"'{metric.written}' on a logits output (from_logits=True) thresholds the logits at "
            "0.5 instead of 0, so predictions between 0 and 0.5 count as negatives (measured "
            "0.984 reported against a true 0.996); use "
            "keras.metrics.BinaryAccuracy(threshold=0.0)"
        )
    if head.compile is not None and not binary_loss and _plus_minus_one(model, head.compile):
        return (
            f"labels are -1/+1 but '{metric.written}' compares them with predictions "
            "thresholded to 0/1: a -1 label never matches (measured 0.49 reported against a "
            "true 0.999 with hinge); map the labels to 0/1 (hinge converts them itself) and "
            "use keras.metrics.BinaryAccuracy(threshold=0.0) on outputs centred at 0"
        )
    return None


def _multi_label(model: ModelSpec, compile_spec: CompileSpec) -> bool:
    """The code shows multi-label targets (several ones per row) under this compile."""
    return any(y.encoding == Known("multihot") for y in labels_under(model, compile_spec))


class AccuracyAmbiguous(Rule):
    """Flags an accuracy metric that does not measure the model's accuracy.

    The accuracy family of faults (issue 22 chose to keep them under one code: the number
    printed as "accuracy" is not the model's accuracy, whatever the cause):

    - `'accuracy'` resolving to the wrong metric. Version-aware (see `--target-keras`): standalone Keras <= 2.3 picks the accuracy from the
    loss, so `binary_crossentropy` on a multi-class softmax reports `binary_accuracy`
    (inflated). tf.keras and Keras 3 pick it from the output shape, so a multi-unit sigmoid
    output reports `CategoricalAccuracy`: wrong for multi-label targets (several ones per
    row), exactly right for one-hot single-label targets. So under tf.keras and Keras 3 the
    rule needs evidence of multi-label targets in the code (`MultiLabelBinarizer`,
    `make_multilabel_classification`) at a training or evaluation under that compile.
    - A binary accuracy (`'accuracy'` on a 1-unit output, `'binary_accuracy'`,
      `BinaryAccuracy()`) on a linear output trained with `from_logits=True`: it thresholds
      the logits at 0.5 instead of 0 (measured on Keras 3.15).
    - `keras.metrics.Accuracy` (the class): it counts exact equality, near 0 on real-valued
      outputs (the string `'Accuracy'` is resolved like `'accuracy'`: measured).
    - `'accuracy'` with -1/+1 labels (hinge, WGAN critics): a -1 never equals a prediction
      thresholded to 0/1. With binary_crossentropy the labels are KC112's finding.
    """

    code = "KC105"
    relevant_names = frozenset()
    experiment = "reported-vs-true-accuracy"
    name = "accuracy-ambiguous"
    severity = "warning"
    summary = "The accuracy metric does not measure the model's accuracy (output, logits, labels)."
    why = """
        The string 'accuracy' is not one metric: Keras chooses one for you. On MNIST,
        softmax(10) + binary_crossentropy + 'accuracy' reported 99.8 % under Keras 2 while
        the real categorical accuracy was 98.99 %; in Keras 3, a multi-label sigmoid output
        reports categorical accuracy (7 % measured) while the element-wise accuracy is 52 %.
        On logits, binary accuracy reported 0.984 for a true 0.996 (worse on harder
        problems); `keras.metrics.Accuracy()` on sigmoid probabilities 0.002 for 0.996;
        with -1/+1 labels and hinge, 0.49 for 0.999 (Keras 3.15, measured).
    """
    example = """
        model.add(Dense(10, activation="sigmoid"))  # multi-label
        model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    """
    use_instead = """
        model.compile(loss="binary_crossentropy", metrics=[keras.metrics.BinaryAccuracy()])
    """
    limitations = """
        Multi-label targets built by hand (a loop setting several ones per row, a file of
        tags) carry no evidence the engine can see: the rule is then silent under tf.keras
        and Keras 3. With categorical_crossentropy on a multi-unit sigmoid the fault is the
        loss (KC109), reported there. -1/+1 labels are seen when the code makes them
        (`np.where(c, -1, 1)`, `y * 2 - 1`, `-np.ones(n)`).
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer="adam", metrics=["accuracy"])
            """,
            line=3,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                          metrics=[tf.keras.metrics.BinaryAccuracy()])
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=[keras.metrics.Accuracy()])
            """,
            line=3,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            y = np.where(labels > 0, 1, -1)
            model = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            model.compile(loss="hinge", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """,
            line=5,
        ),
        Invalid(
            """
            # A WGAN critic: -1 for real, +1 for fake, and 'accuracy'.
            import numpy as np
            import keras
            def wasserstein(y_true, y_pred):
                return keras.ops.mean(y_true * y_pred)
            critic = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1)])
            critic.compile(loss=wasserstein, optimizer="rmsprop", metrics=["accuracy"])
            valid = -np.ones((64, 1))
            critic.train_on_batch(images, valid)
            """,
            line=7,
        ),
        Invalid(
            """
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            y = MultiLabelBinarizer().fit_transform(tags)
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """,
            line=5,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential()
            model.add(Dense(10, init="glorot_uniform", activation="softmax"))
            model.compile(loss="binary_crossentropy", optimizer="adamax", metrics=["accuracy"])
            """,
            line=5,
            flavour="legacy",
        ),
        Invalid(
            """
            import tensorflow as tf
            from sklearn.datasets import make_multilabel_classification
            inp = tf.keras.Input((32,))
            out = tf.keras.layers.Dense(5, activation="sigmoid")(inp)
            model = tf.keras.Model(inp, out)
            model.compile(loss="binary_crossentropy",
                          metrics=["acc"])
            x, y = make_multilabel_classification(n_classes=5)
            model.fit(x, y)
            """,
            line=7,
        ),
        Invalid(
            """
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            mlb = MultiLabelBinarizer()
            y_train = mlb.fit_transform(train_tags)
            y_test = mlb.transform(test_tags)
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(20, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.evaluate(x_test, y_test)
            """,
            line=7,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(4, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["acc"])
            """,
            line=4,
            flavour="legacy",
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True), optimizer="adam",
                          metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
            """
        ),
        Valid(
            """
            # Multi-class logits: SparseCategoricalAccuracy takes the argmax, right on logits.
            import keras
            model = keras.Sequential([keras.layers.Dense(10)])
            model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="adam", metrics=["accuracy"])
            """
        ),
        Valid(
            """
            # The string 'Accuracy' is resolved like 'accuracy'.
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["Accuracy"])
            """
        ),
        Valid(
            """
            # -1/+1 labels with binary_crossentropy: KC112 reports the labels.
            import numpy as np
            import keras
            y = np.where(labels > 0, 1, -1)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import numpy as np
            import keras
            y = np.where(labels > 0, 1, 0)
            model = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            model.compile(loss="hinge", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """,
            flavour="keras3",
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", metrics=["binary_accuracy"])
            """
        ),
        Valid(
            """
            # One-hot single-label targets: CategoricalAccuracy is exactly right.
            import keras
            (x, y), _ = keras.datasets.cifar10.load_data()
            y = keras.utils.to_categorical(y, 10)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Nothing shows the targets are multi-label.
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # np.eye(n)[y]: one-hot rows.
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="sigmoid")])
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, np.eye(3)[labels])
            """,
            flavour="tf2",
        ),
        Valid(
            """
            # categorical_crossentropy on a multi-unit sigmoid: KC109's finding, not this one.
            import keras
            from sklearn.preprocessing import MultiLabelBinarizer
            y = MultiLabelBinarizer().fit_transform(tags)
            model = keras.Sequential([keras.layers.Dense(10, activation="sigmoid")])
            model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        for head in heads(model, ctx.flavour):
            output, loss = head.output, head.loss
            for metric in head.metrics:
                problem = _measures_something_else(model, head, metric)
                if problem is not None:
                    yield self.finding(metric.span, problem)
            units = output.units
            if not isinstance(units, Known) or units.value < 2:
                continue
            for metric in head.metrics:
                if metric.name != Known("accuracy"):
                    continue
                if ctx.flavour == "legacy":
                    if (
                        output.activation == Known("softmax")
                        and units.value > 2
                        and loss is not None
                        and loss.name == Known("binary_crossentropy")
                    ):
                        yield self.finding(
                            metric.span,
                            "with binary_crossentropy, Keras <= 2.3 turns "
                            f"'{metric.written}' into binary_accuracy, which is inflated for a "
                            f"{units.value}-class softmax; use metrics=['categorical_accuracy'] "
                            "(and loss='categorical_crossentropy')",
                        )
                elif (
                    output.activation == Known("sigmoid")
                    and head.compile is not None
                    and loss is not None
                    and loss.name != Known("categorical_crossentropy")
                    and _multi_label(model, head.compile)
                ):
                    yield self.finding(
                        metric.span,
                        f"on a {units.value}-unit sigmoid (multi-label) output Keras resolves "
                        f"'{metric.written}' to CategoricalAccuracy, which does not measure "
                        "per-label accuracy; use metrics=[keras.metrics.BinaryAccuracy()]",
                    )
