from collections.abc import Iterator

from kerascheck.ir import ApiUse, Finding, Flavour, Known, ModuleSpec, Severity
from kerascheck.knowledge import Knowledge, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _removed_module(written: str, k: Knowledge) -> str | None:
    for module, replacement in k.removed_modules.items():
        if written == module or written.startswith(module + "."):
            return f"`{module}` no longer exists; import from `{replacement}`"
    return None


def _keras1_kernel(use: ApiUse, flavour: Flavour, k: Knowledge) -> str | None:
    """`Convolution2D(32, 3, 3)`: Keras 1's (filters, rows, cols), read by Keras 2+ as
    (filters, kernel_size, strides)."""
    call = use.call
    name = use.qualname.rpartition(".")[2]
    if call is None or not use.qualname.startswith("keras.layers."):
        return None
    numbers = []
    for arg in sorted((a for a in call.args if a.name is None), key=lambda a: a.index):
        if isinstance(arg.value, Known) and type(arg.value.value) is int:
            numbers.append(arg.value.value)
        else:
            break
    keras1_spelling = name in k.keras1_convolutions and len(numbers) >= 3
    if keras1_spelling and name.endswith("2D") and numbers[1] != numbers[2]:
        keras1_spelling = False
    legacy_conv = flavour == "legacy" and name in ("Conv2D", "Conv3D") and len(numbers) >= 3
    if not (keras1_spelling or legacy_conv):
        return None
    dims = int(name[-2]) if name[-2].isdigit() else 1
    kernel = ", ".join(str(n) for n in numbers[1 : 1 + dims])
    modern = name.replace("Convolution", "Conv")
    return (
        f"Keras 1 `{name}({', '.join(map(str, numbers))})` means a ({kernel}) kernel, but "
        f"Keras 2 and 3 read the numbers after the first as kernel_size and strides; write "
        f"`{modern}({numbers[0]}, ({kernel}))`"
    )


class RemovedApi(Rule):
    """Flags Keras 1/2 APIs that modern Keras removed or silently reinterprets.

    `predict_classes`, `predict_proba` and `fit_generator` & co. on a known model; imports
    from removed modules (`keras.layers.core`, `keras.utils.np_utils`, ...);
    `K.set_image_dim_ordering`, `K.learning_phase()`, `Merge`; and Keras 1 positional kernel
    sizes such as `Convolution2D(32, 3, 3)`, which Keras 3 still accepts but reads as strides.
    """

    code = "KC202"
    name = "removed-api"
    summary = "API removed in modern Keras, or whose meaning changed."
    why = """
        These names crash at import or call time in Keras 3 (AttributeError,
        ModuleNotFoundError), often deep in a script after data loading. Worse,
        `Convolution2D(100, 5, 5)` still runs: Keras 3 builds a 5x5 kernel with stride 5,
        a different and much smaller model than the Keras 1 code meant.
    """
    example = """
        from keras.utils import np_utils
        model.add(Convolution2D(32, 3, 3))
        classes = model.predict_classes(x)
    """
    use_instead = """
        from keras.utils import to_categorical
        model.add(Conv2D(32, (3, 3)))
        classes = np.argmax(model.predict(x), axis=-1)
    """
    fix_safety = (
        "Safe fix for renamed imports and fit_generator -> fit; unsafe for Convolution2D "
        "(restores the Keras 1 meaning, which changes what Keras 3 builds)."
    )
    limitations = """
        Methods are only checked on values known to be Keras models; APIs reached through
        variables of unknown type are not seen.
    """
    invalid = (
        Invalid(
            """
            from keras.layers.core import Dense, Activation
            """,
            line=1,
            col=6,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(10, activation="softmax")])
            classes = model.predict_classes(x)
            """,
            line=4,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Convolution2D
            model = Sequential()
            model.add(Convolution2D(100, 5, 5, activation="relu"))
            """,
            line=4,
        ),
        Invalid(
            """
            import keras.backend as K
            f = K.function([inp], [out, K.learning_phase()])
            """,
            line=2,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Conv2D(64, 3, 2)])
            """
        ),
        Valid(
            """
            from keras.utils import to_categorical
            from keras.layers import Dense
            y = to_categorical(labels, 10)
            """
        ),
        Valid(
            """
            from sklearn.linear_model import LogisticRegression
            import keras
            clf = LogisticRegression().fit(x, y)
            p = clf.predict_proba(x)
            """
        ),
        Valid(
            """
            import tf_keras
            phase = tf_keras.backend.learning_phase()  # still part of tf.keras 2.x
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        k = load()
        severity: Severity = "warning" if ctx.flavour == "legacy" else "error"
        for use in module.api_uses:
            message: str | None = None
            legacy_import = use.kind == "import" and use.written in k.removed_modules
            if use.kind == "module" or legacy_import:
                # Standalone Keras <= 2.x module paths; tf.keras code never uses them.
                if ctx.flavour != "tf2":
                    message = _removed_module(use.written, k)
            elif use.kind == "method":
                method = use.qualname.rpartition(".")[2]
                removed = k.removed_methods.get(method)
                if removed is not None and removed.removed_for(ctx.flavour):
                    message = f"`{method}` was removed from Keras models; use {removed.replacement}"
            elif use.kind == "call":
                removed = k.removed_functions.get(use.qualname)
                if removed is None:
                    message = _keras1_kernel(use, ctx.flavour, k)
                elif removed.removed_for(ctx.flavour):
                    name = use.written or use.qualname
                    message = f"`{name}` was removed; use {removed.replacement}"
            if message is not None:
                span = (
                    use.call.func_span if use.kind in ("call", "method") and use.call else use.span
                )
                yield self.finding(span, message, severity)
