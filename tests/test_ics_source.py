"""The ics source on real Google Calendar exports, read in place from ../shared."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sources.base import SourceError, Span
from sources.http import Http
from sources.ics import IcsSource, parse_calendar

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "google-ics"


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def by_key(name: str, span: Span) -> dict[str, object]:
    result = parse_calendar("cal", real(name), span)
    assert result.warnings == []
    return {raw.key: raw for raw in result.events}


def test_moved_instance_keeps_its_recurrence_id_and_new_date() -> None:
    result = parse_calendar("cal", real("issue_62_moved_event_2.ics"), Span(date(2023, 8, 1), date(2023, 8, 31)))
    timed = sorted(
        (raw for raw in result.events if isinstance(raw.start, datetime)),
        key=lambda raw: raw.start,
    )
    sydney = ZoneInfo("Australia/Sydney")
    assert [raw.start for raw in timed] == [
        datetime(2023, 8, 8, 14, tzinfo=sydney),
        datetime(2023, 8, 14, 14, tzinfo=sydney),
        datetime(2023, 8, 22, 14, tzinfo=sydney),
    ]
    moved = timed[1]
    # Keyed by the slot it replaces (15 Aug 14:00 Sydney = 04:00 UTC), not by its new date.
    assert moved.key == "7v3ju5ft4je5iq18nfdk2s3spk@google.com/20230815T040000Z"
    assert moved.timezone == "Australia/Sydney"
    all_day = sorted(raw.start for raw in result.events if not isinstance(raw.start, datetime))
    assert all_day == [date(2023, 8, 10), date(2023, 8, 16), date(2023, 8, 24)]


def test_expansion_is_limited_to_the_span_and_a_day_of_slack() -> None:
    result = parse_calendar("cal", real("issue_62_moved_event_2.ics"), Span(date(2023, 8, 20), date(2023, 8, 21)))
    assert sorted(str(raw.start)[:10] for raw in result.events) == ["2023-08-22"]


def test_utc_times_have_no_zone_of_their_own_but_keep_the_calendar_zone() -> None:
    events = parse_calendar(
        "cal", real("x_wr_timezone_simple_events_issue_59.ics"), Span(date(2021, 12, 1), date(2021, 12, 31))
    ).events
    nine_pm = next(raw for raw in events if "9PM" in raw.title)
    assert nine_pm.timezone == ""
    assert nine_pm.fallback_timezone == "America/New_York"
    assert isinstance(nine_pm.start, datetime)
    assert nine_pm.start.astimezone(ZoneInfo("America/New_York")).date() == date(2021, 12, 22)
    assert nine_pm.start.astimezone(ZoneInfo("UTC")).date() == date(2021, 12, 23)


def test_exdate_removes_the_instance() -> None:
    events = by_key("machbar_16_feb_2019.ics", Span(date(2019, 2, 25), date(2019, 3, 17)))
    thursdays = sorted(str(e.start)[:10] for e in events.values() if "7g6502aejkun96i5fenfu6hvc1" in e.key)  # type: ignore[attr-defined]
    assert thursdays == ["2019-02-28", "2019-03-14"]


def test_override_before_master_moves_the_instance() -> None:
    events = by_key("machbar_16_feb_2019.ics", Span(date(2019, 2, 10), date(2019, 2, 28)))
    moved = events["ome5r9735mpdoo3n6lpf8oi0c4@google.com/20190216T100000Z"]
    assert moved.start == datetime(2019, 2, 24, 11, tzinfo=ZoneInfo("Europe/Berlin"))  # type: ignore[attr-defined]
    assert "Potsdam" in moved.location  # type: ignore[attr-defined]


def test_yearly_series_with_exdate_and_overridden_first_instance() -> None:
    events = parse_calendar(
        "cal", real("issue_151_macos_linux_difference.ics"), Span(date(2014, 1, 1), date(2018, 12, 31))
    ).events
    years = sorted(raw.start.year for raw in events)
    assert years == [2014, 2015, 2017, 2018]
    first = next(raw for raw in events if raw.start.year == 2014)
    assert isinstance(first.start, datetime)
    assert first.start.hour == 18 and first.start.minute == 30


def test_all_day_conferences_keep_exclusive_end_and_html_description() -> None:
    events = parse_calendar(
        "cal", real("pythondotorg-python-events-calendar.ics"), Span(date(2014, 5, 1), date(2014, 5, 31))
    ).events
    apac = next(raw for raw in events if raw.title == "PyCon APAC 2014")
    assert (apac.start, apac.end) == (date(2014, 5, 16), date(2014, 5, 19))
    assert apac.location == "Academia Sinica, Taipei, Taiwan"
    assert 'href="http://tw.pycon.org/2014apac/en/"' in apac.description


def test_utc_recurrence_id_on_a_tzid_master() -> None:
    result = parse_calendar(
        "cal", real("calagator-ical_google-portland-user-groups.ics"), Span(date(2007, 1, 1), date(2008, 12, 31))
    )
    assert result.warnings == []
    keys = [raw.key for raw in result.events]
    assert len(keys) == len(set(keys)), "every occurrence has its own key"
    assert len(keys) > 47


def test_every_real_export_parses_without_losing_events() -> None:
    for path in sorted(REAL.glob("*.ics")) if REAL.exists() else pytest.skip("shared fixtures absent"):
        result = parse_calendar(path.name, path.read_bytes(), Span(date(2000, 1, 1), date(2030, 12, 31)))
        assert result.events, path.name
        assert all(raw.title or raw.key for raw in result.events)


def test_folded_description_is_unfolded() -> None:
    events = parse_calendar(
        "cal", real("issue_48_daylight_aware_repeats.ics"), Span(date(2000, 1, 1), date(2030, 1, 1))
    ).events
    assert any("https://videoconf-colibri.zoom.us/j/93800310242?pwd=" in raw.description for raw in events)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response"),
        (b"<html><body>Not Found</body></html>", "not a valid iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "not a valid iCalendar file"),
    ],
)
def test_bad_calendar_is_one_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_calendar("cal", body, Span(date(2026, 1, 1), date(2026, 2, 1)))


def test_fetches_over_http(httpserver: object) -> None:
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    httpserver.expect_request("/basic.ics").respond_with_data(
        real("issue_62_moved_event_2.ics"), content_type="text/calendar"
    )
    httpserver.expect_request("/gone.ics").respond_with_data("nope", status=404)
    span = Span(date(2023, 8, 1), date(2023, 8, 31))
    assert len(IcsSource("cal", httpserver.url_for("/basic.ics")).fetch(Http(), span).events) == 6
    with pytest.raises(SourceError, match="HTTP 404"):
        IcsSource("cal", httpserver.url_for("/gone.ics")).fetch(Http(), span)
