"""The .ics feed, read back by an independent parser (vobject) and checked against RFC 5545 framing rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, vDuration

from aggregator.model import Event, Mode, Place
from aggregator.publication import MAIN, plan
from aggregator.regions import REGIONS
from output.ics import (
    DESCRIPTION_LIMIT,
    PRODID,
    FeedText,
    FeedWriter,
    Revision,
    entry_of,
    render_feed,
    render_feeds,
    slug,
    uid,
)
from output.markdown import title_text
from tests.readers import vobject_read

STATES = ("US", "CA", "AU")
BERLIN_PLACE = Place("Berlin", "BE", "DE")


def timed(
    key: str,
    start: datetime,
    *,
    hours: float = 2,
    title: str = "Meetup",
    mode: Mode = Mode.IN_PERSON,
    place: Place = BERLIN_PLACE,
    url: str = "https://example.org/e",
    location: str = "",
    source: str = "src",
) -> Event:
    zone = start.tzinfo.key if isinstance(start.tzinfo, ZoneInfo) else "UTC"
    return Event(
        key=key,
        source=source,
        title=title,
        start=start,
        end=start + timedelta(hours=hours),
        timezone=zone,
        mode=mode,
        place=place,
        location=location,
        url=url,
        organizer="Rust Org",
        organizer_url="https://example.org/org",
    )


def all_day(key: str, first: date, days: int) -> Event:
    return Event(
        key=key,
        source="src",
        title="Conference",
        start=first,
        end=first + timedelta(days=days),
        timezone="America/Toronto",
        mode=Mode.IN_PERSON,
        place=Place("Montreal", "QC", "CA"),
        url="https://conf.example.org/",
    )


BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EVENTS = [
    timed("meetup:berlin-1", datetime(2026, 10, 24, 19, tzinfo=BERLIN)),
    # Crosses the end of DST in Berlin; the VTIMEZONE must cover both offsets.
    timed("meetup:berlin-2", datetime(2026, 3, 28, 19, tzinfo=BERLIN), title="Spring 🦀 " + "long title " * 12),
    timed(
        "luma:nyc",
        datetime(2026, 11, 2, 18, 30, tzinfo=NEW_YORK),
        mode=Mode.HYBRID,
        place=Place("New York", "NY", "US"),
        url="javascript:alert(1)",
    ),
    timed("ics:online", datetime(2026, 9, 1, 16, tzinfo=ZoneInfo("UTC")), mode=Mode.VIRTUAL, place=Place()),
    all_day("ics:conf", date(2026, 9, 8), 4),
]


def render(events: list[Event], **options: object) -> bytes:
    return render_feed(events, name="Rust Events", description="Rust meetups", states=STATES, **options)  # type: ignore[arg-type]


def parse(data: bytes) -> vobject.base.Component:
    return vobject_read(data)


def by_uid(data: bytes) -> dict[str, vobject.base.Component]:
    return {vevent.uid.value: vevent for vevent in parse(data).vevent_list}


def test_independent_parser_reads_every_event_back() -> None:
    vevents = by_uid(render(EVENTS))
    assert set(vevents) == {uid(event.key) for event in EVENTS}
    for event in EVENTS:
        vevent = vevents[uid(event.key)]
        assert vevent.summary.value == title_text(event.title)
        assert vevent.dtstart.value == event.start
        if isinstance(event.start, datetime):
            assert vevent.dtstart.value.utcoffset() == event.start.utcoffset()
            # Under a day with no offset change, the length is a DURATION: wall and real time agree.
            assert vevent.dtstart.value + vevent.duration.value == event.end
        if event.url.startswith("https://"):
            assert vevent.url.value == event.url
        else:
            assert "url" not in vevent.contents


def test_lines_are_crlf_and_folded_to_75_octets() -> None:
    data = render(EVENTS)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines), "the long title should have been folded"


def test_every_tzid_has_a_vtimezone_and_utc_needs_none() -> None:
    text = render(EVENTS).decode()
    used = set(re.findall(r";TZID=([^:;]+)", text))
    defined = set(re.findall(r"^TZID:(.+?)\r$", text, re.MULTILINE))
    assert used == {"Europe/Berlin", "America/New_York"}
    assert defined == used
    assert "DTSTART:20260901T160000Z" in text
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_second_render_and_other_input_order_give_identical_bytes() -> None:
    first = render(EVENTS)
    assert render(EVENTS) == first
    assert render(list(reversed(EVENTS))) == first


def test_all_day_event_has_date_values_and_exclusive_end() -> None:
    text = render(EVENTS).decode()
    assert "DTSTART;VALUE=DATE:20260908\r\n" in text
    assert "DURATION:P4D\r\n" in text
    vevent = by_uid(render(EVENTS))[uid("ics:conf")]
    assert vevent.duration.value == timedelta(days=4)
    assert vevent.dtstart.value == date(2026, 9, 8)


def test_a_length_across_an_offset_change_is_an_exact_dtend() -> None:
    night = timed("night", datetime(2026, 10, 24, 22, tzinfo=BERLIN), hours=6)
    vevent = parse(render([night])).vevent
    assert "duration" not in vevent.contents
    assert vevent.dtend.value - vevent.dtstart.value == timedelta(hours=6)


def test_calendar_properties() -> None:
    text = render(EVENTS, refresh="PT12H").decode()
    for line in (
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "NAME:Rust Events",
        "X-WR-CALNAME:Rust Events",
        "DESCRIPTION:Rust meetups",
        "X-WR-CALDESC:Rust meetups",
        "REFRESH-INTERVAL;VALUE=DURATION:PT12H",
        "X-PUBLISHED-TTL:PT12H",
    ):
        assert f"\r\n{line}\r\n" in text


def test_bad_refresh_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="feed refresh 'six hours'"):
        render(EVENTS, refresh="six hours")


def test_stamps_and_sequences_are_used_and_default_stamp_is_the_start() -> None:
    key = "meetup:berlin-1"
    stamp = datetime(2026, 5, 1, 12, 30, tzinfo=BERLIN)
    vevents = by_uid(render(EVENTS, revisions={key: Revision(3, stamp)}))
    changed = vevents[uid(key)]
    assert changed.dtstamp.value == stamp
    assert changed.dtstamp.value.utcoffset() == timedelta(0)
    assert changed.sequence.value == "3"
    other = vevents[uid("luma:nyc")]
    assert other.dtstamp.value == datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert "sequence" not in other.contents, "SEQUENCE 0 is the default and left out"
    assert "status" not in other.contents
    cancelled = by_uid(render(EVENTS, revisions={key: Revision(4, stamp, cancelled=True, uid="abc")}))["abc"]
    assert (cancelled.status.value, cancelled.sequence.value) == ("CANCELLED", "4")
    assert vevents[uid("ics:conf")].dtstamp.value == datetime(2026, 9, 8, tzinfo=UTC)


def test_uid_depends_only_on_the_key_and_duplicates_collapse() -> None:
    event = EVENTS[0]
    again = timed(event.key, datetime(2026, 10, 25, 19, tzinfo=BERLIN), source="other", title="Renamed")
    assert uid(event.key) == uid(again.key) != uid("meetup:berlin-2")
    assert re.fullmatch(r"[0-9a-f]{16}", uid(event.key))
    vevents = parse(render([again, event])).vevent_list
    assert len(vevents) == 1
    assert vevents[0].summary.value == event.title


def test_location_description_and_categories() -> None:
    vevents = by_uid(render(EVENTS))
    berlin = vevents[uid("meetup:berlin-1")]
    assert berlin.location.value == "Berlin, DE"
    assert berlin.categories.value == ["Europe"]
    assert berlin.organizer.value == "https://example.org/org"
    assert berlin.organizer.params["CN"] == ["Rust Org"]
    assert berlin.description.value == "https://example.org/e", "the link, for apps that ignore URL"
    hybrid = vevents[uid("luma:nyc")]
    assert hybrid.location.value == "New York, NY, US"
    assert hybrid.categories.value == ["Virtual", "North America"]
    online = vevents[uid("ics:online")]
    assert online.location.value == "Online"
    assert online.categories.value == ["Virtual"]
    linked = timed("x", datetime(2026, 9, 2, 10, tzinfo=BERLIN), mode=Mode.VIRTUAL, location="https://meet.example/x")
    assert parse(render([linked])).vevent.location.value == "https://meet.example/x"


def test_own_description_shortened_and_geo_where_known() -> None:
    placed = Place("Berlin", "BE", "DE", "Europe/Berlin", 52.52437, 13.41053)
    long = replace(timed("d", datetime(2026, 9, 3, 19, tzinfo=BERLIN), place=placed), description="Talks. " * 2000)
    vevent = parse(render([long])).vevent
    text = vevent.description.value
    assert text.startswith("Talks. Talks.") and "…" in text and len(text) <= DESCRIPTION_LIMIT
    assert text.endswith("https://example.org/e")
    assert vevent.geo.value == "52.524;13.411"
    assert "geo" not in parse(render(EVENTS[3:4])).vevent.contents, "an online event has no place"


def test_region_feeds_cover_every_section_and_put_hybrid_in_two() -> None:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    feeds = plan([], EVENTS, (date(2026, 1, 1), date(2026, 12, 31)), now).feeds
    files = render_feeds(feeds, text=FeedText("Rust Events", "d"), states=STATES)
    assert set(files) == {"events.ics"} | {f"regions/{slug(name)}.ics" for name in REGIONS}
    assert slug("North America") == "north-america"

    def titles(section: str) -> set[str]:
        return {
            vevent.summary.value for vevent in parse(files[f"regions/{slug(section)}.ics"]).contents.get("vevent", [])
        }

    assert titles("Virtual") == {"Meetup"}  # the hybrid one and the online one
    assert len(parse(files["regions/virtual.ics"]).vevent_list) == 2
    assert len(parse(files["regions/north-america.ics"]).vevent_list) == 2
    assert len(parse(files["regions/europe.ics"]).vevent_list) == 2
    africa = parse(files["regions/africa.ics"])
    assert "vevent" not in africa.contents and len(africa.vtimezone_list) == 1, "empty, yet one component"
    assert "X-WR-CALNAME:Rust Events: Europe" in files["regions/europe.ics"].decode()
    # Each event is serialised once: its bytes are identical in the main feed and in its region feeds.
    main = files["events.ics"].decode()
    europe = files["regions/europe.ics"].decode()
    for block in re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", europe, re.DOTALL):
        assert block in main


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(min_size=1),
    zone=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "America/Sao_Paulo", "Australia/Sydney", "UTC"]),
    moment=st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31)),
)
def test_any_title_and_zone_survive_the_round_trip(title: str, zone: str, moment: datetime) -> None:
    start = moment.replace(microsecond=0, tzinfo=ZoneInfo(zone))
    # Wall times skipped or repeated by a DST change are ambiguous in any iCalendar reader.
    assume(start.astimezone(UTC).astimezone(start.tzinfo).replace(tzinfo=None) == start.replace(tzinfo=None))
    assume(start.replace(fold=1).utcoffset() == start.utcoffset())
    data = render([timed("k", start, title=title)])
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    vevent = parse(data).vevent
    assert vevent.summary.value == title_text(title)
    assert vevent.dtstart.value == start


@settings(max_examples=40, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1))
def test_each_calendar_has_its_own_name_and_the_runs_properties(name: str) -> None:
    entry = entry_of(EVENTS[0], None)
    data = FeedWriter({MAIN: [entry]}, text=FeedText("Rust Events", "Rust meetups, all of them"), states=STATES).single(
        entry, name
    )
    assert Calendar.from_ical(data).calendar_name == name
    # The properties serialised once for the run, around this name, are what icalendar writes for the whole calendar.
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.calendar_name = name
    calendar.description = "Rust meetups, all of them"
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(timedelta(hours=6)))
    assert data.startswith(calendar.to_ical().removesuffix(b"END:VCALENDAR\r\n") + b"BEGIN:VTIMEZONE\r\n")
