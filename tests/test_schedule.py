"""The built-in scheduler, driving the real refresh against a local calendar server."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.config import Config, load_config
from aggregator.job import run_lock
from aggregator.schedule import JOB_ID, refresh_once, schedule

ROOT = Path(__file__).resolve().parents[1]
LOGGER = "test.schedule"
CRON = "* * * * *"
GRACE = 90


def calendar(title: str) -> bytes:
    """A one-event calendar, a week from today so it lands in the coming issue and the feed."""
    start = datetime.combine(date.today() + timedelta(days=7), datetime.min.time(), UTC) + timedelta(hours=18)
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//twir-events tests//EN",
        "BEGIN:VEVENT",
        "UID:meetup-1@example.com",
        f"DTSTAMP:{start.strftime(stamp)}",
        f"DTSTART:{start.strftime(stamp)}",
        f"DTEND:{(start + timedelta(hours=2)).strftime(stamp)}",
        f"SUMMARY:{title}",
        "LOCATION:Berlin, Germany",
        "URL:https://example.com/events/1",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def make_config(tmp_path: Path, url: str) -> Config:
    (tmp_path / "config.toml").write_text(
        f'[schedule]\ncron = "{CRON}"\nmisfire_grace_seconds = {GRACE}\n\n'
        "[http]\nretries = 0\n\n"
        f'[[source]]\nname = "Local calendar"\ntype = "ics"\nurl = "{url}"\n'
    )
    return load_config(tmp_path / "config.toml")


class OnNextRun(logging.Handler):
    """Calls back each time the scheduler announces the next run, i.e. once a refresh is over and fully logged."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        super().__init__()
        self.callback = callback
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("next refresh at "):
            self.count += 1
            self.callback(self.count)


def run_scheduler(
    config: Config, after_refresh: Callable[[BackgroundScheduler, threading.Event, int], None]
) -> BackgroundScheduler:
    """Run `schedule` with run_now in this (main) thread; `after_refresh(scheduler, stop, count)` after each refresh."""
    scheduler = BackgroundScheduler(timezone="UTC")
    stop = threading.Event()
    logger = logging.getLogger(LOGGER)
    handler = OnNextRun(lambda count: after_refresh(scheduler, stop, count))
    logger.addHandler(handler)
    # Whatever happens, the test must not hang.
    guard = threading.Timer(20, stop.set)
    guard.start()
    try:
        schedule(
            config,
            lambda: refresh_once(config, quiet=True),
            logger=logger,
            scheduler=scheduler,
            run_now=True,
            stop=stop,
        )
    finally:
        guard.cancel()
        logger.removeHandler(handler)
    assert handler.count, "no refresh ran before the guard timer stopped the scheduler"
    return scheduler


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= level]


def stop_after_first(scheduler: BackgroundScheduler, stop: threading.Event, count: int) -> None:
    stop.set()


