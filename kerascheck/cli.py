"""Command line: ``kerascheck check``, ``rules``, ``explain`` and ``lsp`` (the language server)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kerascheck import __version__
from kerascheck.config import FORMATS, Config, ConfigError
from kerascheck.flavour import FLAVOURS
from kerascheck.registry import RuleLoadError
from kerascheck.settings import load_config, options_for

if TYPE_CHECKING:
    from kerascheck.cache import ResultCache
    from kerascheck.engine import FileResult, Options, Report
    from kerascheck.fix import FixOutcome
    from kerascheck.progress import ProgressBar
    from kerascheck.source import SourceError


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
        "--no-cache", action="store_true", help="check every file again, ignoring cached results"
    )
    check.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="where results are cached (default: $KERASCHECK_CACHE_DIR or ~/.cache/kerascheck)",
    )
    check.add_argument(
        "--output-file",
        "-o",
        default=None,
        metavar="PATH",
        help="write the report to this file instead of standard output",
    )
    check.add_argument(
        "--fix", action="store_true", help="apply safe fixes in place, then report what is left"
    )
    check.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, also apply fixes that change what the model computes",
    )
    check.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff instead of writing them (exit 1 if any)",
    )
    check.add_argument(
        "--jobs", "-j", type=int, default=None, help="worker processes (default: number of CPUs)"
    )
    check.add_argument(
        "--dynamic",
        action="store_true",
        help="rebuild each model in real Keras (TensorFlow) to confirm or refute every finding",
    )
    check.add_argument(
        "--dynamic-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="time budget per model under --dynamic (default: 20)",
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
    from kerascheck.engine import (
        Report,
        filter_for_file,
        lint_notebook_data,
        lint_paths,
        lint_source,
        tune_gc,
    )
    from kerascheck.notebook import NOTEBOOK_SUFFIX
    from kerascheck.registry import all_rules

    tune_gc()
    known = {r.code for r in all_rules()}
    for code in [*(args.select or []), *args.ignore]:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise UsageError(f"unknown rule code or prefix: {code}")
    config = _load_config(args, known)
    options = options_for(config, args.select, args.ignore, args.target_keras, args.exclude)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if args.dynamic:
        options, jobs = _dynamic_options(args, options), 1  # one Keras worker, file by file
    if args.fix or args.diff:
        report = _run_fixes(args, options, max(1, jobs))
        if args.diff:
            return EXIT_FINDINGS if report.fixed else EXIT_CLEAN
    elif args.paths == ["-"]:
        # An editor or hook pipes a buffer: report it under the name it will have on disk.
        name = args.stdin_filename or "<stdin>"
        source, data = _read_stdin()
        if args.dynamic:
            _start_dynamic()
        if name.endswith(NOTEBOOK_SUFFIX):
            report = Report(
                [filter_for_file(lint_notebook_data(data, name, options), name, options)]
            )
        elif isinstance(source, str):
            report = Report([filter_for_file(lint_source(source, name, options), name, options)])
        else:
            report = Report([_unreadable(name, source)])
    else:
        # Under --dynamic the Keras worker draws its own bar, per model.
        bar = contextlib.nullcontext() if args.dynamic else _progress_bar()
        prepare = _start_dynamic if args.dynamic else None
        with bar as progress:
            cache = _cache(args, options)
            report = lint_paths(args.paths, options, max(1, jobs), cache, progress, prepare)
    if args.paths == ["-"] and args.fix:
        # The fixed buffer went to stdout (the editor replaces its buffer with it), so the
        # findings that are left go to stderr.
        from kerascheck.report.concise import render as concise_render

        sys.stderr.write(concise_render(report, False))
        return report.exit_code
    fmt = args.format or config.output_format or "text"
    if args.output_file is not None:
        _write_report_file(args.output_file, render(report, fmt, args))
    elif fmt == "text" and not args.statistics and _use_color():
        from kerascheck.report import text

        text.render_rich(report, sys.stdout, args.show_suppressed)
    else:
        _write(render(report, fmt, args))
    return report.exit_code


def _cache(args: argparse.Namespace, options: Options) -> ResultCache | None:
    if args.no_cache:
        return None
    from kerascheck.cache import ResultCache, default_directory

    directory = Path(args.cache_dir) if args.cache_dir else default_directory()
    return ResultCache.open(directory, options)


def _progress_bar() -> contextlib.AbstractContextManager[ProgressBar | None]:
    """A bar on stderr when it is a terminal; rich is not even imported otherwise."""
    if not sys.stderr.isatty() or "NO_COLOR" in os.environ:
        return contextlib.nullcontext()
    from kerascheck.progress import ProgressBar

    return ProgressBar(sys.stderr)


def render(report: Report, fmt: str, args: argparse.Namespace) -> str:
    """The report as text in ``fmt`` (``--statistics`` replaces it with counts per code)."""
    shown = args.show_suppressed
    if args.statistics:
        return statistics(report)
    if fmt == "json":
        from kerascheck.report.json_report import render as render_json

        return render_json(report, shown)
    if fmt == "concise":
        from kerascheck.report.concise import render as render_concise

        return render_concise(report, shown)
    if fmt == "github":
        from kerascheck.report.github import render as render_github

        return render_github(report)
    if fmt == "sarif":
        from kerascheck.report.sarif import render as render_sarif

        return render_sarif(report, shown)
    from kerascheck.report import text

    return text.render_plain(report, shown)


def _write_report_file(path: str, content: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _dynamic_options(args: argparse.Namespace, options: Options) -> Options:
    """--dynamic needs TensorFlow: say how to get it (exit 2) before checking anything."""
    from dataclasses import replace

    from kerascheck.dynamic import INSTALL_HINT, missing

    if args.fix or args.diff:
        raise UsageError("--dynamic cannot be combined with --fix or --diff")
    if args.dynamic_timeout <= 0:
        raise UsageError("--dynamic-timeout must be a positive number of seconds")
    absent = missing()
    if absent is not None:
        raise UsageError(f"--dynamic needs TensorFlow and Keras ({absent} missing): {INSTALL_HINT}")
    return replace(options, dynamic=True, dynamic_timeout=args.dynamic_timeout)


def _start_dynamic() -> None:
    """Start the Keras worker (it imports TensorFlow) before the first file is checked, so
    an installation that cannot import it is one clear error (exit 2), not one per file."""
    from kerascheck.dynamic import DynamicUnavailable, start

    try:
        start()
    except DynamicUnavailable as exc:
        raise UsageError(str(exc)) from exc


def _run_fixes(args: argparse.Namespace, options: Options, jobs: int) -> Report:
    """--fix writes files (or the fixed buffer to stdout for ``-``); --diff only prints."""
    from kerascheck.discover import discover
    from kerascheck.engine import Report
    from kerascheck.fix import (
        FixOutcome,
        _encoding,
        fix_files,
        fix_source,
        notebook_bytes,
        unified_diff,
    )
    from kerascheck.notebook import NOTEBOOK_SUFFIX

    if args.paths == ["-"]:
        name = args.stdin_filename or "<stdin>"
        source, data = _read_stdin()
        notebook = name.endswith(NOTEBOOK_SUFFIX)
        if notebook:
            outcomes = [_fix_notebook_buffer(data, name, options, args.unsafe_fixes)]
        elif isinstance(source, str):
            outcomes = [fix_source(source, name, options, args.unsafe_fixes)]
        else:
            outcomes = [FixOutcome(name, "", "", (), _unreadable(name, source))]
        if args.fix and not args.diff:
            # The editor replaces its buffer with this: the very same bytes unless fixed,
            # and fixed text in the buffer's own encoding.
            fixed = outcomes[0]
            encoded = (
                notebook_bytes(fixed.after, data)
                if notebook
                else fixed.after.encode(_encoding(data))
            )
            sys.stdout.flush()
            sys.stdout.buffer.write(encoded if fixed.changed else data)
            sys.stdout.buffer.flush()
    else:
        files = list(discover(args.paths, options.exclude))
        write = not args.diff
        outcomes = list(fix_files(files, options, args.unsafe_fixes, write, jobs))
    if args.diff:
        _write("".join(unified_diff(o) for o in outcomes if o.changed))
    fixed = sum(len(o.fixed) for o in outcomes)
    return Report([o.result for o in outcomes], fixed=fixed)


def _fix_notebook_buffer(data: bytes, name: str, options: Options, unsafe: bool) -> FixOutcome:
    from kerascheck.engine import FileError, FileResult
    from kerascheck.fix import FixOutcome, fix_notebook
    from kerascheck.source import SourceError

    try:
        return fix_notebook(data, name, options, unsafe)
    except SourceError as exc:
        error = FileResult(name, errors=(FileError(name, str(exc)),), checked=False)
        return FixOutcome(name, "", "", (), error)


def _read_stdin() -> tuple[str | SourceError, bytes]:
    """The piped buffer as bytes, decoded like a file (BOM, coding cookie), not with the
    locale's codec: a Latin-1 buffer must neither crash the run nor come back mangled."""
    from kerascheck.source import SourceError, decode

    data = sys.stdin.buffer.read()
    try:
        return decode(data), data
    except SourceError as exc:
        return exc, data


def _unreadable(name: str, exc: SourceError) -> FileResult:
    from kerascheck.engine import FileError, FileResult

    return FileResult(name, errors=(FileError(name, str(exc)),), checked=False)


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
