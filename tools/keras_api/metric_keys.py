"""The history keys metrics log, per flavour, and the loss / metric strings Keras 3 dropped.

Keras 3's keys are measured (the installed snapshot records what ``compile()``'s own
``get_metric`` names each string, and each metric class's default name). Older versions are
read from their snapshots, through the naming scheme each one's training code applies:

* Keras 1.2.2 and 2.2.4 (``keras/engine/training.py``, ``compile``): ``'accuracy'`` and
  ``'acc'`` log ``acc``, ``'crossentropy'`` / ``'ce'`` log ``ce``; any other string logs the
  ``__name__`` of the function ``keras.metrics.get`` returns (``'mae'`` ->
  ``mean_absolute_error``).
* Keras 2.3.1 (``keras/engine/training_utils.py``, ``get_metric_name``): a string logs as
  written.
* tf.keras 2.15 / tf_keras 2.21 (``keras/src/engine/compile_utils.py``,
  ``_get_metric_object``): a string naming a function logs as written; a string naming a
  metric class (``'AUC'``) logs that class's default name (``auc``).

A metric class's default name is its ``name=`` default, or (``name=None``) the snake_case
class name, numbered from the second instance on (``auc``, ``auc_1``).
"""

from __future__ import annotations

import re
from typing import Any

from keras_api.diff import Snapshot

_SCHEMES = {"1.2.2": "function_name", "2.2.4": "function_name", "2.3.1": "as_written"}
_COMPILE_STRINGS = ("accuracy", "acc", "crossentropy", "ce")
# How compile() sees those: functions of (y_true, y_pred) like every loss and metric.
_COMPILE_STRING = {"kind": "function", "params": [["y_true"], ["y_pred"]]}


def _takes_targets(info: dict[str, Any]) -> bool:
    """A loss or metric function (``f(y_true, y_pred)``), not a helper such as ``get``."""
    params = [p[0] for p in info.get("params", [])]
    return info.get("kind") == "function" and params[:2] == ["y_true", "y_pred"]


