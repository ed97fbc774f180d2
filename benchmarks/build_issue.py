"""Benchmark: build one issue's block from a generated 10,000-event Google calendar.

The pipeline expands recurrences over the issue's span only; the baseline, run in the same invocation, expands every
series over its whole life, filters to the window, then normalizes, merges, groups and renders the same way. Both
must build the same block. From the repo root: `python benchmarks/build_issue.py [--events N] [-n N] [--no-write]`.
"""

from __future__ import annotations

import argparse
import cProfile
import difflib
import io
import json
import os
import platform
import pstats
import random
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import partial
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar

from aggregator import places
from aggregator.config import Config, load_config
from aggregator.model import Event, RawEvent
from aggregator.normalize import normalize
from aggregator.pipeline import SourceReport, build_issue, fetch_source, fetch_span, merged, normalize_result
from aggregator.window import issue_window
from output.files import update_markdown_section
from output.markdown import render_block
from sources.base import SourceResult, Span
from sources.http import Http

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Building one issue (benchmarks/build_issue.py)"

SEED = 20250604
EVENTS = 10_000
REPEAT = 3
ISSUE_DATE = date(2025, 6, 4)  # a Wednesday inside the generated range
DATA_START = date(2018, 1, 1)
DATA_END = date(2027, 12, 31)
# The baseline expands open-ended series this far past the issue date.
HORIZON_YEARS = 10
SERIES_SHARE = 0.2
UNTIL_SHARE = 0.45
CALENDAR_ZONE = "Europe/London"
# Editors touch the coming weeks most, so half of the exceptions land near the issue date when the series runs then.
NEAR_ISSUE_WEEKS = 6
TARGET_RATIO = 5.0
WINDOWED = "windowed"
WHOLE_LIFE = "whole-life"
PRODID = "-//Google Inc//Google Calendar 70.9054//EN"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

CONFIG = """\
[issue]
weeks = 4

# The feed must not widen the span: this benchmark times the issue's block only.
[feed]
past_days = 0
future_days = 1

[[source]]
name = "Rust Community Calendar (generated)"
type = "ics"
url = "calendar.ics"
"""


@dataclass(frozen=True)
class Venue:
    """A LOCATION as organizers type it, the IANA zone of its city, and how an online event names its home."""

    location: str
    zone: str
    home: str

    @property
    def city(self) -> str:
        return self.home.split(",")[0]


