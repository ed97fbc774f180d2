"""The HTTP layer against a fault-injecting local server: errors, time bounds, retries, cache, limits."""

from __future__ import annotations

import gzip
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultServer, Route

from aggregator.tomltable import ConfigError, Table
from sources.http import MB, FetchError, Http, HttpSettings, Transfer, http_settings_from_table, package_version


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def fast(**overrides: Any) -> HttpSettings:
    """Production behaviour with test-sized numbers: no retries unless asked, tiny back-off.

    Timeouts are generous so a loaded machine never fails a test; a test about timeouts sets its own.
    """
    values: dict[str, Any] = {
        "retries": 0,
        "backoff": 0.01,
        "max_wait": 1.0,
        "timeout_connect": 10.0,
        "timeout_read": 10.0,
        "deadline": 30.0,
    }
    return HttpSettings(**{**values, **overrides})


def fetch_error(http: Http, url: str) -> tuple[str, float]:
    """The FetchError message for `url` and how long it took to come."""
    began = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(url)
    message = str(caught.value)
    assert "\n" not in message
    return message, time.monotonic() - began


def test_get_returns_the_body_and_sends_an_honest_user_agent(server: FaultServer) -> None:
    url = server.add("/ok", b"hello", headers={"Content-Type": "text/calendar"})
    with Http(fast(user_agent_contact="https://example.org/contact")) as http:
        reply = http.get(url, params={"a": "1 2"})
    assert (reply.status, reply.content, reply.text) == (200, b"hello", "hello")
    assert reply.headers["content-type"] == "text/calendar"
    assert (
        server.log("/ok")[0].headers["User-Agent"] == f"twir-events/{package_version()} (+https://example.org/contact)"
    )
    [transfer] = http.transfers
    assert transfer.url == f"{url}?a=1+2"
    assert (transfer.status, transfer.bytes_received, transfer.attempts, transfer.error) == (200, 5, 1, None)


def test_client_errors_are_not_retried(server: FaultServer) -> None:
    url = server.add("/gone", status=404)
    with Http(fast(retries=3)) as http, pytest.raises(FetchError) as caught:
        http.get(url)
    assert str(caught.value) == f"HTTP 404 from {url}"
    assert caught.value.status == 404
    assert server.hits("/gone") == 1


def test_refused_connection_names_the_host() -> None:
    url = FaultServer.refused_url("/cal.ics")
    with Http(fast()) as http:
        message, _ = fetch_error(http, url)
    assert message == f"connection refused by 127.0.0.1 fetching {url}"


def test_a_reply_that_never_comes_times_out_and_is_retried(server: FaultServer) -> None:
    url = server.add("/hang", b"late", delay=3)
    # The messages prove the timeout cut each attempt off; how long that took on a busy machine is not asserted.
    with Http(fast(timeout_read=0.3)) as http:
        message, _ = fetch_error(http, url)
    assert message == f"timed out after 0.3 s fetching {url}"
    with Http(fast(timeout_read=0.3, retries=2)) as http:
        message, _ = fetch_error(http, url)
    assert message == f"gave up on {url} after 3 attempts (timed out after 0.3 s)"
    assert server.hits("/hang") == 1 + 3


def test_a_body_that_stops_halfway_is_cut_off(server: FaultServer) -> None:
    url = server.add("/half", b"x" * 1000, fault="truncate")
    with Http(fast()) as http:
        message, _ = fetch_error(http, url)
    assert message == f"body from {url} cut off after 1000 bytes"


def test_server_errors_are_retried_then_given_up(server: FaultServer) -> None:
    url = server.add("/down", status=500)
    with Http(fast(retries=3)) as http, pytest.raises(FetchError) as caught:
        http.get(url)
    assert str(caught.value) == f"gave up on {url} after 4 attempts (HTTP 500)"
    assert caught.value.status == 500
    assert server.hits("/down") == 4
    assert http.transfers[-1].attempts == 4


def test_a_passing_outage_is_ridden_out(server: FaultServer) -> None:
    url = server.add("/flaky", b"fine", status=(503, 503, 200))
    with Http(fast(retries=3)) as http:
        assert http.get(url).content == b"fine"
    assert server.hits("/flaky") == 3
    assert (http.transfers[-1].attempts, http.transfers[-1].error) == (3, None)


@pytest.mark.parametrize(("status", "retry_after"), [(429, "1"), (503, "date")])
def test_retry_after_is_honoured(server: FaultServer, status: int, retry_after: str) -> None:
    value = formatdate(time.time() + 2, usegmt=True) if retry_after == "date" else retry_after
    url = server.add("/busy", b"done", status=(status, 200), headers={"Retry-After": value})
    with Http(fast(retries=2, backoff=0.001, max_wait=5)) as http:
        assert http.get(url).content == b"done"
    first, second = server.log("/busy")
    assert second.at - first.at >= 0.9


