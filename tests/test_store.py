"""The SQLite store, on real files: sync history, removal, fetch log, migrations and crash safety."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.model import Event, Mode, Place
from aggregator.records import event_to_dict
from aggregator.store import MIGRATIONS, FetchRecord, Outcome, SourceHealth, Store, StoreError, SyncStats

ROOT = Path(__file__).resolve().parents[1]
AUCKLAND = ZoneInfo("Pacific/Auckland")
T0 = datetime(2026, 8, 1, 6, tzinfo=UTC)
T1 = T0 + timedelta(hours=6)
T2 = T1 + timedelta(hours=6)
T3 = T2 + timedelta(hours=6)


def event(key: str, source: str = "a", title: str = "Rust meetup", **changes: Any) -> Event:
    base = Event(
        key=f"{source}:{key}",
        source=source,
        title=title,
        start=datetime(2026, 8, 20, 18, tzinfo=AUCKLAND),
        end=datetime(2026, 8, 20, 21, tzinfo=AUCKLAND),
        timezone="Pacific/Auckland",
        mode=Mode.IN_PERSON,
        place=Place("Auckland", "", "NZ", "Pacific/Auckland"),
        sources=(source,),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state" / "store.sqlite")


def only(store: Store, source: str = "a") -> dict[str, tuple[int, datetime | None]]:
    return {s.event.key: (s.sequence, s.removed_at) for s in store.events_of(source)}


def test_creates_file_and_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "store.sqlite"
    with Store(path) as opened:
        assert opened.current_events() == []
    assert path.is_file()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_first_sync_adds_and_keeps_times_in_utc(store: Store) -> None:
    first = event("1", start=datetime(2026, 8, 20, 18, tzinfo=AUCKLAND))
    assert store.sync_source("a", [first, event("2")], T0.astimezone(AUCKLAND)) == SyncStats(added=2)
    stored = store.current_events()
    assert [s.event for s in stored] == [first, event("2")]
    assert all(s.first_seen == s.last_seen == s.last_changed == T0 for s in stored)
    assert all(s.first_seen.utcoffset() == timedelta(0) for s in stored)
    assert all(s.sequence == 0 and s.removed_at is None and s.source == "a" for s in stored)
    assert store.count("a") == 2


def test_sequence_grows_only_on_real_content_change(store: Store) -> None:
    store.sync_source("a", [event("1")], T0)
    relisted = event("1", sources=("a", "b", "c"))
    assert store.sync_source("a", [relisted], T1) == SyncStats(unchanged=1)
    (kept,) = store.current_events()
    assert (kept.sequence, kept.last_changed, kept.last_seen) == (0, T0, T1)
    assert kept.event.sources == ("a", "b", "c")

    retitled = event("1", title="Rust meetup: async")
    assert store.sync_source("a", [retitled], T2) == SyncStats(changed=1)
    assert store.sync_source("a", [retitled], T3) == SyncStats(unchanged=1)
    (changed,) = store.current_events()
    assert changed.event == retitled
    assert (changed.sequence, changed.first_seen, changed.last_changed, changed.last_seen) == (1, T0, T2, T3)


def test_removal_is_recorded_once_and_a_return_reactivates(store: Store) -> None:
    store.sync_source("a", [event("1"), event("2")], T0)
    assert store.sync_source("a", [event("2")], T1) == SyncStats(removed=1, unchanged=1)
    assert store.sync_source("a", [event("2")], T2) == SyncStats(unchanged=1)
    assert only(store) == {"a:1": (0, T1), "a:2": (0, None)}
    assert [s.event.key for s in store.current_events()] == ["a:2"]
    assert [s.event.key for s in store.removed_since(T1)] == ["a:1"]
    assert store.removed_since(T1 + timedelta(microseconds=1)) == []
    assert store.count("a") == 1

    assert store.sync_source("a", [event("1"), event("2")], T3) == SyncStats(added=1, unchanged=1)
    back = next(s for s in store.current_events() if s.event.key == "a:1")
    assert (back.sequence, back.removed_at, back.first_seen, back.last_changed) == (1, None, T0, T3)


def test_syncing_one_source_never_touches_another(store: Store) -> None:
    store.sync_source("a", [event("1")], T0)
    store.sync_source("b", [event("1", source="b"), event("2", source="b")], T0)
    before = store.events_of("b")
    assert store.sync_source("a", [], T1) == SyncStats(removed=1)
    store.sync_source("a", [event("1", title="New")], T2)
    assert store.events_of("b") == before
    assert [s.event.key for s in store.current_events(["b"])] == ["b:1", "b:2"]
    assert [s.event.key for s in store.current_events({"a", "b"})] == ["a:1", "b:1", "b:2"]
    assert store.current_events([]) == []


def test_a_key_of_another_source_is_refused_and_nothing_is_written(store: Store) -> None:
    store.sync_source("a", [event("1")], T0)
    store.sync_source("b", [event("9", source="b")], T0)
    stolen = dataclasses.replace(event("1", source="b"), key="a:1")
    with pytest.raises(StoreError, match=r"source 'b': event key 'a:1' already belongs to source 'a'"):
        store.sync_source("b", [event("2", source="b"), stolen], T1)
    assert only(store, "b") == {"b:9": (0, None)}
    assert only(store, "a") == {"a:1": (0, None)}


def test_a_key_listed_twice_keeps_the_first(store: Store) -> None:
    assert store.sync_source("a", [event("1"), event("1", title="Second")], T0) == SyncStats(added=1)
    assert [s.event.title for s in store.current_events()] == ["Rust meetup"]


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="has no zone"):
        store.sync_source("a", [event("1")], datetime(2026, 8, 1, 6))


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with Store(path) as first:
        first.sync_source("a", [event("1"), event("2", start=date(2026, 9, 1), end=date(2026, 9, 3))], T0)
        first.sync_source("a", [event("2", start=date(2026, 9, 1), end=date(2026, 9, 4))], T1)
        saved = first.events_of("a")
    with Store(path) as second:
        assert second.events_of("a") == saved
    assert [(s.sequence, s.removed_at) for s in saved] == [(0, T1), (1, None)]


def fetch(source: str, started: datetime, outcome: Outcome = "ok", error: str = "", events: int = 3) -> FetchRecord:
    return FetchRecord(source, started, outcome, 200 if outcome == "ok" else None, 1000, 0.5, events, error)


def test_fetch_log_health(store: Store) -> None:
    store.record_fetch(fetch("zeta", T0))
    store.record_fetch(fetch("alpha", T0))
    store.record_fetch(fetch("alpha", T1, "failed", "HTTP 503"))
    store.record_fetch(fetch("alpha", T2, "suspect", "0 events, had 3", events=0))
    store.record_fetch(fetch("zeta", T1, "failed", "timeout"))
    store.record_fetch(fetch("zeta", T2))
    store.record_fetch(fetch("never", T2, "failed", "DNS"))
    now = T3

    assert store.last_success("alpha") == T0
    assert store.last_success("zeta") == T2
    assert store.last_success("never") is None
    assert store.last_success("unknown") is None
    assert store.source_health(now) == [
        SourceHealth("alpha", T0, "0 events, had 3", T2, "suspect", 0, 1000, 0.5, (now - T0).total_seconds()),
        SourceHealth("never", None, "DNS", T2, "failed", 3, 1000, 0.5, None),
        SourceHealth("zeta", T2, "timeout", T1, "ok", 3, 1000, 0.5, (now - T2).total_seconds()),
    ]


def test_fetches_recorded_out_of_order_are_ranked_by_start(store: Store) -> None:
    store.record_fetch(fetch("a", T2, "failed", "late"))
    store.record_fetch(fetch("a", T1))
    (health,) = store.source_health(T3)
    assert (health.last_outcome, health.last_success, health.last_error) == ("failed", T1, "late")


def test_unknown_fetch_outcome_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="outcome 'meh' is not one of ok, failed, suspect"):
        store.record_fetch(fetch("a", T0, "meh"))  # type: ignore[arg-type]
    assert store.source_health(T1) == []


def _add_note_column(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE events ADD COLUMN note TEXT NOT NULL DEFAULT 'migrated'")


def test_a_v1_file_is_migrated_by_newer_code(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with Store(path) as old:
        old.sync_source("a", [event("1")], T0)
        saved = old.events_of("a")
    with Store(path, migrations=(*MIGRATIONS, _add_note_column)) as new:
        assert new.events_of("a") == saved
        assert new.sync_source("a", [event("1"), event("2")], T1) == SyncStats(added=1, unchanged=1)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert db.execute("SELECT key, note FROM events ORDER BY key").fetchall() == [
            ("a:1", "migrated"),
            ("a:2", "migrated"),
        ]


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with Store(path) as old:
        old.sync_source("a", [event("1")], T0)

    def broken(db: sqlite3.Connection) -> None:
        _add_note_column(db)
        db.execute("ALTER TABLE nowhere ADD COLUMN x TEXT")

    with pytest.raises(StoreError, match="no such table: nowhere"):
        Store(path, migrations=(*MIGRATIONS, broken))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert "note" not in [row[1] for row in db.execute("PRAGMA table_info(events)")]
    with Store(path) as reopened:
        assert only(reopened) == {"a:1": (0, None)}


def test_a_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match=f"schema version {len(MIGRATIONS) + 1} was written by a newer twir-events"):
        Store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"this is a text file, not SQLite\n" * 100)
    with pytest.raises(StoreError, match=r"store .*store\.sqlite: file is not a database"):
        Store(path)


def test_a_corrupt_row_names_its_key(store: Store) -> None:
    store.sync_source("a", [event("1")], T0)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE events SET data = json_set(data, '$.mode', 'teleport')")
    with pytest.raises(StoreError, match=r"row 'a:1' of source 'a': event 'a:1': field 'mode': unknown mode"):
        store.current_events()


# Runs in a child process: a sync that rewrites every event, then blocks before COMMIT until killed.
KILLED_WRITER = textwrap.dedent(
    """
    import dataclasses, sys
    from collections.abc import Sequence
    from datetime import UTC, datetime
    from pathlib import Path
    from aggregator.store import Store

    class Blocking(Sequence):
        def __init__(self, events):
            self.events = events
        def __len__(self):
            return len(self.events) + 1
        def __getitem__(self, index):
            if index == len(self.events):
                print("writing", flush=True)
                sys.stdin.read()
            return self.events[index]

    store = Store(Path(sys.argv[1]))
    events = [dataclasses.replace(s.event, title="Rewritten", description="x" * 2000) for s in store.events_of("a")]
    more = [dataclasses.replace(events[0], key=f"a:new{n}", description="y" * 2000) for n in range(2000)]
    store.sync_source("a", Blocking(events + more), datetime(2026, 9, 1, tzinfo=UTC))
    """
)


def test_a_writer_killed_mid_sync_leaves_the_previous_state(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        store.sync_source("a", [event(str(n)) for n in range(50)], T0)
        store.sync_source("b", [event("1", source="b")], T0)
        before = store.events_of("a") + store.events_of("b")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        # The child holds the write lock with 2050 rows written, enough to spill pages into the WAL.
        assert path.with_name("store.sqlite-wal").stat().st_size > 1_000_000
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with Store(path) as after:
        assert after.events_of("a") + after.events_of("b") == before
        assert after.sync_source("a", [event("1")], T1) == SyncStats(removed=49, unchanged=1)


def on(day: date, key: str, source: str = "a") -> Event:
    start = datetime(day.year, day.month, day.day, 18, tzinfo=AUCKLAND)
    return event(key, source, start=start, end=start + timedelta(hours=3))


def test_a_run_reads_only_the_days_it_needs(store: Store) -> None:
    old, inside, late, later = date(2023, 3, 1), date(2026, 8, 20), date(2026, 12, 1), date(2027, 6, 1)
    store.sync_source("a", [on(old, "old"), on(inside, "in"), on(late, "late"), on(later, "gone")], T0)
    store.sync_source("a", [on(old, "old"), on(inside, "in"), on(late, "late")], T1)
    store.sync_source("b", [on(inside, "other")], T1)
    found = {s.event.key: s.removed_at for s in store.events_in(["a"], date(2026, 8, 1), date(2026, 9, 30))}
    # Not the old or late current ones; the removed one after the span still is, as it may be published as cancelled.
    assert found == {"a:in": None, "a:gone": T1}
    assert store.upcoming("a", date(2026, 8, 21)) == 1
    assert store.upcoming("a", date(2026, 8, 20)) == 2


def test_a_v2_file_gets_day_columns_from_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    rows = [(e.key, json.dumps(event_to_dict(e))) for e in (on(date(2026, 8, 20), "in"), on(date(2025, 1, 1), "old"))]
    with Store(path, migrations=MIGRATIONS[:2]) as v2, v2._transaction() as db:
        db.executemany(
            """INSERT INTO events (key, source, data, hash, first_seen, last_seen, last_changed)
                VALUES (?, 'a', ?, '', '2026-08-01T06:00:00.000000+00:00', '2026-08-01T06:00:00.000000+00:00',
                    '2026-08-01T06:00:00.000000+00:00')""",
            [*rows, ("a:x", '{"broken": true}')],
        )
    with Store(path) as migrated:
        # A row that does not decode is kept in every span, so reading it still reports it.
        with pytest.raises(StoreError, match="a:x"):
            migrated.events_in(["a"], date(2026, 8, 1), date(2026, 8, 31))
        with migrated._transaction() as db:
            db.execute("DELETE FROM events WHERE key = 'a:x'")
        assert [s.event.key for s in migrated.events_in(["a"], date(2026, 8, 1), date(2026, 8, 31))] == ["a:in"]


def test_pruning_the_fetch_log_keeps_what_status_reads(store: Store) -> None:
    outcomes: list[Outcome] = ["ok", "ok", "failed", "ok", "suspect", "ok", "failed", "ok"]
    for day, outcome in enumerate(outcomes):
        for source in ("a", "b"):
            store.record_fetch(FetchRecord(source, T0 + timedelta(days=30 * day), outcome, 200, 10, 0.1, 1))
    store.record_fetch(FetchRecord("gone", T0, "failed", None, 0, 0.1, 0, "dns"))
    now = T0 + timedelta(days=400)
    health = store.source_health(now)
    # Of the seven older rows per source, the latest failure and the latest suspect fetch stay.
    assert store.prune_fetches(T0 + timedelta(days=200)) == 2 * 5
    assert store.source_health(now) == health
    assert store.last_success("a") == T0 + timedelta(days=210)
    assert store.prune_fetches(T0 + timedelta(days=200)) == 0


def test_a_failed_batch_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with Store(path) as first:
        first.sync_source("a", [event("1")], T0)
    with Store(path) as second, pytest.raises(RuntimeError), second.batch():
        second.sync_source("a", [event("2"), event("3")], T1)
        second.record_fetch(fetch("a", T1))
        assert {s.event.key for s in second.current_events()} == {"a:2", "a:3"}
        raise RuntimeError("the render failed")
    with Store(path) as third:
        assert {s.event.key for s in third.current_events()} == {"a:1"}
        assert third.source_health(T2) == []


def test_a_failed_step_inside_a_batch_is_undone_alone(store: Store) -> None:
    with store.batch():
        store.sync_source("a", [event("1")], T0)
        with pytest.raises(StoreError):
            store.sync_source("b", [event("2", source="b"), dataclasses.replace(event("x", source="b"), key="a:1")], T0)
    assert [s.event.key for s in store.current_events()] == ["a:1"]