VENUES = (
    Venue("c-base, Rungestraße 20, 10179 Berlin, Germany", "Europe/Berlin", "Berlin, Germany"),
    Venue("Mozilla Berlin, Schlesische Str. 27, Berlin", "Europe/Berlin", "Berlin, Germany"),
    Venue("TNG Technology Consulting, Beta-Straße 13a, 85774 Unterföhring, Germany", "Europe/Berlin", "München, DE"),
    Venue("The Trampery Old Street, 239 Old St, London EC1V 9EY, UK", "Europe/London", "London, UK"),
    Venue("Manchester Digital, Lever St, Manchester M1 1FN, United Kingdom", "Europe/London", "Manchester, UK"),
    Venue("Datadog, 620 8th Ave, New York, NY 10018, USA", "America/New_York", "New York, NY"),
    Venue("Cloudflare, 101 Townsend St, San Francisco, CA 94107", "America/Los_Angeles", "San Francisco, CA, USA"),
    Venue("Galvanize, 111 S Jackson St, Seattle, WA 98104, United States", "America/Los_Angeles", "Seattle, WA"),
    Venue("Puppet, 308 SW 2nd Ave, Portland, OR 97204", "America/Los_Angeles", "Portland, OR, US"),
    Venue("Braintree, 222 W Merchandise Mart Plaza, Chicago, IL", "America/Chicago", "Chicago, IL"),
    Venue("Shopify, 620 King St W, Toronto, ON M5V 1M6, Canada", "America/Toronto", "Toronto, Canada"),
    Venue("Mozilla Vancouver, 163 W Hastings St, Vancouver, BC, Canada", "America/Vancouver", "Vancouver, BC"),
    Venue("Notman House, 51 Rue Sherbrooke O, Montréal, QC H2X 1X2, Canada", "America/Toronto", "Montréal, QC, Canada"),
    Venue("Atlassian, 341 George St, Sydney NSW 2000, Australia", "Australia/Sydney", "Sydney, Australia"),
    Venue("Inspire9, 41 Stewart St, Richmond, Melbourne VIC, Australia", "Australia/Melbourne", "Melbourne, VIC, AU"),
    Venue("Xero, 19-23 Taranaki St, Wellington 6011, New Zealand", "Pacific/Auckland", "Wellington, New Zealand"),
    Venue(
        "Mercari, Roppongi Hills Mori Tower, 6 Chome-10-1 Roppongi, Minato City, Tokyo, Japan",
        "Asia/Tokyo",
        "Tokyo, JP",
    ),
    Venue("Microsoft Reactor, Bengaluru, Karnataka, India", "Asia/Kolkata", "Bengaluru, India"),
    Venue("Google Campus, Seoul, South Korea", "Asia/Seoul", "Seoul, South Korea"),
    Venue("GovTech Hive, 10 Pasir Panjang Rd, Singapore 117438", "Asia/Singapore", "Singapore"),
    Venue("Nubank, Rua Capote Valente 39, São Paulo - SP, Brasil", "America/Sao_Paulo", "São Paulo, Brazil"),
    Venue(
        "Globant, Ingeniero Butty 240, Buenos Aires, Argentina", "America/Argentina/Buenos_Aires", "Buenos Aires, AR"
    ),
    Venue("Ciudad de México, México", "America/Mexico_City", "Mexico City, Mexico"),
    Venue("Codam, Haarlemmerweg 10c, 1014 BE Amsterdam, Netherlands", "Europe/Amsterdam", "Amsterdam, NL"),
    Venue("Kongresshaus Zürich, Claridenstrasse 5, 8002 Zürich, Switzerland", "Europe/Zurich", "Zürich, Switzerland"),
    Venue("Station F, 5 Parvis Alan Turing, 75013 Paris, France", "Europe/Paris", "Paris, France"),
    Venue("Google for Startups Campus, Plac Konesera 10, Warszawa, Polska", "Europe/Warsaw", "Warsaw, Poland"),
    Venue("Impact Hub Madrid, Calle de Alameda 22, Madrid, Spain", "Europe/Madrid", "Madrid, Spain"),
    Venue("Talent Garden Calabiana, Via Arcivescovo Calabiana 6, Milano, Italy", "Europe/Rome", "Milano, Italy"),
    Venue("Epicenter, Mäster Samuelsgatan 36, Stockholm, Sweden", "Europe/Stockholm", "Stockholm, Sweden"),
    Venue("Impact Hub Praha, Drtinova 10, Praha 5, Czech Republic", "Europe/Prague", "Prague, Czechia"),
    Venue("Google Tel Aviv, Yigal Alon St 98, Tel Aviv-Yafo, Israel", "Asia/Jerusalem", "Tel Aviv, Israel"),
    Venue("CcHub, 294 Herbert Macaulay Way, Yaba, Lagos, Nigeria", "Africa/Lagos", "Lagos, Nigeria"),
    Venue("Workshop17, 17 Dock Rd, V&A Waterfront, Cape Town, South Africa", "Africa/Johannesburg", "Cape Town, ZA"),
)
KINDS = (
    "Hack and Learn",
    "Study Group",
    "Talks Night",
    "Coffee & Code",
    "Office Hours",
    "Beginners Workshop",
    "Embedded Rust Night",
    "Async Book Club",
    "Open Source Contribution Night",
    "Lightning Talks",
)
CONFERENCES = ("RustConf", "EuroRust", "RustLab", "Rust Nation", "RustFest", "Oxidize", "Rust Week", "Rust Forge")
BLURBS = (
    "Bring your laptop, your project or just your questions.",
    "Two talks and pizza. Beginners and compiler hackers equally welcome.",
    "We work through the book together, one chapter a week.",
    "Snacks provided by our host; please RSVP so we know how many to expect.",
)
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Stage:
    """A step of the windowed path: the functions whose cumulative profile time it is, why it costs, and the
    call counts that show it (a format string over COUNTED, left out when a counted function is not found)."""

    short: str
    label: str
    functions: tuple[tuple[str, str], ...]
    why: str
    evidence: str = ""


