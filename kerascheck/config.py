"""Configuration files: ``[tool.kerascheck]`` in pyproject.toml, or a kerascheck.toml.

Found by walking up from the first checked path; ``--config`` names one, ``--isolated``
ignores them. Every key is validated: an unknown key or a bad value is a ``ConfigError``
naming the file and the key. Command-line flags override the file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerascheck.flavour import FLAVOURS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FORMATS = ("text", "concise", "json", "github", "sarif")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    target_keras: str | None = None
    output_format: str | None = None


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings")
    return tuple(value)


def _codes(path: Path, key: str, value: Any, known: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(code.upper() for code in _strings(path, key, value))
    known = tuple(known)
    for code in codes:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise ConfigError(f"{path}: `{key}` has an unknown rule code or prefix: {code}")
    return codes


def _choice(choices: tuple[str, ...]) -> Callable[[Path, str, Any], str]:
    def check(path: Path, key: str, value: Any) -> str:
        if value not in choices:
            raise ConfigError(f"{path}: `{key}` must be one of {', '.join(choices)}, not {value!r}")
        return value

    return check


def parse(path: Path, table: dict[str, Any], known_codes: Iterable[str]) -> Config:
    """Validate one ``[tool.kerascheck]`` table."""
    known = tuple(known_codes)
    values: dict[str, Any] = {"path": path}
    for key, value in table.items():
        if key in ("select", "ignore"):
            values[key] = _codes(path, key, value, known)
        elif key in ("exclude", "extend-exclude"):
            values[key.replace("-", "_")] = _strings(path, key, value)
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: `per-file-ignores` must be a table of glob = [codes]")
            values["per_file_ignores"] = tuple(
                (glob, _codes(path, f"per-file-ignores.{glob}", codes, known))
                for glob, codes in value.items()
            )
        elif key == "target-keras":
            values["target_keras"] = _choice(tuple(FLAVOURS))(path, key, value)
        elif key == "output-format":
            values["output_format"] = _choice(FORMATS)(path, key, value)
        else:
            raise ConfigError(f"{path}: unknown key `{key}` in the kerascheck configuration")
    return Config(**values)


def _document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (TOML files must be): {exc.reason}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def load_file(path: Path, known_codes: Iterable[str]) -> Config:
    document = _document(path)
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        table = tool.get("kerascheck", {}) if isinstance(tool, dict) else {}
    else:
        table = document
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.kerascheck] must be a table, not {table!r}")
    return parse(path, table, known_codes)


def find(start: Path) -> Path | None:
    """The nearest kerascheck.toml, or pyproject.toml with a ``tool.kerascheck`` key.

    A pyproject.toml that mentions kerascheck is read as TOML, so every spelling of the
    table counts (``[tool]`` + ``kerascheck.select = ...`` too), and one that cannot be read
    is an error naming it rather than a configuration silently ignored."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        standalone = candidate / "kerascheck.toml"
        if standalone.is_file():
            return standalone
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _configures_kerascheck(pyproject):
            return pyproject
    return None


def _configures_kerascheck(pyproject: Path) -> bool:
    try:
        if b"kerascheck" not in pyproject.read_bytes():
            return False  # the common case, without parsing
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from exc
    tool = _document(pyproject).get("tool")
    return isinstance(tool, dict) and "kerascheck" in tool
