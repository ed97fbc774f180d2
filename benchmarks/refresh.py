"""Benchmark: refresh one calendar and 150 meetup groups from a local server that answers each request in 200 ms.

Each pass in its own process, so its CPU time and peak memory are its own: the cold refresh (`run_job` on a fresh
store and HTTP cache, default settings), the warm refresh (the same store and cache again: every source answers
304), a sweep of per-host limits and pool sizes, and the peer: what the existing TWiR tool does, `requests.get` on
each URL in turn, parsing nothing, in a process of its own that imports nothing of ours (benchmarks/peer.py), and
our HTTP layer alone doing the same. Every pass is repeated, the passes taking turns.
Run from the repo root: `python benchmarks/refresh.py [--groups N] [--delay S] [--repeat N] [--no-write] [--json PATH]`.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from measure import installed_env

from aggregator import job, places
from aggregator.config import Config, load_config
from aggregator.pipeline import WORKERS, collect
from output.files import update_markdown_section
from sources.http import Http, HttpSettings

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Refreshing 150 sources (benchmarks/refresh.py)"
CALENDAR = ROOT / "examples" / "demo" / "calendar.ics"

GROUPS = 150
DELAY = 0.2
# The demo calendar's issue; the generated meetups fall in its window.
ISSUE = date(2026, 11, 25)
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
# Two names for one server: the calendar has a host to itself, as calendar.google.com does, and every group
# shares the other, as on www.meetup.com, so the per-host limit governs the groups.
CALENDAR_HOST = "localhost"
GROUP_HOST = "127.0.0.1"
TARGET_SPEEDUP = 10.0
TARGET_WARM_SHARE = 0.05
TARGET_PEER_COST = 1.5
TARGET_FLOOR = 1.3
REPEAT = 3
BASELINE = "baseline: `requests.get` one URL after another, parsing nothing"
FETCH_ONLY = "fetch only: our HTTP layer, one URL after another, every answer cached, parsing nothing"
DEFAULT_PER_HOST = HttpSettings().per_host
# (per-host limit for the groups' host, thread pool size): the override alone, then with a larger pool.
SWEEP = ((4, WORKERS), (8, WORKERS), (16, WORKERS), (8, 16), (16, 16), (32, 32), (64, 64))
LAST_MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT"

CITIES = (
    ("Berlin", "", "de", "Europe/Berlin"),
    ("London", "", "gb", "Europe/London"),
    ("Paris", "", "fr", "Europe/Paris"),
    ("Amsterdam", "", "nl", "Europe/Amsterdam"),
    ("Zurich", "", "ch", "Europe/Zurich"),
    ("Vienna", "", "at", "Europe/Vienna"),
    ("Prague", "", "cz", "Europe/Prague"),
    ("Warsaw", "", "pl", "Europe/Warsaw"),
    ("Stockholm", "", "se", "Europe/Stockholm"),
    ("Oslo", "", "no", "Europe/Oslo"),
    ("Madrid", "", "es", "Europe/Madrid"),
    ("Milano", "", "it", "Europe/Rome"),
    ("New York", "NY", "us", "America/New_York"),
    ("Boston", "MA", "us", "America/New_York"),
    ("Chicago", "IL", "us", "America/Chicago"),
    ("Seattle", "WA", "us", "America/Los_Angeles"),
    ("San Francisco", "CA", "us", "America/Los_Angeles"),
    ("Austin", "TX", "us", "America/Chicago"),
    ("Toronto", "ON", "ca", "America/Toronto"),
    ("Montréal", "QC", "ca", "America/Toronto"),
    ("Vancouver", "BC", "ca", "America/Vancouver"),
    ("Sydney", "NSW", "au", "Australia/Sydney"),
    ("Melbourne", "VIC", "au", "Australia/Melbourne"),
    ("Tokyo", "", "jp", "Asia/Tokyo"),
    ("Singapore", "", "sg", "Asia/Singapore"),
    ("Bangalore", "", "in", "Asia/Kolkata"),
    ("São Paulo", "", "br", "America/Sao_Paulo"),
    ("Buenos Aires", "", "ar", "America/Argentina/Buenos_Aires"),
    ("Nairobi", "", "ke", "Africa/Nairobi"),
    ("Tel Aviv", "", "il", "Asia/Jerusalem"),
)
TOPICS = (
    "Async in Practice",
    "Hack Night",
    "Embedded Rust on the RP2040",
    "Lightning Talks",
    "Unsafe Code Guidelines",
    "Rust for Python Developers",
    "Writing a Database in Rust",
    "Bevy Game Jam",
    "WebAssembly with Leptos",
    "Error Handling Deep Dive",
)
# Meetup files every online event under one made-up venue in the Pacific.
ONLINE_VENUE = {
    "__typename": "Venue",
    "id": "26906060",
    "name": "Online event",
    "address": "",
    "city": "",
    "state": "",
    "country": "",
    "lat": -8.521147,
    "lng": 179.1962,
}
PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Events | {name} | Meetup</title>
<link rel="canonical" href="https://www.meetup.com/{urlname}/events/"/>
<meta property="og:title" content="{name} | Meetup"/>
<script src="/mu_static/en-US/_next/static/chunks/webpack-4a4b0c3e.js" defer=""></script>
</head>
<body>
<div id="__next"><div class="flex flex-col"><h1 class="ds-font-title-1">{name}</h1>\
<p>Upcoming events ({count})</p></div></div>
<script id="__NEXT_DATA__" type="application/json">{data}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class Resource:
    """One URL the server answers, with the validators it sends and honours."""

    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Traffic:
    """What the server saw: requests, 304 answers and body bytes sent."""

    requests: int = 0
    not_modified: int = 0
    body_bytes: int = 0

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.requests - other.requests,
            self.not_modified - other.not_modified,
            self.body_bytes - other.body_bytes,
        )


class Site(ThreadingHTTPServer):
    """A server on 127.0.0.1 that waits `delay` seconds before every answer, 304s included."""

    daemon_threads = True
    # Every pool thread connects at once; the default backlog of 5 drops SYNs and adds 1 s retransmit stalls.
    request_queue_size = 1024

    def __init__(self, resources: dict[str, Resource], delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.resources = resources
        self.delay = delay
        self._lock = threading.Lock()
        self._traffic = Traffic()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def traffic(self) -> Traffic:
        with self._lock:
            return self._traffic

    def count(self, not_modified: bool, body_bytes: int) -> None:
        with self._lock:
            t = self._traffic
            self._traffic = Traffic(t.requests + 1, t.not_modified + not_modified, t.body_bytes + body_bytes)

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK of the
    # headers on a kept-alive connection, a 40 ms stall per request that real servers do not have.
    disable_nagle_algorithm = True
    server: Site

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        resource = self.server.resources.get(self.path.split("?", 1)[0])
        if resource is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.server.count(False, 0)
            return
        if self.headers.get("If-None-Match") == resource.etag or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self.send_response(304)
            self.send_header("ETag", resource.etag)
            self.end_headers()
            self.server.count(True, 0)
            return
        self.send_response(200)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(len(resource.body)))
        self.send_header("ETag", resource.etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(resource.body)
        self.server.count(False, len(resource.body))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the benchmark prints its own summary."""