STAGES = (
    Stage(
        "parsing",
        "parse the file: `icalendar.Calendar.from_ical` in `sources/ics.py` `read_calendar`",
        (("sources/ics.py", "read_calendar"),),
        "icalendar builds property objects for every content line of every VEVENT, whether or not it touches the "
        "window, so both paths pay it in full",
    ),
    Stage(
        "expanding",
        "expand recurrences: `recurring_ical_events.of` and `between`",
        (("recurring_ical_events/__init__.py", "of"), ("recurring_ical_events/query.py", "between")),
        "`of` rewrites the UTC times for X-WR-TIMEZONE and indexes every component, then `between` runs each "
        "series' rule from its DTSTART up to the window before copying one component per occurrence kept",
        "{raw_events:,} occurrences kept",
    ),
    Stage(
        "preparing",
        "prepare each VEVENT: `sources/ics.py` `_written_durations` and `_prepare`",
        (("sources/ics.py", "_written_durations"), ("sources/ics.py", "_prepare")),
        "the file's lines are unfolded a second time to read each DURATION as written (a parsed timedelta cannot "
        "tell PT36H from P1DT12H), and each VEVENT is marked with what expansion would lose (UTC, floating, "
        "series, length) and has Windows zone names read as IANA zones",
    ),
    Stage(
        "converting",
        "occurrences to `RawEvent`: `sources/ics.py` `_raw_event`",
        (("sources/ics.py", "_raw_event"),),
        "reading a dozen properties off each occurrence",
    ),
    Stage(
        "normalizing",
        "normalize: `aggregator/normalize.py` `normalize`",
        (("aggregator/normalize.py", "normalize"),),
        "each description is parsed once for all the occurrences of its series and each link is checked once per "
        "run, so what remains is per event: the place lookup, the mode, the organizer and the labels",
        "{flatten:,} HTML parses and {safe_url:,} `safe_url` calls for {normalize:,} events",
    ),
    Stage(
        "merging",
        "merge: `aggregator/merge.py` `merge`",
        (("aggregator/merge.py", "merge"),),
        "events are compared only with those that share a day and a page, group, organizer or title words with "
        "them, and in a crowded block only with near neighbours (titles with rapidfuzz), so the work grows with "
        "the events, not with their square",
        "{compare:,} pairs compared, {last_day:,} `last_day` calls",
    ),
    Stage(
        "grouping",
        "window and group: `aggregator/pipeline.py` `build_issue`",
        (("aggregator/pipeline.py", "build_issue"),),
        "filtering to the window and sorting each section",
    ),
    Stage(
        "rendering",
        "render: `output/markdown.py` `render_block`",
        (("output/markdown.py", "render_block"),),
        "formatting and escaping each listing",
    ),
)
# Functions whose call counts back the stages' explanations.
COUNTED = {
    "raw_events": ("sources/ics.py", "_raw_event"),
    "normalize": ("aggregator/normalize.py", "normalize"),
    "flatten": ("aggregator/text.py", "_flatten"),
    "safe_url": ("aggregator/urls.py", "safe_url"),
    "compare": ("aggregator/merge.py", "_compare"),
    "last_day": ("aggregator/model.py", "last_day"),
}


@dataclass(frozen=True)
class Generated:
    """What the generated calendar holds, and the range the baseline expands over."""

    seed: int
    events: int
    series: int
    open_ended: int
    overrides: int
    exdates: int
    singles: int
    all_day: int
    utc: int
    venues: int
    countries: int
    zones: int
    size: int
    life_start: date
    life_end: date


@dataclass(frozen=True)
class Built:
    """The block one path built and its counts."""

    block: str
    raw: int
    listed: int


@dataclass
class Profiled:
    """One run under cProfile: seconds per stage (by short name), the profiled total, call counts, top functions."""

    stages: dict[str, float]
    seconds: float
    calls: dict[str, int]
    text: str


@dataclass
class PathResult:
    """One path's figures, as its subprocess reports them."""

    seconds: list[float]
    peak_kib: int
    floor_kib: int
    raw: int
    listed: int
    profile: Profiled | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @classmethod
    def from_json(cls, text: str) -> PathResult:
        data = json.loads(text)
        if data["profile"] is not None:
            data["profile"] = Profiled(**data["profile"])
        return cls(**data)


