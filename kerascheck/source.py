"""Reading source files: bytes to text the way Python itself decodes them."""

from __future__ import annotations

import io
import os
import re
import tokenize

# Far beyond any real source (libcst parses about 200 KB a second); a bound, so that a
# device such as /dev/zero named on the command line cannot fill memory.
MAX_SOURCE_BYTES = 64 * 1024 * 1024


# Python ends a line at \n, \r\n or \r only (str.splitlines also splits at \f, \v,
# \x1c-\x1e, \x85, \u2028 and \u2029, which may sit in a line or inside a string).
NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """``text``'s lines as Python counts them (like str.splitlines otherwise: no final
    empty line for a trailing newline)."""
    lines = NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


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
    # The "utf-8-sig" codec has taken the BOM off; a second one is part of the text (and a
    # syntax error, as Python says): stripping it too made --fix write back one BOM only.
    return text


def read_bytes(path: str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """A file's bytes, refusing more than ``limit``. Opened without blocking, so a FIFO
    that no one writes to reads as empty instead of hanging the run."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            if nonblocking:
                os.set_blocking(fd, True)  # a writer that is there is waited for
            data = handle.read(limit + 1)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SourceError(f"too large to check (more than {limit:,} bytes)")
    return data


def read_source(path: str) -> str:
    return decode(read_bytes(path))
