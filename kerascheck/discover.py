"""Finding the files to check: recursive discovery with ruff-like default excludes."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from kerascheck.extract.saved_read import SAVED_SUFFIXES, looks_like_model_json

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "build",
    "dist",
    "site-packages",
    "node_modules",
    "__pypackages__",
)

SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".ipynb", *SAVED_SUFFIXES)


def is_excluded(path: Path, patterns: Iterable[str]) -> bool:
    """True when the path or any of its components matches an exclude pattern."""
    text = path.as_posix()
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern):
            return True
        if "/" in pattern and fnmatch.fnmatch(text, f"*/{pattern}"):
            return True
    return False


def discover(
    paths: Iterable[str], excludes: Iterable[str], suffixes: tuple[str, ...] = SOURCE_SUFFIXES
) -> Iterator[str]:
    """Files under ``paths`` in a stable order. Files named explicitly are always yielded
    (the engine reports them if they cannot be read); directories are walked."""
    patterns = tuple(excludes)
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            key = os.path.normpath(given)
            if key not in seen:
                seen.add(key)
                yield given
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            base = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not is_excluded(base / d, patterns))
            for filename in sorted(filenames):
                candidate = base / filename
                if not filename.endswith(suffixes) or is_excluded(candidate, patterns):
                    continue
                if not candidate.is_file():
                    continue
                # Only JSON whose first KB looks like a Keras model config (model.to_json()).
                if filename.endswith(".json") and not looks_like_model_json(candidate):
                    continue
                key = os.path.normpath(candidate)
                if key not in seen:
                    seen.add(key)
                    yield str(candidate)
