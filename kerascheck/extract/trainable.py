"""``trainable`` flags in program order: what the code sets, and what each training sees.

Every ``x.trainable = value`` the interpreter meets is an assignment in a log (a tuple, so a
state of the program is a snapshot of it). A target is a model (``base``), a group of a
model's layers (``base.layers``, ``base.layers[:100]``, ``base.get_layer("x")``), a layer
object (``dense``), or anything (``layer.trainable = ...`` on a value the interpreter cannot
resolve, which may be any layer of any model).

Keras's semantics (measured, docs/knowledge.md): setting a model's flag sets every layer
inside it too; a layer's weights are trainable only if it and every model around it are.
So each target's value is folded from the log: an assignment to the target or to something
containing it sets it; one to something that may overlap it (a slice of the same layers, a
layer that may be in the group) leaves it only if it agrees, else makes it UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kerascheck.extract.values import LayerGroup, ModelObject, PartUse, Tensor, post_order
from kerascheck.ir import UNKNOWN, Known, LayerSpec, Span, TrainableState, Value

TRUE = Known(True)
FALSE = Known(False)


@dataclass(frozen=True, eq=False)
class Target:
    """What an assignment sets. ``owner`` is the model (scopes ``model``, ``all_layers``,
    ``some_layers``, ``layer``), the layer object (``named``), or None (``any``)."""

    scope: str
    owner: ModelObject | LayerSpec | None
    text: str

    @property
    def key(self) -> tuple[str, int, str]:
        # A model's own flag has one key whatever name it is written under.
        text = "" if self.scope in ("model", "named", "all_layers") else self.text
        return (self.scope, id(self.owner), text)


@dataclass(frozen=True, eq=False)
class Assignment:
    target: Target
    value: Value[bool]
    span: Span | None


Log = tuple[Assignment, ...]
EMPTY: Log = ()


def model_target(model: ModelObject, text: str | None = None) -> Target:
    return Target("model", model, text or model.name or "model")


def group_target(group: LayerGroup) -> Target:
    return Target(group.scope, group.model, group.text)


def flag_value(value: object) -> Value[bool]:
    return value if isinstance(value, Known) and isinstance(value.value, bool) else UNKNOWN


def join(logs: list[Log]) -> Log:
    """The log after paths that started together: their common prefix, then the paths'
    own assignments if they all made the same ones, else each target they set as UNKNOWN."""
    first = logs[0]
    if all(log is first for log in logs):
        return first
    prefix = 0
    shortest = min(len(log) for log in logs)
    while prefix < shortest and all(log[prefix] is first[prefix] for log in logs):
        prefix += 1
    suffixes = [log[prefix:] for log in logs]
    signature = [tuple((a.target.key, a.value) for a in s) for s in suffixes]
    if all(sig == signature[0] for sig in signature):
        return first[:prefix] + suffixes[0]
    unknown: dict[tuple[str, int, str], Assignment] = {}
    for suffix in suffixes:
        for assignment in suffix:
            unknown.setdefault(assignment.target.key, Assignment(assignment.target, UNKNOWN, None))
    return first[:prefix] + tuple(unknown.values())


# ----------------------------------------------------------------------------- structure
def direct_parts(model: ModelObject) -> list[ModelObject]:
    """The models used as layers of ``model``, each once, in graph order."""
    found: dict[int, ModelObject] = {}
    if model.kind == "sequential":
        for part, _ in model.parts:
            found.setdefault(id(part), part)
        return list(found.values())
    for tensor in graph_tensors(model):
        if isinstance(tensor.op, PartUse):
            found.setdefault(id(tensor.op.model), tensor.op.model)
    return list(found.values())


def direct_layers(model: ModelObject) -> set[int]:
    """The ids of the layer objects (LayerSpec) that are layers of ``model`` itself."""
    if model.kind == "sequential":
        return {id(layer) for layer in model.layers}
    return {id(t.layer) for t in graph_tensors(model) if t.layer is not None}


def graph_tensors(model: ModelObject) -> Iterator[Tensor]:
    """Every tensor of a functional model's graph, each once, inputs first."""
    return post_order(model.output_tensors or [])


