"""--format sarif validated against the official SARIF 2.1.0 schema, and --output-file.

The schema is the one Microsoft's SARIF object model (sarif-om, on PyPI) was generated
from; its source distribution ships it as sarif-2.1.0-rtm.4.json. The test downloads that
sdist once into the ignored .cache folder instead of keeping a hand-made copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import jsonschema
import pytest
from conftest import run_check

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "sarif-schema"
SCHEMA_PACKAGE = "sarif-om==1.0.4"
SCHEMA_MEMBER = "sarif_om-1.0.4/sarif-2.1.0-rtm.4.json"
PIP_DOWNLOAD = (
    sys.executable,
    "-m",
    "pip",
    "download",
    "--quiet",
    "--no-deps",
    "--no-binary=:all:",
)


@pytest.fixture(scope="session")
def validator() -> jsonschema.protocols.Validator:
    target = CACHE / Path(SCHEMA_MEMBER).name
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            subprocess.run(
                [*PIP_DOWNLOAD, SCHEMA_PACKAGE, "-d", scratch],
                check=True,
            )
            (sdist,) = Path(scratch).glob("*.tar.gz")
            with tarfile.open(sdist) as archive:
                member = archive.extractfile(SCHEMA_MEMBER)
                assert member is not None
                staged = Path(scratch) / "schema.json"
                staged.write_bytes(member.read())
            os.replace(staged, target)  # atomic: parallel test workers may race here
    schema = json.loads(target.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _sarif(cwd: Path, *args: str, out: Path | None = None) -> tuple[int, dict]:
    out = out or cwd / "report.sarif"
    result = run_check(cwd, "--isolated", "--format", "sarif", "--output-file", str(out), *args)
    assert result.stdout == ""
    return result.returncode, json.loads(out.read_text())


def _errors(validator: jsonschema.protocols.Validator, document: dict) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_schema_is_strict(validator: jsonschema.protocols.Validator) -> None:
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "bogus": 1}]}
    assert _errors(validator, bad)


def test_fixtures_report_is_valid_sarif(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    status, document = _sarif(ROOT, "fixtures", out=tmp_path / "report.sarif")
    assert status == 1
    assert _errors(validator, document) == []
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    report = json.loads(run_check(ROOT, "--isolated", "--format", "json", "fixtures").stdout)
    assert len(run["results"]) == len(report["findings"])
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["helpUri"].endswith(f"#{rule['id'].lower()}-{rule['name']}")
        assert rule["help"]["markdown"].startswith(f"## {rule['id']} {rule['name']}")
    assert run["invocations"][0]["executionSuccessful"] is True


def test_results_carry_positions_cells_and_fixes(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    _, document = _sarif(
        ROOT,
        "fixtures/seed001_rgb_band_adadelta.py",
        "fixtures/seed001_binary_softmax_notebook.ipynb",
        out=tmp_path / "report.sarif",
    )
    results = document["runs"][0]["results"]
    by_rule = {(r["ruleId"], r["message"]["text"][:6]): r for r in results}
    lr = by_rule[("KC201", "`lr=` ")]
    location = lr["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "fixtures/seed001_rgb_band_adadelta.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["region"] == {
        "startLine": 18,
        "startColumn": 38,
        "endLine": 18,
        "endColumn": 40,
    }
    (change,) = lr["fixes"][0]["artifactChanges"]
    assert change["replacements"][0]["insertedContent"] == {"text": "learning_rate"}
    (notebook,) = [r for r in results if r["locations"][0].get("logicalLocations")]
    assert notebook["locations"][0]["logicalLocations"][0]["name"] == "cell 4"
    assert notebook["locations"][0]["properties"]["region"]["startLine"] == 3
    assert _errors(validator, document) == []


def test_unreadable_files_are_error_notifications(
    tmp_path: Path, validator: jsonschema.protocols.Validator
) -> None:
    (tmp_path / "broken.py").write_text("import keras\nx = (\n")
    (tmp_path / "nb.ipynb").write_text("{not json")
    status, document = _sarif(tmp_path, ".")
    assert status == 2
    assert _errors(validator, document) == []
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    messages = sorted(n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    assert messages[0].startswith("broken.py: syntax error")
    assert messages[1].startswith("nb.ipynb: invalid notebook")


def test_output_file_for_every_format(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import keras\nmodel = keras.Sequential([keras.layers.Dense(1, activation='softmax')])\n"
    )
    for fmt in ("text", "concise", "json", "github", "sarif"):
        out = tmp_path / "out" / f"report.{fmt}"
        result = run_check(tmp_path, "--isolated", "m.py", "--format", fmt, "-o", str(out))
        assert (result.returncode, result.stdout) == (1, "")
        assert "KC101" in out.read_text()
    concise = (tmp_path / "out" / "report.concise").read_text()
    assert concise.startswith("m.py:2:60: KC101 ")


def test_output_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("import keras\n")
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run_check(tmp_path, "--isolated", "m.py", "-o", "taken/report.txt")
    assert result.returncode == 2
    assert result.stderr.startswith("kerascheck: error: cannot write taken/report.txt")
