"""Smoke test of benchmarks/build_issue.py at a small size: both paths build the same block; no timing checks."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

import icalendar
import pytest

from aggregator.window import issue_window
from output.files import update_markdown_section
from output.markdown import parse_block

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "build_issue.py"
# Small enough for a few seconds; with this seed moved overrides and EXDATEs fall inside the window (checked below).
EVENTS = 80
SEED = 4


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_issue", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script()


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    workspace = tmp_path_factory.mktemp("benchmark")
    command = [sys.executable, str(SCRIPT), "--events", str(EVENTS), "--seed", str(SEED), "--repeat", "1", "--no-write"]
    done = subprocess.run(
        [*command, "--workspace", str(workspace)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    return done, workspace


def as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def test_smoke_run_exits_0_and_both_paths_build_the_same_block(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, workspace = smoke_run
    assert done.returncode == 0, done.stderr
    windowed = (workspace / "windowed.md").read_text(encoding="utf-8")
    assert windowed == (workspace / "whole-life.md").read_text(encoding="utf-8")
    figures = json.loads((workspace / "windowed.json").read_text(encoding="utf-8"))
    assert len(parse_block(windowed)) == figures["listed"] > 0
    assert "same block: yes" in done.stdout


def test_baseline_expands_far_more_occurrences_than_the_window_holds(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, workspace = smoke_run
    windowed = json.loads((workspace / "windowed.json").read_text(encoding="utf-8"))
    whole_life = json.loads((workspace / "whole-life.json").read_text(encoding="utf-8"))
    assert whole_life["raw"] > 10 * windowed["raw"]
    assert whole_life["listed"] == windowed["listed"]


def test_the_window_holds_moved_and_deleted_instances(
    smoke_run: tuple[subprocess.CompletedProcess[str], Path], script: ModuleType
) -> None:
    """Without exceptions inside the window the same-block check would prove little."""
    _, workspace = smoke_run
    window = issue_window(script.ISSUE_DATE)
    calendar = icalendar.Calendar.from_ical((workspace / "calendar.ics").read_bytes())
    events = [e for e in calendar.walk("VEVENT") if isinstance(e, icalendar.Event)]
    moved = [e for e in events if e.RECURRENCE_ID and window.start <= as_day(e.RECURRENCE_ID) <= window.end]
    deleted = [day for e in events for day in e.exdates if window.start <= as_day(day) <= window.end]
    assert moved and deleted
    assert calendar.get("X-WR-TIMEZONE") and calendar.walk("VTIMEZONE")


def test_generation_is_deterministic(script: ModuleType) -> None:
    first, stats = script.generate_calendar(40, seed=7)
    second, _ = script.generate_calendar(40, seed=7)
    other, _ = script.generate_calendar(40, seed=8)
    assert first == second != other
    assert stats.events == 40 and stats.series == 8 and stats.singles == 32


def test_update_section_replaces_its_own_section_and_keeps_the_others(script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    before, after = "# Benchmarks\n\n## Another benchmark\n\nTheirs.\n\n", "\n## Later one\n\nAlso theirs.\n"
    path.write_text(f"{before}{script.HEADING}\n\nOld figures.\n\n### Detail\n\nOld.\n{after}", encoding="utf-8")
    update_markdown_section(path, script.HEADING, f"{script.HEADING}\n\nNew figures.\n")
    assert path.read_text(encoding="utf-8") == f"{before}{script.HEADING}\n\nNew figures.\n{after}"


def test_update_section_appends_when_absent(script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## Another benchmark\n\nTheirs.\n", encoding="utf-8")
    update_markdown_section(path, script.HEADING, f"{script.HEADING}\n\nFigures.\n")
    update_markdown_section(path, script.HEADING, f"{script.HEADING}\n\nFigures again.\n")
    assert path.read_text(encoding="utf-8") == (
        f"# Benchmarks\n\n## Another benchmark\n\nTheirs.\n\n{script.HEADING}\n\nFigures again.\n"
    )
