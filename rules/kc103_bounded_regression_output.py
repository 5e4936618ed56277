from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._heads import heads

_TARGET_RANGES = {
    "standardized": "standardized (mean 0, std 1: about a third of the values lie outside [-1, 1])",
    "continuous": "raw regression values",
}


def _regression_dataset(name: str) -> bool:
    dataset = load().datasets.get(name)
    return dataset is not None and dataset.classes is None


class BoundedRegressionOutput(Rule):
    """Flags a sigmoid / tanh / softmax output trained to regress targets outside its range.

    The target must be shown to leave the activation's range: standardised with
    `StandardScaler` or `(y - y.mean()) / y.std()`, or raw values of a regression data set
    (`boston_housing`, `california_housing`). Without evidence about the target it is silent.
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
        Targets computed at run time (read from a file, transformed by user code) carry no
        range information, so the rule stays silent for them.
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
            for fit in model.fits:
                if fit.compile != Known(head.compile):
                    continue  # trained under another compile (or paths disagree)
                y = fit.y
                if y.scaled == Known("standardized"):
                    target = _TARGET_RANGES["standardized"]
                elif (
                    y.encoding == Known("continuous")
                    and not isinstance(y.scaled, Known)
                    and isinstance(y.dataset, Known)
                    and _regression_dataset(y.dataset.value)  # its raw targets
                ):
                    target = f"{_TARGET_RANGES['continuous']} of `{y.dataset.value}`"
                else:
                    continue
                low, high = k.bounded_activations[activation.value]
                yield self.finding(
                    head.output.activation_span,
                    f"{activation.value} output can only produce values in [{low:g}, {high:g}] "
                    f"but the regression target is {target}; use a linear output "
                    "(activation=None)",
                )
                break
