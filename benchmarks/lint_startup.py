"""Lint start-up: `twir-events lint DRAFT.md` end to end, against `python -c pass`, in the same run.

Each round runs the bare interpreter and then the linter as separate processes, so both see the same load.
The first lint after the place index is gone (a fresh cache folder) is timed apart: that is the one-off build.
Usage: python benchmarks/lint_startup.py [--rounds N] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import installed_env  # noqa: E402

from output.files import update_markdown_section  # noqa: E402

BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADING = "## Lint start-up (benchmarks/lint_startup.py)"
DRAFT = ROOT / "tests" / "fixtures" / "drafts" / "current-2026.md"
TARGET_SECONDS = 0.5


def timed(command: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return elapsed


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def measure(rounds: int, folder: Path) -> dict[str, object]:
    config = folder / "config.toml"
    config.write_text("", encoding="utf-8")
    env = installed_env(TWIR_EVENTS_CACHE=str(folder / "cache"))
    script = Path(sys.executable).with_name("twir-events")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "aggregator.cli"]
    lint = [*program, "lint", str(DRAFT), "--config", str(config)]
    first = timed(lint, env)
    bare, linted = [], []
    for _ in range(rounds):
        bare.append(timed([sys.executable, "-c", "pass"], env))
        linted.append(timed(lint, env))
    ratios = [lint_time / bare_time for bare_time, lint_time in zip(bare, linted, strict=True)]
    return {"first": first, "bare": bare, "lint": linted, "ratios": ratios}


def section(report: dict[str, object], rounds: int, today: date) -> str:
    bare, linted, ratios = report["bare"], report["lint"], report["ratios"]
    assert isinstance(bare, list) and isinstance(linted, list) and isinstance(ratios, list)
    first = report["first"]
    assert isinstance(first, float)
    verdict = "met" if statistics.median(linted) < TARGET_SECONDS else "NOT met"
    return (
        f"{HEADING}\n\n"
        f"Measured {today.isoformat()} on this 2-core machine (shared, so figures are ranges), {rounds} paired "
        f"rounds, draft `{DRAFT.relative_to(ROOT)}` ({len(DRAFT.read_text(encoding='utf-8').splitlines())} "
        "lines), no store (the draft alone is checked).\n\n"
        "| what | median (min, max) |\n| --- | --- |\n"
        f"| `python -c pass` | {spread(bare)} |\n"
        f"| `twir-events lint DRAFT.md` | {spread(linted)} |\n"
        f"| ratio lint / bare interpreter, per round | {statistics.median(ratios):.1f}x "
        f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x) |\n"
        f"| first lint, place index built into an empty cache | {first:.3f} s (one run) |\n\n"
        f"Target: one draft under {TARGET_SECONDS} s end to end: {verdict} (median).\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="paired runs (default 15)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        report = measure(args.rounds, Path(folder))
    text = section(report, args.rounds, date.today())
    print(text)
    if not args.no_write:
        update_markdown_section(BENCHMARKS_MD, HEADING, text)
        print(f"updated {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
