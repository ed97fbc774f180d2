"""Real Google Calendar exports through the whole pipeline: fetch, normalize, window, group, render.

The exports are read in place from ../shared; each test skips when its file is absent. One test runs
`run_job` (store, merge, every output file) on a real export.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from aggregator.config import DEFAULT_STATES, SourceSpec, load_config
from aggregator.job import run_job
from aggregator.model import Event, Mode
from aggregator.pipeline import Collected, Issue, build_issue, collect, merged
from aggregator.window import issue_window
from output.markdown import ParsedItem, parse_block, render_block
from sources.base import Span
from sources.http import Http
from sources.ics import IcsSource

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "google-ics"
SOURCE = "Google"


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@dataclass
class Run:
    """One issue built from one real export."""

    collected: Collected
    issue: Issue
    block: str
    items: list[ParsedItem]

    def titled(self, title: str) -> list[ParsedItem]:
        """The listings with this title, in the block's order (hybrid ones appear twice)."""
        return [item for item in self.items if item.title == title]

    def days(self, title: str) -> list[str]:
        """The first days of its listings: a day twice would be a duplicate listing."""
        return sorted(item.first_day.isoformat() for item in self.titled(title))

    def events(self, title: str) -> list[Event]:
        return sorted((e for e in self.issue.events if e.title == title), key=lambda e: str(e.start))


def spec_for(name: str) -> SourceSpec:
    return SourceSpec(IcsSource(SOURCE, real(name).as_uri()), "ics")


def build(name: str, issue_date: date) -> Run:
    return _build(real(name), issue_date)


@cache
def _build(path: Path, issue_date: date) -> Run:
    """Several tests read one issue; building it once keeps the file fast."""
    window = issue_window(issue_date)
    spec = SourceSpec(IcsSource(SOURCE, path.as_uri()), "ics")
    with Http() as http:
        collected = collect([spec], http, Span(window.start, window.end))
    [report] = collected.reports
    assert report.ok, report.error
    issue = build_issue(collected.events, issue_date, 4, DEFAULT_STATES)
    block = render_block(issue.window, issue.sections, DEFAULT_STATES)
    return Run(collected, issue, block, parse_block(block))


def assert_inside_window(run: Run) -> None:
    window = run.issue.window
    assert run.block.startswith(f"Rusty Events between {window.start} - {window.end} \N{CRAB}\n")
    for item in run.items:
        assert item.first_day <= window.end, item
        assert item.last_day >= window.start, item


# --- python.org: multi-day all-day conferences ---------------------------------------------------


def test_python_org_conferences_2014_05_14() -> None:
    run = build("pythondotorg-python-events-calendar.ics", date(2014, 5, 14))
    assert_inside_window(run)
    [apac] = run.titled("PyCon APAC 2014")
    assert (apac.section, apac.first_day, apac.last_day) == ("Asia", date(2014, 5, 16), date(2014, 5, 18))
    assert apac.where == "Taipei, TW"
    assert apac.url == "http://tw.pycon.org/2014apac/en/"
    line = run.block.splitlines()[apac.line - 1]
    assert line.startswith("* 2014-05-16 - 2014-05-18 | Taipei, TW | ")
    # Started the day before the issue and still running: listed.
    [django] = run.titled("Djangocon Europe 2014")
    assert (django.section, django.first_day, django.last_day) == ("Europe", date(2014, 5, 13), date(2014, 5, 17))
    assert django.url == "http://2014.djangocon.eu/"
    # DjangoVillage starts on 13 June, after the window's last day (11 June).
    assert not run.titled("DjangoVillage")
    assert not run.titled("PyCon Singapore 2014")
    assert run.collected.reports[0].warnings == []


def test_python_org_window_edges_2014_05_21() -> None:
    run = build("pythondotorg-python-events-calendar.ics", date(2014, 5, 21))
    # PyCon APAC ended on the 18th; PyCon Singapore starts on the window's last day, 18 June.
    assert not run.titled("PyCon APAC 2014")
    [singapore] = run.titled("PyCon Singapore 2014")
    assert (singapore.first_day, singapore.last_day) == (date(2014, 6, 18), date(2014, 6, 20))
    assert singapore.where == "Singapore, SG"
    assert singapore.url == "https://pycon.sg/"
    [village] = run.titled("DjangoVillage")
    assert (village.section, village.first_day, village.last_day) == ("Europe", date(2014, 6, 13), date(2014, 6, 15))
    assert village.where.endswith(", IT")
    assert village.url == "http://www.djangovillage.it/"


