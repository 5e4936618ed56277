"""Python source -> IR: one walk over the libcst tree that interprets what matters.

The walk is a small abstract interpreter: it executes module and function bodies in
order, binding names to abstract values (literals, Keras references, layers, tensors,
models), so that ``N = 1; model.add(Dense(N, activation=ACT))`` resolves, builder functions
called with literal arguments are evaluated per call site, and ``model.compile`` /
``model.fit`` attach to the model they belong to. Anything it cannot resolve becomes
``UNKNOWN`` and the rules stay silent about it.
"""

from __future__ import annotations

import builtins
import operator
import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import libcst as cst

from kerascheck.extract import backbones, dataflow, history, ordering, versions
from kerascheck.extract.backbones import Backbones
from kerascheck.extract.history import History, HistoryMethod
from kerascheck.extract.model_builder import (
    build_compile,
    build_model_spec,
    build_run,
    resolve_activation,
)
from kerascheck.extract.pipelines import Pipelines
from kerascheck.extract.program_order import ModelStates
from kerascheck.extract.trainable import (
    Assignment,
    Target,
    direct_parts,
    flag_value,
    group_target,
    model_target,
)
from kerascheck.extract.values import (
    BoundMethod,
    ClassObject,
    Data,
    Flow,
    Function,
    Instance,
    KerasObject,
    Lambda,
    LayerGroup,
    LayerObject,
    Mapping,
    Method,
    ModelObject,
    PartUse,
    Ref,
    Scope,
    SelfObject,
    Seq,
    Tensor,
    Value,
    Vocabulary,
    merge_into,
    plain,
)
from kerascheck.extract.versions import Versioned, VersionedMethod
from kerascheck.flavour import FlavourMarkers
from kerascheck.ir import (
    UNKNOWN,
    ApiUse,
    Arg,
    Call,
    CompileSpec,
    DataInfo,
    FlavourGuard,
    Known,
    LayerSpec,
    ModelSpec,
    ModuleSpec,
    RunKind,
    RunSpec,
    Span,
)
from kerascheck.knowledge import Knowledge, api_drift, keras3_api
from kerascheck.knowledge import load as load_knowledge
from kerascheck.resolve.imports import bindings_of, canonical, dotted_name, is_keras

# Bounds that keep the interpreter linear on real code.
MAX_CALL_DEPTH = 3
MAX_UNROLL = 16
# A function body is interpreted at most this many times (call sites + standalone).
MAX_EVALS_PER_FUNCTION = 3
# Statements interpreted per module: a multiple of its size, so cost stays linear.
STEP_BUDGET_FACTOR = 4
STEP_BUDGET_MIN = 2000

_BINARY: dict[type[cst.BaseBinaryOp], Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}
_COMPARE_SYMBOLS: dict[type[cst.BaseCompOp], str] = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
}
_COMPARE: dict[type[cst.BaseCompOp], Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
}
_NUMBER = (int, float)
# The methods that run a model, by what they do with it.
_RUN_KINDS: dict[str, RunKind] = {
    "fit": "train",
    "fit_generator": "train",
    "train_on_batch": "train",
    "evaluate": "evaluate",
    "evaluate_generator": "evaluate",
    "test_on_batch": "evaluate",
    "predict": "predict",
    "predict_generator": "predict",
    "predict_on_batch": "predict",
    "predict_classes": "predict",
    "predict_proba": "predict",
}
_BUILTINS = frozenset(dir(builtins))
# Methods that change a list, dict, set or array in place: a name bound to one must forget it.
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "setdefault",
        "popitem",
        "sort",
        "reverse",
        "add",
        "discard",
        "fill",
        "put",
        "resize",
    }
)


def span_of(node: cst.CSTNode) -> Span:
    """A span whose position the engine resolves later, only if a finding uses it."""
    return Span(anchor=node)


