"""The editors' curation file: each rule kind, URL spellings, validation messages, stale rules, valid results."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import places
from aggregator.curation import Curation, CurationResult, load_curation, parse_curation
from aggregator.model import Event, Mode, Place
from aggregator.tomltable import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
RUST_BERLIN = "https://www.meetup.com/rust-berlin"
MEETUP_EVENT = "https://www.meetup.com/rust-berlin/events/312345678/"
LUMA_EVENT = "https://luma.com/abcd1234"


def event(**fields: Any) -> Event:
    """A normalized in-person Rust Berlin evening meetup; keyword arguments override fields."""
    start = datetime(2026, 12, 3, 19, 0, tzinfo=BERLIN)
    base = Event(
        key="meetup:312345678",
        source="meetup",
        title="Rust Berlin: Talk Night",
        start=start,
        end=start + timedelta(hours=3),
        timezone="Europe/Berlin",
        mode=Mode.IN_PERSON,
        place=places.resolve("Berlin, DE") or Place(),
        url=MEETUP_EVENT,
        organizer="Rust Berlin",
        organizer_url=RUST_BERLIN,
        sources=("meetup",),
    )
    return replace(base, **fields)


def curation(tmp_path: Path, text: str) -> Curation:
    path = tmp_path / "curation.toml"
    path.write_text(text, encoding="utf-8")
    return load_curation(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        curation(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message
    return message


def valid(item: Event) -> bool:
    """Both ends of one kind (dates, aware or floating date-times), the end not before the start."""
    start, end = item.start, item.end
    if isinstance(start, datetime) and isinstance(end, datetime):
        return (start.tzinfo is None) == (end.tzinfo is None) and end >= start
    return not isinstance(start, datetime) and not isinstance(end, datetime) and end >= start


def assert_valid(item: Event) -> None:
    assert valid(item)
    assert item.first_day <= item.last_day


# --- exclude -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        MEETUP_EVENT,
        "https://www.meetup.com/rust-berlin/events/312345678",
        "https://www.meetup.com/de-DE/rust-berlin/events/312345678/",
        "https://meetup.com/Rust-Berlin/events/312345678/?utm_source=newsletter",
        "http://m.meetup.com/rust-berlin/events/312345678/#comments",
    ],
)
def test_exclude_by_url_matches_every_spelling(tmp_path: Path, spelling: str) -> None:
    rules = curation(tmp_path, f'[[exclude]]\nurl = "{spelling}"\nreason = "cancelled"\n')
    other = event(key="meetup:312345999", url="https://www.meetup.com/rust-berlin/events/312345999/")
    result = rules.apply([event(), other])
    assert result.events == [other]
    assert [(item.key, why) for item, why in result.excluded] == [
        ("meetup:312345678", f"exclude[0] (url {spelling}): cancelled")
    ]
    assert result.unused_rules == []


def test_exclude_by_luma_url_matches_lu_ma(tmp_path: Path) -> None:
    rules = curation(tmp_path, '[[exclude]]\nurl = "https://lu.ma/abcd1234"\n')
    result = rules.apply([event(url=LUMA_EVENT)])
    assert result.events == []
    assert result.excluded[0][1] == "exclude[0] (url https://lu.ma/abcd1234)"


def test_exclude_by_organizer_and_title(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        '[[exclude]]\norganizer = "berlin  functional programming"\ntitle = "(?i)haskell"\nreason = "off-topic"\n',
    )
    haskell = event(key="a", organizer="Berlin Functional Programming", title="Intro to Haskell")
    rust = event(key="b", organizer="Berlin Functional Programming", title="Rust for Haskellers? No: Rust traits")
    other = event(key="c", organizer="Berlin Functional Programming", title="Rust traits")
    elsewhere = event(key="d", organizer="Rust Berlin", title="Haskell and Rust")
    result = rules.apply([haskell, rust, other, elsewhere])
    assert [item.key for item in result.events] == ["c", "d"]
    assert [item.key for item, _ in result.excluded] == ["a", "b"]
    assert all(why.endswith(": off-topic") for _, why in result.excluded)


def test_exclude_by_organizer_link_and_date(tmp_path: Path) -> None:
    rules = curation(
        tmp_path, '[[exclude]]\norganizer = "https://www.meetup.com/de-DE/Rust-Berlin/"\ndate = 2026-12-03\n'
    )
    on_day = event(key="a", organizer="Renamed in the source")
    next_week = event(key="b", start=event().start + timedelta(days=7), end=event().end + timedelta(days=7))
    no_link = event(key="c", organizer_url="", url="https://example.org/rust-berlin")
    result = rules.apply([on_day, next_week, no_link])
    assert [item.key for item in result.events] == ["b", "c"]


def test_exclude_finds_meetup_group_from_the_event_link(tmp_path: Path) -> None:
    rules = curation(tmp_path, f'[[exclude]]\norganizer = "{RUST_BERLIN}"\n')
    assert rules.apply([event(organizer_url="")]).events == []


# --- group ---------------------------------------------------------------------------------------

GROUP = """
[[group]]
url = "https://www.meetup.com/charlottesville-rust-meetup"
place = "Charlottesville, VA, US"
name = "Charlottesville Rust Meetup"
"""
CVILLE = "https://www.meetup.com/charlottesville-rust-meetup"


def test_group_sets_home_place_of_virtual_and_placeless_events(tmp_path: Path) -> None:
    rules = curation(tmp_path, GROUP)
    home = places.resolve("Charlottesville, VA, US")
    start = datetime(2026, 8, 20, 19, 0, tzinfo=NEW_YORK)
    common = {"organizer": "C'ville Rust", "organizer_url": CVILLE, "timezone": "America/New_York", "start": start}
    virtual = event(key="v", mode=Mode.VIRTUAL, place=places.resolve("Charlotte, NC, US"), end=start, **common)
    placeless = event(key="p", place=Place(), end=start, **common)
    elsewhere = event(key="e", place=places.resolve("Richmond, VA, US"), end=start, **common)
    result = rules.apply([virtual, placeless, elsewhere])
    assert [item.place for item in result.events] == [home, home, elsewhere.place]
    assert {item.organizer for item in result.events} == {"Charlottesville Rust Meetup"}
    assert len(result.patched) == 3
    assert result.patched[0].startswith("group[0] (url https://www.meetup.com/charlottesville-rust-meetup): v ")
    assert result.patched[0].endswith("set organizer, place")
    assert result.unused_rules == []


def test_group_leaves_other_organizers_alone(tmp_path: Path) -> None:
    rules = curation(tmp_path, GROUP)
    berlin = event(mode=Mode.VIRTUAL)
    result = rules.apply([berlin])
    assert result.events == [berlin]
    assert result.unused_rules == ["group[0] (url https://www.meetup.com/charlottesville-rust-meetup) matched nothing"]


def test_group_place_brings_its_zone_keeping_the_instant(tmp_path: Path) -> None:
    rules = curation(tmp_path, '[[group]]\nurl = "https://www.meetup.com/rust-berlin/"\nplace = "Berlin, DE"\n')
    start = datetime(2026, 12, 3, 23, 30, tzinfo=ZoneInfo("UTC"))
    placeless = event(place=Place(), timezone="UTC", start=start, end=start + timedelta(hours=2))
    (moved,) = rules.apply([placeless]).events
    assert moved.timezone == "Europe/Berlin"
    assert moved.start == start
    assert isinstance(moved.start, datetime)
    assert moved.start.utcoffset() == timedelta(hours=1)
    assert moved.first_day == date(2026, 12, 4)


# --- patch ---------------------------------------------------------------------------------------


def test_patch_sets_every_field(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        '[[patch]]\nurl = "https://lu.ma/abcd1234"\nset = { place = "Potsdam, DE", mode = "hybrid", '
        'title = "Rust Berlin: Unconference", organizer = "Rust Berlin e.V.", '
        'organizer_url = "https://lu.ma/rust-berlin", url = "https://www.meetup.com/de-DE/rust-berlin/events/1/", '
        "start = 2026-12-03, end = 2026-12-04 }\n",
    )
    (patched,) = rules.apply([event(url=LUMA_EVENT)]).events
    assert patched.place == places.resolve("Potsdam, DE")
    assert patched.mode is Mode.HYBRID
    assert patched.title == "Rust Berlin: Unconference"
    assert patched.organizer == "Rust Berlin e.V."
    assert patched.organizer_url == "https://luma.com/rust-berlin"
    assert patched.url == "https://www.meetup.com/rust-berlin/events/1/"
    assert (patched.start, patched.end) == (date(2026, 12, 3), date(2026, 12, 5))
    assert (patched.first_day, patched.last_day) == (date(2026, 12, 3), date(2026, 12, 4))
    assert patched.key == "meetup:312345678"


def test_patch_by_organizer_title_and_date(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        '[[patch]]\norganizer = "Rust Berlin"\ntitle = "Talk Night$"\ndate = 2026-12-03\nset = { mode = "hybrid" }\n',
    )
    target = event(key="a")
    other_day = event(key="b", start=event().start + timedelta(days=28), end=event().end + timedelta(days=28))
    other_title = event(key="c", title="Rust Berlin: Hack and Learn")
    result = rules.apply([target, other_day, other_title])
    assert [item.mode for item in result.events] == [Mode.HYBRID, Mode.IN_PERSON, Mode.IN_PERSON]
    assert result.patched == ["patch[0] (organizer 'Rust Berlin', title /Talk Night$/, date 2026-12-03): a "
                              "'Rust Berlin: Talk Night': set mode"]  # fmt: skip


def test_patches_match_the_event_before_any_patch(tmp_path: Path) -> None:
    text = (
        f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ url = "https://rust-berlin.de/unconf" }}\n'
        f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ title = "Unconf" }}\n'
    )
    (patched,) = curation(tmp_path, text).apply([event()]).events
    assert (patched.url, patched.title) == ("https://rust-berlin.de/unconf", "Unconf")


def test_patch_matching_nothing_or_changing_nothing_is_reported(tmp_path: Path) -> None:
    text = (
        f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ mode = "in-person" }}\n'
        '[[patch]]\nurl = "https://luma.com/gone"\nset = { mode = "virtual" }\n'
        f'[[exclude]]\norganizer = "Rust Hamburg"\n'
    )
    result = curation(tmp_path, text).apply([event()])
    assert result.unused_rules == [
        "exclude[0] (organizer 'Rust Hamburg') matched nothing",
        f"patch[0] (url {MEETUP_EVENT}) changed nothing",
        "patch[1] (url https://luma.com/gone) matched nothing",
    ]
    assert result.patched == []


@pytest.mark.parametrize(
    ("before", "given", "first", "last"),
    [
        ("timed", "start = 2026-12-10", date(2026, 12, 10), date(2026, 12, 10)),
        ("timed", "start = 2026-12-10, end = 2026-12-12", date(2026, 12, 10), date(2026, 12, 12)),
        ("three days", "start = 2026-12-10", date(2026, 12, 10), date(2026, 12, 12)),
        ("three days", "start = 2026-12-10, end = 2026-12-10", date(2026, 12, 10), date(2026, 12, 10)),
    ],
)
def test_date_patches_make_all_day_events(tmp_path: Path, before: str, given: str, first: date, last: date) -> None:
    source = event() if before == "timed" else event(start=date(2026, 12, 3), end=date(2026, 12, 6))
    rules = curation(tmp_path, f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ {given} }}\n')
    (patched,) = rules.apply([source]).events
    assert patched.all_day
    assert (patched.first_day, patched.last_day) == (first, last)
    assert patched.end == last + timedelta(days=1)
    assert_valid(patched)


def test_date_time_with_offset_lands_in_the_event_zone(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ start = 2026-12-10T17:00:00Z, end = 2026-12-10T19:30:00Z }}\n',
    )
    (patched,) = rules.apply([event()]).events
    assert patched.start == datetime(2026, 12, 10, 17, tzinfo=UTC)
    assert isinstance(patched.start, datetime)
    assert isinstance(patched.end, datetime)
    assert (patched.start.tzinfo, patched.start.hour) == (BERLIN, 18)
    assert patched.end - patched.start == timedelta(hours=2, minutes=30)


def test_local_date_time_is_wall_time_at_the_new_place_and_keeps_length(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        f'[[patch]]\nurl = "{MEETUP_EVENT}"\nset = {{ place = "New York, NY, US", start = 2026-12-10T18:30:00 }}\n',
    )
    (patched,) = rules.apply([event()]).events
    assert patched.timezone == "America/New_York"
    assert patched.start == datetime(2026, 12, 10, 18, 30, tzinfo=NEW_YORK)
    assert patched.end - patched.start == event().end - event().start  # type: ignore[operator]
    assert_valid(patched)


# --- same / distinct -----------------------------------------------------------------------------


def test_same_keeps_the_first_link_and_merges_sources(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        '[[same]]\nurls = ["https://www.meetup.com/es-ES/rust-berlin/events/312345678", "https://lu.ma/abcd1234"]\n',
    )
    luma = event(key="luma:evt-1", source="luma", url=LUMA_EVENT, sources=("luma",), description="From Luma")
    meetup = event()
    result = rules.apply([luma, meetup])
    (kept,) = result.events
    assert kept.key == meetup.key
    assert kept.url == MEETUP_EVENT
    assert kept.sources == ("meetup", "luma")
    assert kept.description == "From Luma"
    assert [(item.key, why.split(": ", 1)[1]) for item, why in result.excluded] == [
        ("luma:evt-1", f"same event as {MEETUP_EVENT}")
    ]
    assert result.unused_rules == []


def test_same_keeps_the_next_link_when_the_first_is_gone_and_leaves_other_days(tmp_path: Path) -> None:
    rules = curation(
        tmp_path,
        f'[[same]]\nurls = ["{MEETUP_EVENT}", "{LUMA_EVENT}", "https://rust-berlin.de/talk-night"]\n',
    )
    luma = event(key="luma", url=LUMA_EVENT, sources=("luma",))
    site = event(key="site", url="https://rust-berlin.de/talk-night/", sources=("jsonld",))
    later = replace(site, key="later", start=site.start + timedelta(days=1), end=site.end + timedelta(days=1))
    result = rules.apply([site, luma, later])
    assert [item.key for item in result.events] == ["luma", "later"]
    assert result.events[0].sources == ("luma", "jsonld")


def test_same_and_distinct_report_when_unused(tmp_path: Path) -> None:
    text = (
        f'[[same]]\nurls = ["{MEETUP_EVENT}", "{LUMA_EVENT}"]\n'
        f'[[distinct]]\nurls = ["{MEETUP_EVENT}", "{LUMA_EVENT}x"]\n'
    )
    result = curation(tmp_path, text).apply([event()])
    assert result.events == [event()]
    assert result.unused_rules == [
        f"same[0] ({MEETUP_EVENT}, {LUMA_EVENT}) matched nothing",
        f"distinct[0] ({MEETUP_EVENT}, {LUMA_EVENT}x) matched nothing",
    ]
    both = curation(tmp_path, text).apply([event(), event(key="x", url=LUMA_EVENT + "x")])
    assert both.unused_rules == [f"same[0] ({MEETUP_EVENT}, {LUMA_EVENT}) matched nothing"]


def test_decided_covers_same_and_distinct_pairs_in_any_spelling(tmp_path: Path) -> None:
    text = (
        f'[[same]]\nurls = ["{MEETUP_EVENT}", "{LUMA_EVENT}"]\n'
        '[[distinct]]\nurls = ["https://www.meetup.com/rust-nyc/events/1/", "https://www.meetup.com/rust-nyc/events/2/"]\n'
    )
    rules = curation(tmp_path, text)
    assert rules.decided("https://lu.ma/abcd1234", "https://www.meetup.com/de-DE/Rust-Berlin/events/312345678")
    assert rules.decided("https://www.meetup.com/rust-nyc/events/2", "https://meetup.com/rust-nyc/events/1/")
    assert not rules.decided(MEETUP_EVENT, "https://www.meetup.com/rust-nyc/events/1/")
    assert not rules.decided(MEETUP_EVENT, "")
    assert not Curation.empty().decided(MEETUP_EVENT, LUMA_EVENT)


# --- whole files ---------------------------------------------------------------------------------


def test_empty_curation_changes_nothing() -> None:
    events = [event(), event(key="luma", url=LUMA_EVENT)]
    assert Curation.empty().apply(events) == CurationResult(events=events)
    assert Curation() == Curation.empty()


def test_example_file_covers_every_rule_kind_and_applies() -> None:
    example = ROOT / "examples" / "curation.toml"
    rules = load_curation(example)
    kinds = tomllib.loads(example.read_text(encoding="utf-8"))
    assert set(kinds) == {"exclude", "group", "patch", "same", "distinct"}
    vancouver = event(key="m", url="https://www.meetup.com/vancouver-rust/events/314105333/", organizer_url="")
    luma = replace(vancouver, key="l", url="https://luma.com/vanrust-deps", sources=("luma",))
    noris = event(key="n", organizer_url="https://www.meetup.com/rust-noris", url="", organizer="Rust Noris")
    result = rules.apply([event(), vancouver, luma, noris])
    assert [item.key for item in result.events] == ["m", "n"]
    assert result.events[1].organizer == "Rust Nürnberg"
    assert len(result.unused_rules) == sum(len(rules) for rules in kinds.values()) - 3


# --- validation ----------------------------------------------------------------------------------

ERRORS = [
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { mode = "remote" }\n',
     "patch[0].set.mode: expected one of in-person, virtual, hybrid, got 'remote'"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { venue = "Café" }\n',
     "patch[0].set.venue: no such field (known: place, mode, title, organizer, organizer_url, url, start, end)"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = {}\n', "patch[0].set: sets no field"),
    ('[[patch]]\nurl = "https://luma.com/a"\n', "patch[0].set: required key is missing"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { place = "Atlantis, ZZ" }\n',
     "patch[0].set.place: 'Atlantis, ZZ' reads as 'Atlantis, ZA', where 'ZZ' does not fit; "
     "write 'City, CC' (e.g. 'Potsdam, DE', 'Austin, TX, US')"),
    ('[[group]]\nurl = "https://www.meetup.com/charlottesville-rust-meetup"\nplace = "Charlottesville, NC, US"\n',
     "group[0].place: 'Charlottesville, NC, US' reads as 'Charlottesville, VA, US', where 'NC' does not fit; "
     "write 'City, CC' (e.g. 'Potsdam, DE', 'Austin, TX, US')"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { place = "Xyzzy, DE" }\n',
     "patch[0].set.place: cannot resolve 'Xyzzy, DE' to a city; write 'City, CC' (e.g. 'Potsdam, DE', "
     "'Austin, TX, US')"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { start = 2026-12-04, end = 2026-12-03 }\n',
     "patch[0].set.end: 2026-12-03 is before start 2026-12-04"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { start = 2026-12-04T19:00:00Z, end = 2026-12-04T18:00:00Z }\n',
     "patch[0].set.end: 2026-12-04T18:00:00+00:00 is before start 2026-12-04T19:00:00+00:00"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { end = 2026-12-03 }\n',
     "patch[0].set.end: needs a start in the same set"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { start = 2026-12-03, end = 2026-12-03T20:00:00 }\n',
     "patch[0].set.end: expected a date like start, got 2026-12-03T20:00:00"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { start = "next tuesday" }\n',
     "patch[0].set.start: not an ISO date or date-time: 'next tuesday'"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { title = "  " }\n', "patch[0].set.title: must not be empty"),
    ('[[patch]]\nurl = "https://luma.com/a"\nset = { url = "luma.com/b" }\n',
     "patch[0].set.url: expected an http(s) URL, got 'luma.com/b'"),
    ('[[patch]]\nurl = "https://luma.com/a"\nsett = { mode = "virtual" }\nset = { mode = "virtual" }\n',
     "patch[0].sett: unknown key"),
    ('[[patch]]\ntitle = "Rust"\nset = { mode = "virtual" }\n',
     "patch[0]: needs a url or an organizer to say which events it is for"),
    ('[[exclude]]\nreason = "off-topic"\n', "exclude[0]: needs a url or an organizer to say which events it is for"),
    ('[[exclude]]\norganizer = "Rust Berlin"\ntitle = "(?i)haskell("\n',
     "exclude[0].title: bad regular expression '(?i)haskell(': missing ), unterminated subpattern at position 11"),
    ('[[exclude]]\norganizer = 42\n', "exclude[0].organizer: expected a string, got 42"),
    ('[[exclude]]\norganizer = "Rust Berlin"\ndate = 2026-12-03T19:00:00\n',
     "exclude[0].date: expected a date without a time, got 2026-12-03T19:00:00"),
    ('[[exclude]]\nurl = "javascript:alert(1)"\n',
     "exclude[0].url: expected an http(s) URL, got 'javascript:alert(1)'"),
    ('[[exclude]]\nurl = "https://luma.com/a"\n[[exclude]]\norganizer = "X"\nreason = ["a"]\n',
     "exclude[1].reason: expected a string, got ['a']"),
    ('[exclude]\nurl = "https://luma.com/a"\n', "exclude: expected an array of tables, got {'url': 'https://luma.com/a'}"),
    ('[[excludes]]\nurl = "https://luma.com/a"\n', "excludes: unknown key"),
    ('[[group]]\nurl = "https://www.meetup.com/rust-berlin"\n', "group[0]: sets neither place nor name"),
    ('[[group]]\nplace = "Berlin, DE"\n', "group[0].url: required key is missing"),
    ('[[group]]\nurl = "https://www.meetup.com/rust-berlin"\nname = "A"\n'
     '[[group]]\nurl = "https://www.meetup.com/de-DE/Rust-Berlin/"\nname = "B"\n',
     "group[1]: same group as group[0]"),
    ('[[same]]\nurls = ["https://luma.com/a"]\n', "same[0].urls: expected at least two links, got 1"),
    ('[[same]]\nurls = ["https://luma.com/a", "https://lu.ma/a/"]\n',
     "same[0].urls[1]: same link as urls[0]: 'https://lu.ma/a/'"),
    ('[[distinct]]\nurls = ["https://luma.com/a", "mailto:x@y.z"]\n',
     "distinct[0].urls[1]: expected an http(s) URL, got 'mailto:x@y.z'"),
    ('[[distinct]]\nurls = "https://luma.com/a"\n', "distinct[0].urls: expected a list of strings, got 'https://luma.com/a'"),
    ('[[same]]\nurls = ["https://luma.com/a", "https://luma.com/b"]\n'
     '[[distinct]]\nurls = ["https://luma.com/c"]\n[[distinct]]\nurls = ["https://lu.ma/b", "https://lu.ma/a"]\n',
     "distinct[0].urls: expected at least two links, got 1"),
    ('[[same]]\nurls = ["https://luma.com/a", "https://luma.com/b"]\n'
     '[[distinct]]\nurls = ["https://lu.ma/b", "https://lu.ma/a"]\n',
     "same[0], distinct[0]: both decide on https://luma.com/a and https://luma.com/b"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_validation_errors_are_one_line_naming_file_and_rule(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == f"{tmp_path / 'curation.toml'}: {expected}"


def test_missing_and_broken_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found$"):
        load_curation(missing)
    assert error_of(tmp_path, "[[exclude]\n").startswith(f"{tmp_path / 'curation.toml'}: not valid TOML: ")


# --- never raises --------------------------------------------------------------------------------

URLS = [MEETUP_EVENT, "https://www.meetup.com/de-DE/rust-berlin/events/312345678", LUMA_EVENT, "https://lu.ma/abcd1234",
        "https://rust-berlin.de/talk-night", "https://www.meetup.com/rust-nyc/events/wqzhftyjcmbdb/"]  # fmt: skip
ORGANIZERS = ["Rust Berlin", "rust  berlin", "Rust NYC", RUST_BERLIN, "https://luma.com/rust-nyc"]
PLACES = ["Berlin, DE", "Potsdam, DE", "New York, NY, US", "Charlottesville, VA, US", "Tokyo, JP"]
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo", ""]
DAYS = st.dates(date(2026, 1, 1), date(2027, 12, 31))
OFFSETS: st.SearchStrategy[tzinfo | None] = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))]
)


@st.composite
def moments(draw: st.DrawFn) -> tuple[date | datetime, date | datetime]:
    """A start and an end of one kind, end not before start (as the loader requires)."""
    if draw(st.booleans()):
        day = draw(DAYS)
        return day, day + timedelta(days=draw(st.integers(0, 3)))
    start = draw(st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31))).replace(tzinfo=draw(OFFSETS))
    return start, start + timedelta(minutes=draw(st.integers(0, 4000)))


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Events as normalization makes them, and some it never would (mixed or reversed ends)."""
    start, end = draw(moments())
    end = draw(st.sampled_from([end, start, end.date() if isinstance(end, datetime) else datetime(2026, 6, 1)]))
    return Event(
        key=draw(st.text(max_size=8)),
        source="test",
        title=draw(st.sampled_from(["Rust Berlin: Talk Night", "Haskell", "", "Rust NYC Talk Night"])),
        start=start,
        end=end,
        timezone=draw(st.sampled_from(ZONES)),
        mode=draw(st.sampled_from(list(Mode))),
        place=draw(st.sampled_from([Place(), *(places.resolve(text) or Place() for text in PLACES)])),
        url=draw(st.sampled_from(["", *URLS])),
        organizer=draw(st.sampled_from(["", *ORGANIZERS])),
        organizer_url=draw(st.sampled_from(["", RUST_BERLIN, "https://luma.com/rust-nyc", "not a url"])),
        sources=("test",),
    )


