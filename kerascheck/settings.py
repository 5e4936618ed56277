"""The options in force for a check: the configuration file, then command-line overrides.

Shared by ``kerascheck check`` and the language server, so an editor reports what the CLI
reports for the same file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from kerascheck.config import Config, find, load_file
from kerascheck.discover import DEFAULT_EXCLUDES

if TYPE_CHECKING:
    from kerascheck.engine import Options
    from kerascheck.ir import Flavour


def load_config(
    start: Path, known_codes: Iterable[str], config: Path | None = None, isolated: bool = False
) -> Config:
    """``config`` if given, else the file nearest to ``start``; none with ``isolated``.

    Raises ``ConfigError`` for a file that cannot be used.
    """
    if isolated:
        return Config()
    if config is not None:
        return load_file(config, known_codes)
    found = find(start)
    return load_file(found, known_codes) if found is not None else Config()


def options_for(
    config: Config,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    target_keras: Flavour | None = None,
    exclude: Iterable[str] = (),
) -> Options:
    """Engine options from ``config``; given overrides win (an empty ``select`` is none)."""
    from kerascheck.engine import Options

    base_exclude = config.exclude if config.exclude is not None else DEFAULT_EXCLUDES
    return Options(
        select=tuple(select) if select else config.select,
        ignore=tuple(ignore) if ignore else config.ignore,
        target_keras=target_keras or config.target_keras,  # type: ignore[arg-type]
        exclude=base_exclude + config.extend_exclude + tuple(exclude),
        per_file_ignores=config.per_file_ignores,
        root=str(config.path.parent) if config.path is not None else ".",
    )
