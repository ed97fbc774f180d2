"""Benchmark: build one issue's block from a generated 10,000-event Google calendar.

The pipeline expands recurrences over the issue's span only; the baseline, run in the same process, expands every
series over its whole life, filters to the window and then normalizes, merges, groups and renders the same way.
Both must give the same block. Run from the repo root: `python benchmarks/build_issue.py [--events N] [--no-write]`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time as clock, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar

from aggregator.config import Config, load_config
from aggregator.model import Event, RawEvent
from aggregator.pipeline import SourceReport, build_issue, collect, fetch_source, fetch_span, merged, normalize_result
from output.markdown import render_block
from sources.base import SourceResult, Span
from sources.http import Http

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Building one issue (benchmarks/build_issue.py)"

SEED = 20250604
ISSUE_DATE = date(2025, 6, 4)  # a Wednesday inside the generated range
DATA_START = date(2018, 1, 1)
DATA_END = date(2027, 12, 31)
# The baseline expands open-ended series this far past the issue date.
HORIZON_YEARS = 10
SERIES_SHARE = 0.2
CALENDAR_ZONE = "Europe/London"
# Google editors touch the upcoming weeks most, so half of the exceptions land near the issue date.
NEAR_ISSUE = timedelta(weeks=6)
TARGET_RATIO = 5.0


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
    Venue("Manchester Digital, Lever St, Manchester M1 1FN, United Kingdom", "Europe/London", "Manchester, United Kingdom"),
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
    Venue("Mercari, Roppongi Hills Mori Tower, 6 Chome-10-1 Roppongi, Minato City, Tokyo, Japan", "Asia/Tokyo", "Tokyo, Japan"),
    Venue("Microsoft Reactor, Bengaluru, Karnataka, India", "Asia/Kolkata", "Bengaluru, India"),
    Venue("Google Campus, Seoul, South Korea", "Asia/Seoul", "Seoul, South Korea"),
    Venue("GovTech Hive, 10 Pasir Panjang Rd, Singapore 117438", "Asia/Singapore", "Singapore"),
    Venue("Nubank, Rua Capote Valente 39, São Paulo - SP, Brasil", "America/Sao_Paulo", "São Paulo, Brazil"),
    Venue("Globant, Ingeniero Butty 240, Buenos Aires, Argentina", "America/Argentina/Buenos_Aires", "Buenos Aires, Argentina"),
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
    Venue("Workshop17, 17 Dock Rd, V&A Waterfront, Cape Town, South Africa", "Africa/Johannesburg", "Cape Town, South Africa"),
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
CONFERENCES = ("RustConf", "EuroRust", "RustLab", "Rust Nation UK", "RustFest", "Oxidize", "Rust Week", "Rust Forge")
BLURBS = (
    "Bring your laptop, your project or just your questions.",
    "Two talks and pizza. Beginners and compiler hackers equally welcome.",
    "We work through the book together, one chapter a week.",
    "Snacks provided by our host; please RSVP so we know how many to expect.",
)

# The generated file starts with Google's header, like the real feed.
PRODID = "-//Google Inc//Google Calendar 70.9054//EN"


@dataclass(frozen=True)
class Generated:
    """A calendar written to disk, what it holds, and the range the baseline must expand over."""

    config: Path
    series: int
    singles: int
    overrides: int
    exdates: int
    life: Span


@dataclass(frozen=True)
class Built:
    """What one path produced."""

    block: str
    raw: int
    listed: int


@dataclass(frozen=True)
class Measured:
    """Median seconds over the repetitions, tracemalloc peak bytes, and the built block's counts."""

    seconds: list[float]
    peak: int
    built: Built

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class _Generator:
    """Deterministic Google-shaped VEVENTs; one instance per calendar."""

    def __init__(self, rng: random.Random, issue_date: date) -> None:
        self.rng = rng
        self.issue_date = issue_date
        self.overrides = 0
        self.exdates = 0
        self.latest = issue_date

    def uid(self) -> str:
        return "".join(self.rng.choices("abcdefghijklmnopqrstuv0123456789", k=26)) + "@google.com"

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def base(self, uid: str, summary: str, location: str, description: str) -> icalendar.Event:
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
        if self.rng.random() < 0.25:
            return f"{self.rng.choice(BLURBS)}\n{link}\n\nOrganiser: {organizer} ({organizer_url}){extra}"
        token = "".join(self.rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=28))
        redirect = f"https://www.google.com/url?q={quote(link, safe='')}&amp;sa=D&amp;source=calendar&amp;usd=2&amp;usg={token}"
        return (
            f"<b>{title}</b><br>{self.rng.choice(BLURBS)}&nbsp;See you there!<br><br>"
            f'RSVP: <a href="{redirect}" target="_blank">{link}</a><br><br>'
            f'Organized by <a href="{organizer_url}">{organizer}</a>{extra}'
        )

    def where(self, venue: Venue) -> tuple[str, str]:
        """LOCATION and an extra description line: in person, online with a home city, or hybrid."""
        roll = self.rng.random()
        if roll < 0.12:
            return f"Online ({venue.home})", ""
        if roll < 0.17:
            return "Online", "<br>Join: https://meet.jit.si/rust-" + str(self.rng.randrange(10**6))
        if roll < 0.22:
            return venue.location, "<br>Hybrid event: also streamed at https://www.youtube.com/@rust-videos"
        return venue.location, ""

    def series(self, index: int) -> list[icalendar.Event]:
        """A weekly series with EXDATEs and moved overrides, ending by UNTIL or never."""
        venue = self.rng.choice(VENUES)
        zone = ZoneInfo(venue.zone)
        kind = self.rng.choice(KINDS)
        slug = f"rust-{venue.city.lower().replace(' ', '-')}-{index}"
        organizer = f"Rust {venue.city} {kind} Group {index}"
        organizer_url = f"https://www.meetup.com/{slug}"
        title = f"Rust {venue.city}: {kind}"
        location, extra = self.where(venue)
        description = self.description(title, f"{organizer_url}/events/", organizer, organizer_url, extra)
        first = self.day(DATA_START, DATA_END - timedelta(weeks=26))
        start = datetime.combine(first, clock(self.rng.choice((17, 18, 19)), self.rng.choice((0, 30))), zone)
        length = timedelta(hours=self.rng.choice((2, 2.5, 3)))
        weeks: int | None = None
        if self.rng.random() < 0.45:
            weeks = self.rng.randrange(26, 5 * 52)
        uid = self.uid()
        master = self.base(uid, title, location, description)
        # Some organizers' entries were saved in UTC, whose local date comes from the place.
        in_utc = self.rng.random() < 0.1
        master.add("dtstart", start.astimezone(UTC) if in_utc else start)
        master.add("dtend", (start + length).astimezone(UTC) if in_utc else start + length)
        rule: dict[str, object] = {"freq": "weekly", "wkst": "MO", "byday": start.strftime("%a")[:2].upper()}
        if weeks is not None:
            rule["until"] = (start + timedelta(weeks=weeks - 1)).astimezone(UTC).replace(hour=23, minute=59, second=59)
            self.latest = max(self.latest, first + timedelta(weeks=weeks))
        master.add("rrule", rule)
        events = [master]
        for slot in self.exception_slots(first, weeks, self.rng.randrange(0, 6)):
            occurrence = start + timedelta(weeks=slot)
            if self.rng.random() < 0.5:
                master.add("exdate", occurrence.astimezone(UTC) if in_utc else occurrence)
                self.exdates += 1
                continue
            moved = occurrence + self.rng.choice((timedelta(days=1), timedelta(days=-1), timedelta(hours=1)))
            override = self.base(uid, title + self.rng.choice(("", " (moved)", " – special edition")), location, description)
            override.add("dtstart", moved)
            override.add("dtend", moved + length)
            override.add("recurrence-id", occurrence.astimezone(UTC) if in_utc else occurrence)
            override["sequence"] = 1
            events.append(override)
            self.overrides += 1
        return events

    def exception_slots(self, first: date, weeks: int | None, count: int) -> list[int]:
        """Distinct week numbers of the series to delete or move, half near the issue date when it runs then."""
        last = (weeks or (self.issue_date + timedelta(weeks=HORIZON_YEARS * 52) - first).days // 7) - 1
        near = (self.issue_date - first).days // 7
        slots: set[int] = set()
        for _ in range(count):
            low, high = 0, last
            if self.rng.random() < 0.5 and 0 <= near <= last:
                span = NEAR_ISSUE.days // 7
                low, high = max(0, near - span), min(last, near + span)
            slots.add(self.rng.randint(low, high))
        return sorted(slots)

    def single(self, index: int) -> icalendar.Event:
        """A one-off meetup, or an all-day conference of one to four days."""
        venue = self.rng.choice(VENUES)
        day = self.day(DATA_START, DATA_END)
        if self.rng.random() < 0.15:
            name = self.rng.choice(CONFERENCES)
            title = f"{name} {day.year} ({venue.city})"
            site = f"https://{name.lower().replace(' ', '')}.example/{day.year}/{index}/"
            event = self.base(self.uid(), title, venue.location, self.description(title, site, name, site))
            event.add("dtstart", day)
            event.add("dtend", day + timedelta(days=self.rng.randint(1, 4)))
            event.add("transp", "TRANSPARENT")
            return event
        kind = self.rng.choice(KINDS)
        title = f"Rust {venue.city}: {kind} – {day:%B} edition"
        slug = f"rust-{venue.city.lower().replace(' ', '-')}-meetup-{index % 97}"
        link = f"https://www.meetup.com/{slug}/events/{300000000 + index}/"
        location, extra = self.where(venue)
        description = self.description(title, link, f"Rust {venue.city} Meetup {index % 97}", f"https://www.meetup.com/{slug}", extra)
        event = self.base(self.uid(), title, location, description)
        start = datetime.combine(day, clock(self.rng.choice((10, 18, 19)), 0), ZoneInfo(venue.zone))
        in_utc = self.rng.random() < 0.15
        event.add("dtstart", start.astimezone(UTC) if in_utc else start)
        event.add("dtend", (start + timedelta(hours=3)).astimezone(UTC) if in_utc else start + timedelta(hours=3))
        event.add("transp", "OPAQUE")
        return event


def generate_calendar(events: int, seed: int = SEED, issue_date: date = ISSUE_DATE) -> tuple[bytes, Generated]:
    """A Google-shaped calendar of `events` events, a fifth of them weekly series; the `config` field is unset."""
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
    # Google does not order a calendar's components; shuffling puts overrides before or after their master.
    rng.shuffle(components)
    for component in components:
        calendar.add_component(component)
    calendar.add_missing_timezones(first_date=DATA_START, last_date=DATA_END + timedelta(days=366 * HORIZON_YEARS))
    horizon = issue_date.replace(year=issue_date.year + HORIZON_YEARS)
    life = Span(DATA_START, max(generator.latest, horizon))
    generated = Generated(Path(), series, events - series, generator.overrides, generator.exdates, life)
    return calendar.to_ical(), generated


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


def write_workspace(directory: Path, events: int, seed: int = SEED) -> Generated:
    """Write calendar.ics and a config.toml reading it into `directory`."""
    body, generated = generate_calendar(events, seed)
    (directory / "calendar.ics").write_bytes(body)
    config = directory / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return Generated(config, generated.series, generated.singles, generated.overrides, generated.exdates, generated.life)


def windowed(config: Config, http: Http, issue_date: date) -> Built:
    """The pipeline as `run` does it: recurrences expanded over the fetch span only."""
    collected = collect(config.sources, http, fetch_span(config, issue_date))
    raw = sum(report.events + report.dropped for report in collected.reports)
    return _finish(config, collected.events, raw, issue_date)


def whole_life(config: Config, http: Http, issue_date: date, life: Span) -> Built:
    """The baseline: every series expanded over its whole life, then filtered to the span, then the same steps."""
    span = fetch_span(config, issue_date)
    events = []
    raw = 0
    for spec in config.sources:
        result, report = fetch_source(spec, http, life)
        if result is None:
            raise RuntimeError(f"{spec.name}: {report.error}")
        raw += len(result.events)
        kept = [event for event in result.events if _touches(event, span)]
        events.extend(normalize_result(spec, SourceResult(kept, result.warnings), SourceReport(spec.name, spec.type)))
    return _finish(config, events, raw, issue_date)


def _touches(raw: RawEvent, span: Span) -> bool:
    """Overlap with the span padded a day each side, as the pipeline's own expansion pads it."""
    first = raw.start.date() if isinstance(raw.start, datetime) else raw.start
    end = raw.end if raw.end is not None else raw.start
    last = end.date() if isinstance(end, datetime) else end
    return first <= span.end + timedelta(days=1) and last >= span.start - timedelta(days=1)


def _finish(config: Config, events: Sequence[Event], raw: int, issue_date: date) -> Built:
    issue = build_issue(merged(events, config.sources).events, issue_date, config.weeks, config.states)
    block = render_block(issue.window, issue.sections, config.states)
    return Built(block, raw, sum(len(items) for _, items in issue.sections))


def measure(run: Callable[[], Built], repeat: int) -> Measured:
    """Wall time of `repeat` runs, then one more run under tracemalloc for its peak."""
    seconds = []
    built = None
    for _ in range(repeat):
        began = time.perf_counter()
        built = run()
        seconds.append(time.perf_counter() - began)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert built is not None
    return Measured(seconds, peak, built)
