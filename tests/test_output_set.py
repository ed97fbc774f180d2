"""The output folder is replaced as one set: a kill at any point leaves the old set or the new one, never a mix."""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import icalendar
import pytest

from aggregator.store import Store
from output.files import replace_set

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
ISSUE = "2026-11-25"
SET = ("events.md", "events.ics", "events.json", "index.html")


def test_a_set_replaces_the_old_one_whole_and_drops_what_it_no_longer_has(tmp_path: Path) -> None:
    out = tmp_path / "public"
    first = replace_set(out, {"a.txt": b"1", "sub/b.txt": b"2"})
    assert all(first.values())
    assert out.is_symlink()
    second = replace_set(out, {"a.txt": b"1", "c.txt": b"3"})
    assert second == {out / "a.txt": False, out / "c.txt": True}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.txt", "c.txt"]
    assert replace_set(out, {"a.txt": b"1", "c.txt": b"3"}) == {out / "a.txt": False, out / "c.txt": False}


def test_an_old_plain_folder_becomes_a_version_and_stale_temp_files_go(tmp_path: Path) -> None:
    out = tmp_path / "public"
    out.mkdir()
    (out / "events.md").write_text("old")
    (out / ".events.md.abc123.tmp").write_text("left by a killed run")
    (tmp_path / ".public.99.link.tmp").symlink_to("nowhere")
    changed = replace_set(out, {"events.md": b"new"})
    assert changed == {out / "events.md": True}
    assert (out / "events.md").read_text() == "new"
    assert not list(tmp_path.glob(".public.*.link.tmp"))
    versions = sorted((tmp_path / ".public.versions").iterdir())
    assert len(versions) == 2  # the new set and the previous one, for readers mid-way
    assert not [p for version in versions for p in version.rglob("*.tmp")]
    replace_set(out, {"events.md": b"newer"})
    assert len(list((tmp_path / ".public.versions").iterdir())) == 2


def demo_config(folder: Path) -> Path:
    config = folder / "config.toml"
    text = (DEMO / "config.toml").read_text(encoding="utf-8")
    # Source paths are relative to the demo's folder; the copy lives elsewhere.
    text = re.sub(r'^(url|path) = "(?!https?:)', lambda m: f'{m.group(1)} = "{DEMO}/', text, flags=re.MULTILINE)
    config.write_text(text, encoding="utf-8")
    return config


def run(config: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "aggregator.cli", "run", "--quiet", "--config", str(config), "--date", ISSUE]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def check_outputs(out: Path) -> None:
    """Whatever a kill left: one complete, readable set."""
    for name in SET:
        assert (out / name).is_file(), name
    json.loads((out / "events.json").read_bytes())
    icalendar.Calendar.from_ical((out / "events.ics").read_bytes())
    assert (out / "events.md").read_text(encoding="utf-8").startswith("Rusty Events between")


def check_store(path: Path) -> int:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(path) as store:
        return len(store.current_events())


def test_sigkill_at_random_points_leaves_the_store_and_the_outputs_whole(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    out, store = tmp_path / "public", tmp_path / ".twir-events" / "store.sqlite"
    began = time.monotonic()
    first = run(config)
    assert first.wait(120) == 0, first.stderr.read() if first.stderr else ""
    took = time.monotonic() - began
    check_outputs(out)
    events = check_store(store)
    chance = random.Random(8)
    for _ in range(6):
        # Each later run rewrites the outputs (index.html and the feed stamp the time), so kills land mid-write too.
        process = run(config)
        time.sleep(chance.uniform(0.1, took))
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        check_outputs(out)
        assert check_store(store) == events
    final = run(config)
    assert final.wait(120) == 0
    check_outputs(out)
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert len(list((tmp_path / ".public.versions").iterdir())) <= 2
    assert str(out.readlink()).startswith(".public.versions/")


def test_the_store_or_cache_inside_the_output_folder_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from aggregator.cli import main

    config = demo_config(tmp_path)
    config.write_text(config.read_text() + '\n[store]\npath = "public/store.sqlite"\n')
    assert main(["run", "--config", str(config), "--date", ISSUE]) == 2
    assert "inside output.dir" in capsys.readouterr().err