class _Generator:
    """Deterministic Google-shaped VEVENTs, counting what it made."""

    def __init__(self, rng: random.Random, issue_date: date) -> None:
        self.rng = rng
        self.issue_date = issue_date
        self.horizon = issue_date.replace(year=issue_date.year + HORIZON_YEARS)
        self.latest = self.horizon
        self.open_ended = 0
        self.overrides = 0
        self.exdates = 0
        self.all_day = 0
        self.utc = 0
        self.venues: set[Venue] = set()

    def venue(self) -> Venue:
        chosen = self.rng.choice(VENUES)
        self.venues.add(chosen)
        return chosen

    def uid(self) -> str:
        return "".join(self.rng.choices(_LETTERS[:26] + _LETTERS[52:], k=26)) + "@google.com"

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def in_utc(self, share: float) -> bool:
        """Some organizers' entries were saved in UTC, whose local date then comes from the place."""
        chosen = self.rng.random() < share
        self.utc += chosen
        return chosen

    def component(self, uid: str, summary: str, location: str, description: str) -> icalendar.Event:
        event = icalendar.Event()
        event.add("dtstamp", datetime(2025, 5, 30, 8, 15, 30, tzinfo=UTC))
        event.add("uid", uid)
        event.add("created", datetime(2017, 11, 2, 10, 11, 22, tzinfo=UTC))
        event.add("description", description)
        event.add("last-modified", datetime(2025, 5, 1, 7, 15, 8, tzinfo=UTC))
        event.add("location", location)
        event.add("sequence", 0)
        event.add("status", "CONFIRMED")
        event.add("summary", summary)
        return event

    def description(self, title: str, link: str, organizer: str, organizer_url: str, extra: str = "") -> str:
        """Plain text with bare links, or the Calendar editor's HTML with its google.com/url redirects."""
        if self.rng.random() < 0.25:
            return f"{self.rng.choice(BLURBS)}\n{link}\n\nOrganiser: {organizer} ({organizer_url}){extra}"
        usg = "".join(self.rng.choices(_LETTERS, k=28))
        redirect = f"https://www.google.com/url?q={quote(link, safe='')}&amp;sa=D&amp;source=calendar&amp;usg={usg}"
        return (
            f"<b>{title}</b><br>{self.rng.choice(BLURBS)}&nbsp;See you there!<br><br>"
            f'RSVP: <a href="{redirect}" target="_blank">{link}</a><br><br>'
            f'Organized by <a href="{organizer_url}">{organizer}</a>{extra}'
        )

    def where(self, venue: Venue) -> tuple[str, str]:
        """LOCATION and an extra description line: in person, online with or without a home city, or hybrid."""
        roll = self.rng.random()
        if roll < 0.12:
            return f"Online ({venue.home})", ""
        if roll < 0.17:
            return "Online", f"<br>Join: https://meet.jit.si/rust-{self.rng.randrange(10**6)}"
        if roll < 0.22:
            return venue.location, "<br>Hybrid event: also streamed at https://www.youtube.com/@rust-videos"
        return venue.location, ""

    def series(self, index: int) -> list[icalendar.Event]:
        """A weekly series with EXDATEs and moved RECURRENCE-ID overrides, ending by UNTIL or never."""
        venue = self.venue()
        kind = self.rng.choice(KINDS)
        organizer = f"Rust {venue.city} {kind} Group {index}"
        organizer_url = f"https://www.meetup.com/rust-{venue.city.lower().replace(' ', '-')}-{index}"
        title = f"Rust {venue.city}: {kind}"
        location, extra = self.where(venue)
        description = self.description(title, f"{organizer_url}/events/", organizer, organizer_url, extra)
        first = self.day(DATA_START, DATA_END - timedelta(weeks=26))
        local = datetime.combine(first, clock(self.rng.choice((17, 18, 19)), self.rng.choice((0, 30))))
        start = local.replace(tzinfo=ZoneInfo(venue.zone))
        # A UTC series keeps its UTC time across DST, so its occurrences are counted in UTC too.
        if self.in_utc(0.1):
            start = start.astimezone(UTC)
        length = timedelta(hours=self.rng.choice((2, 2.5, 3)))
        uid = self.uid()
        master = self.component(uid, title, location, description)
        master.add("dtstart", start)
        master.add("dtend", start + length)
        rule: dict[str, object] = {"freq": "weekly", "wkst": "MO", "byday": WEEKDAYS[start.weekday()]}
        weeks = (self.horizon - first).days // 7
        if self.rng.random() < UNTIL_SHARE:
            weeks = self.rng.randrange(26, 5 * 52)
            last = (start + timedelta(weeks=weeks - 1)).astimezone(UTC)
            rule["until"] = last.replace(hour=23, minute=59, second=59)
            self.latest = max(self.latest, last.date())
        else:
            self.open_ended += 1
        master.add("rrule", rule)
        events = [master]
        for week in self.exception_weeks(first, weeks, self.rng.randrange(6)):
            occurrence = start + timedelta(weeks=week)
            if self.rng.random() < 0.5:
                master.add("exdate", occurrence)
                self.exdates += 1
                continue
            moved = occurrence + self.rng.choice((timedelta(days=1), timedelta(days=-1), timedelta(hours=1)))
            suffix = self.rng.choice(("", " (moved)", " \N{EN DASH} special edition"))
            override = self.component(uid, title + suffix, location, description)
            override.add("dtstart", moved)
            override.add("dtend", moved + length)
            override.add("recurrence-id", occurrence)
            override["sequence"] = 1
            events.append(override)
            self.overrides += 1
        return events

    def exception_weeks(self, first: date, weeks: int, count: int) -> list[int]:
        """Distinct week numbers of a series to delete or move."""
        near = (self.issue_date - first).days // 7
        chosen: set[int] = set()
        for _ in range(count):
            low, high = 0, weeks - 1
            if self.rng.random() < 0.5 and 0 <= near < weeks:
                low, high = max(0, near - NEAR_ISSUE_WEEKS), min(weeks - 1, near + NEAR_ISSUE_WEEKS)
            chosen.add(self.rng.randint(low, high))
        return sorted(chosen)

    def single(self, index: int) -> icalendar.Event:
        """A one-off meetup, or an all-day conference of one to four days."""
        venue = self.venue()
        day = self.day(DATA_START, DATA_END)
        if self.rng.random() < 0.15:
            name = self.rng.choice(CONFERENCES)
            title = f"{name} {day.year} ({venue.city})"
            site = f"https://{name.lower().replace(' ', '')}.example/{day.year}/{index}/"
            event = self.component(self.uid(), title, venue.location, self.description(title, site, title, site))
            event.add("dtstart", day)
            event.add("dtend", day + timedelta(days=self.rng.randint(1, 4)))
            event.add("transp", "TRANSPARENT")
            self.all_day += 1
            return event
        kind = self.rng.choice(KINDS)
        title = f"Rust {venue.city}: {kind} \N{EN DASH} {day:%B} edition"
        group = f"rust-{venue.city.lower().replace(' ', '-')}-meetup-{index % 97}"
        link = f"https://www.meetup.com/{group}/events/{300_000_000 + index}/"
        location, extra = self.where(venue)
        organizer = f"Rust {venue.city} Meetup {index % 97}"
        event = self.component(
            self.uid(),
            title,
            location,
            self.description(title, link, organizer, f"https://www.meetup.com/{group}", extra),
        )
        start = datetime.combine(day, clock(self.rng.choice((10, 18, 19)))).replace(tzinfo=ZoneInfo(venue.zone))
        if self.in_utc(0.15):
            start = start.astimezone(UTC)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(hours=3))
        event.add("transp", "OPAQUE")
        return event


