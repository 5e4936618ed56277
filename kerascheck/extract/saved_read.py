"""Reading saved Keras model configs from .keras archives and model JSON (.h5: saved_h5).

Only JSON is ever parsed: nothing is deserialized through Keras, no custom object is looked
up, no pickle is read. Reads are bounded by ``MAX_CONFIG_BYTES`` and archive members are
opened by their fixed names only, never extracted. ``zipfile`` is imported when a file
needs it, so discovery and Python-only runs do not pay for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

SAVED_SUFFIXES: tuple[str, ...] = (".keras", ".h5", ".hdf5", ".json")
MAX_CONFIG_BYTES = 64 * 1024 * 1024
SNIFF_BYTES = 1024

_CONFIG = "config.json"
_METADATA = "metadata.json"


class SavedModelError(Exception):
    """A saved model file that cannot be read; the message says why."""


@dataclass(frozen=True)
class SavedConfig:
    """What a saved model file says about the model, as parsed JSON.

    ``training`` is the compile configuration (``compile_config`` of Keras 3, the
    ``training_config`` of .h5 files) and ``training_key`` its name, the root of the
    pointers into it. ``version_source`` says where ``keras_version`` was read.
    """

    model: dict[str, Any]
    training: dict[str, Any] | None
    training_key: str
    keras_version: str | None
    version_source: str


def _sniff(head: bytes) -> bool:
    return b'"class_name"' in head and (b'"config"' in head or b'"keras_version"' in head)


def looks_like_model_json(path: str | os.PathLike[str]) -> bool:
    """Cheap test for directory walks: the first KB names a Keras class and its config."""
    try:
        with open(path, "rb") as handle:
            return _sniff(handle.read(SNIFF_BYTES))
    except OSError:
        return False


def too_big(what: str, size: int) -> SavedModelError:
    return SavedModelError(
        f"{what} is {size:,} bytes uncompressed, more than the {MAX_CONFIG_BYTES:,}-byte "
        "limit for a model config; refusing to read it"
    )


def parse_json(data: bytes | str, what: str) -> Any:
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise SavedModelError(f"{what} is not UTF-8 text: {exc}") from exc
    except ValueError as exc:
        raise SavedModelError(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise SavedModelError(f"{what} is nested too deeply to read") from exc


def is_model_config(value: object) -> bool:
    return (
        isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


# ----------------------------------------------------------------------------- JSON files
def _from_document(doc: object) -> SavedConfig | None:
    """``model.to_json()`` output (Keras 1 to 3), or a TensorFlow.js ``model.json``."""
    if not isinstance(doc, dict):
        return None
    topology = doc.get("modelTopology")
    if isinstance(topology, dict):
        model, training = topology.get("model_config"), topology.get("training_config")
        key, version = "training_config", topology.get("keras_version")
    else:
        model, training = doc, doc.get("compile_config")
        key, version = "compile_config", doc.get("keras_version")
    if not is_model_config(model):
        return None
    return SavedConfig(model, as_dict(training), key, _text(version), "keras_version")


def read_model_json(path: str) -> SavedConfig | None:
    """The model config of a JSON file; None when the file is not a Keras model config."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            if not _sniff(head):
                return None
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_CONFIG_BYTES:
                raise too_big("the file", size)
            data = head + handle.read(MAX_CONFIG_BYTES + 1 - len(head))
    except OSError as exc:
        raise SavedModelError(f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_CONFIG_BYTES:  # grew while being read
        raise too_big("the file", len(data))
    return _from_document(parse_json(data, "the file"))


# ----------------------------------------------------------------------------- .keras
def _unsafe_member_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def _member(archive: Any, name: str) -> bytes | None:
    """One archive member read into memory, refused before reading when it declares more
    than the limit, and cut off at the limit whatever its header says."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_CONFIG_BYTES:
        raise too_big(name, info.file_size)
    with archive.open(info) as member:
        data = member.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise too_big(name, len(data))
    return data


def read_keras_archive(path: str) -> SavedConfig:
    """config.json (with its compile_config) and metadata.json of a Keras 3 zip archive."""
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if _unsafe_member_name(name):
                    raise SavedModelError(
                        f"archive member {name!r} has an unsafe path (Keras never writes one); "
                        "refusing to read the archive"
                    )
            config = _member(archive, _CONFIG)
            metadata = _member(archive, _METADATA)
    except OSError as exc:
        raise SavedModelError(f"cannot read: {exc.strerror or exc}") from exc
    except (
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        raise SavedModelError(f"not a valid .keras archive (zip): {exc}") from exc
    if config is None:
        raise SavedModelError(f"not a Keras model archive: it has no {_CONFIG}")
    model = parse_json(config, _CONFIG)
    if not is_model_config(model):
        raise SavedModelError(f"{_CONFIG} is not a Keras object config (class_name, config)")
    version = None
    if metadata is not None:
        meta = parse_json(metadata, _METADATA)
        version = _text(meta.get("keras_version")) if isinstance(meta, dict) else None
    return SavedConfig(
        model, as_dict(model.get("compile_config")), "compile_config", version, _METADATA
    )