@dataclass(frozen=True)
class Group:
    """One generated meetup group."""

    urlname: str
    name: str
    city: str
    state: str
    country: str
    timezone: str


def groups(count: int) -> list[Group]:
    """`count` groups, one city after another: rust-berlin, rust-london, ..., then rust-berlin-2, ..."""
    made = []
    for index in range(count):
        city, state, country, zone = CITIES[index % len(CITIES)]
        round_ = index // len(CITIES) + 1
        slug = re.sub(r"[^a-z]+", "-", city.lower().replace("ã", "a").replace("é", "e")).strip("-")
        suffix = f"-{round_}" if round_ > 1 else ""
        made.append(
            Group(
                f"rust-{slug}{suffix}", f"Rust {city}{f' {round_}' if round_ > 1 else ''}", city, state, country, zone
            )
        )
    return made


def events_page(group: Group, index: int) -> bytes:
    """The group's events page: three meetups (in person, online, hybrid) in the Next.js Apollo state."""
    group_key = f"Group:{30000000 + index}"
    venue_key = f"Venue:{27000000 + index}"
    online_key = "Venue:26906060"
    round_ = index // len(CITIES)
    state: dict[str, object] = {
        "ROOT_QUERY": {"__typename": "Query", f'groupByUrlname({{"urlname":"{group.urlname}"}})': {"__ref": group_key}},
        online_key: ONLINE_VENUE,
        venue_key: {
            "__typename": "Venue",
            "id": venue_key.split(":")[1],
            "name": f"{group.city} Tech Hub",
            "address": f"{10 + index} Main Street",
            "city": group.city,
            "state": group.state,
            "country": group.country,
        },
    }
    edges = []
    for k, kind in enumerate(("PHYSICAL", "ONLINE", "HYBRID")):
        # Groups of one city meet on different days, so no two of their events look like duplicates.
        day = ISSUE + timedelta(days=2 * (round_ + 5 * k) + 1)
        start = datetime(day.year, day.month, day.day, 19, tzinfo=ZoneInfo(group.timezone))
        event_id = str(320000000 + 10 * index + k)
        state[f"Event:{event_id}"] = {
            "__typename": "Event",
            "id": event_id,
            "title": f"{group.name}: {TOPICS[(index + 3 * k) % len(TOPICS)]}",
            "eventUrl": f"https://www.meetup.com/{group.urlname}/events/{event_id}/",
            "dateTime": start.isoformat(timespec="minutes"),
            "endTime": (start + timedelta(hours=2)).isoformat(timespec="minutes"),
            "eventType": kind,
            "isOnline": kind == "ONLINE",
            "status": "ACTIVE",
            "going": {"__typename": "EventPersonConnection", "totalCount": 20 + index % 40},
            "venue": {"__ref": online_key if kind == "ONLINE" else venue_key},
            "group": {"__ref": group_key},
        }
        edges.append({"__typename": "GroupEventEdge", "node": {"__ref": f"Event:{event_id}"}})
    state[group_key] = {
        "__typename": "Group",
        "id": group_key.split(":")[1],
        "name": group.name,
        "urlname": group.urlname,
        "city": group.city,
        "state": group.state,
        "country": group.country,
        "timezone": group.timezone,
        "isPrivate": False,
        "link": f"https://www.meetup.com/{group.urlname}/",
        'events({"filter":{"status":["ACTIVE","CANCELLED"]},"first":10,"sort":"ASC"})': {
            "__typename": "GroupEventConnection",
            "totalCount": len(edges),
            "edges": edges,
        },
    }
    data = {
        "props": {"pageProps": {"__APOLLO_STATE__": state, "__N_SSP": True}, "__N_SSP": True},
        "page": "/[urlname]/events",
        "query": {"urlname": group.urlname},
        "buildId": "Qx3mUk2m1Bn0T6tA4c9Xq",
        "isFallback": False,
        "gssp": True,
        "locale": "en-US",
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    page = PAGE.format(name=html.escape(group.name), urlname=group.urlname, count=len(edges), data=text)
    return page.encode()


def resources(made: Sequence[Group]) -> dict[str, Resource]:
    served = {"/calendar.ics": Resource(CALENDAR.read_bytes(), "text/calendar; charset=UTF-8", '"calendar-1"')}
    for index, group in enumerate(made):
        served[f"/{group.urlname}/events/"] = Resource(events_page(group, index), "text/html", f'"{group.urlname}-1"')
    return served


def urls(port: int, made: Sequence[Group]) -> list[str]:
    """Every URL a refresh fetches: the calendar first, then each group's events page."""
    return [f"http://{CALENDAR_HOST}:{port}/calendar.ics"] + [
        f"http://{GROUP_HOST}:{port}/{group.urlname}/events/" for group in made
    ]


def write_config(folder: Path, port: int, made: Sequence[Group], per_host: int | None) -> Config:
    """A config reading the calendar and every group page; `per_host` sets host_limits for the groups' host."""
    limits = f'host_limits = {{ "{GROUP_HOST}" = {per_host} }}\n' if per_host is not None else ""
    listed = ",\n".join(f'    "http://{GROUP_HOST}:{port}/{group.urlname}"' for group in made)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        f"""[output]
dir = "public"

[http]
{limits}
[[source]]
name = "Rust Community Calendar"
type = "ics"
url = "http://{CALENDAR_HOST}:{port}/calendar.ics"

[[source]]
name = "meetup"
type = "meetup"
method = "page"
groups = [
{listed},
]
""",
        encoding="utf-8",
    )
    return load_config(folder / "config.toml")


