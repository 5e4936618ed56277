from collections.abc import Iterator

from kerascheck.ir import Edit, Finding, Fix, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads, is_class_target, is_continuous_target, labels_under


class SoftmaxRegression(Rule):
    """Flags a softmax output trained with a regression loss (mse, mae, poisson, huber...)
    on targets the code shows are continuous (random reals, a regression data set,
    standardised values).

    A softmax trained with mse on one-hot labels is a (textbook) classifier, not a
    regression, so the loss alone is not evidence; a 1-unit softmax is KC101's finding.
    """

    code = "KC102"
    relevant_names = frozenset()
    experiment = "linear-output"
    name = "softmax-regression"
    summary = "Softmax output trained with a regression loss."
    why = """
        Softmax forces the outputs to be positive and to sum to 1, so a regression target
        (several continuous values, a count, a price) can never be reached: the loss
        plateaus and predictions are squashed towards 1/n. Softmax is for a probability
        distribution over classes, trained with a cross-entropy.
    """
    example = """
        outputs = Dense(n, activation="softmax")(hidden)
        model.compile(loss="poisson", optimizer="adam")
    """
    use_instead = """
        outputs = Dense(n, activation="linear")(hidden)  # or softplus/exponential for counts
        model.compile(loss="poisson", optimizer="adam")
    """
    limitations = """
        Silent when the targets' nature is not visible (read from a file, built by a
        function kerascheck does not follow): a softmax with a regression loss is then
        possibly a classifier trained with mse.
    """
    fix_safety = """
        Unsafe fix (it changes the model): the string 'softmax' becomes 'linear'. No fix
        when the softmax is not a string literal (a `Softmax()` layer, `tf.nn.softmax`).
    """
    invalid = (
        Invalid(
            """
            import numpy as np
            from tensorflow.keras.layers import Input, Dense
            from tensorflow.keras.models import Model
            targets = np.random.rand(1000, 10)
            inputs = Input(shape=(8,))
            hidden = Dense(100, activation="sigmoid")(inputs)
            outputs = Dense(10, activation="softmax")(hidden)
            model = Model(inputs=inputs, outputs=outputs)
            model.compile(optimizer="adam", loss="poisson")
            model.fit(features, targets)
            """,
            line=7,
            fixed="""
            import numpy as np
            from tensorflow.keras.layers import Input, Dense
            from tensorflow.keras.models import Model
            targets = np.random.rand(1000, 10)
            inputs = Input(shape=(8,))
            hidden = Dense(100, activation="sigmoid")(inputs)
            outputs = Dense(10, activation="linear")(hidden)
            model = Model(inputs=inputs, outputs=outputs)
            model.compile(optimizer="adam", loss="poisson")
            model.fit(features, targets)
            """,
        ),
        Invalid(
            """
            import keras
            from sklearn.preprocessing import StandardScaler
            y = StandardScaler().fit_transform(prices)
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
            model.fit(x, y, epochs=5)
            """,
            line=4,
            fixed="""
            import keras
            from sklearn.preprocessing import StandardScaler
            y = StandardScaler().fit_transform(prices)
            model = keras.Sequential([keras.layers.Dense(3, activation="linear")])
            model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
            model.fit(x, y, epochs=5)
            """,
        ),
        Invalid(
            """
            import numpy as np
            from keras import layers, models
            LOSS = "mae"
            model = models.Sequential()
            model.add(layers.Dense(4))
            model.add(layers.Softmax())
            model.compile("adam", LOSS)
            model.fit(x, np.random.uniform(0, 5, (100, 4)))
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model = keras.Sequential([keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer="adam", loss="mse")
            model.evaluate(x, y)
            """,
            line=3,
            fixed="""
            import keras
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model = keras.Sequential([keras.layers.Dense(2, activation="linear")])
            model.compile(optimizer="adam", loss="mse")
            model.evaluate(x, y)
            """,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(5, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(x, y_onehot)
            model.compile(optimizer="adam", loss="huber")
            model.fit(x, np.random.randn(64, 5))
            """,
            line=3,
            fixed="""
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(5, activation="linear")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(x, y_onehot)
            model.compile(optimizer="adam", loss="huber")
            model.fit(x, np.random.randn(64, 5))
            """,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="categorical_crossentropy")
            """
        ),
        Valid(
            """
            # A softmax trained with mse on one-hot labels: a textbook classifier.
            import keras
            (x, y), _ = keras.datasets.mnist.load_data()
            y = keras.utils.to_categorical(y, 10)
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # Nothing shows the targets are continuous: possibly a classifier trained with mse.
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # One unit: KC101 reports the root cause (a constant 1.0), once.
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, np.random.rand(100, 1))
            """
        ),
        Valid(
            """
            # The continuous targets are used under another compile than the mse one.
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(4, activation="softmax")])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, keras.utils.to_categorical(labels, 4))
            model.compile(optimizer="adam", loss="kld")
            model.fit(x, np.random.rand(10, 4))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="kld")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        regression = load().regression_losses
        for head in heads(model, ctx.flavour):
            output = head.output
            if output.activation != Known("softmax") or output.units == Known(1):
                continue
            if head.loss is None or head.compile is None:
                continue
            labels = list(labels_under(model, head.compile))
            if not any(map(is_continuous_target, labels)) or any(map(is_class_target, labels)):
                continue
            name = head.loss.name
            if isinstance(name, Known) and name.value in regression:
                yield self.finding(
                    head.output.activation_span,
                    f"softmax output trained with the regression loss '{head.loss.written}': "
                    "softmax outputs sum to 1 and cannot fit continuous targets; use a linear "
                    "output (activation=None) for regression",
                    fix=Fix(
                        "Use a linear output",
                        (Edit(head.output.activation_span, "linear", "string"),),
                        safe=False,
                    ),
                )
