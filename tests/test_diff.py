"""`twir-events diff`: two issues saved in a real store, matched, classified and printed for the editor."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.cli import main
from aggregator.config import Config, load_config
from aggregator.diff import (
    DiffError,
    FieldChange,
    IssueDiff,
    diff_issues,
    diff_json_for_run,
    format_diff,
)
from aggregator.job import diff_job
from aggregator.model import Event, Mode, Place
from aggregator.store import Store
from aggregator.window import issue_window

PREVIOUS = date(2026, 11, 18)
CURRENT = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 8, tzinfo=UTC)
SOURCE = "Hand-added events"
BERLIN = Place("Berlin", "", "DE", "Europe/Berlin")
VANCOUVER = Place("Vancouver", "BC", "CA", "America/Vancouver")


def ev(key: str, day: date, **changes: Any) -> Event:
    zone = ZoneInfo("Europe/Berlin")
    base = Event(
        key=key,
        source=SOURCE,
        title="Rust meetup",
        start=datetime.combine(day, time(19), zone),
        end=datetime.combine(day, time(21), zone),
        timezone="Europe/Berlin",
        mode=Mode.IN_PERSON,
        place=BERLIN,
        url=f"https://example.org/{key}",
        organizer="Rust Berlin",
        sources=(SOURCE,),
    )
    return dataclasses.replace(base, **changes)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def both(previous: list[Event], current: list[Event], store: Store) -> IssueDiff:
    """Save both issues in the store, read them back and diff them as the command does."""
    store.save_issue(PREVIOUS, previous, NOW)
    store.save_issue(CURRENT, current, NOW)
    before, after = store.issue(PREVIOUS), store.issue(CURRENT)
    assert before is not None and after is not None
    return diff_issues(
        before,
        after,
        previous_window=issue_window(PREVIOUS),
        current_window=issue_window(CURRENT),
        states=("US", "CA", "AU"),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state" / "store.sqlite") as opened:
        yield opened


def keys(events: tuple[Event, ...]) -> list[str]:
    return [event.key for event in events]


def changes_by_key(diff: IssueDiff) -> dict[str, list[FieldChange]]:
    return {change.after.key: list(change.changes) for change in diff.changed}


def test_classifies_every_kind_of_difference(store: Store) -> None:
    hybrid = ev("hybrid", d(12, 11), place=VANCOUVER, timezone="America/Vancouver", organizer="Vancouver Rust")
    group_page = "https://www.meetup.com/rust-oslo"
    previous = [
        ev("same", d(12, 2)),
        ev("moved", d(12, 3)),
        ev("spelling", d(12, 4), url="https://lu.ma/abc"),
        ev("place", d(12, 5)),
        ev("title", d(12, 6), title="Rust & Tell"),
        ev("cal:paris", d(12, 8), url="https://www.meetup.com/rust-paris/events/123/"),
        ev("dropped", d(12, 9)),
        ev("cal:ams", d(12, 10), title="Rust Amsterdam Meetup", organizer="Rust Amsterdam", url="https://rust.nl/"),
        hybrid,
        ev("passed", d(11, 20)),
        ev("cal:oslo-nov", d(11, 19), url=group_page, organizer="Rust Oslo"),
    ]
    current = [
        ev("same", d(12, 2)),
        ev("moved", d(12, 4)),
        ev("spelling", d(12, 4), url="https://luma.com/abc?utm_source=newsletter"),
        ev("place", d(12, 5), place=Place("Potsdam", "", "DE", "Europe/Berlin")),
        ev("title", d(12, 6), title="Rust & Tell #12"),
        ev("meetup:paris", d(12, 12), url="https://meetup.com/Rust-Paris/events/123?utm_source=x"),
        ev(
            "meetup:ams",
            d(12, 10),
            title="Rust Amsterdam Meetup 2026",
            organizer="Rust Amsterdam",
            url="https://www.meetup.com/rust-amsterdam/events/555/",
        ),
        ev("new", d(12, 14)),
        # Listed under Virtual and North America: two entries, one event.
        dataclasses.replace(hybrid, mode=Mode.HYBRID),
        dataclasses.replace(hybrid, mode=Mode.HYBRID),
        ev("entered", d(12, 20)),
        ev("cal:oslo-dec", d(12, 17), url=group_page, organizer="Rust Oslo"),
    ]

    diff = both(previous, current, store)

    assert keys(diff.new) == ["new"]
    assert keys(diff.entered) == ["cal:oslo-dec", "entered"]
    assert keys(diff.dropped) == ["dropped"]
    assert keys(diff.passed) == ["cal:oslo-nov", "passed"]
    assert keys(diff.added) == ["new", "cal:oslo-dec", "entered"]
    assert keys(diff.removed) == ["dropped", "cal:oslo-nov", "passed"]
    assert changes_by_key(diff) == {
        "moved": [FieldChange("date", "2026-12-03", "2026-12-04")],
        "place": [FieldChange("place", "Berlin, DE", "Potsdam, DE")],
        "title": [FieldChange("title", "Rust & Tell", "Rust & Tell #12")],
        "meetup:paris": [FieldChange("date", "2026-12-08", "2026-12-12")],
        "meetup:ams": [
            FieldChange("title", "Rust Amsterdam Meetup", "Rust Amsterdam Meetup 2026"),
            FieldChange("link", "https://rust.nl/", "https://www.meetup.com/rust-amsterdam/events/555/"),
        ],
        "hybrid": [FieldChange("place", "Vancouver, BC, CA", "Hybrid (Vancouver, BC, CA)")],
    }
    assert [change.before.key for change in diff.changed if change.after.key == "meetup:paris"] == ["cal:paris"]
    # `same` and `spelling` (lu.ma vs luma.com plus a tracking parameter) are the unchanged ones.
    assert diff.unchanged == 2


def test_move_beyond_the_old_window_is_a_change_not_an_entry(store: Store) -> None:
    diff = both([ev("m", d(12, 9)), ev("cal:u", d(12, 1))], [ev("m", d(12, 22)), ev("meetup:u", d(12, 21))], store)
    assert changes_by_key(diff) == {"m": [FieldChange("date", "2026-12-09", "2026-12-22")]}
    # Different keys and links, three weeks apart: nothing ties `cal:u` to `meetup:u`.
    assert (keys(diff.dropped), keys(diff.entered), diff.new, diff.passed) == (["cal:u"], ["meetup:u"], (), ())


def test_several_events_sharing_a_link_pair_with_the_nearest_dates(store: Store) -> None:
    page = "https://rust.berlin/"
    previous = [ev("a1", d(12, 2), url=page), ev("a2", d(12, 9), url=page)]
    current = [ev("b1", d(12, 10), url=page), ev("b2", d(12, 2), url=page)]
    diff = both(previous, current, store)
    assert {c.after.key: c.before.key for c in diff.changed} == {"b1": "a2"}
    assert diff.unchanged == 1 and not diff.added and not diff.removed


def test_multi_day_dates_are_printed_as_ranges(store: Store) -> None:
    conf = ev("conf", d(12, 3), start=d(12, 3), end=d(12, 5), timezone="Europe/Berlin")
    diff = both([conf], [dataclasses.replace(conf, end=d(12, 6))], store)
    assert changes_by_key(diff) == {"conf": [FieldChange("date", "2026-12-03 - 2026-12-04", "2026-12-03 - 2026-12-05")]}


def test_format_diff_reads_in_a_minute(store: Store) -> None:
    diff = both(
        [ev("moved", d(12, 3), title="Rust Hack & Learn"), ev("gone", d(12, 9)), ev("old", d(11, 20), url="")],
        [
            ev("moved", d(12, 4), title="Rust Hack & Learn"),
            ev("fresh", d(12, 10), place=Place("Dallas", "TX", "US"), organizer="Dallas Rust", title="Intro"),
            ev("later", d(12, 21), mode=Mode.VIRTUAL, place=Place(), organizer="", url=""),
        ],
        store,
    )
    assert format_diff(diff) == textwrap.dedent(
        """\
        Issue 2026-11-25 vs 2026-11-18: 1 new, 1 dropped, 1 changed, 1 entered the window, 1 passed, 0 unchanged

        New
        2026-12-10 | Dallas, TX, US | Dallas Rust — Intro <https://example.org/fresh>

        Dropped (still in the window: check!)
        2026-12-09 | Berlin, DE | Rust Berlin — Rust meetup <https://example.org/gone>

        Changed
        2026-12-04 | Berlin, DE | Rust Berlin — Rust Hack & Learn <https://example.org/moved>
          date: 2026-12-03 -> 2026-12-04

        Entered the window
        2026-12-21 | Virtual | Hand-added events — Rust meetup

        Passed
        2026-11-20 | Berlin, DE | Rust Berlin — Rust meetup
        """
    )


def test_format_diff_counts_many_passed_events_and_says_when_nothing_changed(store: Store) -> None:
    passed = [ev(f"p{n}", d(11, 18) + timedelta(days=n % 6)) for n in range(7)]
    diff = both([ev("same", d(12, 1)), *passed], [ev("same", d(12, 1))], store)
    assert format_diff(diff).endswith("\n\nPassed\n7 events ended before 2026-11-25\n")
    quiet = both([ev("same", d(12, 1))], [ev("same", d(12, 1))], store)
    assert format_diff(quiet).splitlines()[-1] == "No changes."
    assert "1 unchanged" in format_diff(quiet)


def test_link_change_reports_both_spellings_and_fills_blanks(store: Store) -> None:
    diff = both([ev("x", d(12, 2), url="")], [ev("x", d(12, 2), url="https://rust.example/x")], store)
    assert changes_by_key(diff) == {"x": [FieldChange("link", "", "https://rust.example/x")]}
    assert "  link: (none) -> https://rust.example/x" in format_diff(diff).splitlines()


def test_to_json_is_plain_stable_and_complete(store: Store) -> None:
    diff = both(
        [ev("moved", d(12, 3)), ev("gone", d(12, 9)), ev("old", d(11, 20))],
        [ev("moved", d(12, 4)), ev("b", d(12, 10)), ev("a", d(12, 10)), ev("later", d(12, 21))],
        store,
    )
    document = diff.to_json()
    assert json.loads(json.dumps(document)) == document
    assert document["counts"] == {"new": 2, "dropped": 1, "changed": 1, "entered": 1, "passed": 1, "unchanged": 0}
    added = document["added"]
    assert isinstance(added, dict)
    assert [item["key"] for item in added["new"]] == ["a", "b"]
    assert added["entered"][0] == {
        "key": "later",
        "source": SOURCE,
        "date": "2026-12-21",
        "where": "Berlin, DE",
        "organizer": "Rust Berlin",
        "title": "Rust meetup",
        "url": "https://example.org/later",
    }
    assert document["changed"] == [
        {
            "previous_key": "moved",
            "event": {**added["entered"][0], "key": "moved", "date": "2026-12-04", "url": "https://example.org/moved"},
            "changes": [{"field": "date", "before": "2026-12-03", "after": "2026-12-04"}],
        }
    ]
    assert document["current_window"] == {"start": "2026-11-25", "end": "2026-12-23"}
    reordered = diff_issues(
        list(reversed(store.issue(PREVIOUS) or [])),
        list(reversed(store.issue(CURRENT) or [])),
        previous_window=diff.previous_window,
        current_window=diff.current_window,
        states=diff.states,
    )
    assert reordered.to_json() == document


def test_diff_json_for_run_needs_the_previous_issue() -> None:
    current = [ev("a", d(12, 2))]
    assert diff_json_for_run(None, current, issue_date=CURRENT, since=PREVIOUS, weeks=4, states=("US",)) is None
    document = diff_json_for_run([], current, issue_date=CURRENT, since=PREVIOUS, weeks=4, states=("US",))
    assert document is not None
    assert document["since"] == "2026-11-18"
    assert document["counts"] == {"new": 1, "dropped": 0, "changed": 0, "entered": 0, "passed": 0, "unchanged": 0}


# --- diff_job and the command, through a config file ---


def write_config(tmp_path: Path) -> Path:
    (tmp_path / "manual.toml").write_text("", encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [store]
            path = "state/store.sqlite"

            [output]
            dir = "public"

            [[source]]
            name = "{SOURCE}"
            type = "manual"
            path = "manual.toml"
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


def test_diff_job_defaults_to_the_issue_a_week_earlier(config: Config) -> None:
    with Store(config.store_path) as store:
        store.save_issue(date(2026, 11, 11), [ev("older", d(12, 3))], NOW)
        store.save_issue(PREVIOUS, [ev("kept", d(12, 1))], NOW)
        store.save_issue(CURRENT, [ev("kept", d(12, 1)), ev("new", d(12, 2))], NOW)
        diff = diff_job(config, CURRENT, None, NOW)
        older = diff_job(config, CURRENT, date(2026, 11, 11), NOW)
    assert diff.previous_window == issue_window(PREVIOUS)
    assert (keys(diff.new), diff.unchanged) == (["new"], 1)
    assert older.previous_window.start == date(2026, 11, 11)
    assert keys(older.new) == ["kept", "new"] and keys(older.dropped) == ["older"]


def test_diff_job_renders_an_issue_not_built_yet(config: Config) -> None:
    with Store(config.store_path) as store:
        store.sync_source(SOURCE, [ev("stays", d(12, 2)), ev("arrives", d(12, 20))], NOW)
        store.save_issue(PREVIOUS, [ev("stays", d(12, 2)), ev("went", d(12, 3))], NOW)
        diff = diff_job(config, CURRENT, None, NOW)
        saved = store.issue(CURRENT)
    assert saved is not None and sorted(e.key for e in saved) == ["arrives", "stays"]
    assert (keys(diff.entered), keys(diff.dropped), diff.unchanged) == (["arrives"], ["went"], 1)


def test_diff_job_without_the_previous_issue_says_what_to_do(config: Config) -> None:
    with Store(config.store_path) as store:
        store.sync_source(SOURCE, [ev("stays", d(12, 2))], NOW)
        with pytest.raises(DiffError) as caught:
            diff_job(config, CURRENT, None, NOW)
        assert store.issue(CURRENT) is None
    assert str(caught.value) == "no issue dated 2026-11-18 in the store: run or render that date first"


def run_command(argv: list[str]) -> int:
    return main(argv)


def test_command_prints_text_and_json(config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(config.store_path) as store:
        store.save_issue(PREVIOUS, [ev("moved", d(12, 3)), ev("went", d(12, 9))], NOW)
        store.save_issue(CURRENT, [ev("moved", d(12, 4))], NOW)
    argv = ["diff", "--config", str(config.path), "--date", "2026-11-25"]

    assert run_command(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("Issue 2026-11-25 vs 2026-11-18: 0 new, 1 dropped, 1 changed,")
    assert "  date: 2026-12-03 -> 2026-12-04" in text.splitlines()
    assert "2026-12-09 | Berlin, DE | Rust Berlin — Rust meetup <https://example.org/went>" in text.splitlines()

    assert run_command([*argv, "--json", "--since", "2026-11-18"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["dropped"] == 1
    assert [item["key"] for item in document["removed"]["dropped"]] == ["went"]


def test_command_errors_are_one_line_with_status_2(
    tmp_path: Path, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diff", "--config", str(config.path), "--date", "2026-11-25"]
    assert run_command(argv) == 2
    assert capsys.readouterr().err == f"error: no store at {config.store_path}: run `twir-events run` first\n"
    assert not config.store_path.exists()

    with Store(config.store_path) as store:
        store.save_issue(CURRENT, [ev("a", d(12, 2))], NOW)
    assert run_command([*argv, "--since", "2026-11-04"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no issue dated 2026-11-04 in the store: run or render that date first\n"
    assert captured.out == ""

    with pytest.raises(SystemExit) as usage:
        run_command(["diff", "--config", str(config.path), "--date", "25/11/2026"])
    assert usage.value.code == 2
    assert "expected a date as YYYY-MM-DD" in capsys.readouterr().err


def test_command_lists_the_possible_duplicates_of_the_issue(config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    # Two organizers' generic "Rust meetup" on one evening in one city: maybe one event, so both stay listed.
    first = ev("first", d(12, 2), organizer="Rust Berlin")
    second = ev("second", d(12, 2), organizer="Berlin Rustaceans", title="Rust meetup #3")
    with Store(config.store_path) as store:
        store.sync_source(SOURCE, [first, second], NOW)
        store.save_issue(PREVIOUS, [first], NOW)
    argv = ["diff", "--config", str(config.path), "--date", "2026-11-25"]

    assert run_command(argv) == 0
    text = capsys.readouterr().out
    section = text[text.index("Possible duplicates (decide in the curation file)") :].splitlines()
    assert section[1:3] == [
        "2026-12-02 | Berlin, DE | Rust Berlin — Rust meetup <https://example.org/first>",
        "  ~ 2026-12-02 | Berlin, DE | Berlin Rustaceans — Rust meetup #3 <https://example.org/second>",
    ]
    assert "titles" in section[3]

    assert run_command([*argv, "--json"]) == 0
    [doubt] = json.loads(capsys.readouterr().out)["possible_duplicates"]
    assert (doubt["first"]["key"], doubt["second"]["key"]) == ("first", "second")


def test_a_renamed_source_matches_its_events_by_link_or_as_the_merge_judges(store: Store) -> None:
    # Every key changed (the source was renamed): events are matched by link, else by organizer and title.
    previous = [ev(f"old:{n}", d(12, 1 + n % 20), title=f"Rust talks {n}") for n in range(300)]
    current = [ev(f"new:{n}", e.first_day, title=e.title, url=e.url if n % 2 else "") for n, e in enumerate(previous)]
    diff = both(previous, current, store)
    assert (diff.unchanged, keys(diff.new), keys(diff.dropped)) == (150, [], [])
    assert {change.changes[0].field for change in diff.changed} == {"link"}
