"""The manual source: hand-written TOML entries, each validated on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.model import Mode, RawEvent
from aggregator.tomltable import Table
from sources.base import SourceError, Span
from sources.http import Http
from sources.manual import ManualSource, from_config, parse_manual, read_events

OWN = Path(__file__).resolve().parent / "fixtures" / "manual"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "manual-events.toml"
SPAN = Span(date(2026, 1, 1), date(2026, 12, 31))


def load(name: str) -> tuple[dict[str, RawEvent], list[str]]:
    result = ManualSource("hand", OWN / name).fetch(Http(), SPAN)
    return {raw.title: raw for raw in result.events}, result.warnings


def test_good_file_reads_every_shape() -> None:
    events, warnings = load("good.toml")
    assert warnings == []
    conf = events["RustConf 2026"]
    assert (conf.start, conf.end) == (date(2026, 9, 8), date(2026, 9, 11))
    assert conf.key == "rustconf-com-2026-09-08"
    assert (conf.organizer, conf.organizer_url) == ("Rust Foundation", "https://foundation.rust-lang.org/")
    assert conf.location == "Seattle, WA, USA"
    assert conf.mode is Mode.IN_PERSON
    assert conf.source == "hand"

    workshop = events["Embedded Rust workshop"]
    assert (workshop.key, workshop.start, workshop.end, workshop.timezone) == (
        "oxidize-workshop",
        date(2026, 9, 15),
        None,
        "Europe/Berlin",
    )

    sydney = events["Rust Sydney: June talks"]
    assert sydney.start == datetime(2026, 6, 17, 18, tzinfo=ZoneInfo("Australia/Sydney"))
    assert sydney.end == datetime(2026, 6, 17, 20, 30, tzinfo=ZoneInfo("Australia/Sydney"))
    assert sydney.timezone == "Australia/Sydney"
    assert sydney.mode is Mode.HYBRID

    online = events["Rust and WebAssembly online"]
    assert online.start == datetime(2026, 6, 20, 17, tzinfo=timezone(timedelta(hours=-4)))
    assert (online.timezone, online.location, online.mode) == ("", "", Mode.VIRTUAL)
    assert online.description == "An hour of talks, then questions."

    bbq = events["Rust Munich: Summer BBQ"]
    assert bbq.start == datetime(2026, 7, 2, 18, 30)
    assert bbq.location == "Munich, Germany"


def test_each_bad_entry_is_one_warning_and_the_good_one_loads() -> None:
    events, warnings = load("bad.toml")
    assert list(events) == ["Good one"]
    assert warnings == [
        "hand: bad.toml: event[0].titel: unknown key",
        "hand: bad.toml: event[1].start: not an ISO date or date-time: 'next Tuesday'",
        "hand: bad.toml: event[2].title: required key is missing",
        "hand: bad.toml: event[3].start: required key is missing",
        "hand: bad.toml: event[4].url: required key is missing",
        "hand: bad.toml: event[5].end: 2026-06-09 is before start 2026-06-10",
        "hand: bad.toml: event[6].timezone: unknown IANA time zone 'Europe/Lndon'",
        "hand: bad.toml: event[7].url: expected an http(s) URL, got 'ftp://example.org/h'",
        "hand: bad.toml: event[9].mode: expected one of in-person, virtual, hybrid, got 'online'",
        "hand: bad.toml: event[10].start: offset of 2026-06-01T18:00:00+01:00 is not that of America/New_York "
        "on that day",
        "hand: bad.toml: event[11].end: must be a date like start, or make start a date-time",
        "hand: bad.toml: event[12].start: a local date-time needs a timezone (or a place to take it from)",
        "hand: bad.toml: event[13].url: duplicate id 'example-org-good-2026-06-12t1800'",
    ]
    good = events["Good one"]
    assert good.start == datetime(2026, 6, 12, 18, tzinfo=timezone(timedelta(hours=1)))
    assert good.timezone == "Europe/London"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('title = ""\nurl = "https://a.example/"\nstart = 2026-06-01', "event[0].title: must not be empty"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 12:00:00', "event[0].start: expected a date or date-time"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01\nid = " "', "event[0].id: must not be empty"),
        ('title = "t"\nurl = "https://"\nstart = 2026-06-01', "event[0].url: expected an http(s) URL"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01\norganizer_url = "a.example"', "organizer_url"),
        (
            'title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01T18:00:00Z\nend = 2026-06-01T18:00:00Z',
            "not after",
        ),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01T18:00:00Z\nend = 2026-06-02', "date-time like"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01T18:00:00Z\nend = 2026-06-01T20:00:00', "both an"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01\nend = 9999-12-31', "end: date out of range"),
        ('title = "t"\nurl = "https://a.example/"\nstart = 2026-06-01\nmode = 3', "event[0].mode: expected a string"),
    ],
)
def test_single_bad_entries(entry: str, message: str) -> None:
    result = parse_manual("hand", f"[[event]]\n{entry}\n", Path("manual.toml"))
    assert result.events == []
    (warning,) = result.warnings
    assert warning.startswith("hand: manual.toml: event[0].")
    assert message in warning


def test_unknown_top_level_key_is_a_warning_and_events_still_load() -> None:
    text = '[[events]]\ntitle = "typo"\n[[event]]\ntitle = "t"\nurl = "https://a.example/"\nstart = 2026-06-01\n'
    result = parse_manual("hand", text, Path("manual.toml"))
    assert [raw.title for raw in result.events] == ["t"]
    assert result.warnings == ["hand: manual.toml: events: unknown key"]


def test_empty_file_has_no_events() -> None:
    assert parse_manual("hand", "# nothing yet\n", Path("manual.toml")).events == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[event]\ntitle = "t"\n', r"^manual\.toml: not valid TOML: "),
        ('event = "x"\n', r"^manual\.toml: event: expected an array of tables"),
        ('event = ["x"]\n', r"^manual\.toml: event: expected an array of tables"),
    ],
)
def test_not_toml_or_wrong_shape_is_a_source_error(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_manual("hand", text, Path("manual.toml"))


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"manual\.toml: No such file or directory$"):
        ManualSource("hand", tmp_path / "manual.toml").fetch(Http(), SPAN)


def test_non_utf8_file_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "manual.toml").write_bytes('title = "Zürich"'.encode("latin-1"))
    with pytest.raises(SourceError, match=r"not UTF-8 text$"):
        ManualSource("hand", tmp_path / "manual.toml").fetch(Http(), SPAN)


def test_from_config_resolves_the_path_against_the_config_folder(tmp_path: Path) -> None:
    source = from_config("hand", Table({"path": "data/manual.toml"}, tmp_path / "config.toml", "source[0]"), tmp_path)
    assert source.path == (tmp_path / "data" / "manual.toml").resolve()


def test_example_file_loads_cleanly() -> None:
    result = ManualSource("examples", EXAMPLE).fetch(Http(), SPAN)
    assert result.warnings == []
    assert len(result.events) == 3
    assert {raw.mode for raw in result.events} == {Mode.IN_PERSON, Mode.VIRTUAL}


KEYS = ("id", "title", "url", "organizer", "organizer_url", "start", "end", "timezone", "place", "mode", "description")
OFFSETS = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
SCALARS = (
    st.text(max_size=20)
    | st.sampled_from(["https://a.example/", "Europe/London", "virtual", "2026-06-01", "2026-06-01T18:00", "../etc"])
    | st.integers()
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=OFFSETS)
    | st.times()
    | st.sampled_from([date.max, date.min, datetime.max, datetime.min.replace(tzinfo=UTC), time(23, 59)])
)
VALUES = SCALARS | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=5), SCALARS, max_size=2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), VALUES, max_size=8), max_size=4))
def test_arbitrary_entries_never_crash(entries: list[dict[str, Any]]) -> None:
    good = {"title": "Anchor", "url": "https://a.example/anchor", "start": date(2026, 6, 1)}
    result = read_events("hand", {"event": [*entries, good]}, Path("manual.toml"))
    assert "Anchor" in {raw.title for raw in result.events}
    assert len(result.events) + len(result.warnings) == len(entries) + 1
    assert all(line.startswith("hand: manual.toml: event[") for line in result.warnings)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[]{}="\n.,:-_ #tTZ0123456789abceinrstuvx')), max_size=80))
def test_arbitrary_toml_ish_text_gives_events_or_one_line_errors(text: str) -> None:
    try:
        result = parse_manual("hand", text, Path("manual.toml"))
    except SourceError as exc:
        assert str(exc).startswith("manual.toml: ")
        assert "\n" not in str(exc)
    else:
        assert all("\n" not in line for line in result.warnings)
