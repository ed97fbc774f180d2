"""Unattended operation: a failing source costs the others nothing and keeps its last good events, a killed run
never damages the published outputs, and overlapping runs keep out of each other's way."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from faultserver import FaultServer

from aggregator.cli import EXIT_BUSY, EXIT_OK, main
from aggregator.config import Config, load_config
from aggregator.job import JobResult, run_job, run_lock
from aggregator.report import STATUS_DEGRADED, run_summary, status_table
from aggregator.store import Store
from aggregator.window import next_issue_date
from sources.http import MB, Http

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ISSUE = date(2026, 11, 25)
EVENTS = 6
# A whole run while one source fails: each request has a 3 s deadline, and sources are fetched concurrently.
BOUND = 10.0
HTTP = """[http]
retries = 1
backoff = 0.05
max_wait = 1
timeout_connect = 1
timeout_read = 1
deadline = 3
max_bytes = 1048576
"""
PLACES = (
    "Berlin, Germany",
    "Tokyo, Japan",
    "Sydney, NSW, Australia",
    "New York, NY, USA",
    "Toronto, ON, Canada",
    "São Paulo, Brazil",
    "Nairobi, Kenya",
)
WORDS = ("ownership", "borrowing", "lifetimes", "traits", "generics", "macros", "async", "embedded", "wasm", "unsafe")
GAMMA = "/gamma.ics"
# What output/files.py names a file while writing it: `.events.json.k2j4h1x0.tmp`.
# What a killed run may leave: a temporary link beside the output folder, or an unfinished version folder.
TEMP = re.compile(r"\..+\.\w+\.tmp|v-\w+")


def calendar(name: str, first: date, count: int, *, step: int = 3, version: str = "", words: int = 0) -> bytes:
    """A calendar of `count` evening meetups `step` days apart from `first`, one city after another."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//twir-events tests//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for index in range(count):
        day = first + timedelta(days=index * step)
        start = datetime(day.year, day.month, day.day, 17, tzinfo=UTC)
        event = icalendar.Event()
        event.add("uid", f"{name.lower()}-{index}@example.org")
        event.add("dtstamp", NOW)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(hours=2))
        event.add("summary", f"{name} Rust Meetup {index}{version}")
        event.add("location", f"Hall {index}, {PLACES[index % len(PLACES)]}")
        event.add("url", f"https://{name.lower()}{index}.example.org/events/{index}")
        talk = " ".join(WORDS[(index + k) % len(WORDS)] for k in range(words))
        event.add("description", f"Talks about {talk}." if talk else "Talks and pizza.")
        cal.add_component(event)
    return bytes(cal.to_ical())


def first_day(offset: int) -> date:
    return NOW.date() + timedelta(days=offset)


CALENDARS = {name: calendar(name, first_day(2 + n), EVENTS) for n, name in enumerate(("Alpha", "Beta", "Gamma"))}
EMPTY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//twir-events tests//EN\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        for name, body in CALENDARS.items():
            running.add(f"/{name.lower()}.ics", body, etag=True)
        yield running


def configure(folder: Path, server: FaultServer, gamma_url: str, http: str = HTTP) -> Config:
    """Write config.toml: Alpha and Beta served well by `server`, Gamma at `gamma_url`; the HTTP cache is on."""
    urls = {"Alpha": server.url("/alpha.ics"), "Beta": server.url("/beta.ics"), "Gamma": gamma_url}
    sources = [f'[[source]]\nname = "{name}"\ntype = "ics"\nurl = "{url}"\n' for name, url in urls.items()]
    (folder / "config.toml").write_text("\n".join([http, *sources]), encoding="utf-8")
    return load_config(folder / "config.toml")


def run(config: Config, now: datetime = NOW) -> tuple[JobResult, float]:
    began = time.monotonic()
    with Http(config.http) as http:
        result = run_job(config, ISSUE, http, now=now)
    return result, time.monotonic() - began


def published(config: Config) -> dict[str, set[str]]:
    """The keys events.json lists, per source."""
    document = json.loads((config.output_dir / "events.json").read_text(encoding="utf-8"))
    keys: dict[str, set[str]] = {}
    for event in document["events"]:
        keys.setdefault(event["source"], set()).add(event["key"])
    return keys


