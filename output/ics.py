"""The RFC 5545 feed of all events, and one feed per TWiR section.

Output is a pure function of the events: running twice gives the same bytes. DTSTAMP and
LAST-MODIFIED come from a `Revision` (the store knows when an event last changed); without
one they are the event's start instant in UTC, which moves when the event is rescheduled
and never depends on the time of the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Component, Timezone, vDuration
from icalendar import Event as VEvent

from aggregator.grouping import sections_of
from aggregator.instants import unambiguous
from aggregator.labels import place_label
from aggregator.model import Event, Mode
from aggregator.regions import REGIONS
from output.markdown import clean_text, title_text, web_url

PRODID = "-//twir-events//twir-events//EN"
UID_DOMAIN = "twir-events"
# One fixed span, so that every feed defines a zone identically (some readers cache VTIMEZONEs by TZID);
# it starts well before anything a feed of recent and coming events carries.
ZONE_FIRST_DATE = date(2015, 1, 1)
ZONE_LAST_DATE = date(2040, 1, 1)
MODE_TEXT = {Mode.IN_PERSON: "in person", Mode.VIRTUAL: "online", Mode.HYBRID: "hybrid (in person and online)"}


@dataclass(frozen=True)
class Revision:
    """What the store knows of an event's published history: calendar apps update on a higher SEQUENCE."""

    sequence: int
    modified: datetime
    cancelled: bool = False


def render_feed(
    events: Iterable[Event],
    *,
    name: str,
    description: str,
    refresh: str = "PT6H",
    states: Collection[str],
    revisions: Mapping[str, Revision] | None = None,
) -> bytes:
    """One VCALENDAR with a VEVENT per event (one per key), sorted by first day and key."""
    interval = _duration(refresh)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.calendar_name = name
    calendar.description = description
    calendar.add("refresh-interval", interval, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(interval))
    unique: dict[str, Event] = {}
    for event in sorted(events, key=_order):
        unique.setdefault(event.key, event)
    for event in unique.values():
        calendar.add_component(_vevent(event, states, (revisions or {}).get(event.key)))
    _add_timezones(calendar)
    return bytes(calendar.to_ical())


def render_region_feeds(
    events: Iterable[Event],
    *,
    name: str,
    description: str,
    refresh: str = "PT6H",
    states: Collection[str],
    revisions: Mapping[str, Revision] | None = None,
) -> dict[str, bytes]:
    """A feed per TWiR section keyed by slug (`virtual`, `north-america`, ...); empty ones too, so URLs stay valid."""
    buckets: dict[str, list[Event]] = {section: [] for section in REGIONS}
    for event in events:
        for section in sections_of(event):
            if section in buckets:
                buckets[section].append(event)
    return {
        slug(section): render_feed(
            members,
            name=f"{name}: {section}",
            description=description,
            refresh=refresh,
            states=states,
            revisions=revisions,
        )
        for section, members in buckets.items()
    }


def slug(section: str) -> str:
    """The file name stem of a section's feed: `North America` -> `north-america`."""
    return "-".join(section.lower().split())


def uid(key: str) -> str:
    """A UID that stays the same across runs and sources for one event key."""
    return f"{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}@{UID_DOMAIN}"


def _vevent(event: Event, states: Collection[str], revision: Revision | None) -> VEvent:
    start, end = _times(event)
    stamp = _utc(revision.modified if revision else _instant(event.start))
    vevent = VEvent()
    vevent.add("uid", uid(event.key))
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    vevent.add("sequence", revision.sequence if revision else 0)
    vevent.add("status", "CANCELLED" if revision and revision.cancelled else "CONFIRMED")
    vevent.add("summary", title_text(event.title))
    vevent.add("dtstart", start)
    if end is not None:
        vevent.add("dtend", end)
    if location := _location(event, states):
        vevent.add("location", location)
    if url := web_url(event.url):
        vevent.add("url", url)
    vevent.add("description", _description(event))
    if sections := sections_of(event):
        vevent.add("categories", sections)
    vevent.add("x-twir-mode", event.mode.value)
    return vevent


def _times(event: Event) -> tuple[date | datetime, date | datetime | None]:
    """DTSTART and the exclusive DTEND (None when a timed event has no length)."""
    start, end = event.start, event.end
    if not isinstance(start, datetime):
        last = end.date() if isinstance(end, datetime) else end
        return start, max(last, start + timedelta(days=1))
    zone = _zone(event.timezone)
    local_start = _in_zone(start, zone)
    if isinstance(end, datetime) and end > start:
        return local_start, _in_zone(end, zone)
    return local_start, None


def _in_zone(value: datetime, zone: ZoneInfo | None) -> datetime:
    """The time in the event's zone, or UTC where a wall time would not name one instant.

    A fixed offset without a zone name needs no VTIMEZONE as UTC; a repeated or skipped local time would be
    read as its first spelling by RFC 5545 readers, an hour off for the second one.
    """
    if zone is not None:
        local = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
        return local if unambiguous(local) else local.astimezone(UTC)
    if value.tzinfo is None or isinstance(value.tzinfo, ZoneInfo):
        return value if unambiguous(value) else value.astimezone(UTC)
    return value.astimezone(UTC)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    """DTSTAMP must be UTC; a naive stamp is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _location(event: Event, states: Collection[str]) -> str:
    if location := clean_text(event.location):
        return location
    if event.mode is Mode.VIRTUAL:
        return "Online"
    return place_label(event.place, states)


def _description(event: Event) -> str:
    lines = []
    organizer_url = web_url(event.organizer_url)
    organizer = clean_text(event.organizer)
    if organizer or organizer_url:
        lines.append(f"Organizer: {' '.join(part for part in (organizer, organizer_url) if part)}")
    if url := web_url(event.url):
        lines.append(f"Event: {url}")
    lines.append(f"Attendance: {MODE_TEXT[event.mode]}")
    return "\n".join(lines)


def _add_timezones(calendar: Calendar) -> None:
    """A VTIMEZONE for every TZID in use, in name order (icalendar's own order follows set iteration)."""
    zones = [
        Timezone.from_tzid(tzid, first_date=ZONE_FIRST_DATE, last_date=ZONE_LAST_DATE)
        for tzid in sorted(calendar.get_missing_tzids())
    ]
    for zone in zones:
        for observance in zone.subcomponents:
            _one_rdate_per_line(observance)
    calendar.subcomponents[0:0] = zones


def _one_rdate_per_line(observance: Component) -> None:
    """Split multi-valued RDATEs: some readers (vobject) keep only the first value of a list."""
    rdates = observance.pop("RDATE", None)
    if rdates is None:
        return
    for moment in sorted(
        value.dt for rdate in (rdates if isinstance(rdates, list) else [rdates]) for value in rdate.dts
    ):
        observance.add("RDATE", moment)


def _order(event: Event) -> tuple[str, str]:
    return event.first_day.isoformat(), event.key


def _duration(text: str) -> timedelta:
    try:
        value = vDuration.from_ical(text)  # type: ignore[no-untyped-call]  # icalendar leaves it unannotated
    except ValueError:
        raise ValueError(f"feed refresh {text!r} is not an ISO 8601 duration such as PT6H") from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"feed refresh {text!r} must be a positive duration such as PT6H")
    return value
