"""Diff the old Keras snapshots against the Keras 3 one: the tables of api_drift.json.

Every row says what is gone, the first flavour without it (``since``: ``tf2`` when only
standalone Keras 1.x/2.0-2.3 had it, ``keras3`` when tf.keras 2.x still has it), whether
``tensorflow.keras.*`` still provides it under TensorFlow >= 2.16 with Keras 3
(``tf_keras``), and what to use instead: from the hand-written replacement map when it has
the row, else computed (a name that Keras 3 has under another module; a module whose names
all moved to one Keras 3 module; a Keras 1 keyword the Keras 2 legacy interfaces renamed).
A row without a replacement must say why (``why``): tests/test_api_drift.py holds that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

FLAVOURS = ("legacy", "tf2", "keras3")
# Where a removed name is looked for in Keras 3, by the module it was in (first match wins).
_MOVE_PREFERENCE = {
    "keras.backend": ("keras.ops", "keras.random", "keras.config", "keras.utils"),
}
# Share of a removed module's names that must exist in one Keras 3 module to call it moved.
_MOVED_SHARE = 0.8
_MIN_MOVED_NAMES = 2
_ADVICE = frozenset({"use", "why", "rename"})
# Methods a subclass defines rather than calls: their parameters are the author's own.
_OVERRIDDEN = frozenset(
    {
        "build",
        "call",
        "compute_loss",
        "compute_mask",
        "compute_metrics",
        "compute_output_shape",
        "from_config",
        "get_config",
        "predict_step",
        "test_step",
        "train_step",
        "update_step",
    }
)
_GENERIC_HOMES = 3


@dataclass(frozen=True)
class Snapshot:
    version: str
    flavour: str
    data: dict[str, Any]

    def callables(self) -> dict[str, dict[str, Any]]:
        defs = self.data["defs"]
        return {path: defs[ident] for path, ident in self.data["symbols"].items()}


def _accepted(sig: dict[str, Any]) -> set[str]:
    names = {p[0] for p in sig.get("params", [])} | {p[0] for p in sig.get("kwonly", [])}
    return names | set(sig.get("keywords", [])) | set(sig.get("renamed", {}))


def value_type(default: Any) -> str | None:
    """The kind of value a default shows a parameter takes (None: the default proves nothing)."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, (int, float)):
        return "number"
    if isinstance(default, str):
        return "str"
    if isinstance(default, list):
        return "sequence"
    return None


def _typed(params: list[list[Any]]) -> list[list[Any]]:
    return [[p[0], value_type(p[1]) if len(p) > 1 else None] for p in params]


def _module(path: str) -> str:
    return path.rpartition(".")[0]


