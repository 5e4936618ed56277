"""The result cache: hits without re-checking, invalidation by content, options and pins."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_check

from kerascheck import engine
from kerascheck.cache import ResultCache
from kerascheck.engine import FileResult, Options, lint_file

BUG = "import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"


def _concise(cwd: Path, *args: str) -> list[str]:
    result = run_check(cwd, "--isolated", "--format", "concise", "--cache-dir", "cache", *args)
    return result.stdout.splitlines()


def _tamper(cache_dir: Path) -> None:
    """Rewrite every cached message, so a hit is visible in the output."""
    (path,) = (cache_dir / "v1").glob("*.json")
    document = json.loads(path.read_text())
    for entry in document["entries"].values():
        for finding in entry[4]["findings"]:
            finding["message"] = "FROM CACHE"
    path.write_text(json.dumps(document))


def test_a_warm_run_serves_cached_results(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BUG)
    cold = _concise(tmp_path, "m.py")
    assert cold and cold[0].startswith("m.py:2:")
    _tamper(tmp_path / "cache")
    assert _concise(tmp_path, "m.py") == ["m.py:2:60: KC101 FROM CACHE"]
    os.utime(tmp_path / "m.py", ns=(1, 1))  # same bytes, new mtime: still a hit
    assert _concise(tmp_path, "m.py") == ["m.py:2:60: KC101 FROM CACHE"]
    (tmp_path / "m.py").write_text(BUG + "\n")  # new content: checked again
    assert _concise(tmp_path, "m.py") == cold


def test_other_options_use_another_key(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BUG)
    _concise(tmp_path, "m.py")
    _tamper(tmp_path / "cache")
    assert _concise(tmp_path, "m.py", "--select", "KC1")[0].endswith(
        "always outputs 1.0; use activation='sigmoid' for a binary output, or one unit per class"
    )
    assert len(list((tmp_path / "cache" / "v1").glob("*.json"))) == 2


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BUG)
    run_check(tmp_path, "--isolated", "--no-cache", "--cache-dir", "cache", "m.py")
    assert not (tmp_path / "cache").exists()


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BUG)
    cold = _concise(tmp_path, "m.py")
    (path,) = (tmp_path / "cache" / "v1").glob("*.json")
    path.write_text('{"format": "v1", "entries": {"x": [1, 2, 3, 4, {"findings": 5}]}')
    assert _concise(tmp_path, "m.py") == cold
    path.write_text("\x00garbage")
    assert _concise(tmp_path, "m.py") == cold


def test_version_pins_are_part_of_the_key(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "m.py").write_text("from keras.optimizers import Adam\nopt = Adam(lr=0.1)\n")
    (tmp_path / "requirements.txt").write_text("keras==3.3.0\n")
    assert _concise(tmp_path, "m.py")[0].startswith("m.py:2:12: KC201")
    (tmp_path / "requirements.txt").write_text("keras==2.2.4\n")  # legacy Keras: a warning
    result = run_check(tmp_path, "--isolated", "--format", "json", "--cache-dir", "cache", "m.py")
    assert json.loads(result.stdout)["findings"][0]["severity"] == "warning"


def test_concurrent_saves_merge(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(BUG)
    options = Options()
    first = ResultCache.open(tmp_path / "cache", options)
    second = ResultCache.open(tmp_path / "cache", options)
    for cache, name in ((first, "a.py"), (second, "b.py")):
        path = str(tmp_path / name)
        cache.store(path, cache.fingerprint(path), lint_file(path, options))
    first.save()
    second.save()
    merged = ResultCache.open(tmp_path / "cache", options)
    for name in ("a.py", "b.py"):
        hit = merged.lookup(str(tmp_path / name))
        assert isinstance(hit, FileResult)
        assert [f.code for f in hit.findings] == ["KC101"]
    assert not list((tmp_path / "cache" / "v1").glob("*.tmp"))


def test_a_file_edited_while_it_is_checked_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached entry describes the bytes that were checked, not the bytes found after:
    an editor saving the file mid-run must not leave the old result cached for the new
    text (the file was hashed after the check, so the next run served the stale result)."""
    model = tmp_path / "m.py"
    model.write_text(BUG)
    check_files = engine.lint_files

    def check_then_edit(files: list[str], options: Options, jobs: int = 1) -> list[FileResult]:
        results = list(check_files(files, options, jobs))
        model.write_text("import keras\n")  # the user fixed it meanwhile
        return results

    options = Options()
    monkeypatch.setattr(engine, "lint_files", check_then_edit)
    first = engine.lint_paths([str(model)], options, cache=ResultCache.open(tmp_path, options))
    assert [f.code for _, f in first.findings] == ["KC101"]
    monkeypatch.setattr(engine, "lint_files", check_files)
    second = engine.lint_paths([str(model)], options, cache=ResultCache.open(tmp_path, options))
    assert second.findings == []
