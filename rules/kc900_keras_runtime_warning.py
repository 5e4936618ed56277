from collections.abc import Iterator

from kerascheck.ir import Finding, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


class KerasRuntimeWarning(Rule):
    """Reports what Keras itself warns about or raises while the model is rebuilt.

    Only `kerascheck check --dynamic` reports it: the model is rebuilt from what the linter
    resolved, run on random inputs, compiled and trained for one step in the installed
    Keras, and every warning or exception Keras gives on the way becomes a finding at the
    layer, optimizer, `compile()` or `fit()` it came from. Messages that already serve as
    evidence of another confirmed finding are not repeated. A static run never reports it.
    """

    code = "KC900"
    relevant_names = frozenset()
    name = "keras-runtime-warning"
    severity = "warning"
    summary = "Keras itself warns or raises while the model is rebuilt (--dynamic only)."
    dynamic_only = True
    why = """
        Keras checks some things only at run time: a layer that cannot take the shape it
        receives, an argument a version no longer accepts, a loss that does not fit the
        output. Those messages appear deep in a training log, or only once a long data
        pipeline has run; the dynamic check surfaces them at the line that causes them.
    """
    example = """
        model = keras.Sequential([keras.Input(shape=(10,)), keras.layers.Conv2D(8, 3)])
    """
    use_instead = """
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(8, 3)])
    """
    limitations = """
        Only models the dynamic check can rebuild from resolved values are run (see
        docs/dynamic.md); Keras's advice to start a Sequential model with `keras.Input`
        instead of `input_shape=` on its first layer is not reported.
    """
    # Flagged only by `--dynamic`: tests/test_dynamic.py runs these, not the static suite.
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input(shape=(10,)), keras.layers.Conv2D(8, 3)])
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential()
            model.add(keras.layers.Conv2D(8, 3, input_shape=(6, 6, 1)))
            model.add(keras.layers.MaxPooling2D(pool_size=(8, 8)))
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([
                keras.Input(shape=(5,)),
                keras.layers.Embedding(100, 8, input_length=5),
                keras.layers.GlobalAveragePooling1D(),
            ])
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(8, 3)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential()
            model.add(keras.layers.Dense(8, activation="relu", input_shape=(4,)))
            model.add(keras.layers.Dense(1, activation="sigmoid"))
            model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
            """
        ),
        Valid(
            """
            import keras
            inputs = keras.Input(shape=(5,))
            hidden = keras.layers.Embedding(100, 8)(inputs)
            outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(hidden))
            model = keras.Model(inputs, outputs)
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        return iter(())  # its findings come from kerascheck.dynamic, never from the IR alone
