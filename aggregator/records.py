"""The one Event <-> plain dict codec (JSON-safe, field names as in events.json) and the hash of what an event says."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.model import Event, Mode, Place

# What an event says; `key` and `source` name it and `sources` only tells who else listed it.
CONTENT_FIELDS = (
    "title",
    "start",
    "end",
    "timezone",
    "mode",
    "place",
    "location",
    "url",
    "organizer",
    "organizer_url",
    "description",
    "cross_listed",
)


def event_to_dict(event: Event) -> dict[str, object]:
    """The event as JSON-safe values; a coordinate that is not a finite number becomes None."""
    place = event.place
    return {
        "key": event.key,
        "source": event.source,
        "sources": list(event.sources),
        "title": event.title,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "timezone": event.timezone,
        "mode": event.mode.value,
        "place": {
            "city": place.city,
            "state": place.state,
            "country": place.country,
            "timezone": place.timezone,
            "lat": _finite(place.latitude),
            "lon": _finite(place.longitude),
        },
        "location": event.location,
        "url": event.url,
        "organizer": event.organizer,
        "organizer_url": event.organizer_url,
        "description": event.description,
        "cross_listed": event.cross_listed,
        "identity": event.identity,
    }


def event_from_dict(data: Mapping[str, object]) -> Event:
    """The event `event_to_dict` wrote (extra keys, such as events.json's labels, are ignored).

    Raises a one-line ValueError naming the event and the bad field.
    """
    fields = _Fields(data, "event")
    if isinstance(data.get("key"), str):
        fields.where = f"event {data['key']!r}"
    place = _Fields(fields.item.get("place", {}), fields.where, "place.")
    timezone = fields.text("timezone", required=True)
    mode_text = fields.text("mode", required=True)
    try:
        mode = Mode(mode_text)
    except ValueError:
        raise fields.error("mode", f"unknown mode {mode_text!r}") from None
    sources = fields.item.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(name, str) for name in sources):
        raise fields.error("sources", "not a list of strings")
    return Event(
        key=fields.text("key", required=True),
        source=fields.text("source", required=True),
        title=fields.text("title", required=True),
        start=fields.moment("start", timezone),
        end=fields.moment("end", timezone),
        timezone=timezone,
        mode=mode,
        place=Place(
            city=place.text("city"),
            state=place.text("state"),
            country=place.text("country"),
            timezone=place.text("timezone"),
            latitude=place.number("lat"),
            longitude=place.number("lon"),
        ),
        location=fields.text("location"),
        url=fields.text("url"),
        organizer=fields.text("organizer"),
        organizer_url=fields.text("organizer_url"),
        description=fields.text("description"),
        sources=tuple(sources),
        cross_listed=fields.flag("cross_listed"),
        identity=fields.text("identity"),
    )


def content_hash(event: Event) -> str:
    """sha256 (hex) of the canonical JSON of the event's content fields: equal content, equal hash, on any machine."""
    record = event_to_dict(event)
    said = {name: record[name] for name in CONTENT_FIELDS}
    canonical = json.dumps(said, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class _Fields:
    """Typed access to one mapping, with errors that name the event and the field.

    Fields with a default in the model may be missing, so records written before a field existed still read.
    """

    def __init__(self, item: object, where: str, prefix: str = "") -> None:
        self.where = where
        self.prefix = prefix
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: {prefix.rstrip('.') or 'record'} is not an object")
        self.item: Mapping[str, object] = item

    def error(self, name: str, problem: str) -> ValueError:
        return ValueError(f"{self.where}: field {self.prefix + name!r}: {problem}")

    def text(self, name: str, *, required: bool = False) -> str:
        value = self.item.get(name) if required else self.item.get(name, "")
        if not isinstance(value, str):
            raise self.error(name, "missing or not a string" if value is None else f"not a string: {value!r}")
        return value

    def flag(self, name: str) -> bool:
        value = self.item.get(name, False)
        if not isinstance(value, bool):
            raise self.error(name, f"not true or false: {value!r}")
        return value

    def number(self, name: str) -> float | None:
        value = self.item.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(name, f"not a finite number: {value!r}")
        return float(value)

    def moment(self, name: str, timezone: str) -> date | datetime:
        """A date, or a datetime put back in the event's own zone when its written offset agrees with that zone."""
        text = self.text(name, required=True)
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            raise self.error(name, f"{text!r} is not an ISO date or date-time") from None
        if not isinstance(value, datetime) or value.tzinfo is None or not timezone:
            return value
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise self.error("timezone", f"unknown IANA zone {timezone!r}") from None
        # The fold that gives the written offset restores repeated and skipped wall times exactly.
        for fold in (0, 1):
            local = value.replace(tzinfo=zone, fold=fold)
            if local.utcoffset() == value.utcoffset():
                return local
        # Only an instant in another zone (or one whose rules changed since) lands here: keep its written offset.
        return value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
