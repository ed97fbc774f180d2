"""iCalendar feeds (the community Google Calendar, or any other): expand recurrences over the span only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events

from aggregator.model import RawEvent
from aggregator.tomltable import Table
from sources.base import SourceError, SourceResult, Span, resolve_url
from sources.http import FetchError, Http

# Marks components whose DTSTART was UTC before X-WR-TIMEZONE rewrote it: their own zone is still unknown.
_UTC_MARK = "X-TWIR-UTC"


@dataclass
class IcsSource:
    """A calendar feed by URL."""

    name: str
    url: str

    def fetch(self, http: Http, span: Span) -> SourceResult:
        try:
            body = http.get(self.url).content
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        return parse_calendar(self.name, body, span)


def from_config(name: str, table: Table, base: Path) -> IcsSource:
    return IcsSource(name=name, url=resolve_url(table, "url", base))


def read_calendar(name: str, body: bytes) -> icalendar.Calendar:
    """Parse bytes as a VCALENDAR or raise SourceError saying what is wrong."""
    if not body.strip():
        raise SourceError("empty response, expected an iCalendar file")
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise SourceError(f"not a valid iCalendar file: {_first_line(exc)}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise SourceError("not an iCalendar file (no VCALENDAR)")
    return calendar


def parse_calendar(name: str, body: bytes, span: Span) -> SourceResult:
    """Every occurrence overlapping the span, as raw events; bad events become warnings."""
    calendar = read_calendar(name, body)
    fallback = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    for component in calendar.walk("VEVENT"):
        start = component.get("DTSTART")
        if start is not None and isinstance(start.dt, datetime) and _is_utc(start.dt):
            component.add(_UTC_MARK, "1")
    result = SourceResult()
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    # The span is inclusive; pad a day each side so zone shifts cannot push edge events out.
    try:
        occurrences = list(query.between(span.start - timedelta(days=1), span.end + timedelta(days=2)))
    except Exception as exc:  # the library raises many types on malformed series
        raise SourceError(f"cannot expand recurrences: {_first_line(exc)}") from None
    for occurrence in occurrences:
        try:
            result.events.append(_raw_event(name, occurrence, fallback))
        except (ValueError, TypeError, KeyError) as exc:
            uid = occurrence.get("UID", "?")
            result.warnings.append(f"{name}: skipped event {uid}: {_first_line(exc)}")
    return result


def _raw_event(name: str, event: icalendar.Event, fallback: str) -> RawEvent:
    start = event.DTSTART
    if start is None:
        raise ValueError("no DTSTART")
    end = event.DTEND
    if end is None and event.DURATION is not None:
        end = start + event.DURATION
    uid = str(event.get("UID", "")).strip()
    if not uid:
        raise ValueError("no UID")
    return RawEvent(
        source=name,
        key=f"{uid}/{_occurrence_id(event, start)}",
        title=str(event.get("SUMMARY", "")),
        start=start,
        end=end,
        timezone="" if _UTC_MARK in event else _zone_name(start),
        fallback_timezone=fallback,
        location=str(event.get("LOCATION", "")),
        description=str(event.get("DESCRIPTION", "")),
        url=str(event.get("URL", "")),
        organizer=_organizer_name(event),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        extra={"uid": uid},
    )


def _occurrence_id(event: icalendar.Event, start: date | datetime) -> str:
    """The recurrence id when there is one (stable when an instance moves), else the start."""
    value = event.RECURRENCE_ID or start
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y%m%dT%H%M%S") + ("Z" if value.tzinfo is not None else "")
    return value.strftime("%Y%m%d")


def _organizer_name(event: icalendar.Event) -> str:
    organizer = event.get("ORGANIZER")
    if organizer is None:
        return ""
    return str(organizer.params.get("CN", "")).strip()


def _zone_name(value: date | datetime) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return ""
    key = getattr(value.tzinfo, "key", None) or getattr(value.tzinfo, "zone", None)
    return str(key) if key else ""


def _is_utc(value: datetime) -> bool:
    return (
        value.tzinfo is not None and value.utcoffset() == timedelta(0) and _zone_name(value) in ("", "UTC", "Etc/UTC")
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
