from collections.abc import Iterator

from kerascheck.ir import (
    ApiUse,
    Arg,
    Call,
    CompileSpec,
    Edit,
    Finding,
    Fix,
    Flavour,
    Known,
    ModelSpec,
    ModuleSpec,
    Span,
)
from kerascheck.knowledge import (
    ApiDrift,
    Knowledge,
    OldSignature,
    Removed,
    Saving,
    Spelling,
    api_drift,
    keras3_api,
    load,
)
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._drift import (
    flavour_for,
    registers_custom_objects,
    severity,
    since,
    spelled,
    tf_keras_hint,
    value_kind,
)

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
_HUB_LAYER = "tensorflow_hub.KerasLayer"
_SAVE_FUNCTIONS = {"keras.models.save_model": 1, "keras.saving.save_model": 1}
_CHECKPOINT = "keras.callbacks.ModelCheckpoint"
_INPUT_LAYER = "keras.layers.InputLayer"


def _respell(written: str, keras_path: str, target: str) -> str:
    """``target`` (``keras.Y``) spelt like ``written``, whose ``keras.*`` path is
    ``keras_path`` (``tensorflow.keras.X`` -> ``tensorflow.keras.Y``)."""
    return written[: len(written) - len(keras_path)] + target


class _Check:
    """One module under one flavour: turns its API uses into findings, once per cause."""

    def __init__(self, rule: "RemovedApi", module: ModuleSpec, ctx: RuleContext) -> None:
        self.rule = rule
        self.module = module
        self.flavour: Flavour = ctx.flavour
        self.drift: ApiDrift = api_drift()
        self.k: Knowledge = load()
        # Imports already reported (``written``): calls through them are the same cause.
        self.reported: set[str] = set()

    def run(self) -> Iterator[Finding]:
        uses = self.module.api_uses
        for use in uses:
            if use.kind == "module":
                yield from self.module_use(use)
        for use in uses:
            if use.kind == "import" and use.written not in self.reported:
                yield from self.import_use(use)
        for use in uses:
            if use.kind == "call":
                yield from self.call_use(use)
            elif use.kind == "method":
                yield from self.method_use(use)
            elif use.kind == "attribute":
                yield from self.attribute_use(use)

    def finding(self, span: Span, message: str, fix: Fix | None = None) -> Finding:
        return self.rule.finding(span, message, severity(self.flavour), fix)

    # ------------------------------------------------------------------ imports
    def module_use(self, use: ApiUse) -> Iterator[Finding]:
        found = spelled(use)
        if found is None:
            return
        spelling, path = found
        hit = self.drift.removed_module(path)
        if hit is None or not hit[1].applies(flavour_for(self.flavour, spelling), spelling):
            return
        module, row = hit
        names = [
            u
            for u in self.module.api_uses
            if u.kind == "import" and u.written.startswith(use.written + ".")
        ]
        # The names imported from it are this finding's too (one cause, one finding), unless
        # the name is gone from where it moved as well (`Merge` of keras.layers.core is not
        # in keras.layers either): that is its own finding.
        self.reported.update(u.written for u in names if not self.gone_after_move(u))
        message = (
            f"`{_respell(use.written, path, module)}` is {since(row)}; {row.advice}"
            f"{tf_keras_hint(row, spelling)}"
        )
        yield self.finding(use.span, message, self.module_fix(use, module, row, names))

    def module_fix(self, use: ApiUse, module: str, row: Removed, names: list[ApiUse]) -> Fix | None:
        """``from keras.layers.core import Dense`` -> ``from keras.layers import Dense``, when
        the advice is one module and every imported name exists there in Keras 3."""
        found = spelled(use)
        target = (row.use or "").strip("`")
        if found is None or found[1] != module or not names:
            return None
        if not target.startswith("keras.") or " " in target:
            return None
        leaves = [u.written.rpartition(".")[2] for u in names]
        if not all(f"{target}.{leaf}" in self.drift.keras3_paths for leaf in leaves):
            return None
        spelled_target = _respell(use.written, found[1], target)
        return Fix(f"Import from `{spelled_target}`", (Edit(use.span, spelled_target),), True)

    def gone_after_move(self, use: ApiUse) -> bool:
        module = use.qualname.rpartition(".")[0]
        return use.qualname in self.drift.names and module not in self.drift.modules

    def import_use(self, use: ApiUse) -> Iterator[Finding]:
        found = spelled(use)
        if found is None:
            return
        spelling, path = found
        flavour = flavour_for(self.flavour, spelling)
        # `keras.layers.core.Merge` is `keras.layers.Merge` (qualname) to the tables.
        row = self.drift.names.get(path) or self.drift.names.get(use.qualname)
        if row is not None and row.applies(flavour, spelling):
            self.reported.add(use.written)
            yield self.finding(use.span, self.name_message(row, spelling, use.written))
            return
        module = self.drift.modules.get(path)
        if module is not None and module.applies(flavour, spelling):
            # ``from keras.utils import np_utils``: the module imported as a name.
            self.reported.add(use.written)
            message = (
                f"`{use.written}` is {since(module)}; {module.advice}"
                f"{tf_keras_hint(module, spelling)}"
            )
            yield self.finding(use.span, message, self.np_utils_fix(use))
            return
        # The extractor records the module of a ``from ... import`` only for the keras and
        # tf_keras spellings; a ``tensorflow.keras`` one is reported here, once per module.
        hit = self.drift.removed_module(path.rpartition(".")[0])
        if spelling == "tensorflow" and use.from_import and hit is not None:
            name, row = hit
            written = _respell(use.written, path, name)
            self.reported.add(use.written)
            if row.applies(flavour, spelling) and written not in self.reported:
                self.reported.add(written)
                message = f"`{written}` is {since(row)}; {row.advice}"
                yield self.finding(use.span, message)

    def name_message(self, row: Removed, spelling: Spelling, written: str) -> str:
        message = f"`{written}` is {since(row)}; {row.advice}{tf_keras_hint(row, spelling)}"
        if row.raises is not None:
            message += f" (Keras 3 keeps the name only to raise: {row.raises!r})"
        if row.note is not None:
            message += f" (check the arguments: {row.note})"
        return message

    def np_utils_fix(self, use: ApiUse) -> Fix | None:
        """``from keras.utils import np_utils`` + ``np_utils.to_categorical(y)`` -> import and
        call ``to_categorical`` directly; only when every occurrence is one of those calls."""
        found = spelled(use)
        if found is None or found[1] != "keras.utils.np_utils":
            return None
        prefix = use.written + "."
        calls = [
            u for u in self.module.api_uses if u.kind == "call" and u.written.startswith(prefix)
        ]
        names = sorted({u.written[len(prefix) :] for u in calls})
        if not use.from_import or use.occurrences != 1 + len(calls) or not names:
            return None
        if not all(f"keras.utils.{n}" in self.drift.keras3_paths for n in names):
            return None
        if any(c.call is None for c in calls):
            return None
        edits = [Edit(use.span, ", ".join(names))]
        edits += [Edit(c.call.func_span, c.written[len(prefix) :]) for c in calls if c.call]
        return Fix(f"Import {', '.join(names)} from `keras.utils`", tuple(edits), safe=True)

    # ------------------------------------------------------------------ calls
    def call_use(self, use: ApiUse) -> Iterator[Finding]:
        call = use.call
        if call is None:
            return
        if use.qualname == _HUB_LAYER:
            yield from self.hub_layer(use, call)
            return
        found = spelled(use)
        if found is None:
            return
        spelling, path = found
        flavour = flavour_for(self.flavour, spelling)
        # The import that brought the name in may be reported already: the name's removal is
        # that finding; what the call itself does wrong (below) is not.
        imported = any(use.written == r or use.written.startswith(r + ".") for r in self.reported)
        row = self.drift.names.get(path)
        if row is not None and row.applies(flavour, spelling):
            if not imported:
                message = self.name_message(row, spelling, use.written)
                yield self.finding(call.func_span, message, self.function_fix(use, call, path))
            return
        hit = self.drift.removed_module(path)
        if hit is not None and hit[1].applies(flavour, spelling) and not imported:
            module, module_row = hit
            message = (
                f"`{_respell(use.written, path, module)}` is {since(module_row)}; "
                f"{module_row.advice}{tf_keras_hint(module_row, spelling)}"
            )
            yield self.finding(call.func_span, message)
            return
        if flavour == "tf2":
            return
        keras1 = _keras1_kernel(use, self.flavour, self.k)
        if keras1 is not None:
            name = use.qualname.rpartition(".")[2]
            dims = int(name[-2]) if name[-2:-1].isdigit() else 0
            yield self.finding(call.func_span, keras1, _keras1_kernel_fix(call, dims))
            return
        if self.flavour != "keras3":
            return
        yield from self.input_shape(use, call)
        yield from self.positional(use.qualname, call)
        yield from self.checkpoint(use, call)
        if use.qualname in _SAVE_FUNCTIONS:
            yield from self.model_path(call, _SAVE_FUNCTIONS[use.qualname], "save_model")

    def function_fix(self, use: ApiUse, call: Call, path: str) -> Fix | None:
        """``K.set_image_dim_ordering('th')`` -> ``K.set_image_data_format('channels_first')``:
        the one rename whose argument maps exactly."""
        if path != "keras.backend.set_image_dim_ordering" or call.name_span is None:
            return None
        arg = call.argument("dim_ordering", 0)
        value = arg.value.value if arg is not None and isinstance(arg.value, Known) else None
        formats = {"th": "channels_first", "tf": "channels_last"}
        if arg is None or value not in formats or len(call.args) != 1:
            return None
        edits = (
            Edit(call.name_span, "set_image_data_format"),
            Edit(arg.span, formats[value], "string"),
        )
        return Fix("Use `set_image_data_format`", edits, safe=True)

    def input_shape(self, use: ApiUse, call: Call) -> Iterator[Finding]:
        """``keras.Input(shape=7)``: tf.keras 2 turned the int into ``(7,)``; Keras 3 raises
        "Cannot convert '7' to a shape"."""
        if use.qualname in self.k.input_constructors:
            arg = call.argument("shape", 0)
        elif use.qualname == _INPUT_LAYER:
            arg = call.argument("shape", 0) or call.kwarg("input_shape")
        else:
            return
        if arg is None or not isinstance(arg.value, Known) or type(arg.value.value) is not int:
            return
        size = arg.value.value
        fix = Fix(f"Write the shape as a tuple: `({size},)`", (Edit(arg.span, f"({size},)"),), True)
        message = (
            f"a shape must be a tuple in Keras 3: `{arg.name or 'shape'}={size}` raises "
            f"\"Cannot convert '{size}' to a shape\" (tf.keras 2 read it as `({size},)`)"
        )
        yield self.finding(arg.span, message, fix)

    def positional(self, qualname: str, call: Call) -> Iterator[Finding]:
        """Positional arguments of a signature that changed: reported where the value fits the
        old parameter and not Keras 3's (``SGD(0.01, 0.9, 1e-6, True)``: 1e-6 was ``decay``,
        Keras 3 binds it to the boolean ``nesterov``)."""
        signature = self.drift.positional.get(qualname)
        if signature is None or call.has_star_args:
            return
        name = qualname.rpartition(".")[2]
        for arg in sorted((a for a in call.args if a.name is None), key=lambda a: a.index):
            kind = value_kind(arg)
            if kind is None:
                continue
            new = signature.keras3[arg.index] if arg.index < len(signature.keras3) else None
            for old in signature.old:
                param = old.parameter(arg.index)
                if param is None or new is None or param[0] == new[0]:
                    continue
                if param[1] == kind and new[1] is not None and new[1] != kind:
                    yield self.finding(arg.span, _positional_message(name, arg, param, new, old))
                    return

    def checkpoint(self, use: ApiUse, call: Call) -> Iterator[Finding]:
        """``ModelCheckpoint('x.hdf5')``: Keras 3 wants ``.keras``/``.h5`` for whole models
        and ``.weights.h5`` with ``save_weights_only=True`` (the constructor raises)."""
        if use.qualname != _CHECKPOINT:
            return
        path = _string(call.argument("filepath", 0))
        weights_only = call.argument("save_weights_only", 4)
        flag = weights_only.value if weights_only is not None else Known(False)
        if path is None or not isinstance(flag, Known) or type(flag.value) is not bool:
            return
        saving = self.k.saving
        arg = call.argument("filepath", 0)
        assert arg is not None
        if flag.value:
            if not path[0].endswith(saving.weights_suffix):
                message = (
                    f"with `save_weights_only=True` Keras 3 needs a file name ending in "
                    f"`{saving.weights_suffix}`; it raises for {path[0]!r} when the callback "
                    "is created"
                )
                yield self.finding(arg.span, message, _weights_fix(arg, path[0], saving))
            return
        if not path[0].endswith(saving.checkpoint_suffixes):
            allowed = " or ".join(f"`{s}`" for s in saving.checkpoint_suffixes)
            message = (
                f"Keras 3's ModelCheckpoint saves whole models only to {allowed} files; it "
                f"raises for {path[0]!r} when the callback is created"
            )
            fix = None
            if path[0].endswith(".hdf5"):
                new = path[0][: -len(".hdf5")] + ".h5"
                fix = Fix(
                    f"Save to {new!r} (the same HDF5 format; unsafe: code that loads the old "
                    "name must change too)",
                    (Edit(arg.span, new, "string"),),
                    safe=False,
                )
            yield self.finding(arg.span, message, fix)

    def model_path(self, call: Call, index: int, what: str) -> Iterator[Finding]:
        """``model.save('my_model')``: no suffix Keras 3 saves a model to."""
        arg = call.argument("filepath", index)
        path = _string(arg)
        suffixes = self.k.saving.model_suffixes
        if arg is None or path is None or path[0].endswith(suffixes):
            return
        if call.kwarg("save_format") is not None:
            return  # the removed argument's finding (KC201) says it
        allowed = " or ".join(f"`{s}`" for s in suffixes[:2])
        message = (
            f"Keras 3's `{what}` raises for {path[0]!r}: the file name must end in {allowed} "
            "(a TensorFlow SavedModel directory is `model.export(path)` now)"
        )
        yield self.finding(arg.span, message)

    def hub_layer(self, use: ApiUse, call: Call) -> Iterator[Finding]:
        """``hub.KerasLayer`` is a tf_keras (Keras 2) layer: Keras 3 models reject it."""
        if self.flavour != "keras3" or not self.module.models:
            return
        message = (
            '`hub.KerasLayer` is a tf_keras (Keras 2) layer: a Keras 3 model rejects it ("Only '
            'instances of `keras.Layer` can be added to a Sequential model"); build this '
            "model with tf_keras (`import tf_keras`, or `TF_USE_LEGACY_KERAS=1` before "
            "importing TensorFlow), or take the model from KerasHub"
        )
        yield self.finding(call.func_span, message)

    # ------------------------------------------------------------------ models and layers
    def method_use(self, use: ApiUse) -> Iterator[Finding]:
        call = use.call
        if call is None:
            return
        method = use.qualname.rpartition(".")[2]
        row = self.drift.members.get(use.qualname)
        if row is not None and row.kind == "method" and row.applies(self.flavour):
            message = f"`{method}` was removed from Keras models ({since(row)}); {row.advice}"
            fix = _method_fix(use, call, self.output_units(use))
            yield self.finding(call.func_span, message, fix)
            return
        if self.flavour != "keras3":
            return
        if method == "save":
            yield from self.model_path(call, 0, "model.save")
        elif method == "save_weights":
            yield from self.weights_path(call)
        else:
            yield from self.positional(use.qualname, call)

    def output_units(self, use: ApiUse) -> int | None:
        """The output width of the one model bound to the method's receiver name."""
        models = [m for m in self.module.models if use.local and m.name == use.local]
        if len(models) != 1 or len(models[0].outputs) != 1:
            return None
        units = models[0].outputs[0].units
        return units.value if isinstance(units, Known) else None

    def weights_path(self, call: Call) -> Iterator[Finding]:
        arg = call.argument("filepath", 0)
        path = _string(arg)
        suffix = self.k.saving.weights_suffix
        if arg is None or path is None or path[0].endswith(suffix):
            return
        if call.kwarg("save_format") is not None:
            return  # KC201's `save_format=` finding gives the same advice: a `.weights.h5` name
        message = (
            f"Keras 3's `save_weights` raises for {path[0]!r}: the file name must end in `{suffix}`"
        )
        yield self.finding(arg.span, message, _weights_fix(arg, path[0], self.k.saving))

    def attribute_use(self, use: ApiUse) -> Iterator[Finding]:
        row = self.drift.members.get(use.qualname)
        if row is None or not row.applies(self.flavour):
            return
        receiver, _, member = use.qualname.partition(".")
        if receiver == "Model" and row.kind == "method":
            return  # a call of it is a method use, reported there
        if use.written in row.kept_by:
            return  # ``stateful`` of an LSTM
        owner = f"`{use.written}` layers" if receiver == "Layer" else "Keras models"
        what = "method" if row.kind == "method" else "attribute"
        message = f"the {what} `{member}` was removed from {owner} ({since(row)}); {row.advice}"
        if row.raises is not None:
            message += f" (Keras 3 keeps it only to raise: {row.raises!r})"
        yield self.finding(use.span, message)


