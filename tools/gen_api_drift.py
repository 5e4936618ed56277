"""Generate kerascheck/knowledge/api_drift.json: what Keras 3 removed or changed, by diffing
the public API of older Keras packages from PyPI against the installed Keras 3.

    python tools/gen_api_drift.py            # download (cached), extract, diff, write
    python tools/gen_api_drift.py --offline  # old side from the committed snapshots
    python tools/gen_api_drift.py --check    # exit 1 if anything committed is out of date

The old packages are fetched with ``pip download --no-deps`` into .cache/keras-api (ignored),
checked against the sha256 recorded below, unpacked there and read with ``ast``: old Keras is
never imported. Their extraction is committed as tools/keras_api/snapshots/<package>-<version>
.json, so the tables can be rebuilt and checked offline (CI has no network). The Keras 3 side
is extracted from the installed package by import and ``inspect`` (snapshot
keras-<version>.json). Replacements are hand-written in tools/keras_api/replacements.json,
keyed by the generated rows. Measured facts the tables rest on are in docs/knowledge.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from keras_api import diff, metric_keys, static  # noqa: E402

CACHE = ROOT / ".cache" / "keras-api"
SNAPSHOTS = HERE / "keras_api" / "snapshots"
REPLACEMENTS = HERE / "keras_api" / "replacements.json"
TARGET = ROOT / "kerascheck" / "knowledge" / "api_drift.json"


@dataclass(frozen=True)
class Source:
    """One old package: what pip downloads, its digest, where its code is inside."""

    package: str
    version: str
    flavour: str
    filename: str
    sha256: str
    top: str = "keras"

    @property
    def snapshot(self) -> Path:
        return SNAPSHOTS / f"{self.package}-{self.version}.json"

    @property
    def archive(self) -> Path:
        return CACHE / self.filename

    @property
    def unpacked(self) -> Path:
        return CACHE / "src" / f"{self.package}-{self.version}"


SOURCES = (
    # Keras 1 has no wheel: pip prepares the sdist's metadata (runs its setup.py egg_info).
    Source(
        "keras",
        "1.2.2",
        "legacy",
        "Keras-1.2.2.tar.gz",
        "d2b18c4336eb9c4f0d03469870257efa7980a9b036c9d46dcf4d49e7f4487e2d",
    ),
    Source(
        "keras",
        "2.2.4",
        "legacy",
        "Keras-2.2.4-py2.py3-none-any.whl",
        "794d0c92c6c4122f1f0fcf3a7bc2f49054c6a54ddbef8d8ffafca62795d760b6",
    ),
    Source(
        "keras",
        "2.3.1",
        "legacy",
        "Keras-2.3.1-py2.py3-none-any.whl",
        "d08a57bd63546175f8f19232ba05906514d419da3e0af8ef7437fa1c11442e20",
    ),
    Source(
        "keras",
        "2.15.0",
        "tf2",
        "keras-2.15.0-py3-none-any.whl",
        "2dcc6d2e30cf9c951064b63c1f4c404b966c59caf09e01f3549138ec8ee0dd1f",
    ),
    Source(
        "tf-keras",
        "2.21.0",
        "tf2",
        "tf_keras-2.21.0-py3-none-any.whl",
        "f858bf3d97f892304e7fbcf5eb0942ed91674e27204f940a85de8c93cf07fe62",
        top="tf_keras",
    ),
)


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def render_snapshot(data: dict[str, Any]) -> str:
    """One line per entry of each table: compact (the tables load on every run), and a diff
    of two versions reads entry by entry."""
    lines = ["{"]
    items = sorted(data.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if isinstance(value, dict) and value:
            lines.append(f" {json.dumps(key)}: {{")
            entries = sorted(value.items())
            for i, (k, v) in enumerate(entries):
                tail = "," if i < len(entries) - 1 else ""
                lines.append(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}{tail}")
            lines.append(f" }}{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(source: Source) -> None:
    if not source.archive.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        binary = ["--no-binary", ":all:"] if source.filename.endswith(".tar.gz") else []
        requirement = f"{source.package}=={source.version}"
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        subprocess.run([*pip, *binary, "-d", str(CACHE), requirement], check=True)
    if _digest(source.archive) != source.sha256:
        raise SystemExit(f"{source.archive}: sha256 differs from the one recorded in {__file__}")


def unpack(source: Source) -> Path:
    """The directory holding ``source.top`` (unpacked once into the cache)."""
    target = source.unpacked
    if not target.is_dir():
        if source.filename.endswith(".tar.gz"):
            with tarfile.open(source.archive) as archive:
                archive.extractall(target, filter="data")
        else:
            with zipfile.ZipFile(source.archive) as archive:
                archive.extractall(target)
    inner = [p for p in (target, *target.iterdir()) if (p / source.top / "__init__.py").is_file()]
    return inner[0]


def extract_old(source: Source) -> dict[str, Any]:
    data = static.extract(unpack(source), source.top)
    head = {"package": source.package, "version": source.version, "flavour": source.flavour}
    return head | {"sha256": source.sha256} | data


def cached(source: Source) -> bool:
    return source.archive.is_file() and _digest(source.archive) == source.sha256


def extract_keras3(old: list[dict[str, Any]]) -> dict[str, Any]:
    from keras_api import installed

    return installed.extract(metric_keys.old_identifiers(_snapshots(old)))


def _snapshots(old: list[dict[str, Any]]) -> list[diff.Snapshot]:
    return [diff.Snapshot(s["version"], s["flavour"], s) for s in old]


def keras3_snapshot_path(version: str) -> Path:
    return SNAPSHOTS / f"keras-{version}.json"


def committed_keras3() -> dict[str, Any]:
    found = sorted(SNAPSHOTS.glob("keras-3.*.json"))
    if len(found) != 1:
        raise SystemExit(f"expected one Keras 3 snapshot in {SNAPSHOTS}, found {len(found)}")
    return json.loads(found[0].read_text())


def build(old: list[dict[str, Any]], keras3: dict[str, Any]) -> dict[str, Any]:
    """The api_drift.json content from the snapshots and the replacement map."""
    replacements = json.loads(REPLACEMENTS.read_text())
    snapshots = _snapshots(old)
    tables = diff.Differ(snapshots, keras3, replacements).tables()
    tables["identifiers"] = metric_keys.identifier_rows(snapshots, keras3, replacements)
    tables["metric_keys"] = metric_keys.tables(snapshots, keras3, replacements)
    counts = {name: _count(table) for name, table in tables.items()}
    texts = _intern_argument_texts(tables["arguments"])
    stubs = {p for p, i in keras3["symbols"].items() if keras3["defs"][i].get("kind") == "stub"}
    return {
        # Every public path of Keras 3 (modules and names): a fix that moves an import
        # checks the name exists where it sends it.
        "keras3_paths": sorted(set(keras3["modules"]) | (set(keras3["symbols"]) - stubs)),
        "_comment": "Generated by tools/gen_api_drift.py; do not edit (see docs/knowledge.md).",
        "keras3_version": keras3["version"],
        "sources": [
            {"package": s["package"], "version": s["version"], "flavour": s["flavour"]} for s in old
        ],
        "counts": counts,
        **tables,
        "texts": texts,
    }


def _intern_argument_texts(arguments: dict[str, Any]) -> list[str]:
    """The same advice repeats over hundreds of layers: argument rows refer to it by its
    index in ``texts`` (the file loads on every run)."""
    texts: list[str] = []
    index: dict[str, int] = {}
    for table in arguments.values():
        for row in table.values():
            for key in ("use", "why", "warns", "tf2"):
                if key in row:
                    text = row[key]
                    if text not in index:
                        index[text] = len(texts)
                        texts.append(text)
                    row[key] = index[text]
    return texts


def _count(table: dict[str, Any]) -> int:
    """Rows of a table: nested tables (arguments per callable, keys per flavour) count their
    rows."""
    if all(isinstance(v, dict) and "since" not in v and "old" not in v for v in table.values()):
        return sum(_count(v) for v in table.values())
    return len(table)


def load_old(offline: bool) -> list[dict[str, Any]]:
    result = []
    for source in SOURCES:
        if offline:
            result.append(json.loads(source.snapshot.read_text()))
        else:
            download(source)
            result.append(extract_old(source))
    return result


def check() -> int:
    """Compare everything that can be regenerated here with what is committed."""
    problems: list[str] = []
    for source in SOURCES:
        if not cached(source):
            print(f"skip: {source.filename} is not in {CACHE} (needs the network)")
            continue
        if render_snapshot(extract_old(source)) != source.snapshot.read_text():
            problems.append(f"{source.snapshot} differs from {source.filename}")
    keras3 = committed_keras3()
    old = [json.loads(s.snapshot.read_text()) for s in SOURCES]
    try:
        fresh = extract_keras3(old)
    except ImportError:
        print("skip: Keras is not installed")
    else:
        if fresh["version"] != keras3["version"]:
            print(f"skip: installed Keras {fresh['version']}, snapshot of {keras3['version']}")
        elif render_snapshot(fresh) != keras3_snapshot_path(keras3["version"]).read_text():
            problems.append(f"the Keras {keras3['version']} snapshot differs from installed Keras")
    if render_snapshot(build(old, keras3)) != TARGET.read_text():
        problems.append(f"{TARGET} differs from the snapshots and {REPLACEMENTS.name}")
    for problem in problems:
        print(f"out of date: {problem}; run python tools/gen_api_drift.py", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--offline", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    old = load_old(args.offline)
    if not args.offline:
        for source, data in zip(SOURCES, old, strict=True):
            source.snapshot.write_text(render_snapshot(data))
    keras3 = extract_keras3(old)
    for stale in SNAPSHOTS.glob("keras-3.*.json"):
        stale.unlink()
    keras3_snapshot_path(keras3["version"]).write_text(render_snapshot(keras3))
    TARGET.write_text(render_snapshot(build(old, keras3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