@dataclass(frozen=True)
class Pass:
    """One measured refresh (or the baseline)."""

    label: str
    per_host: int
    workers: int
    seconds: float
    traffic: Traffic
    client_bytes: int
    # Until the last source was fetched and normalized; the rest is storing, rendering and writing.
    fetched: float = 0.0
    events: int = 0
    listed: int = 0
    failed: tuple[str, ...] = ()
    # The whole process: CPU seconds (user + system) and peak RSS in KiB; `runs` are every run's seconds.
    cpu: float = 0.0
    peak_kib: int = 0
    runs: tuple[float, ...] = ()

    @property
    def spread(self) -> str:
        runs = self.runs or (self.seconds,)
        return f"{min(runs):.2f} - {max(runs):.2f}"


def refresh(config: Config, label: str, per_host: int, workers: int) -> Pass:
    """`run_job` once, with a thread pool of `workers` (run_job itself always uses the module's WORKERS)."""
    pool: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if workers != WORKERS:
        # Imported only for the sweep: unittest.mock loads asyncio, 45 ms of CPU the pass would be charged for.
        from unittest import mock

        pool = mock.patch.object(job, "collect", partial(collect, workers=workers))
    # Untimed but counted in the process's CPU and memory: the gazetteer index, as the first lookup builds it.
    places.resolve("Berlin, Germany")
    done: list[float] = []
    with Http(config.http) as http, pool:
        began = time.perf_counter()
        result = job.run_job(config, ISSUE, http, now=NOW, on_done=lambda _: done.append(time.perf_counter()))
        seconds = time.perf_counter() - began
        client = sum(t.bytes_received for t in http.transfers)
    failed = tuple(f"{o.report.name}: {o.outcome}: {o.reason}" for o in result.outcomes if o.outcome != "ok")
    return Pass(
        label,
        per_host,
        workers,
        seconds,
        Traffic(),
        client,
        fetched=max(done) - began,
        events=len(result.collected.events),
        listed=len(result.rendered.issue.events),
        failed=failed,
    )