def test_python_org_state_for_canada() -> None:
    run = build("pythondotorg-python-events-calendar.ics", date(2014, 4, 16))
    [pycon] = run.titled("PyCon US 2014")
    assert pycon.section == "North America"
    assert (pycon.first_day, pycon.last_day) == (date(2014, 4, 9), date(2014, 4, 17))
    assert pycon.where.endswith(", QC, CA")
    assert pycon.url == "http://us.pycon.org/"


# --- machbar: RRULE, EXDATE, moved instances, HTML descriptions ----------------------------------


def test_machbar_exdate_removes_a_thursday_and_a_friday() -> None:
    run = build("machbar_16_feb_2019.ics", date(2019, 2, 27))
    assert_inside_window(run)
    days = run.days("Montessori Schulklasse")
    # Weekly on Thursday from 28 Feb (7 Mar excluded) and on Friday from 1 Mar (8 Mar excluded).
    assert days == ["2019-02-28", "2019-03-01", "2019-03-14", "2019-03-15", "2019-03-21", "2019-03-22"]
    assert "2019-03-07" not in days
    assert "2019-03-08" not in days


def test_machbar_series_and_links() -> None:
    run = build("machbar_16_feb_2019.ics", date(2019, 2, 27))
    assert run.days("OpenLab") == ["2019-02-28", "2019-03-07", "2019-03-14", "2019-03-21"]
    for item in run.titled("OpenLab"):
        assert item.where == "Potsdam, DE"
        assert item.url == "http://www.machbar-potsdam.de"
    # Every other Tuesday; the link was wrapped in a google.com/url redirect with &amp; entities.
    ok_lab = run.titled("OK Lab")
    assert [item.first_day.isoformat() for item in ok_lab] == ["2019-03-05", "2019-03-19"]
    assert {item.url for item in ok_lab} == {"http://www.oklab-potsdam.de"}
    assert "google.com/url" not in run.block
    # A weekly Wednesday series in UTC whose local date is the one in Europe/Berlin (the calendar's zone).
    assert run.days("Chaostreff - CCCP") == ["2019-02-27", "2019-03-06", "2019-03-13", "2019-03-20", "2019-03-27"]


def test_machbar_multi_day_all_day_events() -> None:
    run = build("machbar_16_feb_2019.ics", date(2019, 2, 27))
    spans = [(item.first_day, item.last_day) for item in run.titled("Open Health HACKademy")]
    assert (date(2019, 3, 1), date(2019, 3, 3)) in spans
    assert all(first < last for first, last in spans)


def test_machbar_moved_instance_is_listed_on_its_new_date_only() -> None:
    run = build("machbar_16_feb_2019.ics", date(2019, 2, 13))
    # The third-Saturday repair café of 16 Feb was moved to Sunday 24 Feb, and to another venue.
    [moved] = run.titled("mB-onTour: repairCafé")
    assert moved.first_day == date(2019, 2, 24)
    assert moved.where == "Potsdam, DE"
    [event] = run.events("mB-onTour: repairCafé")
    assert event.start == datetime(2019, 2, 24, 11, tzinfo=ZoneInfo("Europe/Berlin"))
    assert "Am Neuen Garten" in event.location


# --- issue_62: a timed and an all-day series, each with a moved instance -------------------------


def test_issue_62_moved_instances() -> None:
    run = build("issue_62_moved_event_2.ics", date(2023, 8, 9))
    assert_inside_window(run)
    # Tuesdays 14:00 Sydney until 28 Aug; the 15 Aug one moved to Monday 14 Aug.
    assert run.days("Datetime") == ["2023-08-14", "2023-08-22"]
    # Thursdays all day until 30 Aug; the 17 Aug one moved to Wednesday 16 Aug.
    assert run.days("All Day") == ["2023-08-10", "2023-08-16", "2023-08-24"]
    moved = run.events("Datetime")[0]
    assert moved.start == datetime(2023, 8, 14, 14, tzinfo=ZoneInfo("Australia/Sydney"))
    assert moved.timezone == "Australia/Sydney"
    # No LOCATION at all: an online event with no home place (source-formats.md §1.9), never an empty place.
    assert {(item.section, item.where) for item in run.items} == {("Virtual", "Virtual")}


