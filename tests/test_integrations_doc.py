"""docs/integrations.md stays true: each snippet is checked against what the tests run.

Snippets are the fenced blocks after a ``<!-- snippet: NAME -->`` marker. The pre-commit
configuration is run by tests/test_precommit.py; the CI commands parse with kerascheck's own
parser and give the documented exit codes on fixtures/; the editors start the command that
tests/test_lsp.py starts.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from test_lsp import COMMAND

from kerascheck import __version__
from kerascheck.cli import build_parser
from kerascheck.rule import DOCS_URL

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "integrations.md"
SNIPPET = re.compile(r"<!-- snippet: (\S+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
CI_SNIPPETS = ("github-annotations", "github-sarif", "gitlab-ci")
EXIT_CLEAN, EXIT_FINDINGS = 0, 1  # as the page's first paragraph documents them


def snippets() -> dict[str, tuple[str, str]]:
    """Snippet name -> (language, text)."""
    return {name: (lang, text) for name, lang, text in SNIPPET.findall(DOC.read_text())}


def snippet(name: str) -> str:
    return snippets()[name][1]


def precommit_config() -> dict[str, Any]:
    """The documented .pre-commit-config.yaml (tests/test_precommit.py runs it)."""
    return yaml.safe_load(snippet("pre-commit-config"))


def test_every_snippet_is_known_and_checked() -> None:
    assert set(snippets()) == {
        "pre-commit-config",
        *CI_SNIPPETS,
        "install-lsp",
        "neovim",
        "neovim-0.10",
        "vscode-package",
        "vscode-extension",
    }


def test_exit_codes_are_the_documented_ones() -> None:
    first = DOC.read_text().split("\n\n")[1]
    assert f"status {EXIT_CLEAN} when it finds nothing, {EXIT_FINDINGS} when it reports" in first


def test_precommit_snippet_uses_the_shipped_hook_at_this_version() -> None:
    [repo] = precommit_config()["repos"]
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"] for hook in repo["hooks"]} <= {hook["id"] for hook in hooks}
    assert repo["rev"] == f"v{__version__}"
    assert DOCS_URL.startswith(repo["repo"] + "/")


def test_the_shipped_hook_matches_python_files_and_notebooks() -> None:
    """pre-commit's type tags: ``python`` for .py files, ``jupyter`` for .ipynb."""
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["types_or"] == ["python", "jupyter"] and "types" not in hook
    assert "Python files and Jupyter notebooks" in DOC.read_text()


def _ci_lines(name: str) -> list[str]:
    """The shell lines of a CI snippet: GitHub's ``run:`` steps or GitLab's ``script``."""
    document = yaml.safe_load(snippet(name))
    if "jobs" in document:
        steps = [step for job in document["jobs"].values() for step in job["steps"]]
        return [step["run"] for step in steps if "run" in step]
    return [line for job in document.values() for line in job["script"]]


def _kerascheck_commands() -> list[list[str]]:
    lines = [line for name in CI_SNIPPETS for line in _ci_lines(name)]
    commands = [shlex.split(line) for line in lines if line.startswith("kerascheck ")]
    assert len(commands) == len(CI_SNIPPETS)
    return commands


def _pip_installs() -> list[Requirement]:
    lines = [line for name in CI_SNIPPETS for line in _ci_lines(name)]
    lines.append(snippet("install-lsp"))
    return [Requirement(shlex.split(line)[2]) for line in lines if line.startswith("pip install")]


def test_pip_installs_name_this_project_and_its_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = _pip_installs()
    assert len(requirements) == len(CI_SNIPPETS) + 1
    for requirement in requirements:
        assert requirement.name == project["name"]
        assert requirement.extras <= set(project["optional-dependencies"])


def test_the_lsp_install_hint_is_the_documented_command() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['pygls'] = None;"
            "from kerascheck.cli import main; sys.exit(main(['lsp']))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr.rstrip().endswith(snippet("install-lsp"))


@pytest.mark.parametrize("argv", _kerascheck_commands(), ids=shlex.join)
def test_ci_command_parses_and_exits_as_documented(argv: list[str], tmp_path: Path) -> None:
    build_parser().parse_args(argv[1:])  # exits 2 (SystemExit) on an unknown option
    buggy, clean = tmp_path / "buggy", tmp_path / "clean"
    shutil.copytree(ROOT / "fixtures", buggy)
    clean.mkdir()
    for good in (ROOT / "fixtures").glob("ok_*.py"):
        shutil.copy(good, clean)
    for cwd, expected in ((buggy, EXIT_FINDINGS), (clean, EXIT_CLEAN)):
        result = subprocess.run(
            [sys.executable, "-m", "kerascheck", *argv[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == expected, result.stderr
    if "--output-file" in argv:
        report = json.loads((buggy / argv[argv.index("--output-file") + 1]).read_text())
        assert report["version"] == "2.1.0" and report["runs"][0]["results"]


def test_the_sarif_upload_reads_the_file_the_check_writes() -> None:
    steps = yaml.safe_load(snippet("github-sarif"))["jobs"]["kerascheck"]["steps"]
    [check] = [shlex.split(step["run"]) for step in steps if "--output-file" in step.get("run", "")]
    [upload] = [step for step in steps if "upload-sarif" in step.get("uses", "")]
    assert upload["with"]["sarif_file"] == check[check.index("--output-file") + 1]


def _lua_list(text: str, key: str) -> list[list[str]]:
    return [re.findall(r"'([^']*)'", items) for items in re.findall(rf"{key} = {{(.*?)}}", text)]


@pytest.mark.parametrize("name", ["neovim", "neovim-0.10"])
def test_neovim_starts_the_command_the_lsp_tests_start(name: str) -> None:
    text = snippet(name)
    assert _lua_list(text, "cmd") == [list(COMMAND)]
    assert "python" in re.findall(r"'(\w+)'", text)


def test_vscode_extension_starts_the_command_the_lsp_tests_start() -> None:
    text = snippet("vscode-extension")
    [(command, args)] = re.findall(r'\{ command: "([^"]+)", args: \[(.*?)\] \}', text)
    assert (command, *json.loads(f"[{args}]")) == COMMAND
    [language] = re.findall(r'language: "(\w+)"', text)
    package = json.loads(snippet("vscode-package"))
    assert package["activationEvents"] == [f"onLanguage:{language}"]
    assert "vscode-languageclient" in package["dependencies"]
    assert "vscode-languageclient/node" in text
