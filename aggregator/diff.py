"""What changed since the previous issue: new, dropped, moved and edited events, for the editor and events.json.

Events of the two issues are matched by key, else by canonical link, else as the merge judges them the same;
a match whose printed date, place, title, link or organizer differs is a change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from aggregator.labels import where_label
from aggregator.merge import PossibleDuplicate, same_pairs
from aggregator.model import Event
from aggregator.urls import canonical_url
from aggregator.window import Window, issue_window
from output.markdown import clean_text, title_text

ISSUE_INTERVAL = timedelta(days=7)
# More passed events than this are only counted: they are expected and the editor needs no list.
PASSED_LISTED = 5

Pair = tuple[Event, Event]


class DiffError(Exception):
    """The diff cannot be made, e.g. the previous issue was never built."""


@dataclass(frozen=True)
class FieldChange:
    """One printed field of a matched event, before and after."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class EventChange:
    """A matched event whose printed fields differ."""

    before: Event
    after: Event
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Doubt:
    """Two listed events the merge kept apart but that may be one: the editor decides."""

    first: Event
    second: Event
    reason: str


@dataclass(frozen=True)
class IssueDiff:
    """Two issues compared; `added` and `removed` are split by why the event appeared or went."""

    previous_window: Window
    current_window: Window
    states: tuple[str, ...]
    new: tuple[Event, ...]
    entered: tuple[Event, ...]
    dropped: tuple[Event, ...]
    passed: tuple[Event, ...]
    changed: tuple[EventChange, ...]
    unchanged: int
    possible_duplicates: tuple[Doubt, ...] = ()

    @property
    def added(self) -> tuple[Event, ...]:
        return self.new + self.entered

    @property
    def removed(self) -> tuple[Event, ...]:
        return self.dropped + self.passed

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "dropped": len(self.dropped),
            "changed": len(self.changed),
            "entered": len(self.entered),
            "passed": len(self.passed),
            "unchanged": self.unchanged,
        }

    def to_json(self) -> dict[str, object]:
        """The diff as plain JSON values; every list in date-then-key order."""

        def events(items: Iterable[Event]) -> list[dict[str, str]]:
            return [_event_json(event, self.states) for event in items]

        return {
            "previous_window": _window_json(self.previous_window),
            "current_window": _window_json(self.current_window),
            "counts": self.counts(),
            "added": {"new": events(self.new), "entered": events(self.entered)},
            "removed": {"dropped": events(self.dropped), "passed": events(self.passed)},
            "changed": [
                {
                    "previous_key": change.before.key,
                    "event": _event_json(change.after, self.states),
                    "changes": [
                        {"field": field.field, "before": field.before, "after": field.after} for field in change.changes
                    ],
                }
                for change in self.changed
            ],
            "possible_duplicates": [
                {
                    "first": _event_json(doubt.first, self.states),
                    "second": _event_json(doubt.second, self.states),
                    "reason": doubt.reason,
                }
                for doubt in self.possible_duplicates
            ],
        }


def diff_issues(
    previous: Sequence[Event],
    current: Sequence[Event],
    *,
    previous_window: Window,
    current_window: Window,
    states: Collection[str],
    possible: Sequence[PossibleDuplicate] = (),
) -> IssueDiff:
    """Match the events of two issues and sort the rest into new, entered, dropped and passed.

    `possible` are the merge's doubtful pairs; those with both events in the current issue are listed.
    """
    before, after = _unique(previous), _unique(current)
    pairs = _match(before, after, previous_window, current_window)
    matched_before = {old.key for old, _ in pairs}
    matched_after = {new.key for _, new in pairs}
    added = [event for event in after if event.key not in matched_after]
    removed = [event for event in before if event.key not in matched_before]
    changes = [EventChange(old, new, field_changes(old, new, states)) for old, new in pairs]
    changed = [change for change in changes if change.changes]
    return IssueDiff(
        previous_window=previous_window,
        current_window=current_window,
        states=tuple(states),
        new=_sorted(e for e in added if previous_window.overlaps(e)),
        entered=_sorted(e for e in added if not previous_window.overlaps(e)),
        dropped=_sorted(e for e in removed if current_window.overlaps(e)),
        passed=_sorted(e for e in removed if not current_window.overlaps(e)),
        changed=tuple(sorted(changed, key=lambda c: _order(c.after))),
        unchanged=len(changes) - len(changed),
        possible_duplicates=_doubts(after, possible),
    )