def _string(arg: Arg | None) -> tuple[str] | None:
    if arg is not None and isinstance(arg.value, Known) and isinstance(arg.value.value, str):
        return (arg.value.value,)
    return None


def _weights_fix(arg: Arg, path: str, saving: Saving) -> Fix | None:
    """``'w.h5'`` -> ``'w.weights.h5'``: unsafe, the file gets another name (code loading
    the old name, or other tools reading it, must follow)."""
    if not path.endswith((".h5", ".hdf5")):
        return None
    new = path.rpartition(".")[0] + saving.weights_suffix
    return Fix(
        f"Save to {new!r} (unsafe: the file gets another name; code that loads the old name "
        "must change too)",
        (Edit(arg.span, new, "string"),),
        safe=False,
    )


def _positional_message(
    name: str,
    arg: Arg,
    param: tuple[str, str | None],
    new: tuple[str, str | None],
    old: OldSignature,
) -> str:
    shown = repr(arg.value.value) if isinstance(arg.value, Known) else "..."
    return (
        f"positional argument {arg.index + 1} of `{name}` ({shown}) binds `{new[0]}` in "
        f"Keras 3, but `{param[0]}` in Keras {old.version}, which this value fits: pass it "
        "by keyword"
    )


def _method_fix(use: ApiUse, call: Call, units: int | None) -> Fix | None:
    """``fit_generator`` -> ``fit`` (safe with portable keywords); ``predict_proba`` ->
    ``predict`` (Keras 2's predict_proba returned predict's output, only warning on values
    outside [0, 1]); ``predict_classes`` -> what Keras 2 computed for the known output
    width: argmax over several units, ``> 0.5`` for one. Unsafe: the result changes type
    from what a later line may expect, and a width not seen here would pick the wrong one."""
    method = use.qualname.rpartition(".")[2]
    if call.name_span is None:
        return None
    if method == "predict_classes":
        if units is None:
            return None
        if units > 1:
            return Fix(
                f"Use `predict(x).argmax(axis=-1)` (Keras 2's predict_classes for {units} units)",
                (Edit(call.name_span, "predict"), Edit(call.span, ".argmax(axis=-1)", "after")),
                safe=False,
            )
        return Fix(
            "Use `(predict(x) > 0.5).astype('int32')` (Keras 2's predict_classes for one unit)",
            (
                Edit(call.span, "(", "before"),
                Edit(call.name_span, "predict"),
                Edit(call.span, ' > 0.5).astype("int32")', "after"),
            ),
            safe=False,
        )
    if method == "predict_proba":
        return Fix("Call `predict`", (Edit(call.name_span, "predict"),), safe=True)
    replacement = _GENERATOR_METHODS.get(method)
    keywords = {a.name for a in call.args if a.name is not None}
    if replacement is None or not keywords <= _PORTABLE_KEYWORDS:
        return None
    return Fix(f"Call `{replacement}`", (Edit(call.name_span, replacement),), safe=True)


