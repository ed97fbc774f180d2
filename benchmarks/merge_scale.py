"""Benchmark: merging 1,000 against 10,000 events in one four-week window, 20,000 for memory, 100,000 to finish.

Each size runs `aggregator.merge.merge` in its own process on generated events (meetup groups in cities, a calendar
and meetup pages listing the same events in two spellings). Groups, cities and talk topics grow with the size, so ten
times the events is ten times the organizers, places and topics at the same number of events per each and day. From the
repo root: `python benchmarks/merge_scale.py [--repeat N] [--no-write]`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from measure import arguments, installed_env, load_average, machine, publish, self_peak_kib

from aggregator.merge import BLOCK_ALL_PAIRS, merge
from aggregator.model import Event, Mode, Place

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Merge against the number of events (benchmarks/merge_scale.py)"
WINDOW_START = date(2026, 11, 25)
DAYS = 28
SEED = 12
REPEAT = 3
SCALED = (1_000, 10_000)
MEMORY_SIZE = 20_000
LARGEST = 100_000
TIME_TARGET, MEMORY_TARGET_MIB = 12.0, 1024
CITIES = (
    Place("Berlin", "", "DE", "Europe/Berlin", 52.52, 13.40),
    Place("Paris", "", "FR", "Europe/Paris", 48.86, 2.35),
    Place("London", "", "GB", "Europe/London", 51.51, -0.13),
    Place("Seattle", "WA", "US", "America/Los_Angeles", 47.61, -122.33),
    Place("Toronto", "ON", "CA", "America/Toronto", 43.65, -79.38),
    Place("Tokyo", "", "JP", "Asia/Tokyo", 35.68, 139.69),
    Place("Sydney", "NSW", "AU", "Australia/Sydney", -33.87, 151.21),
    Place("São Paulo", "", "BR", "America/Sao_Paulo", -23.55, -46.63),
)
# One group, one city and one talk topic per so many events: each sees the same number of events at every size.
EVENTS_PER_CITY = 125
EVENTS_PER_GROUP = 40
EVENTS_PER_TOPIC = 100
SYLLABLES = ("ka", "lo", "mi", "ren", "sa", "tu", "vel", "do", "bri", "nor")
TOPICS = ("async", "embedded", "WebAssembly", "game dev", "compilers", "Bevy", "Tokio", "unsafe", "macros", "CLI tools")
KINDS = ("Meetup", "Workshop", "Hack Night", "Talk Night", "Study Group", "Social")


def cities(count: int) -> list[Place]:
    """The base cities, then made-up towns in their countries, each farther than a city's width from the others."""
    found = list(CITIES)
    for number in range(len(CITIES), count // EVENTS_PER_CITY):
        base = CITIES[number % len(CITIES)]
        copy = number // len(CITIES)
        towards_equator = -1 if base.latitude > 0 else 1
        found.append(
            replace(
                base,
                city=made_up(copy).capitalize(),
                latitude=base.latitude + towards_equator * 0.6 * (copy % 20),
                longitude=base.longitude + 1.0 * (copy // 20),
            )
        )
    return found


def topics(count: int) -> list[str]:
    """The base topics, then made-up crates: more groups give talks on more things."""
    extra = count // EVENTS_PER_TOPIC - len(TOPICS)
    return [*TOPICS, *(f"{made_up(number)}-rs" for number in range(1, extra + 1))]


def made_up(number: int) -> str:
    """A distinct made-up word for each number."""
    return "".join(SYLLABLES[int(digit)] for digit in str(number))


def generate(count: int, seed: int = SEED) -> list[Event]:
    """`count` events in the window: about one in five also listed by the calendar under another spelling."""
    rng = random.Random(seed)
    places, subjects = cities(count), topics(count)
    groups = max(10, count // EVENTS_PER_GROUP)
    events: list[Event] = []
    while len(events) < count:
        number = len(events)
        group = rng.randrange(groups)
        place = places[group % len(places)]
        day = WINDOW_START + timedelta(days=rng.randrange(DAYS))
        hour = rng.choice((10, 14, 18, 19))
        start = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(place.timezone))
        slug = f"rust-{place.city.lower().replace(' ', '-')}-{group}"
        title = f"Rust {place.city} {rng.choice(KINDS)} #{number}: {rng.choice(subjects)}"
        url = f"https://www.meetup.com/{slug}/events/{310000000 + number}/"
        common = {
            "start": start,
            "end": start + timedelta(hours=2),
            "timezone": place.timezone,
            "mode": Mode.IN_PERSON,
            "place": place,
            "organizer": f"Rust {place.city} {group}",
            "organizer_url": f"https://www.meetup.com/{slug}/",
        }
        events.append(Event(key=f"meetup:{number}", source="meetup", title=title, url=url, **common))  # type: ignore[arg-type]
        if rng.random() < 0.2 and len(events) < count:
            # The calendar lists the same event: its link without the trailing slash, a shorter title.
            events.append(
                Event(
                    key=f"calendar:{number}",
                    source="calendar",
                    title=title.split(":")[0],
                    url=url.rstrip("/"),
                    **common,
                )  # type: ignore[arg-type]
            )
    return events


def child(size: int) -> dict[str, float]:
    """Time one merge of `size` events in this process; its peak memory above what the events themselves take."""
    events = generate(size)
    before = self_peak_kib()
    began = time.perf_counter()
    result = merge(events, lambda e: 0 if e.source == "meetup" else 1)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "peak_mib": self_peak_kib() / 1024,
        "added_mib": (self_peak_kib() - before) / 1024,
        "events": len(result.events),
        "possible": len(result.possible_duplicates),
    }


def spawn(size: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(size)],
        env=installed_env(),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"merging {size:,} events failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def section(runs: dict[int, list[dict[str, float]]], repeat: int, load: tuple[float, float]) -> str:
    small, large = (sorted(r["seconds"] for r in runs[size]) for size in SCALED)
    median_small, median_large = small[len(small) // 2], large[len(large) // 2]
    ratio = median_large / median_small
    pairs = [b["seconds"] / a["seconds"] for a, b in zip(runs[SCALED[0]], runs[SCALED[1]], strict=True)]
    memory = runs[MEMORY_SIZE][0]
    largest = runs[LARGEST][0]
    lines = [
        HEADING,
        "",
        f"{machine(load)}, with",
        "",
        "    python benchmarks/merge_scale.py" + (f" --repeat {repeat}" if repeat != REPEAT else ""),
        "",
        f"Generated events (seed {SEED}) in one {DAYS}-day window: one meetup group per {EVENTS_PER_GROUP} events, "
        f"one city per {EVENTS_PER_CITY} events ({len(CITIES)} real cities, then made-up towns in their countries) "
        f"and one talk topic per {EVENTS_PER_TOPIC} events ({len(TOPICS)} real ones, then made-up crates), so ten "
        "times the events is ten times the organizers, places and topics at the same number of events per group, "
        "city, topic and day. (An earlier version kept 8 cities and 10 topics at every size: at 10,000 events each "
        "city and topic was ten times as crowded, so the merge had more genuine candidates to weigh per event, "
        "which is not what scaling to more events means.) The kinds of event (Meetup, Workshop, ...) stay shared "
        "at every size, so the calendar's short titles (`Rust Berlin Meetup #12`) still fill blocks that the merge "
        f"cuts to near neighbours past {BLOCK_ALL_PAIRS} members. A fifth of the events are also listed by a "
        "calendar with another spelling of the link and that shorter title. Each merge runs in its own process "
        "(the sizes taking turns); the time is the `merge` call "
        "alone, the memory the process's peak RSS (interpreter, libraries and the events included) and how much "
        "the merge added to it.",
        "",
        "| events | runs | median s | runs min - max s | peak RSS MiB | added by merge MiB | records after merge |",
        "|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size, found in runs.items():
        times = sorted(r["seconds"] for r in found)
        lines.append(
            f"| {size:,} | {len(found)} | {times[len(times) // 2]:.2f} | {times[0]:.2f} - {times[-1]:.2f} "
            f"| {max(r['peak_mib'] for r in found):.0f} | {max(r['added_mib'] for r in found):.0f} "
            f"| {int(found[0]['events']):,} |"
        )
    lines += [
        "",
        f"**{SCALED[1]:,} events against {SCALED[0]:,}: {ratio:.1f}x the time** (paired runs {min(pairs):.1f}x - "
        f"{max(pairs):.1f}x; target at most {TIME_TARGET:.0f}x, {'met' if ratio <= TIME_TARGET else '**not met**'}). "
        f"**{MEMORY_SIZE:,} events: peak {memory['peak_mib']:.0f} MiB** (target under {MEMORY_TARGET_MIB} MiB, "
        f"{'met' if memory['peak_mib'] < MEMORY_TARGET_MIB else '**not met**'}). "
        f"**{LARGEST:,} events finish in {largest['seconds']:.1f} s** (peak {largest['peak_mib']:.0f} MiB).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments(__doc__, REPEAT, "the scaled sizes")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    before = load_average()
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in (*SCALED, MEMORY_SIZE, LARGEST)}
    for repetition in range(args.repeat):
        for size in SCALED:
            print(f"run {repetition + 1} of {args.repeat}: {size:,} events ...", flush=True)
            runs[size].append(spawn(size))
    for size in (MEMORY_SIZE, LARGEST):
        print(f"{size:,} events ...", flush=True)
        runs[size].append(spawn(size))
    publish(HEADING, section(runs, args.repeat, (before, load_average())), not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
