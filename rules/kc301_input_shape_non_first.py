from collections.abc import Iterator

from kerascheck.ir import Finding, ModelSpec
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

_SHAPE_ARGUMENTS = ("input_shape", "input_dim", "batch_input_shape")
# Layers whose own `input_dim` is not a shape (Embedding: the vocabulary size).
_OWN_INPUT_DIM = frozenset({"Embedding"})


class InputShapeNonFirst(Rule):
    """Flags `input_shape` / `input_dim` / `batch_input_shape` on a layer that is not the
    first of a Sequential model."""

    code = "KC301"
    relevant_names = frozenset()
    experiment = "ignored-input-shape"
    name = "input-shape-non-first"
    severity = "warning"
    summary = "input_shape / input_dim on a layer that is not first in a Sequential model."
    why = """
        Only the first layer's input shape defines the model's input. On any later layer
        the argument is ignored (Keras 3 only emits a generic UserWarning), so a shape the
        author believed they set, such as `Dense(18, input_dim=36)`, silently has no effect
        and usually hides a misunderstanding of the architecture.
    """
    example = """
        model.add(Dense(36, input_dim=36, activation="relu"))
        model.add(Dense(18, input_dim=36, activation="relu"))
    """
    use_instead = """
        model.add(keras.Input(shape=(36,)))
        model.add(Dense(36, activation="relu"))
        model.add(Dense(18, activation="relu"))
    """
    fix_safety = "Safe fix: remove the argument (it has no effect)."
    invalid = (
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential()
            model.add(Dense(36, input_dim=36, activation="relu"))
            model.add(Dense(18, input_dim=36, activation="relu"))
            """,
            line=5,
            col=21,
        ),
        Invalid(
            """
            import tensorflow as tf
            model = tf.keras.Sequential([
                tf.keras.layers.Conv2D(8, 3, input_shape=(32, 32, 3)),
                tf.keras.layers.Conv2D(8, 3, input_shape=(32, 32, 3)),
            ])
            """,
            line=4,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, input_shape=(8,))])
            """,
            line=2,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(4, input_shape=(8,)), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input((20,)), keras.layers.Embedding(input_dim=10, output_dim=5)])
            """
        ),
        Valid(
            """
            import keras
            inputs = keras.Input((8,))
            outputs = keras.layers.Dense(1, input_dim=8)(keras.layers.Dense(4)(inputs))
            model = keras.Model(inputs, outputs)
            """
        ),
    )

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if not model.is_chain or not model.layers or not model.layers[0].known_layer:
            return
        for layer in model.layers[1:]:
            if layer.call is None or layer.conditional:
                continue
            for name in _SHAPE_ARGUMENTS:
                if name == "input_dim" and layer.class_name in _OWN_INPUT_DIM:
                    continue
                arg = layer.call.kwarg(name)
                if arg is not None:
                    yield self.finding(
                        arg.keyword_span or arg.span,
                        f"`{name}=` on the {layer.class_name} at position {layer.position + 1} "
                        "has no effect: only the first layer's input shape is used; remove it "
                        "(or start the model with keras.Input(shape=...))",
                    )
