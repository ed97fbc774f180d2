"""Every reader puts every occurrence at the instant its source means: the demo feed and a hard-zone feed.

The hard-zone calendar is built from a table of intended instants (computed here with zoneinfo on the tzdata
package): Morocco's Ramadan change, half-hour and 45-minute zones, a repeated and a skipped local hour, a
DURATION across a DST change, Outlook's Windows zone names, a series with a moved, an excluded and a
cancelled occurrence. It goes through a whole run; ical.js, vobject and icalendar then read `events.ics`, and
each must give exactly the instants of `events.json` and of the table.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from aggregator.config import load_config
from aggregator.job import run_job
from sources.http import Http
from tests.outlook import OUTLOOK_ZONES
from tests.readers import (
    Occurrence,
    as_utc_range,
    by_icalendar,
    by_icaljs,
    by_ruby_strict,
    by_vobject,
    libical_problems,
)

ISSUE = date(2026, 12, 2)
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo" / "config.toml"

# title, zone (or a Windows name), place, local start, length, the IANA zone that defines the intended instant.
ONE_OFFS = [
    ("Casablanca before Ramadan", "Africa/Casablanca", "Casablanca, Morocco", "20270205T190000", "PT2H", ""),
    ("Casablanca in Ramadan", "Africa/Casablanca", "Casablanca, Morocco", "20270220T190000", "PT2H", ""),
    ("Casablanca after Ramadan", "Africa/Casablanca", "Casablanca, Morocco", "20270320T190000", "PT2H", ""),
    ("Laayoune in Ramadan", "Africa/El_Aaiun", "", "20270301T200000", "PT1H30M", ""),
    ("Lord Howe summer", "Australia/Lord_Howe", "Lord Howe Island, Australia", "20270320T190000", "PT2H", ""),
    ("Lord Howe winter", "Australia/Lord_Howe", "Lord Howe Island, Australia", "20270410T190000", "PT2H", ""),
    ("Chatham", "Pacific/Chatham", "", "20270402T190000", "PT3H", ""),
    ("Kathmandu", "Asia/Kathmandu", "Kathmandu, Nepal", "20270115T180000", "PT2H", ""),
    ("Dublin winter", "Europe/Dublin", "Dublin, Ireland", "20270115T183000", "PT2H", ""),
    ("Dublin summer", "Europe/Dublin", "Dublin, Ireland", "20270615T183000", "PT2H", ""),
    ("Santiago", "America/Santiago", "Santiago, Chile", "20270403T200000", "PT2H", ""),
    ("Vancouver", "America/Vancouver", "Vancouver, Canada", "20270615T180000", "PT2H", ""),
    ("Apia", "Pacific/Apia", "", "20270115T180000", "PT2H", ""),
    ("Night across spring DST", "Europe/Berlin", "Berlin, Germany", "20270327T220000", "PT12H", ""),
    ("Starts in the spring gap", "America/New_York", "New York, NY, USA", "20270314T023000", "PT1H", ""),
    ("Outlook Berlin", "W. Europe Standard Time", "Berlin, Germany", "20270401T190000", "PT2H", "Europe/Berlin"),
    ("Outlook Bengaluru", "India Standard Time", "Bengaluru, India", "20270115T183000", "PT2H", "Asia/Kolkata"),
    ("Two-day workshop", "Europe/Lisbon", "Lisbon, Portugal", "20270326T090000", "P1DT8H", ""),
]
# Either spelling of 02:30 on the night Berlin falls back (UTC in the source, as Google writes it).
REPEATED_HOUR = [("First 02:30", "20271031T003000Z"), ("Second 02:30", "20271031T013000Z")]


def intended() -> set[Occurrence]:
    """What the source means, computed independently of the code under test."""
    found: set[Occurrence] = set()
    for title, zone, _, local, length, iana in ONE_OFFS:
        start = datetime.strptime(local, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(iana or zone))
        if length.startswith("P1D"):  # a calendar day (same wall time tomorrow), then exact hours
            end = (start + timedelta(days=1)).astimezone(UTC) + timedelta(hours=8)
        else:
            hours, _, rest = length.removeprefix("PT").partition("H")
            end = start.astimezone(UTC) + timedelta(hours=int(hours), minutes=int(rest.rstrip("M") or 0))
        found.add((title, start.astimezone(UTC), end, "CONFIRMED"))
    for title, instant in REPEATED_HOUR:
        start = datetime.strptime(instant, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found.add((title, start, start + timedelta(hours=2), "CONFIRMED"))
    sydney = ZoneInfo("Australia/Sydney")
    # Five weeks at 18:00 across the April DST change: the 2nd excluded, the 3rd moved to 19:30, the 4th cancelled.
    for month, day, hour, minute in ((3, 25, 18, 0), (4, 8, 19, 30), (4, 22, 18, 0)):
        start = datetime(2027, month, day, hour, minute, tzinfo=sydney).astimezone(UTC)
        found.add(("Sydney weekly", start, start + timedelta(hours=2), "CONFIRMED"))
    return found


def hard_calendar() -> bytes:
    events = []
    for index, (title, zone, place, local, length, _) in enumerate(ONE_OFFS):
        zone_param = f'"{zone}"' if " " in zone else zone
        lines = [f"UID:one-{index}@hard", f"SUMMARY:{title}", f"DTSTART;TZID={zone_param}:{local}"]
        lines += [f"DURATION:{length}", f"URL:https://hard{index}.example.org/events/{index}"]
        events.append([*lines, f"LOCATION:{place}"] if place else lines)
    for index, (title, instant) in enumerate(REPEATED_HOUR):
        lines = [f"UID:fold-{index}@hard", f"SUMMARY:{title}", f"DTSTART:{instant}", "DURATION:PT2H"]
        events.append([*lines, "LOCATION:Berlin, Germany", f"URL:https://fold{index}.example.org/events/{index}"])
    weekly = ["UID:weekly@hard", "SUMMARY:Sydney weekly", "LOCATION:Sydney, Australia"]
    weekly += ["URL:https://sydney.example.org/events/weekly"]
    sydney = "TZID=Australia/Sydney"
    series = [f"DTSTART;{sydney}:20270325T180000", f"DTEND;{sydney}:20270325T200000", "RRULE:FREQ=WEEKLY;COUNT=5"]
    events.append([*weekly, *series, f"EXDATE;{sydney}:20270401T180000"])
    moved = [f"DTSTART;{sydney}:20270408T193000", f"DTEND;{sydney}:20270408T213000"]
    events.append([*weekly, f"RECURRENCE-ID;{sydney}:20270408T180000", *moved])
    cancelled = [f"DTSTART;{sydney}:20270415T180000", f"DTEND;{sydney}:20270415T200000", "STATUS:CANCELLED"]
    events.append([*weekly, f"RECURRENCE-ID;{sydney}:20270415T180000", *cancelled])
    body = "".join(
        "BEGIN:VEVENT\n" + "".join(f"{line}\n" for line in ["DTSTAMP:20261101T000000Z", *lines]) + "END:VEVENT\n"
        for lines in events
    )
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\n"
    return f"{head}{OUTLOOK_ZONES}{body}END:VCALENDAR\n".replace("\n", "\r\n").encode()


def from_json(path: Path) -> set[Occurrence]:
    found: set[Occurrence] = set()
    for item in json.loads(path.read_text())["events"]:
        start = datetime.fromisoformat(item["start"]) if "T" in item["start"] else date.fromisoformat(item["start"])
        end = datetime.fromisoformat(item["end"]) if "T" in item["end"] else date.fromisoformat(item["end"])
        first, last = as_utc_range(start, end)
        found.add((item["title"], first, last if last != first else None, "CONFIRMED"))
    return found


def readers(feed: bytes) -> dict[str, set[Occurrence]]:
    return {"ical.js": by_icaljs(feed), "vobject": by_vobject(feed), "icalendar": by_icalendar(feed)}


def check_strict(feed: bytes, expected: set[Occurrence]) -> None:
    """Ruby's strict parser puts every start where the other readers do; libical's restriction check passes."""
    assert by_ruby_strict(feed) == {(title, start, status) for title, start, _, status in expected}
    assert libical_problems(feed) == "passed"


def test_hard_zones_every_reader_gets_the_intended_instants(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hard.ics").respond_with_data(hard_calendar(), content_type="text/calendar")
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[output]\ndir = "public"\n[store]\npath = "store.sqlite"\n[http]\ncache = ""\nretries = 0\n'
        f'[[source]]\nname = "Hard zones"\ntype = "ics"\nurl = "{httpserver.url_for("/hard.ics")}"\n'
    )
    run_job(load_config(config_path), ISSUE, Http(), now=NOW)
    out = tmp_path / "public"
    expected = intended()
    assert from_json(out / "events.json") == expected
    feed = (out / "events.ics").read_bytes()
    for name, found in readers(feed).items():
        assert found == expected, f"{name} disagrees: {sorted(found ^ expected)}"
    check_strict(feed, expected)
    for region in (out / "regions").iterdir():
        # Every region feed, the empty ones too, passes both strict readers.
        by_ruby_strict(region.read_bytes())
        assert libical_problems(region.read_bytes()) == "passed", region.name


def test_demo_feed_every_reader_agrees_with_events_json(tmp_path: Path) -> None:
    if not DEMO.exists():
        pytest.skip("demo config absent")
    config = replace(load_config(DEMO), output_dir=tmp_path / "public", store_path=tmp_path / "store.sqlite")
    run_job(config, date(2026, 11, 25), Http(), now=datetime(2026, 11, 22, 6, tzinfo=UTC))
    expected = from_json(tmp_path / "public" / "events.json")
    assert len(expected) > 50
    feed = (tmp_path / "public" / "events.ics").read_bytes()
    for name, found in readers(feed).items():
        assert found == expected, f"{name} disagrees: {sorted(found ^ expected)[:6]}"
    check_strict(feed, expected)
