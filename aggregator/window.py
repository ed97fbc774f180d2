"""The issue's date window: an issue dated D lists events overlapping D .. D + 4 weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from aggregator.model import Event

WEDNESDAY = 2


@dataclass(frozen=True)
class Window:
    """Inclusive first and last day of an issue's events."""

    start: date
    end: date

    def overlaps(self, event: Event) -> bool:
        return event.first_day <= self.end and event.last_day >= self.start


def issue_window(issue_date: date, weeks: int = 4) -> Window:
    """The window of the issue dated `issue_date`: both ends inclusive, `weeks` weeks apart."""
    return Window(issue_date, issue_date + timedelta(weeks=weeks))


def next_issue_date(today: date) -> date:
    """TWiR comes out on Wednesdays: the next Wednesday on or after `today`."""
    return today + timedelta(days=(WEDNESDAY - today.weekday()) % 7)
