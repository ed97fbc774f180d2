"""Nothing a bad input can do stops the run: per-event isolation, bounded recurrences, one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.config import SourceSpec
from aggregator.model import RawEvent
from aggregator.pipeline import SourceReport, normalize_result
from sources.base import SourceResult, Span
from sources.ics import MAX_OCCURRENCES, IcsSource, parse_calendar

SPAN = Span(date(2026, 3, 1), date(2026, 4, 30))
ISSUE = "2026-03-04"


def vevent(uid: str, summary: str, *lines: str, start: str = "DTSTART:20260310T180000Z") -> str:
    body = "\r\n".join(line for line in (start, *lines) if line)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{summary}\r\n{body}\r\nEND:VEVENT\r\n"


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


GOOD = [vevent(f"good-{n}@x", f"Rust Meetup {n}", start=f"DTSTART:2026031{n}T180000Z") for n in range(3)]


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (vevent("bad@x", "Broken start", start="DTSTART:notadate"), "DTSTART"),
        (vevent("bad@x", "Huge duration", "DURATION:P99999999D"), "out of range"),
        (vevent("bad@x", "Bad exdate", "RRULE:FREQ=WEEKLY", "EXDATE:zzz"), "EXDATE"),
        (vevent("bad@x", "Bad rule", "RRULE:FREQ=garbage"), ""),
        (vevent("bad@x", "Every second", "RRULE:FREQ=SECONDLY"), "more often than daily"),
        (vevent("bad@x", "Every minute", "RRULE:FREQ=MINUTELY;COUNT=999999999"), "more often than daily"),
        (vevent("bad@x", "Interval zero", "RRULE:FREQ=WEEKLY;INTERVAL=0"), "INTERVAL"),
        (vevent("bad@x", "Hourly by rule", "RRULE:FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30"), "times a day"),
        (vevent("bad@x", "Ancient", "RRULE:FREQ=DAILY", start="DTSTART:00010101T100000Z"), "year 1"),
    ],
)
def test_a_bad_event_is_skipped_with_one_warning_and_the_rest_kept(bad: str, why: str) -> None:
    result = parse_calendar("cal", calendar(GOOD[0], bad, *GOOD[1:]), SPAN)
    assert sorted(e.title for e in result.events) == ["Rust Meetup 0", "Rust Meetup 1", "Rust Meetup 2"]
    [warning] = result.warnings
    assert warning.startswith("cal: skipped event ")
    assert "'" + bad.split("SUMMARY:")[1].split("\r\n")[0] + "'" in warning
    assert why in warning
    assert "\n" not in warning


def test_occurrences_per_series_are_capped_with_a_warning() -> None:
    wide = Span(date(2026, 1, 1), date(2026, 12, 31))
    busy = vevent("busy@x", "Office hours", "RRULE:FREQ=DAILY;BYHOUR=9,12,15", start="DTSTART:20260101T090000Z")
    result = parse_calendar("cal", calendar(busy, GOOD[0]), wide)
    assert len([e for e in result.events if e.title == "Office hours"]) == MAX_OCCURRENCES
    assert any(e.title == "Rust Meetup 0" for e in result.events)
    [warning] = result.warnings
    assert "'Office hours'" in warning and f"kept the first {MAX_OCCURRENCES}" in warning


def raw(key: str, start: date | datetime, end: date | datetime | None = None, title: str = "Rust Meetup") -> RawEvent:
    return RawEvent(source="src", key=key, title=title, start=start, end=end, timezone="Europe/Berlin")


def normalized(*raws: RawEvent, max_events: int = 0) -> tuple[list[str], SourceReport]:
    spec = SourceSpec(source=IcsSource("src", "file:///x"), type="ics")
    report = SourceReport("src", "ics")
    events = normalize_result(spec, SourceResult(list(raws)), report, max_events)
    return [e.key for e in events], report


AT = datetime(2026, 3, 10, 18, 0)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (raw("far", AT, datetime(9999, 12, 31, 23, 59), title="Far end"), "year 9999"),
        (raw("back", AT, AT - timedelta(hours=2), title="Backwards"), "before it starts"),
        (raw("long", AT, AT + timedelta(days=400), title="Too long"), "lasts 400 days"),
        (raw("old", date(1, 1, 1), title="Year one"), "year 1 "),
    ],
)
def test_normalization_skips_a_bad_event_and_keeps_the_others(bad: RawEvent, why: str) -> None:
    keys, report = normalized(raw("a", AT), bad, raw("b", AT + timedelta(days=1)))
    assert keys == ["src:a", "src:b"]
    [warning] = [w for w in report.warnings if "skipped" in w]
    assert warning.startswith(f"src: skipped event {bad.title!r}: ")
    assert why in warning
    assert report.events == 2


def test_a_source_over_the_event_cap_keeps_its_earliest_events() -> None:
    raws = [raw(f"e{n}", AT + timedelta(days=n)) for n in range(10, 0, -1)]
    keys, report = normalized(*raws, max_events=3)
    assert keys == ["src:e1", "src:e2", "src:e3"]
    assert any("listed 10 events, more than the cap of 3" in w for w in report.warnings)


def test_control_and_bidi_characters_never_reach_the_event() -> None:
    hostile = raw("h", AT, title="\x1b]0;pwned\x07Rust \u202eputer\u202c Night " + "x" * 500)
    hostile.location = "Köln\x1b[2J, \u2066DE\u2069"
    spec = SourceSpec(source=IcsSource("src", "file:///x"), type="ics")
    [event] = normalize_result(spec, SourceResult([hostile]), SourceReport("src", "ics"))
    for value in (event.title, event.location):
        assert not any(c in value for c in "\x1b\x07\u202e\u202c\u2066\u2069")
    assert event.title.startswith("]0;pwnedRust puter Night")
    assert len(event.title) <= 200 and event.title.endswith("\u2026")


# --- the command line: exit codes and one line --------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def manual_config(folder: Path, events: str, extra: str = "") -> Path:
    (folder / "manual.toml").write_text(events, encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f'{extra}\n[output]\ndir = "public"\n\n[[source]]\nname = "hand"\ntype = "manual"\npath = "manual.toml"\n',
        encoding="utf-8",
    )
    return config


MANUAL_GOOD = """
[[event]]
title = "Rust Cologne"
url = "https://example.org/cologne"
start = 2026-03-10T19:00:00+01:00
place = "Cologne, DE"
"""

MANUAL_FAR_END = """
[[event]]
title = "Forever"
url = "https://example.org/forever"
start = 2026-03-11T19:00:00-12:00
end = 9999-12-31T23:59:00-12:00
"""


def test_an_event_ending_in_year_9999_is_one_warning_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD + MANUAL_FAR_END)
    code, out, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 0, err
    assert "Rust Cologne" in out
    assert "Forever" not in out
    assert [line for line in err.splitlines() if "Forever" in line] == [
        next(line for line in err.splitlines() if line.startswith("warning: hand: skipped event 'Forever'"))
    ]
    assert "Traceback" not in err


def test_a_date_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD)
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", "0001-01-01")
    assert code == 2
    assert "--date" in err.splitlines()[-1] and "Traceback" not in err


def test_a_corrupt_store_is_exit_4_with_one_line_and_debug_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD)
    assert cli(capsys, "run", "--config", str(config), "--date", ISSUE)[0] == 0
    store = tmp_path / ".twir-events" / "store.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(store.read_bytes())
    data[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)  # garbage over the pages after the header
    store.write_bytes(bytes(data))
    code, _, err = cli(capsys, "render", "--config", str(config), "--date", ISSUE)
    assert code == 4
    [line] = err.splitlines()
    assert line.startswith("error: ") and "store" in line
    code, _, err = cli(capsys, "render", "--config", str(config), "--date", ISSUE, "--debug")
    assert code == 4
    assert "Traceback" in err


def test_a_binary_config_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\x00\xff\xfe garbage \x80")
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 2
    [line] = err.splitlines()
    assert str(config) in line


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_source_that_is_not_a_regular_file_fails_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    if kind == "fifo":
        special = tmp_path / "pipe.ics"
        os.mkfifo(special)
    else:
        special = Path("/dev/zero")
    config = manual_config(tmp_path, MANUAL_GOOD)
    text = config.read_text(encoding="utf-8")
    config.write_text(text + f'\n[[source]]\nname = "odd"\ntype = "ics"\nurl = {json.dumps(str(special))}\n')
    code, out, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 0, err
    assert "Rust Cologne" in out
    assert f"not a regular file (a {'FIFO' if kind == 'fifo' else 'device'})" in err


@pytest.mark.parametrize(
    ("extra", "key", "what"),
    [
        ("[http]\ndeadline = nan\n", "deadline", "finite"),
        ("[http]\ntimeout_read = inf\n", "timeout_read", "finite"),
        ("[http]\ndeadline = 1e9\n", "deadline", "at most"),
        ("[issue]\nweeks = 100000\n", "weeks", "at most"),
        ("[feed]\nfuture_days = 99999999\n", "future_days", "at most"),
        ("[feed]\nrefresh = 'six hours'\n", "refresh", "duration"),
        ("[limits]\nrun_seconds = -1\n", "run_seconds", "at least"),
        ("[health]\nstale_after_hours = nan\n", "stale_after_hours", "finite"),
    ],
)
def test_config_numbers_are_range_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: str, key: str, what: str
) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD, extra)
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 2
    [line] = err.splitlines()
    assert key in line and what in line


@pytest.mark.parametrize("where", ["/", "home", "file", "config folder"])
def test_an_output_dir_that_is_no_folder_of_its_own_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    (tmp_path / "afile").write_text("x")
    target = {"/": "/", "home": str(Path.home()), "file": "afile", "config folder": "."}[where]
    config = manual_config(tmp_path, MANUAL_GOOD)
    config.write_text(config.read_text().replace('dir = "public"', f"dir = {json.dumps(target)}"))
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 2
    [line] = err.splitlines()
    assert "[output].dir" in line


def test_source_names_whose_event_keys_could_collide_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD)
    extra = '\n[[source]]\nname = "hand:x"\ntype = "manual"\npath = "manual.toml"\n'
    config.write_text(config.read_text() + extra)
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 2
    [line] = err.splitlines()
    assert "'hand' and 'hand:x' would mix up their events' keys" in line


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8"])
def test_a_feed_is_read_in_its_own_charset(encoding: str) -> None:
    body = calendar(vevent("k@x", "Rust Köln - Treffen", "LOCATION:Köln, Deutschland")).decode()
    result = parse_calendar("cal", body.encode(encoding), SPAN)
    [event] = result.events
    assert event.title == "Rust Köln - Treffen"
    assert event.location == "Köln, Deutschland"


def test_an_empty_store_file_is_refused_not_started_afresh(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = manual_config(tmp_path, MANUAL_GOOD)
    store = tmp_path / ".twir-events" / "store.sqlite"
    store.parent.mkdir()
    store.write_bytes(b"")
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 4
    [line] = err.splitlines()
    assert "empty (0 bytes)" in line
    assert store.read_bytes() == b""


def test_a_flood_from_one_source_is_capped_and_later_runs_still_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    flood = [vevent(f"f{n}@x", f"Rust Meetup {n}", "LOCATION:Berlin, Germany") for n in range(400)]
    (tmp_path / "flood.ics").write_bytes(calendar(*flood))
    config = manual_config(tmp_path, MANUAL_GOOD, "[limits]\nevents_per_source = 150\n")
    config.write_text(config.read_text() + '\n[[source]]\nname = "flood"\ntype = "ics"\nurl = "flood.ics"\n')
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 0, err
    assert "flood: listed 400 events, more than the cap of 150; kept the earliest" in err
    with sqlite3.connect(tmp_path / ".twir-events" / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE source = 'flood'").fetchone() == (150,)
    assert cli(capsys, "run", "--config", str(config), "--date", ISSUE)[0] == 0
    assert cli(capsys, "render", "--config", str(config), "--date", ISSUE)[0] == 0


def test_escape_sequences_from_a_source_never_reach_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\u202e"
    (tmp_path / "bad.ics").write_bytes(f"{hostile}BEGIN:VCALENDAR\r\n{hostile}garbage\r\n".encode())
    title = calendar(vevent("t@x", f"Rust{hostile} Night", "URL:https://example.org/t"))
    (tmp_path / "title.ics").write_bytes(title)
    config = manual_config(tmp_path, MANUAL_GOOD)
    extra = "".join(f'\n[[source]]\nname = "{n}"\ntype = "ics"\nurl = "{n}.ics"\n' for n in ("bad", "title"))
    config.write_text(config.read_text() + extra)
    code, out, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 0, err
    assert "failed: bad: " in err
    _, status, _ = cli(capsys, "status", "--config", str(config))
    for shown in (out, err, status):
        assert not set(shown) & {"\x1b", "\x07", "\u202e"}
    assert "pwned" in out and "Night" in out  # the title itself is kept, minus the controls


def test_a_config_that_is_a_fifo_is_refused_without_waiting(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    os.mkfifo(config)
    code, _, err = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert code == 2
    assert err.splitlines() == [f"error: {config}: cannot read: not a regular file (a FIFO)"]
