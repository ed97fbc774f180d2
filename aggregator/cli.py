"""The `twir-events` command: a thin layer over the library.

Each command imports the library it needs when it runs, so `--help` and light commands start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.schedule import add_parser as add_schedule_parser
from aggregator.schedule import cmd_schedule
from aggregator.tomltable import ConfigError
from aggregator.window import next_issue_date

if TYPE_CHECKING:
    from aggregator.config import Config
    from aggregator.job import JobResult

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 75
FORMATS = {"markdown": "events.md", "ics": "events.ics", "json": "events.json", "html": "index.html"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twir-events")
    except PackageNotFoundError:
        return "unknown"


def _issue_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _common(parser: argparse.ArgumentParser, dated: bool = True) -> None:
    parser.add_argument("--config", type=Path, default=Path("config.toml"), help="config file (default: ./config.toml)")
    if dated:
        parser.add_argument(
            "--date",
            type=_issue_date,
            default=None,
            help="issue date YYYY-MM-DD (default: the next Wednesday on or after today)",
        )


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="fetch every source, update the store, write the outputs and print the block",
        description="Fetch every source into the store, write events.md (the block), events.ics (the feed), "
        "regions/*.ics and events.json to the output folder, and print the block. "
        "Exit status: 0 written, 1 no source could be read, 2 usage or configuration error, 75 another run is busy.",
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
    from tqdm import tqdm

    from aggregator.job import run_job
    from aggregator.pipeline import SourceReport
    from aggregator.report import run_summary
    from sources.http import Http

    issue_date = args.date or next_issue_date(date.today())
    with tqdm(
        total=len(config.sources),
        unit="source",
        desc="fetching",
        file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(),
        leave=False,
    ) as bar:

        def done(report: SourceReport) -> None:
            bar.set_postfix_str(report.name[-30:], refresh=False)
            bar.update()

        with Http(config.http) as http:
            result = run_job(config, issue_date, http, on_done=done)
    _warn(result, args.quiet)
    sys.stderr.write(run_summary(result, config.health, config.output_dir))
    _note_base_url(config)
    if result.all_failed:
        print("error: no source could be read", file=sys.stderr)
        return EXIT_NO_SOURCE
    sys.stdout.write(result.block)
    return EXIT_OK


def _warn(result: JobResult, quiet: bool) -> None:
    if quiet:
        return
    for report in result.collected.reports:
        for line in report.warnings:
            print(f"warning: {line}", file=sys.stderr)


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
    from aggregator.diff import DiffError, format_diff
    from aggregator.job import diff_job

    issue_date = args.date or next_issue_date(date.today())
    try:
        diff = diff_job(config, issue_date, args.since)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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


def _busy_error() -> type[Exception]:
    """The run lock's error; an `except` clause evaluates this only when an error gets that far (the job is heavy)."""
    from aggregator.job import BusyError

    return BusyError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from aggregator.config import load_config
    from aggregator.store import StoreError

    try:
        config = load_config(args.config)
        return COMMANDS[args.command](args, config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _busy_error() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY


if __name__ == "__main__":
    sys.exit(main())
