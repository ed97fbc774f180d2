"""The jsonld source on real pages (read in place from ../shared) and hand-written pretix/hasgeek-like pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from aggregator.model import Mode, RawEvent
from aggregator.tomltable import Table
from sources.base import SourceError, SourceResult, Span
from sources.http import Http
from sources.jsonld import NO_EVENT, JsonLdSource, from_config, parse_page, parse_when

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "jsonld"
OWN = Path(__file__).resolve().parent / "fixtures" / "jsonld"
ALL_TIME = Span(date(2020, 1, 1), date(2030, 12, 31))
BST = timezone(timedelta(hours=1))


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def serve(httpserver: HTTPServer, path: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


def fetch(httpserver: HTTPServer, body: bytes, span: Span = ALL_TIME, path: str = "/events/") -> SourceResult:
    return JsonLdSource("page", serve(httpserver, path, body)).fetch(Http(), span)


def fetch_own(httpserver: HTTPServer, name: str, span: Span = ALL_TIME) -> SourceResult:
    return fetch(httpserver, (OWN / name).read_bytes(), span)


def by_title(result: SourceResult) -> dict[str, RawEvent]:
    return {raw.title: raw for raw in result.events}


def test_eventbrite_item_list_keeps_local_offsets(httpserver: HTTPServer) -> None:
    result = fetch(httpserver, real("eventbrite-organizer-page-2025-05.html"))
    assert result.warnings == []
    assert len(result.events) == 24
    events = by_title(result)
    talk = events["Intersex Liberation - In Conversation with Juliana Gleeson"]
    assert talk.start == datetime(2025, 6, 3, 19, tzinfo=BST)
    assert isinstance(talk.start, datetime) and talk.start.utcoffset() == timedelta(hours=1)
    assert talk.end == datetime(2025, 6, 3, 21, tzinfo=BST)
    assert (
        talk.url
        == "https://www.eventbrite.co.uk/e/intersex-liberation-in-conversation-with-juliana-gleeson-tickets-1367007810159"
    )
    assert talk.organizer == "Queer Lit & Social Refuge"
    assert talk.organizer_url == "https://www.eventbrite.co.uk/o/queer-lit-social-refuge-48062165483"
    assert talk.mode is Mode.IN_PERSON
    assert talk.place is not None
    assert (talk.place.city, talk.place.state, talk.place.country) == ("Ancoats", "England", "GB")
    assert talk.place.latitude == pytest.approx(53.48422)
    assert talk.place.longitude == pytest.approx(-2.2314114)
    assert talk.location == "Social Refuge, 27 Great Ancoats Street, Ancoats, M4 5AJ, England, GB"
    assert "series_end" not in talk.extra
    assert len({raw.key for raw in result.events}) == 24


def test_eventbrite_series_is_read_as_its_first_occurrence(httpserver: HTTPServer) -> None:
    events = by_title(fetch(httpserver, real("eventbrite-organizer-page-2025-05.html")))
    quiz = events["Ancoats Quiz Night"]
    # Listed as 2024-10-03T19:00:00+0100 .. 2025-12-18T22:00:00+0000 (the last occurrence).
    assert quiz.start == datetime(2024, 10, 3, 19, tzinfo=BST)
    assert quiz.end == datetime(2024, 10, 3, 22, tzinfo=BST)
    assert quiz.extra["series_end"] == "2025-12-18T22:00:00+00:00"
    poetry = events["Queer Poetry Upfront"]
    assert poetry.start == datetime(2025, 3, 14, 18, tzinfo=UTC)
    assert poetry.end == datetime(2025, 3, 14, 19, 30, tzinfo=UTC)


def test_span_keeps_only_overlapping_events_with_a_day_of_slack(httpserver: HTTPServer) -> None:
    result = fetch(httpserver, real("eventbrite-organizer-page-2025-05.html"), Span(date(2025, 6, 4), date(2025, 6, 6)))
    titles = {raw.title for raw in result.events}
    assert titles == {
        "Intersex Liberation - In Conversation with Juliana Gleeson",
        "Queer Lit Book Club: June",
        "Bearded Brutes - Art Sale & Auction for The George House Trust.",
        "Write That Novel: A writers workshop",
        "Open Mic Cabaret With Live Piano -Gay or European.",
    }


def test_outsavvy_malformed_timestamps_are_repaired(httpserver: HTTPServer) -> None:
    result = fetch(httpserver, real("outsavvy-event-page-2025-09.html"))
    assert result.warnings == []
    (event,) = result.events
    assert event.title == "COMMUNICATION IN DATING - 4/7 Queer Zine Dating Workshop Series"
    assert event.start == datetime(2025, 9, 27, 12, 30, tzinfo=BST)
    assert event.end == datetime(2025, 9, 27, 14, 30, tzinfo=BST)
    assert event.place is not None
    assert (event.place.city, event.place.country) == ("London", "")
    assert event.location == "The Albany, Douglas Way, London, SE8 4AG, England"
    assert event.organizer == "A Whole Orange"
    assert event.cancelled is False
    assert "&amp;" not in event.description
    assert "Dating & relationships" in event.description


def test_wordpress_date_only_event_and_string_address(httpserver: HTTPServer) -> None:
    result = fetch(httpserver, real("heartoftorbay-events-calendar-wp-2022-11.html"))
    assert result.warnings == []
    (event,) = result.events
    assert event.title == "Tidy Home Tidy Mind Support Group (Monthly)"
    assert event.start == date(2022, 11, 25)
    assert event.end == date(2022, 11, 26)
    assert event.location == "TheBoathouse, Marine Drive, Paignton, TQ3 2NJ"
    assert event.place is None
    assert event.url.endswith("?occurrence=2022-11-25&time=1669374000")
    assert (event.organizer, event.organizer_url) == ("Heart of Torbay CIC", "")


def test_pretix_hybrid_place_and_virtual_location(httpserver: HTTPServer) -> None:
    result = fetch_own(httpserver, "pretix-hybrid.html")
    assert result.warnings == []
    (event,) = result.events
    assert event.title == "Rust Hack & Learn Karlsruhe \u2013 Mai"
    assert event.mode is Mode.HYBRID
    assert event.start == datetime(2026, 5, 20, 18, 30, tzinfo=timezone(timedelta(hours=2)))
    assert event.place is not None
    assert (event.place.city, event.place.state, event.place.country) == ("Karlsruhe", "BW", "Germany")
    assert event.location == "Digitalwerk, Kaiserstraße 12, Karlsruhe, 76133, BW, Germany"
    assert event.extra["online_url"] == "https://meet.jit.si/rust-hack-and-learn-ka"
    assert event.description == "Gemeinsam Rust lernen & an Projekten arbeiten.\n\nAuch online dabei."
    assert event.organizer == "Rust Meetup Karlsruhe"


def test_hasgeek_online_event_with_a_list_of_types(httpserver: HTTPServer) -> None:
    (event,) = fetch_own(httpserver, "hasgeek-online.html").events
    assert event.mode is Mode.VIRTUAL
    assert event.url == "https://hasgeek.com/rustindia/async-deep-dive/"
    assert event.start == datetime(2026, 6, 6, 10, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert event.location == ""
    assert event.place is None
    assert (event.organizer, event.organizer_url) == ("Rust India", "https://hasgeek.com/rustindia")


def test_graph_subtypes_status_and_duplicates(httpserver: HTTPServer) -> None:
    result = fetch_own(httpserver, "conference-graph.html")
    assert result.warnings == []
    assert sorted(raw.title for raw in result.events) == [
        "Community meetup",
        "RustDays Amsterdam 2026",
        "RustDays Hackathon",
        "Speakers' dinner",
    ]
    events = by_title(result)
    conference = events["RustDays Amsterdam 2026"]
    assert (conference.start, conference.end) == (date(2026, 7, 1), date(2026, 7, 4))
    assert conference.url == "https://rustdays.example.org/#conference"
    dinner = events["Speakers' dinner"]
    assert dinner.cancelled is True
    assert dinner.location == "Restaurant De Kas, Amsterdam"
    assert dinner.end is None
    meetup = events["Community meetup"]
    assert meetup.mode is Mode.VIRTUAL
    assert meetup.start == datetime(2026, 7, 2, 18, 30)
    assert meetup.end == datetime(2026, 7, 2, 21)
    assert meetup.url == httpserver.url_for("/meetup/")
    hackathon = events["RustDays Hackathon"]
    assert hackathon.end == datetime(2026, 6, 30, 18, tzinfo=timezone(timedelta(hours=2)))
    assert hackathon.place is not None
    assert hackathon.place.latitude == pytest.approx(52.3703)
    assert hackathon.mode is None


def test_top_level_array_with_utc_times(httpserver: HTTPServer) -> None:
    events = by_title(fetch_own(httpserver, "meetup-array-2023.html"))
    talks = events["Rust NYC: Talks night"]
    assert talks.start == datetime(2023, 9, 12, 23, tzinfo=UTC)
    assert talks.place is not None
    assert (talks.place.city, talks.place.state, talks.place.country) == ("New York", "NY", "us")
    assert talks.location == "Datadog, 620 8th Ave, New York, NY, us"
    assert events["Rust NYC: Online reading group"].mode is Mode.VIRTUAL


def test_malformed_block_is_skipped_and_the_good_one_survives(httpserver: HTTPServer) -> None:
    result = fetch_own(httpserver, "malformed-block.html")
    assert [raw.title for raw in result.events] == ["Rust Belfast: May social"]
    (warning,) = result.warnings
    assert warning.startswith("page: skipped JSON-LD block 1: not valid JSON (")


def test_bad_events_become_warnings_and_the_rest_load(httpserver: HTTPServer) -> None:
    result = fetch_own(httpserver, "bad-items.html")
    assert sorted(raw.title for raw in result.events) == ["End before start", "Rust Lisbon: May meetup"]
    assert by_title(result)["End before start"].end is None
    assert result.warnings == [
        "page: skipped event 'No start date': no startDate",
        "page: skipped event 'Impossible month': bad startDate '2026-13-01T18:00:00+01:00': month must be in 1..12",
        "page: skipped event 'Extra field': bad startDate '2026-05-04T18:00:15:42+01:00': "
        "ambiguous extra time field ':42'",
        "page: skipped event #4: no name",
        "page: event 'End before start': ignored endDate '2026-05-06T17:00:00+01:00': not after the startDate",
    ]


def test_page_without_events_is_an_error(httpserver: HTTPServer) -> None:
    with pytest.raises(SourceError, match=f"^{NO_EVENT}$"):
        fetch_own(httpserver, "no-events.html")


def test_page_whose_only_block_is_broken_says_so(httpserver: HTTPServer) -> None:
    body = b'<html><head><script type="application/ld+json">{"@type": "Event",</script></head></html>'
    with pytest.raises(SourceError, match=rf"^{NO_EVENT} \(1 JSON-LD block did not parse\)$"):
        fetch(httpserver, body)


def test_missing_page_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone/").respond_with_data("not here", status=404)
    with pytest.raises(SourceError, match=r"^HTTP 404 from http://.*/gone/$"):
        JsonLdSource("page", httpserver.url_for("/gone/")).fetch(Http(), ALL_TIME)


def test_empty_page_is_an_error(httpserver: HTTPServer) -> None:
    with pytest.raises(SourceError, match=r"^empty page"):
        fetch(httpserver, b"  \n")


def test_declared_charset_is_used(httpserver: HTTPServer) -> None:
    page = '<script type="application/ld+json">{"@type": "Event", "name": "Rust Zürich", "startDate": "2026-05-01"}'
    page += "</script>"
    url = serve(httpserver, "/latin/", page.encode("latin-1"), "text/html; charset=iso-8859-1")
    (event,) = JsonLdSource("page", url).fetch(Http(), ALL_TIME).events
    assert event.title == "Rust Zürich"
    assert event.url == url
    assert event.key == f"{url}#Rust Zürich@2026-05-01"


def test_from_config_reads_a_relative_path(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes((OWN / "hasgeek-online.html").read_bytes())
    source = from_config("page", Table({"url": "page.html"}, tmp_path / "config.toml", "source[0]"), tmp_path)
    assert source.url == (tmp_path / "page.html").as_uri()
    (event,) = source.fetch(Http(), ALL_TIME).events
    assert event.title == "Rust in Production: async deep dive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-03T19:00:00+0100", datetime(2024, 10, 3, 19, tzinfo=BST)),
        ("2024-10-03T19:00:00+01:00", datetime(2024, 10, 3, 19, tzinfo=BST)),
        ("2023-09-12T23:00:00.000Z", datetime(2023, 9, 12, 23, tzinfo=UTC)),
        ("2026-07-02T18:30", datetime(2026, 7, 2, 18, 30)),
        ("2025-09-27T12:30:00:00+01:00", datetime(2025, 9, 27, 12, 30, tzinfo=BST)),
        ("2025-07-15T14:45:49:49+01:00", datetime(2025, 7, 15, 14, 45, 49, tzinfo=BST)),
        (" 2022-11-25 ", date(2022, 11, 25)),
    ],
)
def test_parse_when_accepts_real_shapes(text: str, expected: date | datetime) -> None:
    assert parse_when(text) == expected
    assert type(parse_when(text)) is type(expected)


@pytest.mark.parametrize(
    "text", ["2025-09-27T12:30:15:42+01:00", "27/09/2025 12:30", "2025-09-27T12:30:00:00:00", "tomorrow", ""]
)
def test_parse_when_rejects_what_it_cannot_repair(text: str) -> None:
    with pytest.raises(ValueError):
        parse_when(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ("name", "startDate", "endDate", "url", "@id", "location", "organizer", "eventStatus", "geo", "description")


@settings(max_examples=150, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES | st.sampled_from(["2026-05-01", "9999-12-31"])),
    start=st.sampled_from(["2026-05-01T18:00:00+02:00", "9999-12-31T23:00:00", "0001-01-01", "2026-05-01"]),
)
def test_arbitrary_event_fields_never_crash(fields: dict[str, object], start: str) -> None:
    node = {"@type": "Event", "name": "Good", "startDate": start, **fields}
    good = {"@type": "Event", "name": "Neighbour", "startDate": "2026-05-02"}
    block = json.dumps([node, good]).replace("</", "<\\/")
    page = f'<html><head><script type="application/ld+json">{block}</script></head></html>'.encode()
    result = parse_page("page", page, "https://example.org/events/", Span(date.min, date.max))
    assert "Neighbour" in {raw.title for raw in result.events}
    assert all(line.startswith("page: ") for line in result.warnings)


@pytest.mark.parametrize(
    ("before", "after"),
    [("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("// the event, for search engines", "")],
)
def test_a_block_wrapped_in_comment_lines_is_read(before: str, after: str) -> None:
    block = json.dumps({"@type": "Event", "name": "Rust Meetup", "startDate": "2026-05-02"})
    page = f'<html><head><script type="application/ld+json">\n{before}\n{block}\n{after}\n</script></head></html>'
    result = parse_page("page", page.encode(), "https://example.org/events/", ALL_TIME)
    assert [raw.title for raw in result.events] == ["Rust Meetup"]
    assert result.warnings == []