# --- issue_59: UTC times, X-WR-TIMEZONE only ----------------------------------------------------


def test_issue_59_nine_pm_event_is_on_its_local_date() -> None:
    run = build("x_wr_timezone_simple_events_issue_59.ics", date(2021, 12, 22))
    nine_pm = "Google says this is 9PM to 10PM on 12/22/2021"
    assert run.days(nine_pm) == ["2021-12-22"]
    [event] = run.events(nine_pm)
    assert event.timezone == "America/New_York"
    assert event.start == datetime(2021, 12, 22, 21, tzinfo=ZoneInfo("America/New_York"))
    assert run.days("Google Calendar says this is noon to 1PM on 12/22/2021") == ["2021-12-22"]
    # No LOCATION: online events with no home place.
    assert {item.section for item in run.items} == {"Virtual"}


def test_issue_59_event_on_the_day_before_the_issue_is_not_listed() -> None:
    # Its UTC date is 23 Dec, the issue date; its local date, 22 Dec, is before the window.
    run = build("x_wr_timezone_simple_events_issue_59.ics", date(2021, 12, 23))
    assert run.items == []
    assert "###" not in run.block


# --- issue_151 / issue_48: yearly series with EXDATE, and an online weekly series across DST ------


@pytest.mark.parametrize(
    ("issue_date", "expected"),
    [(date(2014, 7, 30), ["2014-08-01"]), (date(2015, 7, 29), ["2015-08-01"]), (date(2016, 7, 27), [])],
)
def test_issue_151_yearly_series_with_exdate_and_override(issue_date: date, expected: list[str]) -> None:
    run = build("issue_151_macos_linux_difference.ics", issue_date)
    assert run.days("Vespers for the Feast of St. Joseph") == expected