def peer(site: Site, urls: Sequence[str], workspace: Path, cache: Path | None) -> Pass:
    """The baseline (`requests.get` one URL after another) or, with `cache`, our HTTP layer alone, each in its own
    process (benchmarks/peer.py) that imports nothing else: its CPU and memory are its own."""
    listed = workspace / "urls.json"
    listed.write_text(json.dumps(list(urls)), encoding="utf-8")
    command = [
        str(Path(__file__).resolve().with_name("peer.py")),
        str(listed),
        *(["--ours", str(cache)] if cache else []),
    ]
    data, traffic = _measured(site, command, "peer.py")
    label = FETCH_ONLY if cache else BASELINE
    return Pass(label, 1, 1, data["seconds"], traffic, data["received"], cpu=data["cpu"], peak_kib=data["peak_kib"])


def child(spec: dict[str, object]) -> Pass:
    """One pass in this process, as the parent described it; CPU and peak memory are the whole process's."""
    config = load_config(Path(str(spec["folder"])) / "config.toml")
    measured = refresh(config, str(spec["label"]), int(spec["per_host"]), int(spec["workers"]))  # type: ignore[call-overload]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is KiB on Linux, where this benchmark runs.
    return replace(measured, cpu=usage.ru_utime + usage.ru_stime, peak_kib=usage.ru_maxrss)


def spawn(site: Site, spec: dict[str, object]) -> Pass:
    """Run one pass in its own process against the server; the traffic is what the server saw meanwhile."""
    data, traffic = _measured(
        site, [str(Path(__file__).resolve()), "--child", json.dumps(spec)], f"pass {spec['label']}"
    )
    return Pass(**{**data, "traffic": traffic, "failed": tuple(data["failed"])})


