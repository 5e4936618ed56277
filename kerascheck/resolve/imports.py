"""The import table: what each imported name means, as a canonical dotted Keras name.

Built by walking a module's import statements once, in order (no libcst metadata
providers: they cost several times the parse). Every spelling of Keras is folded into one
namespace: ``tensorflow.keras``, ``tf_keras``, ``keras.src`` and friends become ``keras``,
and legacy submodules collapse (``keras.layers.core.Dense`` -> ``keras.layers.Dense``).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from kerascheck.knowledge import Knowledge


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def canonical(qualname: str, knowledge: Knowledge) -> str:
    """Fold every spelling of a Keras name into the ``keras.<family>.<Name>`` namespace."""
    for prefix, replacement in knowledge.namespace_prefixes:
        if qualname == prefix or qualname.startswith(prefix + "."):
            qualname = replacement + qualname[len(prefix) :]
            break
    parts = qualname.split(".")
    if len(parts) > 3 and parts[0] == "keras" and parts[1] in knowledge.families:
        return f"keras.{parts[1]}.{parts[-1]}"
    return qualname


def is_keras(qualname: str) -> bool:
    return qualname == "keras" or qualname.startswith("keras.")


@dataclass(frozen=True)
class ImportBinding:
    """One local name bound by an import: ``raw`` as written, ``qualname`` canonical."""

    local: str
    raw: str
    qualname: str
    node: cst.CSTNode


def _module_name(node: cst.BaseExpression | None) -> str | None:
    return dotted_name(node) if node is not None else None


def bindings_of(
    statement: cst.Import | cst.ImportFrom, knowledge: Knowledge
) -> tuple[list[ImportBinding], str | None]:
    """The names an import statement binds, and the module of a star import (if any)."""
    found: list[ImportBinding] = []
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local, raw = alias.asname.name.value, full
            else:
                # ``import keras.layers`` binds ``keras`` to the top-level package.
                local = raw = full.split(".")[0]
            found.append(ImportBinding(local, raw, canonical(raw, knowledge), alias))
        return found, None
    if statement.relative:
        return found, None
    module = _module_name(statement.module)
    if module is None:
        return found, None
    if isinstance(statement.names, cst.ImportStar):
        return found, canonical(module, knowledge)
    for alias in statement.names:
        name = dotted_name(alias.name)
        if name is None:
            continue
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        raw = f"{module}.{name}"
        found.append(ImportBinding(local, raw, canonical(raw, knowledge), alias))
    return found, None
