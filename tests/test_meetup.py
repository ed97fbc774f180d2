"""The meetup source against a local server: events pages, the group iCal feed and the gql-ext API."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.model import Mode, Place, RawEvent
from aggregator.tomltable import ConfigError, Table
from sources.base import SourceError, Span
from sources.http import Http, HttpSettings
from sources.meetup import (
    JWT_BEARER,
    GroupNotFoundError,
    GroupUrl,
    MeetupSource,
    from_config,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "meetup"
REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "meetup"
MARCH_2026 = Span(date(2026, 3, 1), date(2026, 3, 31))
JANUARY_2020 = Span(date(2020, 1, 1), date(2020, 1, 31))
LONDON_ICAL = "meetup-group-events-ical-2026-01.ics"
LONDON = "london-bisexual-women-games-wine-group"


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their own Meetup credentials; the machine's never leak in."""
    for variable in (
        "MEETUP_ACCESS_TOKEN",
        "MEETUP_CLIENT_KEY",
        "MEETUP_MEMBER_ID",
        "MEETUP_AUTHORIZED_MEMBER_ID",
        "MEETUP_SIGNING_KEY_ID",
        "MEETUP_PRIVATE_KEY",
        "MEETUP_PRIVATE_KEY_PATH",
    ):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def http() -> Iterator[Http]:
    with Http(HttpSettings(retries=0)) as client:
        yield client


def source(server: HTTPServer, urlname: str, method: str = "auto", **settings: Any) -> MeetupSource:
    table = Table(
        {"url": server.url_for(f"/{urlname}/"), "method": method, "api_url": server.url_for("/gql-ext"), **settings},
        Path("config.toml"),
        "source[0]",
    )
    return from_config(f"meetup: {urlname}", table, Path())


def by_key(events: list[RawEvent]) -> dict[str, RawEvent]:
    keyed = {raw.key: raw for raw in events}
    assert len(keyed) == len(events), "keys must be unique"
    return keyed


def requested(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


# Group URLs and settings.


@pytest.mark.parametrize(
    "url",
    [
        "https://www.meetup.com/rust-berlin/",
        "https://www.meetup.com/Rust-Berlin",
        "https://meetup.com/rust-berlin/events/",
        "https://www.meetup.com/es-ES/rust-berlin/",
        "https://www.meetup.com/de-DE/Rust-Berlin/events/312000101/",
    ],
)
def test_every_address_comes_from_the_group_url(url: str) -> None:
    group = GroupUrl.parse(url)
    assert group.urlname == "rust-berlin"
    assert group.page_url == f"https://{group.host}/rust-berlin/events/"
    assert group.ical_url == f"https://{group.host}/rust-berlin/events/ical/"


def test_a_two_letter_group_is_not_taken_for_a_locale() -> None:
    assert GroupUrl.parse("https://www.meetup.com/js/events/").urlname == "js"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "https://www.meetup.com/"}, "source[0].url: no group name"),
        ({"url": "rust-berlin"}, "source[0].url: expected an http(s) meetup group URL"),
        ({"url": "https://www.meetup.com/rust-berlin/", "method": "rss"}, "source[0].method: expected one of"),
        ({"url": "https://www.meetup.com/rust-berlin/", "max_wait": -1}, "source[0].max_wait: must not be negative"),
        ({"url": "https://www.meetup.com/rust-berlin/", "api_url": "api.meetup.com"}, "source[0].api_url: expected"),
    ],
)
def test_bad_settings_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_config("meetup", Table(settings, Path("config.toml"), "source[0]"), Path())


# The events page.


