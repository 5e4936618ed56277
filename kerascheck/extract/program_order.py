"""What is in effect for each model at the current point of the program.

The interpreter walks the program once, in order (a notebook in cell order). A model's
state — for now the compile() calls that may be in effect — changes as it goes: a later
compile() starts a new state, and every run of the model (fit, evaluate, predict) records
the state it sees. Where the walk forks (``if``, ``try``, ``match``, a loop that is not
unrolled) the states of the paths are joined: a model keeps every compile that may be in
effect, so a rule can tell "decided" (one) from "the paths disagree" (several).

A loop body runs once in the walk, but on a later iteration its runs see what the body
itself compiled: :meth:`ModelStates.after_loop` widens them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from kerascheck.extract.values import ModelObject
from kerascheck.ir import CompileSpec, RunSpec

# The compiles that may be in effect for one model (None: not compiled on some path).
Compiles = tuple[CompileSpec | None, ...]
NOT_COMPILED: Compiles = (None,)


def union(*groups: Compiles) -> Compiles:
    """Each compile once (by identity), in the order first seen."""
    merged: list[CompileSpec | None] = []
    for group in groups:
        for spec in group:
            if not any(spec is seen for seen in merged):
                merged.append(spec)
    return tuple(merged)


def _same(a: Compiles, b: Compiles) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


class ModelStates:
    """The compiles in effect per model (keyed by the model object's identity)."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: dict[int, Compiles] = {}

    def created(self, model: ModelObject) -> None:
        self.current[id(model)] = NOT_COMPILED

    def compiled(self, model: ModelObject, spec: CompileSpec) -> None:
        self.current[id(model)] = (spec,)

    def of(self, model: ModelObject) -> Compiles:
        return self.current.get(id(model), NOT_COMPILED)

    def snapshot(self) -> dict[int, Compiles]:
        return dict(self.current)

    def restore(self, snapshot: dict[int, Compiles]) -> None:
        self.current = dict(snapshot)

    def join(self, paths: Iterable[dict[int, Compiles]]) -> None:
        """The state after paths that started together: per model, every compile that one
        of them leaves in effect. A model that exists on one path only keeps that path's."""
        joined: dict[int, Compiles] = {}
        for path in paths:
            for key, compiles in path.items():
                joined[key] = union(joined[key], compiles) if key in joined else compiles
        self.current = joined

    def after_loop(
        self,
        entry: dict[int, Compiles],
        models: Iterable[ModelObject],
        marks: dict[int, int],
    ) -> None:
        """A loop body just ran once from ``entry``. The runs it recorded with the entry
        state also see, on later iterations, what the body left in effect; then the loop
        may have run any number of times, so the state joins entry and exit."""
        exit_state = self.current
        for model in models:
            key = id(model)
            before, after = entry.get(key), exit_state.get(key)
            if before is None or after is None or _same(before, after):
                continue
            widened = union(before, after)
            for index in range(marks.get(key, 0), len(model.events)):
                event = model.events[index]
                if isinstance(event, RunSpec) and _same(event.compiles, before):
                    model.events[index] = replace(event, compiles=widened)
        self.join([entry, exit_state])
