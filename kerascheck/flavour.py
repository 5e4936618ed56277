"""Which Keras a module is written for: ``legacy`` (Keras <= 2.3), ``tf2`` or ``keras3``.

The configured ``target-keras`` wins; then what the module's own imports prove (a
``keras.layers.core`` import is Keras 1/2 whatever the project pins); then the version pins
of the project the file is in; and ``keras3`` is the default (what ``pip install keras``
gives today).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kerascheck.ir import Flavour

FLAVOURS: tuple[Flavour, ...] = ("legacy", "tf2", "keras3")
DEFAULT_FLAVOUR: Flavour = "keras3"

# Spellings that only exist in standalone Keras 1 / 2.x.
_LEGACY_MODULES = (
    "keras.layers.core",
    "keras.layers.convolutional",
    "keras.layers.recurrent",
    "keras.layers.advanced_activations",
    "keras.layers.normalization",
    "keras.layers.embeddings",
    "keras.layers.pooling",
    "keras.layers.merge",
    "keras.layers.wrappers",
    "keras.layers.noise",
    "keras.utils.np_utils",
    "keras.engine",
    "keras.legacy",
)


@dataclass
class FlavourMarkers:
    """Evidence collected while a module is extracted."""

    legacy: list[str] = field(default_factory=list)
    tf_keras: list[str] = field(default_factory=list)

    def saw_import(self, raw: str) -> None:
        if raw.startswith(_LEGACY_MODULES) or raw == "keras.utils.np_utils":
            self.legacy.append(raw)
        elif raw == "tf_keras" or raw.startswith("tf_keras."):
            self.tf_keras.append(raw)

    def saw_call(self, raw: str) -> None:
        if raw.startswith(_LEGACY_MODULES):
            self.legacy.append(raw)

    def infer(self) -> tuple[Flavour | None, str]:
        """The flavour the module's own imports prove, or None when they prove nothing."""
        if self.legacy:
            return "legacy", f"uses `{self.legacy[0]}`, which only standalone Keras <= 2.3 has"
        if self.tf_keras:
            return "tf2", f"imports `{self.tf_keras[0]}`"
        return None, "no version-specific imports"