def generate_calendar(events: int, seed: int = SEED, issue_date: date = ISSUE_DATE) -> tuple[bytes, Generated]:
    """A Google-shaped calendar of `events` events, a fifth of them weekly series, and what it holds."""
    rng = random.Random(seed)
    generator = _Generator(rng, issue_date)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Rust Community (generated)")
    calendar.add("x-wr-timezone", CALENDAR_ZONE)
    series = round(events * SERIES_SHARE)
    components: list[icalendar.Event] = []
    for index in range(series):
        components.extend(generator.series(index))
    components.extend(generator.single(index) for index in range(events - series))
    # Google does not order a calendar's components: overrides come before or after their master.
    rng.shuffle(components)
    for component in components:
        calendar.add_component(component)
    calendar.add_missing_timezones(first_date=DATA_START, last_date=generator.latest)
    body = calendar.to_ical()
    generated = Generated(
        seed=seed,
        events=events,
        series=series,
        open_ended=generator.open_ended,
        overrides=generator.overrides,
        exdates=generator.exdates,
        singles=events - series,
        all_day=generator.all_day,
        utc=generator.utc,
        venues=len(generator.venues),
        countries=len({places.country_of_timezone(venue.zone) for venue in generator.venues}),
        zones=len({venue.zone for venue in generator.venues}),
        size=len(body),
        life_start=DATA_START,
        life_end=generator.latest,
    )
    return body, generated


def write_workspace(directory: Path, events: int, seed: int = SEED) -> Generated:
    """Write calendar.ics, a config.toml reading it and calendar.json (what it holds) into `directory`."""
    body, generated = generate_calendar(events, seed)
    (directory / "calendar.ics").write_bytes(body)
    (directory / "config.toml").write_text(CONFIG, encoding="utf-8")
    (directory / "calendar.json").write_text(json.dumps(asdict(generated), default=str), encoding="utf-8")
    return generated


def read_generated(directory: Path) -> Generated:
    data = json.loads((directory / "calendar.json").read_text(encoding="utf-8"))
    data["life_start"] = date.fromisoformat(data["life_start"])
    data["life_end"] = date.fromisoformat(data["life_end"])
    return Generated(**data)


def windowed(config: Config, http: Http, issue_date: date) -> Built:
    """The pipeline's own steps, as `collect` runs them, with recurrences expanded over the fetch span only.

    `collect` runs the same two calls in a thread pool; with one source that adds nothing but would hide the
    parse from cProfile, which sees only the main thread.
    """
    events: list[Event] = []
    raw = 0
    for spec in config.sources:
        result, report = fetch_source(spec, http, fetch_span(config, issue_date))
        if result is None:
            raise RuntimeError(f"{spec.name}: {report.error}")
        raw += len(result.events)
        events.extend(normalize_result(spec, result, report))
    return _block(config, events, raw, issue_date)


def whole_life(config: Config, http: Http, issue_date: date, life: Span) -> Built:
    """The baseline: every series expanded over `life`, then filtered to the span, then the same steps."""
    span = fetch_span(config, issue_date)
    events: list[Event] = []
    raw = 0
    for spec in config.sources:
        result, report = fetch_source(spec, http, life)
        if result is None:
            raise RuntimeError(f"{spec.name}: {report.error}")
        raw += len(result.events)
        kept = SourceResult([event for event in result.events if _touches(event, span)], result.warnings)
        events.extend(normalize_result(spec, kept, SourceReport(spec.name, spec.type)))
    return _block(config, events, raw, issue_date)


