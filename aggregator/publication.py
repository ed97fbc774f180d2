"""What the feeds publish: one UID per event for good, SEQUENCE on every change, CANCELLED where it left.

The UID follows the event's identity (aggregator.identity), so moves, new titles, new places and a renamed
config entry keep it. An event whose identity is new but which the merge would call the same as one that
vanished since the last run (another source now wins the merge, or the source changed how it names
events) keeps the vanished event's UID: an event keeps the UID it was first published with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import count

from aggregator.grouping import sections_of
from aggregator.merge import compare
from aggregator.model import Event
from aggregator.records import content_hash, event_from_dict, event_to_dict
from aggregator.regions import REGIONS

# Past events stay in the state this long after the span's start, so rendering an earlier or later issue date
# (`render --date`, `diff`) cannot drop the UID and SEQUENCE of events the next regular run lists again.
KEEP_PAST = timedelta(days=90)
MAIN = ""  # the feed of all events, in `Published.feeds`; the region feeds go by their section names


@dataclass(frozen=True)
class Published:
    """One UID's state: the event as last published, where it is live and where it is published cancelled."""

    uid: str
    identities: tuple[str, ...]
    event: Event
    hash: str
    sequence: int
    modified: datetime
    feeds: tuple[str, ...]
    cancelled: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One VEVENT of one feed."""

    uid: str
    event: Event
    sequence: int
    modified: datetime
    cancelled: bool = False


@dataclass
class FeedPlan:
    """The new state to store, and each feed's entries (MAIN and every region, empty ones too)."""

    rows: list[Published]
    feeds: dict[str, list[Entry]] = field(default_factory=dict)


def uid_for(identity: str, taken: Collection[str] = ()) -> str:
    """A UID from an identity's hash, made unique against `taken` (two records once claimed one identity).

    No domain part: RFC 7986 no longer recommends one, and every subscriber fetches every byte on every refresh.
    """
    for attempt in count():
        basis = identity if attempt == 0 else f"{identity}#{attempt}"
        candidate = hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: count() never ends")


def identity_of(event: Event) -> str:
    """The event's identity; records stored before identities existed fall back to their key."""
    return event.identity or f"key:{event.key}"


def plan(previous: Sequence[Published], events: Sequence[Event], span: tuple[date, date], now: datetime) -> FeedPlan:
    """Assign UIDs, bump SEQUENCE where content or feeds changed, cancel what vanished inside the span."""
    by_identity = {identity: row for row in previous for identity in row.identities}
    by_uid = {row.uid: row for row in previous}
    claimed: dict[str, Event] = {}
    pending: list[Event] = []
    for event in sorted(events, key=lambda e: (e.first_day, e.key)):
        row = by_identity.get(identity_of(event))
        if row is not None and row.uid not in claimed:
            claimed[row.uid] = event
        else:
            pending.append(event)
    # Vanished events by day, so that finding an heir costs a few comparisons, not one per published event.
    orphans: dict[date, dict[str, Published]] = {}
    for row in previous:
        if row.uid not in claimed and MAIN in row.feeds:
            for day in _days(row.event):
                orphans.setdefault(day, {})[row.uid] = row
    taken = set(by_uid) | set(claimed)
    for event in pending:
        candidates = {uid: row for day in _days(event) for uid, row in orphans.get(day, {}).items()}
        heir = next((row for row in candidates.values() if row.uid not in claimed and _same(row.event, event)), None)
        uid = heir.uid if heir is not None else uid_for(identity_of(event), taken)
        claimed[uid] = event
        taken.add(uid)

    rows = [_listed(by_uid.get(uid), uid, event, now) for uid, event in claimed.items()]
    for row in previous:
        if row.uid in claimed or row.event.last_day < span[0] - KEEP_PAST:
            continue  # listed again, or long over: past events leave the state for good
        if MAIN in row.feeds and _overlaps(row.event, span):
            row = replace(
                row, sequence=row.sequence + 1, modified=now, feeds=(), cancelled=_union(row.cancelled, row.feeds)
            )
        rows.append(row)
    rows.sort(key=lambda row: row.uid)
    return FeedPlan(rows, _feeds(rows, span))


def _listed(old: Published | None, uid: str, event: Event, now: datetime) -> Published:
    digest = content_hash(event)
    feeds = (MAIN, *(section for section in sections_of(event) if section in REGIONS))
    if old is None:
        return Published(uid, (identity_of(event),), event, digest, 0, now, feeds)
    changed = old.hash != digest or old.feeds != feeds
    left = tuple(name for name in _union(old.cancelled, old.feeds) if name not in feeds)
    return Published(
        uid=uid,
        identities=_union(old.identities, (identity_of(event),)),
        event=event,
        hash=digest,
        sequence=old.sequence + 1 if changed else old.sequence,
        modified=now if changed else old.modified,
        feeds=feeds,
        cancelled=left,
    )


def _feeds(rows: Sequence[Published], span: tuple[date, date]) -> dict[str, list[Entry]]:
    feeds: dict[str, list[Entry]] = {name: [] for name in (MAIN, *REGIONS)}
    for row in rows:
        if not _overlaps(row.event, span):
            continue
        for name, cancelled in [*((name, False) for name in row.feeds), *((name, True) for name in row.cancelled)]:
            feeds[name].append(Entry(row.uid, row.event, row.sequence, row.modified, cancelled))
    for entries in feeds.values():
        entries.sort(key=lambda entry: (entry.event.first_day, entry.uid))
    return feeds


def _days(event: Event) -> list[date]:
    """The days an event covers, at most a month of them (the merge never matches longer spans)."""
    length = min((event.last_day - event.first_day).days, 31)
    return [event.first_day + timedelta(days=offset) for offset in range(length + 1)]


def _overlaps(event: Event, span: tuple[date, date]) -> bool:
    return event.first_day <= span[1] and event.last_day >= span[0]


def _same(old: Event, new: Event) -> bool:
    return old.first_day <= new.last_day and new.first_day <= old.last_day and compare(old, new)[0] == "same"


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def to_json(row: Published) -> str:
    """The row as the store keeps it."""
    return json.dumps(
        {
            "uid": row.uid,
            "identities": list(row.identities),
            "event": event_to_dict(row.event),
            "hash": row.hash,
            "sequence": row.sequence,
            "modified": row.modified.isoformat(),
            "feeds": list(row.feeds),
            "cancelled": list(row.cancelled),
        },
        sort_keys=True,
        allow_nan=False,
    )


def from_json(text: str) -> Published:
    """A stored row; raises ValueError naming what is wrong."""
    data = json.loads(text)
    if not isinstance(data, Mapping):
        raise ValueError("published row is not an object")
    try:
        return Published(
            uid=str(data["uid"]),
            identities=tuple(str(item) for item in data["identities"]),
            event=event_from_dict(data["event"]),
            hash=str(data["hash"]),
            sequence=int(data["sequence"]),
            modified=datetime.fromisoformat(str(data["modified"])),
            feeds=tuple(str(item) for item in data["feeds"]),
            cancelled=tuple(str(item) for item in data["cancelled"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"published row {data.get('uid', '?')!r}: missing or bad field {exc}") from None