def test_issue_151_override_moves_the_first_instance_time() -> None:
    run = build("issue_151_macos_linux_difference.ics", date(2014, 7, 30))
    [event] = run.events("Vespers for the Feast of St. Joseph")
    assert event.start == datetime(2014, 8, 1, 18, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert [item.section for item in run.items] == ["Virtual"]  # no LOCATION: an online event


def test_issue_48_online_weekly_series_across_dst() -> None:
    run = build("issue_48_daylight_aware_repeats.ics", date(2020, 10, 21))
    assert run.days("MDS-t") == ["2020-10-26", "2020-11-02", "2020-11-09", "2020-11-16"]
    for item in run.titled("MDS-t"):
        assert (item.section, item.where) == ("Virtual", "Virtual")
        # The link was folded in the middle of the URL in the file.
        assert item.url == "https://videoconf-colibri.zoom.us/j/93800310242?pwd=K3FBUVJUV2hrTm1OR2RWb0ZabTJkZz09"
    lisbon = ZoneInfo("Europe/Lisbon")
    # 11:30 local on both sides of the change from summer time on 25 Oct.
    assert [e.start for e in run.events("MDS-t")][:2] == [
        datetime(2020, 10, 26, 11, 30, tzinfo=lisbon),
        datetime(2020, 11, 2, 11, 30, tzinfo=lisbon),
    ]
    assert all(e.mode is Mode.VIRTUAL for e in run.events("MDS-t"))


# --- PlaceCal: the same endpoint shape as the Rust calendar ---------------------------------------


def test_placecal_july_2018() -> None:
    run = build("placecal-hulme-moss-side-public-basic.ics", date(2018, 7, 4))
    assert_inside_window(run)
    assert len(run.items) > 100
    assert {item.section for item in run.items} == {"Europe"}
    assert "Manchester, UK" in {item.where for item in run.items}
    # Weekly on Tuesday, Thursday and Saturday, each one day long.
    assert run.days("Hulme Library Assistance") == [
        day.isoformat() for day in (date(2018, 7, d) for d in range(4, 32)) if day.weekday() in (1, 3, 5)
    ]
    simply = run.titled("Simply Circuits")
    assert simply
    assert {item.url for item in simply} == {"http://www.manchester.gov.uk/activelifestyles"}


def test_placecal_exdates_and_moved_instance_in_march_2018() -> None:
    run = build("placecal-hulme-moss-side-public-basic.ics", date(2018, 3, 7))
    days = run.days("Hulme Library Assistance")
    # 13 and 15 March are excluded; the Saturday between stays.
    assert "2018-03-13" not in days
    assert "2018-03-15" not in days
    assert {"2018-03-08", "2018-03-10", "2018-03-17", "2018-03-20"} <= set(days)
    dublin = ZoneInfo("Europe/Dublin")
    sew = {e.first_day: e for e in run.events("So Sew Group")}
    # 13 March moved from 10:00 to 14:00 the same day; the other Tuesdays keep 10:00.
    assert sew[date(2018, 3, 13)].start == datetime(2018, 3, 13, 14, tzinfo=dublin)
    assert sew[date(2018, 3, 20)].start == datetime(2018, 3, 20, 10, tzinfo=dublin)


def test_merging_one_calendar_keeps_its_distinct_events() -> None:
    spec = spec_for("placecal-hulme-moss-side-public-basic.ics")
    events = build("placecal-hulme-moss-side-public-basic.ics", date(2018, 7, 4)).collected.events
    kept = merged(events, [spec]).events
    saturday = date(2018, 7, 7)
    assert sorted(e.title for e in kept if e.first_day == saturday and e.title.startswith("Hulme Library")) == [
        "Hulme Library",
        "Hulme Library Assistance",
    ]


# --- calagator: bare-UTC RECURRENCE-ID overriding a TZID series, plain-text links --------------------


def test_calagator_override_by_utc_recurrence_id() -> None:
    run = build("calagator-ical_google-portland-user-groups.ics", date(2007, 12, 19))
    assert_inside_window(run)
    dorkbot = run.titled("Dorkbot PDX")
    # The 19 Dec instance (RECURRENCE-ID 20071220T033000Z) moved to 20 Dec; 16 Jan is another series' first day.
    assert [item.first_day.isoformat() for item in dorkbot] == ["2007-12-20", "2008-01-02", "2008-01-16"]
    assert {item.url for item in dorkbot} == {"http://dorkbot.org/dorkbotpdx/"}
    assert {item.section for item in run.items} == {"North America"}


# --- run_job: a config pointing at a real export by absolute path ---------------------------------


def test_run_job_on_a_real_export_writes_every_output(tmp_path: Path) -> None:
    path = real("pythondotorg-python-events-calendar.ics")
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        "[output]\ndir = 'out'\n\n[feed]\npast_days = 0\nfuture_days = 60\n\n"
        f"[[source]]\nname = 'Python Events'\ntype = 'ics'\nurl = {json.dumps(str(path))}\n",
        encoding="utf-8",
    )
    with Http() as http:
        result = run_job(load_config(config_path), date(2014, 5, 14), http, now=datetime(2014, 5, 13, tzinfo=UTC))
    out = tmp_path / "out"
    assert (out / "events.md").read_text(encoding="utf-8") == result.block
    assert "* 2014-05-16 - 2014-05-18 | Taipei, TW | " in result.block
    assert "    * [**PyCon APAC 2014**](http://tw.pycon.org/2014apac/en/)" in result.block
    feed = icalendar.Calendar.from_ical((out / "events.ics").read_bytes())
    summaries = sorted(str(e["SUMMARY"]) for e in feed.walk("VEVENT"))
    # The feed covers 14 May .. 13 July: the window's two events plus June's conferences.
    assert {"PyCon APAC 2014", "Djangocon Europe 2014", "DjangoVillage", "PyCon Singapore 2014"} <= set(summaries)
    assert "PyCon US 2014" not in summaries
    document = json.loads((out / "events.json").read_text(encoding="utf-8"))
    assert document["window"] == {"start": "2014-05-14", "end": "2014-06-11"}
    [source] = document["sources"]
    assert (source["name"], source["last_outcome"]) == ("Python Events", "ok")
    assert (out / "regions" / "asia.ics").exists()
    asia = icalendar.Calendar.from_ical((out / "regions" / "asia.ics").read_bytes())
    assert "PyCon APAC 2014" in {str(e["SUMMARY"]) for e in asia.walk("VEVENT")}
    assert all(written for written in result.written.values())
