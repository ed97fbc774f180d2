"""The RFC 5545 feed of all events, and one feed per TWiR section.

Output is a pure function of its entries: running twice gives the same bytes. Each event is built and
serialised once per run and each zone's changes found once, whichever feeds and per-event calendars carry
them. DTSTAMP comes from the feed's state (when the event last changed); without one it is the event's start
instant in UTC, which never depends on the time of the run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent

from aggregator.grouping import sections_of
from aggregator.instants import unambiguous
from aggregator.labels import place_label
from aggregator.model import Event, Mode
from aggregator.publication import MAIN, Entry, uid_for
from aggregator.regions import REGIONS
from output.markdown import clean_text, title_text, web_url
from output.vtimezone import Change, block, span, transitions

PRODID = "-//twir-events//twir-events//EN"
# Subscribers get the event's own text, shortened: calendar apps show it whole and sync it on every refresh.
DESCRIPTION_LIMIT = 3000
FEED_PATH = "events.ics"
# A calendar needs one component (RFC 5545): an empty feed carries this zone, which any reader accepts.
EMPTY_FEED_ZONE = "Etc/UTC"
# Stands for a calendar's name where its properties are serialised once for all of a run's calendars.
NAME_MARK = "twir-events calendar name"


class _Text(vText):
    """TEXT escaped by RFC 5545 alone: icalendar reads a literal backslash-N in a value as a line break."""

    def to_ical(self) -> bytes:
        lines = str(self).replace("\r\n", "\n").replace("\r", "\n")
        escaped = lines.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        return escaped.encode()


@dataclass(frozen=True)
class Revision:
    """An event's published state: calendar apps update on a higher SEQUENCE; `uid` "" is the key's hash."""

    sequence: int
    modified: datetime
    cancelled: bool = False
    uid: str = ""


@dataclass(frozen=True)
class FeedText:
    """What every feed shares: its name, description and refresh interval."""

    name: str
    description: str
    refresh: str = "PT6H"


def render_feeds(feeds: Mapping[str, Sequence[Entry]], *, text: FeedText, states: Collection[str]) -> dict[str, bytes]:
    """`events.ics` and `regions/<slug>.ics` for every section (empty ones too, so URLs stay valid)."""
    return FeedWriter(feeds, text=text, states=states).files()


def render_feed(
    events: Iterable[Event],
    *,
    name: str,
    description: str,
    refresh: str = "PT6H",
    states: Collection[str],
    revisions: Mapping[str, Revision] | None = None,
) -> bytes:
    """One feed of `events` (one per key); `revisions` by key give UID, SEQUENCE and stamps where known."""
    entries = [entry_of(event, (revisions or {}).get(event.key)) for event in _unique(events)]
    return FeedWriter({MAIN: entries}, text=FeedText(name, description, refresh), states=states).feed(entries, name)


def entry_of(event: Event, revision: Revision | None) -> Entry:
    """The feed entry of `event`: its revision's UID, SEQUENCE and stamp, or the key's hash and its start."""
    if revision is None:
        return Entry(uid(event.key), event, 0, _instant(event.start))
    return Entry(revision.uid or uid(event.key), event, revision.sequence, revision.modified, revision.cancelled)


def slug(section: str) -> str:
    """The file name stem of a section's feed: `North America` -> `north-america`."""
    return "-".join(section.lower().split())


def uid(key: str) -> str:
    """The UID of an event the feed's state does not know: a hash of its key."""
    return uid_for(key)


