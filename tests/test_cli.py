"""The `twir-events` console entry point, run in-process and once as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import icalendar
import pytest
from pytest_httpserver import HTTPServer

from aggregator.cli import main
from aggregator.window import issue_window, next_issue_date
from output.markdown import ParsedItem, parse_block

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures") / "cli"
COMMUNITY = FIXTURES / "community.ics"
TOKYO = FIXTURES / "tokyo.ics"
ONLINE = FIXTURES / "online.ics"
ISSUE = "2026-03-04"
REGIONS = ("virtual", "africa", "asia", "europe", "north-america", "oceania", "south-america")


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def items(self) -> list[ParsedItem]:
        return parse_block(self.out)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run `main` as the console script does; argparse's own exits become exit codes too."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def write_config(folder: Path, sources: Sequence[tuple[str, str]], extra: str = "") -> Path:
    """A config in `folder` with one ics source per (name, url) and its outputs in `folder/public`."""
    lines = [extra, "[output]", 'dir = "public"', ""]
    for name, url in sources:
        lines += ["[[source]]", f"name = {json.dumps(name)}", 'type = "ics"', f"url = {json.dumps(url)}", ""]
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def serve(httpserver: HTTPServer, path: str, body: Path | None) -> str:
    """Serve a calendar file at `path`, or a 404 when `body` is None; return its URL."""
    if body is None:
        httpserver.expect_request(path).respond_with_data("not found", status=404)
    else:
        httpserver.expect_request(path).respond_with_data(body.read_bytes(), content_type="text/calendar")
    return httpserver.url_for(path)


def titles(outcome: Outcome) -> list[tuple[str, str, str]]:
    return [(item.section, item.first_day.isoformat(), item.title) for item in outcome.items]


# --- run: the block, the files, every kind of source address ----------------------------------------


def test_run_prints_the_block_and_writes_every_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Community", str(COMMUNITY)), ("Tokyo", str(TOKYO))])
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 0, result.err
    window = issue_window(date.fromisoformat(ISSUE))
    assert result.out.startswith(f"Rusty Events between {window.start} - {window.end} \N{CRAB}\n")
    assert titles(result) == [
        ("Virtual", "2026-03-10", "Workshop: Add tests to an open source Rust project"),
        ("Virtual", "2026-03-17", "RustConf 2026"),
        ("Asia", "2026-03-12", "Tokyo Rust Meetup"),
        ("Europe", "2026-03-05", "Rust Hack and Learn"),
        ("North America", "2026-03-10", "Dallas Rust Weekly"),
        ("North America", "2026-03-17", "RustConf 2026"),
        # 17 March is an EXDATE; 3 March is before the window.
        ("North America", "2026-03-24", "Dallas Rust Weekly"),
        ("North America", "2026-03-31", "Dallas Rust Weekly"),
    ]
    lines = result.out.splitlines()
    assert (
        "* 2026-03-17 - 2026-03-20 | Hybrid (Vancouver, BC, CA) | [rustconf.example](https://rustconf.example/)"
        in lines
    )
    assert "* 2026-03-05 | Berlin, DE | [Rust Berlin](https://www.meetup.com/rust-berlin)" in lines
    assert "    * [**Workshop: Add tests to an open source Rust project**](https://luma.com/abcd1234)" in lines

    public = tmp_path / "public"
    assert (public / "events.md").read_text(encoding="utf-8") == result.out
    feed = icalendar.Calendar.from_ical((public / "events.ics").read_bytes())
    summaries = [str(event["SUMMARY"]) for event in feed.walk("VEVENT")]
    # The feed reaches back 30 days and a year ahead: last week's and June's events are in it, not in the block.
    assert {"Rust Munich February", "Rust Sydney in June"} <= set(summaries)
    assert summaries.count("Dallas Rust Weekly") == 5
    document = json.loads((public / "events.json").read_text(encoding="utf-8"))
    assert document["window"] == {"start": str(window.start), "end": str(window.end)}
    assert {event["title"] for event in document["events"]} == set(summaries)
    assert sorted(path.stem for path in (public / "regions").glob("*.ics")) == sorted(REGIONS)
    oceania = icalendar.Calendar.from_ical((public / "regions" / "oceania.ics").read_bytes())
    assert [str(event["SUMMARY"]) for event in oceania.walk("VEVENT")] == ["Rust Sydney in June"]


def test_a_source_over_http(capsys: pytest.CaptureFixture[str], tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve(httpserver, "/calendar/ical/community/public/basic.ics", COMMUNITY)
    local = cli(
        capsys, "run", "--config", str(write_config(tmp_path, [("Community", str(COMMUNITY))])), "--date", ISSUE
    )
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    remote = cli(capsys, "run", "--config", str(write_config(remote_dir, [("Community", url)])), "--date", ISSUE)
    assert remote.code == 0, remote.err
    assert len(remote.items) == 7
    assert remote.out == local.out
    assert len(httpserver.log) == 1


def test_a_file_url_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Tokyo", TOKYO.as_uri())])
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 0, result.err
    assert titles(result) == [("Asia", "2026-03-12", "Tokyo Rust Meetup")]
    [item] = result.items
    assert item.where == "Tokyo, JP"


def test_a_relative_path_is_read_from_the_config_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "calendars").mkdir()
    shutil.copy(TOKYO, tmp_path / "calendars" / "tokyo.ics")
    config = write_config(tmp_path, [("Tokyo", "calendars/tokyo.ics")])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 0, result.err
    assert titles(result) == [("Asia", "2026-03-12", "Tokyo Rust Meetup")]
    assert (tmp_path / "public" / "events.md").exists()
    assert not (elsewhere / "public").exists()


def test_default_date_is_the_next_wednesday(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Tokyo", str(TOKYO))])
    before = next_issue_date(date.today())
    result = cli(capsys, "run", "--config", str(config))
    after = next_issue_date(date.today())
    assert result.code == 0, result.err
    first_line = result.out.splitlines()[0]
    assert first_line in {
        f"Rusty Events between {issue} - {issue_window(issue).end} \N{CRAB}" for issue in (before, after)
    }
    assert date.fromisoformat(first_line.split()[3]).weekday() == 2


# --- failures: exit codes and one-line messages -------------------------------------------------------


def test_one_failing_source_is_a_warning_and_the_other_is_complete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    good = serve(httpserver, "/good.ics", COMMUNITY)
    bad = serve(httpserver, "/gone.ics", None)
    alone_dir = tmp_path / "alone"
    alone_dir.mkdir()
    alone = cli(capsys, "run", "--config", str(write_config(alone_dir, [("Community", good)])), "--date", ISSUE)
    both = cli(
        capsys,
        "run",
        "--config",
        str(write_config(tmp_path, [("Broken Calendar", bad), ("Community", good)])),
        "--date",
        ISSUE,
    )
    assert both.code == 0, both.err
    assert both.out == alone.out
    assert len(both.items) == 7
    [line] = [line for line in both.err.splitlines() if "Broken Calendar" in line]
    assert "404" in line
    assert "Community" not in line
    assert (tmp_path / "public" / "events.md").read_text(encoding="utf-8") == both.out


def test_no_source_readable_is_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    sources = [("First", serve(httpserver, "/a.ics", None)), ("Second", serve(httpserver, "/b.ics", None))]
    result = cli(capsys, "run", "--config", str(write_config(tmp_path, sources)), "--date", ISSUE)
    assert result.code == 1
    assert result.out == ""
    assert "no source could be read" in result.err
    for name, url in sources:
        assert any(name in line and "404" in line and url in line for line in result.err.splitlines()), name


def test_an_unreadable_file_source_is_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, [("Missing", str(tmp_path / "nowhere.ics"))])
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 1
    assert any("Missing" in line and "nowhere.ics" in line for line in result.err.splitlines())


@pytest.mark.parametrize(
    ("toml", "key", "what"),
    [
        ('[issue]\nweeks = 4\ncolour = "red"\n', "colour", "unknown key"),
        ('[[source]]\nname = "A"\ntype = "ics"\nurl = "a.ics"\nurll = "b.ics"\n', "urll", "unknown key"),
        ('[issue]\nweeks = "four"\n', "weeks", "expected an integer"),
        ('[[source]]\nname = "A"\ntype = "ics"\nurl = 42\n', "url", "expected a string"),
        ('[[source]]\nname = "A"\ntype = "ics"\n', "url", "required key is missing"),
        ('[[source]]\ntype = "ics"\nurl = "a.ics"\n', "name", "required key is missing"),
        ('[[source]]\nname = "A"\ntype = "carrier-pigeon"\nurl = "a.ics"\n', "type", "unknown source type"),
    ],
)
def test_config_errors_are_exit_2_with_one_line_naming_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str, key: str, what: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 2
    assert result.out == ""
    [line] = result.err.splitlines()
    assert str(config) in line
    assert key in line
    assert what in line
    assert not (tmp_path / "public").exists()


def test_a_missing_config_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = cli(capsys, "run", "--config", str(tmp_path / "nope.toml"), "--date", ISSUE)
    assert result.code == 2
    [line] = result.err.splitlines()
    assert "nope.toml" in line
    assert "not found" in line


def test_invalid_toml_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[issue\nweeks = 4\n", encoding="utf-8")
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 2
    [line] = result.err.splitlines()
    assert str(config) in line


@pytest.mark.parametrize("bad", ["2026-13-01", "next week", "2026-02-30"])
def test_a_bad_date_argument_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: str) -> None:
    config = write_config(tmp_path, [("Tokyo", str(TOKYO))])
    result = cli(capsys, "run", "--config", str(config), "--date", bad)
    assert result.code == 2
    assert result.out == ""
    error = result.err.splitlines()[-1]
    assert "--date" in error
    assert repr(bad) in error
    assert not (tmp_path / "public").exists()


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    helped = cli(capsys, "--help")
    assert helped.code == 0
    assert helped.out.startswith("usage: twir-events")
    assert "run" in helped.out
    run_help = cli(capsys, "run", "--help")
    assert run_help.code == 0
    assert "--config" in run_help.out
    assert "--date" in run_help.out
    shown = cli(capsys, "--version")
    assert shown.code == 0
    try:
        expected = version("twir-events")
    except PackageNotFoundError:
        expected = "unknown"
    assert shown.out.strip() == f"twir-events {expected}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys)
    assert result.code == 2
    assert "usage:" in result.err


# --- the real process -----------------------------------------------------------------------------


def test_run_as_a_process(tmp_path: Path) -> None:
    # An online-only calendar: the process need not load the gazetteer, which keeps this test at about a second.
    config = write_config(tmp_path, [("Online", ONLINE.as_uri())])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "aggregator.cli", "run", "--config", str(config), "--date", ISSUE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Rusty Events between 2026-03-04 - 2026-04-01 \N{CRAB}\n")
    [item] = parse_block(done.stdout)
    assert (item.section, item.first_day, item.where) == ("Virtual", date(2026, 3, 10), "Virtual")
    assert item.url == "https://meet.jit.si/RustTalk"
    assert (tmp_path / "public" / "events.md").read_text(encoding="utf-8") == done.stdout


def test_an_in_person_event_with_no_place_is_left_for_the_editor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "manual.toml").write_text(
        "[[event]]\n"
        'title = "Rust Night somewhere"\nstart = 2026-03-12T19:00:00\ntimezone = "Europe/Berlin"\n'
        'url = "https://example.org/somewhere"\n'
        "[[event]]\n"
        'title = "Rust Hack Night"\nstart = 2026-03-12T19:00:00\ntimezone = "Europe/Berlin"\n'
        'place = "Köln, Germany"\nurl = "https://example.org/koeln"\n'
        "[[event]]\n"
        'title = "Rust Night in the backroom"\nstart = 2026-03-12T19:00:00\ntimezone = "Europe/Berlin"\n'
        'place = "Backroom 5"\nurl = "https://example.org/backroom"\n',
        encoding="utf-8",
    )
    manual = '[[source]]\nname = "Hand-added"\ntype = "manual"\npath = "manual.toml"\n'
    config = write_config(tmp_path, [], extra=manual)
    result = cli(capsys, "run", "--config", str(config), "--date", ISSUE)
    assert result.code == 0, result.err
    assert titles(result) == [
        ("Europe", "2026-03-12", "Rust Night in the backroom"),  # as written: `Backroom 5`
        ("Europe", "2026-03-12", "Rust Hack Night"),
    ]
    assert "* 2026-03-12 | Köln, DE | " in result.out and "||" not in result.out.replace(" ", "")
    assert "no place found (2), set one in the curation file:" in result.err
    assert "'Rust Night somewhere' (left out of the block)" in result.err
    assert "'Rust Night in the backroom'\n" in result.err
    document = json.loads((tmp_path / "public" / "events.json").read_text(encoding="utf-8"))
    unplaced = {(e["title"], e["date"], e["in_block"]) for e in document["needs_place"]}
    assert unplaced == {
        ("Rust Night somewhere", "2026-03-12", False),
        ("Rust Night in the backroom", "2026-03-12", True),
    }
    # Still published: the feed and the records keep it.
    assert "Rust Night somewhere" in {event["title"] for event in document["events"]}
