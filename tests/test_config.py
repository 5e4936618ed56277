"""Configuration: [tool.kerascheck] / kerascheck.toml, validation, and CLI precedence."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import run_check

BUG = """\
import keras
model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(lr=-0.1))
"""


def codes(result: subprocess.CompletedProcess) -> list[str]:
    return [f["code"] for f in json.loads(result.stdout)["findings"]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(BUG)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_model.py").write_text(BUG)
    return tmp_path


def test_without_configuration(project: Path) -> None:
    assert codes(run_check(project, "--format", "json")) == ["KC101", "KC108", "KC201", "KC402"] * 2


def test_pyproject_table_selects_ignores_and_sets_the_format(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.kerascheck]\nselect = ["KC1", "KC2"]\n'
        'ignore = ["KC108"]\noutput-format = "json"\n'
        '[tool.kerascheck.per-file-ignores]\n"tests/*" = ["KC101"]\n'
    )
    result = run_check(project, "src", "tests")
    report = json.loads(result.stdout)
    found = sorted((Path(f["path"]).as_posix(), f["code"]) for f in report["findings"])
    assert found == [
        ("src/model.py", "KC101"),
        ("src/model.py", "KC201"),
        ("tests/test_model.py", "KC201"),
    ]


def test_per_file_ignores_apply_to_a_piped_buffer(project: Path) -> None:
    (project / "kerascheck.toml").write_text('[per-file-ignores]\n"tests/*" = ["KC1"]\n')
    args = ("-", "--format", "json", "--stdin-filename")
    piped = run_check(project, *args, "tests/test_model.py", stdin=BUG)
    assert codes(piped) == ["KC201", "KC402"]
    assert codes(run_check(project, *args, "src/model.py", stdin=BUG))[0] == "KC101"


def test_target_keras_in_kerascheck_toml_sets_the_severity(project: Path) -> None:
    (project / "kerascheck.toml").write_text('target-keras = "tf2"\nselect = ["KC201"]\n')
    report = json.loads(run_check(project, "src", "--format", "json").stdout)
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("KC201", "warning")]


def test_command_line_overrides_the_file(project: Path) -> None:
    (project / "kerascheck.toml").write_text('select = ["KC201"]\ntarget-keras = "tf2"\n')
    result = run_check(
        project, "src", "--format", "json", "--select", "KC101", "--target-keras", "keras3"
    )
    assert codes(result) == ["KC101"]


def test_extend_exclude_and_isolated(project: Path) -> None:
    (project / "kerascheck.toml").write_text('extend-exclude = ["tests"]\n')
    assert {
        f["path"] for f in json.loads(run_check(project, "--format", "json").stdout)["findings"]
    } == {"src/model.py"}
    isolated = json.loads(run_check(project, "--format", "json", "--isolated").stdout)
    assert len({f["path"] for f in isolated["findings"]}) == 2


def test_explicit_config_path(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("cfg") / "kerascheck.toml"
    elsewhere.write_text('select = ["KC402"]\n')
    assert codes(run_check(project, "src", "--format", "json", "--config", str(elsewhere))) == [
        "KC402"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('selct = ["KC1"]\n', "unknown key `selct`"),
        ('select = "KC1"\n', "`select` must be a list of strings"),
        ('select = ["KC999"]\n', "`select` has an unknown rule code or prefix: KC999"),
        ('target-keras = "keras4"\n', "`target-keras` must be one of legacy, tf2, keras3"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_bad_configuration_is_a_clear_error(project: Path, content: str, message: str) -> None:
    (project / "kerascheck.toml").write_text(content)
    result = run_check(project, "src")
    assert result.returncode == 2
    assert "kerascheck.toml" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[tool]\nkerascheck = 3\n", "[tool.kerascheck] must be a table, not 3"),
        (b"[tool.kerascheck]\nselect = [\n", "invalid TOML"),
        (b'[tool.kerascheck]\nselect = ["KC1"]  # caf\xe9\n', "not UTF-8"),
        (b'[tool.kerascheck]\nselct = ["KC1"]\n', "unknown key `selct`"),
    ],
)
def test_a_pyproject_that_cannot_configure_kerascheck_is_a_clear_error(
    project: Path, content: bytes, message: str
) -> None:
    """Before, the first two were silently ignored and the third was a traceback."""
    (project / "pyproject.toml").write_bytes(content)
    result = run_check(project, "src")
    assert result.returncode == 2
    assert "pyproject.toml" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dotted_key_spelling_of_the_table_is_found(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool]\nkerascheck.select = ["KC402"]\n')
    assert codes(run_check(project, "src", "--format", "json")) == ["KC402"]


def test_a_pyproject_without_the_table_is_skipped(project: Path) -> None:
    """A project listing kerascheck as a dependency is not configuring it: the search goes
    on upward (here to nothing), and a broken pyproject that never mentions it is not ours
    to judge."""
    (project / "pyproject.toml").write_text('[project]\ndependencies = ["kerascheck"]\n')
    (project / "src" / "pyproject.toml").write_text("this is [not toml\n")
    result = run_check(project, "src", "--format", "json")
    assert result.returncode == 1
    assert sorted(codes(result)) == ["KC101", "KC108", "KC201", "KC402"]
