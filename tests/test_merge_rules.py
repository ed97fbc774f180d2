"""The merge's rules on real-shaped records: community-calendar entries and a meetup group's events page.

Distinct events sharing a day and a city stay distinct; true duplicates (one page in two spellings, a calendar
entry and the meetup page of its event) merge, and each merge says which rule made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from aggregator.curation import parse_curation
from aggregator.merge import MergeResult, _candidate_pairs, _Facts, merge
from aggregator.model import Event
from aggregator.normalize import normalize
from sources.base import Span
from sources.ics import parse_calendar
from sources.meetup import GroupUrl, parse_events_page

SPAN = Span(date(2026, 12, 1), date(2026, 12, 31))
CALENDAR = "Rust Community Calendar"
MEETUP_PAGE = Path(__file__).with_name("fixtures") / "e2e" / "rust-berlin-events.html"
HEADER = (
    "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n"
    "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Rust Community\r\nX-WR-TIMEZONE:Europe/London\r\n"
)


def entry(uid: str, summary: str, start: str, link: str, location: str, organizer: str = "", hours: int = 2) -> str:
    """One VEVENT as the Google Calendar editor writes it: the link in an HTML description, an optional organizer."""
    description = f'<a href="{link}">{link}</a>'
    if organizer:
        name, url = organizer.split("|")
        description += f'<br><br>Organized by <a href="{url}">{name}</a>'
    end = f"{start[:9]}{int(start[9:11]) + hours:02d}{start[11:]}"
    return (
        f"BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:{start}\r\nDTEND;TZID=Europe/Berlin:{end}\r\n"
        f"DTSTAMP:20261128T101500Z\r\nUID:{uid}@google.com\r\nDESCRIPTION:{description}\r\n"
        f"LOCATION:{location.replace(',', chr(92) + ',')}\r\nSTATUS:CONFIRMED\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )


def calendar(*entries: str) -> list[Event]:
    body = (HEADER + "".join(entries) + "END:VCALENDAR\r\n").encode()
    result = parse_calendar(CALENDAR, body, SPAN)
    assert not result.warnings
    return [normalize(raw).event for raw in result.events]


def meetup_page() -> list[Event]:
    group = GroupUrl.parse("https://www.meetup.com/rust-berlin/")
    result = parse_events_page("Rust Berlin", group, MEETUP_PAGE.read_bytes(), SPAN)
    return [normalize(raw).event for raw in result.events]


def rank(event: Event) -> int:
    return 0 if event.source == "Rust Berlin" else 4


def merged(events: Sequence[Event]) -> MergeResult:
    result = merge(events, rank)
    # Never one event lost: every record is in exactly one merged event.
    kept = sorted(key for m in result.merges for key in m.records)
    alone = [e.key for e in result.events if e.key not in {m.key for m in result.merges}]
    assert sorted(kept + alone) == sorted(e.key for e in events)
    return result


def titles(result: MergeResult) -> list[str]:
    return sorted(event.title for event in result.events)


UTRECHT = "Jaarbeurs, Jaarbeursplein 6, 3521 AL Utrecht, Netherlands"
BERLIN = "c-base, Rungestraße 20, 10179 Berlin, Germany"
RUST_BERLIN = "Rust Berlin|https://www.meetup.com/rust-berlin/"


def test_rustweek_workshop_and_unconference_on_one_site_stay_two() -> None:
    # No "Organized by": the organizer is guessed from rustweek.org, which every RustWeek page shares.
    events = calendar(
        entry(
            "w", "RustWeek Workshop: Embedded", "20261208T100000", "https://rustweek.org/workshops/embedded", UTRECHT
        ),
        entry("u", "RustWeek Unconference", "20261208T110000", "https://rustweek.org/unconf", UTRECHT),
    )
    assert {e.organizer for e in events} == {"rustweek.org"}
    result = merged(events)
    assert titles(result) == ["RustWeek Unconference", "RustWeek Workshop: Embedded"]
    assert result.merges == []


def test_one_organizers_morning_workshop_and_evening_talks_stay_two() -> None:
    events = calendar(
        entry("m", "Embedded Rust workshop", "20261208T100000", "https://rust-berlin.de/workshop", BERLIN, RUST_BERLIN),
        entry(
            "e", "Talk night: async in practice", "20261208T190000", "https://rust-berlin.de/talks", BERLIN, RUST_BERLIN
        ),
    )
    result = merged(events)
    assert len(result.events) == 2
    assert result.possible_duplicates == []  # one calendar, two pages, hours apart: plainly two events


def test_a_day_of_one_organizer_across_calendar_and_meetup_page_loses_nothing() -> None:
    # The meetup page lists Rust and Tell on 12-08; the calendar adds the same evening once more (the meetup
    # link in another spelling) and a workshop of the same group that morning on a page of its own.
    events = meetup_page() + calendar(
        entry(
            "t",
            "Rust and Tell Berlin",
            "20261208T190000",
            "http://meetup.com/Rust-Berlin/events/123456789?utm_source=cal",
            BERLIN,
            RUST_BERLIN,
        ),
        entry("w", "Embedded Rust workshop", "20261208T100000", "https://rust-berlin.de/workshop", BERLIN, RUST_BERLIN),
    )
    result = merged(events)
    on_the_day = sorted(e.title for e in result.events if e.first_day == date(2026, 12, 8))
    assert on_the_day == ["Embedded Rust workshop", "Rust and Tell - December 2026"]
    [joined] = [m for m in result.merges if m.key == "Rust Berlin:123456789"]
    assert [j.rule for j in joined.joins] == ["same event page"]
    assert {j.second for j in joined.joins} == {f"{CALENDAR}:t@google.com/20261208T180000Z"}
    # The same group's morning workshop and evening talks: two events, and no false alarm.
    assert result.possible_duplicates == []


def test_series_placeholder_in_the_calendar_is_the_page_occurrence_on_its_day() -> None:
    events = meetup_page() + calendar(
        entry(
            "h",
            "Rust Hack and Learn",
            "20261216T190000",
            "https://www.meetup.com/rust-berlin/events/qwzhftyjcmbxb/",
            BERLIN,
        )
    )
    result = merged(events)
    [joined] = [m for m in result.merges if m.key == "Rust Berlin:312345601"]
    assert [j.rule for j in joined.joins] == ["same meetup group and day (series placeholder)"]
    [event] = [e for e in result.events if e.key == joined.key]
    assert event.url == "https://www.meetup.com/rust-berlin/events/312345601/"


def test_generic_titles_of_two_organizers_are_listed_not_merged() -> None:
    events = calendar(
        entry("a", "Rust Meetup", "20261209T190000", "https://a.example/events/9", BERLIN, "Rust A|https://a.example/"),
        entry("b", "Rust Meetup #3", "20261209T190000", "https://b.example/3", BERLIN, "Rust B|https://b.example/"),
    )
    result = merged(events)
    assert titles(result) == ["Rust Meetup", "Rust Meetup #3"]
    [doubt] = result.possible_duplicates
    assert "titles" in doubt.reason


def test_an_editors_same_decision_merges_a_listed_pair() -> None:
    events = calendar(
        entry("a", "Rust Meetup", "20261209T190000", "https://a.example/events/9", BERLIN, "Rust A|https://a.example/"),
        entry("b", "Rust Meetup #3", "20261209T190000", "https://b.example/3", BERLIN, "Rust B|https://b.example/"),
    )
    curation = parse_curation({"same": [{"urls": ["https://a.example/events/9", "https://b.example/3"]}]}, Path("c"))
    result = merged(events)
    assert len(result.possible_duplicates) == 1
    decided = curation.apply(result.events)
    assert curation.decided(*(e.url for e in result.events))
    assert [e.url for e in decided.events] == ["https://a.example/events/9"]


def test_one_host_for_everything_calendar_keeps_every_event() -> None:
    # 40 entries on four days, ten a day in one city, every link on one host and no organizer stated:
    # repeated titles, one organizer guessed for all. None may vanish.
    kinds = ("Rust Meetup", "Rust Hack Night", "Rust Meetup #2", "Rust Study Group", "Embedded Rust")
    entries = [
        entry(
            f"e{n}",
            kinds[n % len(kinds)],
            f"202612{8 + n % 4:02d}T{10 + n % 10:02d}0000",
            f"https://rust-community.example/events/{n}",
            BERLIN,
            hours=1,
        )
        for n in range(40)
    ]
    events = calendar(*entries)
    assert len(events) == 40
    result = merged(events)
    assert len(result.events) == 40 and result.merges == []


def test_the_same_title_without_a_second_page_is_one_event() -> None:
    # The summit's own site (a home page, no event page) and its ticket page, both all day in Vienna.
    body = (
        "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261212\r\nUID:{uid}\r\n"
        "DTSTAMP:20261128T101500Z\r\nDESCRIPTION:{link}\r\nLOCATION:Vienna\\, Austria\r\nSUMMARY:{title}\r\n"
        "END:VEVENT\r\n"
    )
    events = calendar(
        body.format(uid="s1", link="https://pretix.eu/rustwinter/2026/", title="Rust Winter Summit 2026"),
        body.format(uid="s2", link="https://rustwintersummit.at/", title="RustWinterSummit Vienna"),
    )
    result = merged(events)
    [joined] = result.merges
    assert [j.rule for j in joined.joins] == ["same title, place and day"]


def test_a_record_matching_two_events_of_one_calendar_does_not_make_them_one() -> None:
    # Two "Rust Hack and Learn" entries of one calendar at two pages: a third record (another source, same
    # organizer and title) matches both, but cannot join them into one event.
    events = calendar(
        entry("1", "Rust Hack and Learn", "20261216T190000", "https://rust-berlin.de/hl/1", BERLIN, RUST_BERLIN),
        entry("2", "Rust Hack and Learn", "20261216T200000", "https://rust-berlin.de/hl/2", BERLIN, RUST_BERLIN),
    )
    third = [e for e in meetup_page() if e.title == "Rust Hack and Learn"]
    result = merged(events + third)
    assert len(result.events) == 2
    assert any("would become one event" in d.reason for d in result.possible_duplicates) or any(
        "two pages in one source" in d.reason for d in result.possible_duplicates
    )


def _pairs(count: int) -> int:
    """Candidate pairs for `count` records all on one evening in one city, of few titles and organizers."""
    names = ("Rust Meetup", "Rust Hack Night", "Talks", "Rust Study Group")
    entries = [
        entry(
            f"p{n}",
            names[n % 4],
            "20261208T190000",
            f"https://rust-community.example/{n}",
            BERLIN,
            f"Group {n % 7}|https://g{n % 7}.example/",
        )
        for n in range(count)
    ]
    facts = [_Facts.of(event) for event in calendar(*entries)]
    return sum(1 for _ in _candidate_pairs(facts))


def test_candidate_pairs_grow_linearly_with_the_events_of_one_day() -> None:
    small, large = _pairs(150), _pairs(1500)
    assert large <= 12 * small
    assert large <= 1500 * 12  # a bounded number of comparisons per event, not one per pair of the day
