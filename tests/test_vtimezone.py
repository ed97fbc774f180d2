"""VTIMEZONEs checked hour by hour against the zone database, through two independent VTIMEZONE interpreters."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import tz as dateutil_tz

from aggregator.instants import unambiguous
from output.vtimezone import block, span, transitions, vtimezone
from tests.readers import icaljs_instants

FIRST = datetime(2026, 1, 1, tzinfo=UTC)
LAST = datetime(2027, 6, 30, tzinfo=UTC)
ZONES = [
    "Europe/Berlin",
    "Africa/Casablanca",
    "Africa/El_Aaiun",
    "Asia/Gaza",
    "America/Vancouver",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/Dublin",
    "Asia/Kolkata",
]


@pytest.mark.parametrize("name", ZONES)
def test_every_hour_of_the_span_has_the_databases_offset(name: str) -> None:
    data = vtimezone(name, FIRST, LAST).to_ical()
    assert b"COMMENT" not in data
    read = dateutil_tz.tzical(io.StringIO(data.decode())).get(name)
    zone = ZoneInfo(name)
    hours = [FIRST + timedelta(hours=hour) for hour in range(int((LAST - FIRST) / timedelta(hours=1)) + 1)]
    for moment in hours:
        expected = moment.astimezone(zone).utcoffset()
        assert moment.astimezone(read).utcoffset() == expected, f"dateutil: {name} at {moment:%Y-%m-%d %H:%M}Z"
    # ical.js as it reads DTSTART;TZID=...: each wall time the feed may publish (a repeated hour goes out in UTC).
    local = [moment.astimezone(zone) for moment in hours]
    published = [moment for moment, wall in zip(hours, local, strict=True) if unambiguous(wall)]
    walls = [wall.strftime("%Y-%m-%dT%H:%M:%S") for wall in local if unambiguous(wall)]
    for moment, read_back in zip(published, icaljs_instants(data, walls), strict=True):
        assert read_back == moment, f"ical.js: {name} at {moment:%Y-%m-%d %H:%M}Z"


def test_onsets_are_local_times_before_the_change_and_rules_are_compact() -> None:
    berlin = vtimezone("Europe/Berlin", FIRST, LAST).to_ical().decode()
    # 02:00 CET is when clocks jump to 03:00 CEST (RFC 5545: the onset in the offset it changes from).
    # Each observance starts at its last onset before the span (Ruby's icalendar needs one for every observance).
    assert "BEGIN:DAYLIGHT\r\nDTSTART:20250330T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in berlin
    assert "BEGIN:STANDARD\r\nDTSTART:20251026T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in berlin
    assert "RDATE" not in berlin
    assert len(berlin) < 400, "two observances, not decades of RDATEs"
    casablanca = vtimezone("Africa/Casablanca", FIRST, LAST).to_ical().decode()
    # tzdata 2026: Ramadan 2026 (+00 from 15 February to 22 March), then +00 for good from 20 September.
    # Clocks going back is a STANDARD change, as readers expect of a repeated hour; no yearly rule fits.
    standard = casablanca.split("BEGIN:STANDARD")[1].split("END:STANDARD")[0]
    assert "DTSTART:20250223T030000\r\nRDATE:20250223T030000\r\nRDATE:20260215T030000\r\nRDATE:20260920T0" in standard
    assert "RDATE:20260322T020000" in casablanca.split("BEGIN:DAYLIGHT")[1]
    assert "RRULE" not in casablanca
    kolkata = vtimezone("Asia/Kolkata", FIRST, LAST).to_ical().decode()
    assert kolkata.count("BEGIN:STANDARD") == 1 and "DTSTART:19700101T000000" in kolkata


def test_a_later_span_starts_later_and_a_rule_change_ends_the_rule() -> None:
    later = vtimezone("Europe/Berlin", datetime(2027, 1, 10, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    body = later.to_ical().decode()
    assert "DTSTART:20261025T030000" in body, "the change in force at the span's start"
    assert "2025" not in body and "DAYLIGHT" not in body
    # Vancouver keeps daylight time from March 2026 (tzdata 2026): no yearly rule may claim more changes.
    vancouver = vtimezone("America/Vancouver", datetime(2025, 12, 1, tzinfo=UTC), LAST).to_ical().decode()
    assert "RRULE" not in vancouver and "RDATE:20260308T020000" in vancouver


@pytest.mark.parametrize("name", ["Europe/Berlin", "Africa/Casablanca", "Australia/Lord_Howe"])
def test_changes_found_once_for_a_wider_span_give_each_narrower_span_its_own_vtimezone(name: str) -> None:
    known = transitions(ZoneInfo(name), *span(FIRST, LAST))
    for first, last in [(FIRST, LAST), (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))]:
        assert vtimezone(name, first, last, known).to_ical() == vtimezone(name, first, last).to_ical()


def _sampled(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta, timedelta]]:
    """Changes found the slow way, from offsets alone: sampled every 6 hours, each change bisected to the second."""

    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset() or timedelta(0)

    found = []
    moment, state = start, offset(start)
    while moment < end:
        later = min(moment + timedelta(hours=6), end)
        if (after := offset(later)) != state:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = (low + (high - low) / 2).replace(microsecond=0)
                low, high = (middle, high) if offset(middle) == state else (low, middle)
            found.append((high, state, after))
            state = after
        moment = later
    return found


def test_changes_read_from_the_zone_data_are_the_changes_its_offsets_show() -> None:
    # Every zone, over two years of the span feeds are built for (equal over 1900-2045 too, checked once: a minute).
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        read = [(change.at, change.before, change.after) for change in transitions(zone, start, end)]
        assert read == _sampled(zone, start, end), name


def test_a_serialised_block_is_its_zones_vtimezone_even_where_zones_share_their_rules() -> None:
    # Berlin and Paris change on the same instants: one block each, shared only by equal zone and content.
    for name in ("Europe/Berlin", "Europe/Paris", "Europe/Berlin"):
        for first, last in [(FIRST, LAST), (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))]:
            assert block(name, first, last) == vtimezone(name, first, last).to_ical()
    assert block("Europe/Paris", FIRST, LAST).replace(b"Europe/Paris", b"Europe/Berlin") == block(
        "Europe/Berlin", FIRST, LAST
    )