class FeedWriter:
    """One run's calendars: each VEVENT serialised and each zone's changes found once, whichever files carry them."""

    def __init__(self, feeds: Mapping[str, Sequence[Entry]], *, text: FeedText, states: Collection[str]) -> None:
        self._feeds = feeds
        self._text = text
        self._interval = _duration(text.refresh)
        self._states = states
        self._events: dict[tuple[str, bool], tuple[bytes, tuple[str, ...]]] = {}
        self._spans = _zone_spans(entry for entries in feeds.values() for entry in entries)
        self._changes = {tzid: transitions(ZoneInfo(tzid), *span(*bounds)) for tzid, bounds in self._spans.items()}
        self._zones = _zone_blocks(self._spans, self._changes)
        # Only the name differs between the run's calendars: the rest of their properties is serialised once.
        self._before_name, self._after_name = _properties(text, self._interval).split(_name_lines(NAME_MARK))

    def files(self) -> dict[str, bytes]:
        """`events.ics` and `regions/<slug>.ics` for every section (empty ones too, so URLs stay valid)."""
        files = {FEED_PATH: self.feed(self._feeds.get(MAIN, ()), self._text.name)}
        for section in REGIONS:
            files[f"regions/{slug(section)}.ics"] = self.feed(
                self._feeds.get(section, ()), f"{self._text.name}: {section}"
            )
        return files

    def feed(self, entries: Sequence[Entry], name: str) -> bytes:
        """A feed of `entries` with the run's VTIMEZONE for every zone they use."""
        return self._calendar(entries, name, self._zones)

    def single(self, entry: Entry, name: str) -> bytes:
        """A calendar of one event, the run's VEVENT with VTIMEZONEs spanning only that event."""
        spans = _zone_spans([entry])
        known = {
            tzid: self._changes[tzid]
            for tzid, (first, last) in spans.items()
            if tzid in self._spans and self._spans[tzid][0] <= first and last <= self._spans[tzid][1]
        }
        return self._calendar([entry], name, _zone_blocks(spans, known))

    def _calendar(self, entries: Sequence[Entry], name: str, zones: Mapping[str, bytes]) -> bytes:
        ordered = sorted(entries, key=lambda entry: (entry.event.first_day.isoformat(), entry.uid))
        events = [self._vevent(entry) for entry in ordered]
        tzids = sorted({tzid for _, used in events for tzid in used})
        blocks = [zones[tzid] for tzid in tzids] or [_empty_zone()]
        head = [self._before_name, _name_lines(name), self._after_name]
        return b"".join([*head, *blocks, *(body for body, _ in events), b"END:VCALENDAR\r\n"])

    def _vevent(self, entry: Entry) -> tuple[bytes, tuple[str, ...]]:
        cached = self._events.get((entry.uid, entry.cancelled))
        if cached is None:
            vevent = _vevent(entry, self._states)
            cached = bytes(vevent.to_ical()), _tzids(vevent)
            self._events[(entry.uid, entry.cancelled)] = cached
        return cached


def _properties(text: FeedText, interval: timedelta) -> bytes:
    """A calendar's properties, named `NAME_MARK`, up to its first component."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.calendar_name = NAME_MARK
    calendar.description = text.description
    calendar.add("refresh-interval", interval, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(interval))
    return bytes(calendar.to_ical()).removesuffix(b"END:VCALENDAR\r\n")


def _name_lines(name: str) -> bytes:
    """NAME and X-WR-CALNAME as icalendar writes them in a calendar's properties."""
    calendar = Calendar()
    calendar.calendar_name = name
    return bytes(calendar.to_ical()).removeprefix(b"BEGIN:VCALENDAR\r\n").removesuffix(b"END:VCALENDAR\r\n")


def _vevent(entry: Entry, states: Collection[str]) -> VEvent:
    event = entry.event
    start, end = _times(event)
    stamp = _utc(entry.modified)
    vevent = VEvent()
    vevent.add("uid", entry.uid)
    vevent.add("dtstamp", stamp)
    # Defaults are left out (SEQUENCE 0, no STATUS): every byte is fetched by every subscriber on every refresh.
    if entry.sequence:
        vevent.add("sequence", entry.sequence)
    if entry.cancelled:
        vevent.add("status", "CANCELLED")
    vevent.add("summary", _Text(title_text(event.title)))
    vevent.add("dtstart", start)
    if end is not None:
        length = _length(start, end)
        if length is not None:
            vevent.add("duration", length)
        else:
            vevent.add("dtend", end)
    if location := _location(event, states):
        vevent.add("location", _Text(location))
    place = event.place
    if event.mode is not Mode.VIRTUAL and place.latitude is not None and place.longitude is not None:
        # Places are cities: three decimals (about 100 m) are all the precision they have.
        vevent.add("geo", (round(place.latitude, 3), round(place.longitude, 3)))
    if url := web_url(event.url):
        vevent.add("url", url)
    if description := _description(event):
        vevent.add("description", _Text(description))
    if sections := sections_of(event):
        vevent.add("categories", sections)
    if organizer := _organizer(event):
        vevent.add("organizer", organizer)
    return vevent


