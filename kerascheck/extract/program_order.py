"""What is in effect for each model at the current point of the program.

The interpreter walks the program once, in order (a notebook in cell order). A model's
state changes as it goes: a later compile() starts a new state, its first training since
that compile is remembered, and every run of the model (fit, evaluate, predict) records the
state it sees. ``trainable`` assignments go into one log for the whole program
(kerascheck/extract/trainable.py); a model's state keeps the log as it was at its last
compile and at its first training since, so a training can tell what Keras uses.

Where the walk forks (``if``, ``try``, ``match``, a loop that is not unrolled) the states of
the paths are joined: a model keeps every compile that may be in effect, so a rule can tell
"decided" (one) from "the paths disagree" (several); the logs keep what the paths agree on.

A loop body runs once in the walk, but on a later iteration its runs see what the body
itself compiled: :meth:`ModelStates.after_loop` widens them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kerascheck.extract import trainable
from kerascheck.extract.trainable import EMPTY, Assignment, Log
from kerascheck.extract.values import ModelObject
from kerascheck.ir import UNKNOWN, CompileSpec, RunSpec, TrainableState, _Unknown

# The compiles that may be in effect for one model (None: not compiled on some path).
Compiles = tuple[CompileSpec | None, ...]
NOT_COMPILED: Compiles = (None,)
# A trainable log remembered by a model: None (no such point yet), or UNKNOWN (paths disagree).
Remembered = Log | None | _Unknown


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


@dataclass(frozen=True, slots=True)
class ModelState:
    compiles: Compiles = NOT_COMPILED
    # The trainable log at the last compile(), and at the first training since.
    at_compile: Remembered = None
    at_first_training: Remembered = None


def _remembered(values: list[Remembered]) -> Remembered:
    first = values[0]
    return first if all(v is first for v in values) else UNKNOWN


def _join_states(states: list[ModelState]) -> ModelState:
    first = states[0]
    if all(s is first for s in states):
        return first
    return ModelState(
        union(*(s.compiles for s in states)),
        _remembered([s.at_compile for s in states]),
        _remembered([s.at_first_training for s in states]),
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    models: dict[int, ModelState]
    log: Log


class ModelStates:
    """Each model's state (keyed by the model object's identity) and the trainable log."""

    __slots__ = ("current", "log")

    def __init__(self) -> None:
        self.current: dict[int, ModelState] = {}
        self.log: Log = EMPTY

    def created(self, model: ModelObject) -> None:
        self.current[id(model)] = ModelState()

    def compiled(self, model: ModelObject, spec: CompileSpec) -> None:
        self.current[id(model)] = ModelState((spec,), self.log, None)

    def of(self, model: ModelObject) -> Compiles:
        return self.current.get(id(model), ModelState()).compiles

    def trained(self, model: ModelObject) -> tuple[TrainableState, ...]:
        """A training run of ``model`` starts: the trainable state it sees. Its first since
        the last compile is remembered (Keras 3 fixes the trainable weights there)."""
        state = self.current.get(id(model), ModelState())
        seen = trainable.states_at_training(
            model, state.at_compile, state.at_first_training, self.log
        )
        if state.at_first_training is None:
            self.current[id(model)] = replace(state, at_first_training=self.log)
        return seen

    def assigned(self, assignment: Assignment) -> None:
        self.log = (*self.log, assignment)

    def escaped(self, model: ModelObject) -> None:
        """``model`` was handed to code the walk cannot see, which may compile it or change
        its flags: what was remembered about it is no longer known."""
        state = self.current.get(id(model))
        if state is not None:
            self.current[id(model)] = ModelState(state.compiles, UNKNOWN, UNKNOWN)
        self.assigned(Assignment(trainable.model_target(model), UNKNOWN, None))

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.current), self.log)

    def restore(self, snapshot: Snapshot) -> None:
        self.current = dict(snapshot.models)
        self.log = snapshot.log

    def join(self, paths: Iterable[Snapshot]) -> None:
        """The state after paths that started together: per model, every compile that one
        of them leaves in effect. A model that exists on one path only keeps that path's."""
        paths = list(paths)
        grouped: dict[int, list[ModelState]] = {}
        for path in paths:
            for key, state in path.models.items():
                grouped.setdefault(key, []).append(state)
        self.current = {key: _join_states(states) for key, states in grouped.items()}
        self.log = trainable.join([path.log for path in paths])

    def after_loop(
        self,
        entry: Snapshot,
        models: Iterable[ModelObject],
        marks: dict[int, int],
    ) -> None:
        """A loop body just ran once from ``entry``. The runs it recorded with the entry
        state also see, on later iterations, what the body left in effect; then the loop
        may have run any number of times, so the state joins entry and exit."""
        exit_state = self.snapshot()
        for model in models:
            key = id(model)
            before, after = entry.models.get(key), exit_state.models.get(key)
            if before is None or after is None or _same(before.compiles, after.compiles):
                continue
            widened = union(before.compiles, after.compiles)
            for index in range(marks.get(key, 0), len(model.events)):
                event = model.events[index]
                if isinstance(event, RunSpec) and _same(event.compiles, before.compiles):
                    model.events[index] = replace(event, compiles=widened)
        self.join([entry, exit_state])
