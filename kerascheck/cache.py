"""A result cache keyed on file content, the checker's own code, the rules and the options.

One JSON file per key (``<cache-dir>/v1/<key>.json``) maps each checked file to its size,
modification time, content hash and result. A file whose size and mtime are unchanged is a
hit without being read; otherwise it is read and hashed, and an unchanged hash is still a
hit (a ``touch``, a checkout). Size, mtime and hash are taken before the file is checked,
so a file saved mid-run is checked again next time. The key covers the kerascheck version
and the bytes of its own modules and rule modules (so an edited rule never serves stale
results), every option, and, per entry, the version pins the file's flavour may come from.

Concurrent runs are safe: the file is replaced atomically, after merging what another run
wrote meanwhile; a corrupt or foreign cache file is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from stat import S_ISREG
from typing import Any, NamedTuple

from kerascheck import __version__
from kerascheck import rules as builtin_rules
from kerascheck.engine import FileError, FileResult, Options
from kerascheck.ir import Edit, Finding, Fix, Span
from kerascheck.pins import flavour_for_file
from kerascheck.registry import all_rules

FORMAT = "v1"
KEEP_KEYS = 8


def default_directory() -> Path:
    """``$KERASCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/kerascheck`` (``~/.cache``)."""
    explicit = os.environ.get("KERASCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "kerascheck"


def _code_fingerprint() -> str:
    """Size and mtime of the modules results depend on: all of kerascheck (with its
    knowledge tables) and the module of every rule, built in or from a plugin."""
    # The built-in rules' folder is outside kerascheck/ in an editable install.
    roots = {Path(__file__).resolve().parent, *map(Path, builtin_rules.__path__)}
    files = {p for root in roots for p in root.rglob("*") if p.suffix in (".py", ".json")}
    files |= {Path(sys.modules[rule.__module__].__file__ or "").resolve() for rule in all_rules()}
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(files):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _keras_versions() -> str:
    """Under --dynamic the verdicts come from the installed Keras: it is part of the key
    (read from package metadata; nothing is imported)."""
    found = []
    for name in ("keras", "tensorflow", "tensorflow-cpu"):
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ",".join(found)


def cache_key(options: Options) -> str:
    digest = hashlib.sha256(_code_fingerprint().encode())
    if options.dynamic:
        digest.update(_keras_versions().encode())
    digest.update(repr(options).encode())
    digest.update(repr(sorted(r.code for r in all_rules())).encode())
    return digest.hexdigest()[:32]


class Fingerprint(NamedTuple):
    size: int
    mtime_ns: int
    digest: str
    pins: str


@dataclass
class ResultCache:
    """The cached results of one key; ``lookup`` before checking, ``store`` after."""

    path: Path
    options: Options
    entries: dict[str, list[Any]] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def open(cls, directory: Path, options: Options) -> ResultCache:
        path = directory / FORMAT / f"{cache_key(options)}.json"
        return cls(path, options, _read(path))

    def _pins(self, path: str) -> str:
        if self.options.target_keras is not None or not path.endswith(".py"):
            return ""
        return repr(flavour_for_file(path))

    def lookup(self, path: str) -> FileResult | None:
        entry = self.entries.get(os.path.abspath(path))
        if entry is None:
            return None
        size, mtime, digest, pins, result = entry
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if pins != self._pins(path):
            return None
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime):
            if stat.st_size != size or _digest(path) != digest:
                return None
            entry[1] = stat.st_mtime_ns  # same bytes, new mtime: refresh the fast path
            self.changed = True
        return _result_from_json(path, result)

    def fingerprint(self, path: str) -> Fingerprint | None:
        """The file as it is now, taken before it is checked: a file edited while it is
        being checked is then stored under its old bytes, and checked again next run.
        None for what cannot be cached (a FIFO or a device: reading may block)."""
        try:
            stat = os.stat(path)
            if not S_ISREG(stat.st_mode):
                return None
            digest = _digest(path)
        except OSError:
            return None
        return Fingerprint(stat.st_size, stat.st_mtime_ns, digest, self._pins(path))

    def store(self, path: str, fingerprint: Fingerprint | None, result: FileResult) -> None:
        if fingerprint is None:
            return
        if any(e.message.startswith("internal error") for e in result.errors):
            return  # a bug of ours is not a property of the file
        size, mtime, digest, pins = fingerprint
        entry = [size, mtime, digest, pins, _result_to_json(result)]
        self.entries[os.path.abspath(path)] = entry
        self.changed = True

    def save(self) -> None:
        """Merge with what other runs wrote meanwhile, then replace the file atomically."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            merged = {**_read(self.path), **self.entries}
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"format": FORMAT, "entries": merged}, stream)
            os.replace(temporary, self.path)
            _prune(self.path.parent)
        except OSError:
            pass  # a cache that cannot be written only costs time next run


def _prune(directory: Path) -> None:
    """Keep the most recently used keys only (each code or option change makes a new one)."""
    files = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in files[KEEP_KEYS:]:
        stale.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, list[Any]]:
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    entries = document.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, list) and len(v) == 5}


def _digest(path: str) -> str:
    with open(path, "rb") as stream:
        return hashlib.blake2b(stream.read(), digest_size=16).hexdigest()


def _span(data: dict[str, Any]) -> Span:
    return Span(**data)


def _finding(data: dict[str, Any]) -> Finding:
    fix = data.get("fix")
    return Finding(
        code=data["code"],
        rule=data["rule"],
        severity=data["severity"],
        message=data["message"],
        span=_span(data["span"]),
        fix=None
        if fix is None
        else Fix(
            fix["description"],
            tuple(Edit(_span(e["span"]), e["text"], e["mode"]) for e in fix["edits"]),
            fix["safe"],
        ),
        dynamic=data.get("dynamic"),
        evidence=data.get("evidence"),
    )


def _plain(finding: Finding) -> dict[str, Any]:
    data = asdict(finding)
    data["span"].pop("anchor", None)
    if data["fix"] is not None:
        for edit in data["fix"]["edits"]:
            edit["span"].pop("anchor", None)
            edit.pop("through", None)  # resolved into the span by the engine
    return data


def _result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "findings": [_plain(f) for f in result.findings],
        "suppressed": [_plain(f) for f in result.suppressed],
        "errors": [asdict(e) for e in result.errors],
        "checked": result.checked,
    }


def _result_from_json(path: str, data: dict[str, Any]) -> FileResult | None:
    try:
        return FileResult(
            path,
            findings=tuple(_finding(f) for f in data["findings"]),
            errors=tuple(FileError(**{**e, "path": path}) for e in data["errors"]),
            checked=data["checked"],
            suppressed=tuple(_finding(f) for f in data["suppressed"]),
        )
    except (KeyError, TypeError, ValueError):
        return None  # written by another version of the format: check the file again
