"""Compact VTIMEZONEs from the one tz database (zoneinfo on the `tzdata` package), covering only what a feed needs.

Each observance starts at the local time before its change (RFC 5545), repeats by a yearly RRULE where every
change in the covered span follows one, and lists RDATEs otherwise (Morocco's Ramadan changes, rule changes).
TZNAME is left out: it is optional, and readers take offsets from TZOFFSETFROM/TO.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, _zoneinfo  # type: ignore[attr-defined]  # not in typeshed

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# The change in force at the span's start is looked for this far back; a yearly rule must hold this far ahead.
LOOKBACK = timedelta(days=400)
LOOKAHEAD = timedelta(days=800)


@dataclass(frozen=True)
class Change:
    """One transition: its instant and the offsets either side."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def daylight(self) -> bool:
        """Clocks go forward. Not the database's DST flag: readers resolve repeated hours by DAYLIGHT/STANDARD,
        and Morocco's and Ireland's negative DST would make them pick the wrong side."""
        return self.after > self.before

    @property
    def onset(self) -> datetime:
        """The local wall time just before the change, as RFC 5545 wants in an observance's DTSTART."""
        return (self.at + self.before).replace(tzinfo=None)


@dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT: its first onset, a yearly rule or else its onsets, and the offsets either side."""

    daylight: bool
    start: datetime
    rule: tuple[tuple[str, object], ...] | None
    onsets: tuple[datetime, ...]
    before: timedelta
    after: timedelta


def vtimezone(tzid: str, first: datetime, last: datetime, known: Sequence[Change] | None = None) -> Timezone:
    """The zone from the change in force at `first` through `last`, as a VTIMEZONE component.

    `known` are the zone's changes over a span that holds this one's (`span`), found once for many VTIMEZONEs.
    """
    return _component(tzid, observances(tzid, first, last, known))


def block(tzid: str, first: datetime, last: datetime, known: Sequence[Change] | None = None) -> bytes:
    """`vtimezone` serialised; calendars whose VTIMEZONEs come out the same share one serialisation."""
    return _serialised(tzid, observances(tzid, first, last, known))


def observances(
    tzid: str, first: datetime, last: datetime, known: Sequence[Change] | None = None
) -> tuple[Observance, ...]:
    """What the VTIMEZONE from `first` through `last` says, in order."""
    zone = ZoneInfo(tzid)
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    since, until = span(first, last)
    if known is None:
        changes = transitions(zone, since, until)
    else:
        changes = [change for change in known if since < change.at <= until]
    if not any(change.at <= first for change in changes):
        # Nothing changed lately: the state at `first` holds from the epoch (an onset that suits every reader).
        start = first.astimezone(zone)
        offset = start.utcoffset() or timedelta(0)
        epoch = datetime(1970, 1, 1, tzinfo=UTC) - offset
        changes = [Change(epoch, offset, offset), *changes]
    groups: dict[tuple[timedelta, timedelta], list[Change]] = {}
    for change in changes:
        groups.setdefault((change.before, change.after), []).append(change)
    # Each observance starts at its last onset before `first`, if it has one: readers that look for every
    # observance's previous onset (Ruby's icalendar) fail on one whose first onset lies after an event.
    in_force_change = [change for change in changes if change.at <= first][-1]
    starts = {
        key: [change for change in members if change.at <= first][-1:] or members[:1] for key, members in groups.items()
    }
    found = []
    for (before, after), members in sorted(groups.items(), key=lambda item: starts[item[0]][0].at):
        members = members[members.index(starts[(before, after)][0]) :]
        covered = [change.onset for change in members if change.at <= last]
        in_force = members[0] is in_force_change
        if not covered or not (in_force or any(first < change.at <= last for change in members)):
            continue
        # A rule that also holds for the changes after the span keeps the zone right for readers that cache it.
        rule = yearly_rule([change.onset for change in members], (last + LOOKAHEAD + before).replace(tzinfo=None))
        # DTSTART repeated as the first RDATE: ical.js and libical ignore DTSTART when RDATEs are present.
        onsets = () if rule is not None or len(covered) < 2 else tuple(covered)
        rule_items = None if rule is None else tuple(rule.items())
        found.append(Observance(members[0].daylight, covered[0], rule_items, onsets, before, after))
    return tuple(found)


@lru_cache(maxsize=4096)
def _serialised(tzid: str, parts: tuple[Observance, ...]) -> bytes:
    return bytes(_component(tzid, parts).to_ical())


def _component(tzid: str, parts: Sequence[Observance]) -> Timezone:
    component = Timezone()
    component.add("tzid", tzid)
    for part in parts:
        observance = TimezoneDaylight() if part.daylight else TimezoneStandard()
        observance.add("dtstart", part.start)
        if part.rule is not None:
            observance.add("rrule", dict(part.rule))
        for onset in part.onsets:
            observance.add("rdate", onset)
        observance.add("tzoffsetfrom", part.before)
        observance.add("tzoffsetto", part.after)
        component.add_component(observance)
    return component


def span(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The instants whose changes a VTIMEZONE from `first` to `last` is built from."""
    return first.astimezone(UTC) - LOOKBACK, last.astimezone(UTC) + LOOKAHEAD


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Change]:
    """Every change of offset between two UTC instants, read from the zone's own data rather than searched for.

    The offset is constant between the instants where it may change (`_edges`), so it is looked up only there.
    """
    changes = []
    state = _state(zone, start)
    for edge in _edges(zone, start, end):
        moment = datetime.fromtimestamp(edge, UTC)
        after = _state(zone, moment)
        if after != state:
            changes.append(Change(moment, state, after))
            state = after
    return changes


