"""Benchmark: `twir-events render` on a store with one year of history against one with three.

Both stores hold the same 150 weekly meetup groups and the same coming weeks; the older one only has more past
events, removed events and fetch-log rows. Each render is its own `twir-events render` process, the two stores
taking turns. From the repo root: `python benchmarks/render_age.py [--repeat N] [--no-write]`.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from measure import Runs, alternate, arguments, load_average, machine, publish, ratio_range

from aggregator.model import Event, Mode, Place
from aggregator.store import Store

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Render time against store age (benchmarks/render_age.py)"
ISSUE_DATE = date(2026, 11, 25)
GROUPS = 150
AHEAD_WEEKS = 8
RUNS_PER_DAY = 4
REMOVED_SHARE = 10  # every tenth group has one cancelled event per year of history
REPEAT = 5
TARGET = 1.10
AGES = (1, 3)
CITIES = (
    Place("Berlin", "", "DE", "Europe/Berlin"),
    Place("Paris", "", "FR", "Europe/Paris"),
    Place("Seattle", "WA", "US", "America/Los_Angeles"),
    Place("Toronto", "ON", "CA", "America/Toronto"),
    Place("Tokyo", "", "JP", "Asia/Tokyo"),
    Place("Sydney", "NSW", "AU", "Australia/Sydney"),
    Place("São Paulo", "", "BR", "America/Sao_Paulo"),
    Place("Nairobi", "", "KE", "Africa/Nairobi"),
)


def group_events(group: int, years: int) -> list[Event]:
    """A group's weekly meetups from `years` before the issue date to a few weeks after it."""
    name, place = f"group-{group:03d}", CITIES[group % len(CITIES)]
    zone = ZoneInfo(place.timezone)
    events = []
    # Numbered from a fixed week, so both stores give the coming weeks' events the same keys and titles.
    for week in range(-52 * years, AHEAD_WEEKS + 1):
        day, number = ISSUE_DATE + timedelta(days=group % 7, weeks=week), 1000 + week
        start = datetime(day.year, day.month, day.day, 18, 30, tzinfo=zone)
        events.append(
            Event(
                key=f"{name}:{number}",
                source=name,
                title=f"Rust {place.city} Meetup #{number}",
                start=start,
                end=start + timedelta(hours=3),
                timezone=place.timezone,
                mode=Mode.IN_PERSON,
                place=place,
                location=f"Tech Hub, {place.city}",
                url=f"https://www.meetup.com/rust-{name}/events/{300000000 + number}/",
                organizer=f"Rust {place.city} {group}",
                organizer_url=f"https://www.meetup.com/rust-{name}/",
                description="Talks and pizza. " * 20,
                sources=(name,),
            )
        )
    return events


