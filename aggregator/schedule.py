"""`twir-events schedule`: one long-running process that refreshes on a cron expression and stops cleanly."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from aggregator.tomltable import ConfigError
from aggregator.window import next_issue_date

# APScheduler and the job are imported by the functions that use them: the CLI imports this module for
# its parser, and every other command would pay for them.
if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    from aggregator.config import Config

JOB_ID = "refresh"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How often the main thread looks for a recorded signal; bounds how long a stop request goes unnoticed.
POLL_SECONDS = 0.2

_log = logging.getLogger(__name__)


class RefreshError(Exception):
    """A refresh in which no source could be read; `summary` is the run summary."""

    def __init__(self, message: str, summary: str) -> None:
        super().__init__(message)
        self.summary = summary


def refresh_once(config: Config, *, quiet: bool) -> str:
    """Fetch every source for the coming issue, write the outputs and return the one-screen summary."""
    from aggregator.job import run_job
    from aggregator.report import run_summary
    from sources.http import Http

    with Http(config.http) as http:
        result = run_job(config, next_issue_date(date.today()), http)
    if not quiet:
        for line in result.collected.warnings:
            _log.warning("%s", line)
    summary = run_summary(result, config.health, config.output_dir)
    if result.all_failed:
        raise RefreshError("no source could be read", summary)
    return summary


@dataclass
class _Refresher:
    """The scheduled job and its event listener: everything a refresh writes to the log."""

    refresh: Callable[[], str]
    logger: logging.Logger
    trigger: CronTrigger
    stop: threading.Event
    running: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Run one refresh; every failure is logged here so the scheduler goes on to the next one."""
        from aggregator.job import BusyError
        from aggregator.store import StoreError

        self.running.set()
        started = time.monotonic()
        self.logger.info("refresh started")
        try:
            summary = self.refresh()
        except BusyError as exc:
            self.logger.warning("refresh skipped: %s", exc)
        except RefreshError as exc:
            self.logger.error("refresh failed after %.1fs: %s", time.monotonic() - started, exc)
            _log_lines(self.logger, logging.ERROR, exc.summary)
        except (ConfigError, StoreError) as exc:
            self.logger.error("refresh failed after %.1fs: %s", time.monotonic() - started, exc)
        except Exception:
            self.logger.exception("refresh failed after %.1fs", time.monotonic() - started)
        else:
            self.logger.info("refresh done in %.1fs", time.monotonic() - started)
            _log_lines(self.logger, logging.INFO, summary)
        finally:
            self.running.clear()

    def after(self, event: Any) -> None:
        """Report missed and overlapping runs, then when the next refresh is due."""
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        if event.code == EVENT_JOB_MISSED:
            self.logger.warning(
                "missed the refresh due at %s: more than the misfire grace late", _at(event.scheduled_run_time)
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            due = ", ".join(_at(moment) for moment in event.scheduled_run_times)
            # The refresh in progress announces the next one when it ends.
            self.logger.warning("skipped the refresh due at %s: the previous one is still running", due)
            return
        # A stopping scheduler has no next refresh.
        if not self.stop.is_set():
            self.logger.info("next refresh at %s", _at(self.next_run()))

    def next_run(self) -> datetime:
        return self.trigger.get_next_fire_time(None, datetime.now(self.trigger.timezone))  # type: ignore[no-any-return]


def schedule(
    config: Config,
    refresh: Callable[[], str],
    *,
    logger: logging.Logger,
    scheduler: BackgroundScheduler | None = None,
    run_now: bool = False,
    stop: threading.Event | None = None,
) -> None:
    """Call `refresh` on the `[schedule]` cron until SIGINT or SIGTERM (or `stop` is set), then wait for it to finish.

    Call it from the main thread (signal handlers live there); `scheduler` must not block in start().
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.util import undefined

    settings = config.schedule
    trigger = CronTrigger.from_crontab(settings.cron, timezone=settings.timezone)
    scheduler = scheduler or BackgroundScheduler(timezone=settings.timezone)
    stop = stop or threading.Event()
    refresher = _Refresher(refresh, logger, trigger, stop)
    scheduler.add_job(
        refresher.run,
        trigger,
        id=JOB_ID,
        name="refresh",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=settings.misfire_grace_seconds,
        next_run_time=datetime.now(trigger.timezone) if run_now else undefined,
    )
    scheduler.add_listener(
        refresher.after, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )
    received: list[int] = []
    logger.info(
        "scheduled: cron %r (%s), misfire grace %ds; %s",
        settings.cron,
        settings.timezone,
        settings.misfire_grace_seconds,
        "refreshing now" if run_now else f"next refresh at {_at(refresher.next_run())}",
    )
    with _record_signals(received):
        scheduler.start()
        try:
            while not (received or stop.wait(POLL_SECONDS)):
                continue
            stop.set()
            why = signal.Signals(received[0]).name if received else "stop requested"
            logger.info(
                "%s: %s", why, "stopping after the refresh in progress" if refresher.running.is_set() else "stopping"
            )
        finally:
            scheduler.shutdown(wait=True)
    logger.info("stopped")


@contextmanager
def _record_signals(received: list[int]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM are only appended to `received`; the previous handlers come back after."""

    # Only a list append: taking a lock here (as Event.set does) could deadlock the interrupted main thread.
    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def _log_lines(logger: logging.Logger, level: int, text: str) -> None:
    for line in text.splitlines():
        logger.log(level, "  %s", line)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the `schedule` command to the CLI's subcommands."""
    parser = commands.add_parser(
        "schedule",
        help="keep running and refresh on the [schedule] cron expression",
        description="Refresh (as `run` does, without printing the block) on the cron expression of the config's "
        "[schedule] table, logging each refresh to stderr. SIGINT or SIGTERM stops it after the refresh in progress.",
    )
    parser.add_argument("--config", type=Path, default=Path("config.toml"), help="config file (default: ./config.toml)")
    parser.add_argument("--run-now", action="store_true", help="refresh once at start, then follow the schedule")
    parser.add_argument("--quiet", action="store_true", help="no per-event warnings in the log")
    return parser


def cmd_schedule(args: argparse.Namespace, config: Config) -> int:
    """Run the scheduler until stopped; 0 after a clean stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    # The listener reports missed and overlapping runs itself; APScheduler's lines would repeat them.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    schedule(config, partial(refresh_once, config, quiet=args.quiet), logger=_log, run_now=args.run_now)
    return 0
