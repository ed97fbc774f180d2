"""The embedded SQLite store: every event each source listed, and every fetch.

A source that failed or looks suspect is simply not synced, so its events stay current as last seen;
its fetch is still recorded with `record_fetch`. The caller passes every time in (the store never reads
the clock); times are stored as ISO-8601 UTC text, which sorts chronologically.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, get_args

from aggregator import publication
from aggregator.model import Event
from aggregator.publication import Published
from aggregator.records import content_hash, event_from_dict, event_to_dict

# Another run holding the write lock (an overlapping cron job) is waited for this long.
BUSY_SECONDS = 60.0

Outcome = Literal["ok", "failed", "suspect"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

Migration = Callable[[sqlite3.Connection], None]


def _schema_1(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE events (
            key TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            data TEXT NOT NULL,
            hash TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_changed TEXT NOT NULL,
            sequence INTEGER NOT NULL DEFAULT 0,
            removed_at TEXT
        )"""
    )
    db.execute("CREATE INDEX events_by_source ON events (source)")
    db.execute(
        """CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'suspect')),
            status INTEGER,
            bytes INTEGER NOT NULL,
            duration REAL NOT NULL,
            events INTEGER NOT NULL,
            error TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX fetches_by_source ON fetches (source, started)")


def _schema_2(db: sqlite3.Connection) -> None:
    # What the feed last published per event: SEQUENCE and LAST-MODIFIED follow the merged, curated event.
    db.execute(
        """CREATE TABLE published (
            key TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            sequence INTEGER NOT NULL DEFAULT 0,
            last_changed TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE issues (
            issue_date TEXT PRIMARY KEY,
            events TEXT NOT NULL,
            rendered_at TEXT NOT NULL
        )"""
    )


def _schema_3(db: sqlite3.Connection) -> None:
    # Each event's local days, so a run reads only the rows of its span however old the store grows.
    db.execute("ALTER TABLE events ADD COLUMN first_day TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE events ADD COLUMN last_day TEXT NOT NULL DEFAULT ''")
    rows = db.execute("SELECT key, data FROM events").fetchall()
    db.executemany(
        "UPDATE events SET first_day = ?, last_day = ? WHERE key = ?", [(*_days(data), key) for key, data in rows]
    )
    db.execute("CREATE INDEX events_by_last_day ON events (last_day)")
    # A source's last success and last failure, found without scanning its whole fetch history.
    db.execute("CREATE INDEX fetches_by_outcome ON fetches (source, outcome, started)")


def _schema_4(db: sqlite3.Connection) -> None:
    # The feeds' state per UID (aggregator.publication). The per-key table it replaces seeds it, so events
    # published before identities existed keep their UIDs (the old UID was the hash of the key).
    db.execute("CREATE TABLE feed (uid TEXT PRIMARY KEY, data TEXT NOT NULL)")
    rows = db.execute(
        "SELECT p.key, p.hash, p.sequence, p.last_changed, e.data FROM published AS p JOIN events AS e ON e.key = p.key"
    ).fetchall()
    for key, digest, sequence, changed, data in rows:
        try:
            event = event_from_dict(json.loads(data))
        except ValueError:
            continue  # an unreadable old row only loses its UID's continuity
        legacy = f"{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}@twir-events"
        row = Published(legacy, (f"key:{key}",), event, digest, sequence, datetime.fromisoformat(changed), ("",))
        db.execute("INSERT OR IGNORE INTO feed VALUES (?, ?)", (row.uid, publication.to_json(row)))
    db.execute("DROP TABLE published")


# Step n brings a file from schema version n-1 to n; a new schema is one more function appended here.
MIGRATIONS: tuple[Migration, ...] = (_schema_1, _schema_2, _schema_3, _schema_4)

_EVENT_COLUMNS = "key, source, data, first_seen, last_seen, last_changed, sequence, removed_at"


class StoreError(Exception):
    """The store cannot be used: not a database, from a newer twir-events, or holding a bad row."""


@dataclass(frozen=True)
class SyncStats:
    """What one sync did; an event back after removal counts as added."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """An event with its history: `sequence` grows by one per content change or return after removal."""

    event: Event
    source: str
    first_seen: datetime
    last_seen: datetime
    last_changed: datetime
    sequence: int
    removed_at: datetime | None


@dataclass(frozen=True)
class FetchRecord:
    """One fetch of one source."""

    source: str
    started: datetime
    outcome: Outcome
    status: int | None
    bytes: int
    duration: float
    events: int
    error: str = ""


@dataclass(frozen=True)
class SourceHealth:
    """A source's latest fetch, its last success and its last failure; `age_seconds` is the time since that success."""

    name: str
    last_success: datetime | None
    last_error: str
    last_error_at: datetime | None
    last_outcome: str
    events: int
    bytes: int
    duration: float
    age_seconds: float | None


class Store:
    """The store file at `path`, created (with its folder) on first use and migrated to the newest schema."""

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS, _new: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() and not _new:
            _create(path, migrations)
        elif path.is_file() and path.stat().st_size == 0:
            # A new store is created whole (below), so an empty file is a damaged one: starting afresh
            # would silently forget every event and fetch.
            raise StoreError(
                f"store {path} is empty (0 bytes), so it was truncated or damaged: "
                "restore it from a backup, or delete it to start afresh"
            )
        # Autocommit mode: every transaction is opened explicitly by `_transaction`.
        self._db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._migrate(migrations)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"store {path}: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def sync_source(
        self, source: str, events: Sequence[Event], now: datetime, covered: tuple[date, date] | None = None
    ) -> SyncStats:
        """Make `events` the source's current events, all in one transaction.

        Only events overlapping `covered` (the days the fetch could see) are removed when missing: a
        meetup's past events drop off its page but still happened. A key listed twice keeps its first
        event. A key of another source raises StoreError and writes nothing.
        """
        stamp = _stamp(now)
        added = changed = unchanged = 0
        with self._transaction() as db:
            known: dict[str, tuple[str, str | None]] = {
                key: (digest, removed_at)
                for key, digest, removed_at in db.execute(
                    "SELECT key, hash, removed_at FROM events WHERE source = ?", (source,)
                )
            }
            seen: set[str] = set()
            for event in events:
                if event.key in seen:
                    continue
                seen.add(event.key)
                data = json.dumps(event_to_dict(event), sort_keys=True, allow_nan=False)
                digest = content_hash(event)
                if event.key not in known:
                    self._insert(db, source, event, data, digest, stamp)
                    added += 1
                    continue
                old_digest, removed_at = known[event.key]
                if removed_at is None and old_digest == digest:
                    # Stored anyway: `sources` may differ without being a change.
                    db.execute("UPDATE events SET data = ?, last_seen = ? WHERE key = ?", (data, stamp, event.key))
                    unchanged += 1
                    continue
                db.execute(
                    """UPDATE events SET data = ?, hash = ?, last_seen = ?, last_changed = ?,
                        sequence = sequence + 1, removed_at = NULL, first_day = ?, last_day = ? WHERE key = ?""",
                    (data, digest, stamp, stamp, event.first_day.isoformat(), event.last_day.isoformat(), event.key),
                )
                if removed_at is None:
                    changed += 1
                else:
                    added += 1
            gone = [key for key, (_, removed_at) in known.items() if removed_at is None and key not in seen]
            if covered is not None:
                gone = [key for key in gone if self._overlaps(db, key, covered)]
            db.executemany("UPDATE events SET removed_at = ? WHERE key = ?", [(stamp, key) for key in gone])
        return SyncStats(added=added, changed=changed, removed=len(gone), unchanged=unchanged)

    def _overlaps(self, db: sqlite3.Connection, key: str, days: tuple[date, date]) -> bool:
        row = db.execute(
            "SELECT 1 FROM events WHERE key = ? AND first_day <= ? AND last_day >= ?",
            (key, days[1].isoformat(), days[0].isoformat()),
        ).fetchone()
        return row is not None

    def current_events(self, sources: Collection[str] | None = None) -> list[StoredEvent]:
        """Events not removed, of every source or only of `sources`, by key."""
        if sources is None:
            return self._events("removed_at IS NULL", ())
        names = sorted(set(sources))
        marks = ", ".join("?" * len(names))
        return self._events(f"removed_at IS NULL AND source IN ({marks})", names)

    def events_in(self, sources: Collection[str], start: date, end: date) -> list[StoredEvent]:
        """The sources' events a run over `start`..`end` needs, by key, in one indexed read: current ones
        overlapping those days, and removed ones ending on or after `start` (later ones may still be cancelled)."""
        names = sorted(set(sources))
        marks = ", ".join("?" * len(names))
        return self._events(
            f"last_day >= ? AND source IN ({marks}) AND (removed_at IS NOT NULL OR first_day <= ?)",
            (start.isoformat(), *names, end.isoformat()),
        )

    def upcoming(self, source: str, day: date) -> int:
        """How many of the source's current events end on or after `day`."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM events WHERE source = ? AND removed_at IS NULL AND last_day >= ?",
            (source, day.isoformat()),
        ).fetchone()
        return int(row[0])

    def removed_since(self, when: datetime) -> list[StoredEvent]:
        """Events removed at or after `when`, oldest removal first."""
        return self._events("removed_at >= ?", (_stamp(when),), order="removed_at, key")

    def events_of(self, source: str) -> list[StoredEvent]:
        """Every event the source ever listed, removed ones included, by key."""
        return self._events("source = ?", (source,))

    def count(self, source: str) -> int:
        """How many of the source's events are current."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM events WHERE source = ? AND removed_at IS NULL", (source,)
        ).fetchone()
        return int(row[0])

    def feed_state(self) -> list[Published]:
        """What the feeds published, one row per UID (aggregator.publication)."""
        rows = self._db.execute("SELECT uid, data FROM feed ORDER BY uid").fetchall()
        state = []
        for uid, data in rows:
            try:
                state.append(publication.from_json(data))
            except ValueError as exc:
                raise StoreError(f"store {self.path}: feed row {uid!r}: {exc}") from None
        return state

    def save_feed_state(self, rows: Sequence[Published]) -> None:
        """Replace the feeds' state with `rows`, in one transaction."""
        with self._transaction() as db:
            db.execute("DELETE FROM feed")
            db.executemany("INSERT INTO feed VALUES (?, ?)", [(row.uid, publication.to_json(row)) for row in rows])

    def save_issue(self, issue_date: date, events: Sequence[Event], now: datetime) -> None:
        """Remember the events an issue listed, so a later `diff` can compare issues."""
        data = json.dumps([event_to_dict(e) for e in events], sort_keys=True, allow_nan=False)
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO issues VALUES (?, ?, ?)", (issue_date.isoformat(), data, _stamp(now)))

    def issue(self, issue_date: date) -> list[Event] | None:
        """The events saved for an issue, or None when that issue was never built."""
        row = self._db.execute("SELECT events FROM issues WHERE issue_date = ?", (issue_date.isoformat(),)).fetchone()
        return None if row is None else [event_from_dict(item) for item in json.loads(row[0])]

    def record_fetch(self, record: FetchRecord) -> None:
        """Append one fetch to the log."""
        if record.outcome not in OUTCOMES:
            raise ValueError(
                f"store: fetch of {record.source!r}: outcome {record.outcome!r} is not one of {', '.join(OUTCOMES)}"
            )
        with self._transaction() as db:
            db.execute(
                """INSERT INTO fetches (source, started, outcome, status, bytes, duration, events, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    record.source,
                    _stamp(record.started),
                    record.outcome,
                    record.status,
                    record.bytes,
                    record.duration,
                    record.events,
                    record.error,
                ),
            )

    def prune_fetches(self, before: datetime) -> int:
        """Forget fetches started before `before`, except each source's latest of every outcome (all that
        `source_health` and `last_success` read); how many were forgotten."""
        with self._transaction() as db:
            cursor = db.execute(
                """DELETE FROM fetches WHERE started < ? AND id NOT IN (
                    SELECT id FROM (
                        SELECT id, ROW_NUMBER() OVER (
                            PARTITION BY source, outcome ORDER BY started DESC, id DESC) AS newest
                        FROM fetches)
                    WHERE newest = 1)""",
                (_stamp(before),),
            )
        return cursor.rowcount

    def last_success(self, source: str) -> datetime | None:
        """When the latest fetch with outcome 'ok' of the source started."""
        row = self._db.execute(
            "SELECT MAX(started) FROM fetches WHERE source = ? AND outcome = 'ok'", (source,)
        ).fetchone()
        return _instant(row[0])

    def source_health(self, now: datetime) -> list[SourceHealth]:
        """One line per source ever fetched, by name."""
        now = _utc(now)
        rows = self._db.execute(
            # Per source, not per row: each lookup is one step down an index, however long the log grows
            # (the names too: a skip-scan from one source to the next).
            """WITH RECURSIVE names(source) AS (
                    SELECT MIN(source) FROM fetches
                    UNION ALL
                    SELECT (SELECT MIN(source) FROM fetches WHERE source > names.source)
                    FROM names WHERE names.source IS NOT NULL)
                SELECT latest.source, latest.outcome, latest.events, latest.bytes, latest.duration,
                    (SELECT MAX(started) FROM fetches WHERE source = names.source AND outcome = 'ok'),
                    failure.error, failure.started
                FROM names
                JOIN fetches AS latest ON latest.id = (
                    SELECT id FROM fetches WHERE source = names.source ORDER BY started DESC, id DESC LIMIT 1)
                LEFT JOIN fetches AS failure ON failure.id = (
                    SELECT id FROM (
                        SELECT * FROM (SELECT id, started FROM fetches WHERE source = names.source
                            AND outcome = 'failed' ORDER BY started DESC, id DESC LIMIT 1)
                        UNION ALL
                        SELECT * FROM (SELECT id, started FROM fetches WHERE source = names.source
                            AND outcome = 'suspect' ORDER BY started DESC, id DESC LIMIT 1))
                    ORDER BY started DESC, id DESC LIMIT 1)
                ORDER BY names.source"""
        ).fetchall()
        health = []
        for name, outcome, events, size, duration, success, error, error_at in rows:
            last_success = _instant(success)
            health.append(
                SourceHealth(
                    name=name,
                    last_success=last_success,
                    last_error=error or "",
                    last_error_at=_instant(error_at),
                    last_outcome=outcome,
                    events=events,
                    bytes=size,
                    duration=duration,
                    age_seconds=(now - last_success).total_seconds() if last_success else None,
                )
            )
        return health

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside is one transaction: if anything in the block fails, the store is as before it.

        A run stores its fetches and renders inside one batch, so a run that fails (a flood the merge cannot
        take, a bug) never leaves data behind that would make every later run fail the same way.
        """
        with self._transaction():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a crash before COMMIT leaves the previous state (SQLite's atomic commit)."""
        if self._db.in_transaction:
            # Inside a batch: a savepoint, so this step alone can still be undone.
            self._db.execute("SAVEPOINT step")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK TO step")
                self._db.execute("RELEASE step")
                raise
            self._db.execute("RELEASE step")
            return
        # IMMEDIATE takes the write lock up front, so an overlapping run waits instead of failing mid-way.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        newest = len(migrations)
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > newest:
                raise StoreError(
                    f"store {self.path}: schema version {version} was written by a newer twir-events "
                    f"(this one knows up to {newest}); upgrade twir-events or use another store path"
                )
            for number in range(version + 1, newest + 1):
                migrations[number - 1](db)
                db.execute(f"PRAGMA user_version = {number}")

    def _insert(self, db: sqlite3.Connection, source: str, event: Event, data: str, digest: str, stamp: str) -> None:
        key = event.key
        try:
            db.execute(
                """INSERT INTO events (key, source, data, hash, first_seen, last_seen, last_changed, sequence,
                        first_day, last_day)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
                (
                    key,
                    source,
                    data,
                    digest,
                    stamp,
                    stamp,
                    stamp,
                    event.first_day.isoformat(),
                    event.last_day.isoformat(),
                ),
            )
        except sqlite3.IntegrityError:
            owner = db.execute("SELECT source FROM events WHERE key = ?", (key,)).fetchone()[0]
            raise StoreError(
                f"store {self.path}: source {source!r}: event key {key!r} already belongs to source {owner!r}"
            ) from None

    def _events(self, where: str, parameters: Sequence[object], order: str = "key") -> list[StoredEvent]:
        rows = self._db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY {order}", parameters)
        return [self._stored(row) for row in rows]

    def _stored(self, row: tuple[str, str, str, str, str, str, int, str | None]) -> StoredEvent:
        key, source, data, first_seen, last_seen, last_changed, sequence, removed_at = row
        try:
            event = event_from_dict(json.loads(data))
        except ValueError as exc:
            raise StoreError(f"store {self.path}: row {key!r} of source {source!r}: {exc}") from None
        return StoredEvent(
            event=event,
            source=source,
            first_seen=datetime.fromisoformat(first_seen),
            last_seen=datetime.fromisoformat(last_seen),
            last_changed=datetime.fromisoformat(last_changed),
            sequence=sequence,
            removed_at=_instant(removed_at),
        )


def _days(data: str) -> tuple[str, str]:
    """A stored event's first and last day; a row that does not decode spans every day, so reading it still fails."""
    try:
        event = event_from_dict(json.loads(data))
    except ValueError:
        return date.min.isoformat(), date.max.isoformat()
    return event.first_day.isoformat(), event.last_day.isoformat()


def _create(path: Path, migrations: Sequence[Migration]) -> None:
    """A new store, built beside `path` and renamed into place: a kill never leaves a half-made file there."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.new.tmp")
    temp.unlink(missing_ok=True)
    Store(temp, migrations=migrations, _new=True).close()
    temp.replace(path)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"store: time {moment.isoformat()} has no zone; pass an aware datetime")
    return moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    """Fixed-width UTC text, so string order is time order."""
    return _utc(moment).isoformat(timespec="microseconds")


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
