"""Reading source files: bytes to text the way Python itself decodes them."""

from __future__ import annotations

import io
import tokenize


class SourceError(Exception):
    """A file that cannot be read or decoded; the message names the problem."""


def decode(data: bytes) -> str:
    """Decode Python source honouring a UTF-8 BOM or a coding cookie (PEP 263)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot decode: {exc}") from exc
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from exc
    return text.removeprefix("\ufeff")


def read_source(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    return decode(data)
