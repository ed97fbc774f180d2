"""The records that flow through twir-events: raw records from sources, normalized events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

NIGHT_END = time(6)


class Mode(enum.StrEnum):
    """How people attend an event."""

    IN_PERSON = "in-person"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class Place:
    """A resolved place: city, state/province code and ISO 3166 alpha-2 country (e.g. GB, not UK)."""

    city: str = ""
    state: str = ""
    country: str = ""
    timezone: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def __bool__(self) -> bool:
        return bool(self.city or self.country)


@dataclass
class RawEvent:
    """One occurrence as a source read it, before normalization.

    ``start``/``end`` are dates for all-day events, else datetimes that are aware (any
    zone) or naive (floating). ``timezone`` is set only when the source states the
    event's own IANA zone; ``fallback_timezone`` is the calendar's default zone.
    """

    source: str
    key: str
    title: str
    start: date | datetime
    end: date | datetime | None = None
    timezone: str = ""
    fallback_timezone: str = ""
    location: str = ""
    place: Place | None = None
    description: str = ""
    url: str = ""
    organizer: str = ""
    organizer_url: str = ""
    mode: Mode | None = None
    cancelled: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def is_all_day(value: date | datetime) -> bool:
    """True for a calendar date, false for a date-time."""
    return not isinstance(value, datetime)


@dataclass(frozen=True)
class Event:
    """A normalized event occurrence: dates in the event's own zone, a resolved place."""

    key: str
    source: str
    title: str
    start: date | datetime
    end: date | datetime
    timezone: str
    mode: Mode
    place: Place
    location: str = ""
    url: str = ""
    organizer: str = ""
    organizer_url: str = ""
    description: str = ""
    sources: tuple[str, ...] = ()
    cross_listed: bool = False
    # What the organizer's calendar says the event is (aggregator.identity); the feed's UID follows it.
    identity: str = ""

    @property
    def all_day(self) -> bool:
        return is_all_day(self.start)

    @property
    def first_day(self) -> date:
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def last_day(self) -> date:
        """The last local day the event runs on (DTEND is exclusive)."""
        if isinstance(self.start, datetime) and isinstance(self.end, datetime):
            if self.end <= self.start:
                return self.start.date()
            last = (self.end - timedelta(microseconds=1)).date()
            # A meetup that runs past midnight is still a one-day event.
            overnight = self.end - self.start < timedelta(days=1) and self.end.time() <= NIGHT_END
            return self.start.date() if overnight else last
        end = self.end.date() if isinstance(self.end, datetime) else self.end
        return max(self.first_day, end - timedelta(days=1))
