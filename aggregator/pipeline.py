"""The main job: fetch every source, normalize, then build the issue's block, the feed and the records."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from aggregator import text
from aggregator.config import Config, SourceSpec
from aggregator.grouping import group
from aggregator.identity import event_identity, source_identity
from aggregator.merge import MergeResult, merge
from aggregator.model import Event, RawEvent
from aggregator.normalize import Overrides, normalize
from aggregator.window import Window, issue_window
from sources.base import SourceError, SourceResult, Span
from sources.http import Http

WORKERS = 8
# TWiR's rule: the meetup/luma page wins over the calendar for date and place.
SOURCE_RANK = {"manual": 0, "meetup": 1, "luma": 2, "jsonld": 3, "ics": 4}
CROSS_LISTED = 10
# Dates outside these years are typos or attacks, and near the ends of datetime they overflow.
YEARS = (1900, 2200)
# Longer than this is no event an issue could list (a conference is days; a series is occurrences).
MAX_DURATION = timedelta(days=92)
# How much of a source's error a report line keeps.
ERROR_LIMIT = 300
# How much of a bad event's title or id a warning quotes.
EVENT_QUOTE = 60


class InterruptedRunError(Exception):
    """The run was stopped (a signal or the run's deadline) before it could store what it fetched."""


@dataclass
class SourceReport:
    """How one source fared in a run."""

    name: str
    type: str
    error: str = ""
    events: int = 0
    dropped: int = 0
    seconds: float = 0.0
    status: int | None = None
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class SourceRun:
    """One source's fetch: its report, and its normalized events (None when the fetch failed)."""

    spec: SourceSpec
    report: SourceReport
    events: list[Event] | None


@dataclass
class Collected:
    """What every source returned in one run, in config order."""

    runs: list[SourceRun]
    # Hosts whose breaker opened (with why), and why fetching was stopped early ("" when it was not).
    hosts_down: dict[str, str] = field(default_factory=dict)
    stopped: str = ""

    @property
    def events(self) -> list[Event]:
        return [event for run in self.runs for event in run.events or ()]

    @property
    def reports(self) -> list[SourceReport]:
        return [run.report for run in self.runs]

    @property
    def warnings(self) -> list[str]:
        lines = [f"{r.name}: {r.error}" for r in self.reports if r.error]
        # Also written to the scheduler's log: nothing a source sent may drive the terminal that shows it.
        return [text.terminal_safe(line, ERROR_LIMIT) for line in lines + [w for r in self.reports for w in r.warnings]]


@dataclass(frozen=True)
class Issue:
    """One issue's window and its grouped events, ready for the writers."""

    window: Window
    sections: list[tuple[str, list[Event]]]

    @property
    def events(self) -> list[Event]:
        seen: dict[str, Event] = {}
        for _, items in self.sections:
            for event in items:
                seen.setdefault(event.key, event)
        return list(seen.values())


def fetch_span(config: Config, issue_date: date) -> Span:
    """What the sources must cover: the issue's window and the feed's range around the issue date."""
    window = issue_window(issue_date, config.weeks)
    start = min(window.start, issue_date - timedelta(days=config.feed.past_days))
    end = max(window.end, issue_date + timedelta(days=config.feed.future_days))
    return Span(start, end)


def fetch_source(spec: SourceSpec, http: Http, span: Span) -> tuple[SourceResult | None, SourceReport]:
    """Run one source; any failure is reported, never raised, so other sources are unaffected."""
    report = SourceReport(spec.name, spec.type)
    began = time.monotonic()
    result: SourceResult | None = None
    own = http.for_source(spec.name)
    try:
        result = spec.source.fetch(own, span)
    except SourceError as exc:
        report.error = text.terminal_safe(str(exc), ERROR_LIMIT)
    except Exception as exc:  # a bug or an unforeseen input in one source must not end the run
        report.error = f"unexpected {type(exc).__name__}: {text.first_line(exc)}"
    report.seconds = time.monotonic() - began
    transfers = own.transfers
    report.bytes = sum(t.bytes_received for t in transfers)
    report.status = transfers[-1].status if transfers else None
    stale = [t.error for t in transfers if t.stale and t.error]
    if result is not None and stale:
        # A cached copy standing in for a failed server is no fresh fetch: counted as one, it would hide
        # the outage from `status` for good. The store keeps the source's last good events anyway.
        report.error = text.terminal_safe(stale[0], ERROR_LIMIT)
        result = None
    return result, report


def normalize_result(spec: SourceSpec, result: SourceResult, report: SourceReport, max_events: int = 0) -> list[Event]:
    """Normalize a source's raw events, dropping cancelled ones and titles without the required word.

    A bad event is skipped with one warning naming it; past `max_events` (0: no cap) the rest are dropped.
    """
    overrides = Overrides(spec.organizer, spec.organizer_url, spec.mode)
    report.warnings.extend(result.warnings)
    origin = source_identity(spec.type, str(getattr(spec.source, "url", "")))
    events = []
    raws = result.events
    if max_events and len(raws) > max_events:
        # The earliest are the ones the coming issues list.
        raws = sorted(raws, key=_sort_key)[:max_events]
        report.warnings.append(
            f"{spec.name}: listed {len(result.events)} events, more than the cap of {max_events}; kept the earliest"
        )
        report.dropped += len(result.events) - max_events
    for raw in raws:
        if raw.cancelled or not mentions(raw.title, spec.require):
            report.dropped += 1
            continue
        try:
            problem = bad_times(raw)
            if problem:
                raise ValueError(problem)
            normalized = normalize(sanitized(raw), overrides)
        except Exception as exc:  # one bad event must not cost the source its other events
            report.warnings.append(f"{spec.name}: skipped event {describe(raw)}: {text.first_line(exc)}")
            report.dropped += 1
            continue
        report.warnings.extend(normalized.warnings)
        events.append(replace(normalized.event, identity=event_identity(origin, raw)))
    report.events = len(events)
    return events


def bad_times(raw: RawEvent) -> str:
    """Why an event's start and end cannot be right (year out of range, end before start, absurd length), else ""."""
    for value in (raw.start, raw.end):
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            return f"year {value.year} is out of range"
    start, end = raw.start, raw.end
    if end is None or isinstance(start, datetime) != isinstance(end, datetime):
        return ""
    if isinstance(start, datetime) and isinstance(end, datetime) and (start.tzinfo is None) != (end.tzinfo is None):
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if end < start:
        return f"ends ({end.isoformat()}) before it starts ({start.isoformat()})"
    if end - start > MAX_DURATION:
        return f"lasts {(end - start).days} days, more than {MAX_DURATION.days}"
    return ""


def sanitized(raw: RawEvent) -> RawEvent:
    """The raw event with its free-text location and place names stripped of control characters and capped."""
    place = raw.place
    if place is not None:
        place = replace(place, city=text.clean_place(place.city), state=text.clean_place(place.state))
    return replace(raw, location=text.clean_place(raw.location), place=place)


def describe(raw: RawEvent) -> str:
    """A short, terminal-safe name for an event in a warning: its title, else its id."""
    return repr(text.terminal_safe(raw.title, EVENT_QUOTE) or text.terminal_safe(raw.key, EVENT_QUOTE))


def _sort_key(raw: RawEvent) -> tuple[int, str]:
    return raw.start.toordinal(), raw.key


def mentions(title: str, word: str) -> bool:
    """True when `word` starts a word of the title (`rust` matches Rustaceans, not trust); always true for ""."""
    return not word or re.search(rf"\b{re.escape(word)}", title, re.IGNORECASE) is not None


def collect(
    specs: Iterable[SourceSpec],
    http: Http,
    span: Span,
    workers: int = WORKERS,
    on_done: Callable[[SourceReport], None] | None = None,
    max_events: int = 0,
) -> Collected:
    """Fetch all sources concurrently and normalize what they return (at most `max_events` each), in config order."""
    specs = list(specs)
    runs: list[SourceRun] = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(specs) or 1))) as pool:
        futures = {pool.submit(fetch_source, spec, http, span): index for index, spec in enumerate(specs)}
        for future in as_completed(futures):
            spec = specs[futures[future]]
            result, report = future.result()
            events = normalize_result(spec, result, report, max_events) if result is not None else None
            runs.append(SourceRun(spec, report, events))
            if on_done is not None:
                on_done(report)
    order = {spec.name: index for index, spec in enumerate(specs)}
    return Collected(sorted(runs, key=lambda run: order[run.spec.name]), http.hosts_down, http.stopped)


def ranker(specs: Iterable[SourceSpec]) -> Callable[[Event], int]:
    """Authority for merging: the editors' own entries, then group pages, then calendars; cross-listings last."""
    types = {spec.name: spec.type for spec in specs}

    def rank(event: Event) -> int:
        return SOURCE_RANK.get(types.get(event.source, ""), len(SOURCE_RANK)) + (
            CROSS_LISTED if event.cross_listed else 0
        )

    return rank


def merged(events: Iterable[Event], specs: Iterable[SourceSpec]) -> MergeResult:
    """One record per real event, most authoritative source first."""
    return merge(events, ranker(specs))


def build_issue(events: Iterable[Event], issue_date: date, weeks: int, states: tuple[str, ...]) -> Issue:
    """The issue dated `issue_date`: events overlapping its window, grouped into TWiR's sections."""
    window = issue_window(issue_date, weeks)
    return Issue(window, group((e for e in events if window.overlaps(e)), states))


def in_feed(events: Iterable[Event], span: Span) -> list[Event]:
    """The events the feed publishes: those overlapping its span."""
    return [e for e in events if e.first_day <= span.end and e.last_day >= span.start]
