"""Instants a calendar means: Windows zone names, RFC 5545 durations, floating times, one tz database."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import tzdata

from aggregator.instants import Duration, add_duration, parse_duration, unambiguous
from aggregator.model import Mode, Place
from aggregator.normalize import normalize
from output.ics import render_feed
from sources.base import Span
from sources.ics import parse_calendar
from tests.outlook import OUTLOOK_ZONES

BERLIN = ZoneInfo("Europe/Berlin")
SPAN = Span(date(2026, 12, 1), date(2027, 12, 31))


def calendar(events: str, head: str = "") -> bytes:
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{head}{events}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def vevent(uid: str, *lines: str) -> str:
    body = "".join(f"{line}\n" for line in (f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"SUMMARY:{uid}", *lines))
    return f"BEGIN:VEVENT\n{body}END:VEVENT\n"


def parsed(body: bytes) -> dict[str, list[tuple[datetime, datetime]]]:
    result = parse_calendar("cal", body, SPAN)
    assert result.warnings == []
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for raw in sorted(result.events, key=lambda raw: str(raw.start)):
        assert isinstance(raw.start, datetime) and isinstance(raw.end, datetime)
        found.setdefault(raw.title, []).append((raw.start, raw.end))
    return found


def test_windows_zone_names_are_their_iana_zones_with_or_without_a_vtimezone() -> None:
    body = calendar(
        vevent("india", "DTSTART;TZID=India Standard Time:20261210T190000", "DURATION:PT2H")
        + vevent(
            "pacific",
            "DTSTART;TZID=Pacific Standard Time:20270312T180000",
            "DTEND;TZID=Pacific Standard Time:20270312T200000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        )
        + vevent("tokyo", 'DTSTART;TZID="Tokyo Standard Time":20261211T190000', "DURATION:PT1H"),
        OUTLOOK_ZONES,
    )
    result = parse_calendar("cal", body, SPAN)
    zones = {raw.title: raw.timezone for raw in result.events}
    assert zones == {"india": "Asia/Calcutta", "pacific": "America/Los_Angeles", "tokyo": "Asia/Tokyo"}
    starts = sorted((raw.title, raw.start.astimezone(UTC)) for raw in result.events)  # type: ignore[union-attr]
    assert starts == [
        ("india", datetime(2026, 12, 10, 13, 30, tzinfo=UTC)),
        # Either side of the US switch to daylight time (14 March 2027): 18:00 local both weeks.
        ("pacific", datetime(2027, 3, 13, 2, tzinfo=UTC)),
        ("pacific", datetime(2027, 3, 20, 1, tzinfo=UTC)),
        ("tokyo", datetime(2026, 12, 11, 10, tzinfo=UTC)),
    ]


def test_duration_hours_are_exact_and_days_nominal_across_dst() -> None:
    body = calendar(
        vevent("hours", "DTSTART;TZID=Europe/Berlin:20270327T220000", "DURATION:PT12H")
        + vevent("day", "DTSTART;TZID=Europe/Berlin:20270327T220000", "DURATION:P1D")
        + vevent("hours-over-a-day", "DTSTART;TZID=Europe/Berlin:20270327T220000", "DURATION:PT36H")
        + vevent("day-and-hours", "DTSTART;TZID=Europe/Berlin:20270327T220000", "DURATION:P1DT12H")
        + vevent("in-the-gap", "DTSTART;TZID=Europe/Berlin:20270328T023000", "DURATION:PT1H")
        + vevent(
            "series",
            "DTSTART;TZID=Europe/Berlin:20270320T220000",
            "DTEND;TZID=Europe/Berlin:20270321T100000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        )
    )
    found = parsed(body)

    def hours(title: str, index: int = 0) -> float:
        start, end = found[title][index]
        return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)

    assert hours("hours") == 12
    assert hours("day") == 23  # the same wall time a day later: the night lost an hour
    assert found["day"][0][1] == datetime(2027, 3, 28, 22, tzinfo=BERLIN)
    assert hours("hours-over-a-day") == 36
    assert hours("day-and-hours") == 23 + 12
    # 02:30 does not exist that night: RFC 5545 reads it with the offset before the gap (01:30 UTC).
    assert found["in-the-gap"][0][0].astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert hours("in-the-gap") == 1
    # Every instance of a series lasts the first one's exact length (12 h), DST or not.
    assert [hours("series", i) for i in range(2)] == [12, 12]


def test_duration_text_round_trips_and_rejects_garbage() -> None:
    assert parse_duration("P1W") == Duration(days=7)
    assert parse_duration("-PT1H30M") == Duration(seconds=-5400)
    assert parse_duration(Duration(days=1, seconds=60).text) == Duration(days=1, seconds=60)
    for bad in ("P", "PT", "1H", "P1H", "PT1D"):
        with pytest.raises(ValueError, match="not an RFC 5545 duration"):
            parse_duration(bad)
    assert add_duration(date(2027, 1, 1), Duration(days=2)) == date(2027, 1, 3)


def test_floating_times_are_wall_time_at_the_place_then_the_calendar_zone() -> None:
    body = calendar(
        vevent("placed", "DTSTART:20261210T190000", "DTEND:20261210T210000", "LOCATION:Tokyo, Japan")
        + vevent("unplaced", "DTSTART:20261211T190000", "DTEND:20261211T210000"),
        "X-WR-TIMEZONE:Europe/Berlin\n",
    )
    raws = {raw.title: raw for raw in parse_calendar("cal", body, SPAN).events}
    assert raws["placed"].start == datetime(2026, 12, 10, 19)  # still floating: the rule below decides
    placed = normalize(raws["placed"]).event
    unplaced = normalize(raws["unplaced"]).event
    assert placed.timezone == "Asia/Tokyo"
    assert placed.start == datetime(2026, 12, 10, 19, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert unplaced.timezone == "Europe/Berlin"
    assert unplaced.start == datetime(2026, 12, 11, 19, tzinfo=BERLIN)


def test_repeated_and_skipped_local_times_are_published_in_utc() -> None:
    from aggregator.model import Event

    second_half_past_two = datetime(2027, 10, 31, 1, 30, tzinfo=UTC).astimezone(BERLIN)
    assert second_half_past_two.fold == 1 and not unambiguous(second_half_past_two)
    event = Event(
        key="k",
        source="s",
        title="Late",
        start=second_half_past_two,
        end=second_half_past_two + timedelta(hours=2),
        timezone="Europe/Berlin",
        mode=Mode.IN_PERSON,
        place=Place("Berlin", "BE", "DE"),
    )
    body = render_feed([event], name="n", description="d", states=())
    assert b"DTSTART:20271031T013000Z" in body
    assert b"DTEND;TZID=Europe/Berlin:20271031T043000" in body
    vevent_ = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert vevent_.DTSTART.astimezone(UTC).hour == 1


def test_one_tz_database_the_installed_tzdata_package() -> None:
    assert zoneinfo.TZPATH == ()
    packaged = Path(tzdata.__file__).parent / "zoneinfo" / "America" / "Vancouver"
    with packaged.open("rb") as handle:
        from_package = ZoneInfo.from_file(handle)
    moment = datetime(2027, 1, 15, 12, tzinfo=UTC)
    assert moment.astimezone(ZoneInfo("America/Vancouver")).utcoffset() == moment.astimezone(from_package).utcoffset()