def _unique(events: Iterable[Event]) -> list[Event]:
    unique: dict[str, Event] = {}
    for event in sorted(events, key=lambda e: (e.first_day.isoformat(), e.key)):
        unique.setdefault(event.key, event)
    return list(unique.values())


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


def _length(start: date | datetime, end: date | datetime) -> timedelta | None:
    """The event's length as a DURATION where no reader can get it wrong, else None (and DTEND is written).

    Whole days for all-day events; for timed ones, under a day with no offset change in between, so that
    adding it to the wall time (as many readers do) and to the instant give the same end.
    """
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        return end - start
    if isinstance(start, datetime) and isinstance(end, datetime) and start.utcoffset() == end.utcoffset():
        length = end - start
        return length if timedelta(0) < length < timedelta(days=1) else None
    return None


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
    if not name or name in ("UTC", "Etc/UTC"):
        return ZoneInfo("UTC") if name else None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zone_spans(entries: Iterable[Entry]) -> dict[str, tuple[datetime, datetime]]:
    """Each zone in use, with the first and last instant any of `entries` needs in it."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for entry in entries:
        start, end = _times(entry.event)
        for value in (start, end):
            tzid = _tzid(value)
            if tzid and isinstance(value, datetime):
                first, last = spans.get(tzid, (value, value))
                spans[tzid] = (min(first, value), max(last, value))
    return spans


def _zone_blocks(
    spans: Mapping[str, tuple[datetime, datetime]], known: Mapping[str, Sequence[Change]]
) -> dict[str, bytes]:
    """One VTIMEZONE per zone, covering its span; `known` holds zones' changes already found."""
    return {tzid: block(tzid, first, last, known.get(tzid)) for tzid, (first, last) in sorted(spans.items())}


def _tzid(value: date | datetime | None) -> str:
    if (
        not isinstance(value, datetime)
        or value.tzinfo is None
        or (value.utcoffset() == timedelta(0) and (getattr(value.tzinfo, "key", "UTC") in ("UTC", "Etc/UTC")))
    ):
        return ""
    return str(getattr(value.tzinfo, "key", ""))


def _tzids(vevent: VEvent) -> tuple[str, ...]:
    return tuple(
        sorted({tzid for name in ("DTSTART", "DTEND") if (tzid := _tzid(getattr(vevent.get(name), "dt", None)))})
    )


@cache
def _empty_zone() -> bytes:
    moment = datetime(1970, 1, 1, tzinfo=UTC)
    return block(EMPTY_FEED_ZONE, moment, moment)


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


def _organizer(event: Event) -> vCalAddress | None:
    """ORGANIZER needs an address: the organizer's page, named by CN."""
    address = web_url(event.organizer_url)
    if not address:
        return None
    organizer = vCalAddress(address)
    if name := clean_text(event.organizer):
        organizer.params["CN"] = name
    return organizer


def _description(event: Event) -> str:
    """The event's own text, then what apps that ignore URL and ORGANIZER (Google Calendar) would not show."""
    own = event.description.strip()
    lines = []
    if (organizer := clean_text(event.organizer)) and not web_url(event.organizer_url):
        lines.append(f"Organizer: {organizer}")
    if (url := web_url(event.url)) and url not in own:
        lines.append(url)
    details = "\n".join(lines)
    room = DESCRIPTION_LIMIT - len(details) - 2
    if len(own) > room:
        own = own[: max(room - 1, 0)].rstrip() + "…"
    return "\n\n".join(part for part in (own, details) if part)


def _duration(text: str) -> timedelta:
    try:
        value = vDuration.from_ical(text)  # type: ignore[no-untyped-call]  # icalendar leaves it unannotated
    except ValueError:
        raise ValueError(f"feed refresh {text!r} is not an ISO 8601 duration such as PT6H") from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"feed refresh {text!r} must be a positive duration such as PT6H")
    return value
