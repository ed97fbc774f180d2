"""The Event <-> dict codec: exact round trips, events.json's shapes, clear errors, and the content hash."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.model import Event, Mode, Place
from aggregator.records import content_hash, event_from_dict, event_to_dict
from output.jsonfile import render_json

AUCKLAND = ZoneInfo("Pacific/Auckland")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

ALL_DAY = Event(
    key="ics:meetup-day",
    source="ics",
    title="Rust Hack Day",
    start=date(2026, 3, 14),
    end=date(2026, 3, 15),
    timezone="Europe/Berlin",
    mode=Mode.IN_PERSON,
    place=Place("Berlin", "", "DE", "Europe/Berlin", 52.52, 13.405),
)
MULTI_DAY = Event(
    key="ics:rustconf",
    source="ics",
    title="RustConf 2026",
    start=date(2026, 9, 8),
    end=date(2026, 9, 12),
    timezone="America/Toronto",
    mode=Mode.IN_PERSON,
    place=Place("Montreal", "QC", "CA"),
    sources=("ics", "jsonld-conferences"),
    cross_listed=True,
)
AUCKLAND_EVENING = Event(
    key="meetup:auckland:1",
    source="meetup-auckland",
    title="Rust Auckland — talks",
    # Auckland's DST ends on 5 April 2026; the evening after runs in standard time.
    start=datetime(2026, 4, 6, 18, tzinfo=AUCKLAND),
    end=datetime(2026, 4, 7, 0, 30, tzinfo=AUCKLAND),
    timezone="Pacific/Auckland",
    mode=Mode.HYBRID,
    place=Place("Auckland", "", "NZ", "Pacific/Auckland", -36.85, 174.76),
    location="Level 2, 1 Queen St",
    url="https://www.meetup.com/rust-akl/events/1/",
    organizer="Rust AKL",
    organizer_url="https://www.meetup.com/rust-akl/",
    description="Talks 🦀\nand pizza",
    sources=("meetup-auckland",),
)
# 01:30 happens twice in Los Angeles on 1 November 2026; this is the second, in PST.
REPEATED_HOUR = Event(
    key="luma:la:night",
    source="luma-la",
    title="Night owls",
    start=datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=LOS_ANGELES),
    end=datetime(2026, 11, 1, 3, tzinfo=LOS_ANGELES),
    timezone="America/Los_Angeles",
    mode=Mode.VIRTUAL,
    place=Place(),
    location="https://meet.example.org/owls",
)
FLOATING = Event(
    key="ics:floating",
    source="ics",
    title="Floating",
    start=datetime(2026, 8, 20, 18),
    end=datetime(2026, 8, 20, 21),
    timezone="",
    mode=Mode.VIRTUAL,
    place=Place(),
)
TRICKY = [ALL_DAY, MULTI_DAY, AUCKLAND_EVENING, REPEATED_HOUR, FLOATING]


def _same_moment(back: date | datetime, original: date | datetime) -> None:
    assert type(back) is type(original)
    if isinstance(original, datetime):
        assert isinstance(back, datetime)
        assert back.replace(tzinfo=None) == original.replace(tzinfo=None)
        assert back.utcoffset() == original.utcoffset()
        assert back.tzinfo is original.tzinfo


@pytest.mark.parametrize("event", TRICKY, ids=lambda e: e.key)
def test_tricky_events_round_trip_through_json_text(event: Event) -> None:
    record = json.loads(json.dumps(event_to_dict(event), allow_nan=False))
    back = event_from_dict(record)
    assert back == event
    _same_moment(back.start, event.start)
    _same_moment(back.end, event.end)


def test_repeated_hour_keeps_its_second_offset() -> None:
    record = event_to_dict(REPEATED_HOUR)
    assert record["start"] == "2026-11-01T01:30:00-08:00"
    back = event_from_dict(record)
    assert isinstance(back.start, datetime)
    assert back.start.fold == 1
    assert back.start.utcoffset() == timedelta(hours=-8)


def test_every_model_field_is_written() -> None:
    record = event_to_dict(AUCKLAND_EVENING)
    assert set(record) == {field.name for field in dataclasses.fields(Event)}
    place = record["place"]
    assert isinstance(place, dict)
    assert set(place) == {"city", "state", "country", "timezone", "lat", "lon"}


@pytest.mark.parametrize("event", TRICKY, ids=lambda e: e.key)
def test_shapes_agree_with_events_json(event: Event) -> None:
    item = json.loads(render_json([event], window=None, states=("US", "CA", "AU")))["events"][0]
    record = event_to_dict(event)
    assert {name: item[name] for name in record} == record
    assert event_from_dict(item) == event


def test_fields_with_model_defaults_may_be_missing() -> None:
    record = event_to_dict(FLOATING)
    for name in ("location", "url", "organizer", "organizer_url", "description", "sources", "cross_listed", "place"):
        del record[name]
    assert event_from_dict(record) == FLOATING


def test_non_finite_coordinates_are_written_as_null() -> None:
    event = dataclasses.replace(ALL_DAY, place=Place("Berlin", "", "DE", "", float("nan"), float("inf")))
    record = event_to_dict(event)
    json.dumps(record, allow_nan=False)
    assert event_from_dict(record).place == Place("Berlin", "", "DE")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("mode", "teleport", "field 'mode': unknown mode 'teleport'"),
        ("mode", 3, "field 'mode': not a string: 3"),
        ("start", "soon", "field 'start': 'soon' is not an ISO date or date-time"),
        ("end", None, "field 'end': missing or not a string"),
        ("title", ["x"], "field 'title': not a string"),
        ("timezone", "Mars/Olympus", "field 'timezone': unknown IANA zone 'Mars/Olympus'"),
        ("sources", "ics", "field 'sources': not a list of strings"),
        ("sources", ["ics", 2], "field 'sources': not a list of strings"),
        ("cross_listed", "yes", "field 'cross_listed': not true or false"),
        ("place", "Auckland", "place is not an object"),
    ],
)
def test_garbage_names_the_event_and_field(field: str, value: object, problem: str) -> None:
    record = {**event_to_dict(AUCKLAND_EVENING), field: value}
    with pytest.raises(ValueError, match="^" + re.escape(f"event 'meetup:auckland:1': {problem}")) as caught:
        event_from_dict(record)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [("lat", "north"), ("lon", True), ("lat", float("nan"))])
def test_bad_coordinate_names_the_place_field(name: str, value: object) -> None:
    record = json.loads(json.dumps(event_to_dict(AUCKLAND_EVENING)))
    record["place"][name] = value
    with pytest.raises(ValueError, match=f"field 'place.{name}': not a finite number"):
        event_from_dict(record)


def test_missing_key_and_non_object_are_named() -> None:
    record = event_to_dict(FLOATING)
    del record["key"]
    with pytest.raises(ValueError, match=r"^event: field 'key': missing or not a string$"):
        event_from_dict(record)
    with pytest.raises(ValueError, match=r"^event: record is not an object$"):
        event_from_dict([])  # type: ignore[arg-type]


def test_content_hash_ignores_who_listed_it() -> None:
    relisted = dataclasses.replace(AUCKLAND_EVENING, sources=("meetup-auckland", "luma-akl"), source="luma-akl")
    assert content_hash(relisted) == content_hash(AUCKLAND_EVENING)
    assert content_hash(event_from_dict(event_to_dict(AUCKLAND_EVENING))) == content_hash(AUCKLAND_EVENING)
    assert len(content_hash(AUCKLAND_EVENING)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Rust Auckland — workshop"},
        {"start": datetime(2026, 4, 6, 18, 30, tzinfo=AUCKLAND)},
        {"end": datetime(2026, 4, 6, 21, tzinfo=AUCKLAND)},
        {"timezone": "Pacific/Chatham"},
        {"mode": Mode.IN_PERSON},
        {"place": Place("Auckland", "", "NZ", "Pacific/Auckland", -36.85, 174.77)},
        {"location": "Level 3, 1 Queen St"},
        {"url": "https://www.meetup.com/rust-akl/events/2/"},
        {"organizer": "Rust NZ"},
        {"organizer_url": "https://rust.nz/"},
        {"description": "Talks"},
        {"cross_listed": True},
    ],
    ids=lambda change: next(iter(change)),
)
def test_content_hash_sees_every_content_field(change: dict[str, Any]) -> None:
    changed = dataclasses.replace(AUCKLAND_EVENING, **change)
    assert content_hash(changed) != content_hash(AUCKLAND_EVENING)


ZONES = ["Pacific/Auckland", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata", "Europe/Dublin", "UTC"]


@st.composite
def events(draw: st.DrawFn) -> Event:
    zone = draw(st.sampled_from(ZONES))
    kind = draw(st.sampled_from(["all-day", "aware", "floating"]))
    if kind == "all-day":
        start: date | datetime = draw(st.dates(date(1990, 1, 1), date(2040, 12, 31)))
        end: date | datetime = start + timedelta(days=draw(st.integers(1, 30)))
    else:
        zones = st.just(ZoneInfo(zone)) if kind == "aware" else st.none()
        start = draw(st.datetimes(datetime(1990, 1, 1), datetime(2040, 12, 31), timezones=zones))
        end = start + timedelta(minutes=draw(st.integers(0, 50_000)))
    coordinate = st.none() | st.floats(-180, 180, allow_nan=False)
    return Event(
        key=draw(st.text()),
        source=draw(st.text()),
        title=draw(st.text()),
        start=start,
        end=end,
        timezone="" if kind == "floating" else zone,
        mode=draw(st.sampled_from(Mode)),
        place=Place(
            draw(st.text()),
            draw(st.text()),
            draw(st.text(max_size=3)),
            draw(st.text()),
            draw(coordinate),
            draw(coordinate),
        ),
        location=draw(st.text()),
        url=draw(st.text()),
        organizer=draw(st.text()),
        organizer_url=draw(st.text()),
        description=draw(st.text()),
        sources=tuple(draw(st.lists(st.text(), max_size=3))),
        cross_listed=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(events())
def test_any_event_round_trips(event: Event) -> None:
    record = json.loads(json.dumps(event_to_dict(event), allow_nan=False))
    back = event_from_dict(record)
    assert back == event
    _same_moment(back.start, event.start)
    _same_moment(back.end, event.end)
    assert content_hash(back) == content_hash(event)
