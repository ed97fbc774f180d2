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
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Zone states are sampled this often; no zone changes twice within it, and each change is then found to the second.
STEP = timedelta(hours=6)
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


def vtimezone(tzid: str, first: datetime, last: datetime, known: Sequence[Change] | None = None) -> Timezone:
    """The zone from the change in force at `first` through `last`, as a VTIMEZONE component.

    `known` are the zone's changes over a span that holds this one's (`span`): finding them is the costly part.
    """
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
    component = Timezone()
    component.add("tzid", tzid)
    # Each observance starts at its last onset before `first`, if it has one: readers that look for every
    # observance's previous onset (Ruby's icalendar) fail on one whose first onset lies after an event.
    in_force_change = [change for change in changes if change.at <= first][-1]
    starts = {
        key: [change for change in members if change.at <= first][-1:] or members[:1] for key, members in groups.items()
    }
    for (before, after), members in sorted(groups.items(), key=lambda item: starts[item[0]][0].at):
        members = members[members.index(starts[(before, after)][0]) :]
        covered = [change.onset for change in members if change.at <= last]
        in_force = members[0] is in_force_change
        if not covered or not (in_force or any(first < change.at <= last for change in members)):
            continue
        observance = TimezoneDaylight() if members[0].daylight else TimezoneStandard()
        observance.add("dtstart", covered[0])
        # A rule that also holds for the changes after the span keeps the zone right for readers that cache it.
        rule = yearly_rule([change.onset for change in members], (last + LOOKAHEAD + before).replace(tzinfo=None))
        if rule is not None:
            observance.add("rrule", rule)
        else:
            # DTSTART repeated as the first RDATE: ical.js and libical ignore DTSTART when RDATEs are present.
            for onset in covered if len(covered) > 1 else ():
                observance.add("rdate", onset)
        observance.add("tzoffsetfrom", before)
        observance.add("tzoffsetto", after)
        component.add_component(observance)
    return component


def span(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The instants whose changes a VTIMEZONE from `first` to `last` is built from."""
    return first.astimezone(UTC) - LOOKBACK, last.astimezone(UTC) + LOOKAHEAD


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Change]:
    """Every change of offset between two UTC instants, found to the second."""
    changes = []
    moment = start
    state = _state(zone, moment)
    while moment < end:
        later = min(moment + STEP, end)
        after = _state(zone, later)
        if after != state:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            changes.append(Change(high, state, after))
            state = after
        moment = later
    return changes


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