def test_a_retry_after_beyond_the_wait_budget_gives_up_at_once(server: FaultServer) -> None:
    url = server.add("/later", status=429, headers={"Retry-After": "3600"})
    with Http(fast(retries=3, max_wait=2)) as http:
        message, _ = fetch_error(http, url)
    assert message == f"HTTP 429 from {url} (asked to retry after 3600 s)"
    assert server.hits("/later") == 1


def test_max_wait_bounds_the_time_spent_backing_off(server: FaultServer) -> None:
    url = server.add("/always-down", status=503)
    with Http(fast(retries=100, backoff=0.05, max_wait=0.4)) as http:
        message, _ = fetch_error(http, url)
    assert message.startswith(f"gave up on {url} after ")
    assert 1 < server.hits("/always-down") < 101


def test_the_deadline_cuts_off_a_trickling_body(server: FaultServer) -> None:
    url = server.add("/trickle", b"z" * 500, fault="trickle", trickle=0.05)
    with Http(fast(timeout_read=0.5, deadline=1)) as http:
        message, elapsed = fetch_error(http, url)
    assert message == f"timed out after 1 s fetching {url}"
    # Never early; how late on a busy machine is not asserted (the bytes show the body was cut off).
    assert elapsed > 0.9
    assert 0 < http.transfers[-1].bytes_received < 500


def test_the_deadline_covers_all_attempts(server: FaultServer) -> None:
    url = server.add("/slow", b"late", delay=5)
    with Http(fast(timeout_read=0.4, retries=10, deadline=1)) as http:
        fetch_error(http, url)
    assert server.hits("/slow") <= 3


def test_garbage_instead_of_http(server: FaultServer) -> None:
    url = server.add("/noise", fault="garbage")
    with Http(fast()) as http:
        message, _ = fetch_error(http, url)
    assert message == f"127.0.0.1 replied with something that is not HTTP fetching {url}"


def test_a_declared_oversized_body_is_refused_before_reading(server: FaultServer) -> None:
    url = server.add("/huge", size=50 * MB)
    with Http(fast()) as http:
        message, _ = fetch_error(http, url)
    assert message == f"response from {url} exceeds 20 MB"
    assert http.transfers[-1].bytes_received == 0