def _measured(site: Site, script: Sequence[str], what: str) -> tuple[dict[str, Any], Traffic]:
    """A Python script's JSON report, run as an installed package runs, and what the server saw meanwhile."""
    before = site.traffic
    done = subprocess.run([sys.executable, *script], env=installed_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr.strip()[-600:]}")
    return json.loads(done.stdout), site.traffic - before


def combine(passes: Sequence[Pass]) -> Pass:
    """A pass's repeated runs as one: median seconds and CPU, the highest peak, every run's seconds."""
    seconds = [run.seconds for run in passes]
    return replace(
        passes[-1],
        seconds=statistics.median(seconds),
        fetched=statistics.median(run.fetched for run in passes),
        cpu=statistics.median(run.cpu for run in passes),
        peak_kib=max(run.peak_kib for run in passes),
        runs=tuple(seconds),
        failed=tuple(line for run in passes for line in run.failed),
    )


@dataclass
class Report:
    """Everything one benchmark run measured."""

    groups: int
    delay: float
    page_bytes: int
    calendar_bytes: int
    baseline: Pass
    fetch_only: Pass
    cold: Pass
    warm: Pass
    sweep: list[Pass] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)
    repeat: int = 1
    # Every run of every pass, for the checks in `problems`.
    every: list[Pass] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.baseline.seconds / self.cold.seconds

    @property
    def warm_share(self) -> float:
        return self.warm.traffic.body_bytes / self.cold.traffic.body_bytes

    @property
    def first_at_target(self) -> Pass | None:
        return next((p for p in self.sweep if self.baseline.seconds / p.seconds >= TARGET_SPEEDUP), None)


def benchmark(
    groups_count: int, delay: float, workspace: Path, repeat: int, sweep_settings: Sequence[tuple[int, int]]
) -> Report:
    made = groups(groups_count)
    served = resources(made)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[Pass]] = {}
    with Site(served, delay) as site:
        fetched = urls(site.port, made)
        cold_label, warm_label = "cold, defaults", "warm, defaults (same store and cache)"
        for number in range(repeat):
            print(f"run {number + 1} of {repeat} ...", flush=True)
            runs.setdefault(BASELINE, []).append(peer(site, fetched, workspace, None))
            cache = workspace / f"fetch-only-{number}" / "http-cache.sqlite"
            runs.setdefault(FETCH_ONLY, []).append(peer(site, fetched, workspace, cache))
            folder = workspace / f"default-{number}"
            write_config(folder, site.port, made, None)
            for label in (cold_label, warm_label):
                spec = {"folder": str(folder), "label": label}
                one = spawn(site, {**spec, "per_host": DEFAULT_PER_HOST, "workers": WORKERS})
                runs.setdefault(label, []).append(one)
            for per_host, workers in sweep_settings:
                folder = workspace / f"per-host-{per_host}-workers-{workers}-{number}"
                write_config(folder, site.port, made, per_host)
                pool = "" if workers == WORKERS else f", pool of {workers}"
                label = f'cold, host_limits "{GROUP_HOST}" = {per_host}{pool}'
                spec = {"folder": str(folder), "label": label}
                runs.setdefault(label, []).append(spawn(site, {**spec, "per_host": per_host, "workers": workers}))
    combined = {label: combine(found) for label, found in runs.items()}
    cold, warm = combined.pop(cold_label), combined.pop(warm_label)
    base = combined.pop(BASELINE)
    alone = combined.pop(FETCH_ONLY)
    sweep = list(combined.values())
    pages = [served[f"/{group.urlname}/events/"].body for group in made]
    return Report(
        groups=groups_count,
        delay=delay,
        page_bytes=sum(len(page) for page in pages) // max(1, len(pages)),
        calendar_bytes=len(served["/calendar.ics"].body),
        baseline=base,
        fetch_only=alone,
        cold=cold,
        warm=warm,
        sweep=sweep,
        load=(load_before, os.getloadavg()[0]),
        repeat=repeat,
        every=[run for found in runs.values() for run in found],
    )


