"""What the API-drift rules (KC201, KC202, KC203) share: how a use spells Keras, the
wording of "removed since", severities, and the evidence helpers."""

from __future__ import annotations

from kerascheck.ir import ApiUse, Arg, Flavour, Known, ModuleSpec, Severity
from kerascheck.knowledge import Removed, Spelling, spelling_of

# Calls and imports that register custom objects by name (Keras 2 resolved activation and
# loss strings through them; Keras 3 does not: docs/knowledge.md).
_REGISTRATIONS = frozenset(
    {
        "get_custom_objects",
        "custom_object_scope",
        "CustomObjectScope",
        "register_keras_serializable",
    }
)


def spelled(use: ApiUse) -> tuple[Spelling, str] | None:
    """(spelling, ``keras.*`` path) of a call, import or module use."""
    return spelling_of(use.written)


def flavour_for(flavour: Flavour, spelling: Spelling) -> Flavour:
    """``tf_keras.*`` is Keras 2 whatever the target."""
    return "tf2" if spelling == "tf_keras" else flavour


def severity(flavour: Flavour, soft: bool = False) -> Severity:
    """Standalone Keras 1/2 code only warns about what later Keras rejects; so does API that
    Keras 3 accepts and ignores (``soft``)."""
    return "warning" if flavour == "legacy" or soft else "error"


def since(row: Removed) -> str:
    """When it went, as far as the tables know (tf.keras 2 is 2.15 and tf_keras 2.21)."""
    if row.since == "tf2":
        return "not in Keras 3, nor in tf.keras 2.15 / tf_keras 2.21 (older Keras had it)"
    return "gone from Keras 3 (tf.keras 2.15 / tf_keras 2.21 still have it)"


def tf_keras_hint(row: Removed, spelling: Spelling) -> str:
    if row.tf_keras and spelling == "keras":
        return "; the `tensorflow.keras` spelling still provides it under TensorFlow 2.16+"
    return ""


def value_kind(arg: Arg) -> str | None:
    """The kind of a literal argument, as api_drift.json types parameters."""
    if not isinstance(arg.value, Known):
        return None
    value = arg.value.value
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (tuple, list)):
        return "sequence"
    return None


def registers_custom_objects(module: ModuleSpec) -> bool:
    """Whether the module registers objects by name (``get_custom_objects().update(...)``)."""
    return any(
        use.qualname.rpartition(".")[2] in _REGISTRATIONS
        for use in module.api_uses
        if use.kind in ("call", "import")
    )
