"""Keras flavour from the version pins of the project a file belongs to.

Looks for requirements*.txt, pyproject.toml and setup.cfg in the file's directory and its
parents (stopping at a VCS root), and reads pins of keras, tensorflow and tf-keras:
``keras<2.4`` means standalone Keras (``legacy``), ``tf-keras`` or ``tensorflow<2.16`` means
tf.keras 2.x (``tf2``), ``keras>=3`` or ``tensorflow>=2.16`` means Keras 3.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from kerascheck.ir import Flavour

_PIN_FILES = ("pyproject.toml", "setup.cfg")
_REQUIREMENT = re.compile(
    r"""(?ix)
    ["']?\s*(?P<name>keras|tensorflow(?:-cpu|-gpu)?|tf[-_]keras)\s*
    (?:\[[^\]]*\])?\s*
    (?P<op>==|~=|>=|<=|<|>)\s*(?P<version>\d+(?:\.\d+)*)
    """
)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def flavour_from_text(text: str) -> tuple[Flavour, str] | None:
    """The flavour that the pins in a requirements/pyproject text imply, with the pin."""
    found: dict[str, tuple[str, tuple[int, ...], str]] = {}
    for match in _REQUIREMENT.finditer(text):
        name = match["name"].lower().replace("_", "-")
        name = "tensorflow" if name.startswith("tensorflow") else name
        found.setdefault(name, (match["op"], _version(match["version"]), match.group(0).strip()))
    keras = found.get("keras")
    if keras is not None:
        op, version, pin = keras
        below = (op in ("==", "~=", "<=") and version < (2, 4)) or (op == "<" and version <= (2, 4))
        if below:
            return "legacy", f"pinned `{pin}`"
        if version >= (3,) and op in ("==", "~=", ">="):
            return "keras3", f"pinned `{pin}`"
    if "tf-keras" in found:
        return "tf2", f"pinned `{found['tf-keras'][2]}`"
    tensorflow = found.get("tensorflow")
    if tensorflow is not None:
        op, version, pin = tensorflow
        if (op in ("==", "~=", "<=") and version < (2, 16)) or (op == "<" and version <= (2, 16)):
            return "tf2", f"pinned `{pin}`"
        if op in ("==", "~=", ">=") and version >= (2, 16):
            return "keras3", f"pinned `{pin}` (TensorFlow 2.16+ ships Keras 3)"
    return None


def _pin_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("requirements*.txt"))
    files += [directory / name for name in _PIN_FILES if (directory / name).is_file()]
    return files


@cache
def flavour_for_directory(directory: Path) -> tuple[Flavour, str] | None:
    """The flavour pinned by the nearest project files above ``directory``, if any."""
    for pin_file in _pin_files(directory):
        try:
            text = pin_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = flavour_from_text(text)
        if found is not None:
            return found[0], f"{found[1]} in {pin_file}"
    is_root = any((directory / vcs).exists() for vcs in (".git", ".hg"))
    if is_root or directory.parent == directory:
        return None
    return flavour_for_directory(directory.parent)


def flavour_for_file(path: str) -> tuple[Flavour, str] | None:
    return flavour_for_directory(Path(path).resolve().parent)
