"""The Luma source against a local HTTP server: real API/ICS captures in place, plus small hand-written pages."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.model import Mode, RawEvent
from aggregator.tomltable import ConfigError, Table
from sources.base import SourceError, SourceResult, Span
from sources.http import Http, HttpSettings
from sources.luma import MAX_PAGES, LumaSource, from_config

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "luma"
OWN = Path(__file__).resolve().parent / "fixtures" / "luma"
GIRONA = "cal-YjQVtnwkdU40fBI"
ITEMS = "/calendar/get-items"
ICS = "/ics/get"
MAY_2026 = Span(date(2026, 5, 1), date(2026, 6, 30))


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def page_query(calendar_id: str, cursor: str = "") -> dict[str, str]:
    query = {"calendar_api_id": calendar_id, "period": "future", "pagination_limit": "50"}
    if cursor:
        query["pagination_cursor"] = cursor
    return query


def serve_page(server: HTTPServer, body: bytes | str, calendar_id: str = GIRONA, cursor: str = "") -> None:
    server.expect_request(ITEMS, query_string=page_query(calendar_id, cursor)).respond_with_data(
        body, content_type="application/json"
    )


def serve_ics(server: HTTPServer, body: bytes, calendar_id: str = GIRONA) -> None:
    query = {"entity": "calendar", "id": calendar_id}
    server.expect_request(ICS, query_string=query).respond_with_data(body, content_type="text/calendar")


def source(server: HTTPServer, method: str = "auto", calendar_id: str = GIRONA, url: str = "") -> LumaSource:
    return LumaSource(
        name="Rust Girona",
        url=url or "https://lu.ma/rust-girona/",
        calendar_id=calendar_id,
        api_url=server.url_for("").rstrip("/"),
        method=method,
    )


def by_key(result: SourceResult) -> dict[str, RawEvent]:
    return {raw.key: raw for raw in result.events}


def fetch(server: HTTPServer, span: Span = MAY_2026, **kwargs: str) -> SourceResult:
    return source(server, **kwargs).fetch(Http(HttpSettings(retries=0)), span)


def local(value: date | datetime | None) -> datetime:
    assert isinstance(value, datetime)
    return value


# Real API captures (hackgreenville), read in place.


def test_real_api_page_keeps_each_event_in_its_own_zone(httpserver: HTTPServer) -> None:
    body = real("hackgreenville-luma-get-items.json")
    calendar_id = json.loads(body)["entries"][0]["calendar_api_id"]
    serve_page(httpserver, body, calendar_id)
    result = fetch(httpserver, Span(date(2025, 7, 1), date(2025, 7, 31)), calendar_id=calendar_id)
    assert result.warnings == []
    events = by_key(result)
    assert set(events) == {"evt-Q4H602NTIQhpdMv", "evt-RpMfSSJJq9u7mnd"}
    trip = events["evt-Q4H602NTIQhpdMv"]
    assert trip.title == "Furman Makerspace Field Trip"
    assert trip.timezone == "America/New_York"
    assert local(trip.start) == datetime(2025, 7, 12, 12, 30, tzinfo=ZoneInfo("America/New_York"))
    assert local(trip.start).utcoffset() == timedelta(hours=-4)
    assert local(trip.end) - local(trip.start) == timedelta(hours=1, minutes=30)
    assert trip.url == "https://luma.com/zadco7op"
    assert trip.location == "Furman University, 3300 Poinsett Hwy, Greenville, SC 29613, USA"
    assert trip.place is not None
    assert (trip.place.city, trip.place.state, trip.place.country) == ("Greenville", "South Carolina", "US")
    assert (trip.place.latitude, trip.place.longitude) == (34.9274688, -82.4400666)
    assert trip.mode is Mode.IN_PERSON
    assert trip.organizer == "Alt Computing Club"
    assert trip.organizer_url == "https://luma.com/rust-girona"
    assert trip.extra == {}
    # The OpenWorks evening (22:30 UTC) stays on its local date, not the next UTC day.
    assert local(events["evt-RpMfSSJJq9u7mnd"].start).date() == date(2025, 7, 16)


def test_real_external_entry_is_returned_with_its_foreign_url(httpserver: HTTPServer) -> None:
    body = real("hackgreenville-luma-get-items-external-event.json")
    calendar_id = json.loads(body)["entries"][0]["calendar_api_id"]
    serve_page(httpserver, body, calendar_id)
    result = fetch(httpserver, Span(date(2025, 10, 1), date(2025, 10, 31)), calendar_id=calendar_id)
    assert result.warnings == []
    (raw,) = result.events
    assert raw.key == "calev-hVsUvup9sHkpreA"
    assert raw.extra == {"platform": "external"}
    assert raw.url == "https://www.meetup.com/hack-greenville/events/310839956/"
    assert local(raw.start) == datetime(2025, 10, 21, 18, tzinfo=ZoneInfo("America/New_York"))
    assert local(raw.end) - local(raw.start) == timedelta(hours=2)
    assert raw.location == "101 North Main St, Suite 302 on 3rd Floor"
    assert raw.organizer == "HackGreenville"
    assert raw.organizer_url == ""


def test_real_event_owned_by_another_calendar_is_marked_cross_listed(httpserver: HTTPServer) -> None:
    body = real("hackgreenville-luma-get-items-not-manager-event.json")
    entry = json.loads(body)["entries"][0]
    assert entry["calendar_api_id"] != entry["event"]["calendar_api_id"]
    serve_page(httpserver, body, entry["calendar_api_id"])
    result = fetch(httpserver, Span(date(2025, 12, 1), date(2025, 12, 31)), calendar_id=entry["calendar_api_id"])
    (raw,) = result.events
    assert raw.extra == {"cross_listed": "1"}
    assert raw.organizer == "RefactorGVL"
    assert raw.organizer_url == "https://luma.com/RefactorGVL"
    assert local(raw.start).date() == date(2025, 12, 5)


# Real calendar ICS (Network School), read in place.


def test_real_ics_reads_every_event_with_utc_times_and_no_zone(httpserver: HTTPServer) -> None:
    body = real("nsnodes-luma-sample.ics")
    serve_ics(httpserver, body)
    result = fetch(httpserver, Span(date(2023, 1, 1), date(2025, 12, 31)), method="ics")
    assert result.warnings == []
    assert len(result.events) == body.count(b"BEGIN:VEVENT")
    assert all(raw.timezone == "" and not raw.cancelled for raw in result.events)
    assert all(local(raw.start).utcoffset() == timedelta(0) for raw in result.events)
    events = by_key(result)

    london = events["evt-qVaMCUXniGiHUoP"]
    assert london.title == "NETWORK STATE MEETUP, LONDON"
    assert london.location == "Newspeak House, 133 Bethnal Grn Rd, London E2 7DG, UK"
    assert london.url == "https://luma.com/nslondon"
    assert london.place is not None
    assert (london.place.latitude, london.place.longitude) == (51.525166, -0.071346)
    assert london.organizer == "Network School"
    assert london.extra == {}

    hidden = events["evt-hE163lNAasezbIA"]
    assert hidden.location == ""
    assert hidden.url == "https://luma.com/6p94n5i8"

    on_meetup = events["evt-jArh1CVXdapF7ga"]
    assert on_meetup.location == ""
    assert on_meetup.url.startswith("https://luma.com/")

    external = events["calev-vG3wexz4mtcmqXs"]
    assert external.extra == {"platform": "external"}
    assert external.title == "[SOC] #28 - Chartered Cities & Network States"
    assert external.url == "https://events.humanitix.com/soc-28-chartered-cities-and-network-states"
    assert external.location == ""
    assert external.organizer == "Origin Society + Weekly Web3 Workshops"


def test_real_ics_keeps_only_the_span(httpserver: HTTPServer) -> None:
    serve_ics(httpserver, real("nsnodes-luma-sample.ics"))
    span = Span(date(2025, 10, 20), date(2025, 10, 26))
    result = fetch(httpserver, span, method="ics")
    assert result.events
    slack = timedelta(days=1)
    for raw in result.events:
        assert span.start - slack <= local(raw.start).date() <= span.end + slack


# Hand-written API pages.


def serve_two_pages(server: HTTPServer) -> None:
    serve_page(server, (OWN / "page1.json").read_bytes())
    serve_page(server, (OWN / "page2.json").read_bytes(), cursor="cur-page-2")


def test_pages_are_followed_until_has_more_is_false(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    result = fetch(httpserver)
    events = by_key(result)
    assert set(events) == {"evt-LaEvening0001", "evt-Online000001", "evt-Girona000001", "evt-Cross0000001"}
    assert result.warnings == [
        "Rust Girona: skipped Luma entry evt-Broken000001: start_at is not an ISO date-time: 'next Tuesday'"
    ]


def test_evening_in_los_angeles_lands_on_its_local_date(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    raw = by_key(fetch(httpserver))["evt-LaEvening0001"]
    start = local(raw.start)
    assert start.astimezone(ZoneInfo("UTC")).date() == date(2026, 5, 8)
    assert start.date() == date(2026, 5, 7)
    assert (start.hour, start.minute) == (19, 0)
    assert raw.timezone == "America/Los_Angeles"
    assert raw.place is not None
    assert (raw.place.city, raw.place.state, raw.place.country) == ("San Francisco", "CA", "US")
    assert raw.url == "https://luma.com/rust-sf-may"


def test_online_event_is_virtual_without_a_place(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    raw = by_key(fetch(httpserver))["evt-Online000001"]
    assert raw.mode is Mode.VIRTUAL
    assert raw.place is None
    assert raw.location == ""
    assert local(raw.start) == datetime(2026, 5, 12, 19, tzinfo=ZoneInfo("Europe/Berlin"))


def test_obfuscated_address_gives_only_the_city(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    raw = by_key(fetch(httpserver))["evt-Girona000001"]
    assert raw.location == ""
    assert raw.place is not None
    assert (raw.place.city, raw.place.state, raw.place.country) == ("Girona", "Catalonia", "ES")
    assert raw.mode is Mode.IN_PERSON
    assert raw.organizer == "Rust Girona"


def test_event_of_another_luma_calendar_is_cross_listed(httpserver: HTTPServer) -> None:
    serve_two_pages(httpserver)
    raw = by_key(fetch(httpserver))["evt-Cross0000001"]
    assert raw.extra == {"cross_listed": "1"}
    assert raw.mode is None
    assert raw.organizer == "Rust Barcelona"
    assert raw.organizer_url == "https://luma.com/calendar/cal-RustBcnOther01"


def test_offline_event_with_a_meeting_link_is_hybrid_and_odd_durations_are_skipped(httpserver: HTTPServer) -> None:
    page = json.loads((OWN / "loop.json").read_text())
    hybrid = page["entries"][0]
    hybrid["event"]["meeting_url"] = "https://meet.google.com/abc-defg-hij"
    monthly = copy.deepcopy(hybrid)
    monthly["event"].update(api_id="evt-Monthly00001", end_at=None, duration_interval="P0Y1M0DT0H0M0S")
    page.update(entries=[hybrid, monthly], has_more=False)
    serve_page(httpserver, json.dumps(page))
    result = fetch(httpserver)
    assert [(raw.key, raw.mode) for raw in result.events] == [("evt-Loop00000001", Mode.HYBRID)]
    assert result.warnings == [
        "Rust Girona: skipped Luma entry evt-Monthly00001: "
        "duration_interval in years or months is ambiguous: 'P0Y1M0DT0H0M0S'"
    ]


def test_repeated_cursor_stops_paging_with_a_warning(httpserver: HTTPServer) -> None:
    loop = (OWN / "loop.json").read_bytes()
    serve_page(httpserver, loop)
    serve_page(httpserver, loop, cursor="cur-loop")
    result = fetch(httpserver)
    assert [raw.key for raw in result.events] == ["evt-Loop00000001"]
    assert result.warnings == ["Rust Girona: Luma API repeated page cursor 'cur-loop'; stopped paging"]
    assert len(httpserver.log) == 2


def test_endless_pages_stop_at_the_cap(httpserver: HTTPServer) -> None:
    template = json.loads((OWN / "loop.json").read_text())

    def endless(request: Request) -> Response:
        number = int(request.args.get("pagination_cursor", "cur-0").removeprefix("cur-"))
        page = copy.deepcopy(template)
        page["entries"][0]["event"]["api_id"] = f"evt-Endless{number:05d}"
        page["next_cursor"] = f"cur-{number + 1}"
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(ITEMS).respond_with_handler(endless)
    result = fetch(httpserver)
    assert len(result.events) == MAX_PAGES
    assert result.warnings == [f"Rust Girona: Luma API has more than {MAX_PAGES} pages; read only those"]


def test_broken_second_page_fails_the_api(httpserver: HTTPServer) -> None:
    serve_page(httpserver, (OWN / "page1.json").read_bytes())
    serve_page(httpserver, '{"entries": [', cursor="cur-page-2")
    with pytest.raises(SourceError) as error:
        fetch(httpserver, method="api")
    assert str(error.value) == "Luma API page 2: not JSON (Expecting value at line 1)"


def test_has_more_without_a_cursor_fails_the_api(httpserver: HTTPServer) -> None:
    serve_page(httpserver, json.dumps({"entries": [], "has_more": True}))
    with pytest.raises(SourceError, match=r"^Luma API page 1: has_more is set but next_cursor is missing$"):
        fetch(httpserver, method="api")


# Bad input.


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            "Not Found",
            r"^Luma API: HTTP 404 from http://\S+/calendar/get-items\?calendar_api_id=cal-YjQVtnwkdU40fBI&\S+$",
        ),
        (429, '{"message": "Too many requests"}', r"^Luma API: HTTP 429 from "),
        (200, "<html><body>Luma</body></html>", r"^Luma API page 1: not JSON \(Expecting value at line 1\)$"),
        (200, '{"message": "Calendar not found"}', r"^Luma API page 1: no entries list in the response "),
        (200, '{"items": [], "has_more": false}', r"\(keys: has_more, items\)$"),
        (200, "[]", r"\(got a JSON list\)$"),
    ],
)
def test_bad_api_responses_raise_one_line(httpserver: HTTPServer, status: int, body: str, message: str) -> None:
    httpserver.expect_request(ITEMS).respond_with_data(body, status=status)
    with pytest.raises(SourceError, match=message) as error:
        fetch(httpserver, method="api")
    assert "\n" not in str(error.value)


def test_api_whose_entries_are_all_unreadable_fails(httpserver: HTTPServer) -> None:
    serve_page(httpserver, json.dumps({"entries": [{"api_id": "calev-x", "event": None}], "has_more": False}))
    with pytest.raises(SourceError, match=r"^Luma API: none of its 1 entries could be read \(entry calev-x: no event"):
        fetch(httpserver, method="api")


def test_empty_calendar_is_not_an_error(httpserver: HTTPServer) -> None:
    serve_page(httpserver, json.dumps({"entries": [], "has_more": False}))
    assert fetch(httpserver, method="api") == SourceResult()


# Fallback to the calendar ICS.


def test_auto_falls_back_to_the_ics_with_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(ITEMS).respond_with_data("upstream error", status=502)
    serve_ics(httpserver, (OWN / "calendar.ics").read_bytes())
    result = fetch(httpserver)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("Rust Girona: Luma API: HTTP 502 from ")
    assert result.warnings[0].endswith("; read the calendar ICS instead (no event time zones)")
    events = by_key(result)
    assert set(events) == {"evt-Girona000001", "evt-Cancelled0001"}
    girona = events["evt-Girona000001"]
    assert girona.location == "Espai Gironès, Carrer de la Rutlla 20, 17002 Girona, Spain"
    assert girona.url == "https://luma.com/rust-girona-maig"
    assert girona.place is not None
    assert (girona.place.latitude, girona.place.longitude) == (41.9794, 2.8214)
    assert girona.timezone == ""
    assert girona.organizer == "Rust Girona"
    assert "Hosted by Rust Girona" in girona.description
    assert not girona.cancelled
    assert events["evt-Cancelled0001"].cancelled
    assert events["evt-Cancelled0001"].location == ""


def test_auto_falls_back_when_the_api_answers_nonsense(httpserver: HTTPServer) -> None:
    serve_page(httpserver, '{"error": "calendar not found"}')
    serve_ics(httpserver, (OWN / "calendar.ics").read_bytes())
    result = fetch(httpserver)
    assert "no entries list in the response (message: calendar not found)" in result.warnings[0]
    assert len(result.events) == 2


def test_api_method_never_reads_the_ics(httpserver: HTTPServer) -> None:
    httpserver.expect_request(ITEMS).respond_with_data("", status=500)
    serve_ics(httpserver, (OWN / "calendar.ics").read_bytes())
    with pytest.raises(SourceError, match=r"^Luma API: HTTP 500 from "):
        fetch(httpserver, method="api")
    assert all(request.path == ITEMS for request, _ in httpserver.log)


def test_both_failing_names_both_causes_in_one_line(httpserver: HTTPServer) -> None:
    httpserver.expect_request(ITEMS).respond_with_data("", status=503)
    httpserver.expect_request(ICS).respond_with_data("Not Found", status=404)
    with pytest.raises(SourceError) as error:
        fetch(httpserver)
    message = str(error.value)
    assert message.startswith("Luma API: HTTP 503 from ")
    assert "; ICS fallback failed too: Luma ICS: HTTP 404 from " in message
    assert "\n" not in message


def test_ics_that_is_not_a_calendar_fails(httpserver: HTTPServer) -> None:
    serve_ics(httpserver, b"<html>Luma</html>")
    with pytest.raises(SourceError, match=r"^Luma ICS: not "):
        fetch(httpserver, method="ics")


# Configuration.


def table(**data: object) -> Table:
    return Table({"name": "Rust Girona", "type": "luma", **data}, Path("/cfg/config.toml"), "source[0]")


def test_config_reads_its_keys() -> None:
    spec = table(url="https://luma.com/rust-girona", calendar_id=GIRONA, api_url="http://127.0.0.1:9/", method="ics")
    built = from_config("Rust Girona", spec, Path("/cfg"))
    assert built == LumaSource("Rust Girona", "https://luma.com/rust-girona", GIRONA, "http://127.0.0.1:9", "ics")


def test_config_defaults_and_id_from_a_calendar_url() -> None:
    built = from_config("x", table(url="https://luma.com/calendar/cal-bif2oHITU1aVvsr"), Path("/cfg"))
    assert (built.calendar_id, built.api_url, built.method) == ("cal-bif2oHITU1aVvsr", "https://api.lu.ma", "auto")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://luma.com/rust-girona"}, r"source\[0\]\.calendar_id: required key is missing"),
        ({"url": "https://luma.com/rust-girona", "calendar_id": "rust-girona"}, r"calendar_id: expected a Luma"),
        ({"url": "luma.com/rust-girona", "calendar_id": GIRONA}, r"url: expected the calendar's http\(s\) page"),
        ({"url": "https://luma.com/x", "calendar_id": GIRONA, "api_url": "ftp://x"}, r"api_url: expected an http"),
        ({"url": "https://luma.com/x", "calendar_id": GIRONA, "method": "scrape"}, r"method: expected one of auto"),
    ],
)
def test_config_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_config("x", table(**data), Path("/cfg"))