def _edges(zone: ZoneInfo, start: datetime, end: datetime) -> list[int]:
    """The instants (UTC seconds) in (start, end] where `zone`'s offset can change, in order.

    They come from CPython's pure-Python twin of ZoneInfo, which reads the same file the same way: the file's
    transitions, and past the last one the closing rule's two changes a year. That rule is looked up by the UTC
    year, so each new year (UTC) is an edge too; the rule takes over one second after the last transition.
    """
    twin = _zoneinfo.ZoneInfo(zone.key)
    edges = set(twin._trans_utc)
    if twin._trans_utc:
        edges.add(twin._trans_utc[-1] + 1)
    rule = twin._tz_after
    for year in range(start.year - 1, end.year + 2):
        edges.add(calendar.timegm((year, 1, 1, 0, 0, 0)))
        if hasattr(rule, "transitions"):
            onset, close = rule.transitions(year)
            edges.add(onset - int(rule.std.utcoff.total_seconds()))
            edges.add(close - int(rule.dst.utcoff.total_seconds()))
    low, high = start.timestamp(), end.timestamp()
    return sorted(edge for edge in edges if low < edge <= high)


def yearly_rule(onsets: list[datetime], until: datetime) -> dict[str, object] | None:
    """`FREQ=YEARLY;BYMONTH=m;BYDAY=nSU` when it yields exactly these onsets up to `until`, else None."""
    if len(onsets) < 2:
        return None
    first = onsets[0]
    weekday = first.weekday()
    nth = _nth(first)
    if nth is None:
        return None
    expected = []
    for year in range(first.year, until.year + 1):
        day = _nth_weekday(year, first.month, weekday, nth)
        moment = datetime(year, first.month, day, first.hour, first.minute, first.second)
        if moment <= until:
            expected.append(moment)
    if expected != onsets:
        return None
    return {"freq": "yearly", "bymonth": first.month, "byday": f"{nth}{calendar.day_abbr[weekday][:2].upper()}"}


def _nth(moment: datetime) -> int | None:
    """1..4 for the first to fourth such weekday of its month, -1 for the last; None when neither is exact."""
    length = calendar.monthrange(moment.year, moment.month)[1]
    if moment.day + 7 > length:
        return -1
    return (moment.day - 1) // 7 + 1 if moment.day <= 28 else None


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> int:
    length = calendar.monthrange(year, month)[1]
    if nth == -1:
        last = length - (calendar.weekday(year, month, length) - weekday) % 7
        return last
    first = 1 + (weekday - calendar.weekday(year, month, 1)) % 7
    return first + 7 * (nth - 1)


def _state(zone: ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)
