"""The floor: read and parse every listed file with bare libcst, in one process.

Usage: ``python benchmarks/floor.py LIST`` where LIST holds one path per line (relative to
the working directory). Each file is read as bytes, decoded the way Python decodes source
(BOM / PEP 263 cookie, like kerascheck), and given to ``libcst.parse_module``. Nothing else:
no prefilter, no visitor, no metadata. Prints one JSON object on stdout::

    {"files": 4098, "parse_errors": 0, "bytes": 36904488, "lines": 1012345, "seconds": 39.7}

``seconds`` is the in-process loop time; the harness (benchmarks/run.py) times the whole
process from the outside, interpreter start-up and ``import libcst`` included, so that the
floor and kerascheck (also a new process) are measured the same way.
"""

from __future__ import annotations

import io
import json
import sys
import time
import tokenize
from pathlib import Path

import libcst


def decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding).removeprefix("\ufeff")


def parse_one(path: str) -> tuple[int, int, bool]:
    """(bytes, lines, parsed) for one file; a file libcst rejects still counts as read."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return len(data), data.count(b"\n"), False
    try:
        libcst.parse_module(text)
    except (libcst.ParserSyntaxError, RecursionError):
        return len(data), text.count("\n"), False
    return len(data), text.count("\n"), True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: floor.py LIST\n")
        return 2
    paths = Path(argv[1]).read_text(encoding="utf-8").splitlines()
    total_bytes = total_lines = errors = 0
    start = time.perf_counter()
    for path in paths:
        size, lines, parsed = parse_one(path)
        total_bytes += size
        total_lines += lines
        errors += not parsed
    seconds = time.perf_counter() - start
    result = {
        "files": len(paths),
        "parse_errors": errors,
        "bytes": total_bytes,
        "lines": total_lines,
        "seconds": seconds,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
