from collections.abc import Iterator

from kerascheck.ir import ApiUse, Arg, Call, Edit, Finding, Fix, Flavour, ModuleSpec, Severity
from kerascheck.knowledge import RemovedArg, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

_FIT_METHODS = frozenset(
    {
        "Model.fit",
        "Model.fit_generator",
        "Model.evaluate",
        "Model.evaluate_generator",
        "Model.predict_generator",
    }
)


def _removed_args_for(use: ApiUse) -> dict[str, RemovedArg]:
    k = load()
    q = use.qualname
    if use.kind == "method" and q in _FIT_METHODS:
        return k.removed_fit_args
    if use.kind != "call":
        return {}
    family, _, name = q.rpartition(".")
    if family == "keras.layers" and name[:1].isupper():
        return {**k.removed_layer_args, **k.removed_layer_specific_args.get(name, {})}
    if family == "keras.optimizers" and name in k.optimizers:
        return k.removed_optimizer_args
    return {}


# Renames whose values changed meaning too (samples -> steps, 'tf' -> 'channels_last'):
# rewriting only the keyword would be wrong, so these get no fix.
_NOT_PLAIN_RENAMES = frozenset({"samples_per_epoch", "nb_val_samples", "dim_ordering"})


def _rename_fix(call: Call, arg: Arg, replacement: str | None) -> Fix | None:
    if replacement is None or arg.name in _NOT_PLAIN_RENAMES or arg.keyword_span is None:
        return None
    if call.kwarg(replacement) is not None:
        return None  # both spellings given: which one the author meant is theirs to say
    return Fix(
        f"Rename `{arg.name}=` to `{replacement}=`",
        (Edit(arg.keyword_span, replacement),),
        safe=True,
    )


def _severity(argument: str, use: ApiUse, flavour: Flavour) -> Severity:
    # Keras 3 rejects all of these except `decay`, which it accepts and ignores; tf.keras 2.x
    # still accepts `lr` / `decay` on optimizers; standalone Keras 1/2 only warned.
    if flavour == "legacy":
        return "warning"
    if argument in ("lr", "decay") and (flavour == "tf2" or argument == "decay"):
        return "warning"
    return "error"


class RemovedArgument(Rule):
    """Flags Keras 1/2 keyword arguments that modern Keras renamed or removed.

    Only arguments of calls that resolve to Keras (layers, optimizers, `model.fit` on a known
    model) are checked: a user function with a parameter `lr`, or `Embedding(output_dim=...)`,
    is never flagged.
    """

    code = "KC201"
    relevant_names = frozenset()
    name = "removed-argument"
    summary = "Keyword argument removed or renamed in modern Keras."
    why = """
        Keras 3 raises a ValueError / TypeError for most Keras 1 arguments (`init=`,
        `border_mode=`, `lr=`), tf.keras raises for the layer ones, and some are silently
        ignored (`decay=` on a Keras 3 optimizer only warns and does nothing): old tutorials
        copied into new code either crash or quietly train a different model.
    """
    example = """
        model.add(Conv2D(32, (3, 3), border_mode="same", init="he_normal"))
        opt = keras.optimizers.Adam(lr=0.001)
        model.fit(x, y, nb_epoch=10)
    """
    use_instead = """
        model.add(Conv2D(32, (3, 3), padding="same", kernel_initializer="he_normal"))
        opt = keras.optimizers.Adam(learning_rate=0.001)
        model.fit(x, y, epochs=10)
    """
    fix_safety = """
        Safe fix: renames the keyword where modern Keras has a one-to-one replacement
        (`lr` -> `learning_rate`, `nb_epoch` -> `epochs`, `border_mode` -> `padding`, ...).
        No fix where the value's meaning changed too (`samples_per_epoch` counts samples,
        `steps_per_epoch` counts batches; `dim_ordering='tf'` is
        `data_format='channels_last'`), where the argument was removed outright (`decay=`),
        or where the new keyword is already given.
    """
    invalid = (
        Invalid(
            """
            from keras.layers import Conv2D
            layer = Conv2D(32, (3, 3), border_mode="same")
            """,
            line=2,
            col=28,
            fixed="""
            from keras.layers import Conv2D
            layer = Conv2D(32, (3, 3), padding="same")
            """,
        ),
        Invalid(
            """
            import tensorflow as tf
            opt = tf.keras.optimizers.Adam(lr=0.001)  # lr from the paper
            """,
            line=2,
            fixed="""
            import tensorflow as tf
            opt = tf.keras.optimizers.Adam(learning_rate=0.001)  # lr from the paper
            """,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(1, activation="sigmoid")])
            model.fit(x, y, nb_epoch=10)
            """,
            line=4,
            fixed="""
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(1, activation="sigmoid")])
            model.fit(x, y, epochs=10)
            """,
        ),
        Invalid(
            """
            from keras.layers import Dense as D
            out = D(output_dim=10)
            """,
            line=2,
            fixed="""
            from keras.layers import Dense as D
            out = D(units=10)
            """,
        ),
        Invalid(
            """
            from keras.models import Sequential
            model = Sequential()
            model.fit_generator(gen, samples_per_epoch=1000, epochs=3)
            """,
            line=3,
            col=26,
        ),
    )
    valid = (
        Valid(
            """
            def train(lr=0.01, decay=0.0):
                return lr * decay
            train(lr=0.1)
            """
        ),
        Valid(
            """
            from keras.layers import Embedding
            emb = Embedding(input_dim=1000, output_dim=64)
            """
        ),
        Valid(
            """
            import keras
            opt = keras.optimizers.Adam(learning_rate=0.001)
            layer = keras.layers.Conv2D(32, 3, padding="same", kernel_initializer="he_normal")
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        for use in module.api_uses:
            if use.call is None:
                continue
            removed = _removed_args_for(use)
            if not removed:
                continue
            for arg in use.call.args:
                if arg.name is None or arg.name not in removed:
                    continue
                info = removed[arg.name]
                target = use.qualname.rsplit(".", 1)[1]
                advice = f"use `{info.replacement}=`" if info.replacement else "remove it"
                yield self.finding(
                    arg.keyword_span or arg.span,
                    f"`{arg.name}=` is not an argument of modern Keras `{target}`: {advice}. "
                    f"{info.reason}",
                    _severity(arg.name, use, ctx.flavour),
                    _rename_fix(use.call, arg, info.replacement),
                )