def source_entry(config: Config, name: str) -> dict[str, object]:
    document = json.loads((config.output_dir / "events.json").read_text(encoding="utf-8"))
    [entry] = [item for item in document["sources"] if item["name"] == name]
    return dict(entry)


def status_of(config: Config, now: datetime) -> tuple[dict[str, str], int]:
    """Each source's state as `status` prints it, and its exit code."""
    with Store(config.store_path) as store:
        health = store.source_health(now)
    table, code = status_table(health, [spec.name for spec in config.sources], config.health)
    rows = [line.split() for line in table.splitlines()[1:]]
    return {row[0]: row[1] for row in rows}, code


def healthy_first(folder: Path, server: FaultServer) -> tuple[Config, dict[str, set[str]], str]:
    """A run with every source well, so the store holds Gamma's last good events."""
    config = configure(folder, server, server.url(GAMMA))
    result, _ = run(config)
    assert [o.outcome for o in result.outcomes] == ["ok", "ok", "ok"]
    keys = published(config)
    assert sorted(keys) == ["Alpha", "Beta", "Gamma"]
    assert all(len(found) == EVENTS for found in keys.values())
    block = (config.output_dir / "events.md").read_text(encoding="utf-8")
    assert "Gamma Rust Meetup 0" in block
    return config, keys, block


@dataclass(frozen=True)
class Fault:
    """How Gamma goes wrong, what the run must call the outcome and the words its reason must contain."""

    name: str
    inject: Callable[[FaultServer], str]
    outcome: str
    cause: str


def _route(body: bytes = CALENDARS["Gamma"], **route: Any) -> Callable[[FaultServer], str]:
    def inject(server: FaultServer) -> str:
        return server.add(GAMMA, body, **route)

    return inject


FAULTS = (
    Fault("connection refused", lambda server: server.refused_url(GAMMA), "failed", "connection refused"),
    Fault("reply never comes", _route(delay=5.0), "failed", "timed out after 1 s"),
    Fault("body stops halfway", _route(fault="truncate"), "failed", "cut off"),
    Fault("body trickles", _route(fault="trickle", trickle=0.1), "failed", "timed out after 3 s"),
    Fault("HTTP 500", _route(status=500), "failed", "HTTP 500"),
    Fault("HTTP 429 with Retry-After", _route(status=429, headers={"Retry-After": "1"}), "failed", "HTTP 429"),
    Fault("50 MB body", _route(size=50 * MB), "failed", "exceeds 1 MB"),
    Fault("50 MB body, no length", _route(size=50 * MB, length=False), "failed", "exceeds 1 MB"),
    Fault("garbage bytes", _route(fault="garbage"), "failed", "not HTTP"),
    Fault("valid empty calendar", _route(body=EMPTY), "suspect", "no upcoming events (had 6)"),
    Fault(
        "events drop past max_drop",
        _route(body=calendar("Gamma", first_day(4), 2)),
        "suspect",
        "dropped from 6 to 2",
    ),
)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_failing_source_keeps_its_last_good_events_and_costs_the_others_nothing(
    fault: Fault, server: FaultServer, tmp_path: Path
) -> None:
    config, keys, block = healthy_first(tmp_path, server)

    config = configure(tmp_path, server, fault.inject(server))
    result, seconds = run(config)

    assert seconds < BOUND
    assert published(config) == keys
    assert (config.output_dir / "events.md").read_text(encoding="utf-8") == block
    outcomes = {o.report.name: (o.outcome, o.reason) for o in result.outcomes}
    assert outcomes["Alpha"] == outcomes["Beta"] == ("ok", "")
    assert outcomes["Gamma"][0] == fault.outcome
    assert fault.cause in outcomes["Gamma"][1]
    summary = run_summary(result, config.health, config.output_dir).splitlines()
    [line] = [line for line in summary if line.strip().startswith(f"{fault.outcome}: Gamma: ")]
    assert fault.cause in line
    entry = source_entry(config, "Gamma")
    assert entry["last_outcome"] == fault.outcome
    assert fault.cause in str(entry["last_error"])
    states, code = status_of(config, NOW)
    assert states == {"Alpha": "ok", "Beta": "ok", "Gamma": fault.outcome}
    assert code == STATUS_DEGRADED