def _doubts(current: Sequence[Event], possible: Sequence[PossibleDuplicate]) -> tuple[Doubt, ...]:
    by_key = {event.key: event for event in current}
    doubts = []
    for pair in possible:
        if pair.first in by_key and pair.second in by_key:
            first, second = sorted((by_key[pair.first], by_key[pair.second]), key=_order)
            doubts.append(Doubt(first, second, pair.reason))
    return tuple(sorted(doubts, key=lambda d: (_order(d.first), _order(d.second))))


def field_changes(before: Event, after: Event, states: Collection[str]) -> tuple[FieldChange, ...]:
    """The printed fields that differ; a link counts as changed only when its canonical form does."""
    printed: list[tuple[str, Callable[[Event], str]]] = [
        ("date", printed_days),
        ("place", lambda e: clean_text(where_label(e, states))),
        ("title", lambda e: title_text(e.title)),
        ("link", lambda e: e.url.strip()),
        ("organizer", lambda e: clean_text(e.organizer)),
    ]
    found = []
    for name, show in printed:
        old, new = show(before), show(after)
        if (_link_key(old) != _link_key(new)) if name == "link" else (old != new):
            found.append(FieldChange(name, old, new))
    return tuple(found)


def printed_days(event: Event) -> str:
    """The date column as TWiR prints it: `2026-12-03`, or `2026-12-03 - 2026-12-05` for several days."""
    days = event.first_day.isoformat()
    return f"{days} - {event.last_day.isoformat()}" if event.last_day > event.first_day else days


def event_line(event: Event, states: Collection[str]) -> str:
    """One line per event: `2026-12-03 | Berlin, DE | Rust Berlin — Title <url>`."""
    organizer = clean_text(event.organizer) or event.source
    line = f"{printed_days(event)} | {clean_text(where_label(event, states))} | {organizer} — {title_text(event.title)}"
    url = event.url.strip()
    return f"{line} <{url}>" if url else line


def format_diff(diff: IssueDiff) -> str:
    """The editor's one-minute summary: a headline with counts, then the sections that have events."""
    counts = diff.counts()
    headline = (
        f"Issue {diff.current_window.start.isoformat()} vs {diff.previous_window.start.isoformat()}: "
        f"{counts['new']} new, {counts['dropped']} dropped, {counts['changed']} changed, "
        f"{counts['entered']} entered the window, {counts['passed']} passed, {counts['unchanged']} unchanged"
    )
    sections = [
        ("New", [event_line(e, diff.states) for e in diff.new]),
        ("Dropped (still in the window: check!)", [event_line(e, diff.states) for e in diff.dropped]),
        ("Changed", [line for change in diff.changed for line in _change_lines(change, diff.states)]),
        ("Entered the window", [event_line(e, diff.states) for e in diff.entered]),
        ("Passed", _passed_lines(diff)),
        (
            "Possible duplicates (decide in the curation file)",
            [line for doubt in diff.possible_duplicates for line in _doubt_lines(doubt, diff.states)],
        ),
    ]
    blocks = [headline] + ["\n".join([title, *lines]) for title, lines in sections if lines]
    if len(blocks) == 1:
        blocks.append("No changes.")
    return "\n\n".join(blocks) + "\n"


