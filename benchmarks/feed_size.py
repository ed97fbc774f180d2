"""Benchmark: what a subscriber downloads. The demo's feeds in bytes, per event, and the share that is VTIMEZONE.

The baseline, measured in the same run, is the demo feed as it was published before compact zones (the golden
file at BASELINE_COMMIT, same input and date) and the zones as that writer built them (icalendar's
`Timezone.from_tzid` over 2015-2040, one RDATE per line) for the TZIDs the feed uses now.
From the repo root: `python benchmarks/feed_size.py [--no-write]`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from icalendar import Timezone

from aggregator.config import load_config
from aggregator.job import run_job
from output.files import update_markdown_section
from sources.http import Http

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Feed size per event (benchmarks/feed_size.py)"
DEMO = ROOT / "examples" / "demo" / "config.toml"
ISSUE_DATE = date(2026, 11, 25)
NOW = datetime(2026, 11, 22, 6, tzinfo=UTC)
BASELINE_COMMIT = "76eb54c"
GOLDEN = "tests/golden/demo-2026-11-25.ics"
TARGET = 0.80
_ZONE = re.compile(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", re.DOTALL)


def measure(feed: bytes) -> tuple[int, int, int]:
    """Bytes, VEVENTs and VTIMEZONE bytes of one feed."""
    return len(feed), feed.count(b"BEGIN:VEVENT\r\n"), sum(len(zone) for zone in _ZONE.findall(feed))


def old_zones(tzids: list[str]) -> int:
    """Bytes of the zones the old writer embedded for these TZIDs."""
    total = 0
    for tzid in tzids:
        zone = Timezone.from_tzid(tzid, first_date=date(2015, 1, 1), last_date=date(2040, 1, 1))
        for observance in zone.subcomponents:
            rdates = observance.pop("RDATE", None)
            listed = rdates if isinstance(rdates, list) else [rdates] if rdates is not None else []
            for moment in sorted(value.dt for rdate in listed for value in rdate.dts):
                observance.add("RDATE", moment)
        total += len(zone.to_ical())
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "public"
        config = replace(load_config(DEMO), output_dir=out, store_path=Path(scratch) / "store.sqlite")
        run_job(config, ISSUE_DATE, Http(), now=NOW)
        feeds = {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*.ics"))}
    baseline = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:{GOLDEN}"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    size, events, zones = measure(feeds["events.ics"])
    old_size, old_events, old_zone_bytes = measure(baseline)
    tzids = sorted(set(re.findall(r"^TZID:(.+?)\r$", feeds["events.ics"].decode(), re.MULTILINE)))
    same_zones_old = old_zones(tzids)
    rows = [
        ("events.ics now", size, events, zones),
        (f"events.ics at {BASELINE_COMMIT} (before this work)", old_size, old_events, old_zone_bytes),
    ]
    regions = {name: measure(body) for name, body in feeds.items() if name.startswith("regions/")}
    lines = [
        HEADING,
        "",
        f"Measured {date.today().isoformat()} with `python benchmarks/feed_size.py`: the demo (`examples/demo`, "
        f"issue {ISSUE_DATE.isoformat()}) run into a scratch folder; the baseline is the demo feed as published "
        f"before compact zones (`{GOLDEN}` at {BASELINE_COMMIT}, same input and date), read from git.",
        "",
        "| feed | bytes | VEVENTs | bytes per event | VTIMEZONE bytes | zone share |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, total, count, zone_bytes in rows:
        per_event = f"{total / count:,.0f}" if count else "-"
        lines.append(f"| {name} | {total:,} | {count} | {per_event} | {zone_bytes:,} | {zone_bytes / total:.0%} |")
    ratio = size / old_size
    lines += [
        "",
        f"**{1 - ratio:.1%} smaller** than the baseline (target: at least 20%: "
        f"{'met' if ratio <= TARGET else 'NOT met'}), while each event now also carries its own description, "
        "ORGANIZER and GEO. The zones of the same "
        f"{len(tzids)} TZIDs as the old writer built them would take {same_zones_old:,} bytes; now {zones:,} "
        f"({zones / same_zones_old:.0%} of that).",
        "",
        "| region feed | bytes | VEVENTs | VTIMEZONE bytes | zone share |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, (total, count, zone_bytes) in regions.items():
        lines.append(f"| {name} | {total:,} | {count} | {zone_bytes:,} | {zone_bytes / total:.0%} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        update_markdown_section(BENCHMARKS_MD, HEADING, text)
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
