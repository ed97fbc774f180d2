"""Exact instants: RFC 5545 durations (hours exact, days nominal) and local times that name no single instant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


@dataclass(frozen=True)
class Duration:
    """An RFC 5545 duration: `days` (weeks included) are nominal, `seconds` exact."""

    days: int = 0
    seconds: int = 0

    @property
    def text(self) -> str:
        sign = "-" if self.days < 0 or self.seconds < 0 else ""
        days, seconds = abs(self.days), abs(self.seconds)
        time = f"T{seconds}S" if seconds or not days else ""
        return f"{sign}P{f'{days}D' if days else ''}{time}"

    @classmethod
    def of(cls, value: timedelta) -> Duration:
        """A parsed timedelta, read as whole days (nominal) and the rest (exact)."""
        factor = -1 if value < timedelta(0) else 1
        value = abs(value)
        return cls(days=factor * value.days, seconds=factor * value.seconds)

    @classmethod
    def between(cls, start: date | datetime, end: date | datetime) -> Duration:
        """The length DTSTART..DTEND: exact seconds between instants, whole days between dates."""
        if isinstance(start, datetime) and isinstance(end, datetime):
            if (start.tzinfo is None) != (end.tzinfo is None):
                end = end.replace(tzinfo=start.tzinfo)
            return cls(seconds=round(_absolute(end, start).total_seconds()))
        if not isinstance(start, datetime) and not isinstance(end, datetime):
            return cls(days=(end - start).days)
        raise ValueError("DTSTART and DTEND are not both dates or both date-times")


def parse_duration(text: str) -> Duration:
    """`P1DT2H` -> 1 nominal day and 7200 exact seconds; raises ValueError on anything else."""
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or not any(match.groups()[1:]) or text.strip().upper().endswith("T"):
        raise ValueError(f"DURATION {text.strip()[:40]!r} is not an RFC 5545 duration")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    factor = -1 if sign == "-" else 1
    number = [int(part or 0) for part in (weeks, days, hours, minutes, seconds)]
    return Duration(
        days=factor * (7 * number[0] + number[1]),
        seconds=factor * (3600 * number[2] + 60 * number[3] + number[4]),
    )


def add_duration(start: date | datetime, duration: Duration) -> date | datetime:
    """The end of an event lasting `duration`: the same wall time `days` later, then `seconds` of real time."""
    end = start + timedelta(days=duration.days)
    if not duration.seconds:
        return end
    if not isinstance(end, datetime):
        end = datetime(end.year, end.month, end.day)
    if end.tzinfo is None:
        return end + timedelta(seconds=duration.seconds)
    return (end.astimezone(UTC) + timedelta(seconds=duration.seconds)).astimezone(end.tzinfo)


def unambiguous(value: datetime) -> bool:
    """False for a local time the zone repeats or skips, or that ends such a stretch: it names no single instant.

    The end of a repeated or skipped hour (03:00 after a 02:00-03:00 change) is one instant by the zone database,
    but readers break the tie at a change's edge differently (ical.js takes the offset before it).
    """
    if value.tzinfo is None:
        return True
    edge = value - timedelta(seconds=1)
    return all(moment.replace(fold=1 - moment.fold).utcoffset() == moment.utcoffset() for moment in (value, edge))


def _absolute(later: datetime, earlier: datetime) -> timedelta:
    # Subtracting two aware datetimes of one zone object gives wall-clock time; through UTC it is real time.
    if later.tzinfo is None:
        return later - earlier
    return later.astimezone(UTC) - earlier.astimezone(UTC)
