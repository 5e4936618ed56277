from collections.abc import Iterator

from kerascheck.ir import Finding, Known, ModelSpec
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class LearningRateOutOfRange(Rule):
    """Flags a constant learning rate far outside what the optimizer is used with.

    Checked on optimizers that reach `model.compile(optimizer=...)`, directly or through a
    variable.

    Adaptive optimizers (Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax) at >= 0.1, SGD at
    >= 1.0, and any optimizer at <= 0 or below 1e-7. The thresholds are data in the knowledge
    tables.
    """

    code = "KC402"
    relevant_names = frozenset()
    experiment = "usual-learning-rate"
    name = "learning-rate-out-of-range"
    severity = "warning"
    summary = "Learning rate far outside the optimizer's usable range."
    why = """
        Adam-style optimizers normalise the step size; at a learning rate of 0.1 or more
        they overshoot and the loss diverges or sticks at a plateau. A rate at or below zero,
        or below 1e-7, means the weights effectively never change. Neither raises an error.
    """
    example = """
        optimizer = keras.optimizers.Adam(learning_rate=0.5)
    """
    use_instead = """
        optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    """
    limitations = """
        Learning rates computed at run time, schedules and values read from configuration
        files are not checked.
    """
    invalid = (
        Invalid(
            """
            import keras
            opt = keras.optimizers.Adam(learning_rate=0.5)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=opt, loss="mse")
            """,
            line=2,
            col=43,
        ),
        Invalid(
            """
            from tensorflow.keras.optimizers import SGD
            from tensorflow.keras.models import Sequential
            from tensorflow.keras.layers import Dense
            LR = 10 / 2
            model = Sequential([Dense(1)])
            model.compile(SGD(LR, momentum=0.9), "mse")
            """,
            line=6,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0), loss="mse")
            """,
            line=3,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            opt = keras.optimizers.Adam(learning_rate=3e-4)
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer=opt, loss="mse")
            """
        ),
        Valid(
            """
            import keras
            opt = keras.optimizers.SGD(learning_rate=0.5)
            opt.apply(grads, variables)  # an optimizer stepped by hand, not training a model
            """
        ),
        Valid(
            """
            import keras
            schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 1000, 0.9)
            opt = keras.optimizers.Adam(learning_rate=schedule)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        # Only optimizers that train a model: optimizer unit tests step by hand on purpose.
        optimizer = model.compile.optimizer if model.compile is not None else None
        if optimizer is None or optimizer.call is None:
            return
        limits = load().learning_rate
        call = optimizer.call
        name = call.qualname.rpartition(".")[2]
        arg = call.kwarg("learning_rate") or call.kwarg("lr") or call.positional(0)
        value = arg.value if arg is not None else None
        if arg is None or not isinstance(value, Known):
            return
        if isinstance(value.value, bool) or not isinstance(value.value, (int, float)):
            return
        rate = float(value.value)
        if rate <= 0 or rate < limits.min:
            problem = f"a learning rate of {rate:g} never moves the weights"
        elif name in limits.adaptive_optimizers and rate >= limits.adaptive_max:
            problem = (
                f"{name} with a learning rate of {rate:g} diverges; adaptive optimizers "
                f"use rates below {limits.adaptive_max:g} (typically 1e-4 to 1e-3)"
            )
        elif name == "SGD" and rate >= limits.sgd_max:
            problem = (
                f"SGD with a learning rate of {rate:g} diverges; use a rate below "
                f"{limits.sgd_max:g} (typically 0.001 to 0.1)"
            )
        else:
            return
        yield self.finding(arg.span, problem)