def build_store(directory: Path, years: int) -> dict[str, int]:
    """A store as `years` of 6-hourly runs would leave it, and its config; what it holds."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime(ISSUE_DATE.year, ISSUE_DATE.month, ISSUE_DATE.day, 6, tzinfo=UTC) - timedelta(days=1)
    sources = [f"group-{group:03d}" for group in range(GROUPS)]
    events = removed = 0
    with Store(directory / "store.sqlite") as store:
        for group, name in enumerate(sources):
            listed = group_events(group, years)
            store.sync_source(name, listed, now - timedelta(hours=6))
            if group % REMOVED_SHARE == 0:
                # One past event per year was cancelled after it was listed, and one coming event just now.
                gone = {listed[52 * year + 10].key for year in range(years)} | {listed[-2].key}
                store.sync_source(name, [e for e in listed if e.key not in gone], now)
                removed += len(gone)
            events += len(listed)
        for week in range(52 * years):
            issue = ISSUE_DATE - timedelta(weeks=week + 1)
            store.save_issue(issue, [], now)
    # The fetch log as the runs wrote it: written directly, as Store.record_fetch would take minutes for this many.
    fetches = [
        (name, (now - timedelta(hours=6 * run)).isoformat(timespec="microseconds"), "ok", 200, 3188, 0.3, 3, "")
        for run in range(365 * years * RUNS_PER_DAY)
        for name in sources
    ]
    with sqlite3.connect(directory / "store.sqlite") as db:
        db.executemany(
            "INSERT INTO fetches (source, started, outcome, status, bytes, duration, events, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            fetches,
        )
    config = ["[issue]", "weeks = 4", "", "[output]", 'dir = "public"', "", "[store]", 'path = "store.sqlite"', ""]
    for name in sources:
        config += ["[[source]]", f'name = "{name}"', 'type = "ics"', f'url = "{name}.ics"', ""]
    (directory / "config.toml").write_text("\n".join(config), encoding="utf-8")
    size = (directory / "store.sqlite").stat().st_size
    return {"events": events, "removed": removed, "fetches": len(fetches), "issues": 52 * years, "bytes": size}


def section(figures: dict[int, dict[str, int]], runs: dict[str, Runs], repeat: int, load: tuple[float, float]) -> str:
    young, old = runs[f"{AGES[0]} year"], runs[f"{AGES[1]} years"]
    cpu = old.median_cpu / young.median_cpu
    verdict = "met" if cpu <= TARGET else "**not met**"
    lines = [
        HEADING,
        "",
        f"{machine(load)}, with",
        "",
        "    python benchmarks/render_age.py" + (f" --repeat {repeat}" if repeat != REPEAT else ""),
        "",
        f"Two stores of {GROUPS} weekly meetup groups in {len(CITIES)} cities, each with the same coming "
        f"{AHEAD_WEEKS} weeks and one or three years of history as 6-hourly runs leave it: past events, one removed "
        f"event per tenth group and year plus one just removed (published as cancelled), a saved issue per week, "
        f"{RUNS_PER_DAY} fetch-log rows per group and day. Each run is `twir-events render --date {ISSUE_DATE}` in "
        "its own process (start-up included), the stores taking turns, after one untimed render of each.",
        "",
        f"| history | events | removed | fetch-log rows | store MiB | median s (of {repeat}) | runs min - max s "
        "| median CPU s | peak RSS MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for age in AGES:
        label = f"{age} year" + ("s" if age > 1 else "")
        f, r = figures[age], runs[label]
        lines.append(
            f"| {label} | {f['events']:,} | {f['removed']:,} | {f['fetches']:,} | {f['bytes'] / 2**20:.0f} "
            f"| {r.median:.2f} | {r.spread()} | {r.median_cpu:.2f} | {r.peak_mib:.0f} |"
        )
    lines += [
        "",
        f"**Three years of history against one: CPU {cpu:.2f}x** (target: within {TARGET:.2f}x, {verdict}); "
        f"wall clock {ratio_range(old, young)}, which moves with the machine's load and the disk (every render "
        "syncs its output files and the store). Both renders printed the same block (the script compares them). "
        "A render reads only the rows whose days reach the feed's span (an index on each event's last day), "
        "counts a source's upcoming events in SQL, and looks up each source's latest fetch by index.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(__doc__, REPEAT, "each store").parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="twir-render-age-") as temp:
        figures, commands = {}, {}
        for age in AGES:
            directory = Path(temp) / f"{age}y"
            print(f"building a store with {age} year(s) of history ...", flush=True)
            figures[age] = build_store(directory, age)
            command = [sys.executable, "-m", "aggregator.cli", "render", "--config", str(directory / "config.toml")]
            commands[f"{age} year" + ("s" if age > 1 else "")] = [*command, "--date", ISSUE_DATE.isoformat()]
        alternate(commands, 1, cwd=str(ROOT))  # untimed: the first render also fills the publish table
        before = load_average()
        runs = alternate(commands, args.repeat, cwd=str(ROOT))
        load = (before, load_average())
        blocks = {(Path(temp) / f"{age}y" / "public" / "events.md").read_text(encoding="utf-8") for age in AGES}
        if len(blocks) != 1:
            print("error: the two stores rendered different blocks", file=sys.stderr)
            return 1
    publish(HEADING, section(figures, runs, args.repeat, load), not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
