from collections.abc import Iterator

from kerascheck.ir import CompileSpec, Finding, Known, ModelSpec, OutputSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import (
    heads,
    is_class_target,
    is_continuous_target,
    labels_under,
)

# Output activations that make a class output: Keras's 'accuracy' then fits class targets.
_CLASS_OUTPUTS = frozenset({"sigmoid", "softmax"})


def _regression_targets(model: ModelSpec, compile_spec: CompileSpec, output: OutputSpec) -> bool:
    """The code shows these targets are not classes: continuous targets, or unknown targets
    on an output that is not a class output."""
    labels = list(labels_under(model, compile_spec))
    if any(map(is_class_target, labels)):
        return False
    if any(map(is_continuous_target, labels)):
        return True
    activation = output.activation
    return isinstance(activation, Known) and activation.value not in _CLASS_OUTPUTS


class AccuracyOnRegression(Rule):
    """Flags `metrics=['accuracy']` (or `'acc'`) on an output trained with a regression loss
    on regression targets.

    The targets count as regression targets when the code shows them continuous (random
    reals, a regression data set, standardised values), or when nothing is known of them and
    the output is not a class output (no sigmoid or softmax). With class targets (0/1
    labels, one-hot rows, class ids) Keras picks the right class accuracy by shape, so the
    metric is right even with mse (a least-squares GAN's real/fake accuracy, a softmax
    trained with mse): the rule says nothing there.
    """

    code = "KC104"
    relevant_names = frozenset()
    experiment = "metric-blind-to-error"
    name = "accuracy-on-regression"
    severity = "warning"
    summary = "'accuracy' reported for a regression loss is meaningless."
    why = """
        Accuracy counts exact class matches. For a regression target Keras silently turns
        `'accuracy'` into BinaryAccuracy or CategoricalAccuracy depending on the output
        shape, and reports a number that has nothing to do with how close the predictions
        are: a model can show 50 % "accuracy" while its predictions are far off.
    """
    example = """
        model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
    """
    use_instead = """
        model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    """
    limitations = """
        Silent on a sigmoid or softmax output trained with a regression loss when the
        targets' nature is not visible: that is possibly a classifier trained with mse.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam",
                          metrics=["accuracy"])
            """,
            line=4,
        ),
        Invalid(
            """
            from tensorflow import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=keras.losses.Huber(), optimizer="adam", metrics=["mae", "acc"])
            """,
            line=3,
        ),
        Invalid(
            """
            import numpy as np
            from keras.models import Model
            from keras.layers import Input, Dense
            i = Input((3,))
            model = Model(i, Dense(5, activation="softmax")(i))
            model.compile(optimizer="adam", loss="poisson", metrics=["accuracy"])
            model.fit(np.random.rand(100, 3), np.random.rand(100, 5))
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mae", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y)
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3)])
            model.compile(loss="mean_squared_error", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y, validation_split=0.2)
            """,
            line=3,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam", metrics=["mae"])
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
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=my_loss, optimizer="adam", metrics=["accuracy"])
            """
        ),
        Valid(
            """
            # A least-squares GAN discriminator: mse on 0/1 real/fake labels.
            import numpy as np
            import keras
            d = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
            d.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
            d.train_on_batch(real, np.ones((32, 1)))
            d.train_on_batch(fake, np.zeros((32, 1)))
            """
        ),
        Valid(
            """
            # A softmax classifier trained with mse on one-hot labels: Keras picks
            # CategoricalAccuracy by shape, which is the right metric.
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="mse", optimizer="sgd", metrics=["accuracy"])
            model.fit(x, keras.utils.to_categorical(y, 10))
            """
        ),
        Valid(
            """
            # A sigmoid output trained with mse, targets unknown: possibly a classifier.
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="sgd", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # The 'accuracy' compile is used on class ids; the mse one has no accuracy.
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
            model.fit(x, keras.utils.to_categorical(y, 10))
            model.compile(loss="poisson", optimizer="sgd", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        regression = load().regression_losses
        for head in heads(model, ctx.flavour):
            loss = head.loss
            if (
                loss is None
                or head.compile is None
                or not isinstance(loss.name, Known)
                or loss.name.value not in regression
                or not _regression_targets(model, head.compile, head.output)
            ):
                continue
            for metric in head.metrics:
                if metric.name == Known("accuracy"):
                    yield self.finding(
                        metric.span,
                        f"'{metric.written}' with the regression loss '{loss.written}' measures "
                        "nothing useful (Keras turns it into a class-match accuracy); report "
                        "'mae' or 'mse' instead",
                    )
