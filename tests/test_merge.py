"""One event, once: duplicates across sources and URL spellings merge; doubtful pairs are reported."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.merge import compare, merge
from aggregator.model import Event, Mode, Place

BERLIN = ZoneInfo("Europe/Berlin")
RANKS = {"meetup": 0, "luma": 1, "calendar": 5}


def rank(event: Event) -> int:
    return RANKS.get(event.source, 9)


def event(
    source: str,
    key: str,
    title: str = "Rust Hack and Learn",
    day: int = 3,
    url: str = "",
    organizer: str = "Rust Berlin",
    organizer_url: str = "https://www.meetup.com/rust-berlin",
    city: str = "Berlin",
    hour: int = 19,
) -> Event:
    start = datetime(2026, 12, day, hour, tzinfo=BERLIN)
    return Event(
        key=f"{source}:{key}",
        source=source,
        title=title,
        start=start,
        end=start + timedelta(hours=3),
        timezone="Europe/Berlin",
        mode=Mode.IN_PERSON,
        place=Place(city, "", "DE", "Europe/Berlin") if city else Place(),
        url=url,
        organizer=organizer,
        organizer_url=organizer_url,
        sources=(source,),
    )


def test_url_spellings_are_one_event_and_the_page_wins_date_and_place() -> None:
    from_calendar = event(
        "calendar", "a", url="https://meetup.com/Rust-Berlin/events/312345678?utm_source=cal", hour=18, city="Potsdam"
    )
    from_meetup = event("meetup", "312345678", url="https://www.meetup.com/rust-berlin/events/312345678/")
    result = merge([from_calendar, from_meetup], rank)
    (merged,) = result.events
    assert merged.key == "meetup:312345678"
    assert merged.place.city == "Berlin"
    assert isinstance(merged.start, datetime) and merged.start.hour == 19
    assert merged.sources == ("meetup", "calendar")
    assert result.possible_duplicates == []


def test_series_placeholder_and_numeric_id_are_one_event_numeric_link_kept() -> None:
    placeholder = event("calendar", "a", url="https://www.meetup.com/rust-berlin/events/wqzhftyjcmbdb/")
    numeric = event(
        "meetup", "316107210", url="https://www.meetup.com/rust-berlin/events/316107210/", title="Hack & Learn"
    )
    (merged,) = merge([placeholder, numeric], rank).events
    assert merged.url == "https://www.meetup.com/rust-berlin/events/316107210/"


def test_two_numeric_meetup_events_on_one_day_stay_two() -> None:
    a = event("meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/")
    b = event("meetup", "2", url="https://www.meetup.com/rust-berlin/events/2/")
    assert len(merge([a, b], rank).events) == 2


def test_meetup_and_luma_listing_of_one_event_merge_on_organizer_and_title() -> None:
    on_meetup = event(
        "meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/", title="Rust Berlin: December talks"
    )
    on_luma = event("luma", "evt-x", url="https://luma.com/abcd", title="December talks", organizer_url="")
    result = merge([on_luma, on_meetup], rank)
    assert [e.key for e in result.events] == ["meetup:1"]


def test_conference_entered_three_times_under_three_pages_is_listed_for_the_editor() -> None:
    names = ["RustConf 2026", "RustConf", "Rust Conf 2026 Montreal"]
    entries = [
        event(
            "calendar",
            str(i),
            title=name,
            organizer="",
            organizer_url="",
            url=f"https://rustconf.com/{i}",
            city="Montreal",
        )
        for i, name in enumerate(names)
    ]
    result = merge(entries, rank)
    assert len(result.events) == 3
    assert {(p.first, p.second) for p in result.possible_duplicates} == {
        ("calendar:0", "calendar:1"),
        ("calendar:0", "calendar:2"),
        ("calendar:1", "calendar:2"),
    }


def test_only_probably_the_same_is_kept_apart_and_reported() -> None:
    a = event("meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/", title="Embedded Rust workshop")
    b = event("calendar", "b", url="https://example.org/talks", title="Compiler internals evening", city="")
    result = merge([a, b], rank)
    assert len(result.events) == 2
    (pair,) = result.possible_duplicates
    assert {pair.first, pair.second} == {"meetup:1", "calendar:b"}
    assert "organizer" in pair.reason


def test_different_days_never_merge() -> None:
    a = event("meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/", day=3)
    b = event("calendar", "b", url="https://www.meetup.com/rust-berlin/events/1/", day=10)
    assert compare(a, b) == ("different", "")


def test_same_city_same_day_unrelated_events_are_not_reported() -> None:
    a = event("meetup", "1", title="Rust Berlin Hack and Learn", url="https://a.example/1")
    b = event(
        "calendar", "b", title="Embedded systems evening", organizer="Other", organizer_url="", url="https://b.example"
    )
    result = merge([a, b], rank)
    assert len(result.events) == 2 and result.possible_duplicates == []


def test_cross_listed_entry_yields_to_the_real_source() -> None:
    real = event("meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/")
    external = event("luma", "calev-1", url="https://www.meetup.com/rust-berlin/events/1/")
    external = Event(**{**external.__dict__, "cross_listed": True})
    (merged,) = merge([external, real], lambda e: 10 if e.cross_listed else rank(e)).events
    assert merged.key == "meetup:1" and not merged.cross_listed


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.sampled_from(["a", "b", "c"]), st.sampled_from(["meetup", "calendar"])),
        max_size=12,
    )
)
def test_merge_never_loses_a_day_or_invents_one(rows: list[tuple[int, str, str]]) -> None:
    events = [
        event(source, f"{i}", day=day, title=f"Talk {name}", url=f"https://x.example/{name}/{day}")
        for i, (day, name, source) in enumerate(rows)
    ]
    result = merge(events, rank)
    assert {e.first_day for e in result.events} == {e.first_day for e in events}
    assert len(result.events) <= len(events)
    assert {s for e in result.events for s in e.sources} == {e.source for e in events}
    urls = {e.url for e in events}
    assert all(e.url in urls for e in result.events)


def test_one_calendars_two_sessions_on_one_day_stay_two() -> None:
    morning = event("calendar", "a", title="Hulme Library Assistance", hour=9, url="https://x.example/a")
    afternoon = event("calendar", "b", title="Hulme Library", hour=14, url="https://x.example/b")
    result = merge([morning, afternoon], rank)
    assert len(result.events) == 2 and result.possible_duplicates == []


def test_same_event_hours_apart_across_sources_is_only_reported() -> None:
    page = event("meetup", "1", url="https://www.meetup.com/rust-berlin/events/1/", title="Rust Berlin talks", hour=19)
    calendar = event("calendar", "b", url="https://example.org/rb", title="Rust Berlin talks", hour=9)
    result = merge([page, calendar], rank)
    assert len(result.events) == 2
    (pair,) = result.possible_duplicates
    assert "hours apart" in pair.reason