def problems(report: Report) -> list[str]:
    """What makes the figures meaningless: a failed source, or a pass that did not fetch every URL."""
    found = []
    expected = report.groups + 1
    for run in report.every:
        found += [f"{run.label}: {line}" for line in run.failed]
        if run.traffic.requests != expected:
            found.append(f"{run.label}: the server saw {run.traffic.requests} requests, expected {expected}")
        if run.label == report.warm.label and run.traffic.not_modified != expected:
            found.append(f"warm pass: {run.traffic.not_modified} of {expected} answers were 304")
    if report.warm.events != report.cold.events:
        found.append(f"warm pass read {report.warm.events} events, the cold one {report.cold.events}")
    return found


def floor(run: Pass, report: Report) -> float:
    """The latency floor: the baseline waits for every URL in turn; a refresh fetches the calendar alongside
    the group pages, which go min(per-host limit, pool) at a time."""
    if run is report.baseline or run is report.fetch_only:
        return (report.groups + 1) * report.delay
    return math.ceil(report.groups / min(run.per_host, run.workers)) * report.delay


def _row(run: Pass, report: Report) -> str:
    after = "-" if run is report.baseline or run is report.fetch_only else f"{run.seconds - run.fetched:.2f}"
    return (
        f"| {run.label} | {run.per_host} | {run.workers} | {run.seconds:.2f} | {run.spread} | {floor(run, report):.2f} "
        f"| {run.seconds / floor(run, report):.2f}x | {after} | {run.cpu:.2f} | {run.peak_kib / 1024:.0f} "
        f"| {run.traffic.requests} | {run.traffic.body_bytes:,} | {run.traffic.not_modified} "
        f"| {_speedups(run, report)} |"
    )


def _speedups(run: Pass, report: Report) -> str:
    """The baseline's median over the pass's, and the range over runs paired in the order they were taken."""
    paired = [b / r for b, r in zip(report.baseline.runs, run.runs, strict=False)]
    spread = f" ({min(paired):.1f} - {max(paired):.1f})" if len(paired) > 1 else ""
    return f"{report.baseline.seconds / run.seconds:.1f}x{spread}"


def _met(met: bool) -> str:
    return "met" if met else "not met"


def _setup(report: Report, command: str, today: date) -> list[str]:
    n, delay = report.groups, report.delay
    runs = (report.cold, report.warm, *report.sweep)
    agreed = "yes" if all(run.client_bytes == run.traffic.body_bytes for run in runs) else "no"
    return [
        f"Measured {today.isoformat()} on {platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()} (1-minute load average {report.load[0]:.1f} before the runs, "
        f"{report.load[1]:.1f} after), with",
        "",
        f"    {command}",
        "",
        f"A local `ThreadingHTTPServer` answers every request after {delay * 1000:.0f} ms, 304s included. It serves "
        f"`examples/demo/calendar.ics` ({report.calendar_bytes:,} bytes) at `{CALENDAR_HOST}` and {n} generated "
        f"meetup group events pages ({report.page_bytes:,} bytes on average, three events each in the "
        f'`__NEXT_DATA__` Apollo state, read with `method = "page"`) at `{GROUP_HOST}`, every one with an ETag and '
        f"Last-Modified, answering conditional requests with 304. The groups share one host, as on www.meetup.com, "
        f"so the per-host limit governs them. Each pass is `run_job` (fetch, parse, normalize, store, render and "
        f"write every output) on a fresh store and HTTP cache, except the warm pass, which reuses the cold pass's. "
        f"Every pass runs in its own process, {report.repeat} time{'s' if report.repeat > 1 else ''}, the passes "
        f"taking turns; the table gives the median and the range. Its seconds are `run_job`'s, after an untimed "
        f"place lookup that builds the gazetteer index; CPU (user + system) and peak RSS are the whole process's "
        f"(interpreter, imports and that index included), and so are the baseline's: `benchmarks/peer.py`, its own "
        f"process importing `requests` and nothing of ours (until 2026-12-05 the peer ran inside this script's "
        f"process and so also paid for importing the project: 0.13 s of CPU and 5 MiB more, in five paired runs "
        f'with bytecode cached). The "fetch only" row is the same script fetching through `sources.http.Http` '
        f"with a fresh cache. "
        f"Requests, 304s and bytes are the server's counts (body bytes sent); the HTTP layer's "
        f"own count of bytes received agreed in every pass: {agreed}. The pool is `aggregator/pipeline.py` "
        f"`WORKERS` ({WORKERS}), which `run_job` does not expose, so the passes with another pool patch "
        f"`collect`'s. The latency floor is ceil({n} / min(per-host limit, pool)) x {delay:g} s (the baseline's: "
        f"{n + 1} x {delay:g} s): the polite floor, what no client that keeps to the per-host limit can beat; "
        f'"vs floor" is the median over it. "After fetch" is the time from the last source\'s fetch and '
        f"normalization to the end of the run: storing, merging, rendering and writing the outputs.",
    ]


