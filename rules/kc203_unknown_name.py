import difflib
from collections.abc import Iterable, Iterator

from kerascheck.ir import CompileSpec, Edit, Finding, Fix, Known, ModelSpec, ModuleSpec, Span
from kerascheck.knowledge import api_drift, keras3_api, load
from kerascheck.rule import Invalid, Rule, RuleContext, Valid
from kerascheck.rules._drift import registers_custom_objects


def _did_you_mean(match: str | None) -> str:
    return f"; did you mean '{match}'?" if match else ""


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


def _rename(written: str, span: Span, match: str | None, string: bool) -> Fix | None:
    if match is None:
        return None
    edit = Edit(span, match, "string") if string else Edit(span, match)
    return Fix(f"Replace '{written}' with '{match}'", (edit,), safe=True)


class UnknownName(Rule):
    """Flags misspelt loss, metric, activation and optimizer strings, and keyword arguments
    that a known Keras layer or optimizer does not accept and no Keras ever did.

    Names are checked against what installed Keras 3 accepts (generated into the knowledge
    tables by tools/gen_knowledge.py). Under the `tf2` / `legacy` flavours only strings that
    no Keras version knows are flagged, and layer keywords are not checked. What older Keras
    had is not a misspelling: removed arguments are KC201's, removed names KC202's.
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
        Safe fix when exactly one known name is close (difflib ratio >= 0.8, case and
        underscores aside) or the keyword is a known misspelling (`activation_function=` ->
        `activation=`): the string or keyword is replaced, quotes kept. The message offers
        the same name and nothing else: no fix and no "did you mean" when two names are
        equally plausible, and never for a keyword some older Keras took (`kernel_layout=`,
        `batch_input_shape=`, `fused=`: those are removed arguments, KC201, whose migration
        is not a rename), nor for a loss or metric string older Keras resolved (`'logcosh'`:
        removed-api, KC202).
    """
    limitations = """
        Names computed at run time and keyword arguments of custom layers and optimizers are
        not checked; a module that registers custom objects by name (`get_custom_objects`,
        `custom_object_scope`, `register_keras_serializable`) is not checked for unknown
        activation, loss and metric strings.
    """
    invalid = (
        Invalid(
            """
            from keras.layers import Dense
            hidden = Dense(64, activation_function="relu")
            """,
            line=2,
            fixed="""
            from keras.layers import Dense
            hidden = Dense(64, activation="relu")
            """,
        ),
        Invalid(
            """
            import keras
            rnn = keras.layers.LSTM(8, return_sequence=True)
            """,
            line=2,
            fixed="""
            import keras
            rnn = keras.layers.LSTM(8, return_sequences=True)
            """,
        ),
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
        # Issue 16 pattern 5: arguments older Keras took are removed arguments (KC201), not
        # typos: no "did you mean kernel_constraint" for kernel_layout, nor input_shape for
        # batch_input_shape (which drops the batch size a stateful RNN needs).
        Valid(
            """
            import keras
            dense = keras.layers.Dense(8, kernel_layout=layout)
            rnn = keras.layers.LSTM(8, batch_input_shape=(32, 10, 4), stateful=True)
            norm = keras.layers.BatchNormalization(fused=True)
            """
        ),
        Valid(
            """
            import keras
            # A Keras 3 layer no older Keras had, with a keyword older layers took.
            gray = keras.layers.RandomGrayscale(batch_size=8)
            """
        ),
        # Names registered with get_custom_objects are no typos (Keras 3 not resolving
        # them is removed-api's, KC202).
        Valid(
            """
            import keras
            keras.utils.get_custom_objects().update({"swish2": my_swish})
            model = keras.Sequential([keras.layers.Dense(8, activation="swish2")])
            model.compile(optimizer="adam", loss="my_loss")
            """
        ),
        # A name older Keras resolved is removed-api's (KC202), not a typo of 'log_cosh'.
        Valid(
            """
            import keras
            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="logcosh", metrics=["crossentropy"])
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
        # Names registered with get_custom_objects: older Keras resolved them, Keras 3 does
        # not (removed-api, KC202, says so); either way they are no typo.
        custom = registers_custom_objects(module)
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
                if isinstance(written, str) and written not in known_activations and not custom:
                    yield self._unknown("activation", written, arg.span, known_activations)  # type: ignore[union-attr]
                accepted = api.layer_arguments.get(name)
            elif family == "keras.optimizers":
                accepted = api.optimizer_arguments.get(name)
            else:
                continue
            if not keras3 or accepted is None or use.call.has_star_args:
                continue
            # A keyword some older Keras took is a removed argument (KC201), never a typo:
            # `kernel_layout=` must not become `kernel_constraint=`.
            older = api_drift().argument_names.get(family, frozenset())
            given = {a.name for a in use.call.args}
            for argument in use.call.args:
                if argument.name is None or argument.name in accepted | older:
                    continue
                match = k.misspelt_arguments.get(argument.name)
                if match not in accepted:
                    match = _only_match(argument.name, accepted - given)
                fix = None
                if argument.keyword_span is not None:
                    fix = _rename(argument.name, argument.keyword_span, match, string=False)
                yield self.finding(
                    argument.keyword_span or argument.span,
                    f"`{name}` has no argument `{argument.name}`{_did_you_mean(match)} (Keras "
                    "raises 'Unrecognized keyword arguments')",
                    fix=fix,
                )
        yield from super().check_module(module, ctx)

    def check_model(self, model: ModelSpec, ctx: RuleContext) -> Iterator[Finding]:
        if registers_custom_objects(ctx.module):
            return
        # Keras resolves these names when compile() runs, whatever follows it.
        for compile_spec in model.compiles:
            yield from self._check_compile(compile_spec, ctx)

    def _check_compile(self, compile_spec: CompileSpec, ctx: RuleContext) -> Iterator[Finding]:
        api = keras3_api()
        k = load()
        drift = api_drift()
        strict = ctx.flavour == "keras3"
        losses = api.losses if strict else api.losses | set(k.loss_aliases)
        metrics = api.metrics if strict else api.metrics | set(k.metric_aliases) | losses
        for kind, entries, known in (
            ("loss", compile_spec.losses, losses),
            ("metric", compile_spec.metrics, metrics),
        ):
            for _, entry in entries:
                if not entry.literal or entry.written in known:
                    continue
                removed = drift.identifiers.get(f"{kind}:{entry.written}")
                if removed is not None and removed.applies(ctx.flavour):
                    continue  # a name older Keras resolved: removed-api (KC202) reports it
                yield self._unknown(kind, entry.written, entry.span, known)
        optimizer = compile_spec.optimizer
        if optimizer is not None and optimizer.call is None and isinstance(optimizer.name, Known):
            written = optimizer.name.value
            if written.lower() not in api.optimizers:
                yield self._unknown("optimizer", written, optimizer.span, api.optimizers)

    def _unknown(self, kind: str, written: str, span: Span, choices: Iterable[str]) -> Finding:
        match = _only_match(written, choices)
        return self.finding(
            span,
            f"unknown {kind} '{written}'{_did_you_mean(match)}",
            fix=_rename(written, span, match, string=True),
        )