def _touches(raw: RawEvent, span: Span) -> bool:
    """Overlap with the span padded a day each side, in the occurrence's own clock, as parse_calendar pads it."""
    end = raw.end if raw.end is not None else raw.start
    first = raw.start.date() if isinstance(raw.start, datetime) else raw.start
    last = end.date() if isinstance(end, datetime) else end
    return first <= span.end + timedelta(days=1) and last >= span.start - timedelta(days=1)


def _block(config: Config, events: Sequence[Event], raw: int, issue_date: date) -> Built:
    issue = build_issue(merged(events, config.sources).events, issue_date, config.weeks, config.states)
    block = render_block(issue.window, issue.sections, config.states)
    return Built(block, raw, sum(len(items) for _, items in issue.sections))


def _max_rss_kib() -> int:
    # ru_maxrss is KiB on Linux (bytes on macOS, where this benchmark has not been run).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _warm_up() -> None:
    """Build the gazetteer's indexes (about a second) so neither path is charged for it."""
    venue = VENUES[0]
    normalize(RawEvent(source="warm-up", key="0", title="Rust", start=ISSUE_DATE, location=venue.location))


def run_path(name: str, directory: Path, profiled: bool) -> PathResult:
    """Time one run of a path in this process, or profile it instead, and write its block to `<name>.md`.

    A profile gets a process of its own: after a timed run the per-process caches (parsed descriptions, checked
    links) would be warm, and normalizing would look cheaper than it is.
    """
    config = load_config(directory / "config.toml")
    generated = read_generated(directory)
    with Http() as http:
        build: Callable[[], Built] = (
            partial(windowed, config, http, ISSUE_DATE)
            if name == WINDOWED
            else partial(whole_life, config, http, ISSUE_DATE, Span(generated.life_start, generated.life_end))
        )
        _warm_up()
        floor = _max_rss_kib()
        began = time.perf_counter()
        built, profiled_run = profile(build) if profiled else (build(), None)
        seconds = [] if profiled else [time.perf_counter() - began]
        result = PathResult(seconds, _max_rss_kib(), floor, built.raw, built.listed, profiled_run)
        (directory / f"{name}.md").write_text(built.block, encoding="utf-8")
    return result


def profile(build: Callable[[], Built]) -> tuple[Built, Profiled]:
    """One run under cProfile: what it built; cumulative seconds per stage, call counts, top functions by own time."""
    profiler = cProfile.Profile()
    built = profiler.runcall(build)
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]

    def rows(functions: Sequence[tuple[str, str]]) -> list[tuple[int, int, float, float, object]]:
        return [
            row
            for (filename, _, function), row in table.items()
            if any(filename.replace(os.sep, "/").endswith(path) and function == name for path, name in functions)
        ]

    stages = {stage.short: sum(row[3] for row in rows(stage.functions)) for stage in STAGES}
    calls = {key: sum(row[1] for row in rows([function])) for key, function in COUNTED.items()}
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats(pstats.SortKey.TIME).print_stats(12)
    total: float = stats.total_tt  # type: ignore[attr-defined]
    return built, Profiled(stages, total, calls, text.getvalue())


def spawn(name: str, directory: Path, profiled: bool) -> tuple[PathResult, str]:
    """One run of a path in its own process, so its peak RSS is its own; its figures and the block it built."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--workspace", str(directory)]
    done = subprocess.run([*command, *(["--profile"] if profiled else [])], check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {name} path failed (exit status {done.returncode})")
    result = PathResult.from_json((directory / f"{name}.json").read_text(encoding="utf-8"))
    return result, (directory / f"{name}.md").read_text(encoding="utf-8")


def combine(runs: Sequence[PathResult]) -> PathResult:
    """A path's runs as one result: every time, the highest peak, the profile of the run that had one."""
    return PathResult(
        seconds=[seconds for run in runs for seconds in run.seconds],
        peak_kib=max(run.peak_kib for run in runs),
        floor_kib=max(run.floor_kib for run in runs),
        raw=runs[0].raw,
        listed=runs[0].listed,
        profile=next((run.profile for run in runs if run.profile is not None), None),
    )


@dataclass(frozen=True)
class Report:
    """Both paths' figures and what they ran on."""

    generated: Generated
    windowed: PathResult
    whole_life: PathResult
    repeat: int
    command: str
    load: tuple[float, float]

    @property
    def ratio(self) -> float:
        return self.whole_life.median / self.windowed.median


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


def _runs(result: PathResult) -> str:
    return ", ".join(f"{seconds:.2f}" for seconds in result.seconds)


