"""Golden tests: the bundled demo calendar gives exactly the block and feed checked in under tests/golden/.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from aggregator.config import load_config
from aggregator.job import JobResult, run_job
from output.markdown import ParsedItem, parse_block
from sources.http import Http

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden")
ISSUE = date(2026, 11, 25)


NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def run_demo(out: Path, now: datetime = NOW) -> JobResult:
    config = replace(
        load_config(ROOT / "examples" / "demo" / "config.toml"),
        output_dir=out,
        # Beside the output folder, never in it: that folder is replaced as a whole.
        store_path=out.parent / f"{out.name}.sqlite",
    )
    return run_job(config, ISSUE, Http(), now=now)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[JobResult, Path]:
    out = tmp_path_factory.mktemp("public")
    return run_demo(out), out


def check_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(actual)
    assert actual == path.read_bytes(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


def test_block_matches_golden(demo: tuple[JobResult, Path]) -> None:
    result, out = demo
    assert (out / "events.md").read_text(encoding="utf-8") == result.block
    check_golden("demo-2026-11-25.md", result.block.encode())


def test_feed_matches_golden(demo: tuple[JobResult, Path]) -> None:
    _, out = demo
    check_golden("demo-2026-11-25.ics", (out / "events.ics").read_bytes())


def test_sections_hold_the_events_the_demo_readme_specifies(demo: tuple[JobResult, Path]) -> None:
    items = parse_block(demo[0].block)
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item.section] = sizes.get(item.section, 0) + 1
    assert sizes == {
        "Virtual": 12,
        "Africa": 1,
        "Asia": 6,
        "Europe": 10,
        "North America": 6,
        "Oceania": 3,
        "South America": 1,
    }


def printed_dates(item: ParsedItem) -> str:
    first, last = item.first_day.isoformat(), item.last_day.isoformat()
    return first if first == last else f"{first} - {last}"


@pytest.mark.parametrize(
    ("title", "dates", "where"),
    [
        ("Rust India Conference 2026", "2026-11-23 - 2026-11-25", "Bengaluru, IN"),
        ("Rust LA: December Meetup", "2026-12-02", "Los Angeles, CA, US"),
        ("Rust Auckland Breakfast ☕", "2026-12-10", "Auckland, NZ"),
        ("Bay Area Rust: End-of-Year Social", "2026-12-23", "San Francisco, CA, US"),
        ("Rust Korea Conference 2026 (러스트 코리아 컨퍼런스)", "2026-12-23 - 2026-12-24", "Seoul, KR"),
        ("Rust Berlin Online: `async` in embedded with Embassy", "2026-12-02", "Virtual (Berlin, DE)"),
        ("Vancouver Rust: Monthly Talks", "2026-12-16", "Hybrid (Vancouver, BC, CA)"),
        ("Rust Hack and Learn (Wednesday edition)", "2026-12-09", "Berlin, DE"),
        ("Rust Munich 🦀 Christmas Meetup 🎄", "2026-12-18", "München, DE"),
        ("Rust Bangalore: December Rustacean Meetup", "2026-12-12", "Bangalore, IN"),
        ("Rust Lagos Meetup: Intro to Ownership", "2026-12-05", "Lagos, NG"),
    ],
)
def test_traps_land_where_the_spec_says(demo: tuple[JobResult, Path], title: str, dates: str, where: str) -> None:
    matches = [item for item in parse_block(demo[0].block) if item.title == title]
    assert matches, f"{title!r} is missing"
    assert {(printed_dates(item), item.where) for item in matches} == {(dates, where)}


def test_events_outside_the_window_or_cancelled_are_not_listed(demo: tuple[JobResult, Path]) -> None:
    block = demo[0].block
    for absent in ("RustFest Zürich", "Thanksgiving Eve-Eve", "Talks & Pizza"):
        assert absent not in block
    sydney = [printed_dates(item) for item in parse_block(block) if item.title == "Rust Sydney Hack Night"]
    assert sydney == ["2026-12-02"], "the 12-16 instance is cancelled"
    berlin = sorted(printed_dates(item) for item in parse_block(block) if item.title.startswith("Rust Hack and Learn"))
    assert berlin == ["2026-11-26", "2026-12-03", "2026-12-09", "2026-12-22"]


def test_hybrid_events_are_listed_twice_identically(demo: tuple[JobResult, Path]) -> None:
    lines = demo[0].block.splitlines()
    hybrid = [line for line in lines if "| Hybrid (" in line]
    assert len(hybrid) == 6
    assert all(hybrid.count(line) == 2 for line in hybrid)


def test_second_run_writes_nothing_and_files_are_byte_identical(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    assert all(first.written.values())
    snapshot = {path: path.read_bytes() for path in first.written}
    second = run_demo(tmp_path, NOW + timedelta(hours=6))
    assert not any(second.written.values())
    assert {path: path.read_bytes() for path in second.written} == snapshot


def test_feed_has_one_file_per_region(demo: tuple[JobResult, Path]) -> None:
    regions = sorted(p.name for p in (demo[1] / "regions").glob("*.ics"))
    assert regions == [
        "africa.ics",
        "asia.ics",
        "europe.ics",
        "north-america.ics",
        "oceania.ics",
        "south-america.ics",
        "virtual.ics",
    ]
    europe = (demo[1] / "regions" / "europe.ics").read_text(encoding="utf-8")
    assert "Rust Paris Meetup #82" in europe and "Rust Lagos" not in europe


def test_feed_covers_past_month_and_beyond_the_window(demo: tuple[JobResult, Path]) -> None:
    feed = icalendar.Calendar.from_ical((demo[1] / "events.ics").read_bytes())
    starts = sorted(str(event["DTSTART"].dt)[:10] for event in feed.walk("VEVENT"))
    assert "2026-10-26" <= starts[0] < "2026-11-25"
    assert starts[-1] > "2026-12-23"