def test_retry_after_is_honoured_before_giving_up(server: FaultServer, tmp_path: Path) -> None:
    config, _, _ = healthy_first(tmp_path, server)
    server.add(GAMMA, CALENDARS["Gamma"], status=429, headers={"Retry-After": "1"})
    run(config)
    first, second = server.log(GAMMA)[-2:]
    assert second.at - first.at >= 0.9


def test_a_source_failing_past_stale_after_hours_is_reported_stale(server: FaultServer, tmp_path: Path) -> None:
    config, keys, _ = healthy_first(tmp_path, server)
    server.add(GAMMA, status=500)
    hours = config.health.stale_after_hours
    sooner, later = NOW + timedelta(hours=hours - 1), NOW + timedelta(hours=hours + 1)

    run(config, now=sooner)
    assert status_of(config, sooner)[0]["Gamma"] == "failed"
    result, _ = run(config, now=later)

    assert published(config) == keys
    assert run_summary(result, config.health, config.output_dir).startswith("sources: 2 ok, 1 stale, 1 failed")
    assert source_entry(config, "Gamma")["stale"] is True
    states, code = status_of(config, later)
    assert states == {"Alpha": "ok", "Beta": "ok", "Gamma": "stale"}
    assert code == STATUS_DEGRADED


# Killing and overlapping runs of the real command.

BIG_EVENTS = 150


def cli_run(config: Path, issue: date) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "aggregator.cli", "run", "--config", str(config), "--date", str(issue), "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes]) -> None:
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_OK, err.decode()