def diff_json_for_run(
    previous: Sequence[Event] | None,
    current: Sequence[Event],
    *,
    issue_date: date,
    since: date,
    weeks: int,
    states: Collection[str],
    possible: Sequence[PossibleDuplicate] = (),
) -> dict[str, object] | None:
    """The diff for events.json against the issue dated `since`, or None when that issue was never built."""
    if previous is None:
        return None
    diff = diff_issues(
        previous,
        current,
        previous_window=issue_window(since, weeks),
        current_window=issue_window(issue_date, weeks),
        states=states,
        possible=possible,
    )
    return {"since": since.isoformat(), **diff.to_json()}


def _match(before: list[Event], after: list[Event], previous_window: Window, current_window: Window) -> list[Pair]:
    """One-to-one pairs: by key, then by canonical link (nearest dates first), then as the merge judges them."""
    by_key = {event.key: event for event in after}
    pairs = [(old, by_key[old.key]) for old in before if old.key in by_key]

    def left() -> tuple[list[Event], list[Event]]:
        taken_before = {old.key for old, _ in pairs}
        taken_after = {new.key for _, new in pairs}
        return [e for e in before if e.key not in taken_before], [e for e in after if e.key not in taken_after]

    def linked(old: Event, new: Event) -> bool:
        # A group page shared by a series links last month's meetup to next month's: one that passed and
        # one that entered the window are two occurrences, not one moved event.
        return not (not current_window.overlaps(old) and not previous_window.overlaps(new))

    old_left, new_left = left()
    by_link: dict[str, list[Event]] = {}
    for new in new_left:
        if link := _link_key(new.url):
            by_link.setdefault(link, []).append(new)
    pairs += _closest(
        [(old, new) for old in old_left for new in by_link.get(_link_key(old.url), ()) if linked(old, new)]
    )
    old_left, new_left = left()
    pairs += _closest([(old_left[i], new_left[j]) for i, j in same_pairs(old_left, new_left)])
    return pairs


def _closest(candidates: Sequence[Pair]) -> list[Pair]:
    """Candidate pairs taken greedily, closest dates first, each event used once."""
    candidates = sorted(candidates, key=lambda pair: (_gap_days(*pair), pair[0].key, pair[1].key))
    used_before: set[str] = set()
    used_after: set[str] = set()
    chosen = []
    for old, new in candidates:
        if old.key in used_before or new.key in used_after:
            continue
        used_before.add(old.key)
        used_after.add(new.key)
        chosen.append((old, new))
    return chosen


def _gap_days(a: Event, b: Event) -> int:
    """Days between two events' spans; 0 when they overlap."""
    return max(0, (a.first_day - b.last_day).days, (b.first_day - a.last_day).days)


def _link_key(url: str) -> str:
    url = url.strip()
    return canonical_url(url) or url


def _unique(events: Iterable[Event]) -> list[Event]:
    """One event per key: a hybrid event is listed under two sections but is one event."""
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.key, event)
    return list(first.values())


def _sorted(events: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(sorted(events, key=_order))


def _order(event: Event) -> tuple[date, str]:
    return event.first_day, event.key


def _change_lines(change: EventChange, states: Collection[str]) -> list[str]:
    return [event_line(change.after, states)] + [
        f"  {field.field}: {field.before or '(none)'} -> {field.after or '(none)'}" for field in change.changes
    ]


def _doubt_lines(doubt: Doubt, states: Collection[str]) -> list[str]:
    return [event_line(doubt.first, states), f"  ~ {event_line(doubt.second, states)}", f"    {doubt.reason}"]


def _passed_lines(diff: IssueDiff) -> list[str]:
    if len(diff.passed) <= PASSED_LISTED:
        return [event_line(event, diff.states) for event in diff.passed]
    return [f"{len(diff.passed)} events ended before {diff.current_window.start.isoformat()}"]


def _event_json(event: Event, states: Collection[str]) -> dict[str, str]:
    return {
        "key": event.key,
        "source": event.source,
        "date": printed_days(event),
        "where": clean_text(where_label(event, states)),
        "organizer": clean_text(event.organizer),
        "title": title_text(event.title),
        "url": event.url.strip(),
    }


def _window_json(window: Window) -> dict[str, str]:
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}
