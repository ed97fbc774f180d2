"""events.json: stable layout, the fields other tools read, and an exact round trip."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.model import Event, Mode, Place
from aggregator.window import issue_window
from output.jsonfile import events_from_json, render_json

STATES = ("US", "CA", "AU")
WINDOW = issue_window(date(2026, 8, 19))
VANCOUVER = ZoneInfo("America/Vancouver")

HYBRID = Event(
    key="meetup:vancouver-rust:314105333",
    source="meetup-vancouver",
    title="Dealing with Dependencies 🦀",
    start=datetime(2026, 8, 19, 18, tzinfo=VANCOUVER),
    end=datetime(2026, 8, 19, 20, 30, tzinfo=VANCOUVER),
    timezone="America/Vancouver",
    mode=Mode.HYBRID,
    place=Place("Vancouver", "BC", "CA", "America/Vancouver", 49.25, -123.1),
    location="Some Office, Vancouver",
    url="https://www.meetup.com/vancouver-rust/events/314105333/",
    organizer="Vancouver Rust",
    organizer_url="https://www.meetup.com/vancouver-rust",
    description="Talk and pizza.",
    sources=("meetup-vancouver", "luma-vancouver"),
)
CONFERENCE = Event(
    key="ics:rustconf",
    source="ics",
    title="RustConf 2026",
    start=date(2026, 9, 8),
    end=date(2026, 9, 12),
    timezone="America/Toronto",
    mode=Mode.IN_PERSON,
    place=Place("Montreal", "QC", "CA"),
)
LONDON = Event(
    key="ics:london",
    source="ics",
    title="Talks",
    start=datetime(2026, 8, 20, 18),
    end=datetime(2026, 8, 20, 21),
    timezone="",
    mode=Mode.VIRTUAL,
    place=Place("London", "ENG", "GB"),
)
EVENTS = [CONFERENCE, LONDON, HYBRID]


def test_document_fields_for_other_tools() -> None:
    document = json.loads(render_json(EVENTS, window=WINDOW, states=STATES))
    assert document["window"] == {"start": "2026-08-19", "end": "2026-09-16"}
    assert [item["key"] for item in document["events"]] == [HYBRID.key, LONDON.key, CONFERENCE.key]
    hybrid = document["events"][0]
    assert hybrid["start"] == "2026-08-19T18:00:00-07:00"
    assert (hybrid["first_day"], hybrid["last_day"], hybrid["all_day"]) == ("2026-08-19", "2026-08-19", False)
    assert hybrid["place"] == {
        "city": "Vancouver",
        "state": "BC",
        "country": "CA",
        "timezone": "America/Vancouver",
        "lat": 49.25,
        "lon": -123.1,
    }
    assert (hybrid["place_label"], hybrid["where_label"]) == ("Vancouver, BC, CA", "Hybrid (Vancouver, BC, CA)")
    assert hybrid["sections"] == ["Virtual", "North America"]
    assert hybrid["sources"] == ["meetup-vancouver", "luma-vancouver"]
    assert hybrid["mode"] == "hybrid"
    conference = document["events"][2]
    assert (conference["start"], conference["end"], conference["last_day"]) == (
        "2026-09-08",
        "2026-09-12",
        "2026-09-11",
    )
    assert conference["all_day"] is True
    assert document["events"][1]["place_label"] == "London, UK"
    assert document["events"][1]["sections"] == ["Virtual"]


def test_every_model_field_is_written() -> None:
    item = json.loads(render_json([HYBRID], window=None, states=STATES))["events"][0]
    assert {field.name for field in dataclasses.fields(Event)} - set(item) == set()
    assert {field.name for field in dataclasses.fields(Place)} - set(item["place"]) == {"latitude", "longitude"}


def test_output_is_stable_sorted_and_keeps_unicode() -> None:
    text = render_json(EVENTS, window=WINDOW, states=STATES)
    assert render_json(list(reversed(EVENTS)), window=WINDOW, states=STATES) == text
    assert text.endswith("}\n")
    assert "🦀" in text
    assert "\n  " in text
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_extra_fields_are_added_but_cannot_replace_events() -> None:
    document = json.loads(render_json([], window=None, extra={"sources": [{"name": "a", "ok": True}]}, states=STATES))
    assert document == {"events": [], "window": None, "sources": [{"name": "a", "ok": True}]}
    with pytest.raises(ValueError, match="extra field 'events'"):
        render_json([], window=None, extra={"events": []})


def test_round_trip_is_exact_including_zones() -> None:
    back = events_from_json(render_json(EVENTS, window=WINDOW, states=STATES))
    assert back == [HYBRID, LONDON, CONFERENCE]
    assert isinstance(back[0].start, datetime)
    assert back[0].start.tzinfo == VANCOUVER
    assert isinstance(back[1].start, datetime)
    assert back[1].start.tzinfo is None
    assert type(back[2].start) is date


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"window": null}', "no 'events' list"),
        ('{"events": [3]}', r"events\[0\] is not an object"),
        ('{"events": [{"key": "k1"}]}', r"events\[0\]: event 'k1': field 'timezone': missing"),
    ],
)
def test_bad_documents_give_one_line_messages(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        events_from_json(text)
    assert "\n" not in str(caught.value)


def test_bad_field_names_the_event_and_field() -> None:
    item = json.loads(render_json([HYBRID], window=None, states=STATES))["events"][0]
    for field, value, problem in (("mode", "teleport", "unknown mode 'teleport'"), ("start", "soon", "'soon' is not")):
        broken = json.dumps({"events": [{**item, field: value}]})
        with pytest.raises(ValueError, match=rf"event '{HYBRID.key}': field '{field}': {problem}"):
            events_from_json(broken)


ZONES = st.sampled_from(["Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])


@st.composite
def events(draw: st.DrawFn) -> Event:
    zone = draw(ZONES)
    if draw(st.booleans()):
        day = draw(st.dates(date(2020, 1, 1), date(2035, 12, 31)))
        start: date | datetime = day
        end: date | datetime = day + timedelta(days=draw(st.integers(1, 5)))
    else:
        start = draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31), timezones=st.just(ZoneInfo(zone))))
        end = start + timedelta(minutes=draw(st.integers(0, 5000)))
    coordinate = st.none() | st.floats(-90, 90, allow_nan=False)
    return Event(
        key=draw(st.text(min_size=1)),
        source=draw(st.text()),
        title=draw(st.text()),
        start=start,
        end=end,
        timezone=zone,
        mode=draw(st.sampled_from(Mode)),
        place=Place(
            draw(st.text()), draw(st.text()), draw(st.text(max_size=3)), "", draw(coordinate), draw(coordinate)
        ),
        location=draw(st.text()),
        url=draw(st.text()),
        organizer=draw(st.text()),
        organizer_url=draw(st.text()),
        description=draw(st.text()),
        sources=tuple(draw(st.lists(st.text(), max_size=3))),
        cross_listed=draw(st.booleans()),
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(events(), max_size=5))
def test_any_events_round_trip(listed: list[Event]) -> None:
    text = render_json(listed, window=WINDOW, states=STATES)
    back = events_from_json(text)
    assert sorted(back, key=repr) == sorted(listed, key=repr)
    for event in back:
        if isinstance(event.start, datetime):
            original = next(e for e in listed if e == event)
            assert isinstance(original.start, datetime)
            assert event.start.replace(tzinfo=None) == original.start.replace(tzinfo=None)
            assert event.start.utcoffset() == original.start.utcoffset()
            assert event.start.tzinfo == original.start.tzinfo