def test_an_undeclared_oversized_body_is_cut_off_with_bounded_memory(server: FaultServer) -> None:
    url = server.add("/huge", size=50 * MB, length=False)
    tracemalloc.start()
    try:
        with Http(fast(max_bytes=4 * MB)) as http:
            message, _ = fetch_error(http, url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"response from {url} exceeds 4 MB"
    assert peak < 12 * MB
    assert 4 * MB < http.transfers[-1].bytes_received < 5 * MB


def test_compressed_bodies_are_decoded_and_counted_as_sent(server: FaultServer) -> None:
    data = b"BEGIN:VEVENT\r\n" * 2000
    packed = gzip.compress(data)
    url = server.add("/packed", packed, headers={"Content-Encoding": "gzip"})
    with Http(fast()) as http:
        assert http.get(url).content == data
    assert http.transfers[-1].bytes_received == len(packed)
    bad = server.add("/bad", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with Http(fast()) as http:
        message, _ = fetch_error(http, bad)
    assert message == f"cannot decode gzip body from {bad}"


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_a_warm_refresh_revalidates_and_transfers_nothing(server: FaultServer, tmp_path: Path, validator: str) -> None:
    body = b"E" * 50_000
    url = server.add("/cal", body, etag=validator == "etag", last_modified=validator == "last_modified")
    with Http(fast(cache=tmp_path / "cache.sqlite")) as http:
        first = http.get(url)
        sent = server.bytes_sent("/cal")
        second = http.get(url)
    assert (first.content, first.from_cache) == (body, False)
    assert (second.content, second.from_cache, second.stale) == (body, True, False)
    cold, warm = http.transfers
    assert (cold.status, cold.bytes_received, cold.revalidated) == (200, len(body), False)
    assert (warm.status, warm.bytes_received, warm.revalidated, warm.from_cache) == (304, 0, True, True)
    assert server.bytes_sent("/cal") == sent
    header = "If-None-Match" if validator == "etag" else "If-Modified-Since"
    assert header not in server.log("/cal")[0].headers
    assert header in server.log("/cal")[1].headers


def test_a_changed_resource_is_fetched_again(server: FaultServer, tmp_path: Path) -> None:
    url = server.add("/cal", b"old", etag=True)
    with Http(fast(cache=tmp_path / "cache.sqlite")) as http:
        http.get(url)
        server.add("/cal", b"new", etag=True)
        assert http.get(url).content == b"new"
        assert http.get(url).content == b"new"
    assert [t.status for t in http.transfers] == [200, 200, 304]


@pytest.mark.parametrize("validators", [True, False])
def test_stale_if_error_serves_the_last_good_body(server: FaultServer, tmp_path: Path, validators: bool) -> None:
    url = server.add("/cal", b"good", etag=validators)
    with Http(fast(retries=1, cache=tmp_path / "cache.sqlite")) as http:
        http.get(url)
        server.add("/cal", status=503)
        reply = http.get(url)
    assert (reply.content, reply.from_cache, reply.stale) == (b"good", True, True)
    assert server.hits("/cal") == 1 + 2
    stale = http.transfers[-1]
    assert stale.stale
    assert stale.error == f"gave up on {url} after 2 attempts (HTTP 503)"


def test_stale_if_error_does_not_hide_a_missing_resource(server: FaultServer, tmp_path: Path) -> None:
    url = server.add("/cal", b"good", etag=True)
    with Http(fast(cache=tmp_path / "cache.sqlite")) as http:
        http.get(url)
        server.add("/cal", status=404)
        message, _ = fetch_error(http, url)
    assert message == f"HTTP 404 from {url}"


def test_a_post_is_cached_only_when_asked_and_never_by_its_token(server: FaultServer, tmp_path: Path) -> None:
    url = server.add("/graphql", b'{"data": {}}', etag=True)
    with Http(fast(cache=tmp_path / "cache.sqlite")) as http:
        for _ in range(2):
            assert http.post(url, data={"grant_type": "x"}).content == b'{"data": {}}'
        exchanges = server.log("/graphql")
        for token in ("one", "two"):
            reply = http.post(url, json={"query": "{ x }"}, headers={"Authorization": f"Bearer {token}"}, cache=True)
            assert reply.content == b'{"data": {}}'
        http.post(url, json={"query": "{ y }"}, headers={"Authorization": "Bearer two"}, cache=True)
    # Not asked: both go to the server unconditionally and say no-store; nothing is served from the cache.
    assert [hit.headers.get("Cache-Control") for hit in exchanges] == ["no-store"] * 2
    assert all("If-None-Match" not in hit.headers for hit in exchanges)
    # Asked: keyed by URL and body, so another token revalidates the same entry and another query does not.
    queries = server.log("/graphql")[2:]
    assert [hit.headers.get("If-None-Match") for hit in queries] == [None, Route(b'{"data": {}}').etag_value, None]
    assert all("Cache-Control" not in hit.headers for hit in queries)
    assert [(t.status, t.from_cache, t.bytes_received) for t in http.transfers] == [
        (200, False, 12),
        (200, False, 12),
        (200, False, 12),
        (304, True, 0),
        (200, False, 12),
    ]
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("cache.sqlite*"))
    assert b"{ x }" in stored and b"grant_type" not in stored and b"Bearer" not in stored


@pytest.mark.parametrize(("settings", "limit"), [(fast(per_host=2), 2), (fast(host_limits={"127.0.0.1": 4}), 4)])
def test_the_per_host_limit_holds_under_a_thread_pool(server: FaultServer, settings: HttpSettings, limit: int) -> None:
    urls = [server.add(f"/e{i}", b"ok", delay=0.15) for i in range(8)]
    with Http(settings) as http, ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(http.get, urls))
    assert [r.content for r in replies] == [b"ok"] * 8
    assert server.max_concurrent == limit


def test_threads_share_one_cache_file(server: FaultServer, tmp_path: Path) -> None:
    urls = [server.add(f"/c{i}", f"cal {i}".encode(), etag=True) for i in range(16)]
    with Http(fast(cache=tmp_path / "cache.sqlite", per_host=8)) as http, ThreadPoolExecutor(8) as pool:
        cold = list(pool.map(http.get, urls))
        warm = list(pool.map(http.get, urls))
    assert [r.content for r in warm] == [r.content for r in cold] == [f"cal {i}".encode() for i in range(16)]
    assert sum(t.revalidated for t in http.transfers) == 16


