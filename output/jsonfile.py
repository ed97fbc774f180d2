"""events.json: every event with its printed labels and sections, stable byte for byte, and readable back."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.config import DEFAULT_STATES
from aggregator.grouping import sections_of
from aggregator.labels import place_label, where_label
from aggregator.model import Event, Mode, Place
from aggregator.window import Window

RESERVED = ("window", "events")


def render_json(
    events: Iterable[Event],
    *,
    window: Window | None,
    extra: Mapping[str, object] | None = None,
    states: Collection[str] = DEFAULT_STATES,
) -> str:
    """The document `{"window": ..., "events": [...], **extra}` with sorted keys, indent 2 and a trailing newline."""
    extra = extra or {}
    clash = [name for name in RESERVED if name in extra]
    if clash:
        raise ValueError(f"events JSON: extra field {clash[0]!r} would overwrite the {clash[0]} field")
    document = {
        **extra,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()} if window else None,
        "events": [_event_json(event, states) for event in sorted(events, key=_order)],
    }
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def events_from_json(text: str) -> list[Event]:
    """The events of a document written by `render_json`; raises ValueError naming the bad event and field."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"events JSON: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ValueError("events JSON: no 'events' list at the top level")
    return [_event_from_json(item, index) for index, item in enumerate(document["events"])]


def _event_json(event: Event, states: Collection[str]) -> dict[str, object]:
    place = event.place
    return {
        "key": event.key,
        "source": event.source,
        "sources": list(event.sources),
        "title": event.title,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "first_day": event.first_day.isoformat(),
        "last_day": event.last_day.isoformat(),
        "all_day": event.all_day,
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
        "place_label": place_label(place, states),
        "where_label": where_label(event, states),
        "location": event.location,
        "url": event.url,
        "organizer": event.organizer,
        "organizer_url": event.organizer_url,
        "description": event.description,
        "sections": sections_of(event),
        "cross_listed": event.cross_listed,
    }


def _event_from_json(item: object, index: int) -> Event:
    fields = _Fields(item, index)
    place = _Fields(fields.get("place", dict), f"{fields.where}.place")
    timezone = fields.text("timezone")
    start = _moment(fields.text("start"), timezone, fields, "start")
    end = _moment(fields.text("end"), timezone, fields, "end")
    try:
        mode = Mode(fields.text("mode"))
    except ValueError:
        raise fields.error("mode", f"unknown mode {fields.item['mode']!r}") from None
    sources = fields.get("sources", list)
    if not all(isinstance(name, str) for name in sources):
        raise fields.error("sources", "must be a list of strings")
    return Event(
        key=fields.text("key"),
        source=fields.text("source"),
        title=fields.text("title"),
        start=start,
        end=end,
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
    )


class _Fields:
    """Typed access to one JSON object, with errors that name the event and the field."""

    def __init__(self, item: object, where: int | str) -> None:
        self.where = f"events[{where}]" if isinstance(where, int) else where
        if not isinstance(item, dict):
            raise ValueError(f"events JSON: {self.where} is not an object")
        self.item: dict[str, Any] = item
        if isinstance(where, int) and isinstance(item.get("key"), str):
            self.where = f"events[{where}] ({item['key']})"

    def error(self, name: str, problem: str) -> ValueError:
        return ValueError(f"events JSON: {self.where}.{name}: {problem}")

    def get(self, name: str, kind: type) -> Any:
        value = self.item.get(name)
        if not isinstance(value, kind):
            raise self.error(name, f"missing or not a {kind.__name__}")
        return value

    def text(self, name: str) -> str:
        value: str = self.get(name, str)
        return value

    def flag(self, name: str) -> bool:
        """A boolean that older documents may lack."""
        value = self.item.get(name, False)
        if not isinstance(value, bool):
            raise self.error(name, "not true or false")
        return value

    def number(self, name: str) -> float | None:
        value = self.item.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(name, "not a number")
        return float(value)


def _moment(text: str, timezone: str, fields: _Fields, name: str) -> date | datetime:
    """A date, or a datetime back in the event's own zone when its offset agrees with that zone."""
    try:
        value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise fields.error(name, f"{text!r} is not an ISO date or date-time") from None
    if not isinstance(value, datetime) or value.tzinfo is None or not timezone:
        return value
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return value
    # The fold that gives the written offset restores repeated and skipped wall times exactly.
    for fold in (0, 1):
        local = value.replace(tzinfo=zone, fold=fold)
        if local.utcoffset() == value.utcoffset():
            return local
    return value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _order(event: Event) -> tuple[str, str, str]:
    return event.first_day.isoformat(), event.key, event.source