def describe_calendar(generated: Generated) -> str:
    g = generated
    window = issue_window(ISSUE_DATE)
    return (
        f"The generated calendar ({g.size / 1e6:.1f} MB, seed {g.seed}) holds {g.events:,} events: {g.series:,} weekly "
        f"series ({g.open_ended:,} open-ended, the rest with UNTIL; {g.exdates:,} EXDATEs and {g.overrides:,} moved "
        f"RECURRENCE-ID overrides, about half of them within {NEAR_ISSUE_WEEKS} weeks of the issue date) and "
        f"{g.singles:,} single events ({g.all_day:,} all-day, one to four days), at {g.venues} venues in "
        f"{g.countries} countries, in {g.zones} TZID zones with {g.utc:,} events in UTC, "
        f"X-WR-TIMEZONE {CALENDAR_ZONE}, one VTIMEZONE per zone. The issue is dated {ISSUE_DATE} (a Wednesday): "
        f"window {window.start} - {window.end}."
    )


def section(report: Report, today: date) -> str:
    """The BENCHMARKS.md section, from its heading to its last line."""
    w, b, g = report.windowed, report.whole_life, report.generated
    verdict = "met" if report.ratio >= TARGET_RATIO else "**missed**"
    lines = [
        HEADING,
        "",
        f"Measured {today} on {platform.system()} {platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
        f"Python {platform.python_version()} (1-minute load average {report.load[0]:.1f} before the runs, "
        f"{report.load[1]:.1f} after), with",
        "",
        f"    {report.command}",
        "",
        describe_calendar(g),
        "",
        f"| path | median s (of {report.repeat} run{'s' if report.repeat > 1 else ''}) | runs (s) | peak RSS (MiB) "
        "| occurrences expanded "
        "| events listed |",
        "|---|--:|---|--:|--:|--:|",
        f"| windowed: expand over the issue's span (the pipeline) | {w.median:.2f} | {_runs(w)} | "
        f"{_mib(w.peak_kib)} | {w.raw:,} | {w.listed:,} |",
        f"| baseline: expand every series over {g.life_start} - {g.life_end}, then filter | {b.median:.2f} | "
        f"{_runs(b)} | {_mib(b.peak_kib)} | {b.raw:,} | {b.listed:,} |",
        "",
        f"**{report.ratio:.1f}x** faster than the baseline (target {TARGET_RATIO:.0f}x: {verdict}); both paths built "
        f"the same block, which the script asserts. Times are wall clock from reading the file to the rendered block "
        f"(parse, expand, normalize, merge, window, group, render), after a warm-up that builds the gazetteer index. "
        f"Every run is its own subprocess, the paths alternating so that a change in the machine's load hits both; "
        f"a path's peak memory is the highest `ru_maxrss` of its runs, which includes the interpreter, the libraries "
        f"and the gazetteer ({_mib(w.floor_kib)} MiB before a windowed run, "
        f"{_mib(b.floor_kib)} MiB before a baseline run). The baseline calls the same `fetch_source` with a span "
        f"from the generated data's first day to the later of the latest UNTIL and {HORIZON_YEARS} years past the "
        f"issue date (for the open-ended series), then keeps the occurrences within a day of the window and hands "
        f"them to the same `normalize_result`.",
    ]
    if w.profile is not None:
        lines.extend(["", *profile_lines(w.profile), "", analysis(report, w.profile)])
    return "\n".join([*lines, ""])


def _ranked(profile: Profiled) -> list[tuple[Stage, float]]:
    return sorted(((stage, profile.stages.get(stage.short, 0.0)) for stage in STAGES), key=lambda pair: -pair[1])


def profile_lines(profile: Profiled) -> list[str]:
    """The stage table of the windowed path's profile."""
    total = profile.seconds
    rest = total - sum(profile.stages.values())
    return [
        f"Where the windowed path's time goes, from one more run under cProfile, in a process of its own so that "
        f"no cache is warm from a timed run ({total:.1f} s; the profiler inflates pure-Python code, so the shares "
        f"are indicative):",
        "",
        "| stage | s under cProfile | share |",
        "|---|--:|--:|",
        *(f"| {stage.label} | {seconds:.1f} | {seconds / total:.0%} |" for stage, seconds in _ranked(profile)),
        f"| other: reading the file, the pipeline's own loops | {rest:.1f} | {rest / total:.0%} |",
    ]


def _evidence(stage: Stage, calls: dict[str, int]) -> str:
    fields = [name for _, name, _, _ in string.Formatter().parse(stage.evidence) if name]
    if not stage.evidence or not all(calls.get(name) for name in fields):
        return ""
    return f" ({stage.evidence.format(**calls)})"


def analysis(report: Report, profile: Profiled) -> str:
    """The paragraph on what dominates: the top three stages, why each costs what it does, and the call counts."""
    top = [
        f"**{stage.short}** ({seconds / profile.seconds:.0%}): {stage.why}{_evidence(stage, profile.calls)}"
        for stage, seconds in _ranked(profile)[:3]
    ]
    w, b = report.windowed, report.whole_life
    return (
        f"The top three costs of the windowed path are {top[0]}; then {top[1]}; then {top[2]}. "
        f"Only the expansion differs between the paths: the baseline expands and converts {b.raw - w.raw:,} more "
        f"occurrences ({b.raw / max(w.raw, 1):.0f}x as many) only to drop them at the window, which is where its "
        f"extra time and memory go, while parsing, normalizing, merging and rendering cost both paths the same: "
        f"those common costs, not the expansion, bound the speedup."
    )


