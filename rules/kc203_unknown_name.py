import difflib
from collections.abc import Iterable, Iterator

from kerascheck.ir import CompileSpec, Edit, Finding, Fix, Known, ModelSpec, ModuleSpec, Span
from kerascheck.knowledge import keras3_api, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid


def _closest(name: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _only_match(name: str, choices: Iterable[str]) -> str | None:
    """The correction when exactly one name is close (a typo, not a guess between two)."""
    # 'MeanSquaredError' and 'mean_squared_error' are one name to a reader: compare them
    # without case and underscores, and offer the snake_case spelling.
    by_key: dict[str, str] = {}
    for choice in sorted(choices, key=lambda c: (c.islower(), c)):
        by_key[_key(choice)] = choice
    if _key(name) in by_key:
        return by_key[_key(name)]  # only case or underscores differ: `beta1` -> `beta_1`
    matches = difflib.get_close_matches(_key(name), sorted(by_key), n=2, cutoff=0.8)
    return by_key[matches[0]] if len(matches) == 1 else None


def _key(name: str) -> str:
    return name.lower().replace("_", "")


def _rename(written: str, span: Span, choices: Iterable[str], string: bool) -> Fix | None:
    match = _only_match(written, choices)
    if match is None:
        return None
    edit = Edit(span, match, "string") if string else Edit(span, match)
    return Fix(f"Replace '{written}' with '{match}'", (edit,), safe=True)


class UnknownName(Rule):
    """Flags loss, metric, activation and optimizer strings that Keras does not know, and
    keyword arguments that a known Keras layer or optimizer does not accept.

    Names are checked against what installed Keras 3 accepts (generated into the knowledge
    tables by tools/gen_knowledge.py). Under the `tf2` / `legacy` flavours only strings that
    no Keras version knows are flagged, and layer keywords are not checked.
    """

    code = "KC203"
    relevant_names = frozenset()
    experiment = "compile-name"
    name = "unknown-name"
    summary = "Unknown or misspelt Keras identifier or keyword argument."
    why = """
        Keras resolves these strings at compile time or when the layer is built: a typo
        such as loss='categorical_crossentropy_' or activation='relu6_' fails only when the
        script reaches that line, often after data loading, and an unknown keyword such as
        `kernal_initializer=` raises "Unrecognized keyword arguments".
    """
    example = """
        model.add(Dense(10, activation="softmaxx", kernal_initializer="he_normal"))
        model.compile(loss="categorical_crossentropy", optimizer="adamm")
    """
    use_instead = """
        model.add(Dense(10, activation="softmax", kernel_initializer="he_normal"))
        model.compile(loss="categorical_crossentropy", optimizer="adam")
    """
    fix_safety = """
        Safe fix when exactly one known name is close (difflib ratio >= 0.8): the string or
        keyword is replaced, quotes kept. No fix when two names are equally plausible.
    """
    limitations = """
        Names computed at run time, custom objects registered with Keras, and keyword
        arguments of custom layers and optimizers are not checked.
    """
    invalid = (
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmaxx")])
            """,
            line=2,
            col=61,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mean_sqared_error")
            """,
            line=3,
            col=38,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mean_squared_error")
            """,
        ),
        Invalid(
            """
            from keras.layers import Dense
            layer = Dense(10, kernal_initializer="he_normal")
            """,
            line=2,
            fixed="""
            from keras.layers import Dense
            layer = Dense(10, kernel_initializer="he_normal")
            """,
        ),
        Invalid(
            """
            import keras
            opt = keras.optimizers.Adam(learning_rate=1e-3, beta1=0.9)
            """,
            line=2,
            col=49,
            fixed="""
            import keras
            opt = keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.9)
            """,
        ),
        Invalid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=['acuracy'])
            """,
            line=3,
            fixed="""
            import keras
            model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=['accuracy'])
            """,
        ),
    )
    valid = (
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(10, activation="swish")])
            model.compile(optimizer="AdamW", loss="kld", metrics=["mae", "AUC"])
            """
        ),
        Valid(
            """
            import keras
            layer = keras.layers.Dense(10, name="out", dtype="float32", input_shape=(4,))
            """
        ),
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss=my_loss, metrics=[my_metric, "mse"])
            """
        ),
    )

    def check_module(self, module: ModuleSpec, ctx: RuleContext) -> Iterator[Finding]:
        api = keras3_api()
        k = load()
        keras3 = ctx.flavour == "keras3"
        known_activations = api.activations | k.activations | {"linear"}
        for use in module.api_uses:
            family, _, name = use.qualname.rpartition(".")
            if use.kind != "call" or use.call is None:
                continue
            if family == "keras.layers":
                index = 0 if name == "Activation" else None
                arg = use.call.argument("activation", index)
                value = arg.value if arg is not None else None
                written = value.value if isinstance(value, Known) else None
                if isinstance(written, str) and written not in known_activations:
                    yield self._unknown("activation", written, arg.span, known_activations)  # type: ignore[union-attr]
                accepted = api.layer_arguments.get(name)
                removed = {**k.removed_layer_args, **k.removed_layer_specific_args.get(name, {})}
            elif family == "keras.optimizers":
                accepted = api.optimizer_arguments.get(name)
                removed = k.removed_optimizer_args
            else:
                continue
            if not keras3 or accepted is None or use.call.has_star_args:
                continue
            for argument in use.call.args:
                if argument.name is None or argument.name in accepted or argument.name in removed:
                    continue
                fix = None
                if argument.keyword_span is not None:
                    candidates = accepted - {a.name for a in use.call.args}
                    fix = _rename(argument.name, argument.keyword_span, candidates, string=False)
                yield self.finding(
                    argument.keyword_span or argument.span,
                    f"`{name}` has no argument `{argument.name}`"
                    f"{_closest(argument.name, accepted)} (Keras raises 'Unrecognized keyword "
                    "arguments')",
                    fix=fix,
                )
        yield from super().check_module(module, ctx)

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        # Keras resolves these names when compile() runs, whatever follows it.
        for compile_spec in model.compiles:
            yield from self._check_compile(compile_spec, ctx)

    def _check_compile(self, compile_spec: CompileSpec, ctx: RuleContext) -> Iterator[Finding]:
        api = keras3_api()
        k = load()
        strict = ctx.flavour == "keras3"
        losses = api.losses if strict else api.losses | set(k.loss_aliases)
        metrics = api.metrics if strict else api.metrics | set(k.metric_aliases) | losses
        for _, loss in compile_spec.losses:
            if loss.literal and loss.written not in losses:
                yield self._unknown("loss", loss.written, loss.span, losses)
        for _, metric in compile_spec.metrics:
            if metric.literal and metric.written not in metrics:
                yield self._unknown("metric", metric.written, metric.span, metrics)
        optimizer = compile_spec.optimizer
        if optimizer is not None and optimizer.call is None and isinstance(optimizer.name, Known):
            written = optimizer.name.value
            if written.lower() not in api.optimizers:
                yield self._unknown("optimizer", written, optimizer.span, api.optimizers)

    def _unknown(self, kind: str, written: str, span: Span, choices: Iterable[str]) -> Finding:
        return self.finding(
            span,
            f"unknown {kind} '{written}'{_closest(written, choices)}",
            fix=_rename(written, span, choices, string=True),
        )
