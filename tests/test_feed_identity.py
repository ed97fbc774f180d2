"""Identity across runs: moved, retitled, re-placed, removed events, a renamed source and a new better source.

Four runs over one calendar served by a local HTTP server (and, from the third run, a hand-added entry for one
of its events): each event keeps its UID for good, SEQUENCE rises on every change, and what vanished or left
a region is published CANCELLED where subscribers had it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
from pytest_httpserver import HTTPServer

from aggregator.config import load_config
from aggregator.job import run_job
from sources.http import Http

ISSUE = date(2026, 12, 2)
FIRST_RUN = datetime(2026, 11, 30, 6, tzinfo=UTC)
CALENDAR_PATH = "/calendar/ical/rust-events%40group.calendar.google.com/public/basic.ics"

CONFIG = """\
[output]
dir = "public"

[store]
path = "store.sqlite"

[http]
cache = ""
retries = 0

[[source]]
name = "{name}"
type = "ics"
url = "{url}"
{manual}"""

MANUAL_SOURCE = """
[[source]]
name = "Hand-added events"
type = "manual"
path = "manual.toml"
"""

# The editors add the Berlin meetup by hand (it now wins the merge), as the calendar lists it after its move.
MANUAL = """\
[[event]]
id = "berlin-december"
title = "Rust Berlin Meetup"
url = "https://berlin.example.org/events/december"
organizer = "Rust Berlin"
start = 2026-12-10T18:30:00
end = 2026-12-10T21:00:00
timezone = "Europe/Berlin"
place = "Berlin, Germany"
"""


def vevent(uid: str, summary: str, start: str, zone: str, location: str, *extra: str) -> str:
    lines = [
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"SUMMARY:{summary}",
        f"DTSTART;TZID={zone}:{start}",
        "DURATION:PT2H",
        f"LOCATION:{location}",
        f"URL:https://{uid.split('@')[0]}.example.org/events/december",
        f"DESCRIPTION:Organized by {summary.split(':')[0]}",
        *extra,
    ]
    return "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n"


def calendar(*events: str) -> bytes:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
    return (head + "".join(events) + "END:VCALENDAR\r\n").encode()


BERLIN = ("berlin@google.com", "Rust Berlin Meetup", "Europe/Berlin", "c-base, Rungestraße 20, Berlin, Germany")
HACK = ("hack@google.com", "Rust Hack Night", "Europe/Berlin", "Berlin, Germany")
FIRST = calendar(
    vevent(BERLIN[0], BERLIN[1], "20261210T190000", BERLIN[2], BERLIN[3]),
    vevent("tokyo@google.com", "Rust Tokyo", "20261212T190000", "Asia/Tokyo", "Shibuya, Tokyo, Japan"),
    vevent("paris@google.com", "Rust Paris", "20261214T190000", "Europe/Paris", "Paris, France"),
    vevent("lyon@google.com", "Rust Lyon", "20261215T190000", "Europe/Paris", "Lyon, France"),
    vevent(HACK[0], HACK[1], "20261203T190000", HACK[2], HACK[3], "RRULE:FREQ=WEEKLY;COUNT=3"),
)
SECOND = calendar(
    # Moved half an hour earlier; retitled; re-placed to another continent; Lyon removed; one instance moved.
    vevent(BERLIN[0], BERLIN[1], "20261210T183000", BERLIN[2], BERLIN[3]),
    vevent("tokyo@google.com", "Rust Tokyo #2", "20261212T190000", "Asia/Tokyo", "Shibuya, Tokyo, Japan"),
    vevent("paris@google.com", "Rust Paris", "20261214T190000", "America/Toronto", "Toronto, Canada"),
    vevent(HACK[0], HACK[1], "20261203T190000", HACK[2], HACK[3], "RRULE:FREQ=WEEKLY;COUNT=3"),
    vevent(HACK[0], HACK[1], "20261211T190000", HACK[2], HACK[3], "RECURRENCE-ID;TZID=Europe/Berlin:20261210T190000"),
)


def run(
    tmp_path: Path, server: HTTPServer, body: bytes, day: int, *, name: str = "Community", manual: bool = False
) -> Path:
    server.clear()
    server.expect_request("/calendar/ical/rust-events@group.calendar.google.com/public/basic.ics").respond_with_data(
        body, content_type="text/calendar"
    )
    (tmp_path / "manual.toml").write_text(MANUAL)
    config_path = tmp_path / "config.toml"
    url = server.url_for(CALENDAR_PATH)
    config_path.write_text(CONFIG.format(name=name, url=url, manual=MANUAL_SOURCE if manual else ""))
    config = load_config(config_path)
    result = run_job(config, ISSUE, Http(), now=FIRST_RUN + timedelta(days=day))
    assert not any(outcome.outcome == "failed" for outcome in result.outcomes)
    return tmp_path / "public"


def feed(path: Path) -> dict[tuple[str, str], icalendar.Event]:
    """VEVENTs by (summary, local start), asserting that no UID appears twice."""
    events = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    uids = [str(event["UID"]) for event in events]
    assert len(uids) == len(set(uids)), f"a UID twice in {path.name}"
    return {(str(event["SUMMARY"]), event.DTSTART.strftime("%m-%d %H:%M")): event for event in events}


def state(event: icalendar.Event) -> tuple[str, int, str]:
    return str(event["UID"]), int(event.get("SEQUENCE", 0)), str(event.get("STATUS", "CONFIRMED"))


def test_uids_survive_moves_renames_merges_and_cancellations_are_published(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    out = run(tmp_path, httpserver, FIRST, 0)
    first = feed(out / "events.ics")
    uid = {title: str(event["UID"]) for (title, _), event in first.items() if title != HACK[1]}
    hack = {when: str(event["UID"]) for (title, when), event in first.items() if title == HACK[1]}
    assert len(uid) == 4 and len(hack) == 3
    assert all(state(event)[1:] == (0, "CONFIRMED") for event in first.values())
    assert state(feed(out / "regions/europe.ics")[("Rust Paris", "12-14 19:00")])[1:] == (0, "CONFIRMED")

    out = run(tmp_path, httpserver, SECOND, 1)
    second = feed(out / "events.ics")
    assert state(second[(BERLIN[1], "12-10 18:30")]) == (uid[BERLIN[1]], 1, "CONFIRMED"), "moved: same UID, once"
    assert (BERLIN[1], "12-10 19:00") not in second
    assert state(second[("Rust Tokyo #2", "12-12 19:00")]) == (uid["Rust Tokyo"], 1, "CONFIRMED")
    assert state(second[("Rust Paris", "12-14 19:00")]) == (uid["Rust Paris"], 1, "CONFIRMED")
    assert state(second[("Rust Lyon", "12-15 19:00")]) == (uid["Rust Lyon"], 1, "CANCELLED")
    assert state(second[(HACK[1], "12-11 19:00")]) == (hack["12-10 19:00"], 1, "CONFIRMED"), "moved instance"
    assert state(second[(HACK[1], "12-03 19:00")]) == (hack["12-03 19:00"], 0, "CONFIRMED")
    europe = feed(out / "regions/europe.ics")
    assert state(europe[("Rust Paris", "12-14 19:00")]) == (uid["Rust Paris"], 1, "CANCELLED"), "left Europe"
    assert state(europe[("Rust Lyon", "12-15 19:00")]) == (uid["Rust Lyon"], 1, "CANCELLED")
    america = feed(out / "regions/north-america.ics")
    assert state(america[("Rust Paris", "12-14 19:00")]) == (uid["Rust Paris"], 1, "CONFIRMED")

    # The config entry is renamed and the editors add the Berlin meetup by hand (it wins the merge from now on):
    # every UID stays, nothing is cancelled; only the Berlin meetup's content (now the hand entry's) is new.
    out = run(tmp_path, httpserver, SECOND, 2, name="Rust Community Calendar", manual=True)
    third = feed(out / "events.ics")
    assert {key: state(event)[::2] for key, event in third.items()} == {
        key: state(event)[::2] for key, event in second.items()
    }
    assert state(third[(BERLIN[1], "12-10 18:30")]) == (uid[BERLIN[1]], 2, "CONFIRMED")
    assert str(third[(BERLIN[1], "12-10 18:30")]["LOCATION"]) == "Berlin, Germany"
    assert all(state(third[key])[1] == state(event)[1] for key, event in second.items() if key[0] != BERLIN[1])

    # Put back where it was: a higher SEQUENCE again, live in Europe, cancelled in North America.
    out = run(tmp_path, httpserver, FIRST, 3, name="Rust Community Calendar", manual=True)
    fourth = feed(out / "events.ics")
    assert state(fourth[("Rust Paris", "12-14 19:00")]) == (uid["Rust Paris"], 2, "CONFIRMED")
    assert state(fourth[("Rust Lyon", "12-15 19:00")]) == (uid["Rust Lyon"], 2, "CONFIRMED"), "back again"
    assert state(feed(out / "regions/europe.ics")[("Rust Paris", "12-14 19:00")])[1:] == (2, "CONFIRMED")
    assert state(feed(out / "regions/north-america.ics")[("Rust Paris", "12-14 19:00")])[1:] == (2, "CANCELLED")


def test_a_store_from_before_identities_keeps_its_published_uids(tmp_path: Path) -> None:
    import hashlib

    from aggregator.model import Event, Mode, Place
    from aggregator.publication import plan
    from aggregator.store import MIGRATIONS, Store

    start = datetime(2026, 12, 10, 19, tzinfo=UTC)
    event = Event("cal:m@x/20261210T190000Z", "cal", "Rust Meetup", start, start + timedelta(hours=2), "UTC",
                  Mode.IN_PERSON, Place("Berlin", "BE", "DE"), url="https://m.example.org/events/1")  # fmt: skip
    path = tmp_path / "store.sqlite"
    with Store(path, migrations=MIGRATIONS[:3]) as old:
        old.sync_source("cal", [event], FIRST_RUN)
        old._db.execute("INSERT INTO published VALUES (?, 'old-hash', 4, ?)", (event.key, FIRST_RUN.isoformat()))
    with Store(path) as store:
        rows = store.feed_state()
    legacy = f"{hashlib.sha1(event.key.encode()).hexdigest()[:16]}@twir-events"
    assert [(row.uid, row.sequence) for row in rows] == [(legacy, 4)]
    # The same event, now with an identity, is recognised as the one published before.
    listed = plan(rows, [replace(event, identity="google:x|m@x")], (ISSUE, ISSUE + timedelta(days=60)), FIRST_RUN)
    assert [(entry.uid, entry.sequence) for entry in listed.feeds[""]] == [(legacy, 5)]


def test_rendering_a_later_date_keeps_the_state_of_what_the_next_run_lists_again() -> None:
    from aggregator.model import Event, Mode, Place
    from aggregator.publication import plan

    start = datetime(2026, 12, 10, 19, tzinfo=UTC)
    event = Event("k", "cal", "Rust Meetup", start, start + timedelta(hours=2), "UTC", Mode.IN_PERSON,
                  Place("Berlin", "BE", "DE"), identity="google:x|m@x")  # fmt: skip
    first = plan([], [event], (date(2026, 11, 1), date(2027, 11, 1)), FIRST_RUN)
    edited = replace(event, title="Rust Meetup #2")
    second = plan(first.rows, [edited], (date(2026, 11, 1), date(2027, 11, 1)), FIRST_RUN + timedelta(days=1))
    # A render dated two months later: the meetup is past and unpublished, but its state is kept.
    later = plan(second.rows, [], (date(2027, 1, 15), date(2028, 1, 15)), FIRST_RUN + timedelta(days=2))
    assert later.feeds[""] == [] and [row.sequence for row in later.rows] == [1]
    again = plan(later.rows, [edited], (date(2026, 11, 1), date(2027, 11, 1)), FIRST_RUN + timedelta(days=3))
    assert [(entry.uid, entry.sequence) for entry in again.feeds[""]] == [(first.rows[0].uid, 1)]
