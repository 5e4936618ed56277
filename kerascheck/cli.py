"""Command line: ``kerascheck check``, ``rules``, ``explain`` and ``lsp`` (the language server)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kerascheck import __version__
from kerascheck.config import Config, ConfigError
from kerascheck.flavour import FLAVOURS
from kerascheck.registry import RuleLoadError
from kerascheck.settings import load_config, options_for

if TYPE_CHECKING:
    from kerascheck.engine import Report

FORMATS = ("text", "concise", "json", "github")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _codes(value: str) -> list[str]:
    return [part.strip().upper() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerascheck",
        description="A static linter for Keras model definitions.",
    )
    parser.add_argument("--version", action="version", version=f"kerascheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="check files and directories (default: .)")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    check.add_argument(
        "--select",
        type=_codes,
        action="extend",
        metavar="CODES",
        help="only these codes or prefixes, comma-separated (KC1, KC201)",
    )
    check.add_argument(
        "--ignore",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="skip these codes or prefixes",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="also exclude files or directories matching this glob",
    )
    check.add_argument(
        "--format", choices=FORMATS, default=None, help="output format (default: text)"
    )
    check.add_argument(
        "--target-keras",
        choices=FLAVOURS,
        default=None,
        help="the Keras the code is written for (default: inferred per file)",
    )
    check.add_argument(
        "--config", default=None, metavar="PATH", help="use this pyproject.toml or kerascheck.toml"
    )
    check.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    check.add_argument(
        "--stdin-filename", default=None, metavar="PATH", help="the name of the buffer read from -"
    )
    check.add_argument(
        "--show-suppressed", action="store_true", help="also list findings silenced inline"
    )
    check.add_argument("--statistics", action="store_true", help="print counts per rule code")
    check.add_argument(
        "--jobs", "-j", type=int, default=None, help="worker processes (default: number of CPUs)"
    )

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("code", metavar="CODE")

    lsp = sub.add_parser("lsp", help="run the language server (LSP over stdin/stdout)")
    # Some clients pass --stdio; it is the only transport, so accept and ignore it.
    lsp.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)
    return parser


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def cmd_check(args: argparse.Namespace) -> int:
    from kerascheck.engine import Report, lint_paths, lint_source
    from kerascheck.registry import all_rules

    known = {r.code for r in all_rules()}
    for code in [*(args.select or []), *args.ignore]:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise UsageError(f"unknown rule code or prefix: {code}")
    config = _load_config(args, known)
    options = options_for(config, args.select, args.ignore, args.target_keras, args.exclude)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if args.paths == ["-"]:
        # An editor or hook pipes a buffer: report it under the name it will have on disk.
        name = args.stdin_filename or "<stdin>"
        report = Report([lint_source(sys.stdin.read(), name, options)])
    else:
        report = lint_paths(args.paths, options, jobs=max(1, jobs))
    fmt = args.format or config.output_format or "text"
    shown = args.show_suppressed
    if args.statistics:
        _write(statistics(report))
    elif fmt == "json":
        from kerascheck.report.json_report import render

        _write(render(report, shown))
    elif fmt == "concise":
        from kerascheck.report.concise import render

        _write(render(report, shown))
    elif fmt == "github":
        from kerascheck.report.github import render

        _write(render(report))
    else:
        from kerascheck.report import text

        if _use_color():
            text.render_rich(report, sys.stdout, shown)
        else:
            _write(text.render_plain(report, shown))
    return report.exit_code


def statistics(report: Report) -> str:
    """Counts per code, most frequent first (ruff's --statistics)."""
    from collections import Counter

    from kerascheck.registry import rule_by_code

    counts = Counter(f.code for _, f in report.findings)
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = rule_by_code(code)
        rows.append(f"{count:>5}  {code}  {rule.name if rule else ''}".rstrip())
    return "\n".join(rows) + ("\n" if rows else "")


def _load_config(args: argparse.Namespace, known: set[str]) -> Config:
    """The configuration file in force: --config, else the nearest one, unless --isolated."""
    start = Path(args.paths[0]) if args.paths else Path.cwd()
    config = Path(args.config) if args.config is not None else None
    try:
        return load_config(start, known, config, args.isolated)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def cmd_rules(args: argparse.Namespace) -> int:
    from kerascheck.registry import all_rules

    rules = all_rules()
    if args.format == "json":
        rows = [
            {"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary}
            for r in rules
        ]
        _write(json.dumps(rows, indent=2) + "\n")
        return EXIT_CLEAN
    width = max(len(r.name) for r in rules)
    for rule in rules:
        _write(f"{rule.code}  {rule.name:<{width}}  {rule.severity:<7}  {rule.summary}\n")
    return EXIT_CLEAN


def cmd_explain(args: argparse.Namespace) -> int:
    from kerascheck.registry import rule_by_code

    rule = rule_by_code(args.code)
    if rule is None:
        raise UsageError(f"unknown rule: {args.code} (see `kerascheck rules`)")
    _write(rule.doc())
    return EXIT_CLEAN


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from kerascheck.lsp import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise UsageError("the language server needs pygls: pip install 'kerascheck[lsp]'") from exc
    return serve()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"check": cmd_check, "rules": cmd_rules, "explain": cmd_explain, "lsp": cmd_lsp}
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handlers[args.command](args)
    except (UsageError, RuleLoadError) as exc:
        sys.stderr.write(f"kerascheck: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_CLEAN