def _verdicts(report: Report) -> list[str]:
    cold, warm, base, alone = report.cold, report.warm, report.baseline, report.fetch_only
    n, delay = report.groups, report.delay
    ceiling = (n + 1) * delay / floor(cold, report)
    budget = base.seconds / TARGET_SPEEDUP
    fixed = cold.seconds - cold.fetched
    same_min = [
        (capped, other)
        for capped in report.sweep
        for other in report.sweep
        if capped.per_host > capped.workers and (other.per_host, other.workers) == (capped.workers, capped.workers)
    ]
    lines = [
        f"**Cold refresh with the defaults (per-host limit {DEFAULT_PER_HOST}, pool {WORKERS}): {cold.seconds:.2f} s, "
        f"{report.speedup:.1f}x faster than the baseline (target {TARGET_SPEEDUP:.0f}x: "
        f"{_met(report.speedup >= TARGET_SPEEDUP)}).** With {DEFAULT_PER_HOST} requests at a time to the groups' "
        f"host, the {n} pages take at least {n} / {DEFAULT_PER_HOST} x {delay:g} s = {floor(cold, report):.2f} s, "
        f"against the baseline's {n + 1} x {delay:g} s = {(n + 1) * delay:.1f} s: {ceiling:.1f}x is the ceiling "
        f"whatever the code does. {TARGET_SPEEDUP:.0f}x means {budget:.2f} s in all. Of that, the "
        f"{fixed:.2f} s after the last fetch are spent whatever the concurrency, which leaves "
        + (
            f"{budget - fixed:.2f} s for the pages: at least ceil({n} x {delay:g} / {budget - fixed:.2f}) = "
            f"{math.ceil(n * delay / (budget - fixed))} requests in flight to one host."
            if budget > fixed
            else "nothing for the pages: no concurrency reaches the target."
        ),
    ]
    for capped, other in same_min:
        lines[-1] += (
            f" The pool caps what a per-host limit can give: limit {capped.per_host} with a pool of "
            f"{capped.workers} took {capped.seconds:.2f} s, as limit {other.per_host} did ({other.seconds:.2f} s)."
        )
    first = report.first_at_target
    cpu, memory = cold.cpu / base.cpu, cold.peak_kib / base.peak_kib
    polite = cold.seconds / floor(cold, report)
    lines += [
        "",
        (
            f"The first setting of the sweep whose median reaches {TARGET_SPEEDUP:.0f}x: per-host limit "
            f"{first.per_host} with a pool of {first.workers} ({first.seconds:.2f} s, {_speedups(first, report)}; "
            "the range is over paired runs, and moves with the machine's load)."
            if first
            else f"No setting of the sweep reached {TARGET_SPEEDUP:.0f}x at its median."
        ),
        "",
        f"**Against the peer, cold with the defaults: {cpu:.2f}x its CPU ({cold.cpu:.2f} s against "
        f"{base.cpu:.2f} s) and {memory:.2f}x its peak memory ({cold.peak_kib / 1024:.0f} MiB against "
        f"{base.peak_kib / 1024:.0f} MiB)** (target at most {TARGET_PEER_COST:.1f}x each: CPU "
        f"{_met(cpu <= TARGET_PEER_COST)}, memory {_met(memory <= TARGET_PEER_COST)}). "
        f"**{polite:.2f}x the polite floor** of {floor(cold, report):.2f} s (target within {TARGET_FLOOR:.1f}x: "
        f"{_met(polite <= TARGET_FLOOR)}). The peer parses nothing; the refresh parses, normalizes, stores, "
        "merges and writes every output, so part of the difference is work the peer does not do. Where it goes: "
        f"our HTTP layer alone, fetching the same URLs one after another and parsing nothing, costs "
        f"{alone.cpu:.2f} s ({alone.cpu / base.cpu:.2f}x the peer's CPU): importing requests-cache and storing and "
        f"revalidating every answer, which the warm pass needs. The other {cold.cpu - alone.cpu:.2f} s are the work "
        f"the peer does not do: reading {n} pages and the calendar, normalizing {cold.events} events, storing and "
        f"merging them and writing {cold.listed} per-event calendars besides the block, the feeds, events.json and "
        "the page.",
        "",
        f"**Warm refresh: {warm.traffic.body_bytes:,} body bytes, {report.warm_share:.1%} of the cold pass's "
        f"{cold.traffic.body_bytes:,} (target under {TARGET_WARM_SHARE:.0%}: "
        f"{_met(report.warm_share < TARGET_WARM_SHARE)}).** {warm.traffic.not_modified} of "
        f"{warm.traffic.requests} requests were answered 304 and the same {warm.events} events were read from the "
        f"cache. It took {warm.seconds:.2f} s against the cold pass's {cold.seconds:.2f} s: a 304 costs the same "
        f"{delay:g} s round trip, so with the default per-host limit a warm refresh is as latency-bound as a cold one.",
    ]
    return lines


