"""Saved Keras models (.keras archives, model JSON, .h5 files) as the IR the rules read.

A saved config has no source text: findings point into the config with ``Span.pointer``
(``layers[3] dense_2``, ``compile_config.loss``), and inline suppressions and fixes do not
apply. See docs/saved-models.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from kerascheck.extract.saved_compile import build_compile
from kerascheck.extract.saved_graph import build_model
from kerascheck.extract.saved_h5 import read_h5
from kerascheck.extract.saved_read import (
    SAVED_SUFFIXES,
    SavedConfig,
    SavedModelError,
    read_keras_archive,
    read_model_json,
)
from kerascheck.ir import Finding, Flavour, ModuleSpec
from kerascheck.knowledge import load

__all__ = ["SAVED_SUFFIXES", "SavedModelError", "extract_saved", "flavour_of_version", "ordered"]

_VERSION = re.compile(r"(\d+)\.(\d+)")


def flavour_of_version(version: str) -> Flavour | None:
    """``3.x`` is Keras 3; ``2.4+`` and tf.keras's ``2.2.4-tf`` are tf.keras 2; standalone
    Keras up to 2.3 is legacy."""
    match = _VERSION.match(version)
    if match is None:
        return None
    major, minor = int(match[1]), int(match[2])
    if major >= 3:
        return "keras3"
    if version.endswith("-tf") or (major == 2 and minor >= 4):
        return "tf2"
    return "legacy"


def _flavour(saved: SavedConfig) -> tuple[Flavour | None, str]:
    if saved.keras_version is not None:
        flavour = flavour_of_version(saved.keras_version)
        if flavour is not None:
            return flavour, f"saved by Keras {saved.keras_version} ({saved.version_source})"
    if "module" in saved.model:
        return "keras3", "Keras 3 serialization (module / registered_name keys)"
    return None, "the saved config records no Keras version"


def extract_saved(path: str) -> ModuleSpec:
    """The models of a saved file; raises SavedModelError when the file cannot be read.
    JSON that is not a Keras model config and .h5 files without one (weights only) have
    no models."""
    if path.endswith(".keras"):
        saved: SavedConfig | None = read_keras_archive(path)
    elif path.endswith((".h5", ".hdf5")):
        saved = read_h5(path)
    else:
        saved = read_model_json(path)
    if saved is None:
        return ModuleSpec(path, (), (), None, "not a saved Keras model")
    k = load()
    compile_spec = None
    if saved.training:
        literal = saved.training_key == "compile_config"
        compile_spec = build_compile(saved.training, saved.training_key, literal, k)
    model = build_model(saved.model, compile_spec, k)
    flavour, reason = _flavour(saved)
    return ModuleSpec(path, (model,) if model is not None else (), (), flavour, reason)


def _config_order(finding: Finding) -> tuple[bool, list[str | int], str]:
    """Layers first, as the config lists them (``layers[10]`` after ``layers[9]``), then the
    compile configuration."""
    pointer = finding.span.pointer or ""
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", pointer)]
    return (not pointer.startswith("layers"), natural, finding.code)


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Each finding once, in config order, without fixes (there is no source to edit)."""
    unique: dict[tuple[str, str | None, str], Finding] = {}
    for finding in findings:
        key = (finding.code, finding.span.pointer, finding.message)
        unique.setdefault(key, replace(finding, fix=None))
    return tuple(sorted(unique.values(), key=_config_order))