@pytest.mark.parametrize(("idle_days", "status"), [(29, 304), (31, 200)])
def test_entries_unused_for_a_month_are_dropped_when_the_cache_opens(
    server: FaultServer, tmp_path: Path, idle_days: int, status: int
) -> None:
    url = server.add("/cal", b"cal", etag=True)
    path = tmp_path / "cache.sqlite"
    with Http(fast(cache=path)) as http:
        http.get(url)
    with sqlite3.connect(path) as db:  # as if the last run that used the entry was `idle_days` ago
        db.execute("UPDATE responses SET expires = ?", (time.time() - idle_days * 86400,))
    with Http(fast(cache=path)) as http:
        assert http.get(url).content == b"cal"
    assert http.transfers[0].status == status
    assert ("If-None-Match" in server.log("/cal")[1].headers) == (status == 304)
    # Using the entry, revalidated or refetched, makes it recent again: an entry in use is never dropped.
    with sqlite3.connect(path) as db:
        [(expires,)] = db.execute("SELECT expires FROM responses").fetchall()
    assert expires > time.time() - 3600


def test_proxy_settings_from_the_environment_hold_for_every_request(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.refused_url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = server.add("/cal", b"direct")
    proxied = direct.replace("127.0.0.1", "localhost")
    with Http(fast()) as http:
        for _ in range(2):
            assert http.get(direct).content == b"direct"
            with pytest.raises(FetchError, match="localhost"):
                http.get(proxied)
    assert server.hits("/cal") == 2


def test_transfers_are_tagged_per_source(server: FaultServer) -> None:
    seen: list[Transfer] = []
    a, b = server.add("/a", b"aaaa"), server.add("/b", b"bb")
    with Http(fast(), on_transfer=seen.append) as http:
        first, second = http.for_source("first"), http.for_source("second")
        first.get(a)
        first.get(a)
        second.get(b)
        with pytest.raises(FetchError):
            second.get(server.url("/missing"))
    assert sum(t.bytes_received for t in first.transfers) == 8
    assert [t.url for t in second.transfers] == [b, server.url("/missing")]
    assert http.transfers == seen
    assert [t.source for t in seen] == ["first", "first", "second", "second"]


def test_file_urls_are_read_from_disk_whatever_the_network_cap(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_bytes(b"BEGIN:VCALENDAR")
    with Http(fast(max_bytes=10)) as http:
        assert http.get(path.as_uri()).content == b"BEGIN:VCALENDAR"
        assert http.transfers[-1].bytes_received == len(b"BEGIN:VCALENDAR")
        message, _ = fetch_error(http, (tmp_path / "nope.ics").as_uri())
        assert message == f"cannot read {tmp_path / 'nope.ics'}: No such file or directory"


def test_an_invalid_url_is_a_fetch_error() -> None:
    with Http(fast()) as http:
        message, _ = fetch_error(http, "not a url")
    assert message == "invalid URL 'not a url'"


def table(tmp_path: Path, data: dict[str, Any]) -> Table:
    return Table(data, tmp_path / "config.toml", "[http]")


def test_settings_from_a_table(tmp_path: Path) -> None:
    settings = http_settings_from_table(
        table(
            tmp_path,
            {
                "user_agent_contact": "https://this-week-in-rust.org/",
                "timeout_connect": 3,
                "timeout_read": 7.5,
                "deadline": 40,
                "retries": 2,
                "max_wait": 0,
                "max_bytes": 1000,
                "per_host": 3,
                "host_limits": {"WWW.Meetup.com": 1},
                "cache": "state/http.sqlite",
            },
        )
    )
    assert settings.user_agent == f"twir-events/{package_version()} (+https://this-week-in-rust.org/)"
    assert (settings.timeout_connect, settings.timeout_read, settings.deadline) == (3.0, 7.5, 40.0)
    assert (settings.retries, settings.max_wait, settings.max_bytes, settings.per_host) == (2, 0.0, 1000, 3)
    assert settings.host_limit("www.meetup.com") == 1
    assert settings.host_limit("lu.ma") == 3
    assert settings.cache == tmp_path / "state" / "http.sqlite"
    assert http_settings_from_table(table(tmp_path, {"cache": ""})) == HttpSettings()


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"timeout_read": 0}, "[http].timeout_read: must be greater than 0, got 0"),
        ({"retries": -1}, "[http].retries: must be at least 0, got -1"),
        ({"max_bytes": "20 MB"}, "[http].max_bytes: expected an integer, got '20 MB'"),
        ({"user_agent_contact": "me"}, "[http].user_agent_contact: expected an http(s) or mailto: URL, got 'me'"),
        ({"host_limits": {"www": {"meetup": {"com": 2}}}}, 'as in "www.meetup.com" = 2'),
        ({"host_limits": {"https://lu.ma/": 2}}, "expected a bare host name like www.meetup.com"),
        ({"timeout": 5}, "[http].timeout: unknown key"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, data: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        http_settings_from_table(table(tmp_path, data))
    assert complaint in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "config.toml"))