def section(report: Report, command: str, today: date) -> str:
    table = [
        f"| pass | per-host limit | pool | median s (of {report.repeat}) | runs min - max s | latency floor s "
        "| vs floor | after fetch s | CPU s | peak RSS MiB | requests | bytes sent | 304s | vs baseline (paired) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        *(_row(run, report) for run in (report.baseline, report.fetch_only, report.cold, report.warm, *report.sweep)),
    ]
    return "\n".join([HEADING, "", *_setup(report, command, today), "", *table, "", *_verdicts(report), ""])


def console(report: Report) -> str:
    runs = [report.baseline, report.cold, report.warm, *report.sweep]
    header = ("pass", "per-host", "pool", "seconds", "requests", "bytes", "304s", "speedup")
    lines = ["{:<60} {:>8} {:>5} {:>8} {:>8} {:>10} {:>5} {:>8}".format(*header)]
    lines += [
        f"{run.label[:60]:<60} {run.per_host:>8} {run.workers:>5} {run.seconds:>8.2f} {run.traffic.requests:>8} "
        f"{run.traffic.body_bytes:>10,} {run.traffic.not_modified:>5} {report.baseline.seconds / run.seconds:>7.1f}x"
        for run in runs
    ]
    lines.append(
        f"cold vs baseline: {report.speedup:.1f}x (target {TARGET_SPEEDUP:.0f}x); "
        f"warm bytes: {report.warm_share:.1%} of cold (target < {TARGET_WARM_SHARE:.0%})"
    )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=GROUPS, help=f"meetup groups to serve (default {GROUPS})")
    parser.add_argument("--delay", type=float, default=DELAY, help=f"seconds before each answer (default {DELAY})")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="also write the measurements to this JSON file")
    parser.add_argument("--repeat", "-n", type=int, default=REPEAT, help=f"runs of every pass (default {REPEAT})")
    parser.add_argument("--no-sweep", action="store_true", help="only the baseline, cold and warm passes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.groups < 1 or args.delay < 0:
        parser.error("--groups must be at least 1 and --delay at least 0")
    return args


def recorded_command(args: argparse.Namespace) -> str:
    options = [("--groups", args.groups, GROUPS), ("--delay", args.delay, DELAY), ("--repeat", args.repeat, REPEAT)]
    return " ".join(
        ["python benchmarks/refresh.py", *(f"{flag} {value:g}" for flag, value, default in options if value != default)]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asdict(child(json.loads(args.child)))))
        return 0
    with tempfile.TemporaryDirectory(prefix="twir-refresh-") as directory:
        report = benchmark(args.groups, args.delay, Path(directory), args.repeat, () if args.no_sweep else SWEEP)
    sys.stdout.write(console(report))
    found = problems(report)
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    if found:
        return 1
    if not args.no_write:
        update_markdown_section(BENCHMARKS_MD, HEADING, section(report, recorded_command(args), date.today()))
        print(f"updated {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
