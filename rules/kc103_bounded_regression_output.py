import math
from collections.abc import Iterator

from kerascheck.ir import UNKNOWN, DataInfo, Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads, is_class_target, is_continuous_target

_TARGET_RANGES = {
    "standardized": "standardized (mean 0, std 1: about a third of the values lie outside [-1, 1])",
    "continuous": "raw regression values",
}


def _regression_dataset(name: str) -> bool:
    dataset = load().datasets.get(name)
    return dataset is not None and dataset.classes is None


class BoundedRegressionOutput(Rule):
    """Flags a sigmoid / tanh / softmax output trained with a regression loss on targets
    shown to leave its range.

    The evidence is the data flow into `fit()`: targets drawn from a known interval
    (`np.random.uniform(0, 10)`, `randn` / `normal` / `make_regression`: unbounded,
    `poisson` counts: unbounded above), scaled into one (`MinMaxScaler(feature_range=...)`,
    `/ 255` and other arithmetic with known numbers), the documented targets of
    `keras.datasets` regression sets (`boston_housing`: typically 10-50 k$,
    `california_housing`: 25,000-500,000 $), or standardised (`StandardScaler`,
    `(y - y.mean()) / y.std()`). Class ids are not regression targets. Without such evidence
    it is silent. A softmax on continuous targets is KC102's finding.
    """

    code = "KC103"
    relevant_names = frozenset()
    experiment = "attainable-range"
    name = "bounded-regression-output"
    summary = "Bounded output activation on a regression target outside its range."
    why = """
        A sigmoid can only output (0, 1) and tanh (-1, 1). Trained with mse on standardised
        or raw targets, the model can never reach most of them: the loss plateaus high and
        predictions saturate at the bounds, without any error.
    """
    example = """
        y = StandardScaler().fit_transform(prices)
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="mse", optimizer="sgd")
        model.fit(x, y)
    """
    use_instead = """
        model.add(Dense(1))  # linear output for regression
    """
    fix_safety = "Unsafe fix (changes the model): remove the output activation."
    limitations = """
        Targets read from files or data frames (a `price` column) or transformed by user
        code carry no range information, so the rule stays silent for them; a row selection
        by mask or index array forgets the range (it may select by value). Single-output
        models only.
    """
    invalid = (
        Invalid(
            """
            from sklearn.preprocessing import StandardScaler
            from keras.models import Sequential
            from keras.layers import Dense
            Y = StandardScaler().fit_transform(prices)
            model = Sequential([Dense(36, activation="relu"), Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="sgd")
            model.fit(X, Y)
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            (x, y), _ = keras.datasets.boston_housing.load_data()
            model = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            model.compile(loss="mae", optimizer="adam")
            model.fit(x, y, epochs=5)
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            y_std = (y - y.mean()) / y.std()
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y_std)
            """,
            line=3,
        ),
        Invalid(
            """
            import numpy as np
            import keras
            x = np.random.rand(500, 3)
            y = np.random.uniform(0, 10, size=500)
            model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x[:400], y[:400])
            """,
            line=5,
        ),
        Invalid(
            """
            from sklearn.datasets import make_regression
            import keras
            X, y = make_regression(n_samples=200, n_features=4, noise=0.1)
            model = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            model.compile(optimizer="adam", loss="mean_absolute_error")
            model.fit(X, y.astype("float32"))
            """,
            line=4,
        ),
        Invalid(
            """
            # Counts: never negative, unbounded above.
            import numpy as np
            from tensorflow import keras
            counts = np.random.poisson(4.0, size=(1000, 1))
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="poisson")
            model.fit(features, counts)
            """,
            line=5,
        ),
        Invalid(
            """
            from sklearn.preprocessing import MinMaxScaler
            import keras
            y = MinMaxScaler(feature_range=(-1, 1)).fit_transform(prices)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y)
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            x = images / 255.0
            model = keras.Sequential([keras.layers.Dense(784, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, x)
            """
        ),
        Valid(
            """
            from sklearn.preprocessing import MinMaxScaler
            import keras
            y = MinMaxScaler().fit_transform(prices)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y_scaled_to_minus_one_one)
            """
        ),
        Valid(
            """
            # Drawn from [0, 1), scaled down into it, or from [-1, 1]: within the range.
            import numpy as np
            import keras
            y1 = np.random.rand(100)
            y2 = np.random.uniform(0, 50, 100) / 50
            y3 = np.random.uniform(-1, 1, 100)
            m1 = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            m1.compile(loss="mse", optimizer="adam")
            m1.fit(x, y1)
            m2 = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            m2.compile(loss="mse", optimizer="adam")
            m2.fit(x, y2)
            m3 = keras.Sequential([keras.layers.Dense(1, activation="tanh")])
            m3.compile(loss="mse", optimizer="adam")
            m3.fit(x, y3)
            """
        ),
        Valid(
            """
            # A mask may select by value: the range is no longer known.
            import numpy as np
            import keras
            y = np.random.uniform(0, 10, 1000)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x[y < 1], y[y < 1])
            """
        ),
        Valid(
            """
            # Class ids trained with mse are not a regression target (other rules judge them).
            import numpy as np
            import keras
            y = np.random.randint(0, 5, 300)
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, y)
            """
        ),
        Valid(
            """
            # A softmax on continuous targets: KC102 reports it, once.
            import numpy as np
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            model.compile(loss="mse", optimizer="adam")
            model.fit(x, np.random.normal(size=(64, 10)))
            """
        ),
        Valid(
            """
            # Counts with a linear output: nothing bounds it.
            import numpy as np
            import keras
            counts = np.random.poisson(3.0, 100)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss="poisson", optimizer="adam")
            model.fit(x, counts)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        k = load()
        if len(model.outputs) != 1:
            return
        for head in heads(model, ctx.flavour):
            activation = head.output.activation
            loss = head.loss
            if not isinstance(activation, Known) or activation.value not in k.bounded_activations:
                continue
            if loss is None or not isinstance(loss.name, Known):
                continue
            if loss.name.value not in k.regression_losses:
                continue
            low, high = k.bounded_activations[activation.value]
            for fit in model.fits:
                if fit.compile != Known(head.compile):
                    continue  # trained under another compile (or paths disagree)
                if activation.value == "softmax" and is_continuous_target(fit.y):
                    continue  # softmax on continuous targets: KC102's finding
                target = _outside(fit.y, low, high)
                if target is None:
                    continue
                yield self.finding(
                    head.output.activation_span,
                    f"{activation.value} output can only produce values in [{low:g}, {high:g}] "
                    f"but the regression target is {target}; use a linear output "
                    "(activation=None)",
                )
                break


def _outside(y: DataInfo, low: float, high: float) -> str | None:
    """How the targets are shown to leave [low, high], or None without such evidence."""
    interval = y.value_range
    if isinstance(interval, Known) and not is_class_target(y):
        below, above = interval.value
        if below < low or above > high:
            where = _interval(below, above)
            if isinstance(y.dataset, Known):
                return f"typically {where} (`{y.dataset.value}` targets, as Keras documents them)"
            return where
        return None
    if y.scaled == Known("standardized"):
        return _TARGET_RANGES["standardized"]
    regression_set = isinstance(y.dataset, Known) and _regression_dataset(y.dataset.value)
    if y.encoding == Known("continuous") and y.scaled is UNKNOWN and regression_set:
        return f"{_TARGET_RANGES['continuous']} of `{y.dataset.value}`"  # type: ignore[union-attr]
    return None


def _interval(low: float, high: float) -> str:
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    if math.isinf(high):
        return f"at least {low:g} and unbounded above"
    if math.isinf(low):
        return f"at most {high:g} and unbounded below"
    return f"in [{low:g}, {high:g}]"
