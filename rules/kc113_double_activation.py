import math
from collections.abc import Iterator
from itertools import pairwise

from kerascheck.ir import AppliedActivation, Edit, Finding, Fix, Known, ModelSpec, Value
from kerascheck.knowledge import load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

# Squashing activations whose range over an input interval is exact arithmetic (monotone,
# elementwise). hard_sigmoid is left out: its slope differs between Keras 2 and 3.
_ELEMENTWISE = {
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "tanh": math.tanh,
    "softsign": lambda x: x / (1 + abs(x)),
}
_SQUASHING = frozenset({*_ELEMENTWISE, "softmax"})


def squashed_range(inner: str, outer: str, units: int | None) -> tuple[float, float]:
    """Where ``outer`` applied to the output of ``inner`` can land, per unit (``units`` is
    the size of the last axis; None when unknown: the bound for 2 units, the widest).
    Measured against Keras 3.15.1 in tests/test_knowledge.py."""
    if inner == "softmax" and outer == "softmax":
        # Softmax outputs sum to 1: at most one unit is 1 and the others 0.
        n = units or 2
        return 1 / (math.e + n - 1), math.e / (math.e + n - 1)
    low, high = (0.0, 1.0) if inner == "softmax" else load().bounded_activations[inner]
    if outer in _ELEMENTWISE:
        return _ELEMENTWISE[outer](low), _ELEMENTWISE[outer](high)
    n = units or 2
    top = math.exp(high) / (math.exp(high) + (n - 1) * math.exp(low))
    bottom = math.exp(low) / (math.exp(low) + (n - 1) * math.exp(high))
    return bottom, top


def _name(activation: Value[str | None]) -> str | None:
    return activation.value if isinstance(activation, Known) else None


