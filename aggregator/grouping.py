"""Group events into TWiR's sections and order them the way TWiR prints them."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from aggregator.labels import where_label
from aggregator.model import Event, Mode
from aggregator.regions import REGIONS, UNPLACED, VIRTUAL, region_of

Section = tuple[str, list[Event]]


def sections_of(event: Event) -> list[str]:
    """Virtual events go under Virtual, hybrid ones under Virtual and their continent; no continent is Other."""
    continent = region_of(event)
    if event.mode is Mode.VIRTUAL:
        return [VIRTUAL]
    if event.mode is Mode.HYBRID:
        return [VIRTUAL, continent] if continent else [VIRTUAL]
    return [continent or UNPLACED]


def sort_key(event: Event, states: Collection[str]) -> tuple[str, str, str, str, str]:
    """By date, then the place as printed, then organizer and title for a stable result."""
    return (event.first_day.isoformat(), where_label(event, states), event.organizer, event.title, event.key)


def group(events: Iterable[Event], states: Collection[str]) -> list[Section]:
    """Non-empty sections in TWiR order, each sorted."""
    buckets: dict[str, list[Event]] = {name: [] for name in (*REGIONS, UNPLACED)}
    for event in events:
        for name in sections_of(event):
            buckets[name].append(event)
    return [(name, sorted(items, key=lambda e: sort_key(e, states))) for name, items in buckets.items() if items]