class Differ:
    def __init__(self, old: list[Snapshot], keras3: dict[str, Any], replacements: dict[str, Any]):
        self.old = old
        self.k3 = keras3
        self.repl = replacements
        # A name Keras 3 keeps only to raise an explanation is gone all the same.
        self.stubs = {
            path: keras3["defs"][ident]["raises"]
            for path, ident in keras3["symbols"].items()
            if keras3["defs"][ident].get("kind") == "stub"
        }
        self.k3_symbols = {p: i for p, i in keras3["symbols"].items() if p not in self.stubs}
        self.k3_modules = set(keras3["modules"])
        self.tf_symbols = set(keras3["tf_keras_symbols"])
        self.tf_modules = set(keras3["tf_keras_modules"])
        self.k3_by_name: dict[str, list[str]] = {}
        for path in self.k3_symbols:
            self.k3_by_name.setdefault(path.rpartition(".")[2], []).append(path)

    # ------------------------------------------------------------------ helpers
    def since(self, present: Iterable[Snapshot]) -> str:
        """The first flavour without something, given the old snapshots that have it."""
        return "keras3" if any(s.flavour == "tf2" for s in present) else "tf2"

    def _replacement(self, table: str, key: str, computed: str | None) -> dict[str, Any]:
        hand = self.repl.get(table, {}).get(key)
        if hand is not None:
            return dict(hand)
        if computed is not None:
            return {"use": computed, "computed": True}
        return {}

    def moved_to(self, path: str, kind: str) -> str | None:
        """The Keras 3 path of a name removed from ``path``'s module, when it is unambiguous."""
        module, _, name = path.rpartition(".")
        candidates = [
            c
            for c in self.k3_by_name.get(name, [])
            if self.k3["defs"][self.k3_symbols[c]].get("kind") == kind and c != path
        ]
        for preferred in _MOVE_PREFERENCE.get(module, ()):
            inside = [c for c in candidates if _module(c) == preferred]
            if inside:
                return inside[0]
        family = ".".join(module.split(".")[:2])
        same_family = [c for c in candidates if c.startswith(family + ".")]
        if len(same_family) >= 1:
            return min(same_family, key=len)
        if module in _MOVE_PREFERENCE:
            return None  # a backend name found only elsewhere is a guess, not a move
        return candidates[0] if len(candidates) == 1 else None

    # ------------------------------------------------------------------ modules and names
    def modules(self) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        every = sorted({m for s in self.old for m in s.data["modules"]})
        for module in every:
            if module in self.k3_modules:
                continue
            present = [s for s in self.old if module in s.data["modules"]]
            row = {"since": self.since(present), "tf_keras": module in self.tf_modules}
            row.update(self._replacement("modules", module, self._module_target(module)))
            rows[module] = row
        return rows

    def _module_target(self, module: str) -> str | None:
        """The Keras 3 module that most of a removed module's names now live in; names that
        several Keras 3 modules have (``preprocess_input``) say nothing about where."""
        names = {
            path.rpartition(".")[2]
            for snapshot in self.old
            for path in snapshot.data["symbols"]
            if _module(path) == module
        }
        homes = {n: {_module(c) for c in self.k3_by_name.get(n, [])} - {"keras"} for n in names}
        specific = [n for n in names if len(homes[n]) < _GENERIC_HOMES]
        if len(specific) < _MIN_MOVED_NAMES:
            return None
        counts: dict[str, int] = {}
        for name in specific:
            for target in homes[name]:
                counts[target] = counts.get(target, 0) + 1
        if not counts:
            return None
        best = max(sorted(counts), key=lambda m: counts[m])
        return f"`{best}`" if counts[best] >= _MOVED_SHARE * len(specific) else None

    def names(self, modules: dict[str, Any]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        every: dict[str, list[Snapshot]] = {}
        for snapshot in self.old:
            for path in snapshot.data["symbols"]:
                every.setdefault(path, []).append(snapshot)
        for path, present in sorted(every.items()):
            module = _module(path)
            if path in self.k3_symbols:
                continue
            if module in modules and path not in self.repl.get("names", {}):
                continue  # the module's row says it: only names with their own advice

            kind = present[-1].callables()[path].get("kind", "value")
            row: dict[str, Any] = {
                "since": self.since(present),
                "tf_keras": path in self.tf_symbols,
                "kind": kind,
            }
            moved = self.moved_to(path, kind)
            computed = f"`{moved}`" if moved else None
            if computed is None and module in modules:
                computed = modules[module].get("use")
            row.update(self._replacement("names", path, computed))
            if path in self.stubs:
                row["raises"] = self.stubs[path]
            if moved and row.get("computed") and "note" not in row:
                note = self._signature_note(path, moved, present[-1])
                if note:
                    row["note"] = note
            rows[path] = row
        return rows

    def _signature_note(self, old_path: str, new_path: str, snapshot: Snapshot) -> str | None:
        """What a call written for the old function gets wrong with the new one: parameters
        that moved (``in_top_k`` swapped its first two), positions it no longer takes, and
        defaults that changed (``concatenate``'s ``axis``: -1 then, 0 now). Renames at the
        same position (``x`` -> ``x1``) bind the same and say nothing."""
        old = snapshot.callables()[old_path]
        new = self.k3["defs"][self.k3_symbols[new_path]]
        if old.get("kind") != "function":
            return None
        old_params, new_params = old.get("params", []), new.get("params", [])
        old_names, new_names = [p[0] for p in old_params], [p[0] for p in new_params]
        notes = []
        moved = [n for i, n in enumerate(old_names) if n in new_names and new_names.index(n) != i]
        if moved or len(old_names) > len(new_names):
            notes.append(f"parameters were ({', '.join(old_names)}), now ({', '.join(new_names)})")
        notes += [
            f"`{n[0]}` defaults to {_show(n[1])}, was {_show(o[1])}"
            for o, n in zip(old_params, new_params, strict=False)
            if o[0] == n[0] and len(o) > 1 and len(n) > 1 and o[1] != n[1]
        ]
        return "; ".join(notes) or None

    # ------------------------------------------------------------------ members
    def members(self) -> dict[str, Any]:
        """Methods and attributes of the receivers that Keras 3 no longer has."""
        groups = {"Model": ("Model", "Sequential"), "Layer": ("Layer",)}
        groups |= {"Optimizer": ("Optimizer",), "Callback": ("Callback",)}
        groups |= {"Iterator": ("Iterator",)}
        rows: dict[str, Any] = {}
        for receiver, classes in groups.items():
            k3_names: set[str] = set()
            stubs: dict[str, str] = {}
            for cls in classes:
                members = self.k3["receivers"][cls]
                k3_names |= set(members["methods"]) | set(members["attributes"])
                stubs |= {n: m for n, m in members.get("stubs", {}).items() if n not in _OVERRIDDEN}
                k3_names |= set(members.get("stubs", {})) - set(stubs)
            old: dict[str, tuple[str, list[Snapshot]]] = {}
            for snapshot in self.old:
                for cls in classes:
                    members = snapshot.data["receivers"].get(cls)
                    if members is None:
                        continue
                    for name in members["methods"]:
                        old.setdefault(name, ("method", []))[1].append(snapshot)
                    for name in members["attributes"]:
                        old.setdefault(name, ("attribute", []))[1].append(snapshot)
            for name, (kind, present) in sorted(old.items()):
                if name in k3_names:
                    continue
                key = f"{receiver}.{name}"
                row = {"since": self.since(present), "kind": kind}
                kept = [
                    cls
                    for cls, names in self.k3["receivers"][classes[0]].get("classes", {}).items()
                    if name in names
                ]
                if kept:
                    row["kept_by"] = sorted(kept)  # layer classes that still have it
                row.update(self._replacement("members", key, None))
                if name in stubs:
                    row["raises"] = stubs[name]
                rows[key] = row
        return rows

    # ------------------------------------------------------------------ arguments
    def arguments(self) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for key, old_sigs, new_sig in self._callable_pairs():
            ignores = new_sig.get("ignores", False)
            if not (new_sig.get("closed", False) or ignores):
                continue  # Keras 3 hands unknown keywords on: nothing provably rejected
            accepted = _accepted(new_sig)
            dropped = new_sig.get("ignored_keywords", {})
            removed: dict[str, list[Snapshot]] = {}
            renamed = self.renames(key)
            values: dict[str, dict[str, Any]] = {}
            for snapshot, sig in old_sigs:
                for name in _accepted(sig) - (accepted - set(dropped)):
                    removed.setdefault(name, []).append(snapshot)
                renamed.update(sig.get("renamed", {}))
                values.update(sig.get("values", {}))
            if not removed:
                continue
            table: dict[str, Any] = {}
            for name, present in sorted(removed.items()):
                row: dict[str, Any] = {"since": self.since(present)}
                if ignores or name in dropped:
                    row["ignored"] = True  # accepted and dropped, not an error
                if name in dropped:
                    row["warns"] = dropped[name]
                target = renamed.get(name)
                if target in accepted:
                    row |= {"use": f"`{target}=`", "computed": True, "rename": target}
                    if name in values:
                        row["values"] = values[name]
                row |= self._argument_replacement(key, name, computed="use" in row)
                table[name] = row
            rows[key] = table
        return rows

    def _argument_replacement(self, key: str, name: str, computed: bool) -> dict[str, Any]:
        """The hand-written advice for an argument: the callable's own entry always wins;
        the family's (``keras.layers.*``) and the general one (``*``) only where nothing
        was computed (``W_regularizer`` is ``kernel_regularizer`` on Dense but
        ``embeddings_regularizer`` on Embedding, which the legacy interfaces say)."""
        table = self.repl.get("arguments", {})
        for scope in (key, _family(key), "*"):
            if name in table.get(scope, {}):
                entry = dict(table[scope][name])
                if computed and scope != key:  # keep the computed advice, add the notes
                    entry = {k: v for k, v in entry.items() if k not in _ADVICE}
                return entry
        return {}

    def renames(self, key: str) -> dict[str, str]:
        """Hand-known parameter renames for a callable (``lr`` -> ``learning_rate``)."""
        table = self.repl.get("renamed_parameters", {})
        return {**table.get("*", {}), **table.get(key, {})}

    def _callable_pairs(self) -> Iterable[tuple[str, list[tuple[Snapshot, dict]], dict]]:
        """(key, old signatures, Keras 3 signature) for every callable both sides have:
        public classes and functions by path, and the receivers' methods as ``Model.fit``."""
        for path, ident in sorted(self.k3_symbols.items()):
            new_sig = self.k3["defs"][ident]
            if new_sig.get("kind") not in ("class", "function"):
                continue
            old_sigs = [
                (s, s.callables()[path])
                for s in self.old
                if path in s.data["symbols"] and s.callables()[path].get("kind") == new_sig["kind"]
            ]
            if old_sigs:
                yield path, old_sigs, new_sig
        receivers = {"Model": ("Model", "Sequential"), "Layer": ("Layer",)}
        for receiver, classes in receivers.items():
            new_methods: dict[str, Any] = {}
            for cls in reversed(classes):
                new_methods |= self.k3["receivers"][cls]["methods"]
            for method, new_sig in sorted(new_methods.items()):
                if method in _OVERRIDDEN:
                    continue
                old_sigs = []
                for snapshot in self.old:
                    for cls in classes:
                        members = snapshot.data["receivers"].get(cls, {"methods": {}})
                        if method in members["methods"]:
                            old_sigs.append((snapshot, members["methods"][method]))
                            break
                if old_sigs:
                    yield f"{receiver}.{method}", old_sigs, new_sig

    # ------------------------------------------------------------------ positional
    def positional(self) -> dict[str, Any]:
        """Callables whose positional parameters bind differently in Keras 3: for each old
        version, the first position that binds another parameter (renames the Keras 2 legacy
        interfaces made, and ``lr`` -> ``learning_rate``, do not count) and the old parameters
        from there on, each with the kind of value its default shows."""
        rows: dict[str, Any] = {}
        for key, old_sigs, new_sig in self._callable_pairs():
            if new_sig.get("var_positional"):
                continue
            new = _typed(new_sig.get("params", []))
            new_names = [p[0] for p in new]
            renamed = self.renames(key)
            for _, sig in old_sigs:
                renamed |= sig.get("renamed", {})
            changes = []
            for snapshot, sig in old_sigs:
                old = _typed(sig.get("params", []))[: sig.get("positional_limit")]
                names = [renamed.get(p[0], p[0]) for p in old]
                first = next(
                    (i for i, n in enumerate(names) if i >= len(new_names) or new_names[i] != n),
                    None,
                )
                if first is not None:
                    changes.append(
                        {"version": snapshot.version, "flavour": snapshot.flavour}
                        | {"from": first, "params": old[first:]}
                    )
            if changes:
                # Keras 3's parameters as far as an old one reaches: enough to compare.
                reach = max(c["from"] + len(c["params"]) for c in changes)
                rows[key] = {"keras3": new[:reach], "old": changes}
        return rows

    def tables(self) -> dict[str, Any]:
        modules = self.modules()
        return {
            "modules": modules,
            "names": self.names(modules),
            "members": self.members(),
            "arguments": self.arguments(),
            "positional": self.positional(),
        }


def _family(key: str) -> str:
    """``keras.layers.Dense`` -> ``keras.layers.*``; ``Model.fit`` -> ``Model.*``."""
    return _module(key) + ".*"


def _show(value: Any) -> str:
    return f"`{value!r}`" if not isinstance(value, dict) else f"`{value['expr']}`"