def _keras1_kernel_fix(call: Call, dims: int) -> Fix | None:
    """`Convolution2D(32, 3, 3)` -> `Convolution2D(32, (3, 3))` (an alias of Conv2D)."""
    if dims < 2:
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
    """Flags Keras 1/2 API that the target Keras removed, and calls whose meaning changed.

    The removed modules, functions, classes, model and layer methods and attributes come
    from tables generated by diffing the older Keras packages against Keras 3
    (tools/gen_api_drift.py, docs/knowledge.md); each finding names the replacement. Code
    for tf.keras 2 (the `tf2` flavour, `tf_keras`) is held only to what tf.keras 2 lacks too,
    and the `tensorflow.keras` spelling is not reported for what TensorFlow 2.16+ still
    provides (`tensorflow.keras.preprocessing.image.ImageDataGenerator`,
    `tensorflow.keras.backend.int_shape`). For a Keras 3 target it also reports what Keras 3
    rejects or reads differently, as measured on Keras 3.15.1: saving to a name without
    `.keras`/`.h5` (`model.save('dir')`), weights not named `*.weights.h5`, a
    ModelCheckpoint path it refuses, `keras.Input(shape=7)`, positional arguments that bind
    another parameter than in Keras 2 (`SGD(0.01, 0.9, 1e-6, True)`), loss and metric
    strings it no longer resolves (`'logcosh'`, `metrics=['crossentropy']`), activation
    names registered with `get_custom_objects`, a TF Hub `KerasLayer` in a Keras 3 model, and
    Keras 1 positional kernel sizes (`Convolution2D(32, 3, 3)`, read as strides).
    """

    code = "KC202"
    relevant_names = frozenset()
    name = "removed-api"
    summary = "API removed in the target Keras, or whose meaning changed."
    why = """
        These names crash at import or call time in Keras 3 (ImportError, AttributeError,
        ValueError), often deep in a script after the data are loaded (a checkpoint path
        is refused when the callback is created, just before training). Worse, some still run with another
        meaning: `Convolution2D(100, 5, 5)` builds a 5x5 kernel with stride 5, and
        `SGD(0.01, 0.9, 1e-6, True)` turns Nesterov on and sets a weight decay of 1.0.
    """
    example = """
        from keras.utils import np_utils
        from keras import backend as K
        model.add(Convolution2D(32, 3, 3))
        classes = model.predict_classes(x)
        model.save_weights("weights.h5")
    """
    use_instead = """
        from keras.utils import to_categorical
        from keras import ops
        model.add(Conv2D(32, (3, 3)))
        classes = np.argmax(model.predict(x), axis=-1)
        model.save_weights("model.weights.h5")
    """
    fix_safety = """
        Safe fixes where the replacement is exact: imports from a removed module whose names
        all live on in one Keras 3 module (`keras.layers.core` -> `keras.layers`),
        `np_utils.to_categorical` -> `to_categorical`, `fit_generator` -> `fit` with portable
        keywords, `keras.Input(shape=7)` -> `shape=(7,)`,
        `set_image_dim_ordering('th')` -> `set_image_data_format('channels_first')`.
        `predict_proba(x)` -> `predict(x)` (what Keras 2 returned).
        Unsafe fixes: `predict_classes(x)` -> `predict(x).argmax(axis=-1)` for a known
        multi-unit output or `(predict(x) > 0.5).astype("int32")` for a known single unit
        (what Keras 2 computed; no fix when the width is not known), `Convolution2D(32, 3, 3)`
        -> `(3, 3)` (changes what Keras 2/3 build), and file renames (`'w.h5'` -> `'w.weights.h5'`, `'x.hdf5'` -> `'x.h5'`): the
        file gets another name, so code that loads the old name must change too.
    """
    limitations = """
        Methods and attributes are seen only on values known to be Keras models or layers
        (`model.layers[0].output_shape` is not); file names only as string literals. A TF Hub
        layer is reported when its module builds a Keras 3 model, without proof that the
        layer goes into that model. Code that sets `TF_USE_LEGACY_KERAS` (tf.keras is then
        tf_keras) is judged as tf.keras 2 code. Positional arguments are reported only where
        the literal's type fits the old parameter and not the new one.
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
            from keras.layers import Merge
            merged = Merge([left, right], mode="concat")
            """,
            line=1,
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
            phase = K.learning_phase()
            """,
            line=2,
        ),
        # Modules and functions gone or moved.
        Invalid(
            """
            from keras.preprocessing.image import ImageDataGenerator
            datagen = ImageDataGenerator(rescale=1 / 255)
            """,
            line=1,
            col=39,
        ),
        Invalid(
            """
            from keras.preprocessing.text import Tokenizer
            tokenizer = Tokenizer(num_words=10000)
            """,
            line=1,
        ),
        Invalid(
            """
            from keras.wrappers.scikit_learn import KerasClassifier
            """,
            line=1,
        ),
        Invalid(
            """
            import tensorflow as tf
            scale = tf.keras.layers.experimental.preprocessing.Rescaling(1 / 255)
            """,
            line=2,
        ),
        Invalid(
            """
            from keras.preprocessing.sequence import TimeseriesGenerator
            """,
            line=1,
        ),
        Invalid(
            """
            from tensorflow.keras.layers.experimental.preprocessing import TextVectorization
            short = TextVectorization(max_tokens=1000)
            long = TextVectorization(max_tokens=20000)
            """,
            line=1,
        ),
        # Keras 2 backend functions: gone from the standalone keras.backend.
        Invalid(
            """
            from keras import backend as K
            size = K.int_shape(features)[-1]
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            noise = keras.backend.random_normal(shape=(2, 3))
            """,
            line=2,
        ),
        Invalid(
            """
            from keras import backend as K
            K.set_image_dim_ordering("th")
            """,
            line=2,
            fixed="""
            from keras import backend as K
            K.set_image_data_format("channels_first")
            """,
        ),
        Invalid(
            """
            from keras import backend as K
            lr = K.get_value(model.optimizer.lr)
            """,
            line=2,
        ),
        Invalid(
            """
            from keras.backend import flatten
            """,
            line=1,
        ),
        # Removed model and layer methods and attributes.
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.LSTM(8, stateful=True), keras.layers.Dense(1)])
            model.reset_states()
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            dense = keras.layers.Dense(4)
            print(dense.output_shape)
            """,
            line=3,
            col=13,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            probabilities = model.predict_proba(x)
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            probabilities = model.predict(x)
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
            labels = model.predict_classes(x_test)
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
            labels = (model.predict(x_test) > 0.5).astype("int32")
            """,
        ),
        Invalid(
            """
            import keras
            conv = keras.layers.Conv2D(8, 3)
            out = conv.get_output_at(0)
            """,
            line=3,
        ),
        Invalid(
            """
            import tensorflow as tf
            estimator = tf.keras.estimator.model_to_estimator(model)
            """,
            line=2,
        ),
        # Saving: what Keras 3.15.1 refuses.
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save("saved_model_dir")
            """,
            line=3,
            col=12,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights("weights.h5")
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights("weights.weights.h5")
            """,
        ),
        Invalid(
            """
            from keras.callbacks import ModelCheckpoint
            checkpoint = ModelCheckpoint("best-{epoch:02d}.hdf5", save_best_only=True)
            """,
            line=2,
            fixed="""
            from keras.callbacks import ModelCheckpoint
            checkpoint = ModelCheckpoint("best-{epoch:02d}.h5", save_best_only=True)
            """,
        ),
        Invalid(
            """
            from keras.callbacks import ModelCheckpoint
            checkpoint = ModelCheckpoint("cp.ckpt", save_weights_only=True)
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            keras.saving.save_model(model, "exported")
            """,
            line=2,
        ),
        # Changed semantics.
        Invalid(
            """
            import keras
            inputs = keras.Input(shape=7)
            """,
            line=2,
            col=28,
            fixed="""
            import keras
            inputs = keras.Input(shape=(7,))
            """,
        ),
        Invalid(
            """
            from keras.optimizers import SGD
            sgd = SGD(0.01, 0.9, 1e-6, True)
            """,
            line=2,
            col=22,
        ),
        Invalid(
            """
            from keras.optimizers import Adam
            opt = Adam(0.001, 0.9, 0.999, 1e-8, 0.0)
            """,
            line=2,
        ),
        Invalid(
            """
            from keras.callbacks import ModelCheckpoint
            checkpoint = ModelCheckpoint("m.keras", "val_loss", 0, True, False, "auto", 5)
            """,
            line=2,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="logcosh")
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["crossentropy"])
            """,
            line=3,
        ),
        Invalid(
            """
            import keras
            def swish2(x):
                return x * keras.ops.sigmoid(x)
            keras.utils.get_custom_objects().update({"swish2": swish2})
            model = keras.Sequential([keras.layers.Dense(8, activation="swish2")])
            """,
            line=5,
        ),
        Invalid(
            """
            import keras
            import tensorflow_hub as hub
            model = keras.Sequential([hub.KerasLayer(handle), keras.layers.Dense(1)])
            """,
            line=3,
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
        # The tensorflow.keras spelling still provides these under TensorFlow 2.16+.
        Valid(
            """
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            from tensorflow.keras.preprocessing.text import Tokenizer
            datagen = ImageDataGenerator(rescale=1 / 255)
            """
        ),
        Valid(
            """
            import tensorflow as tf
            K = tf.keras.backend
            size = K.int_shape(features)[-1]
            """
        ),
        Valid(
            """
            from tensorflow.keras.preprocessing.image import ImageDataGenerator
            datagen = ImageDataGenerator(rescale=1 / 255)
            """,
            flavour="tf2",
        ),
        Valid(
            """
            from keras import backend as K
            size = K.int_shape(features)[-1]
            """,
            flavour="tf2",
        ),
        # Keras 3 still has these backend names, and keras.ops replaces the rest.
        Valid(
            """
            import keras
            from keras import backend as K
            from keras import ops
            K.clear_session()
            eps = K.epsilon()
            channels_last = K.image_data_format() == "channels_last"
            total = ops.sum(ops.square(x))
            """
        ),
        Valid(
            """
            import keras
            layer = keras.layers.LSTM(8, stateful=True)
            layer.reset_states()
            print(layer.stateful)
            """
        ),
        Valid(
            """
            import keras
            dense = keras.layers.Dense(4)
            print(dense.units, dense.output.shape)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.summary()
            print(model.metrics_names, model.count_params())
            """
        ),
        Valid(
            """
            import tf_keras
            model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
            model.fit_generator(generator, steps_per_epoch=10)  # tf_keras 2 still has it
            """
        ),
        Valid(
            """
            import keras
            inputs = keras.Input(shape=(7,))
            model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            print(model.output_shape)
            """
        ),
        # Saving under names Keras 3 accepts.
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save("model.keras")
            model.save("model.h5")
            model.save_weights("model.weights.h5")
            model.export("saved_model_dir")
            """
        ),
        Valid(
            """
            from keras.callbacks import ModelCheckpoint
            best = ModelCheckpoint("best.keras", save_best_only=True)
            weights = ModelCheckpoint("w-{epoch:02d}.weights.h5", save_weights_only=True)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights(weights_path)  # a name not known statically
            """
        ),
        # `save_format=` is KC201's finding, whose advice is the `.weights.h5` name: the
        # file name is not reported a second time at that call.
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights("model.h5", save_format="h5")
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.save_weights("weights.h5")
            """,
            flavour="tf2",
        ),
        Valid(
            """
            from keras.callbacks import ModelCheckpoint
            checkpoint = ModelCheckpoint(filepath=checkpoint_path, save_weights_only=weights_only)
            """
        ),
        # Positional arguments that mean the same in Keras 3.
        Valid(
            """
            from keras.optimizers import SGD, Adam
            sgd = SGD(0.01, 0.9, True)
            adam = Adam(0.001, 0.9, 0.999)
            """
        ),
        Valid(
            """
            from keras.callbacks import EarlyStopping
            stop = EarlyStopping("val_loss", 0.001, 5)
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="log_cosh", metrics=["mae", "acc"])
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="logcosh")
            """,
            flavour="tf2",
        ),
        Valid(
            """
            import os
            os.environ["TF_USE_LEGACY_KERAS"] = "1"
            import tensorflow as tf
            import tensorflow_hub as hub
            model = tf.keras.Sequential([hub.KerasLayer(handle), tf.keras.layers.Dense(1)])
            """
        ),
        Valid(
            """
            import tensorflow_hub as hub
            embed = hub.KerasLayer(handle)
            vectors = embed(sentences)
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        yield from _Check(self, module, ctx).run()
        yield from self.custom_activations(module, ctx)
        yield from super().check_module(module, ctx)

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        # Keras resolves these names when compile() runs, whatever follows it.
        for compile_spec in model.compiles:
            yield from self.identifiers(compile_spec, ctx)

    def identifiers(self, compile_spec: CompileSpec, ctx: RuleContext) -> Iterator[Finding]:
        """Loss and metric strings older Keras resolved and the target does not."""
        drift = api_drift()
        if ctx.flavour == "keras3" and registers_custom_objects(ctx.module):
            for _, loss in compile_spec.losses:
                if loss.literal and loss.written not in keras3_api().losses:
                    message = (
                        "Keras 3 does not look up loss names registered with "
                        f'`get_custom_objects`: {loss.written!r} raises "Could not interpret '
                        'loss identifier"; pass the function itself'
                    )
                    yield self.finding(loss.span, message, severity(ctx.flavour))
        entries = [("loss", loss) for _, loss in compile_spec.losses]
        entries += [("metric", metric) for _, metric in compile_spec.metrics]
        for kind, entry in entries:
            if not entry.literal:
                continue
            row = drift.identifiers.get(f"{kind}:{entry.written}")
            if row is None or not row.applies(ctx.flavour):
                continue
            message = f"Keras 3 does not resolve the {kind} {entry.written!r} ({since(row)}); {row.advice}"
            yield self.finding(entry.span, message, severity(ctx.flavour))

    def custom_activations(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        """Activation strings only a ``get_custom_objects`` registration could resolve: Keras
        3 no longer looks them up there (measured on Keras 3.15.1)."""
        if ctx.flavour != "keras3" or not registers_custom_objects(module):
            return
        known = keras3_api().activations | load().activations | {"linear"}
        for use in module.api_uses:
            family, _, name = use.qualname.rpartition(".")
            if use.kind != "call" or use.call is None or family != "keras.layers":
                continue
            arg = use.call.argument("activation", 0 if name == "Activation" else None)
            if arg is None or not isinstance(arg.value, Known):
                continue
            written = arg.value.value
            if isinstance(written, str) and written not in known:
                message = (
                    "Keras 3 does not look up activation names registered with "
                    f'`get_custom_objects`: {written!r} raises "Could not interpret '
                    'activation function identifier"; pass the function itself'
                )
                yield self.finding(arg.span, message, severity(ctx.flavour))
