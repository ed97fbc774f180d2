"""iCalendar feeds (the community Google Calendar, or any other): expand recurrences over the span only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from icalendar.parser import Contentlines
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from aggregator import text
from aggregator.instants import Duration, add_duration, parse_duration
from aggregator.model import RawEvent
from aggregator.text import first_line
from aggregator.tomltable import Table
from sources.base import SourceError, SourceResult, Span, resolve_url
from sources.http import FetchError, Http, decode_text

# Occurrences kept per series within the span: a daily event over the feed's 13 months fits.
MAX_OCCURRENCES = 1000
MAX_PER_DAY = 4
SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
LABEL_LIMIT = 60
# A series is expanded from its first occurrence on, so one starting centuries ago costs that many steps.
FIRST_YEAR = 1900
# Marks components whose DTSTART was UTC before X-WR-TIMEZONE rewrote it: their own zone is still unknown.
_UTC_MARK = "X-TWIR-UTC"
# Marks floating DTSTARTs: X-WR-TIMEZONE must not decide their zone (the README's one rule for floating times does).
_FLOATING_MARK = "X-TWIR-FLOATING"
# The component's length as written (RFC 5545: hours exact, days nominal), carried onto every occurrence.
_LENGTH_MARK = "X-TWIR-LENGTH"
# Marks the components of a series: their occurrences are told apart by RECURRENCE-ID.
_SERIES_MARK = "X-TWIR-SERIES"
_ZONED = ("DTSTART", "DTEND", "RECURRENCE-ID")
_ZONED_LISTS = ("EXDATE", "RDATE")


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
        # A feed in Latin-1 or Windows-1252 (despite RFC 5545's UTF-8) must not publish "K\ufffdln".
        calendar = icalendar.Calendar.from_ical(decode_text(body))
    except (ValueError, IndexError, KeyError) as exc:
        raise SourceError(f"not a valid iCalendar file: {first_line(exc)}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise SourceError("not an iCalendar file (no VCALENDAR)")
    return calendar


def parse_calendar(name: str, body: bytes, span: Span) -> SourceResult:
    """Every occurrence overlapping the span, as raw events; a bad event or series is skipped with a warning."""
    calendar = read_calendar(name, body)
    fallback = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    components = calendar.walk("VEVENT")
    written = dict(zip(map(id, components), _written_durations(body, len(components)), strict=True))
    zones = [component for component in calendar.subcomponents if component.name == "VTIMEZONE"]
    result = SourceResult()
    for series in _series(calendar):
        try:
            for component in series:
                _prepare(component, written[id(component)])
            occurrences = _occurrences(name, calendar, zones, series, span, result.warnings)
        except Exception as exc:  # the library raises many types on a malformed event or series
            result.warnings.append(f"{name}: skipped event {_label(series[0])}: {first_line(exc)}")
            continue
        for occurrence in occurrences:
            try:
                result.events.append(_raw_event(name, occurrence, fallback))
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                result.warnings.append(f"{name}: skipped event {_label(occurrence)}: {first_line(exc)}")
    return result


def _series(calendar: icalendar.Calendar) -> list[list[icalendar.Component]]:
    """The VEVENTs grouped by UID (a series with its moved instances), in file order; no UID stands alone."""
    groups: dict[str, list[icalendar.Component]] = {}
    alone: list[list[icalendar.Component]] = []
    for component in calendar.walk("VEVENT"):
        uid = str(component.get("UID", "")).strip()
        if uid:
            groups.setdefault(uid, []).append(component)
        else:
            alone.append([component])
    return [*groups.values(), *alone]


def _occurrences(
    name: str,
    calendar: icalendar.Calendar,
    zones: list[icalendar.Component],
    series: list[icalendar.Component],
    span: Span,
    warnings: list[str],
) -> list[icalendar.Event]:
    """One series' occurrences overlapping the span, at most MAX_OCCURRENCES; raises on a series it cannot read.

    Frequencies above daily are refused before expansion: the rest is bounded by the span's days times MAX_PER_DAY.
    """
    for component in series:
        problem = _unbounded(component)
        if problem:
            raise ValueError(problem)
    # Expanded on its own, so a series the library cannot read costs only itself.
    alone = icalendar.Calendar()
    alone.update(calendar)
    alone.subcomponents = [*zones, *series]
    # The span is inclusive; pad a day each side so zone shifts cannot push edge events out.
    found = recurring_ical_events.of(alone).between(span.start - timedelta(days=1), span.end + timedelta(days=2))
    if len(found) > MAX_OCCURRENCES:
        warnings.append(
            f"{name}: event {_label(series[0])} repeats {len(found)} times in {span.start} to {span.end}, "
            f"more than {MAX_OCCURRENCES}; kept the first {MAX_OCCURRENCES}"
        )
    return list(found[:MAX_OCCURRENCES])


def _unbounded(component: icalendar.Component) -> str:
    """Why a repeat rule would cost unbounded work (more often than daily, INTERVAL=0), else ""."""
    rules = component.get("RRULE")
    start = component.get("DTSTART")
    if rules is not None and start is not None and start.dt.year < FIRST_YEAR:
        return f"repeats from the year {start.dt.year}"
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        if not isinstance(rule, icalendar.vRecur):
            return f"unreadable RRULE {text.terminal_safe(str(rule), LABEL_LIMIT)!r}"
        frequency = str(rule.get("FREQ", [""])[0]).upper()
        if frequency in SUB_DAILY:
            return f"repeats {frequency.lower()}, more often than daily (refused)"
        interval = rule.get("INTERVAL", [1])[0]
        if not isinstance(interval, int) or interval < 1:
            return f"RRULE INTERVAL={interval} is not a positive number"
        per_day = 1
        for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            per_day *= len(rule.get(part, [None]))
        if per_day > MAX_PER_DAY:
            return f"repeats {per_day} times a day (refused)"
    return ""


def _label(component: icalendar.Component) -> str:
    """An event in a warning: its title, else its UID, shortened and safe for a terminal."""
    title = text.terminal_safe(str(component.get("SUMMARY", "")), LABEL_LIMIT)
    return repr(title or text.terminal_safe(str(component.get("UID", "?")), LABEL_LIMIT))


def _raw_event(name: str, event: icalendar.Event, fallback: str) -> RawEvent:
    start = event.DTSTART
    if start is None:
        raise ValueError("no DTSTART")
    end = event.DTEND
    if _FLOATING_MARK in event:
        start = _floating(start)
        end = None if end is None else _floating(end)
    if _LENGTH_MARK in event:
        end = add_duration(start, parse_duration(str(event[_LENGTH_MARK])))
    uid = str(event.get("UID", "")).strip()
    if not uid:
        raise ValueError("no UID")
    occurrence = _occurrence_id(event, start)
    return RawEvent(
        source=name,
        key=f"{uid}/{occurrence}",
        title=str(event.get("SUMMARY", "")),
        start=start,
        end=end,
        timezone="" if _UTC_MARK in event or _FLOATING_MARK in event else _zone_name(start),
        fallback_timezone=fallback,
        location=str(event.get("LOCATION", "")),
        description=str(event.get("DESCRIPTION", "")),
        url=str(event.get("URL", "")),
        organizer=_organizer_name(event),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        # A one-off keeps its identity when moved; a series occurrence is the slot it fills.
        extra={"uid": uid, "identity": f"{uid}/{_slot(event, start)}" if _SERIES_MARK in event else uid},
    )


def _prepare(component: icalendar.cal.Component, written: Duration | None) -> None:
    """Mark what expansion would lose, and read Windows zone names as the IANA zones they stand for."""
    _windows_to_iana(component)
    start, end, parsed = (_value(component, name) for name in ("DTSTART", "DTEND", "DURATION"))
    if isinstance(start, datetime):
        if _is_utc(start):
            component.add(_UTC_MARK, "1")
        elif start.tzinfo is None:
            component.add(_FLOATING_MARK, "1")
    series = any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    if series:
        component.add(_SERIES_MARK, "1")
    if written is None and isinstance(parsed, timedelta):
        written = Duration.of(parsed)
    if written is not None:
        component.add(_LENGTH_MARK, written.text)
    elif series and isinstance(start, date) and isinstance(end, date) and type(start) is type(end):
        # RFC 5545: every instance of a series lasts the exact time DTSTART..DTEND of its first one.
        component.add(_LENGTH_MARK, Duration.between(start, end).text)


def _value(component: icalendar.cal.Component, name: str) -> object:
    return getattr(component.get(name), "dt", None)


def _windows_to_iana(component: icalendar.cal.Component) -> None:
    """`TZID=W. Europe Standard Time` (Outlook) is Europe/Berlin: the same wall time in the IANA zone."""
    for name in _ZONED:
        prop = component.get(name)
        zone = _windows_zone(prop)
        if zone is not None:
            component.pop(name)
            component.add(name, prop.dt.replace(tzinfo=zone))
    for name in _ZONED_LISTS:
        props = component.get(name)
        listed = props if isinstance(props, list) else [props] if props is not None else []
        if not any(_windows_zone(prop) for prop in listed):
            continue
        component.pop(name)
        for prop in listed:
            zone = _windows_zone(prop)
            values = [value.dt for value in prop.dts]
            component.add(name, [v.replace(tzinfo=zone) for v in values] if zone else values)


def _windows_zone(prop: object) -> ZoneInfo | None:
    params = getattr(prop, "params", None)
    tzid = str(params.get("TZID", "")) if params is not None else ""
    if tzid not in WINDOWS_TO_OLSON or "/" in tzid:
        return None
    try:
        return ZoneInfo(WINDOWS_TO_OLSON[tzid])
    except (ZoneInfoNotFoundError, ValueError):
        return None


_WRITTEN_NAMES = ("BEGIN", "END", "DURATION")


def _written_durations(body: bytes, count: int) -> list[Duration | None]:
    """Each VEVENT's DURATION as written: the parsed timedelta cannot tell PT36H (exact) from P1DT12H."""
    found: list[Duration | None] = []
    depth: list[str] = []
    try:
        lines = Contentlines.from_ical(body.decode("utf-8", "replace"))  # type: ignore[no-untyped-call]
        for line in lines:
            # Only BEGIN, END and DURATION lines matter; splitting every other line into parts is most of the cost.
            if not line[:8].upper().startswith(_WRITTEN_NAMES):
                continue
            name, _, value = line.parts()
            if name.upper() == "BEGIN":
                depth.append(value.upper())
                if value.upper() == "VEVENT":
                    found.append(None)
            elif name.upper() == "END" and depth:
                depth.pop()
            elif name.upper() == "DURATION" and depth and depth[-1] == "VEVENT" and found:
                found[-1] = _duration_or_none(value)
    except ValueError:
        found = []
    # Unreadable or nested oddly: fall back to the parsed values, days nominal and the rest exact.
    return found if len(found) == count else [None] * count


def _duration_or_none(text: str) -> Duration | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _floating(value: date | datetime) -> date | datetime:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _occurrence_id(event: icalendar.Event, start: date | datetime) -> str:
    """The recurrence id when there is one (stable when an instance moves), else the start."""
    value = event.RECURRENCE_ID or start
    if isinstance(value, datetime):
        if _FLOATING_MARK in event:
            value = value.replace(tzinfo=None)
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y%m%dT%H%M%S") + ("Z" if value.tzinfo is not None else "")
    return value.strftime("%Y%m%d")


def _slot(event: icalendar.Event, start: date | datetime) -> str:
    """The occurrence's original start as the organizer wrote it: wall time in the series' zone, no tz database."""
    value = event.RECURRENCE_ID or start
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    if value.tzinfo is not None and _UTC_MARK in event:
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%dT%H%M%S")


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
