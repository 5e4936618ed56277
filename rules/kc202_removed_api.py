from collections.abc import Iterator

from kerascheck.ir import ApiUse, Edit, Finding, Fix, Flavour, Known, ModuleSpec, Severity
from kerascheck.knowledge import Knowledge, keras3_api, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _removed_module(written: str, k: Knowledge) -> str | None:
    for module, replacement in k.removed_modules.items():
        if written == module or written.startswith(module + "."):
            return f"`{module}` no longer exists; import from `{replacement}`"
    return None


# Functions of the removed `keras.utils.np_utils` that `keras.utils` still has.
_NP_UTILS = frozenset({"to_categorical", "normalize"})

# The generator methods' replacements and the keywords both accept the same way; anything
# else (`generator=`, `workers=`, ...) needs a person.
_GENERATOR_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}
_PORTABLE_KEYWORDS = frozenset(
    {
        "steps_per_epoch",
        "epochs",
        "verbose",
        "callbacks",
        "validation_data",
        "validation_steps",
        "validation_freq",
        "class_weight",
        "initial_epoch",
        "shuffle",
        "steps",
    }
)


def _exists_in(name: str, module: str) -> bool:
    if module == "keras.layers":
        return name in keras3_api().layer_arguments
    return module == "keras.utils" and name in _NP_UTILS


def _imported_names(module: str, uses: tuple[ApiUse, ...]) -> list[str]:
    return [
        u.written[len(module) + 1 :]
        for u in uses
        if u.kind == "import" and u.written.startswith(module + ".")
    ]


def _module_fix(use: ApiUse, module: ModuleSpec, k: Knowledge) -> Fix | None:
    """`from keras.layers.core import Dense` -> `from keras.layers import Dense`."""
    target = k.removed_modules.get(use.written)
    names = _imported_names(use.written, module.api_uses)
    if target is None or not names or not all(_exists_in(n, target) for n in names):
        return None
    return Fix(f"Import from `{target}`", (Edit(use.span, target),), safe=True)


def _np_utils_fix(use: ApiUse, module: ModuleSpec) -> Fix | None:
    """`from keras.utils import np_utils` + `np_utils.to_categorical(y)` -> import and call
    `to_categorical` directly; only when every occurrence of the name is one of those calls."""
    prefix = use.written + "."
    calls = [u for u in module.api_uses if u.kind == "call" and u.written.startswith(prefix)]
    names = sorted({u.written[len(prefix) :] for u in calls})
    if not use.from_import or use.occurrences != 1 + len(calls) or not names:
        return None
    if not all(n in _NP_UTILS for n in names) or any(c.call is None for c in calls):
        return None
    edits = [Edit(use.span, ", ".join(names))]
    edits += [Edit(c.call.func_span, c.written[len(prefix) :]) for c in calls if c.call]
    return Fix(f"Import {', '.join(names)} from `keras.utils`", tuple(edits), safe=True)


def _method_fix(use: ApiUse) -> Fix | None:
    call = use.call
    method = use.qualname.rpartition(".")[2]
    if call is None or call.name_span is None:
        return None
    if method == "predict_classes":
        return Fix(
            "Use `predict(x).argmax(axis=-1)` (right for a softmax output; a single sigmoid "
            "unit needs `> 0.5` instead)",
            (Edit(call.name_span, "predict"), Edit(call.span, ".argmax(axis=-1)", "after")),
            safe=False,
        )
    replacement = _GENERATOR_METHODS.get(method)
    keywords = {a.name for a in call.args if a.name is not None}
    if replacement is None or not keywords <= _PORTABLE_KEYWORDS:
        return None
    return Fix(f"Call `{replacement}`", (Edit(call.name_span, replacement),), safe=True)


def _keras1_kernel_fix(use: ApiUse, dims: int) -> Fix | None:
    """`Convolution2D(32, 3, 3)` -> `Convolution2D(32, (3, 3))` (an alias of Conv2D)."""
    call = use.call
    if call is None or dims < 2:
        return None
    sizes = [call.positional(i) for i in range(1, 1 + dims)]
    numbers = [a.value.value for a in sizes if a is not None and isinstance(a.value, Known)]
    if len(numbers) != dims or not all(type(n) is int for n in numbers):
        return None  # every kernel size must be a resolved integer to write the tuple
    first, last = sizes[0], sizes[-1]
    assert first is not None and last is not None
    kernel = ", ".join(map(str, numbers))
    return Fix(
        f"Pass the Keras 1 kernel size as a tuple: `({kernel})` (changes what Keras 2/3 build)",
        (Edit(first.span, f"({kernel})", through=last.span),),
        safe=False,
    )


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
    relevant_names = frozenset()
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
            fixed="""
            from keras.layers import Dense, Activation
            """,
        ),
        Invalid(
            """
            from keras.utils import np_utils
            y_train = np_utils.to_categorical(y_train, 10)
            y_test = np_utils.to_categorical(y_test, 10)  # np_utils in a comment is fine
            """,
            line=1,
            fixed="""
            from keras.utils import to_categorical
            y_train = to_categorical(y_train, 10)
            y_test = to_categorical(y_test, 10)  # np_utils in a comment is fine
            """,
        ),
        Invalid(
            """
            from keras.models import Sequential
            model = Sequential()
            model.fit_generator(train_gen, steps_per_epoch=100, epochs=5)
            """,
            line=3,
            flavour="keras3",
            fixed="""
            from keras.models import Sequential
            model = Sequential()
            model.fit(train_gen, steps_per_epoch=100, epochs=5)
            """,
        ),
        Invalid(
            """
            from keras.models import Sequential
            model = Sequential()
            model.fit_generator(train_gen, workers=4, use_multiprocessing=True)
            """,
            line=3,
            flavour="keras3",
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(10, activation="softmax")])
            classes = model.predict_classes(x)
            """,
            line=4,
            fixed="""
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(10, activation="softmax")])
            classes = model.predict(x).argmax(axis=-1)
            """,
        ),
        Invalid(
            """
            from keras.models import Sequential
            from keras.layers import Convolution2D
            model = Sequential()
            model.add(Convolution2D(100, 5, 5, activation="relu"))
            """,
            line=4,
            fixed="""
            from keras.models import Sequential
            from keras.layers import Convolution2D
            model = Sequential()
            model.add(Convolution2D(100, (5, 5), activation="relu"))
            """,
        ),
        Invalid(
            """
            from keras.layers import Convolution3D
            depth = int(input())
            layer = Convolution3D(32, 3, 3, depth)  # unknown third size: no tuple is written
            """,
            line=3,
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
                yield self.finding(span, message, severity, self._fix(use, module, k))

    @staticmethod
    def _fix(use: ApiUse, module: ModuleSpec, k: Knowledge) -> Fix | None:
        if use.kind == "module":
            return _module_fix(use, module, k)
        if use.kind == "import":
            return _np_utils_fix(use, module)
        if use.kind == "method":
            return _method_fix(use)
        name = use.qualname.rpartition(".")[2]
        if use.kind == "call" and name[-2:-1].isdigit() and name[-1] == "D":
            return _keras1_kernel_fix(use, int(name[-2]))
        return None