def test_run_now_refreshes_writes_outputs_and_logs_the_next_run(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    httpserver.expect_request("/rust.ics").respond_with_data(
        calendar("Rust Berlin Hack Night"), content_type="text/calendar"
    )
    config = make_config(tmp_path, httpserver.url_for("/rust.ics"))
    jobs: list[Any] = []

    def inspect_then_stop(scheduler: BackgroundScheduler, stop: threading.Event, count: int) -> None:
        jobs.append(scheduler.get_job(JOB_ID))
        stop.set()

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    before = datetime.now(UTC)
    scheduler = run_scheduler(config, inspect_then_stop)

    assert not scheduler.running
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    assert "Rust Berlin Hack Night" in (tmp_path / "public" / "events.ics").read_text()
    assert "Rust Berlin Hack Night" in (tmp_path / "public" / "events.md").read_text()
    [job] = jobs
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, GRACE)
    assert str(job.trigger) == str(CronTrigger.from_crontab(CRON, timezone="UTC"))

    logged = messages(caplog)
    assert logged[0].startswith(f"scheduled: cron '{CRON}' (UTC)")
    assert logged.index("refresh started") < next(i for i, m in enumerate(logged) if m.startswith("refresh done in"))
    assert any("sources: 1 ok" in m and "1 in this issue" in m for m in logged)
    [next_run] = [m.removeprefix("next refresh at ") for m in logged if m.startswith("next refresh at ")]
    at = datetime.strptime(next_run, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert at.second == 0 and before < at <= datetime.now(UTC) + timedelta(minutes=1)
    assert logged[-2:] == ["stop requested: stopping", "stopped"]


def test_a_failing_refresh_is_logged_and_the_scheduler_runs_the_next_one(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    httpserver.expect_ordered_request("/rust.ics").respond_with_data("gone", status=404)
    httpserver.expect_ordered_request("/rust.ics").respond_with_data(
        calendar("Rust Paris #82"), content_type="text/calendar"
    )
    config = make_config(tmp_path, httpserver.url_for("/rust.ics"))

    def rerun_then_stop(scheduler: BackgroundScheduler, stop: threading.Event, count: int) -> None:
        if count == 1:
            scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))
        else:
            stop.set()

    run_scheduler(config, rerun_then_stop)

    httpserver.check_assertions()
    errors = messages(caplog, logging.ERROR)
    assert re.fullmatch(r"refresh failed after \d+\.\ds: no source could be read", errors[0])
    assert any("failed: Local calendar:" in m and "404" in m for m in errors)
    logged = messages(caplog)
    assert logged.index(errors[0]) < next(i for i, m in enumerate(logged) if m.startswith("refresh done in"))
    assert sum(m.startswith("next refresh at ") for m in logged) == 2
    assert "Rust Paris #82" in (tmp_path / "public" / "events.ics").read_text()


def test_a_busy_store_skips_the_refresh(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = make_config(tmp_path, httpserver.url_for("/rust.ics"))

    with run_lock(config):
        run_scheduler(config, stop_after_first)

    [warning] = messages(caplog, logging.WARNING)
    assert warning.startswith("refresh skipped: another twir-events run is using")
    assert not (tmp_path / "public").exists()
    assert not httpserver.log


def test_sigterm_stops_the_scheduler(tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    httpserver.expect_request("/rust.ics").respond_with_data(calendar("Rust Oslo"), content_type="text/calendar")
    config = make_config(tmp_path, httpserver.url_for("/rust.ics"))

    def terminate(scheduler: BackgroundScheduler, stop: threading.Event, count: int) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    run_scheduler(config, terminate)

    assert messages(caplog)[-2:] == ["SIGTERM: stopping", "stopped"]


SCHEDULE_MAIN = """
import argparse, sys
from aggregator.config import load_config
from aggregator.schedule import add_parser, cmd_schedule
parser = argparse.ArgumentParser()
add_parser(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(cmd_schedule(args, load_config(args.config)))
"""
DELAY = 1.5


def test_sigint_stops_the_process_after_the_refresh_in_progress(tmp_path: Path, httpserver: HTTPServer) -> None:
    arrived = threading.Event()

    def slow(request: Request) -> Response:
        arrived.set()
        time.sleep(DELAY)
        return Response(calendar("Rust Tokyo"), content_type="text/calendar")

    httpserver.expect_request("/rust.ics").respond_with_handler(slow)
    config = make_config(tmp_path, httpserver.url_for("/rust.ics"))
    command = [sys.executable, "-c", SCHEDULE_MAIN, "schedule", "--config", str(config.path), "--run-now", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert arrived.wait(30), "the scheduler never fetched the calendar"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 0, err
    assert out == ""
    # Only the order of what happened is checked: how long each step takes depends on the machine's load.
    logged = [(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"), line[24:]) for line in err.splitlines()]
    texts = [text.split(" ", 1)[1] for _, text in logged]
    stopping = texts.index("SIGINT: stopping after the refresh in progress")
    done = next(i for i, text in enumerate(texts) if text.startswith("refresh done in"))
    assert stopping < done < texts.index("stopped") == len(texts) - 1
    assert "Rust Tokyo" in (tmp_path / "public" / "events.ics").read_text()
