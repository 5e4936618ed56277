from collections.abc import Iterator

from kerascheck.ir import CompileSpec, Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import (
    heads,
    is_class_target,
    is_continuous_target,
    labels_under,
)


def _regression_targets(model: ModelSpec, compile_spec: CompileSpec) -> bool:
    """The code shows the targets this compile trains on are continuous, and none are
    classes."""
    labels = list(labels_under(model, compile_spec))
    return any(map(is_continuous_target, labels)) and not any(map(is_class_target, labels))


class AccuracyOnRegression(Rule):
    """Flags `metrics=['accuracy']` (or `'acc'`) on an output trained with a regression loss
    on regression targets.

    The targets count as regression targets when the code shows them continuous (random
    reals, a regression data set, standardised values) at a training or evaluation under
    that compile. A regression loss alone is no evidence: with class targets (0/1 labels,
    one-hot rows, class ids) Keras picks the right class accuracy by shape, so the metric is
    right even with mse (a least-squares classifier, a least-squares GAN's real/fake
    accuracy, a softmax trained with mse).
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
        Silent when the targets' nature is not visible (read from a file, a column of a data
        frame, built by a function kerascheck does not follow): a regression loss may then
        train a least-squares classifier.
    """
    invalid = (
        Invalid(
            """
            import keras
            import numpy as np
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam",
                          metrics=["accuracy"])
            model.fit(np.random.rand(100, 3), np.random.normal(size=(100, 1)))
            """,
            line=5,
        ),
        Invalid(
            """
            from tensorflow import keras
            from sklearn.preprocessing import StandardScaler
            y = StandardScaler().fit_transform(prices.reshape(-1, 1))
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=keras.losses.Huber(), optimizer="adam", metrics=["mae", "acc"])
            model.fit(x, y, epochs=10)
            """,
            line=5,
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
            import numpy as np
            targets = np.random.uniform(-1, 1, (500, 3))
            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3)])
            model.compile(loss="mean_squared_error", optimizer="adam", metrics=["accuracy"])
            model.fit(x, targets, validation_split=0.2)
            """,
            line=5,
        ),
        Invalid(
            """
            # An autoencoder reconstructs its scaled pixels: continuous targets.
            import numpy as np
            import keras
            images = np.stack(loaded).astype("float32") / 255.0
            autoencoder = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(784, activation="sigmoid")])
            autoencoder.compile(optimizer="adam", loss="mean_squared_error", metrics=["accuracy"])
            autoencoder.fit(images, images, epochs=5)
            """,
            line=6,
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
            # A linear output trained with mse on a label column read from a file: possibly a
            # least-squares classifier; nothing shows a regression.
            import pandas as pd
            import keras
            frame = pd.read_csv("train.csv")
            model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
            model.fit(frame[["age", "fare"]], frame.pop("survived"))
            """
        ),
        Valid(
            """
            # Keras 3 maps a flat metrics list one per output and rejects a list of another
            # length: no accuracy is ever computed on the mse head.
            import keras
            import numpy as np
            features = keras.Input(shape=(32,))
            real = keras.layers.Dense(1, activation="sigmoid")(features)
            code = keras.layers.Dense(4)(features)
            critic = keras.Model(features, [real, code])
            critic.compile(loss=["binary_crossentropy", "mse"], optimizer="adam", metrics=["accuracy"])
            """,
            flavour="keras3",
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
                or not _regression_targets(model, head.compile)
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
