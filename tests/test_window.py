"""The issue window, the issue date, and how events are grouped into TWiR's sections and ordered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.config import DEFAULT_STATES
from aggregator.grouping import group
from aggregator.labels import where_label
from aggregator.model import Event, Mode, Place, RawEvent
from aggregator.normalize import normalize
from aggregator.regions import REGIONS, region_of
from aggregator.window import Window, issue_window, next_issue_date

WEDNESDAY = 2
BERLIN = Place("Berlin", "", "DE", "Europe/Berlin")
DALLAS = Place("Dallas", "TX", "US", "America/Chicago")
TOKYO = Place("Tokyo", "", "JP", "Asia/Tokyo")
VANCOUVER = Place("Vancouver", "BC", "CA", "America/Vancouver")


def event(
    first: date,
    last: date | None = None,
    *,
    title: str = "Rust Meetup",
    place: Place = BERLIN,
    mode: Mode = Mode.IN_PERSON,
    organizer: str = "Rust Berlin",
    key: str = "",
) -> Event:
    """An all-day event from `first` to `last` (inclusive)."""
    return Event(
        key=key or f"test:{title}:{first}:{place.city}:{mode}:{organizer}",
        source="test",
        title=title,
        start=first,
        end=(last or first) + timedelta(days=1),
        timezone=place.timezone or "UTC",
        mode=mode,
        place=place,
        organizer=organizer,
    )


def timed(start: datetime, end: datetime, place: Place = BERLIN) -> Event:
    return Event("test:t", "test", "Rust Night", start, end, place.timezone, Mode.IN_PERSON, place)


# --- issue_window and next_issue_date ------------------------------------------------------------


def test_issue_window_is_four_weeks_inclusive() -> None:
    window = issue_window(date(2026, 8, 19))
    assert window == Window(date(2026, 8, 19), date(2026, 9, 16))


def test_issue_window_weeks_setting_and_year_end() -> None:
    assert issue_window(date(2025, 12, 17), weeks=3) == Window(date(2025, 12, 17), date(2026, 1, 7))
    assert issue_window(date(2028, 2, 9), weeks=4).end == date(2028, 3, 8)  # across a leap day


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 5, 4), date(2026, 5, 6)),  # Monday
        (date(2026, 5, 5), date(2026, 5, 6)),  # Tuesday
        (date(2026, 5, 6), date(2026, 5, 6)),  # Wednesday: the same day
        (date(2026, 5, 7), date(2026, 5, 13)),  # Thursday
        (date(2026, 5, 8), date(2026, 5, 13)),  # Friday
        (date(2026, 5, 9), date(2026, 5, 13)),  # Saturday
        (date(2026, 5, 10), date(2026, 5, 13)),  # Sunday
        (date(2026, 12, 31), date(2027, 1, 6)),  # Thursday at the year's end
    ],
)
def test_next_issue_date(today: date, expected: date) -> None:
    assert next_issue_date(today) == expected


def test_next_issue_date_is_the_first_wednesday_on_or_after_every_day_of_a_year() -> None:
    day = date(2027, 1, 1)
    while day.year == 2027:
        issue = next_issue_date(day)
        assert issue.weekday() == WEDNESDAY
        assert timedelta(0) <= issue - day < timedelta(days=7)
        day += timedelta(days=1)


# --- Window.overlaps ------------------------------------------------------------------------------

WINDOW = issue_window(date(2026, 8, 19))


@pytest.mark.parametrize(
    ("first", "last", "listed"),
    [
        (date(2026, 8, 19), None, True),  # on the issue date
        (date(2026, 9, 16), None, True),  # on the window's last day
        (date(2026, 9, 17), None, False),  # the day after
        (date(2026, 8, 18), None, False),  # the day before the issue
        (date(2026, 8, 16), date(2026, 8, 18), False),  # a conference that ended the day before
        (date(2026, 8, 17), date(2026, 8, 19), True),  # one that ends on the issue date
        (date(2026, 8, 17), date(2026, 8, 21), True),  # one already running on the issue date
        (date(2026, 9, 15), date(2026, 9, 18), True),  # one that starts inside and ends after
        (date(2026, 8, 1), date(2026, 10, 1), True),  # one longer than the window
    ],
)
def test_overlaps(first: date, last: date | None, listed: bool) -> None:
    assert WINDOW.overlaps(event(first, last)) is listed


def test_overlaps_uses_the_local_date_of_a_timed_event() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # 1 a.m. on the issue date in Tokyo is still the day before in UTC.
    early = timed(datetime(2026, 8, 19, 1, tzinfo=tokyo), datetime(2026, 8, 19, 3, tzinfo=tokyo), TOKYO)
    assert early.start.astimezone(UTC).date() == date(2026, 8, 18)  # type: ignore[union-attr]
    assert WINDOW.overlaps(early)
    late = timed(datetime(2026, 8, 18, 22, tzinfo=tokyo), datetime(2026, 8, 18, 23, tzinfo=tokyo), TOKYO)
    assert not WINDOW.overlaps(late)


def test_an_overnight_meetup_ending_on_the_issue_date_is_not_listed() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    night = timed(datetime(2026, 8, 18, 19, tzinfo=berlin), datetime(2026, 8, 19, 1, tzinfo=berlin))
    assert not WINDOW.overlaps(night)


# --- grouping ------------------------------------------------------------------------------------


def test_order_is_date_then_printed_place_then_organizer_then_title() -> None:
    day = date(2026, 8, 20)
    events = [
        event(day, title="B talk", organizer="Rust Berlin"),
        event(day, title="A talk", organizer="Rust Berlin"),
        event(day, title="Z talk", organizer="Berlin.rs"),
        event(date(2026, 8, 19), title="Earlier", organizer="Zed"),
        event(day, title="Dallas", place=DALLAS, organizer="Dallas Rust"),
        event(day, title="Tokyo", place=TOKYO, organizer="Tokyo Rust"),
    ]
    sections = group(events, DEFAULT_STATES)
    europe = next(items for name, items in sections if name == "Europe")
    assert [(e.first_day.day, e.organizer, e.title) for e in europe] == [
        (19, "Zed", "Earlier"),
        (20, "Berlin.rs", "Z talk"),
        (20, "Rust Berlin", "A talk"),
        (20, "Rust Berlin", "B talk"),
    ]


def test_on_one_day_hybrid_sorts_before_virtual_in_the_virtual_section() -> None:
    day = date(2026, 8, 20)
    events = [
        event(day, title="Online talk", place=BERLIN, mode=Mode.VIRTUAL, organizer="A first by name"),
        event(day, title="Hybrid talk", place=VANCOUVER, mode=Mode.HYBRID, organizer="Vancouver Rust"),
        event(day, title="No home", place=Place(), mode=Mode.VIRTUAL, organizer="A"),
    ]
    items = dict(group(events, DEFAULT_STATES))["Virtual"]
    assert [where_label(e, DEFAULT_STATES) for e in items] == [
        "Hybrid (Vancouver, BC, CA)",
        "Virtual",
        "Virtual (Berlin, DE)",
    ]


def test_places_on_one_day_sort_as_printed() -> None:
    day = date(2026, 8, 20)
    events = [event(day, place=p, organizer="x") for p in (VANCOUVER, DALLAS)]
    events.append(event(day, place=Place("Austin", "TX", "US", "America/Chicago"), organizer="x"))
    [(name, items)] = group(events, DEFAULT_STATES)
    assert name == "North America"
    assert [where_label(e, DEFAULT_STATES) for e in items] == ["Austin, TX, US", "Dallas, TX, US", "Vancouver, BC, CA"]


def test_hybrid_is_listed_under_virtual_and_its_continent_and_virtual_only_under_virtual() -> None:
    day = date(2026, 8, 20)
    hybrid = event(day, title="Hybrid", place=VANCOUVER, mode=Mode.HYBRID)
    online = event(day, title="Online", place=BERLIN, mode=Mode.VIRTUAL)
    local = event(day, title="Local", place=TOKYO)
    sections = group([hybrid, online, local], DEFAULT_STATES)
    assert [(name, [e.title for e in items]) for name, items in sections] == [
        ("Virtual", ["Hybrid", "Online"]),
        ("Asia", ["Local"]),
        ("North America", ["Hybrid"]),
    ]


def test_sections_follow_twir_order_and_empty_ones_are_left_out() -> None:
    day = date(2026, 8, 20)
    places = {
        "South America": Place("São Paulo", "", "BR", "America/Sao_Paulo"),
        "Oceania": Place("Sydney", "NSW", "AU", "Australia/Sydney"),
        "Africa": Place("Lagos", "", "NG", "Africa/Lagos"),
        "Europe": BERLIN,
    }
    sections = group([event(day, place=p, title=name) for name, p in places.items()], DEFAULT_STATES)
    names = [name for name, _ in sections]
    assert names == ["Africa", "Europe", "Oceania", "South America"]
    assert names == [name for name in REGIONS if name in places]
    assert all(items for _, items in sections)


def test_group_of_nothing_is_no_sections() -> None:
    assert group([], DEFAULT_STATES) == []


def test_the_same_input_in_any_order_gives_the_same_sections() -> None:
    day = date(2026, 8, 20)
    events = [
        event(day, title=title, organizer=organizer, place=place)
        for title in ("a", "b")
        for organizer in ("x", "y")
        for place in (BERLIN, TOKYO, DALLAS)
    ]
    assert group(events, DEFAULT_STATES) == group(list(reversed(events)), DEFAULT_STATES)


# --- regions through normalization ----------------------------------------------------------------


def normalized(location: str) -> Event:
    raw = RawEvent(
        source="test",
        key="k",
        title="Rust Meetup",
        start=datetime(2026, 8, 20, 17, tzinfo=UTC),
        location=location,
        url="https://rust.example.org/",
    )
    return normalize(raw).event


@pytest.mark.parametrize(
    ("location", "section"),
    [
        ("Lagos, Nigeria", "Africa"),
        ("Bangalore, India", "Asia"),
        ("Berlin, Germany", "Europe"),
        ("Dallas, TX, USA", "North America"),
        ("Sydney, NSW, Australia", "Oceania"),
        ("Buenos Aires, Argentina", "South America"),
        ("Nicosia, Cyprus", "Europe"),
        ("Istanbul, Turkey", "Europe"),
        ("Moscow, Russia", "Europe"),
        ("Mexico City, Mexico", "North America"),
        ("Tel Aviv, Israel", "Asia"),
        ("London, UK", "Europe"),
    ],
)
def test_region_of_a_place_in_each_continent(location: str, section: str) -> None:
    item = normalized(location)
    assert item.place, location
    assert region_of(item) == section
    assert [name for name, _ in group([item], DEFAULT_STATES)] == [section]


def test_an_online_event_with_a_home_city_is_only_under_virtual() -> None:
    item = normalized("Online (Tel Aviv, Israel)")
    assert region_of(item) == "Asia"
    assert [name for name, _ in group([item], DEFAULT_STATES)] == ["Virtual"]
