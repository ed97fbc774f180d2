"""events.json: every event with its printed labels and sections, stable byte for byte, and readable back."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping

from aggregator.config import DEFAULT_STATES
from aggregator.grouping import sections_of
from aggregator.labels import place_label, where_label
from aggregator.model import Event
from aggregator.records import event_from_dict, event_to_dict
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
    events = []
    for index, item in enumerate(document["events"]):
        if not isinstance(item, dict):
            raise ValueError(f"events JSON: events[{index}] is not an object")
        try:
            events.append(event_from_dict(item))
        except ValueError as exc:
            raise ValueError(f"events JSON: events[{index}]: {exc}") from None
    return events


def _event_json(event: Event, states: Collection[str]) -> dict[str, object]:
    """The stored record plus what people and tools read without recomputing: days, labels, sections."""
    return {
        **event_to_dict(event),
        "first_day": event.first_day.isoformat(),
        "last_day": event.last_day.isoformat(),
        "all_day": event.all_day,
        "place_label": place_label(event.place, states),
        "where_label": where_label(event, states),
        "sections": sections_of(event),
    }


def _order(event: Event) -> tuple[str, str, str]:
    return event.first_day.isoformat(), event.key, event.source
