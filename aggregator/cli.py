"""The `twir-events` command: a thin layer over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aggregator.config import load_config
from aggregator.job import run_job
from aggregator.tomltable import ConfigError
from aggregator.window import next_issue_date
from sources.http import Http

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE = 0, 1, 2


def _version() -> str:
    try:
        return version("twir-events")
    except PackageNotFoundError:
        return "unknown"


def _issue_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twir-events",
        description="Build This Week in Rust's Upcoming Events block and an .ics feed from Rust event sources.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="fetch every source and write events.md, events.ics, events.json",
        description="Fetch every source, write events.md (the block), events.ics (the feed), regions/*.ics and "
        "events.json to the output folder, and print the block.",
    )
    run.add_argument("--config", type=Path, default=Path("config.toml"), help="config file (default: ./config.toml)")
    run.add_argument(
        "--date",
        type=_issue_date,
        default=None,
        help="issue date YYYY-MM-DD (default: the next Wednesday on or after today)",
    )
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    issue_date = args.date or next_issue_date(date.today())
    result = run_job(config, issue_date, Http())
    for line in result.collected.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if result.all_failed:
        print("error: no source could be read", file=sys.stderr)
        return EXIT_NO_SOURCE
    sys.stdout.write(result.block)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