class DoubleActivation(Rule):
    """Flags a model output squashed twice: a bounded activation (softmax, sigmoid, tanh,
    softsign, hard_sigmoid, hard_tanh, or the tanh of an LSTM/GRU/SimpleRNN) followed by a
    softmax, sigmoid, tanh or softsign with nothing in between but layers that are the
    identity at inference (Dropout and its relatives, `Identity`, `Activation('linear')`,
    `ActivityRegularization`) and dtype casts (`tf.cast`, `keras.ops.cast`).

    The activations may be written on the layer (`Dense(10, activation='softmax')`), as
    `Activation('softmax')` / `Softmax()` layers, or as `tf.nn.softmax` /
    `keras.activations.softmax` applied to the output tensor.
    """

    code = "KC113"
    relevant_names = frozenset()
    experiment = "squashed-range"
    name = "double-activation"
    summary = "An output squashed twice (softmax after softmax, sigmoid after sigmoid...)."
    why = """
        The second activation receives values the first already confined, so its output
        can only cover a narrow band (measured, Keras 3.15): softmax after softmax over 10
        units stays within [0.085, 0.232]; sigmoid after sigmoid within [0.5, 0.731], so a
        binary classifier thresholded at 0.5 predicts the positive class for every sample
        (measured: accuracy 0.51, loss stuck at 0.50 on separable data). Cross-entropy can
        never approach 0 (10-unit double softmax: the loss stops at 1.46) and the outputs
        are no longer probabilities, although the argmax of a double softmax is kept.
    """
    example = """
        model.add(Dense(10, activation="softmax"))
        model.add(Activation("softmax"))
    """
    use_instead = """
        model.add(Dense(10))  # logits
        model.add(Activation("softmax"))
    """
    fix_safety = """
        Unsafe fix (changes the model), only when both activations are the same and the
        first is written as a string: the first becomes `"linear"`, so the output is
        squashed once.
    """
    limitations = """
        Layers that change values (BatchNormalization, Lambda, Reshape, custom layers) end
        the chain, as does a softmax over another axis. hard_sigmoid and hard_tanh are not
        judged as the second activation (hard_tanh is the identity on a bounded input). A
        softmax over a single unit is KC101's.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="softmax"),
                keras.layers.Activation("softmax"),
            ])
            """,
            line=4,
            fixed="""
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="linear"),
                keras.layers.Activation("softmax"),
            ])
            """,
        ),
        Invalid(
            """
            from tensorflow.keras.models import Sequential
            from tensorflow.keras.layers import Dense, Dropout, Activation
            model = Sequential()
            model.add(Dense(1, activation="sigmoid"))
            model.add(Dropout(0.3))
            model.add(Activation("linear", dtype="float32"))
            model.add(Activation("sigmoid"))
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """,
            line=7,
            fixed="""
            from tensorflow.keras.models import Sequential
            from tensorflow.keras.layers import Dense, Dropout, Activation
            model = Sequential()
            model.add(Dense(1, activation="linear"))
            model.add(Dropout(0.3))
            model.add(Activation("linear", dtype="float32"))
            model.add(Activation("sigmoid"))
            model.compile(optimizer="adam", loss="binary_crossentropy")
            """,
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf
            inputs = keras.Input((32,))
            probs = keras.layers.Dense(5, activation=tf.nn.softmax)(inputs)
            model = keras.Model(inputs, keras.layers.Softmax()(probs))
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            inputs = keras.Input((32,))
            scores = keras.layers.Dense(4, activation="sigmoid")(inputs)
            outputs = keras.ops.softmax(keras.ops.cast(scores, "float32"))
            model = keras.Model(inputs, outputs)
            """,
            line=4,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import LSTM, Activation
            model = Sequential([LSTM(10, input_shape=(20, 8)), Activation("softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            from keras import layers
            class Classifier(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.head = layers.Dense(3, activation="softmax")
                def call(self, x):
                    return keras.activations.softmax(self.head(x))
            """,
            line=8,
            fixed="""
            import keras
            from keras import layers
            class Classifier(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.head = layers.Dense(3, activation="linear")
                def call(self, x):
                    return keras.activations.softmax(self.head(x))
            """,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10), keras.layers.Activation("softmax")])
            """
        ),
        Valid(
            """
            # BatchNormalization rescales the probabilities: the second softmax sees new values.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="softmax"),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("softmax"),
            ])
            """
        ),
        Valid(
            """
            # Mixed precision: a float32 identity cast after the softmax is not a second one.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="softmax", dtype="mixed_float16"),
                keras.layers.Activation("linear", dtype="float32"),
            ])
            """
        ),
        Valid(
            """
            # Attention weights: a softmax over the time axis of tanh scores, then pooling.
            import keras
            inputs = keras.Input((20, 16))
            scores = keras.layers.Dense(1, activation="tanh")(inputs)
            weights = keras.layers.Softmax(axis=1)(scores)
            model = keras.Model(inputs, weights)
            """
        ),
        Valid(
            """
            # relu after softmax changes nothing, but squashes nothing either.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(8, activation="tanh"),
                keras.layers.Dense(3),
                keras.layers.Activation("sigmoid"),
            ])
            """
        ),
        Valid(
            """
            # A temperature between the two: the Lambda's effect is unknown.
            import keras
            model = keras.Sequential([
                keras.layers.Dense(10, activation="softmax"),
                keras.layers.Lambda(lambda x: x * 5.0),
                keras.layers.Activation("softmax"),
            ])
            """
        ),
        Valid(
            """
            # One softmax over one unit is KC101's finding, not a second one here.
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="softmax"), keras.layers.Softmax()])
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        bounded = load().bounded_activations
        for output in model.outputs:
            units = output.units.value if isinstance(output.units, Known) else None

            for first, second in pairwise(output.activations):
                inner, outer = _name(first.activation), _name(second.activation)
                if inner not in bounded or outer not in _SQUASHING:
                    continue
                if units == 1 and "softmax" in (inner, outer):
                    continue  # a 1-unit softmax: KC101
                yield self._finding(inner, outer, units, first, second)

    def _finding(
        self,
        inner: str,
        outer: str,
        units: int | None,
        first: AppliedActivation,
        second: AppliedActivation,
    ) -> Finding:
        low, high = squashed_range(inner, outer, units)
        if outer == "softmax" and units is None:
            where = f"no unit can exceed {high:.2f}"
        elif outer == "softmax":
            where = f"each of the {units} units stays within [{low:.3f}, {high:.3f}]"
        else:
            where = f"the output stays within [{low:.3f}, {high:.3f}]"
        fix = None
        if inner == outer:
            edit = Edit(first.span, "linear", "string")
            fix = Fix(f"Apply {outer} once: make the first one linear", (edit,), safe=False)
        return self.finding(
            second.span,
            f"{outer} applied to the output of {inner}: the output is squashed twice and "
            f"{where}; apply one activation",
            fix=fix,
        )
