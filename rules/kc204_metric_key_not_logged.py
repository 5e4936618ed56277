"""KC204: a history key, callback monitor or checkpoint file name field that the fit never logs."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

from kerascheck.ir import (
    UNKNOWN,
    Call,
    CompileSpec,
    Edit,
    Finding,
    Fix,
    Flavour,
    Known,
    MetricSpec,
    ModelSpec,
    ModuleSpec,
    RunSpec,
    Span,
    Value,
)
from kerascheck.knowledge import api_drift, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid

_FLAVOUR_NAMES = {"keras3": "Keras 3", "tf2": "tf.keras 2", "legacy": "standalone Keras"}
# File name fields ModelCheckpoint fills in besides the logs.
_PATH_FIELDS = frozenset({"epoch", "batch"})
# Where each callback takes ``monitor`` positionally (ModelCheckpoint's first is filepath).
_MONITOR_POSITION = {"keras.callbacks.ModelCheckpoint": 1}


@dataclass(frozen=True)
class Logged:
    """The keys a fit() may log: exact keys, and keys Keras may number (``auc``, ``auc_1``)."""

    keys: frozenset[str]
    numbered: frozenset[str]
    prefixes: tuple[str, ...]  # output-name prefixes of a multi-output model ("" for one)

    def has(self, key: str) -> bool:
        return key in self.keys or any(
            re.fullmatch(rf"{re.escape(base)}(_\d+)?", key) for base in self.numbered
        )

    def listed(self) -> str:
        names = sorted({*self.keys, *(f"{b}[_N]" for b in self.numbered)})
        return ", ".join(f"'{n}'" for n in names)


class MetricKeyNotLogged(Rule):
    """Flags a key read from a `fit()`'s History (`history.history["acc"]`,
    `history.history.get("acc")`), a callback's `monitor=` (EarlyStopping, ModelCheckpoint,
    ReduceLROnPlateau) and a `{field}` of a ModelCheckpoint file name that this fit never
    logs.

    The keys come from the compile in effect at that fit: `loss`, one key per metric
    (`metrics=["accuracy"]` logs `accuracy` in tf.keras 2 and Keras 3, `metrics=["acc"]` logs
    `acc`; standalone Keras up to 2.2 logged `acc` for both), a metric object's `name=` or its
    class's default name (`keras.metrics.AUC()` logs `auc`), the output names as prefixes on
    a multi-output model (`out_a_accuracy`, `out_a_loss`), `val_` keys only when the fit is
    given `validation_data` or `validation_split`, and what the callbacks add
    (`learning_rate` from ReduceLROnPlateau).
    """

    code = "KC204"
    name = "metric-key-not-logged"
    severity = "error"
    relevant_names = frozenset({"history"})
    summary = (
        "A history key, callback monitor or checkpoint file name field the fit never logs: "
        "KeyError, or a callback that never acts."
    )
    why = """
        Key names changed between Keras versions, and code written for one reads keys the
        other never logs. Reading `history.history["acc"]` after `metrics=["accuracy"]`
        raises KeyError in tf.keras 2 and Keras 3 (after the whole training ran).
        A callback watching a key that is not logged is worse: `EarlyStopping(monitor=
        "val_acc", mode="max")` only warns, every epoch, and never stops;
        `ModelCheckpoint(monitor="val_acc", mode="max", save_best_only=True)` saves every
        epoch in Keras 3, so the file holds the last model, not the best (tf.keras 2 never
        saves it); without `mode=` Keras 3 raises ValueError instead. Without validation data no `val_` key is logged at all.
    """
    example = """
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        stop = EarlyStopping(monitor="val_acc", mode="max", patience=3)
        history = model.fit(x, y, validation_split=0.2, callbacks=[stop])
        plt.plot(history.history["acc"])
    """
    use_instead = """
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        stop = EarlyStopping(monitor="val_accuracy", mode="max", patience=3)
        history = model.fit(x, y, validation_split=0.2, callbacks=[stop])
        plt.plot(history.history["accuracy"])
    """
    fix_safety = """
        When exactly one logged key names the same metric (`acc` and `accuracy`, `mae` and
        `mean_absolute_error`, with the same `val_` and output prefixes), the key is renamed
        to it. For a history read the fix is safe: the read raised KeyError (or `.get`
        returned None), and now reads the metric it names. For a `monitor=` or a checkpoint
        file name it is unsafe: the callback starts to act (training stops earlier, another
        checkpoint is kept), which changes what the training produces. No fix when the key
        matches no logged metric, or when the fit has no validation data for a `val_` key.
    """
    limitations = """
        Silent unless every key the fit can log is known: the compile in effect at that
        fit is decided (one compile on every path), every metric is a string, a Keras metric
        (class or function) or a function the file defines, the model is a Sequential or
        functional model of Keras layers (a subclass or custom layer may log metrics of its
        own), a multi-output model names all its outputs and gives each a loss, and every
        callback is a Keras callback known not to add keys (a custom callback may write to
        the logs). Reads inside `try`, after `"acc" in history.history`, or with a
        `.get` default are taken as guarded. Only the History a `fit()` returns is
        followed, through names and function arguments (not `pd.DataFrame(history.history)`).
        A numbered metric class (`AUC()`, `Precision()`) may log `auc_1` in a long-lived
        session: any such suffix is accepted.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, epochs=5)
            print(history.history["acc"][-1])
            """,
            line=5,
            col=23,
            flavour="keras3",
            fixed="""
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, epochs=5)
            print(history.history["accuracy"][-1])
            """,
        ),
        Invalid(
            """
            # tf.keras 2 logs "mae" as written: "mean_absolute_error" is not logged.
            from tensorflow import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse", metrics=["mae"])
            h = model.fit(x, y, validation_data=(xv, yv))
            def plot(run):
                plt.plot(run.history["val_mean_absolute_error"])
            plot(h)
            """,
            line=7,
            flavour="tf2",
            fixed="""
            # tf.keras 2 logs "mae" as written: "mean_absolute_error" is not logged.
            from tensorflow import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse", metrics=["mae"])
            h = model.fit(x, y, validation_data=(xv, yv))
            def plot(run):
                plt.plot(run.history["val_mae"])
            plot(h)
            """,
        ),
        Invalid(
            """
            import keras
            from keras.callbacks import EarlyStopping
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
            stop = EarlyStopping(monitor="val_acc", mode="max", patience=2)
            model.fit(x, y, validation_split=0.2, callbacks=[stop])
            """,
            line=5,
            flavour="keras3",
            fixed="""
            import keras
            from keras.callbacks import EarlyStopping
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
            stop = EarlyStopping(monitor="val_accuracy", mode="max", patience=2)
            model.fit(x, y, validation_split=0.2, callbacks=[stop])
            """,
        ),
        Invalid(
            """
            # No validation data: no val_ key is logged, so this never stops.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, epochs=100, callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss")])
            """,
            line=5,
        ),
        Invalid(
            """
            # Multi-output: each output's keys carry its name.
            import keras
            inputs = keras.Input((8,))
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            size = keras.layers.Dense(1, name="size")(inputs)
            model = keras.Model(inputs, [kind, size])
            model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], metrics={"kind": "accuracy"})
            history = model.fit(x, [y_kind, y_size])
            plt.plot(history.history["accuracy"])
            """,
            line=9,
            flavour="keras3",
            fixed="""
            # Multi-output: each output's keys carry its name.
            import keras
            inputs = keras.Input((8,))
            kind = keras.layers.Dense(3, activation="softmax", name="kind")(inputs)
            size = keras.layers.Dense(1, name="size")(inputs)
            model = keras.Model(inputs, [kind, size])
            model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], metrics={"kind": "accuracy"})
            history = model.fit(x, [y_kind, y_size])
            plt.plot(history.history["kind_accuracy"])
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="roc_auc")])
            save = keras.callbacks.ModelCheckpoint("best-{epoch:02d}-{val_auc:.3f}.keras")
            model.fit(x, y, validation_split=0.1, callbacks=[save])
            """,
            line=4,
        ),
    )
    valid = (
        Valid(
            """
            # metrics=["acc"] logs "acc" under every flavour.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
            history = model.fit(x, y, validation_split=0.2)
            plt.plot(history.history["acc"])
            plt.plot(history.history["val_acc"])
            """,
            flavour="keras3",
        ),
        Valid(
            """
            # Standalone Keras 2.2 logged "acc" for metrics=["accuracy"].
            from keras.models import Sequential
            from keras.layers import Dense
            model = Sequential([Dense(1, activation="sigmoid", input_dim=8)])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, validation_split=0.2)
            plt.plot(history.history["val_acc"])
            """,
            flavour="legacy",
        ),
        Valid(
            """
            # A metric's name= is its key.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="roc_auc")])
            stop = keras.callbacks.EarlyStopping(monitor="val_roc_auc", mode="max")
            history = model.fit(x, y, validation_data=(xv, yv), callbacks=[stop])
            plt.plot(history.history["roc_auc"])
            """
        ),
        Valid(
            """
            # A name given by position (Accuracy's first parameter): not guessed.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[keras.metrics.Accuracy("acc")])
            save = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_acc", save_best_only=True)
            model.fit(x, y, validation_data=(xv, yv), callbacks=[save])
            """
        ),
        Valid(
            """
            # A custom metric of unknown name: the logged keys are not all known.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[F1Score(name="f1")])
            history = model.fit(x, y, validation_split=0.2)
            plt.plot(history.history["val_f1"])
            """
        ),
        Valid(
            """
            # A function metric logs its name; the multi-output keys carry the output names.
            import keras
            def f1(y_true, y_pred):
                return keras.ops.mean(y_pred)
            inputs = keras.Input((8,))
            a = keras.layers.Dense(1, activation="sigmoid", name="a")(inputs)
            b = keras.layers.Dense(1, name="b")(inputs)
            single = keras.Model(inputs, a)
            single.compile(optimizer="adam", loss="binary_crossentropy", metrics=[f1])
            print(single.fit(x, y).history["f1"])
            model = keras.Model(inputs, [a, b])
            model.compile(optimizer="adam", loss={"a": "binary_crossentropy", "b": "mse"}, metrics={"a": ["accuracy"]})
            history = model.fit(x, [ya, yb], validation_split=0.1)
            print(history.history["val_a_accuracy"], history.history["b_loss"])
            """,
            flavour="keras3",
        ),
        Valid(
            """
            # The code checks which key exists before reading it.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y)
            key = "acc" if "acc" in history.history else "accuracy"
            plt.plot(history.history["acc"] if key == "acc" else history.history["accuracy"])
            """
        ),
        Valid(
            """
            # A custom callback may write keys of its own to the logs.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y, validation_split=0.2, callbacks=[F1Callback()])
            plt.plot(history.history["val_f1"])
            """
        ),
        Valid(
            """
            # Which compile is in effect depends on the branch: not judged.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
            if old_keras:
                model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
            else:
                model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            history = model.fit(x, y)
            plt.plot(history.history["acc"])
            """
        ),
        Valid(
            """
            # ReduceLROnPlateau logs the learning rate.
            import keras
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss")
            history = model.fit(x, y, callbacks=[reduce])
            plt.plot(history.history["learning_rate"])
            """,
            flavour="keras3",
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        # ``model.add_metric(...)`` (tf.keras 2) logs a key no compile names.
        if any(use.qualname == "Model.add_metric" for use in module.api_uses):
            return
        for model in module.models:
            yield from self.check_model(model, ctx)

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if not _judgeable(model):
            return
        for run in model.fits:
            compiled = run.compile
            if not isinstance(compiled, Known) or compiled.value is None:
                continue
            logged = logged_keys(model, compiled.value, run, ctx.flavour)
            if logged is None:
                continue
            flavour = _FLAVOUR_NAMES[ctx.flavour]
            if not run.history_probed:
                for read in run.history_reads:
                    if not logged.has(read.key):
                        yield self._unlogged(read.key, read.span, run, logged, flavour, "read")
            for callback in known(run.callbacks):
                yield from self._callback(callback, run, logged, ctx.flavour)

    def _callback(
        self, call: Call, run: RunSpec, logged: Logged, flavour: Flavour
    ) -> Iterator[Finding]:
        name = call.qualname.rsplit(".", 1)[1]
        if name == "ModelCheckpoint":
            path = call.argument("filepath", 0)
            if path is not None and isinstance(path.value, Known):
                for field in _fields(path.value.value):
                    if field not in _PATH_FIELDS and not logged.has(field):
                        yield self._path_field(field, path.value.value, path.span, run, logged)
                        break
        default = api_drift().metric_keys.monitor(flavour, call.qualname)
        if default is None:
            return
        arg = call.kwarg("monitor")
        positional = sum(1 for a in call.args if a.name is None)
        if arg is None and positional > _MONITOR_POSITION.get(call.qualname, 0):
            return  # monitor given positionally: not worth guessing
        monitor = default.monitor if arg is None else known(arg.value)
        mode_arg = call.kwarg("mode")
        mode = default.mode if mode_arg is None else known(mode_arg.value)
        if not isinstance(monitor, str) or logged.has(monitor):
            return
        effect = _effect(name, call, monitor, mode, flavour)
        if effect is None:
            return
        span = arg.span if arg is not None else (call.name_span or call.span)
        yield self._unlogged(
            monitor, span, run, logged, _FLAVOUR_NAMES[flavour], effect, arg is not None
        )

    def _unlogged(
        self,
        key: str,
        span: Span,
        run: RunSpec,
        logged: Logged,
        flavour: str,
        effect: str,
        written: bool = True,
    ) -> Finding:
        read = effect == "read"
        what = f"`{key}`" if written else f"the default monitor `{key}`"
        if read:
            get = any(r.key == key and r.method == "get" for r in run.history_reads)
            effect = "`.get()` returns None" if get else "the read raises KeyError"
        message = (
            f"{what} is not a key this {run.method}() logs under {flavour} (it logs "
            f"{logged.listed()}): {effect}"
        )
        if key.startswith("val_") and run.validation == Known(False):
            message += "; this fit() has no validation data, so it logs no `val_` key"
        replacement = _replacement(key, logged) if written else None
        fix = None
        if replacement is not None:
            message += f"; did you mean `{replacement}`?"
            fix = Fix(
                f"Use the logged key `{replacement}`", (Edit(span, replacement, "string"),), read
            )
        return self.finding(span, message, fix=fix)

    def _path_field(
        self, field: str, path: str, span: Span, run: RunSpec, logged: Logged
    ) -> Finding:
        message = (
            f"ModelCheckpoint's file name uses `{{{field}}}`, which this {run.method}() never "
            f"logs (it logs {logged.listed()}): saving raises KeyError"
        )
        replacement = _replacement(field, logged)
        fix = None
        if replacement is not None and "\\" not in path and '"' not in path and "'" not in path:
            new = re.sub(rf"\{{{re.escape(field)}(?=[:}}!])", "{" + replacement, path)
            message += f"; did you mean `{{{replacement}}}`?"
            fix = Fix(f"Use the logged key `{replacement}`", (Edit(span, new, "string"),), False)
        return self.finding(span, message, fix=fix)


def known(value: Value) -> object:
    return value.value if isinstance(value, Known) else ()


def _judgeable(model: ModelSpec) -> bool:
    """A model whose metrics all come from its compile(): built from Keras layers only (a
    subclass or a custom layer may track metrics of its own)."""
    if model.kind not in ("sequential", "functional") or not model.complete:
        return False
    return all(layer.known_layer for layer in model.layers) and bool(model.outputs)


def logged_keys(
    model: ModelSpec, compiled: CompileSpec, run: RunSpec, flavour: Flavour
) -> Logged | None:
    """Every key this run logs, or None when one of them cannot be told."""
    if compiled.unresolved_metrics or run.callbacks is UNKNOWN:
        return None
    outputs = model.outputs
    count = len(outputs)
    names = [output.name for output in outputs]
    if count > 1 and (None in names or compiled.function_metrics):
        return None
    keyed = {key for key, _ in compiled.metrics if key is not None}
    allowed = {name for name in names if name} | {f"#{i}" for i in range(count)}
    if not keyed <= allowed:
        return None  # metrics keyed by an output name the analysis does not know
    flat = [metric for key, metric in compiled.metrics if key is None]
    if flavour == "keras3" and count > 1 and flat and len(flat) != count:
        return None  # Keras 3 rejects it at the first step
    keys = {"loss"}
    numbered: set[str] = set()
    prefixes = tuple(f"{name}_" for name in names) if count > 1 else ("",)
    for index, output in enumerate(outputs):
        prefix = prefixes[index]
        if count > 1:
            if compiled.loss_for(index, output) is None:
                return None
            keys.add(f"{prefix}loss")
        for metric in compiled.metrics_for(index, output, flavour, count):
            found = _metric_keys(metric, flavour)
            if found is None:
                return None
            exact, numbering = found
            keys.update(prefix + key for key in exact)
            numbered.update(prefix + key for key in numbering)
        for key, function in compiled.function_metrics:
            if key in (None, output.name, f"#{index}"):
                keys.add(prefix + function)
    for callback in known(run.callbacks):
        added = load().history_callbacks.get(callback.qualname)
        if added is None:
            return None
        keys.update(added.get(flavour, ()))
    if run.validation != Known(False):
        keys |= {f"val_{key}" for key in keys if key not in ("lr", "learning_rate")}
        numbered |= {f"val_{key}" for key in numbered}
    return Logged(frozenset(keys), frozenset(numbered), prefixes)


def _metric_keys(
    metric: MetricSpec, flavour: Flavour
) -> tuple[frozenset[str], frozenset[str]] | None:
    """The keys one metric may log (exact, numbered), or None when they cannot be told."""
    table = api_drift().metric_keys
    if metric.literal:
        return table.string_keys(flavour, metric.written), frozenset()
    if metric.call is not None:
        name = metric.call.kwarg("name")
        if name is not None:
            value = known(name.value)
            return (frozenset({value}), frozenset()) if isinstance(value, str) else None
        if any(arg.name is None or arg.name in ("*", "**") for arg in metric.call.args):
            return None  # ``Accuracy("acc")``: the name, or another parameter, by position
        default = table.class_key(flavour, metric.call.qualname)
        if default is None:
            return None
        group = frozenset({default.key})
        return (frozenset(), group) if default.numbered else (group, frozenset())
    if metric.written[:1].isupper():
        return None  # a class passed uninstantiated
    # A metric function logs its __name__: an alias of another function in Keras 2 logs
    # that one's name (``mae`` -> ``mean_absolute_error``).
    names = {metric.written}
    if flavour != "keras3":
        names |= table.string_keys("legacy", metric.written)
    return frozenset(names), frozenset()


def _effect(name: str, call: Call, monitor: str, mode: object, flavour: Flavour) -> str | None:
    """What the callback does with a monitor that is never logged, or None when nothing."""
    if (
        flavour == "keras3"
        and mode not in ("min", "max")
        and monitor.removeprefix("val_") != "loss"
    ):
        return (
            "Keras 3 raises ValueError in fit() (it cannot tell whether to maximize or "
            "minimize a metric it does not have)"
        )
    if name == "EarlyStopping":
        return "EarlyStopping only warns, every epoch, and never stops the training"
    if name == "ReduceLROnPlateau":
        return "ReduceLROnPlateau only warns and never lowers the learning rate"
    best = call.kwarg("save_best_only")
    if name == "ModelCheckpoint" and best is not None and best.value == Known(True):
        if flavour == "keras3":
            return (
                "ModelCheckpoint only warns and saves every epoch, so the file holds the last "
                "model, not the best"
            )
        return "ModelCheckpoint only warns and never saves the model"
    return None


def _fields(path: object) -> list[str]:
    """The names of a file name's format fields (``{val_loss:.2f}`` -> ``val_loss``)."""
    if not isinstance(path, str):
        return []
    try:
        parsed = list(string.Formatter().parse(path))
    except ValueError:
        return []
    fields = []
    for _, field, _, _ in parsed:
        if field:
            fields.append(re.split(r"[.\[]", field, maxsplit=1)[0])
    return fields


def _synonyms(a: str, b: str) -> bool:
    if {a, b} == {"lr", "learning_rate"}:
        return True  # the learning-rate callbacks' key before and since Keras 3
    table = api_drift().metric_keys
    return any(
        a in table.string_keys(f, b) or b in table.string_keys(f, a) for f in ("legacy", "tf2")
    )


def _replacement(key: str, logged: Logged) -> str | None:
    """The one logged key that names the same metric as ``key`` with the same prefixes."""
    val = key.startswith("val_")
    stem = key.removeprefix("val_") if val else key
    found = set()
    for candidate in logged.keys:
        if candidate.startswith("val_") != val:
            continue
        rest = candidate.removeprefix("val_") if val else candidate
        for prefix in logged.prefixes:
            if stem.startswith(prefix) and rest.startswith(prefix):
                a, b = stem[len(prefix) :], rest[len(prefix) :]
                if a != b and _synonyms(a, b):
                    found.add(candidate)
            elif prefix and rest.startswith(prefix) and _synonyms(stem, rest[len(prefix) :]):
                found.add(candidate)  # an output's key read without its prefix
    return found.pop() if len(found) == 1 else None
