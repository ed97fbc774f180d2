"""The `twir-events` command: a thin layer over the library.

Each command imports the library it needs when it runs, so `--help` and light commands start fast.
"""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sqlite3
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.schedule import add_parser as add_schedule_parser
from aggregator.schedule import cmd_schedule
from aggregator.text import terminal_safe
from aggregator.tomltable import ConfigError
from aggregator.window import next_issue_date

if TYPE_CHECKING:
    from aggregator.config import Config
    from aggregator.job import JobResult
    from aggregator.pipeline import SourceReport
    from sources.http import Http

# Documented in the README; scripts and systemd units rely on them.
EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE, EXIT_STORAGE, EXIT_BUG, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 4, 70, 75, 130
# An issue date outside these years is a typo, and near the ends of `date` the window arithmetic overflows.
DATE_YEARS = (2000, 2999)
ERROR_LIMIT = 400
FORMATS = {"markdown": "events.md", "ics": "events.ics", "json": "events.json", "html": "index.html"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twir-events")
    except PackageNotFoundError:
        return "unknown"


def _issue_date(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    if not DATE_YEARS[0] <= value.year <= DATE_YEARS[1]:
        raise argparse.ArgumentTypeError(f"expected a date in the years {DATE_YEARS[0]}-{DATE_YEARS[1]}, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, dated: bool = True) -> None:
    parser.add_argument("--config", type=Path, default=Path("config.toml"), help="config file (default: ./config.toml)")
    _debug_flag(parser, argparse.SUPPRESS)
    if dated:
        parser.add_argument(
            "--date",
            type=_issue_date,
            default=None,
            help="issue date YYYY-MM-DD (default: the next Wednesday on or after today)",
        )


def _debug_flag(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before and after the command; the command's copy must not reset the global one.
    parser.add_argument("--debug", action="store_true", default=default, help="show the traceback of an error")


class _VersionAction(argparse.Action):
    """`--version`: the installed version is looked up only when asked for (reading metadata is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        sys.stdout.write(f"{parser.prog} {_version()}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twir-events",
        description="Build This Week in Rust's Upcoming Events block and an .ics feed from Rust event sources.",
    )
    parser.add_argument("--version", action=_VersionAction)
    _debug_flag(parser, False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="fetch every source, update the store, write the outputs and print the block",
        description="Fetch every source into the store, write events.md (the block), events.ics (the feed), "
        "regions/*.ics and events.json to the output folder, and print the block. "
        "Exit status: 0 written, 1 no source could be read, 2 usage or configuration error, 4 the store or the "
        "output folder cannot be used, 75 another run is busy, 130 stopped by a signal.",
    )
    _common(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar and no per-event warnings")

    render = commands.add_parser(
        "render",
        help="build the outputs from the store alone, without fetching",
        description="Write the outputs from what the store holds, and print one of them.",
    )
    _common(render)
    render.add_argument(
        "--format", choices=sorted(FORMATS), default="markdown", help="what to print (default: markdown)"
    )

    status = commands.add_parser(
        "status",
        help="show every source's health, most urgent first",
        description="A table of every source: last success, last error, events, staleness, bytes, time. "
        "Exit status: 0 all healthy, 1 some failing or stale, 3 none healthy, 2 configuration error.",
    )
    _common(status, dated=False)
    add_schedule_parser(commands)

    lint = commands.add_parser(
        "lint",
        help="check the Upcoming Events block of a hand-edited TWiR draft",
        description="Report problems in the events block of a TWiR draft, with line numbers: events outside the "
        "window, out of order, in the wrong section, malformed, unknown countries, duplicates, and events the store "
        "knows that the draft lacks. --fix rewrites only the block. Exit status: 0 clean or only cosmetic findings, "
        "1 problems remain, 2 error.",
    )
    lint.add_argument("draft", type=Path, help="the draft issue file (markdown)")
    _common(lint, dated=False)
    lint.add_argument(
        "--date", type=_issue_date, default=None, help="issue date YYYY-MM-DD (default: the draft's window line)"
    )
    lint.add_argument("--fix", action="store_true", help="rewrite the block in place, atomically")

    update = commands.add_parser(
        "update",
        help="put the generated events block into a TWiR draft, keeping listings added by hand",
        description="Replace the Upcoming Events block of a TWiR draft (window line to footer) with the one built "
        "from the store. Listings the sources do not know stay in their sections; nothing outside the block changes. "
        "Prints what is new, dropped and moved. Exit status: 0 updated or unchanged, 2 error (the draft is untouched).",
    )
    update.add_argument("draft", type=Path, help="the draft issue file (markdown)")
    _common(update, dated=False)
    update.add_argument(
        "--date",
        type=_issue_date,
        default=None,
        help="issue date YYYY-MM-DD (default: the date in the draft's file name, else its window line)",
    )

    diff = commands.add_parser(
        "diff",
        help="show what changed since the previous issue",
        description="Compare an issue with an earlier one from the store: new, dropped, changed, entered and "
        "passed events. The issue is rendered from the store first if it was never built. "
        "Exit status: 0 shown, 2 configuration error or no earlier issue in the store.",
    )
    _common(diff)
    diff.add_argument(
        "--since", type=_issue_date, default=None, help="earlier issue date YYYY-MM-DD (default: a week before --date)"
    )
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")
    return parser


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from aggregator.job import run_job
    from aggregator.report import run_summary
    from sources.http import Http

    issue_date = args.date or next_issue_date(date.today())
    with _progress(len(config.sources), shown=not args.quiet and sys.stderr.isatty()) as done:
        interrupt = threading.Event()
        with Http(config.http) as http, _stop_on_signals(http, interrupt):
            result = run_job(config, issue_date, http, on_done=done, interrupt=interrupt)
    _warn(result, args.quiet)
    sys.stderr.write(run_summary(result, config.health, config.output_dir))
    _note_base_url(config)
    if result.all_failed:
        print("error: no source could be read", file=sys.stderr)
        return EXIT_NO_SOURCE
    sys.stdout.write(result.block)
    return EXIT_OK


@contextmanager
def _progress(total: int, *, shown: bool) -> Iterator[Callable[[SourceReport], None] | None]:
    """A progress bar over the sources, on a terminal only: cron and CI logs get the summary alone."""
    if not shown:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="source", desc="fetching", file=sys.stderr, leave=False) as bar:

        def done(report: SourceReport) -> None:
            bar.set_postfix_str(report.name[-30:], refresh=False)
            bar.update()

        yield done


@contextmanager
def _stop_on_signals(http: Http, interrupt: threading.Event) -> Iterator[None]:
    """SIGINT or SIGTERM while fetching: requests in flight fail within a moment and nothing is stored; a second one
    stops at once. Both are harmless to the store, whose every write is one transaction."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(number: int, frame: object) -> None:
        if interrupt.is_set():
            raise KeyboardInterrupt
        interrupt.set()
        http.stop(f"{signal.Signals(number).name} received")

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _warn(result: JobResult, quiet: bool) -> None:
    if quiet:
        return
    for report in result.collected.reports:
        for line in report.warnings:
            print(f"warning: {terminal_safe(line, ERROR_LIMIT)}", file=sys.stderr)


def _note_base_url(config: Config) -> None:
    from output.html import MISSING_BASE_URL

    if not config.base_url:
        print(f"note: {MISSING_BASE_URL}", file=sys.stderr)


def cmd_render(args: argparse.Namespace, config: Config) -> int:
    from aggregator.job import render_job, write_outputs

    issue_date = args.date or next_issue_date(date.today())
    if not config.store_path.exists():
        raise ConfigError(
            f"{config.path}: store.path: {config.store_path} does not exist yet; run `twir-events run` first"
        )
    rendered = render_job(config, issue_date)
    write_outputs(config, rendered.files)
    _note_base_url(config)
    sys.stdout.buffer.write(rendered.files[FORMATS[args.format]])
    return EXIT_OK


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    from aggregator.report import status_table
    from aggregator.store import Store

    if not config.store_path.exists():
        print(f"no store at {config.store_path}: nothing has run yet", file=sys.stderr)
        return 3
    with Store(config.store_path) as store:
        health = store.source_health(datetime.now(UTC))
    table, code = status_table(health, [spec.name for spec in config.sources], config.health)
    sys.stdout.write(table)
    return code


def cmd_diff(args: argparse.Namespace, config: Config) -> int:
    from aggregator.diff import format_diff
    from aggregator.job import diff_job

    issue_date = args.date or next_issue_date(date.today())
    diff = diff_job(config, issue_date, args.since)
    if args.json:
        sys.stdout.write(json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_diff(diff))
    return EXIT_OK


def cmd_lint(args: argparse.Namespace, config: Config) -> int:
    from aggregator.lint import fix as fix_draft
    from aggregator.lint import lint as lint_draft
    from output.files import write_if_changed

    try:
        draft = args.draft.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{args.draft}: cannot read the draft: {exc}") from None
    options = {"issue_date": args.date, "weeks": config.weeks, "states": config.states}
    window = lint_draft(draft, **options).window
    if window is not None and config.store_path.exists():
        from aggregator.job import render_job

        rendered = render_job(config, window.start)
        options |= {"known": rendered.issue.events, "possible": rendered.possible_duplicates}
    if args.fix:
        fixed = fix_draft(draft, **options)
        if write_if_changed(args.draft, fixed.encode("utf-8")):
            print(f"fixed: {args.draft}", file=sys.stderr)
        draft = fixed
    problems = lint_draft(draft, **options).problems
    for problem in problems:
        kind = f"{problem.code} (cosmetic)" if problem.cosmetic else problem.code
        print(f"{args.draft}:{problem.line}: {kind}: {problem.message}")
    return EXIT_NO_SOURCE if any(not problem.cosmetic for problem in problems) else EXIT_OK


def cmd_update(args: argparse.Namespace, config: Config) -> int:
    from aggregator.job import render_job
    from aggregator.store import Store
    from aggregator.update import UpdateError, draft_date, summary, update_draft
    from aggregator.urls import canonical_url
    from output.files import write_if_changed

    try:
        draft = args.draft.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{args.draft}: cannot read the draft: {exc}") from None
    issue_date = args.date or draft_date(args.draft.name, draft) or next_issue_date(date.today())
    if not config.store_path.exists():
        raise ConfigError(f"{config.path}: store.path: {config.store_path} does not exist yet; run `twir-events run`")
    rendered = render_job(config, issue_date)
    with Store(config.store_path) as store:
        stored = store.current_events() + store.removed_since(datetime(1970, 1, 1, tzinfo=UTC))
    known = {link for item in stored if (link := canonical_url(item.event.url))}
    try:
        result = update_draft(draft, rendered.block, rendered.issue.window, known)
    except UpdateError as exc:
        print(f"error: {args.draft}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if write_if_changed(args.draft, result.text.encode("utf-8")):
        print(f"updated: {args.draft}", file=sys.stderr)
    sys.stdout.write(summary(result))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "run": cmd_run,
    "render": cmd_render,
    "status": cmd_status,
    "diff": cmd_diff,
    "schedule": cmd_schedule,
    "lint": cmd_lint,
    "update": cmd_update,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from aggregator.config import load_config

    try:
        config = load_config(args.config)
        return COMMANDS[args.command](args, config)
    except (Exception, KeyboardInterrupt) as exc:
        code, prefix = _classify(exc)
        return _fail(args, exc, code, prefix)


def _classify(exc: BaseException) -> tuple[int, str]:
    """The exit code for an error and the words that go before its message."""
    # Imported only on the way out: the job and the store are heavy for light commands.
    from aggregator.diff import DiffError
    from aggregator.job import BusyError
    from aggregator.pipeline import InterruptedRunError
    from aggregator.store import StoreError

    if isinstance(exc, ConfigError | DiffError):
        return EXIT_USAGE, ""
    if isinstance(exc, StoreError):
        return EXIT_STORAGE, ""
    if isinstance(exc, sqlite3.DatabaseError):
        return EXIT_STORAGE, "store: "
    if isinstance(exc, OSError):
        return EXIT_STORAGE, "disk full: " if exc.errno == errno.ENOSPC else ""
    if isinstance(exc, BusyError):
        return EXIT_BUSY, ""
    if isinstance(exc, KeyboardInterrupt | InterruptedRunError):
        return EXIT_INTERRUPTED, "stopped: "
    if isinstance(exc, MemoryError):
        return EXIT_BUG, "out of memory"
    return EXIT_BUG, f"unexpected {type(exc).__name__}: "


def _fail(args: argparse.Namespace, exc: BaseException, code: int, prefix: str) -> int:
    """Print one line for `exc` (the traceback too with --debug) and return the exit code."""
    debug = getattr(args, "debug", False)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    line = f"error: {prefix}{terminal_safe(str(exc), ERROR_LIMIT)}".rstrip(": ")
    if code == EXIT_BUG and not debug:
        line += " (a bug: please report it with the output of --debug)"
    print(line, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