def match() -> st.SearchStrategy[dict[str, Any]]:
    base = st.one_of(
        st.fixed_dictionaries({"url": st.sampled_from(URLS)}),
        st.fixed_dictionaries({"organizer": st.sampled_from(ORGANIZERS)}),
    )
    narrow = {"title": st.sampled_from(["(?i)rust", "Talk Night$", ""]), "date": DAYS}
    return base.flatmap(
        lambda fixed: st.fixed_dictionaries({key: st.just(v) for key, v in fixed.items()}, optional=narrow)
    )


@st.composite
def changes(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "place": st.sampled_from(PLACES),
                "mode": st.sampled_from([m.value for m in Mode]),
                "title": st.sampled_from(["Unconference", "Rust Night"]),
                "organizer": st.sampled_from(ORGANIZERS[:3]),
                "organizer_url": st.sampled_from([RUST_BERLIN, "https://lu.ma/rust-nyc"]),
                "url": st.sampled_from(URLS),
            },
        )
    )
    start, end = draw(moments())
    timing = draw(st.sampled_from([{}, {"start": start}, {"start": start, "end": end}]))
    return {**fields, **timing} or {"mode": "virtual"}


def rule_sets() -> st.SearchStrategy[dict[str, Any]]:
    decision = st.lists(st.sampled_from(URLS[::2]), min_size=2, max_size=3, unique=True).map(
        lambda urls: {"urls": urls}
    )
    group = st.fixed_dictionaries(
        {"url": st.just(RUST_BERLIN), "place": st.sampled_from(PLACES)}, optional={"name": st.just("RB")}
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "exclude": st.lists(match().map(lambda rule: {**rule, "reason": "r"}), max_size=2),
            "patch": st.lists(st.tuples(match(), changes()).map(lambda pair: {**pair[0], "set": pair[1]}), max_size=3),
            "group": st.lists(group, max_size=1),
            "same": st.lists(decision, max_size=1),
            "distinct": st.lists(decision, max_size=1),
        },
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=6), rule_sets())
def test_apply_never_raises_and_keeps_valid_events_valid(items: list[Event], data: dict[str, Any]) -> None:
    try:
        rules = parse_curation(data, Path("curation.toml"))
    except ConfigError as exc:
        # Among these valid parts only contradicting decisions are an error.
        assert "both decide on" in str(exc)
        return
    result = rules.apply(items)
    assert len(result.events) + len(result.excluded) == len(items)
    if all(valid(item) for item in items):
        for item in result.events:
            assert_valid(item)
    for label in [rule.label for rule in rules.groups] + [rule.label for rule in rules.patches]:
        if any(line.startswith(f"{label}: ") for line in result.patched):
            assert not any(line.startswith(label) for line in result.unused_rules)