def outputs(folder: Path) -> dict[str, bytes]:
    """The published files (temporary dotfiles left out), by path relative to the output folder."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def strays(folder: Path) -> set[str]:
    """Dotfiles in the output folder, its regions folder and beside it, and the version folders a run writes into.

    Cheap enough to poll every half millisecond.
    """
    found: set[str] = set()
    versions = folder.parent / f".{folder.name}.versions"
    for sub in ("", "regions/"):
        with contextlib.suppress(FileNotFoundError):
            found.update(sub + path.name for path in (folder / sub).iterdir() if path.name.startswith("."))
    with contextlib.suppress(FileNotFoundError):
        found.update(path.name for path in folder.parent.iterdir() if path.name.endswith(".tmp"))
        found.update(path.name for path in versions.iterdir() if path != folder.resolve())
    return found


def stamped(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {name: (data, (folder / name).stat().st_mtime_ns) for name, data in outputs(folder).items()}


def restore(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).write_bytes(data)


def check_whole(files: dict[str, bytes]) -> None:
    """Every output parses to the end."""
    assert files["events.md"].decode().startswith("Rusty Events between")
    json.loads(files["events.json"])
    for name, data in files.items():
        if name.endswith(".ics"):
            assert icalendar.Calendar.from_ical(data).name == "VCALENDAR"
            assert data.endswith(b"END:VCALENDAR\r\n")


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> bool:
    """SIGKILL the run as soon as `ready()`; False when it ended first."""
    limit = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < limit:
        if ready():
            process.kill()
            process.communicate()
            return process.returncode < 0
        time.sleep(0.0005)
    process.communicate()
    return False


@dataclass
class Attempt:
    """One run killed at `trigger`: what it left published, and the temporary files it left behind."""

    trigger: str
    killed: bool
    files: dict[str, bytes]
    new_strays: set[str]


def test_a_run_killed_at_any_point_leaves_the_published_outputs_whole(server: FaultServer, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    issue = next_issue_date(today)
    big = {
        version: calendar("Big", today - timedelta(days=20), BIG_EVENTS, step=1, version=version, words=120)
        for version in ("", " (v2)")
    }
    server.add("/big.ics", big[""], etag=True)
    config = tmp_path / "config.toml"
    config.write_text(f'[[source]]\nname = "Big"\ntype = "ics"\nurl = "{server.url("/big.ics")}"\n', encoding="utf-8")
    out = tmp_path / "public"
    settings = load_config(config)
    with Http(settings.http) as http:
        run_job(settings, issue, http)
    old = outputs(out)
    check_whole(old)
    # Every killed run below writes this version, so each file it replaced differs from the old one.
    server.add("/big.ics", big[" (v2)"], etag=True)

    def slow_reply() -> Callable[[], bool]:
        server.add("/big.ics", big[" (v2)"], etag=True, delay=2.0)
        hits = server.hits("/big.ics")
        return lambda: server.hits("/big.ics") > hits

    def writing(name: str) -> Callable[[], bool]:
        # Each run writes its set into a fresh version folder beside the output folder, then switches to it.
        versions = out.parent / f".{out.name}.versions"
        before = set(versions.iterdir())

        def started() -> bool:
            fresh = set(versions.iterdir()) - before
            return any((v / name).exists() or (v / "regions" / name).exists() for v in fresh)

        return started

    def replaced(name: str) -> Callable[[], bool]:
        inode = (out / name).stat().st_ino
        return lambda: (out / name).stat().st_ino != inode

    triggers: dict[str, Callable[[], Callable[[], bool]]] = {
        "while fetching a slow reply": slow_reply,
        "events.md replaced": lambda: replaced("events.md"),
        "writing events.json": lambda: writing("events.json"),
        "writing a region feed": lambda: writing("europe.ics"),
    }
    attempts = []
    for trigger, arm in triggers.items():
        # Each run starts from the previous outputs, as a scheduled run would find them.
        restore(out, old)
        before = strays(out)
        ready = arm()
        killed = kill_when(cli_run(config, issue), ready)
        server.add("/big.ics", big[" (v2)"], etag=True)
        attempts.append(Attempt(trigger, killed, outputs(out), strays(out) - before))

    restore(out, old)
    finish(cli_run(config, issue))
    new = outputs(out)
    check_whole(new)
    assert set(new) == set(old)
    assert all(new[name] != old[name] for name in ("events.md", "events.ics", "events.json"))
    for attempt in attempts:
        assert set(attempt.files) == set(old), attempt.trigger
        for name, data in attempt.files.items():
            assert data in (old[name], new[name]), f"{name} is neither the old nor the new output ({attempt.trigger})"
        assert all(TEMP.fullmatch(Path(stray).name) for stray in attempt.new_strays), attempt.new_strays
    assert attempts[0].killed
    assert attempts[0].files == old
    mid_write = [a.trigger for a in attempts[1:] if a.killed and (a.new_strays or old != a.files != new)]
    assert mid_write, "no kill landed while the outputs were being written"


def test_a_second_run_while_one_holds_the_lock_exits_75_and_touches_nothing(
    server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, _ = healthy_first(tmp_path, server)
    before = stamped(config.output_dir)
    hits = server.hits(GAMMA)
    capsys.readouterr()

    with run_lock(config):
        code = main(["run", "--config", str(config.path), "--date", ISSUE.isoformat(), "--quiet"])

    assert code == EXIT_BUSY
    err = capsys.readouterr().err
    assert "another twir-events run is using" in err
    assert server.hits(GAMMA) == hits
    assert stamped(config.output_dir) == before


def test_of_two_runs_started_together_the_second_exits_75_at_once(server: FaultServer, tmp_path: Path) -> None:
    healthy_first(tmp_path, server)
    patient = HTTP.replace("timeout_read = 1", "timeout_read = 10").replace("deadline = 3", "deadline = 10")
    config = configure(tmp_path, server, server.url(GAMMA), http=patient)
    before = outputs(config.output_dir)
    # The first run holds the lock this long: time enough for the second interpreter to start.
    server.add(GAMMA, CALENDARS["Gamma"], etag=True, delay=4.0)
    hits = server.hits(GAMMA)

    first = cli_run(config.path, ISSUE)
    limit = time.monotonic() + 30
    while server.hits(GAMMA) == hits and time.monotonic() < limit:
        time.sleep(0.01)
    second = cli_run(config.path, ISSUE)
    _, err = second.communicate(timeout=30)

    assert second.returncode == EXIT_BUSY
    assert first.poll() is None
    assert b"another twir-events run is using" in err
    assert outputs(config.output_dir) == before
    finish(first)