class _NameCounter(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.counts: Counter[str] = Counter()

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.counts[node.value] += 1


class _Return(Exception):
    """Unwinds a function body at ``return`` (only used for returns at body level)."""


class PythonExtractor:
    """Builds the ModuleSpec of one parsed module."""

    def __init__(
        self, module: cst.Module, path: str, knowledge: Knowledge | None = None, lines: int = 0
    ):
        self.module = module
        self.path = path
        self.k = knowledge or load_knowledge()
        self.models: list[ModelObject] = []
        self.api_uses: list[ApiUse] = []
        self.markers = FlavourMarkers()
        self.star_modules: list[str] = []
        self.pending: dict[int, Function | ClassObject] = {}
        self.depth = 0
        self.evaluations: dict[int, int] = {}
        self.steps = 0
        self.budget = max(STEP_BUDGET_MIN, STEP_BUDGET_FACTOR * lines)
        self.conditional = 0
        self.returns: list[list[Value]] = []
        self.states = ModelStates()
        self.backbones = Backbones(self.k)
        self.guards: list[FlavourGuard] = []
        self.pipelines = Pipelines(self.k, self.apply)
        # The simple statement being interpreted: what the code calls a run (``named``).
        self.statement: cst.SimpleStatementLine | None = None
        # An unconditional sys.exit() at module level: what follows never runs.
        self.exited = False
        # Inside the body of a ``try`` that handles errors: a History read there is guarded.
        self.trying = 0

    # ----------------------------------------------------------------- entry point
    def extract(self) -> ModuleSpec:
        # ``if __name__ == "__main__":`` is the script itself, not a condition.
        scope = Scope(names={"__name__": Known("__main__")})
        self.exec_block(self.module.body, scope)
        # Functions and methods nobody called in this file are still checked, with
        # unknown arguments: a model built inside them is a model all the same.
        while self.pending:
            _, pending = self.pending.popitem()
            if isinstance(pending, ClassObject):
                self.instantiate_model_class(pending, None, [], {})
            else:
                self.call_function(pending, [], {}, standalone=True)
        flavour, reason = self.markers.infer()
        trains = any(
            isinstance(event, RunSpec) and event.kind == "train"
            for model in self.models
            for event in model.events
        )
        # Only a model used as a layer (called, added, or read through .input / .output)
        # can be a part of another: most files have none, and skip the graph walks.
        nested = any(m.embedded or m.io for m in self.models)
        return ModuleSpec(
            path=self.path,
            models=tuple(self.model_spec(m, trains, nested) for m in self.models),
            api_uses=self.counted(self.api_uses),
            flavour=flavour,
            flavour_reason=reason,
            guards=tuple(self.guards),
            scores=tuple(self.pipelines.scores),
        )

    def model_spec(self, model: ModelObject, module_trains: bool, nested: bool) -> ModelSpec:
        """The IR of a model. The compiles it ends with, which the rules judge when the code
        never runs it, are kept only where nothing in the module trains (a library function
        returning a compiled model): where other models are trained, the code shows where
        training happens, and a compiled model left out of it trains nothing. Its parts
        (models used as its layers) are looked for only where some model is used as one."""
        final = () if module_trains else self.states.of(model)
        parts = self.backbones.parts(model, direct_parts(model)) if nested else ()
        return build_model_spec(model, final, self.k, parts)

    def counted(self, uses: list[ApiUse]) -> tuple[ApiUse, ...]:
        """Count the occurrences of names bound by imports of removed modules (rare, so the
        extra walk over the tree is paid only by the files that have one)."""
        names = {
            u.local
            for u in uses
            if u.kind == "import" and u.from_import and u.written in self.k.removed_modules
        }
        if not names:
            return tuple(uses)
        counter = _NameCounter(names)
        self.module.visit(counter)
        return tuple(
            replace(u, occurrences=counter.counts[u.local]) if u.local in names else u for u in uses
        )

    # ----------------------------------------------------------------- statements
    def exec_block(self, body: Sequence[cst.CSTNode], scope: Scope) -> None:
        for statement in body:
            self.exec_statement(statement, scope)

    def exec_statement(self, node: cst.CSTNode, scope: Scope) -> None:
        self.steps += 1
        if isinstance(node, cst.SimpleStatementLine):
            outer, self.statement = self.statement, node
            try:
                for small in node.body:
                    self.exec_small(small, scope)
            finally:
                self.statement = outer
        elif isinstance(node, cst.FunctionDef):
            function = Function(node, scope)
            scope.names[node.name.value] = function
            self.pending[id(node)] = function
        elif isinstance(node, cst.ClassDef):
            self.exec_class(node, scope)
        elif isinstance(node, cst.If):
            self.exec_if(node, scope)
        elif isinstance(node, (cst.For, cst.While)):
            self.exec_loop(node, scope)
        elif isinstance(node, cst.With):
            for item in node.items:
                value = self.evaluate(item.item, scope)
                if item.asname is not None:
                    self.bind(
                        item.asname.name, UNKNOWN if isinstance(value, Known) else value, scope
                    )
            self.exec_suite(node.body, scope)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            self.exec_try(node, scope)
        elif isinstance(node, cst.Match):
            entry = self.states.snapshot()
            branches, paths = [], [entry]
            for case in node.cases:
                self.states.restore(entry)
                branch = scope.fork()
                self.exec_conditional(case.body, branch)
                branches.append(branch)
                paths.append(self.states.snapshot())
            merge_into(scope, [scope.fork(), *branches])
            self.states.join(paths)

    def exec_try(self, node: cst.Try | cst.TryStar, scope: Scope) -> None:
        if any(_catches_missing_api(handler) for handler in node.handlers):
            # ``try: from keras.layers.core import Dense`` / ``except ImportError: ...``: the
            # author handles the API being missing; which side runs depends on the version.
            for part in (node.body, *(handler.body for handler in node.handlers)):
                self.guards.append(FlavourGuard(span_of(part), frozenset(), "KC2"))
        handles = bool(node.handlers)
        self.trying += handles
        try:
            self.exec_suite(node.body, scope)
        finally:
            self.trying -= handles
        after_body = self.states.snapshot()
        branches, paths = [scope.fork()], [after_body]
        alternatives = [handler.body for handler in node.handlers]
        if node.orelse is not None:
            alternatives.append(node.orelse.body)
        for body in alternatives:
            self.states.restore(after_body)
            branch = scope.fork()
            self.exec_conditional(body, branch)
            branches.append(branch)
            paths.append(self.states.snapshot())
        if len(branches) > 1:
            merge_into(scope, branches)
            self.states.join(paths)
        if node.finalbody is not None:
            self.exec_suite(node.finalbody.body, scope)

    def exec_suite(self, suite: cst.BaseSuite, scope: Scope) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self.exec_block(suite.body, scope)
        else:
            for small in suite.body:  # type: ignore[union-attr]
                self.exec_small(small, scope)

    def exec_conditional(self, suite: cst.BaseSuite, scope: Scope) -> None:
        self.conditional += 1
        try:
            self.exec_suite(suite, scope)
        finally:
            self.conditional -= 1

    def exec_if(self, node: cst.If, scope: Scope) -> None:
        test = self.evaluate(node.test, scope)
        orelse = node.orelse
        if isinstance(test, Known):
            # A condition we can evaluate (a builder called with literals): take that branch.
            if test.value:
                self.exec_suite(node.body, scope)
            elif isinstance(orelse, cst.If):
                self.exec_if(orelse, scope)
            elif isinstance(orelse, cst.Else):
                self.exec_suite(orelse.body, scope)
            return
        self.guard_branches(node, test)
        entry = self.states.snapshot()
        then_branch = scope.fork()
        self.exec_conditional(node.body, then_branch)
        after_then = self.states.snapshot()
        self.states.restore(entry)
        else_branch = scope.fork()
        if isinstance(orelse, cst.If):
            self.conditional += 1
            try:
                self.exec_if(orelse, else_branch)
            finally:
                self.conditional -= 1
        elif isinstance(orelse, cst.Else):
            self.exec_conditional(orelse.body, else_branch)
        merge_into(scope, [then_branch, else_branch])
        self.states.join([after_then, self.states.snapshot()])

    def guard_branches(self, node: cst.If, test: Value) -> None:
        """A Keras version or backend check: each branch runs only under the flavours its
        condition allows; where the condition cannot be decided, its API-drift findings are
        version-specific code the author chose on purpose."""
        branches: list[tuple[cst.CSTNode, bool]] = [(node.body, True)]
        if isinstance(node.orelse, cst.If):
            branches.append((node.orelse, False))
        elif isinstance(node.orelse, cst.Else):
            branches.append((node.orelse.body, False))
        if isinstance(test, Versioned):
            for body, taken in branches:
                self.guards.append(FlavourGuard(span_of(body), versions.runs_under(test, taken)))
                decided = versions.decided(test, taken)
                if decided != versions.runs_under(test, taken):
                    # Where the check is undecided its API drift is still version-specific.
                    self.guards.append(FlavourGuard(span_of(body), decided, "KC2"))
        elif _mentions_versions(node.test):
            for body, _ in branches:
                self.guards.append(FlavourGuard(span_of(body), frozenset(), "KC2"))

    def exec_loop(self, node: cst.For | cst.While, scope: Scope) -> None:
        if isinstance(node, cst.For):
            iterable = self.evaluate(node.iter, scope)
            if isinstance(iterable, LayerGroup) and not _has_break(node.body, continues=True):
                # ``for layer in base.layers:``: the body runs for each layer (a model's
                # layers are never none), so what it sets, it sets on the whole group. A
                # ``continue`` skips some layers: that loop is a loop like any other.
                self.bind(node.target, iterable, scope)
                self.exec_suite(node.body, scope)
                return
            items = self.unrollable(iterable)
            if items is not None and not _has_break(node.body):
                for item in items:
                    self.bind(node.target, item, scope)
                    self.exec_suite(node.body, scope)
                return
            self.bind(node.target, UNKNOWN, scope)
        else:
            self.evaluate(node.test, scope)
        entry = self.states.snapshot()
        marks = {id(model): len(model.events) for model in self.models}
        body = scope.fork()
        self.exec_conditional(node.body, body)
        merge_into(scope, [scope.fork(), body])
        self.states.after_loop(entry, self.models, marks)
        if node.orelse is not None:
            self.exec_conditional(node.orelse.body, scope)

    def unrollable(self, value: Value) -> list[Value] | None:
        sequence = isinstance(value, Known) and isinstance(value.value, (list, tuple, range))
        if sequence and len(value.value) <= MAX_UNROLL:  # type: ignore[union-attr]
            return [Known(v) for v in value.value]  # type: ignore[union-attr]
        if isinstance(value, Seq) and len(value.items) <= MAX_UNROLL:
            return list(value.items)
        return None

    def exec_small(self, node: cst.BaseSmallStatement, scope: Scope) -> None:
        if isinstance(node, cst.Expr):
            self.evaluate(node.value, scope)
        elif isinstance(node, cst.Assign):
            value = self.evaluate(node.value, scope)
            for target in node.targets:
                self.bind(target.target, value, scope)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.bind(node.target, self.evaluate(node.value, scope), scope)
        elif isinstance(node, cst.AugAssign):
            self.exec_augassign(node, scope)
        elif isinstance(node, cst.Return):
            value = self.evaluate(node.value, scope) if node.value is not None else Known(None)
            if self.returns:
                self.returns[-1].append(value)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            self.exec_import(node, scope)
        elif isinstance(node, cst.Del):
            # ``del x`` unbinds; ``del layers[-1]`` changes the list in place (bind forgets it).
            self.bind(node.target, UNKNOWN, scope)

    def exec_augassign(self, node: cst.AugAssign, scope: Scope) -> None:
        op = _AUG_TO_BINARY.get(type(node.operator))
        right = self.evaluate(node.value, scope)
        if not isinstance(node.target, cst.Name):
            self.bind(node.target, UNKNOWN, scope)  # ``config["units"] += 1``: in place
            return
        left = self.evaluate(node.target, scope)
        result = self.binary(op, left, right, node.value) if op is not None else UNKNOWN
        scope.names[node.target.value] = result

    def exec_import(self, node: cst.Import | cst.ImportFrom, scope: Scope) -> None:
        bindings, star = bindings_of(node, self.k)
        if star is not None:
            if is_keras(star):
                self.star_modules.append(star)
            return
        if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
            module = dotted_name(node.module)
            if module is not None and module.split(".")[0] in ("keras", "tf_keras"):
                qualname = canonical(module, self.k)
                self.api_uses.append(
                    ApiUse("module", qualname, span_of(node.module), written=module)
                )
        for binding in bindings:
            scope.names[binding.local] = Ref(binding.qualname, binding.raw)
            if is_keras(binding.qualname) or binding.raw.split(".")[0] in ("keras", "tf_keras"):
                self.markers.saw_import(binding.raw)
                self.api_uses.append(
                    ApiUse(
                        "import",
                        binding.qualname,
                        span_of(binding.node),
                        written=binding.raw,
                        local=binding.local,
                        from_import=isinstance(node, cst.ImportFrom),
                    )
                )

    def exec_class(self, node: cst.ClassDef, scope: Scope) -> None:
        bases = [self.evaluate(arg.value, scope) for arg in node.bases]
        is_model = any(
            (isinstance(b, Ref) and b.qualname in self.k.model_bases)
            or (isinstance(b, ClassObject) and b.is_model)
            for b in bases
        )
        class_scope = Scope(scope)
        cls = ClassObject(node, scope, is_model)
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    method = Function(statement, scope, owner=cls)
                    cls.methods[statement.name.value] = method
                    if not (is_model and statement.name.value in ("__init__", "call")):
                        self.pending[id(statement)] = method
                else:
                    self.exec_statement(statement, class_scope)
        for base in bases:
            if isinstance(base, ClassObject):
                for name, method in base.methods.items():
                    cls.methods.setdefault(name, method)
        scope.names[node.name.value] = cls
        if is_model and "call" in cls.methods:
            self.pending[id(node)] = cls

    def bind(self, target: cst.BaseExpression, value: Value, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            scope.names[target.value] = value
            if isinstance(value, ModelObject) and value.name is None:
                value.name = target.value
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = _items_of(value, len(target.elements))
            for index, element in enumerate(target.elements):
                if isinstance(element, cst.StarredElement):
                    self.bind(element.value, UNKNOWN, scope)
                else:
                    self.bind(element.value, items[index] if items else UNKNOWN, scope)
        elif isinstance(target, cst.Attribute):
            owner = scope.lookup(target.value.value) if isinstance(target.value, cst.Name) else None
            if isinstance(owner, SelfObject):
                owner.attrs[target.attr.value] = value
            elif target.attr.value == "trainable":
                self.set_trainable(target, value, scope)
        elif isinstance(target, cst.Subscript):
            if dotted_name(target.value) is not None:
                owner = self.evaluate(target.value, scope)
                if isinstance(owner, History):
                    history.probed(owner)  # ``history.history["acc"] = ...``: keys renamed
            self.changed_in_place(target.value, scope)

    def set_trainable(self, target: cst.Attribute, value: Value, scope: Scope) -> None:
        """``x.trainable = value``: an assignment in the trainable log. What ``x`` is decides
        what it sets; a value the walk cannot resolve may be any layer of any model."""
        receiver = self.evaluate(target.value, scope)
        text = dotted_name(target.value) or "layer"
        if isinstance(receiver, ModelObject):
            setter = model_target(receiver, text)
        elif isinstance(receiver, LayerGroup):
            setter = group_target(receiver)
        elif isinstance(receiver, LayerObject):
            setter = Target("named", receiver.spec, text)
        elif isinstance(receiver, SelfObject):
            return  # a layer class setting its own flag in its __init__
        else:
            setter = Target("any", None, text)
        self.states.assigned(Assignment(setter, flag_value(value), span_of(target)))

    def changed_in_place(self, node: cst.BaseExpression, scope: Scope) -> None:
        """``layers.append(x)``, ``config["units"] = 1``, ``del layers[-1]``, ``y[y == 2] =
        0``: the list, dict, set or array a name holds has changed in place, so under that
        name (and every other name bound to the same value) a container becomes UNKNOWN and
        an array keeps none of its known facts. A model is not a container: ``add`` and
        ``pop`` on it are followed by call_method."""
        while isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        if not isinstance(node, cst.Name):
            return
        value = scope.lookup(node.value)
        if _is_container(value):
            _rebind(scope, value, UNKNOWN)
        elif isinstance(value, Data):
            _rebind(scope, value, Data(DataInfo()))

    # ----------------------------------------------------------------- expressions
    def evaluate(self, node: cst.BaseExpression, scope: Scope) -> Value:
        method = _EVAL.get(type(node))
        if method is None:
            for child in node.children:
                if isinstance(child, cst.BaseExpression):
                    self.evaluate(child, scope)
                elif isinstance(child, (cst.Arg, cst.Element, cst.DictElement)):
                    self.evaluate(child.value, scope)
            return UNKNOWN
        return method(self, node, scope)

    # libcst's ``evaluated_value`` compiles each literal with ast.literal_eval; the plain
    # spellings that make up nearly all literals are read directly (measured: a fifth of the
    # extractor's time on the reference corpus).
    def eval_integer(self, node: cst.Integer, scope: Scope) -> Value:
        try:
            return Known(int(node.value.replace("_", ""), 0))
        except ValueError:  # 007-style zeros: let Python's rules decide
            return Known(node.evaluated_value)

    def eval_float(self, node: cst.Float, scope: Scope) -> Value:
        return Known(float(node.value.replace("_", "")))

    def eval_string(self, node: cst.SimpleString | cst.ConcatenatedString, scope: Scope) -> Value:
        if isinstance(node, cst.SimpleString):
            text = node.value
            quote = text[-1]
            if text[0] == quote and "\\" not in text and not text.startswith(quote * 3):
                return Known(text[1:-1])
        value = node.evaluated_value
        return Known(value) if isinstance(value, str) else UNKNOWN

    def eval_name(self, node: cst.Name, scope: Scope) -> Value:
        name = node.value
        found = scope.lookup(name)
        if found is not None:
            return found
        if name in ("True", "False", "None"):
            return Known({"True": True, "False": False, "None": None}[name])
        return self.star_lookup(name)

    def star_lookup(self, name: str) -> Value:
        """A name brought in by ``from keras.X import *``: the last star-imported module
        that really has it (layers are known by name), else the last Keras one."""
        candidates = [(m, canonical(f"{m}.{name}", self.k)) for m in reversed(self.star_modules)]
        layers = keras3_api().layer_arguments
        for module, qualname in candidates:
            known_layer = qualname.startswith("keras.layers.") and name in layers
            if known_layer or qualname in self.k.model_constructors:
                return Ref(qualname, f"{module}.{name}")
        for module, qualname in candidates:
            if not qualname.startswith(("keras.layers.", "keras.models.")):
                return Ref(qualname, f"{module}.{name}")
        return UNKNOWN

    def eval_attribute(self, node: cst.Attribute, scope: Scope) -> Value:
        base = self.evaluate(node.value, scope)
        attr = node.attr.value
        if isinstance(base, Ref):
            raw = f"{base.raw}.{attr}"
            qualname = canonical(f"{base.qualname}.{attr}", self.k)
            return versions.attribute(qualname) or Ref(qualname, raw)
        if isinstance(base, Versioned):
            return VersionedMethod(base, attr)
        if isinstance(base, History):
            return history.attribute(base, attr)
        self.record_member(base, attr, node)
        if isinstance(base, ModelObject):
            if attr == "layers":
                return LayerGroup(
                    base, f"{dotted_name(node.value) or base.name}.layers", "all_layers"
                )
            if attr in ("input", "output"):
                return backbones.io_tensor(base, attr, span_of(node))
            return BoundMethod(base, attr)
        if isinstance(base, SelfObject):
            if attr in base.attrs:
                return base.attrs[attr]
            return BoundMethod(base, attr)
        if isinstance(base, LayerGroup) and attr == "output":
            # ``base.get_layer("x").output``: a tensor of that model's graph.
            inputs = (backbones.io_tensor(base.model, "input", span_of(node)),)
            return Tensor(inputs=inputs, op=PartUse(base.model, None, span_of(node)))
        if isinstance(base, Instance):
            found = ordering.attribute(base, attr)
            if found is not None:
                return found
        if isinstance(base, (Data, Instance, Flow)):
            return self.pipelines.attribute(base, attr)
        if isinstance(base, LayerObject) and attr == "adapt":
            return Method(base, attr)  # a TextVectorization learning its vocabulary
        return UNKNOWN

    def record_member(self, base: Value, attr: str, node: cst.Attribute) -> None:
        """``layer.output_shape``, ``model.reset_states``, ``batches.next``: a member of a
        known model, layer or ImageDataGenerator iterator that Keras 3 removed, or
        ``model.metrics_names``, which it fills otherwise (the removed-API rule reads these)."""
        local = ""
        if isinstance(base, LayerObject):
            receiver, written = "Layer", base.spec.class_name
        elif isinstance(base, ModelObject):
            receiver, written, local = "Model", "", base.name or ""
        elif isinstance(base, Flow) and base.pipeline.made_by in _IMAGE_FLOWS:
            receiver, written = "Iterator", base.pipeline.made_by
        else:
            return
        qualname = f"{receiver}.{attr}"
        if qualname in api_drift().members or qualname in self.k.changed_members:
            span = span_of(node.attr)
            self.api_uses.append(ApiUse("attribute", qualname, span, written=written, local=local))

    def eval_sequence(self, node: cst.List | cst.Tuple, scope: Scope) -> Value:
        items: list[Value] = []
        for element in node.elements:
            value = self.evaluate(element.value, scope)
            if isinstance(element, cst.StarredElement):
                return UNKNOWN
            items.append(value)
        return plain(Seq(tuple(items), isinstance(node, cst.Tuple)))

    def eval_dict(self, node: cst.Dict, scope: Scope) -> Value:
        items: list[tuple[str, Value]] = []
        resolvable = True
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                self.evaluate(element.value, scope)
                resolvable = False
                continue
            key = self.evaluate(element.key, scope)
            value = self.evaluate(element.value, scope)
            if isinstance(key, Known) and isinstance(key.value, str):
                items.append((key.value, value))
            else:
                resolvable = False
        return plain(Mapping(tuple(items))) if resolvable else UNKNOWN

    def eval_unary(self, node: cst.UnaryOperation, scope: Scope) -> Value:
        value = self.evaluate(node.expression, scope)
        if isinstance(value, Versioned) and isinstance(node.operator, cst.Not):
            return versions.logical_not(value)
        if isinstance(value, Known):
            if isinstance(node.operator, cst.Minus) and isinstance(value.value, _NUMBER):
                return Known(-value.value)
            if isinstance(node.operator, cst.Plus) and isinstance(value.value, _NUMBER):
                return value
            if isinstance(node.operator, cst.Not):
                return Known(not value.value)
        if isinstance(value, Data) and isinstance(node.operator, cst.Minus):
            return self.pipelines.negated(value)
        return UNKNOWN

    def eval_binary(self, node: cst.BinaryOperation, scope: Scope) -> Value:
        left = self.evaluate(node.left, scope)
        right = self.evaluate(node.right, scope)
        op = _BINARY.get(type(node.operator))
        if isinstance(left, Tensor):
            scaled = backbones.pixel_arithmetic(op, left, right, node)
            if scaled is not None:
                return scaled
        return self.binary(op, left, right, node.right)

    def binary(
        self,
        op: Callable[[Any, Any], Any] | None,
        left: Value,
        right: Value,
        right_node: cst.BaseExpression | None,
    ) -> Value:
        if op is None:
            return UNKNOWN
        labels = ordering.binary(op, left, right)
        if labels is not None:
            return labels
        flowed = self.pipelines.binary(op, left, right)
        if flowed is None:
            flowed = dataflow.binary(op, left, right, right_node)
        if flowed is not None:
            return ordering.after_binary(op, left, right, flowed)
        if isinstance(left, Known) and isinstance(right, Known):
            try:
                return Known(_safe_arith(op, left.value, right.value))
            except (ArithmeticError, TypeError, ValueError):
                return UNKNOWN
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            inputs = tuple(v for v in (left, right) if isinstance(v, Tensor))
            return Tensor(inputs=inputs)
        return UNKNOWN

    def eval_compare(self, node: cst.Comparison, scope: Scope) -> Value:
        left = self.evaluate(node.left, scope)
        result: bool = True
        for target in node.comparisons:
            right = self.evaluate(target.comparator, scope)
            if isinstance(right, History):
                history.probed(right)  # ``"acc" in history.history``
                return UNKNOWN
            if isinstance(left, Versioned) or isinstance(right, Versioned):
                symbol = _COMPARE_SYMBOLS.get(type(target.operator))
                if symbol is None or len(node.comparisons) != 1:
                    return UNKNOWN
                return versions.compare(symbol, _plain(left), _plain(right))
            op = _COMPARE.get(type(target.operator))
            if isinstance(left, Data) or isinstance(right, Data):
                equal = isinstance(target.operator, cst.Equal)
                return self.pipelines.compare(equal, left, right, span_of(node), self.named)
            if isinstance(target.operator, (cst.Is, cst.IsNot)) and _is_none_check(left, right):
                value = left.value is None  # type: ignore[union-attr]
                result = result and (value if isinstance(target.operator, cst.Is) else not value)
            elif op is not None and isinstance(left, Known) and isinstance(right, Known):
                try:
                    result = result and bool(op(left.value, right.value))
                except TypeError:
                    return UNKNOWN
            elif (
                isinstance(target.operator, (cst.In, cst.NotIn))
                and isinstance(left, Known)
                and isinstance(right, Known)
            ):
                try:
                    inside = left.value in right.value
                except TypeError:
                    return UNKNOWN
                result = result and (inside if isinstance(target.operator, cst.In) else not inside)
            else:
                return UNKNOWN
            left = right
        return Known(result)

    def eval_boolean(self, node: cst.BooleanOperation, scope: Scope) -> Value:
        left = self.evaluate(node.left, scope)
        right = self.evaluate(node.right, scope)
        if isinstance(left, Versioned) or isinstance(right, Versioned):
            op = "and" if isinstance(node.operator, cst.And) else "or"
            return versions.logical(op, _plain(left), _plain(right))
        if isinstance(left, Known) and isinstance(right, Known):
            if isinstance(node.operator, cst.And):
                return left if not left.value else right
            return left if left.value else right
        return UNKNOWN

    def eval_ifexp(self, node: cst.IfExp, scope: Scope) -> Value:
        test = self.evaluate(node.test, scope)
        body = self.evaluate(node.body, scope)
        orelse = self.evaluate(node.orelse, scope)
        if isinstance(test, Known):
            return body if test.value else orelse
        if isinstance(body, Known) and body == orelse:
            return body
        return UNKNOWN

    def eval_subscript(self, node: cst.Subscript, scope: Scope) -> Value:
        base = self.evaluate(node.value, scope)
        if isinstance(base, History):
            index = node.slice[0].slice
            if len(node.slice) == 1 and isinstance(index, cst.Index):
                key = self.evaluate(index.value, scope)
                history.read(base, key, span_of(index.value), "subscript", self.trying > 0)
            return UNKNOWN
        if isinstance(base, LayerGroup) and base.scope == "all_layers" and len(node.slice) == 1:
            return _layer_subset(base, node.slice[0].slice)
        if isinstance(base, Versioned):
            (element, *rest) = node.slice
            index = element.slice
            if rest or not isinstance(index, cst.Index):
                return UNKNOWN
            position = self.evaluate(index.value, scope)
            return (
                versions.subscript(base, position.value) if isinstance(position, Known) else UNKNOWN
            )
        if isinstance(base, Data):
            indices = [
                self.evaluate(element.slice.value, scope)
                for element in node.slice
                if isinstance(element.slice, cst.Index)
            ]
            selected = dataflow.subscript(base, node.slice)
            selected = ordering.indexed(base, indices[0] if indices else UNKNOWN, selected)
            return self.pipelines.subscript(base, selected, node.slice)
        indices = [
            self.evaluate(el.slice.value, scope) if isinstance(el.slice, cst.Index) else UNKNOWN
            for el in node.slice
        ]
        if len(indices) == 1 and isinstance(indices[0], Known):
            key = indices[0].value
            try:
                if isinstance(base, Known) and isinstance(base.value, (tuple, list, dict, str)):
                    return Known(base.value[key])
                if isinstance(base, Seq) and isinstance(key, int):
                    return base.items[key]
                if isinstance(base, Mapping):
                    return dict(base.items).get(key, UNKNOWN)
            except (IndexError, KeyError, TypeError):
                return UNKNOWN
        if isinstance(base, Tensor):
            return Tensor(inputs=(base,))
        return UNKNOWN

    def eval_lambda(self, node: cst.Lambda, scope: Scope) -> Value:
        return Lambda(node, scope)

    def eval_comprehension(self, node: cst.ListComp | cst.GeneratorExp, scope: Scope) -> Value:
        """``[y for x, y in dataset]`` collects the labels of one pass over a dataset; any
        other comprehension is evaluated for its calls and gives UNKNOWN."""
        self.evaluate(node.elt, scope)
        iterable = self.evaluate(node.for_in.iter, scope)
        if isinstance(iterable, Flow) and node.for_in.inner_for_in is None:
            return self.pipelines.collected(iterable, node.for_in.target, node.elt)
        return UNKNOWN

    def apply(self, function: Value, positional: list[Value]) -> Value:
        """A function value applied to arguments (the data pipeline's ``map``)."""
        if isinstance(function, Function):
            return self.call_function(function, positional, {})
        if isinstance(function, LayerObject):
            return self.pipelines.apply_layer(function.spec, positional[0])
        if not isinstance(function, Lambda) or self.depth >= MAX_CALL_DEPTH:
            return UNKNOWN
        params = function.node.params
        scope = Scope(function.scope)
        for index, param in enumerate(params.params):
            value = positional[index] if index < len(positional) else UNKNOWN
            scope.names[param.name.value] = value
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.names[star.name.value] = UNKNOWN
        self.depth += 1
        try:
            return self.evaluate(function.node.body, scope)
        finally:
            self.depth -= 1

    def named(self) -> str:
        """What the statement being interpreted calls its value: the names it binds and its
        strings (``train_acc = ...``, ``print("Training accuracy:", ...)``), lowercased."""
        statement = self.statement
        if statement is None:
            return ""
        words: list[str] = []
        for small in statement.body:
            targets: list[cst.BaseExpression] = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets = [small.target]
            for target in targets:
                words.extend(name.value for name in _names_in(target))
        words.extend(_strings_in(statement))
        return " ".join(words).lower()

    # ----------------------------------------------------------------- calls
    def eval_call(self, node: cst.Call, scope: Scope) -> Value:
        func = self.evaluate(node.func, scope)
        positional: list[Value] = []
        keywords: dict[str, Value] = {}
        args: list[Arg] = []
        index = 0
        for arg in node.args:
            value = self.evaluate(arg.value, scope)
            if arg.star:
                args.append(Arg(arg.star, -1, UNKNOWN, span_of(arg)))
                continue
            elements = _element_spans(arg.value)
            sources = _element_sources(arg.value)
            source = dotted_name(arg.value)
            if arg.keyword is not None:
                keywords[arg.keyword.value] = value
                args.append(
                    Arg(
                        arg.keyword.value,
                        -1,
                        _ir_value(value),
                        span_of(arg.value),
                        span_of(arg.keyword),
                        elements,
                        source,
                        sources,
                    )
                )
            else:
                positional.append(value)
                args.append(
                    Arg(
                        None,
                        index,
                        _ir_value(value),
                        span_of(arg.value),
                        None,
                        elements,
                        source,
                        sources,
                    )
                )
                index += 1
        starred = any(arg.star for arg in node.args)
        checked = self.version_call(func, node.func, positional, keywords, scope)
        if checked is not None:
            return checked
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            self.changed_in_place(node.func.value, scope)
        if _unseen(func, node.func, scope):
            # Code the walk cannot see may reorder arrays in place (``np.random.shuffle``).
            reorders = ordering.shuffles(func.qualname if isinstance(func, Ref) else None)
            for value in [*positional, *keywords.values()]:
                if isinstance(value, ModelObject):
                    _escaped(value)
                    self.states.escaped(value)
                forgotten = ordering.forget_order(value) if reorders else None
                if forgotten is not None:
                    _rebind(scope, value, forgotten)
        name = node.func.attr if isinstance(node.func, cst.Attribute) else node.func
        name_span = span_of(name)
        if isinstance(func, Ref):
            call = Call(func.qualname, tuple(args), span_of(node), span_of(node.func), name_span)
            return self.call_ref(func, call, positional, keywords, starred, node)
        if isinstance(func, LayerObject):
            if positional and (
                isinstance(positional[0], Data)
                or (func.spec.class_name == "TextVectorization" and positional[0] is UNKNOWN)
            ):
                return self.pipelines.apply_layer(func.spec, positional[0])
            return self.apply_layer(func.spec, positional)
        if isinstance(func, BoundMethod):
            call = Call(
                f"Model.{func.name}", tuple(args), span_of(node), span_of(node.func), name_span
            )
            return self.call_method(func, call, positional, keywords)
        if isinstance(func, Method):
            call = Call(func.name, tuple(args), span_of(node), span_of(node.func), name_span)
            value, replaced = self.pipelines.method(func, positional, keywords, call)
            if replaced is not None:
                _rebind(scope, func.receiver, replaced)
            return value
        if isinstance(func, Function):
            if starred:
                return UNKNOWN
            return self.call_function(func, positional, keywords)
        if isinstance(func, HistoryMethod):
            key_span = span_of(node.args[0].value) if node.args else None
            return history.call(func, positional, keywords, key_span, self.trying > 0)
        if isinstance(func, ClassObject):
            if func.is_model:
                return self.instantiate_model_class(func, node, positional, keywords)
            return UNKNOWN
        if isinstance(func, ModelObject):
            # A model used as a layer: its output is opaque to this analysis.
            func.embedded = True
            inputs = tuple(v for v in positional if isinstance(v, Tensor))
            call = Call("Model.__call__", tuple(args), span_of(node), span_of(node.func), name_span)
            return Tensor(inputs=inputs, op=PartUse(func, call, call.span)) if inputs else UNKNOWN
        if func is UNKNOWN and positional and isinstance(positional[0], Vocabulary):
            return self.pipelines.length(positional[0])  # len(tokenizer.word_index)
        if func is UNKNOWN and dotted_name(node.func) in _EXITS:
            # exit() / quit(), or sys.exit() without its import (the NameError ends it too)
            self.exit_here()
        return UNKNOWN

    def exit_here(self) -> None:
        """The program ends here when the exit is unconditional and at module level: the
        models' later compiles and runs, and later scores, never happen (Keras API uses are
        still recorded: they are faults of the code all the same)."""
        if self.depth == 0 and not self.conditional:
            self.exited = self.pipelines.stopped = True

    def version_call(
        self,
        func: Value,
        node: cst.BaseExpression,
        positional: list[Value],
        keywords: dict[str, Value],
        scope: Scope,
    ) -> Value | None:
        """``v.startswith("2")``, ``int(...)`` or ``version.parse(...)`` of a version; None
        for any other call."""
        if isinstance(func, VersionedMethod):
            if keywords or not all(isinstance(v, Known) for v in positional):
                return UNKNOWN
            plain_args = [v.value for v in positional]  # type: ignore[union-attr]
            return versions.call_method(func, plain_args) or UNKNOWN
        if len(positional) != 1 or keywords:
            return None
        (argument,) = positional
        if isinstance(func, Ref) and func.qualname in versions.PARSERS:
            # A literal version stays a string: comparisons parse it.
            if isinstance(argument, Known):
                return argument
            return (
                versions.convert(func.qualname, argument)
                if isinstance(argument, Versioned)
                else None
            )
        builtin = (
            isinstance(node, cst.Name) and func is UNKNOWN and scope.lookup(node.value) is None
        )
        if builtin and isinstance(argument, Versioned):
            return versions.convert(node.value, argument) or UNKNOWN  # type: ignore[attr-defined]
        return None

    def call_ref(
        self,
        ref: Ref,
        call: Call,
        positional: list[Value],
        keywords: dict[str, Value],
        starred: bool,
        node: cst.Call,
    ) -> Value:
        q = ref.qualname
        k = self.k
        if q.startswith("tensorflow_hub."):
            # A TF Hub layer is a Keras 2 (tf_keras) layer: recorded for the removed-API
            # rule, opaque to everything else.
            self.api_uses.append(ApiUse("call", q, call.span, call, written=ref.raw))
            return UNKNOWN
        keras_name = is_keras(q) or q.startswith("tensorflow.")
        if keras_name:
            self.markers.saw_call(ref.raw)
            self.api_uses.append(ApiUse("call", q, call.span, call, written=ref.raw))
        if q in versions.BACKEND_FUNCTIONS:
            return versions.backend()
        if q in _EXITS:
            self.exit_here()
        flowed = self.pipelines.call(ref, positional, keywords, call, self.named)
        if flowed is not None:
            return flowed
        if not keras_name:
            return _joined_path(q, positional, keywords)
        application = backbones.constructor_of(q)
        if application is not None:
            model = backbones.construct(application, call, positional, keywords, self.conditional)
            self.states.created(model)
            self.models.append(model)
            return model
        module = backbones.preprocess_module(ref, keywords, k)
        if module is not None:
            return backbones.preprocess(module, positional, call)
        if q in k.model_constructors:
            return self.construct_model(k.model_constructors[q], call, positional, keywords)
        if q in k.input_constructors:
            # Kept as an InputLayer so that Sequential([keras.Input(...), ...]) has it first.
            layer = self.make_layer("InputLayer", call, positional, keywords, starred)
            return Tensor(is_input=True, layer=layer)
        if q in k.model_loaders:
            model = ModelObject("loaded", call.span, complete=False)
            return model
        if q in k.identity_functions and positional and isinstance(positional[0], Tensor):
            # A dtype cast keeps the values: an activation before it is still the output's.
            return Tensor(inputs=(positional[0],), activation=Known(None))
        if q in k.activation_functions or q.startswith("keras.activations."):
            tensors = [v for v in positional if isinstance(v, Tensor)]
            if tensors:
                activation = resolve_activation(Ref(q, ref.raw), k)
                axis = keywords.get("axis", positional[1] if len(positional) > 1 else None)
                if activation == Known("softmax") and axis not in (None, Known(-1)):
                    activation = UNKNOWN  # softmax over another axis than the units'.
                return Tensor(
                    inputs=(tensors[0],), activation=activation, activation_span=call.span
                )
            return UNKNOWN
        if q.startswith("keras.layers."):
            name = q.rsplit(".", 1)[1]
            if name[:1].isupper():
                spec = self.make_layer(name, call, positional, keywords, starred)
                if name == "Lambda":
                    self.backbones.lambda_layer(spec, positional)
                return LayerObject(spec)
            tensors = tuple(t for v in positional for t in _tensors_in(v))
            return Tensor(inputs=tensors) if tensors else UNKNOWN
        tensors = tuple(t for v in positional for t in _tensors_in(v))
        if q.startswith("tensorflow."):
            return Tensor(inputs=tensors) if tensors else UNKNOWN
        if tensors and q.startswith(("keras.ops.", "keras.backend.")):
            return Tensor(inputs=tensors)  # an operation on the graph's tensors
        return KerasObject(call)

    def make_layer(
        self,
        name: str,
        call: Call,
        positional: list[Value],
        keywords: dict[str, Value],
        starred: bool,
    ) -> LayerSpec:
        k = self.k
        units: Value = UNKNOWN
        unit_arg = k.unit_layers.get(name)
        if unit_arg is not None:
            written = keywords.get(unit_arg.arg)
            if written is None and unit_arg.legacy is not None:
                written = keywords.get(unit_arg.legacy)
            if written is None and len(positional) > unit_arg.index:
                written = positional[unit_arg.index]
            if (
                isinstance(written, Known)
                and isinstance(written.value, int)
                and not isinstance(written.value, bool)
            ):
                units = written
        activation: Any
        activation_span: Span | None = None
        if name == "Activation":
            written = keywords.get("activation", positional[0] if positional else None)
            activation = resolve_activation(written, k) if written is not None else UNKNOWN
            arg = call.argument("activation", 0)
            activation_span = arg.span if arg is not None else call.span
        elif name in k.activation_layers:
            # Softmax(axis=1) normalises another axis (attention weights): its output range
            # per unit is not the last-axis softmax the rules reason about.
            axis = keywords.get("axis", positional[0] if positional else None)
            last_axis = axis is None or axis == Known(-1)
            activation = Known(k.activation_layers[name]) if last_axis else UNKNOWN
            activation_span = call.span
        else:
            written = keywords.get("activation")
            if (
                written is None
                and name in ("Dense", "LSTM", "GRU", "SimpleRNN")
                and len(positional) > 1
            ):
                written = positional[1]
            if written is not None:
                activation = resolve_activation(written, k)
                arg = call.argument("activation", 1)
                activation_span = arg.span if arg is not None else call.span
            elif starred or (name not in k.unit_layers and name not in k.default_activation):
                # Only layers with an activation argument have a known default (linear);
                # for any other layer the output range is not known.
                activation = UNKNOWN
            else:
                activation = Known(k.default_activation.get(name))
        if _activation_in_doubt(name, call, k):
            activation = UNKNOWN
        if name in k.wrapper_layers and positional and isinstance(positional[0], LayerObject):
            inner = positional[0].spec
            activation, activation_span = inner.activation, inner.activation_span
            if name == "TimeDistributed":
                units = inner.units
        vocabulary = (
            self.pipelines.embedding_rows(positional, keywords) if name == "Embedding" else None
        )
        return LayerSpec(
            class_name=name,
            call=call,
            span=call.span,
            activation=activation,
            activation_span=activation_span,
            units=units,
            position=-1,
            vocabulary=vocabulary,
        )

    def apply_layer(self, layer: LayerSpec, positional: list[Value]) -> Value:
        tensors = tuple(t for v in positional[:1] for t in _tensors_in(v))
        return Tensor(inputs=tensors, layer=layer)

    def construct_model(
        self, kind: str, call: Call, positional: list[Value], keywords: dict[str, Value]
    ) -> Value:
        model = ModelObject(kind, call.span, cond_level=self.conditional)
        self.states.created(model)
        if kind == "sequential":
            layers = keywords.get("layers", positional[0] if positional else None)
            if layers is not None:
                items = _items_of(layers, None)
                if items is None:
                    model.complete = False
                else:
                    for item in items:
                        self.add_layer(model, item)
        else:
            outputs = keywords.get("outputs", keywords.get("output"))
            if outputs is None and len(positional) > 1:
                outputs = positional[1]
            if outputs is None:
                return UNKNOWN
            model.output_tensors, model.output_names = _output_tensors(outputs)
            if model.output_tensors is None:
                model.complete = False
        self.models.append(model)
        return model

    def add_layer(self, model: ModelObject, value: Value) -> None:
        if isinstance(value, ModelObject):
            value.embedded = True
            model.parts.append((value, len(model.layers)))
        if isinstance(value, LayerObject):
            model.layers.append(value.spec)
        elif isinstance(value, Tensor) and value.is_input and value.layer is not None:
            model.layers.append(value.layer)
        else:
            model.complete = False
            model.layers.append(_opaque_layer())

    def call_method(
        self,
        method: BoundMethod,
        call: Call,
        positional: list[Value],
        keywords: dict[str, Value],
    ) -> Value:
        receiver = method.receiver
        if isinstance(receiver, SelfObject):
            # ``self.add_metric(...)`` in a model class: Keras's own method, unless the class
            # defines one; recorded when Keras 3 removed it.
            qualname = f"Model.{method.name}"
            if method.name not in receiver.own and qualname in api_drift().members:
                self.api_uses.append(ApiUse("method", qualname, call.span, call, method.name))
            return UNKNOWN
        self.api_uses.append(
            ApiUse(
                "method",
                call.qualname,
                call.span,
                call,
                written=method.name,
                local=receiver.name or "",
            )
        )
        if self.exited:
            return UNKNOWN
        name = method.name
        if name == "add" and positional:
            self.add_layer(receiver, positional[0])
            if self.conditional > receiver.cond_level:
                receiver.layers[-1] = replace(receiver.layers[-1], conditional=True)
        elif name == "compile":
            if "compile" in receiver.overrides:
                # The class's own compile(): its arguments are not Keras's loss and metrics.
                spec = CompileSpec(call.span, (), True, (), None, call)
            else:
                spec = build_compile(call, positional, keywords, self.k)
            receiver.events.append(spec)
            self.states.compiled(receiver, spec)
        elif name in _RUN_KINDS:
            kind = _RUN_KINDS[name]
            # A train_step / test_step with a loss of its own uses no compiled loss.
            own_step = {"train": "train_step", "evaluate": "test_step"}.get(kind)
            compiles = () if own_step in receiver.overrides else self.states.of(receiver)
            seen = self.states.trained(receiver) if kind == "train" else ()
            run = build_run(name, kind, call, positional, keywords, compiles, self.pipelines, seen)
            callbacks, validation = history.logging(name, call, positional, keywords)
            run = replace(run, named=self.named(), callbacks=callbacks, validation=validation)
            receiver.events.append(run)
            if kind == "predict":
                x = keywords.get("x", positional[0] if positional else None)
                return self.pipelines.predicted(run, x, receiver.events[:-1])
            if name in history.RETURNS_HISTORY:
                return history.returned(receiver)
        elif name == "get_layer":
            return LayerGroup(receiver, f"{receiver.name or 'model'}.get_layer(...)", "layer")
        elif name == "pop" and not positional and receiver.layers:
            if self.conditional > receiver.cond_level:
                # Popped or not: the output layer is no longer known.
                receiver.layers[-1] = _opaque_layer()
                receiver.complete = False
            else:
                receiver.layers.pop()
        return UNKNOWN

    def call_function(
        self,
        function: Function,
        positional: list[Value],
        keywords: dict[str, Value],
        standalone: bool = False,
        self_value: Value | None = None,
    ) -> Value:
        node = function.node
        self.pending.pop(id(node), None)
        count = self.evaluations.get(id(node), 0)
        if (
            self.depth >= MAX_CALL_DEPTH
            or count >= MAX_EVALS_PER_FUNCTION
            or self.steps > self.budget
        ):
            return UNKNOWN
        self.evaluations[id(node)] = count + 1
        scope = Scope(function.scope)
        params = list(node.params.posonly_params) + list(node.params.params)
        if function.owner is not None and params:
            first = params.pop(0)
            scope.names[first.name.value] = self_value if self_value is not None else UNKNOWN
        for index, param in enumerate(params):
            value: Value | None = keywords.get(param.name.value)
            if value is None and index < len(positional):
                value = positional[index]
            if value is None and param.default is not None and not standalone:
                value = self.evaluate(param.default, function.scope)
            scope.names[param.name.value] = value if value is not None else UNKNOWN
        for param in node.params.kwonly_params:
            value = keywords.get(param.name.value)
            if value is None and param.default is not None and not standalone:
                value = self.evaluate(param.default, function.scope)
            scope.names[param.name.value] = value if value is not None else UNKNOWN
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.names[star.name.value] = UNKNOWN
        self.depth += 1
        self.returns.append([])
        try:
            self.exec_suite(node.body, scope)
        finally:
            self.depth -= 1
            returned = self.returns.pop()
        if len(returned) == 1:
            return returned[0]
        if returned and all(r is returned[0] for r in returned):
            return returned[0]
        return UNKNOWN

    def instantiate_model_class(
        self,
        cls: ClassObject,
        node: cst.Call | None,
        positional: list[Value],
        keywords: dict[str, Value],
    ) -> Value:
        self.pending.pop(id(cls.node), None)
        for method in cls.methods.values():
            if method.node.name.value in ("__init__", "call"):
                self.pending.pop(id(method.node), None)
        span = span_of(node if node is not None else cls.node.name)
        model = ModelObject(
            "subclass", span, name=cls.node.name.value, overrides=_overridden_training(cls)
        )
        self.states.created(model)
        self_obj = SelfObject(own=frozenset(cls.methods))
        init = cls.methods.get("__init__")
        if init is not None:
            self.call_function(
                init, positional, keywords, standalone=node is None, self_value=self_obj
            )
        call = cls.methods.get("call")
        if call is not None:
            result = self.call_function(
                call, [Tensor(is_input=True)], {}, standalone=True, self_value=self_obj
            )
            model.output_tensors, model.output_names = _output_tensors(result)
        if model.output_tensors is None:
            model.complete = False
        self.models.append(model)
        return model


# What a train_step / test_step that uses the compiled loss mentions.
_COMPILED_LOSS = frozenset({"compiled_loss", "compute_loss", "loss"})


def _overridden_training(cls: ClassObject) -> frozenset[str]:
    """What a model class replaces of Keras's training: its own ``compile`` (whose arguments
    are not Keras's), a ``train_step`` / ``test_step`` that never touches the compiled loss
    (a GAN computing its own losses)."""
    found = {"compile"} if "compile" in cls.methods else set()
    for step in ("train_step", "test_step"):
        method = cls.methods.get(step)
        if method is not None and not _mentions_attribute(method.node, _COMPILED_LOSS):
            found.add(step)
    return frozenset(found)


def _mentions_attribute(node: cst.CSTNode, names: frozenset[str]) -> bool:
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            nonlocal found
            found = found or attribute.attr.value in names

    node.visit(_Finder())
    return found


def _ir_value(value: Value) -> Any:
    """The IR form of an argument value: a literal, a Keras call, or UNKNOWN."""
    if isinstance(value, Known):
        return value
    if isinstance(value, KerasObject):
        return Known(value.call)
    if isinstance(value, LayerObject) and value.spec.call is not None:
        return Known(value.spec.call)
    return UNKNOWN


def _element_spans(node: cst.BaseExpression) -> tuple[Span, ...]:
    if isinstance(node, (cst.List, cst.Tuple)):
        return tuple(span_of(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        return tuple(span_of(element.value) for element in node.elements)
    return ()


def _element_sources(node: cst.BaseExpression) -> tuple[str | None, ...]:
    if isinstance(node, (cst.List, cst.Tuple)):
        return tuple(dotted_name(element.value) for element in node.elements)
    return ()


def _items_of(value: Value, length: int | None) -> list[Value] | None:
    if isinstance(value, Seq):
        items = list(value.items)
    elif isinstance(value, Known) and isinstance(value.value, (list, tuple)):
        items = [Known(v) for v in value.value]
    else:
        return None
    if length is not None and len(items) != length:
        return None
    return items


def _tensors_in(value: Value) -> Iterable[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, Seq):
        for item in value.items:
            if isinstance(item, Tensor):
                yield item


def _output_tensors(value: Value) -> tuple[list[Tensor] | None, list[str | None] | None]:
    """A model's outputs in the order Keras flattens them (measured, Keras 3.15): nested
    lists depth first; a dict by sorted key, each output then known by its key."""
    if isinstance(value, Tensor):
        return [value], None
    if isinstance(value, Seq):
        flat = _flat_tensors(value)
        return (flat, None) if flat is not None else (None, None)
    if isinstance(value, Mapping) and all(isinstance(v, Tensor) for _, v in value.items):
        ordered = sorted(value.items, key=lambda item: item[0])
        return [v for _, v in ordered], [k for k, _ in ordered]  # type: ignore[misc]
    return None, None


def _flat_tensors(value: Seq) -> list[Tensor] | None:
    flat: list[Tensor] = []
    for item in value.items:
        if isinstance(item, Tensor):
            flat.append(item)
        elif isinstance(item, Seq) and (nested := _flat_tensors(item)) is not None:
            flat.extend(nested)
        else:
            return None
    return flat


def _activation_in_doubt(name: str, call: Call, k: Knowledge) -> bool:
    """A keyword the layer does not take may be the activation the author meant
    (``activation_function="relu"``): Keras rejects the layer, which KC201 / KC203 report,
    and nothing else may be concluded from its "default" linear activation. Keywords that
    are known renames of other arguments (``init=``) leave the activation as written."""
    accepted = keras3_api().layer_arguments.get(name)
    if accepted is None:
        return False
    removed = api_drift().arguments(f"keras.layers.{name}")
    for arg in call.args:
        if arg.name is None or arg.name in ("*", "**") or arg.name in accepted:
            continue
        row = removed.get(arg.name)
        if row is None or row.rename == "activation":
            return True
    return False


def _layer_subset(group: LayerGroup, index: cst.BaseSlice) -> LayerGroup:
    """``base.layers[:100]`` (some layers; ``[:]`` all of them) or ``base.layers[-1]``."""
    written = cst.Module([]).code_for_node(index)
    if isinstance(index, cst.Slice):
        whole = index.lower is None and index.upper is None and index.step is None
        return LayerGroup(
            group.model, f"{group.text}[{written}]", "all_layers" if whole else "some_layers"
        )
    return LayerGroup(group.model, f"{group.text}[{written}]", "layer")


def _opaque_layer() -> LayerSpec:
    return LayerSpec(
        class_name="",
        call=None,
        span=Span(),
        activation=UNKNOWN,
        activation_span=None,
        units=UNKNOWN,
        position=-1,
    )


def _unseen(func: Value, node: cst.BaseExpression, scope: Scope) -> bool:
    """A call whose code kerascheck cannot follow (a function imported from another file,
    a method of an unknown object or of ``self``, a class that is not a model): a model
    handed to it may come back changed. Keras's own functions and Python's builtins
    (``print(model)``) do not change it; a local function is followed."""
    if isinstance(func, Ref):
        return not (is_keras(func.qualname) or func.qualname.startswith("tensorflow."))
    if isinstance(func, BoundMethod):
        return isinstance(func.receiver, SelfObject)
    if isinstance(func, ClassObject):
        return not func.is_model
    if func is UNKNOWN:
        builtin = isinstance(node, cst.Name) and scope.lookup(node.value) is None
        return not (builtin and node.value in _BUILTINS)  # type: ignore[attr-defined]
    return False


def _escaped(model: ModelObject) -> None:
    """A Sequential handed to unseen code before it is compiled may have gained layers
    there (``add_head(model)``): its output is no longer known. After compile() the rules
    judge what was compiled, which that code cannot change."""
    compiled = any(isinstance(event, CompileSpec) for event in model.events)
    if model.kind == "sequential" and not compiled:
        model.layers.append(_opaque_layer())
        model.complete = False


def _plain(value: Value) -> Any:
    """What a version comparison takes: the literal itself, a Versioned, or UNKNOWN."""
    if isinstance(value, Known):
        return value.value
    return value if isinstance(value, Versioned) else UNKNOWN


# Names that make a condition a version or backend check.
_VERSION_WORDS = ("version", "backend", "VERSION")
# Errors a missing or changed API raises.
_MISSING_API_ERRORS = frozenset(
    {"ImportError", "ModuleNotFoundError", "AttributeError", "Exception", "BaseException"}
)


def _mentions_versions(test: cst.BaseExpression) -> bool:
    """A name in the condition that speaks of versions or backends. Walks the usual
    expression nodes by hand: a libcst visit rebuilds every node it passes (measured: 6 % of
    a corpus run for this check alone)."""
    stack: list[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            if any(word in node.value for word in _VERSION_WORDS):
                return True
        elif isinstance(node, cst.Attribute):
            stack += (node.value, node.attr)
        elif isinstance(node, cst.Call):
            stack.append(node.func)
            stack += (arg.value for arg in node.args)
        elif isinstance(node, cst.Comparison):
            stack.append(node.left)
            stack += (target.comparator for target in node.comparisons)
        elif isinstance(node, (cst.BooleanOperation, cst.BinaryOperation)):
            stack += (node.left, node.right)
        elif isinstance(node, cst.UnaryOperation):
            stack.append(node.expression)
        elif not isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
            stack += node.children
    return False


def _catches_missing_api(handler: cst.ExceptHandler) -> bool:
    """A bare ``except:``, or one naming ImportError, AttributeError, Exception..."""
    if handler.type is None:
        return True
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
    nodes = [e.value for e in types] if types is not None else [handler.type]
    return any(isinstance(n, cst.Name) and n.value in _MISSING_API_ERRORS for n in nodes)


def _rebind(scope: Scope, old: Value, new: Value) -> None:
    """Every name bound to ``old`` (in this scope and the enclosing ones) now holds ``new``."""
    current: Scope | None = scope
    while current is not None:
        for name, bound in list(current.names.items()):
            if bound is old:
                current.names[name] = new
        current = current.parent


def _is_container(value: Value | None) -> bool:
    if isinstance(value, Known):
        return isinstance(value.value, (list, dict, set))
    return isinstance(value, Mapping) or (isinstance(value, Seq) and not value.is_tuple)


def _is_none_check(left: Value, right: Value) -> bool:
    return isinstance(left, Known) and isinstance(right, Known) and right.value is None


def _names_in(node: cst.BaseExpression) -> Iterable[cst.Name]:
    """The names an assignment target binds (``a``, ``a, b``, ``self.train_acc``)."""
    if isinstance(node, cst.Name):
        yield node
    elif isinstance(node, cst.Attribute):
        yield node.attr
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _names_in(element.value)


def _strings_in(node: cst.CSTNode) -> Iterable[str]:
    """The text of the string literals in a statement, f-strings included."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.SimpleString, cst.FormattedStringText)):
            yield current.value
        else:
            stack.extend(current.children)


def _has_break(suite: cst.BaseSuite, continues: bool = False) -> bool:
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Break(self, node: cst.Break) -> None:
            nonlocal found
            found = True

        def visit_Continue(self, node: cst.Continue) -> None:
            nonlocal found
            found = found or continues

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    suite.visit(_Finder())
    return found


def _safe_arith(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    # Keep constant folding cheap: no giant powers or string repetition.
    if op is operator.pow and isinstance(b, _NUMBER) and abs(b) > 64:
        raise ValueError("exponent too large")
    if op is operator.mul and (
        isinstance(a, (str, list, tuple)) or isinstance(b, (str, list, tuple))
    ):
        raise ValueError("sequence repetition")
    return op(a, b)


# Calls that end the program (``exit`` / ``quit`` as the builtins).
_EXITS = frozenset({"sys.exit", "os._exit", "exit", "quit"})
_PATH_JOINS = frozenset({"os.path.join", "posixpath.join"})
# The ImageDataGenerator methods whose iterators the drift tables know (``Iterator.next``).
_IMAGE_FLOWS = frozenset({"flow", "flow_from_directory", "flow_from_dataframe"})


def _joined_path(qualname: str, positional: list[Value], keywords: dict[str, Value]) -> Value:
    """``os.path.join("models", "w.h5")`` of known strings: the path, so that the saving
    checks read its file name as they read a literal (joined as on POSIX; the suffix, all
    they look at, is the same on Windows)."""
    if qualname not in _PATH_JOINS or keywords or not positional:
        return UNKNOWN
    parts = [v.value for v in positional if isinstance(v, Known) and isinstance(v.value, str)]
    if len(parts) != len(positional):
        return UNKNOWN
    return Known(posixpath.join(*parts))


_AUG_TO_BINARY: dict[type[cst.BaseAugOp], Callable[[Any, Any], Any]] = {
    cst.AddAssign: operator.add,
    cst.SubtractAssign: operator.sub,
    cst.MultiplyAssign: operator.mul,
    cst.DivideAssign: operator.truediv,
    cst.FloorDivideAssign: operator.floordiv,
    cst.ModuloAssign: operator.mod,
    cst.PowerAssign: operator.pow,
}

_EVAL: dict[type[cst.CSTNode], Callable[[PythonExtractor, Any, Scope], Value]] = {
    cst.Integer: PythonExtractor.eval_integer,
    cst.Float: PythonExtractor.eval_float,
    cst.SimpleString: PythonExtractor.eval_string,
    cst.ConcatenatedString: PythonExtractor.eval_string,
    cst.Name: PythonExtractor.eval_name,
    cst.Attribute: PythonExtractor.eval_attribute,
    cst.List: PythonExtractor.eval_sequence,
    cst.Tuple: PythonExtractor.eval_sequence,
    cst.Dict: PythonExtractor.eval_dict,
    cst.UnaryOperation: PythonExtractor.eval_unary,
    cst.BinaryOperation: PythonExtractor.eval_binary,
    cst.Comparison: PythonExtractor.eval_compare,
    cst.BooleanOperation: PythonExtractor.eval_boolean,
    cst.IfExp: PythonExtractor.eval_ifexp,
    cst.Subscript: PythonExtractor.eval_subscript,
    cst.Lambda: PythonExtractor.eval_lambda,
    cst.ListComp: PythonExtractor.eval_comprehension,
    cst.GeneratorExp: PythonExtractor.eval_comprehension,
    cst.Call: PythonExtractor.eval_call,
}


def extract(
    module: cst.Module, path: str, knowledge: Knowledge | None = None, lines: int = 0
) -> ModuleSpec:
    """The IR of one parsed module; ``lines`` (the source's size) scales the step budget."""
    return PythonExtractor(module, path, knowledge, lines).extract()