class Structure:
    """What contains what, from one model down (computed once per training run)."""

    def __init__(self, root: ModelObject) -> None:
        self.parts: dict[int, list[ModelObject]] = {}
        self.layers: dict[int, set[int]] = {}
        self.parent: dict[int, ModelObject | None] = {id(root): None}
        self.root = root
        pending = [root]
        while pending:
            model = pending.pop()
            parts = direct_parts(model)
            self.parts[id(model)] = parts
            self.layers[id(model)] = direct_layers(model)
            for part in parts:
                if id(part) not in self.parent:
                    self.parent[id(part)] = model
                    pending.append(part)

    def models(self) -> Iterable[ModelObject]:
        yield self.root
        pending = list(self.parts[id(self.root)])
        seen = {id(self.root)}
        while pending:
            model = pending.pop()
            if id(model) in seen:
                continue
            seen.add(id(model))
            yield model
            pending.extend(self.parts.get(id(model), ()))

    def container(self, target: Target) -> ModelObject | None:
        """The model directly holding what ``target`` names (the model itself for a model)."""
        if target.scope == "any":
            return None
        if target.scope == "named":
            for model in self.models():
                if id(target.owner) in self.layers[id(model)]:
                    return model
            return None
        owner = target.owner
        return owner if isinstance(owner, ModelObject) and id(owner) in self.parent else None

    def path(self, model: ModelObject) -> list[ModelObject]:
        """The models from the root down to ``model``."""
        path = [model]
        parent = self.parent.get(id(model))
        while parent is not None:
            path.append(parent)
            parent = self.parent.get(id(parent))
        return path[::-1]

    def top_part(self, model: ModelObject) -> int | None:
        """The index among the root's parts of the one that holds ``model``."""
        path = self.path(model)
        if len(path) < 2:
            return None
        top = path[1]
        for index, part in enumerate(self.parts[id(self.root)]):
            if part is top:
                return index
        return None

    def within(self, target: Target, model: ModelObject) -> bool:
        """``target`` is ``model``'s own flag or anything inside ``model``."""
        holder = self.container(target)
        return holder is not None and any(m is model for m in self.path(holder))

    def inside(self, target: Target, model: ModelObject) -> bool:
        """``target`` is something inside ``model`` (not its own flag)."""
        if target.scope == "model" and target.owner is model:
            return False
        return self.within(target, model)

    # -------------------------------------------------------------------------- relations
    def covers(self, setter: Target, target: Target) -> bool:
        """Setting ``setter`` certainly sets ``target`` to the same value."""
        if setter.key == target.key:
            return True
        owner = setter.owner
        if setter.scope == "model" and isinstance(owner, ModelObject):
            return id(owner) in self.parent and self.inside(target, owner)
        if setter.scope == "all_layers" and isinstance(owner, ModelObject):
            return self._in_layers_of(target, owner)
        return False

    def overlaps(self, setter: Target, target: Target) -> bool:
        """Setting ``setter`` may set ``target`` (or part of what it names)."""
        owner = setter.owner
        if setter.scope == "any":
            return True
        if setter.scope in ("some_layers", "layer") and isinstance(owner, ModelObject):
            return self._in_layers_of(target, owner)
        if setter.scope == "named":
            holder = self.container(setter)
            return (
                holder is not None
                and target.scope in ("all_layers", "some_layers", "layer")
                and target.owner is holder
            )
        return False

    def _in_layers_of(self, target: Target, model: ModelObject) -> bool:
        """``target`` names one or more of ``model``'s layers, or something inside them."""
        if target.scope in ("all_layers", "some_layers", "layer") and target.owner is model:
            return True
        if target.scope == "named" and id(target.owner) in self.layers.get(id(model), ()):
            return True
        return any(self.within(target, part) for part in self.parts.get(id(model), ()))


# ----------------------------------------------------------------------------- values
def _fold(log: Log, target: Target, structure: Structure) -> tuple[Value[bool], Span | None]:
    """The target's own flag after the log, and the assignment that set it last."""
    value: Value[bool] = TRUE
    span: Span | None = None
    for assignment in log:
        setter = assignment.target
        if structure.covers(setter, target):
            value, span = assignment.value, assignment.span
        elif structure.overlaps(setter, target) and value != assignment.value:
            value, span = UNKNOWN, assignment.span
    return value, span


def _effective(
    log: Log, chain: list[Target], structure: Structure
) -> tuple[Value[bool], Span | None]:
    """Whether the weights of the chain's last target are trainable: it and every model
    around it must be."""
    result: Value[bool] = TRUE
    last: Span | None = None
    for node in chain:
        value, span = _fold(log, node, structure)
        if value == FALSE:
            return FALSE, span
        if value is UNKNOWN:
            result = UNKNOWN
        if span is not None and node is chain[-1]:
            last = span
    return result, last


def _chain(target: Target, structure: Structure) -> list[Target] | None:
    holder = structure.container(target)
    if holder is None:
        return None
    chain = [model_target(model) for model in structure.path(holder)]
    if target.scope != "model":
        chain.append(target)
    else:
        chain[-1] = target
    return chain


_SCOPES = {"model": "model", "all_layers": "all_layers", "some_layers": "some_layers"}


def states_at_training(
    model: ModelObject,
    at_compile: Log | object | None,
    at_first_training: Log | object | None,
    now: Log,
) -> tuple[TrainableState, ...]:
    """The trainable state of every target inside ``model`` that the code sets, for one
    training run of it. ``at_compile`` / ``at_first_training`` are logs, None (not compiled
    / this run is the first training since the compile) or UNKNOWN (paths disagree)."""
    logs = [log for log in (at_compile, at_first_training, now) if isinstance(log, tuple)]
    if not any(logs):
        return ()
    structure = Structure(model)
    targets: dict[tuple[str, int, str], Target] = {}
    for log in logs:
        for assignment in log:
            if assignment.target.scope != "any":
                targets.setdefault(assignment.target.key, assignment.target)
    states = []
    for target in targets.values():
        chain = _chain(target, structure)
        if chain is None:
            continue
        holder = structure.container(target)
        value, span = _effective(now, chain, structure)
        states.append(
            TrainableState(
                target=target.text,
                scope=_SCOPES.get(target.scope, "layer"),  # type: ignore[arg-type]
                own=target.scope == "model" and target.owner is model,
                part=structure.top_part(holder) if holder is not None else None,
                at_compile=_value_in(at_compile, chain, structure),
                at_first_training=(
                    None
                    if at_first_training is None
                    else _value_in(at_first_training, chain, structure)
                ),
                now=value,
                span=span,
            )
        )
    return tuple(states)


def _value_in(log: Log | object | None, chain: list[Target], structure: Structure) -> Value[bool]:
    if not isinstance(log, tuple):
        return UNKNOWN
    return _effective(log, chain, structure)[0]
