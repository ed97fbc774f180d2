"""normalize(): a source's raw record to an Event in its own zone, with a place, a mode and safe links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from markdown_it import MarkdownIt

from aggregator.config import DEFAULT_STATES
from aggregator.labels import where_label
from aggregator.model import Event, Mode, RawEvent
from aggregator.normalize import Normalized, Overrides, normalize
from aggregator.pipeline import build_issue
from aggregator.window import issue_window
from output.markdown import parse_block, render_block

BERLIN = ZoneInfo("Europe/Berlin")
LINK = "https://rust.example.org/events/42"


def raw(**fields: object) -> RawEvent:
    """A raw event with a title, a start and a link unless the test says otherwise."""
    values: dict[str, object] = {
        "source": "Community Calendar",
        "key": "uid-1",
        "title": "Rust Meetup",
        "start": datetime(2026, 5, 6, 17, tzinfo=UTC),
        "url": LINK,
    }
    values.update(fields)
    return RawEvent(**values)  # type: ignore[arg-type]


def run(**fields: object) -> Event:
    return normalize(raw(**fields)).event


def where(event: Event) -> str:
    return where_label(event, DEFAULT_STATES)


# --- Dates: the event's own zone -----------------------------------------------------------------


def test_utc_evening_in_los_angeles_lands_on_the_local_date() -> None:
    # 19:00-21:00 on 6 May in Los Angeles is stored as 02:00-04:00 UTC on 7 May.
    event = run(
        start=datetime(2026, 5, 7, 2, tzinfo=UTC),
        end=datetime(2026, 5, 7, 4, tzinfo=UTC),
        location="Los Angeles, CA, USA",
        fallback_timezone="Europe/London",
    )
    assert event.timezone == "America/Los_Angeles"
    assert event.first_day == event.last_day == date(2026, 5, 6)
    assert isinstance(event.start, datetime)
    assert (event.start.hour, event.start.minute) == (19, 0)


def test_utc_morning_in_auckland_lands_on_the_local_date() -> None:
    # 08:30 on 7 May in Auckland (NZST, +12) is stored as 20:30 UTC on 6 May.
    event = run(
        start=datetime(2026, 5, 6, 20, 30, tzinfo=UTC),
        end=datetime(2026, 5, 6, 22, 30, tzinfo=UTC),
        location="Auckland, New Zealand",
        fallback_timezone="America/New_York",
    )
    assert event.timezone == "Pacific/Auckland"
    assert event.first_day == event.last_day == date(2026, 5, 7)
    assert where(event) == "Auckland, NZ"


def test_utc_time_without_a_place_uses_the_calendar_zone() -> None:
    event = run(start=datetime(2026, 5, 7, 2, tzinfo=UTC), location="", fallback_timezone="America/Los_Angeles")
    assert event.timezone == "America/Los_Angeles"
    assert event.first_day == date(2026, 5, 6)


def test_utc_time_of_an_online_event_uses_its_home_city_zone() -> None:
    event = run(start=datetime(2026, 5, 6, 22, 30, tzinfo=UTC), location="Online (Berlin, Germany)")
    assert event.timezone == "Europe/Berlin"
    assert event.first_day == date(2026, 5, 7)


def test_utc_time_with_neither_place_nor_calendar_zone_stays_utc() -> None:
    event = run(start=datetime(2026, 5, 6, 23, 30, tzinfo=UTC), location="")
    assert event.timezone == "UTC"
    assert event.first_day == date(2026, 5, 6)


def test_an_unknown_calendar_zone_is_ignored() -> None:
    event = run(start=datetime(2026, 5, 6, 23, 30, tzinfo=UTC), fallback_timezone="Mars/Olympus_Mons")
    assert event.timezone == "UTC"


def test_a_tzid_keeps_its_zone_over_place_and_calendar_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    # 21:00 in New York is already 7 May in Berlin, the calendar's zone and the place's.
    event = run(
        start=datetime(2026, 5, 6, 21, tzinfo=new_york),
        end=datetime(2026, 5, 6, 22, tzinfo=new_york),
        timezone="America/New_York",
        location="Online (Berlin, Germany)",
        fallback_timezone="Europe/Berlin",
    )
    assert event.timezone == "America/New_York"
    assert event.first_day == date(2026, 5, 6)


def test_an_aware_time_is_the_same_instant_in_the_event_zone() -> None:
    event = run(start=datetime(2026, 5, 6, 17, tzinfo=UTC), location="Tokyo, Japan")
    assert event.start == datetime(2026, 5, 6, 17, tzinfo=UTC)
    assert isinstance(event.start, datetime)
    assert event.start.utcoffset() == ZoneInfo("Asia/Tokyo").utcoffset(datetime(2026, 5, 6))
    assert event.first_day == date(2026, 5, 7)


def test_a_floating_time_is_the_wall_clock_of_the_place() -> None:
    event = run(
        start=datetime(2026, 5, 6, 19), end=datetime(2026, 5, 6, 21), location="1 Main St, Dallas, TX 75201, USA"
    )
    assert event.start == datetime(2026, 5, 6, 19, tzinfo=ZoneInfo("America/Chicago"))
    assert event.end == datetime(2026, 5, 6, 21, tzinfo=ZoneInfo("America/Chicago"))
    assert event.first_day == date(2026, 5, 6)


def test_a_floating_time_without_a_place_is_the_wall_clock_of_the_calendar_zone() -> None:
    event = run(start=datetime(2026, 5, 6, 23, 30), fallback_timezone="Asia/Tokyo")
    assert event.start == datetime(2026, 5, 6, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert event.first_day == date(2026, 5, 6)


def test_all_day_end_is_exclusive() -> None:
    event = run(start=date(2026, 5, 16), end=date(2026, 5, 19), location="Taipei, Taiwan")
    assert event.all_day
    assert (event.first_day, event.last_day) == (date(2026, 5, 16), date(2026, 5, 18))


def test_all_day_without_end_or_with_an_empty_range_is_one_day() -> None:
    for end in (None, date(2026, 5, 16), date(2026, 5, 10)):
        event = run(start=date(2026, 5, 16), end=end, location="Berlin, Germany")
        assert (event.first_day, event.last_day) == (date(2026, 5, 16), date(2026, 5, 16)), end


def test_timed_multi_day_event_spans_its_local_days() -> None:
    toronto = ZoneInfo("America/Toronto")
    event = run(
        start=datetime(2026, 9, 8, 9, tzinfo=toronto),
        end=datetime(2026, 9, 11, 17, tzinfo=toronto),
        timezone="America/Toronto",
        location="Toronto, ON, Canada",
    )
    assert (event.first_day, event.last_day) == (date(2026, 9, 8), date(2026, 9, 11))
    assert where(event) == "Toronto, ON, CA"


def test_an_overnight_meetup_is_one_day() -> None:
    # 19:00 to 01:00 in Berlin, given in UTC: the UTC dates do not even match the local ones.
    event = run(
        start=datetime(2026, 5, 6, 17, tzinfo=UTC),
        end=datetime(2026, 5, 6, 23, tzinfo=UTC),
        location="Berlin, Germany",
    )
    assert isinstance(event.end, datetime)
    assert event.end.date() == date(2026, 5, 7)
    assert (event.first_day, event.last_day) == (date(2026, 5, 6), date(2026, 5, 6))


def test_a_hack_night_until_six_is_still_one_day_but_a_two_day_hackathon_is_two() -> None:
    night = run(start=datetime(2026, 5, 6, 20), end=datetime(2026, 5, 7, 6), location="Berlin, Germany")
    assert night.last_day == date(2026, 5, 6)
    hackathon = run(start=datetime(2026, 5, 6, 10), end=datetime(2026, 5, 7, 18), location="Berlin, Germany")
    assert hackathon.last_day == date(2026, 5, 7)


def test_an_end_before_the_start_is_read_as_no_end() -> None:
    event = run(start=datetime(2026, 5, 6, 19), end=datetime(2026, 5, 6, 18), location="Berlin, Germany")
    assert event.end == event.start


# --- Places and modes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "label", "zone"),
    [
        ("c-base, Rungestraße 20, 10179 Berlin, Germany", "Berlin, DE", "Europe/Berlin"),
        ("1 Main St, Dallas, TX 75201, USA", "Dallas, TX, US", "America/Chicago"),
        ("Tokyo, Japan", "Tokyo, JP", "Asia/Tokyo"),
        ("Zürich, Schweiz", "Zürich, CH", "Europe/Zurich"),
        ("Academia Sinica\\, Taipei\\, Taiwan", "Taipei, TW", "Asia/Taipei"),
        ("Windrush Drive, Manchester M9 5QR, UK", "Manchester, UK", "Europe/London"),
    ],
)
def test_in_person_places(location: str, label: str, zone: str) -> None:
    result = normalize(raw(location=location))
    assert result.event.mode is Mode.IN_PERSON
    assert where(result.event) == label
    assert result.event.place.timezone == zone
    assert result.warnings == []


@pytest.mark.parametrize("location", ["Online", "online", "https://meet.jit.si/RustMeetupBerlin", "Virtual"])
def test_online_without_a_home_place_is_bare_virtual(location: str) -> None:
    result = normalize(raw(location=location))
    assert result.event.mode is Mode.VIRTUAL
    assert not result.event.place
    assert where(result.event) == "Virtual"
    assert result.warnings == []


@pytest.mark.parametrize("location", ["Online (Berlin, Germany)", "Virtual (Berlin\\, DE)", "Virtual (Berlin, DE)"])
def test_online_with_a_home_city(location: str) -> None:
    event = run(location=location)
    assert event.mode is Mode.VIRTUAL
    assert where(event) == "Virtual (Berlin, DE)"


def test_empty_location_and_a_meeting_link_in_the_description_is_virtual() -> None:
    event = run(location="", url="", description='Join us: <a href="https://us02web.zoom.us/j/123">Zoom</a>')
    assert event.mode is Mode.VIRTUAL
    assert where(event) == "Virtual"


@pytest.mark.parametrize(
    ("title", "description"),
    [
        ("Rust Meetup", "Hybrid event: come by or watch online."),
        ("Rust Meetup", "Talks at c-base.\nAlso streamed online at https://www.youtube.com/live/abc123"),
        ("Rust Meetup [Hybrid]", ""),
        ("Rust Meetup (hybrid)", ""),
    ],
)
def test_hybrid_from_description_or_title(title: str, description: str) -> None:
    event = run(title=title, description=description, location="c-base, Rungestraße 20, 10179 Berlin, Germany")
    assert event.mode is Mode.HYBRID
    assert where(event) == "Hybrid (Berlin, DE)"


def test_an_address_without_hybrid_words_is_in_person_even_if_the_text_says_online() -> None:
    event = run(description="Slides will be online afterwards.", location="Tokyo, Japan")
    assert event.mode is Mode.IN_PERSON


def test_an_unresolvable_place_keeps_the_event_with_a_warning_naming_source_and_text() -> None:
    result = normalize(
        raw(title="Rust Hack Night", location="The Big Room Upstairs", fallback_timezone="Europe/Berlin")
    )
    assert result.event.title == "Rust Hack Night"
    assert result.event.location == "The Big Room Upstairs"
    assert not result.event.place
    [warning] = result.warnings
    assert warning.startswith("Community Calendar: ")
    assert "Rust Hack Night" in warning
    assert "'The Big Room Upstairs'" in warning
    assert "listed without one" in warning
    assert "\n" not in warning
    # Its zone files it under Europe, as the warning says.
    issue = build_issue([result.event], result.event.first_day, 4, DEFAULT_STATES)
    assert [(name, [e.title for e in items]) for name, items in issue.sections] == [("Europe", ["Rust Hack Night"])]


def test_an_unresolvable_place_without_a_zone_country_is_listed_under_other_as_written() -> None:
    result = normalize(raw(title="Rust Hack Night", location="The Big Room Upstairs"))
    assert result.event.timezone == "UTC"
    issue = build_issue([result.event], result.event.first_day, 4, DEFAULT_STATES)
    assert [(name, [e.title for e in items]) for name, items in issue.sections] == [("Other", ["Rust Hack Night"])]
    assert where_label(result.event, DEFAULT_STATES) == "The Big Room Upstairs"
    [warning] = result.warnings
    assert "'The Big Room Upstairs'" in warning
    assert "listed under Other" in warning


def test_a_calendar_entry_with_no_location_is_an_online_event() -> None:
    # source-formats.md §1.9: an empty LOCATION means an online event with no home place.
    result = normalize(raw(location=""))
    assert result.event.mode is Mode.VIRTUAL
    assert where(result.event) == "Virtual"
    assert not any("place" in warning for warning in result.warnings)


def test_an_in_person_event_with_no_location_is_kept_with_a_warning() -> None:
    result = normalize(raw(location=""), Overrides(mode=Mode.IN_PERSON))
    assert result.event.mode is Mode.IN_PERSON
    assert any("has no place" in warning for warning in result.warnings)


def test_mode_override_from_config_wins() -> None:
    result = normalize(raw(location="Tokyo, Japan"), Overrides(mode=Mode.HYBRID))
    assert where(result.event) == "Hybrid (Tokyo, JP)"


# --- Links and organizers -----------------------------------------------------------------------


def test_the_url_property_wins_over_description_links() -> None:
    event = run(url=LINK, description='<a href="https://other.example.org/">Other</a> https://third.example.org/')
    assert event.url == LINK


def test_without_url_the_first_description_link_is_the_event_link() -> None:
    description = 'Details: <a href="https://rustfest.example/2026/">RustFest</a>, tickets https://tickets.example/x'
    assert run(url="", description=description).url == "https://rustfest.example/2026/"


def test_a_google_redirect_is_unwrapped_and_html_unescaped() -> None:
    description = (
        'Treffen der offenen OK Lab Gruppe. Informationen auf&nbsp;<a href="https://www.google.com/url?'
        'q=http%3A%2F%2Fwww.oklab-potsdam.de%2Ftreffen%3Fa%3D1%26b%3D2&amp;sa=D&amp;usd=2&amp;usg=AFQjCNH4" '
        'target="_blank">www.oklab-potsdam.de</a>'
    )
    assert run(url="", description=description).url == "http://www.oklab-potsdam.de/treffen?a=1&b=2"


def test_html_entities_in_an_href_are_unescaped() -> None:
    description = '<a href="https://example.org/event?id=7&amp;lang=en">Event</a>'
    assert run(url="", description=description).url == "https://example.org/event?id=7&lang=en"


def test_a_plain_text_bare_link_ends_before_sentence_punctuation() -> None:
    description = "Sign up at https://rust.example.org/meetups/may. See you there!"
    assert run(url="", description=description).url == "https://rust.example.org/meetups/may"


def test_no_link_anywhere_is_a_warning_not_a_lost_event() -> None:
    result = normalize(raw(url="", description="Bring a laptop.", location="Tokyo, Japan"))
    assert result.event.url == ""
    assert [w for w in result.warnings if "no event link" in w]


def test_organizer_from_organized_by_anchor() -> None:
    description = (
        '<a href="https://rust.example.org/events/42">Talk night</a><br>'
        'Organized by <a href="https://rust-berlin.example.org/">Rust Berlin</a>'
    )
    event = run(url="", description=description)
    assert (event.organizer, event.organizer_url) == ("Rust Berlin", "https://rust-berlin.example.org/")
    assert event.url == "https://rust.example.org/events/42"


def test_organizer_overrides_from_config_win() -> None:
    description = 'Organized by <a href="https://rust-berlin.example.org/">Rust Berlin</a>'
    overrides = Overrides(organizer="Rust Community Berlin", organizer_url="https://berline.rs/")
    event = normalize(raw(description=description), overrides).event
    assert (event.organizer, event.organizer_url) == ("Rust Community Berlin", "https://berline.rs/")


def test_organizer_inferred_from_a_meetup_event_link() -> None:
    event = run(url="https://www.meetup.com/Rust-Berlin/events/312345678/?utm_source=ical")
    assert event.url == "https://www.meetup.com/rust-berlin/events/312345678/"
    assert event.organizer_url == "https://www.meetup.com/rust-berlin"
    assert event.organizer == "Rust Berlin"


def test_organizer_link_from_the_description_is_not_taken_for_the_event_link() -> None:
    description = (
        'Organized by <a href="https://www.meetup.com/rust-nyc/">Rust NYC</a>\n'
        "RSVP: https://www.meetup.com/rust-nyc/events/300000001/"
    )
    event = run(url="", description=description)
    assert event.url == "https://www.meetup.com/rust-nyc/events/300000001/"
    assert event.organizer == "Rust NYC"


def test_zero_width_characters_and_entities_leave_the_title() -> None:
    event = run(title="\u200b Rust\u200b Meetup &amp; Pizza\ufeff \u2060")
    assert event.title == "Rust Meetup & Pizza"


def test_a_title_of_nothing_but_invisible_characters_gets_a_placeholder_and_a_warning() -> None:
    result = normalize(raw(title="\u200b \ufeff"))
    assert result.event.title
    assert any("no title" in warning for warning in result.warnings)


def link_targets(block: str) -> set[str]:
    """Every link destination a CommonMark renderer finds in the block."""
    tokens = MarkdownIt("commonmark").parse(block)
    return {str(child.attrs["href"]) for token in tokens for child in token.children or () if child.type == "link_open"}


def rendered(event: Event) -> str:
    window = issue_window(event.first_day)
    return render_block(window, [("Europe", [event])], DEFAULT_STATES)


def test_a_title_trying_to_inject_markdown_stays_inside_its_link() -> None:
    title = "Evil](https://evil.example/) [**pwned** `x` | y*"
    event = run(title=title, location="Berlin, Germany")
    block = rendered(event)
    [item] = parse_block(block)
    assert item.title == title
    assert item.url == LINK
    assert item.where == "Berlin, DE"
    assert "https://evil.example/" not in link_targets(block)


def test_a_multi_line_title_is_one_line() -> None:
    event = run(title="Rust Meetup\n* [fake](https://evil.example/)", location="Berlin, Germany")
    assert "\n" not in event.title
    block = rendered(event)
    [item] = parse_block(block)
    assert item.url == LINK
    assert "https://evil.example/" not in link_targets(block)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,x"])
def test_a_script_url_is_never_printed(bad: str) -> None:
    result: Normalized = normalize(
        raw(
            url=bad,
            organizer_url=bad,
            description=f'<a href="{bad}">click</a> Organized by <a href="{bad}">Mallory</a>',
            location="Berlin, Germany",
        )
    )
    event = result.event
    assert event.url == ""
    assert event.organizer_url == ""
    block = rendered(event)
    assert "javascript" not in block.lower()
    assert "data:" not in block
    assert all(target.startswith("https://") or target.startswith("mailto:") for target in link_targets(block))


def test_a_script_url_falls_through_to_the_next_safe_link() -> None:
    description = '<a href="javascript:alert(1)">click</a> then <a href="https://rust.example.org/real">real</a>'
    assert run(url="javascript:alert(1)", description=description).url == "https://rust.example.org/real"


def test_key_and_sources_name_the_source() -> None:
    event = run(source="Rust Calendar", key="abc@google.com/20260506T170000Z")
    assert event.key == "Rust Calendar:abc@google.com/20260506T170000Z"
    assert event.sources == ("Rust Calendar",)
    assert event.source == "Rust Calendar"


def test_description_is_plain_text() -> None:
    event = run(description="<p>Talks:<br>1. <b>Async</b> &amp; more</p>")
    assert event.description == "Talks:\n1. Async & more"


def test_times_in_the_zone_of_a_tzid_berlin_event() -> None:
    start = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    event = run(start=start, timezone="Europe/Berlin", location="Berlin, Germany")
    assert event.start == start
    assert event.end == start


def test_a_script_organizer_url_falls_through_to_the_organizer_link_in_the_description() -> None:
    description = 'Organized by <a href="https://rust-berlin.example.org/">Rust Berlin</a>'
    event = run(organizer_url="javascript:alert(1)", description=description)
    assert (event.organizer, event.organizer_url) == ("Rust Berlin", "https://rust-berlin.example.org/")


def test_a_description_is_parsed_once_for_all_its_questions_and_occurrences() -> None:
    from aggregator import text

    description = (
        '<p>Organized by <a href="https://rust.example.org/">Rust Example</a></p>'
        '<p>Talks: <a href="https://rust.example.org/events/43">details</a></p>'
    )
    text.read.cache_clear()
    events = [run(key=f"uid-{day}", url="", location="", description=description) for day in range(5)]
    assert text.read.cache_info().misses == 1
    assert {(e.url, e.organizer, e.organizer_url) for e in events} == {
        ("https://rust.example.org/events/43", "Rust Example", "https://rust.example.org/")
    }