def snake_case(name: str) -> str:
    """tf.keras's ``generic_utils.to_snake_case``."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def _names(snapshot: Snapshot, module: str) -> dict[str, dict[str, Any]]:
    """Public names of ``module`` with their definition ident and signature."""
    prefix = module + "."
    found = {}
    for path, ident in snapshot.data["symbols"].items():
        name = path[len(prefix) :]
        if path.startswith(prefix) and "." not in name:
            found[name] = {"ident": ident, **snapshot.data["defs"][ident]}
    return found


def old_identifiers(snapshots: list[Snapshot]) -> list[str]:
    """Every loss and metric string some older Keras resolved (by name)."""
    names = set(_COMPILE_STRINGS)
    for snapshot in snapshots:
        for module in ("keras.losses", "keras.metrics"):
            for name, info in _names(snapshot, module).items():
                if info.get("kind") in ("function", "class"):
                    names.add(name)
    return sorted(names)


def _class_key(name: str, info: dict[str, Any]) -> dict[str, Any]:
    default = next((p[1] for p in info.get("params", []) if p[0] == "name" and len(p) > 1), None)
    if isinstance(default, str):
        return {"key": default, "numbered": False}
    return {"key": snake_case(name), "numbered": True}


def _is_metric_class(info: dict[str, Any]) -> bool:
    return info.get("kind") == "class" and info["ident"].split(".")[-1][:1].isupper()


def _string_keys(snapshot: Snapshot) -> dict[str, str]:
    """String -> logged key for the strings one old version resolves."""
    metrics = _names(snapshot, "keras.metrics")
    losses = _names(snapshot, "keras.losses")
    scheme = _SCHEMES.get(snapshot.version, "tf2")
    keys: dict[str, str] = {}
    for string in sorted(set(metrics) | set(losses) | set(_COMPILE_STRINGS)):
        info = metrics.get(string) or losses.get(string)
        if string in _COMPILE_STRINGS:
            acc = string in ("accuracy", "acc")
            keys[string] = ("acc" if acc else "ce") if scheme == "function_name" else string
        elif info is None or info.get("kind") not in ("function", "class"):
            continue
        elif scheme == "function_name":
            if info["kind"] == "function":
                keys[string] = info["ident"].rsplit(".", 1)[1]
        elif scheme == "tf2" and _is_metric_class(info) and string in metrics:
            keys[string] = _class_key(string, info)["key"]
        else:
            keys[string] = string
    return keys


def _monitors(snapshot_defs: dict[str, Any], symbols: dict[str, str]) -> dict[str, Any]:
    found = {}
    for path, ident in symbols.items():
        if not path.startswith("keras.callbacks.") or path.count(".") != 2:
            continue
        params = {p[0]: p[1] for p in snapshot_defs[ident].get("params", []) if len(p) > 1}
        if "monitor" in params:
            found[path] = {"monitor": params["monitor"], "mode": params.get("mode")}
    return found


def tables(snapshots: list[Snapshot], keras3: dict[str, Any], repl: dict[str, Any]) -> dict:
    """``strings``: per flavour, the strings whose key is not the string itself (every key a
    version of that flavour logs); ``classes``: metric classes' default keys; ``monitors``:
    callbacks that take ``monitor=`` with their defaults."""
    strings: dict[str, dict[str, set[str]]] = {"legacy": {}, "tf2": {}, "keras3": {}}
    classes: dict[str, dict[str, Any]] = {"legacy": {}, "tf2": {}, "keras3": {}}
    monitors: dict[str, dict[str, Any]] = {"legacy": {}, "tf2": {}, "keras3": {}}
    for snapshot in snapshots:
        for string, key in _string_keys(snapshot).items():
            strings[snapshot.flavour].setdefault(string, set()).add(key)
        for name, info in _names(snapshot, "keras.metrics").items():
            if _is_metric_class(info):
                classes[snapshot.flavour][f"keras.metrics.{name}"] = _class_key(name, info)
        defs, symbols = snapshot.data["defs"], snapshot.data["symbols"]
        monitors[snapshot.flavour] |= _monitors(defs, symbols)
    for string, key in keras3["metric_keys"]["strings"].items():
        strings["keras3"][string] = {key}
    classes["keras3"] = keras3["metric_keys"]["classes"]
    monitors["keras3"] = _monitors(keras3["defs"], keras3["symbols"])
    return {
        "strings": {
            flavour: {s: sorted(k) for s, k in sorted(table.items()) if k != {s}}
            for flavour, table in strings.items()
        },
        "classes": {f: dict(sorted(t.items())) for f, t in classes.items()},
        "monitors": {f: dict(sorted(t.items())) for f, t in monitors.items()},
    }


def identifier_rows(snapshots: list[Snapshot], keras3: dict[str, Any], repl: dict) -> dict:
    """Loss and metric strings older Keras resolved and Keras 3's compile() rejects."""
    rows: dict[str, Any] = {}
    for kind, module, resolvable in (
        ("loss", "keras.losses", set(keras3["losses_resolvable"])),
        ("metric", "keras.metrics", set(keras3["metrics_resolvable"])),
    ):
        present: dict[str, list[Snapshot]] = {}
        for snapshot in snapshots:
            names = _names(snapshot, module)
            if kind == "metric":
                names |= {s: _COMPILE_STRING for s in _COMPILE_STRINGS}
                names |= _names(snapshot, "keras.losses")
            for name, info in names.items():
                if _takes_targets(info) and name not in resolvable:
                    present.setdefault(name, []).append(snapshot)
        for name, versions in sorted(present.items()):
            key = f"{kind}:{name}"
            row: dict[str, Any] = {
                "since": "keras3" if any(s.flavour == "tf2" for s in versions) else "tf2"
            }
            hand = repl.get("identifiers", {}).get(key)
            if hand is not None:
                row |= hand
            else:
                target = _same_function(name, versions[-1], module, resolvable)
                if target is not None:
                    row |= {"use": f"'{target}'", "computed": True}
            rows[key] = row
    return rows


def _same_function(name: str, snapshot: Snapshot, module: str, resolvable: set[str]) -> str | None:
    """Another name of the same function that Keras 3 still resolves (``logcosh`` ->
    ``log_cosh``)."""
    names = _names(snapshot, module) | _names(snapshot, "keras.losses")
    ident = names.get(name, {}).get("ident")
    if ident is None:
        return None
    candidates = [n for n, info in names.items() if info["ident"] == ident and n in resolvable]
    base = ident.rsplit(".", 1)[1]
    if base in resolvable:
        return base
    return min(candidates, key=len) if candidates else None