def console(report: Report) -> str:
    w, b = report.windowed, report.whole_life
    lines = [
        describe_calendar(report.generated),
        f"windowed:   median {w.median:.2f} s ({_runs(w)}), peak RSS {_mib(w.peak_kib)} MiB, "
        f"{w.raw:,} occurrences expanded, {w.listed:,} events listed",
        f"whole life: median {b.median:.2f} s ({_runs(b)}), peak RSS {_mib(b.peak_kib)} MiB, "
        f"{b.raw:,} occurrences expanded, {b.listed:,} events listed",
        f"ratio: {report.ratio:.1f}x (target {TARGET_RATIO:.0f}x); same block: yes",
    ]
    if w.profile is not None:
        lines.append(f"windowed path under cProfile ({w.profile.seconds:.1f} s), by stage:")
        lines.extend(f"  {seconds:6.1f} s  {stage.label}" for stage, seconds in _ranked(w.profile))
        lines.append("calls: " + ", ".join(f"{name} {count:,}" for name, count in w.profile.calls.items()))
        lines.append(w.profile.text)
    return "\n".join(lines)


def benchmark(args: argparse.Namespace, directory: Path, command: str) -> int:
    """Generate the calendar, alternate the two paths' runs, check every run built the same block, report."""
    print(f"generating {args.events:,} events in {directory} ...", flush=True)
    generated = write_workspace(directory, args.events, args.seed)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[PathResult]] = {WINDOWED: [], WHOLE_LIFE: []}
    expected = ""
    # Alternating the paths spreads any change in the machine's load over both.
    for repetition in range(args.repeat):
        for name in (WINDOWED, WHOLE_LIFE):
            print(f"run {repetition + 1} of {args.repeat}: {name} ...", flush=True)
            result, block = spawn(name, directory, profiled=False)
            if not expected:
                expected = block
            elif block != expected:
                diff = difflib.unified_diff(expected.splitlines(), block.splitlines(), WINDOWED, name, lineterm="")
                print("\n".join(list(diff)[:40]), file=sys.stderr)
                print(f"error: the {name} path built a different block", file=sys.stderr)
                return 1
            runs[name].append(result)
    print(f"profiling the {WINDOWED} path ...", flush=True)
    profiled, block = spawn(WINDOWED, directory, profiled=True)
    if block != expected:
        print(f"error: the profiled {WINDOWED} run built a different block", file=sys.stderr)
        return 1
    load = (load_before, os.getloadavg()[0])
    windowed_runs = replace(combine(runs[WINDOWED]), profile=profiled.profile)
    report = Report(generated, windowed_runs, combine(runs[WHOLE_LIFE]), args.repeat, command, load)
    print(console(report))
    if not args.no_write:
        update_markdown_section(BENCHMARKS_MD, HEADING, section(report, date.today()))
        print(f"updated {BENCHMARKS_MD}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=EVENTS, help=f"events to generate (default {EVENTS:,})")
    parser.add_argument("--repeat", "-n", type=int, default=REPEAT, help=f"timed runs per path (default {REPEAT})")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed of the generated calendar")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--workspace", type=Path, help="keep the calendar and both blocks here (default: a temp dir)")
    parser.add_argument("--child", choices=(WINDOWED, WHOLE_LIFE), help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 10 or args.repeat < 1:
        parser.error("--events must be at least 10 and --repeat at least 1")
    if args.child and args.workspace is None:
        parser.error("--child needs --workspace")
    return args


def recorded_command(args: argparse.Namespace) -> str:
    """The command that reproduces the figures; where the files were kept does not change them."""
    options = [("--events", args.events, EVENTS), ("--repeat", args.repeat, REPEAT), ("--seed", args.seed, SEED)]
    return " ".join(
        [
            "python benchmarks/build_issue.py",
            *(f"{flag} {value}" for flag, value, default in options if value != default),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        result = run_path(args.child, args.workspace, args.profile)
        (args.workspace / f"{args.child}.json").write_text(json.dumps(asdict(result)), encoding="utf-8")
        return 0
    command = recorded_command(args)
    if args.workspace is not None:
        args.workspace.mkdir(parents=True, exist_ok=True)
        return benchmark(args, args.workspace, command)
    with tempfile.TemporaryDirectory(prefix="twir-benchmark-") as directory:
        return benchmark(args, Path(directory), command)


if __name__ == "__main__":
    sys.exit(main())