def test_page_reads_every_kind_of_event_from_the_apollo_state(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(
        fixture("rust-nyc-events.html"), content_type="text/html"
    )
    result = source(httpserver, "rust-nyc", "page").fetch(http, MARCH_2026)

    events = by_key(result.events)
    # The 2027 event is outside the span, the Go NYC event belongs to another group, 312000107 has no date.
    assert set(events) == {"312000101", "312000102", "wqzhftyjcmbdb", "312000104", "312000105"}
    assert len(result.warnings) == 1
    assert "Event:312000107" in result.warnings[0]
    assert "dateTime" in result.warnings[0]

    physical = events["312000101"]
    eastern = timezone(timedelta(hours=-5))
    assert physical.start == datetime(2026, 3, 3, 19, 0, tzinfo=eastern)
    assert isinstance(physical.start, datetime)
    assert physical.start.date() == date(2026, 3, 3)  # 00:00 UTC on the 4th: the local day is kept
    assert physical.start.utcoffset() == timedelta(hours=-5)
    assert physical.end == datetime(2026, 3, 3, 21, 0, tzinfo=eastern)
    assert physical.mode is Mode.IN_PERSON
    assert physical.place == Place(city="New York", state="NY", country="us", latitude=40.7557, longitude=-73.9904)
    assert physical.location == "Datadog, 620 8th Ave"
    assert physical.timezone == "America/New_York"
    assert physical.title == "Rust NYC: Async in Practice"
    assert physical.url == "https://www.meetup.com/rust-nyc/events/312000101/"
    assert physical.organizer == "Rust NYC"
    assert physical.organizer_url == httpserver.url_for("/rust-nyc")
    assert not physical.cancelled


def test_online_event_gets_the_group_home_not_the_placeholder_venue(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-events.html"))
    events = by_key(source(httpserver, "rust-nyc", "page").fetch(http, MARCH_2026).events)

    online = events["312000102"]
    assert online.mode is Mode.VIRTUAL
    assert online.place == Place(city="New York", state="NY", country="us")
    assert online.location == ""
    assert online.end == online.start + timedelta(hours=1, minutes=30)  # from `duration`, no endTime

    hybrid = events["312000104"]  # an inline venue, not a reference
    assert hybrid.mode is Mode.HYBRID
    assert hybrid.place is not None
    assert (hybrid.place.city, hybrid.place.state) == ("Brooklyn", "NY")
    assert hybrid.location == "Recurse Center, 397 Bridge St"

    assert events["312000105"].cancelled
    series = events["wqzhftyjcmbdb"]
    assert series.url.endswith("/rust-nyc/events/wqzhftyjcmbdb/")
    assert isinstance(series.start, datetime)
    assert series.start.utcoffset() == timedelta(hours=-4)  # after the March DST change


def test_span_limits_what_the_page_returns(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-events.html"))
    result = source(httpserver, "rust-nyc", "page").fetch(http, Span(date(2026, 3, 16), date(2026, 3, 18)))
    assert sorted(raw.key for raw in result.events) == ["wqzhftyjcmbdb"]


def test_renamed_group_is_still_read_and_reported(httpserver: HTTPServer, http: Http) -> None:
    page = fixture("rust-nyc-events.html").decode()
    start = page.index('<script id="__NEXT_DATA__" type="application/json">') + len(
        '<script id="__NEXT_DATA__" type="application/json">'
    )
    end = page.index("</script>", start)
    next_data = json.loads(page[start:end])
    state = next_data["props"]["pageProps"]["__APOLLO_STATE__"]
    del state["Group:29001122"], state["Event:311888777"]  # only the group itself is left
    httpserver.expect_request("/rust-newyork/events/").respond_with_data(
        page[:start] + json.dumps(next_data) + page[end:]
    )
    result = source(httpserver, "rust-newyork", "page").fetch(http, MARCH_2026)
    assert len(result.events) == 5
    assert (
        result.warnings[0]
        == "meetup: rust-newyork: the page lists meetup group 'rust-nyc', not 'rust-newyork': renamed?"
    )


def test_real_2022_event_page_next_data(httpserver: HTTPServer, http: Http) -> None:
    next_data = real("sg-tech-events-finder-event-page-next-data-2022.json").decode()
    page = f'<html><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{next_data}</script>'
    httpserver.expect_request("/platform-engineers-nyc/events/").respond_with_data(page, content_type="text/html")
    result = source(httpserver, "platform-engineers-nyc", "page").fetch(http, Span(date(2022, 3, 1), date(2022, 3, 31)))

    assert result.warnings == []
    [event] = result.events
    assert event.key == "284092401"  # the cache key is `Event:284092401!chp`
    assert event.title == "Getting started with Kubernetes"
    assert event.start == datetime(2022, 3, 24, 14, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert event.end == datetime(2022, 3, 24, 15, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert event.timezone == "US/Eastern"
    assert event.mode is Mode.VIRTUAL  # isOnline, no eventType
    assert event.place == Place(country="us")  # the Tuvalu placeholder is not a place
    assert event.organizer == "Platform Engineers NYC"


def test_group_with_nothing_planned_is_not_an_error(httpserver: HTTPServer, http: Http) -> None:
    state = {"Group:1": {"__typename": "Group", "name": "Rust NYC", "urlname": "rust-nyc", "events({})": {"edges": []}}}
    next_data = json.dumps({"props": {"pageProps": {"__APOLLO_STATE__": state}}})
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(
        f'<html><script id="__NEXT_DATA__" type="application/json">{next_data}</script></html>'
    )
    result = source(httpserver, "rust-nyc").fetch(http, MARCH_2026)
    assert (result.events, result.warnings) == ([], [])
    assert requested(httpserver) == ["/rust-nyc/events/"]  # no iCal fallback


def test_page_with_only_json_ld(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-jsonld.html"))
    result = source(httpserver, "rust-nyc", "page").fetch(http, MARCH_2026)

    events = by_key(result.events)
    assert set(events) == {"312000101", "312000102"}
    assert "JSON-LD" in result.warnings[0]
    assert events["312000101"].start == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert events["312000101"].mode is Mode.IN_PERSON
    assert events["312000102"].mode is Mode.VIRTUAL
    assert events["312000101"].organizer_url == httpserver.url_for("/rust-nyc")


def test_page_without_events_data_names_the_group(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-no-data.html"))
    with pytest.raises(SourceError, match=r"no events data for meetup group 'rust-nyc'") as caught:
        source(httpserver, "rust-nyc", "page").fetch(http, MARCH_2026)
    assert "\n" not in str(caught.value)


def test_garbage_next_data(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-garbage-next-data.html"))
    with pytest.raises(SourceError, match=r"'rust-nyc'.*__NEXT_DATA__ is not valid JSON"):
        source(httpserver, "rust-nyc", "page").fetch(http, MARCH_2026)


def test_missing_group_is_an_error_without_fallback(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request("/gone-group/events/").respond_with_data("Not Found", status=404)
    with pytest.raises(GroupNotFoundError, match=r"meetup group 'gone-group' not found \(HTTP 404"):
        source(httpserver, "gone-group").fetch(http, MARCH_2026)
    assert requested(httpserver) == ["/gone-group/events/"]


# The iCal feed.


def test_real_ical_feed(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request(f"/{LONDON}/events/ical/").respond_with_data(
        real(LONDON_ICAL), content_type="text/calendar"
    )
    result = source(httpserver, LONDON, "ical").fetch(http, Span(date(2026, 1, 26), date(2026, 2, 28)))

    assert result.warnings == []
    events = by_key(result.events)
    assert set(events) == {"310825987", "310827369"}
    first = events["310825987"]
    assert first.title.startswith("London Bisexual Women Games, Snacks & Wine Night")
    assert first.organizer == "London Bisexual Women Games, Snacks & Wine Group"
    assert first.organizer_url == httpserver.url_for(f"/{LONDON}")
    assert first.url == f"https://www.meetup.com/{LONDON}/events/310825987/"
    assert first.timezone == "Europe/London"
    assert isinstance(first.start, datetime)
    assert (first.start.date(), first.start.hour) == (date(2026, 1, 30), 19)
    assert first.location == "" and first.place is None
    assert first.description and not first.description.startswith(first.organizer)


def test_auto_falls_back_to_ical_when_the_page_has_no_data(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request(f"/{LONDON}/events/").respond_with_data(fixture("rust-nyc-no-data.html"))
    httpserver.expect_request(f"/{LONDON}/events/ical/").respond_with_data(real(LONDON_ICAL))
    result = source(httpserver, LONDON).fetch(http, Span(date(2026, 4, 1), date(2026, 4, 30)))

    assert [raw.key for raw in result.events] == ["312612203"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"meetup: {LONDON}: no events data")
    assert "iCal feed" in result.warnings[0]


def test_auto_falls_back_to_ical_on_garbage_next_data(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request(f"/{LONDON}/events/").respond_with_data(fixture("rust-nyc-garbage-next-data.html"))
    httpserver.expect_request(f"/{LONDON}/events/ical/").respond_with_data(real(LONDON_ICAL))
    result = source(httpserver, LONDON).fetch(http, Span(date(2026, 4, 1), date(2026, 4, 30)))
    assert [raw.key for raw in result.events] == ["312612203"]
    assert "not valid JSON" in result.warnings[0]


def test_when_page_and_ical_both_fail_both_reasons_are_given(httpserver: HTTPServer, http: Http) -> None:
    httpserver.expect_request(f"/{LONDON}/events/").respond_with_data(fixture("rust-nyc-no-data.html"))
    httpserver.expect_request(f"/{LONDON}/events/ical/").respond_with_data("<html>login</html>")
    with pytest.raises(SourceError, match=r"no events data .*; the iCal feed failed too: not a valid iCalendar"):
        source(httpserver, LONDON).fetch(http, MARCH_2026)


# The gql-ext API.


def gql_reply() -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(real("hackgreenville-gql-ext-groupByUrlname-v2.json"))
    return reply


def rate_limited(reset: datetime) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {"message": "Too many requests", "extensions": {"code": "RATE_LIMITED", "resetAt": reset.isoformat()}}
        ],
    }


def recording(replies: Callable[[dict[str, Any]], dict[str, Any]], seen: list[dict[str, Any]]) -> Any:
    def handle(request: Request) -> Response:
        body = request.get_json()
        seen.append(body)
        return Response(json.dumps(replies(body)), content_type="application/json")

    return handle


def test_api_with_an_access_token_reads_the_real_reply(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "token-from-env")
    seen: list[dict[str, Any]] = []
    # Read in the test's thread: a skip raised inside the server's handler would kill the shared server.
    reply = gql_reply()
    httpserver.expect_request(
        "/gql-ext", method="POST", headers={"Authorization": "Bearer token-from-env"}
    ).respond_with_handler(recording(lambda body: reply, seen))
    result = source(httpserver, "defcon864").fetch(http, JANUARY_2020)  # auto picks the API

    assert result.warnings == []
    assert requested(httpserver) == ["/gql-ext"]
    assert seen[0]["variables"] == {"urlname": "defcon864", "after": None}
    assert "groupByUrlname(urlname: $urlname)" in seen[0]["query"]
    events = by_key(result.events)
    assert set(events) == {edge["node"]["id"] for edge in reply["data"]["groupByUrlname"]["events"]["edges"]}

    hybrid = events["302190058"]
    assert hybrid.start == datetime(2020, 1, 11, 23, 59, tzinfo=timezone(timedelta(hours=-4)))
    assert isinstance(hybrid.start, datetime) and hybrid.start.date() == date(2020, 1, 11)  # the 12th in UTC
    assert hybrid.mode is Mode.HYBRID
    assert hybrid.place == Place(city="Greenville", state="SC", country="us", latitude=34.85202, longitude=-82.39968)
    assert hybrid.location == "OpenWorks, 101 N Main St #302"
    assert hybrid.organizer == "DC864 (DEF CON 864)"
    assert hybrid.organizer_url == httpserver.url_for("/defcon864")
    assert not hybrid.cancelled
    assert events["302190057"].cancelled
    assert events["pwdqjtygcnbfb"].mode is Mode.IN_PERSON
    assert events["pwdqjtygcnbfb"].location == "1508 Pelham Rd"
    online = events["pwdqjtygcpbkb"]
    assert (online.mode, online.place, online.location) == (Mode.VIRTUAL, None, "")


def test_api_follows_the_cursor(httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    whole = gql_reply()
    edges = whole["data"]["groupByUrlname"]["events"]["edges"]

    def page(body: dict[str, Any]) -> dict[str, Any]:
        reply = copy.deepcopy(whole)
        events = reply["data"]["groupByUrlname"]["events"]
        second = body["variables"]["after"] == "page-2"
        events["edges"] = edges[3:] if second else edges[:3]
        events["pageInfo"] = {"hasNextPage": not second, "endCursor": "end" if second else "page-2"}
        return reply

    seen: list[dict[str, Any]] = []
    httpserver.expect_request("/gql-ext", method="POST").respond_with_handler(recording(page, seen))
    result = source(httpserver, "defcon864", "api").fetch(http, JANUARY_2020)

    assert [body["variables"]["after"] for body in seen] == [None, "page-2"]
    assert len(result.events) == len(edges)


def test_api_stops_paging_past_the_span(httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    reply = gql_reply()
    events = reply["data"]["groupByUrlname"]["events"]
    by_id = {edge["node"]["id"]: edge for edge in events["edges"]}
    events["edges"] = [by_id["pwdqjtygcnbfb"], by_id["pwdqjtygcmbhb"], by_id["mfuaiakmcxuzjsd"]]  # 3rd, 5th, 10th
    events["pageInfo"] = {"hasNextPage": True, "endCursor": "more"}
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(reply)

    result = source(httpserver, "defcon864", "api").fetch(http, Span(date(2020, 1, 1), date(2020, 1, 5)))
    assert requested(httpserver) == ["/gql-ext"]
    assert sorted(raw.key for raw in result.events) == ["pwdqjtygcmbhb", "pwdqjtygcnbfb"]


def test_api_waits_out_a_rate_limit_then_succeeds(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    httpserver.expect_oneshot_request("/gql-ext", method="POST").respond_with_json(
        rate_limited(datetime.now(UTC) + timedelta(seconds=0.4))
    )
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(gql_reply())

    began = time.monotonic()
    result = source(httpserver, "defcon864", "api", max_wait=5).fetch(http, JANUARY_2020)
    assert time.monotonic() - began >= 0.3
    assert len(result.events) == 6
    assert requested(httpserver) == ["/gql-ext", "/gql-ext"]


def test_api_rate_limit_twice_is_an_error_after_a_capped_wait(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(
        rate_limited(datetime.now(UTC) + timedelta(hours=1))
    )
    began = time.monotonic()
    with pytest.raises(SourceError, match="rate limit still exceeded"):
        source(httpserver, "defcon864", "api", max_wait=0.3).fetch(http, JANUARY_2020)
    assert 0.25 <= time.monotonic() - began < 3
    assert len(requested(httpserver)) == 2


def test_api_unknown_group(httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json({"data": {"groupByUrlname": None}})
    with pytest.raises(GroupNotFoundError, match=r"meetup group 'no-such-group' not found"):
        source(httpserver, "no-such-group", "api").fetch(http, JANUARY_2020)


def test_auto_lets_the_page_settle_a_group_the_api_does_not_know(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json({"data": {"groupByUrlname": None}})
    httpserver.expect_request("/no-such-group/events/").respond_with_data("Not Found", status=404)
    with pytest.raises(GroupNotFoundError, match=r"meetup group 'no-such-group' not found \(HTTP 404"):
        source(httpserver, "no-such-group").fetch(http, JANUARY_2020)
    assert requested(httpserver) == ["/gql-ext", "/no-such-group/events/"]  # and no iCal after a 404


def test_api_error_in_auto_falls_back_to_the_page(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "expired")
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(
        {"data": None, "errors": [{"message": "Invalid token", "extensions": {"code": "UNAUTHENTICATED"}}]}
    )
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-events.html"))
    result = source(httpserver, "rust-nyc").fetch(http, MARCH_2026)
    assert len(result.events) == 5
    assert result.warnings[0] == (
        "meetup: rust-nyc: Meetup API failed (Meetup API error: Invalid token); read the events page instead"
    )


def test_api_method_without_credentials(httpserver: HTTPServer, http: Http) -> None:
    with pytest.raises(SourceError, match="method 'api' needs MEETUP_ACCESS_TOKEN or MEETUP_CLIENT_KEY"):
        source(httpserver, "defcon864", "api").fetch(http, JANUARY_2020)


def test_api_reply_that_is_not_json(httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    httpserver.expect_request("/gql-ext", method="POST").respond_with_data("<html>502 Bad Gateway</html>")
    with pytest.raises(SourceError, match=r"Meetup API reply from .*/gql-ext is not JSON"):
        source(httpserver, "defcon864", "api").fetch(http, JANUARY_2020)


# The JWT flow.


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def jwt_env(monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    monkeypatch.setenv("MEETUP_CLIENT_KEY", client)
    monkeypatch.setenv("MEETUP_MEMBER_ID", "271828")
    monkeypatch.setenv("MEETUP_SIGNING_KEY_ID", "signing-key-1")


def signed_in(monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str]) -> tuple[str, str]:
    """JWT credentials with the private key in the environment, for a new client; its public key and name."""
    client = f"client-{uuid.uuid4()}"
    jwt_env(monkeypatch, client)
    monkeypatch.setenv("MEETUP_PRIVATE_KEY", key_pair[0])
    return key_pair[1], client


def token_endpoint(public: str, client: str, seen: list[dict[str, Any]]) -> Any:
    def handle(request: Request) -> Response:
        claims = {}
        if request.form.get("grant_type") == JWT_BEARER:
            assertion = request.form["assertion"]
            claims = jwt.decode(assertion, public, algorithms=["RS256"], audience="api.meetup.com", issuer=client)
            claims["kid"] = jwt.get_unverified_header(assertion).get("kid")
        seen.append(claims)
        return Response(json.dumps({"access_token": "exchanged", "expires_in": 3600}), content_type="application/json")

    return handle


def test_jwt_is_signed_and_exchanged_once(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str]
) -> None:
    public, client = signed_in(monkeypatch, key_pair)
    exchanges: list[dict[str, Any]] = []
    httpserver.expect_request("/oauth2/access", method="POST").respond_with_handler(
        token_endpoint(public, client, exchanges)
    )
    httpserver.expect_request(
        "/gql-ext", method="POST", headers={"Authorization": "Bearer exchanged"}
    ).respond_with_json(gql_reply())

    meetup = source(httpserver, "defcon864", oauth_url=httpserver.url_for("/oauth2/access"))
    assert len(meetup.fetch(http, JANUARY_2020).events) == 6
    assert len(meetup.fetch(http, JANUARY_2020).events) == 6

    assert len(exchanges) == 1  # the token is reused until it expires
    [claims] = exchanges
    assert (claims["sub"], claims["iss"], claims["kid"]) == ("271828", client, "signing-key-1")
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_concurrent_groups_share_one_exchange_and_one_failure(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str]
) -> None:
    public, client = signed_in(monkeypatch, key_pair)
    exchanges: list[dict[str, Any]] = []
    answer = token_endpoint(public, client, exchanges)

    def slow(request: Request) -> Response:
        time.sleep(0.2)  # every group's thread asks while the first exchange is still under way
        return answer(request)

    httpserver.expect_request("/oauth2/access", method="POST").respond_with_handler(slow)
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(gql_reply())
    groups = [source(httpserver, "defcon864", "api", oauth_url=httpserver.url_for("/oauth2/access")) for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert [len(r.events) for r in pool.map(lambda g: g.fetch(http, JANUARY_2020), groups)] == [6] * 6
    assert len(exchanges) == 1

    refused = httpserver.url_for("/oauth2/refused")
    httpserver.expect_request("/oauth2/refused", method="POST").respond_with_json({"error": "x"}, status=400)
    groups = [source(httpserver, "defcon864", "api", oauth_url=refused) for _ in range(6)]

    def failure(group: MeetupSource) -> str:
        try:
            group.fetch(http, JANUARY_2020)
        except SourceError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all("token exchange failed: HTTP 400" in message for message in pool.map(failure, groups))
    assert sum(1 for request, _ in httpserver.log if request.path == "/oauth2/refused") == 1


def test_jwt_key_from_a_file(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str], tmp_path: Path
) -> None:
    private, public = key_pair
    client = f"client-{uuid.uuid4()}"
    jwt_env(monkeypatch, client)
    key_file = tmp_path / "meetup.pem"
    key_file.write_text(private)
    monkeypatch.setenv("MEETUP_PRIVATE_KEY_PATH", str(key_file))
    exchanges: list[dict[str, Any]] = []
    httpserver.expect_request("/oauth2/access", method="POST").respond_with_handler(
        token_endpoint(public, client, exchanges)
    )
    httpserver.expect_request("/gql-ext", method="POST").respond_with_json(gql_reply())

    meetup = source(httpserver, "defcon864", "api", oauth_url=httpserver.url_for("/oauth2/access"))
    assert len(meetup.fetch(http, JANUARY_2020).events) == 6
    assert exchanges[0]["sub"] == "271828"


def test_jwt_with_a_bad_key(httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    jwt_env(monkeypatch, f"client-{uuid.uuid4()}")
    monkeypatch.setenv("MEETUP_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    meetup = source(httpserver, "defcon864", "api", oauth_url=httpserver.url_for("/oauth2/access"))
    with pytest.raises(SourceError, match="cannot sign the Meetup JWT with the private key"):
        meetup.fetch(http, JANUARY_2020)
    assert requested(httpserver) == []


def test_refused_token_exchange(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str]
) -> None:
    jwt_env(monkeypatch, f"client-{uuid.uuid4()}")
    monkeypatch.setenv("MEETUP_PRIVATE_KEY", key_pair[0])
    httpserver.expect_request("/oauth2/access", method="POST").respond_with_json({"error": "invalid_grant"}, status=400)
    meetup = source(httpserver, "defcon864", "api", oauth_url=httpserver.url_for("/oauth2/access"))
    with pytest.raises(SourceError, match=r"Meetup OAuth token exchange failed: HTTP 400"):
        meetup.fetch(http, JANUARY_2020)


# Warm runs in API mode: the queries revalidate, the token exchange never touches the cache.


def paged_gql(validator: str, seen: list[Request]) -> Any:
    """gql-ext in two pages; `validator` ("etag", "last_modified" or "") is what its replies carry and honour."""
    whole = gql_reply()
    edges = whole["data"]["groupByUrlname"]["events"]["edges"]

    def handle(request: Request) -> Response:
        seen.append(request)
        reply = copy.deepcopy(whole)
        events = reply["data"]["groupByUrlname"]["events"]
        second = request.get_json()["variables"]["after"] == "page-2"
        events["edges"] = edges[3:] if second else edges[:3]
        events["pageInfo"] = {"hasNextPage": not second, "endCursor": "end" if second else "page-2"}
        body = json.dumps(reply).encode()
        headers = {
            "etag": {"ETag": f'"{hashlib.sha256(body).hexdigest()[:16]}"'},
            "last_modified": {"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
            "": {},
        }[validator]
        asked = request.headers.get("If-None-Match") or request.headers.get("If-Modified-Since")
        if asked and asked in headers.values():
            return Response(status=304, headers=headers)
        return Response(body, content_type="application/json", headers=headers)

    return handle


def cacheable_token_endpoint(public: str, client: str, assertions: list[str]) -> Any:
    """A token endpoint that would let a cache keep its reply (and answers a conditional request with 304)."""
    lax = {"ETag": '"token"', "Cache-Control": "max-age=3600", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}

    def handle(request: Request) -> Response:
        if request.headers.get("If-None-Match") or request.headers.get("If-Modified-Since"):
            return Response(status=304, headers=lax)
        assertions.append(request.form["assertion"])
        jwt.decode(assertions[-1], public, algorithms=["RS256"], audience="api.meetup.com", issuer=client)
        # A minute of lifetime is spent at once, so each run (one fetch here) signs in again.
        token = {"access_token": f"token-{len(assertions)}", "expires_in": 60}
        return Response(json.dumps(token), content_type="application/json", headers=lax)

    return handle


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_a_warm_api_run_revalidates_every_page_and_moves_no_body(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[str, str], tmp_path: Path, validator: str
) -> None:
    public, client = signed_in(monkeypatch, key_pair)
    assertions: list[str] = []
    queries: list[Request] = []
    httpserver.expect_request("/oauth2/access", method="POST").respond_with_handler(
        cacheable_token_endpoint(public, client, assertions)
    )
    httpserver.expect_request("/gql-ext", method="POST").respond_with_handler(paged_gql(validator, queries))
    meetup = source(httpserver, "defcon864", "api", oauth_url=httpserver.url_for("/oauth2/access"))
    runs = []
    for _ in range(2):
        with Http(HttpSettings(retries=0, cache=tmp_path / "http.sqlite")) as http:
            runs.append((meetup.fetch(http, JANUARY_2020), http.transfers))
    (cold, cold_transfers), (warm, warm_transfers) = runs

    assert warm.events == cold.events and len(warm.events) == 6
    token_url, api_url = httpserver.url_for("/oauth2/access"), httpserver.url_for("/gql-ext")
    assert [(t.url, t.status, t.from_cache) for t in cold_transfers] == [
        (token_url, 200, False),
        (api_url, 200, False),
        (api_url, 200, False),
    ]
    assert [(t.url, t.status, t.from_cache, t.bytes_received) for t in warm_transfers] == [
        (token_url, 200, False, warm_transfers[0].bytes_received),
        (api_url, 304, True, 0),
        (api_url, 304, True, 0),
    ]
    # The token is exchanged once per run, at the server, and never asked for conditionally.
    assert len(assertions) == 2 and warm_transfers[0].bytes_received > 0
    exchanges = [request for request, _ in httpserver.log if request.path == "/oauth2/access"]
    assert all(request.headers.get("Cache-Control") == "no-store" for request in exchanges)
    assert not any("If-None-Match" in r.headers or "If-Modified-Since" in r.headers for r in exchanges)
    # Each page is its own entry (the body is in the key), and the new token does not miss it (it is not).
    asked = "If-None-Match" if validator == "etag" else "If-Modified-Since"
    assert [(r.get_json()["variables"]["after"], asked in r.headers) for r in queries] == [
        (None, False),
        ("page-2", False),
        (None, True),
        ("page-2", True),
    ]
    assert [r.headers["Authorization"] for r in queries] == ["Bearer token-1"] * 2 + ["Bearer token-2"] * 2
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("http.sqlite*"))
    assert b"token-" not in stored and not any(assertion.encode() in stored for assertion in assertions)


def test_an_api_without_validators_is_read_whole_every_run(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEETUP_ACCESS_TOKEN", "t")
    queries: list[Request] = []
    httpserver.expect_request("/gql-ext", method="POST").respond_with_handler(paged_gql("", queries))
    meetup = source(httpserver, "defcon864", "api")
    runs = []
    for _ in range(2):
        with Http(HttpSettings(retries=0, cache=tmp_path / "http.sqlite")) as http:
            runs.append((meetup.fetch(http, JANUARY_2020), http.transfers))
    assert runs[0][0].events == runs[1][0].events and len(runs[1][0].events) == 6
    for _, transfers in runs:
        assert [(t.status, t.from_cache) for t in transfers] == [(200, False)] * 2
        assert all(t.bytes_received > 0 for t in transfers)
    assert not any("If-None-Match" in r.headers or "If-Modified-Since" in r.headers for r in queries)


def test_partial_credentials_are_reported_and_the_page_is_read(
    httpserver: HTTPServer, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETUP_CLIENT_KEY", "client")
    httpserver.expect_request("/rust-nyc/events/").respond_with_data(fixture("rust-nyc-events.html"))
    result = source(httpserver, "rust-nyc").fetch(http, MARCH_2026)
    assert len(result.events) == 5
    assert result.warnings[0] == (
        "meetup: rust-nyc: Meetup API credentials lack MEETUP_MEMBER_ID, MEETUP_PRIVATE_KEY;"
        " read the events page instead"
    )
