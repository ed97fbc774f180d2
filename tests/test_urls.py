"""URL rules: safe links, Google redirects, canonical keys, TWiR's printed form, organizer pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.urls import (
    canonical_url,
    display_url,
    event_page,
    is_streaming_url,
    meetup_event_id,
    organizer_url_for,
    safe_url,
    unwrap_redirect,
)

MEETUP_SPELLINGS = [
    "https://meetup.com/Rust-Berlin/events/123/?utm_source=x",
    "https://www.meetup.com/es-ES/rust-berlin/events/123",
    "https://www.meetup.com/rust-berlin/events/123",
    "https://www.meetup.com/rust-berlin/events/123/",
    "http://www.meetup.com/rust-berlin/events/123/#comments",
    "https://www.meetup.com/rust-berlin/events/123/?recId=abc&recSource=springboard&searchId=x&eventOrigin=home",
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://luma.com/rustmelbourne", "https://luma.com/rustmelbourne"),
        ("  http://www.oklab-potsdam.de\n", "http://www.oklab-potsdam.de"),
        ("HTTPS://Example.org/a?b=c", "HTTPS://Example.org/a?b=c"),
        ("https://[2001:db8::1]:8080/x", "https://[2001:db8::1]:8080/x"),
    ],
)
def test_safe_url_keeps_absolute_http_urls(given: str, expected: str) -> None:
    assert safe_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "mailto:community-team@rust-lang.org",
        "ftp://example.org/file",
        "/rust-berlin/events/123/",
        "www.oklab-potsdam.de",
        "https://",
        "http:///path",
        "https://exa mple.org/",
        "https://example.org/\x00",
        "https://example.org:99999/",
        "http://[::1",
        "",
        "see website or mailing list",
    ],
)
def test_safe_url_rejects_everything_else(given: str) -> None:
    assert safe_url(given) == ""


def test_unwrap_redirect_returns_the_target_of_googles_redirector() -> None:
    # The machbar href after ICS and HTML unescaping.
    wrapped = "https://www.google.com/url?q=http%3A%2F%2Fwww.oklab-potsdam.de&sa=D&usd=2&usg=AFQjCNH4ia7HdoVhwjLJiSfSMu46bTzIxA"
    assert unwrap_redirect(wrapped) == "http://www.oklab-potsdam.de"
    assert (
        unwrap_redirect("https://google.de/url?q=https://rust-berlin.de/%3Fa%3D1&sa=D") == "https://rust-berlin.de/?a=1"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://www.google.com/search?q=rust+meetup",
        "https://notgoogle.com/url?q=https://evil.example/",
        "https://www.google.com/url?sa=D",
        "https://luma.com/rustmelbourne",
    ],
)
def test_unwrap_redirect_leaves_other_urls_alone(url: str) -> None:
    assert unwrap_redirect(url) == url


def test_meetup_spellings_are_one_canonical_and_one_display_url() -> None:
    assert {canonical_url(url) for url in MEETUP_SPELLINGS} == {"https://www.meetup.com/rust-berlin/events/123"}
    assert {display_url(url) for url in MEETUP_SPELLINGS} == {"https://www.meetup.com/rust-berlin/events/123/"}
    assert {meetup_event_id(url) for url in MEETUP_SPELLINGS} == {("rust-berlin", "123")}


def test_meetup_group_links_print_without_slash_or_events() -> None:
    spellings = [
        "https://www.meetup.com/Rust-Berlin/",
        "https://meetup.com/rust-berlin/events/",
        "https://www.meetup.com/de-DE/rust-berlin/?utm_medium=referral",
        "https://www.meetup.com/rust-berlin",
    ]
    assert {display_url(url) for url in spellings} == {"https://www.meetup.com/rust-berlin"}
    assert len({canonical_url(url) for url in spellings}) == 1
    assert meetup_event_id(spellings[0]) is None


def test_meetup_series_placeholder_is_an_event_id_but_ical_is_not() -> None:
    placeholder = "https://www.meetup.com/charlottesville-rust-meetup/events/wqzhftyjcmbdb/"
    assert meetup_event_id(placeholder) == ("charlottesville-rust-meetup", "wqzhftyjcmbdb")
    assert display_url(placeholder) == placeholder
    assert meetup_event_id("https://www.meetup.com/rust-berlin/events/ical/") is None
    assert meetup_event_id("https://www.meetup.com/rust-berlin/events/123/attendees/") is None
    assert meetup_event_id("https://example.org/rust-berlin/events/123/") is None
    assert meetup_event_id("https://www.meetup.com/rust-berlin/events/316107210") != meetup_event_id(placeholder)


def test_luma_hosts_are_one_site() -> None:
    spellings = ["https://lu.ma/rust-girona", "http://www.lu.ma/rust-girona/", "https://luma.com/rust-girona"]
    assert len({canonical_url(url) for url in spellings}) == 1
    assert display_url("https://lu.ma/rust-girona") == "https://luma.com/rust-girona"
    assert display_url("http://lu.ma/nwfmsdtf?utm_source=newsletter&tk=Ab12") == "https://luma.com/nwfmsdtf?tk=Ab12"


def test_canonical_url_drops_spelling_noise_and_keeps_real_parameters() -> None:
    a = "HTTP://Example.ORG:80/talks/?utm_source=twitter&b=2&fbclid=x&a=1#schedule"
    b = "https://example.org/talks?a=1&b=2&gclid=y&mc_cid=1&mc_eid=2&_gl=3&ref=hn&ref_source=x"
    assert canonical_url(a) == canonical_url(b)
    assert canonical_url(a) != canonical_url("https://example.org/talks?a=1&b=3")
    assert canonical_url("https://example.org:8443/x") != canonical_url("https://example.org/x")


def test_canonical_url_drops_only_locale_shaped_prefixes() -> None:
    assert canonical_url("https://www.meetup.com/pt-BR/rust-sp/") == canonical_url("https://www.meetup.com/rust-sp")
    assert canonical_url("https://rustconf.com/fr-FR/schedule/") == canonical_url("https://rustconf.com/schedule")
    assert canonical_url("https://www.meetup.com/es/rust-madrid/") != canonical_url(
        "https://www.meetup.com/rust-madrid"
    )
    assert canonical_url("https://example.org/ab-cd/events") != canonical_url("https://example.org/events")
    assert canonical_url("https://example.org/en-US") != canonical_url("https://example.org")


def test_display_url_keeps_other_links_as_given_without_tracking() -> None:
    given = "https://rustconf.com/schedule/?day=2&utm_campaign=twir&utm_medium=email#keynote"
    assert display_url(given) == "https://rustconf.com/schedule/?day=2#keynote"
    assert display_url("http://www.oklab-potsdam.de") == "http://www.oklab-potsdam.de"
    assert display_url("https://hasgeek.com/rustbangalore/august-2026-rustacean-meetup/") == (
        "https://hasgeek.com/rustbangalore/august-2026-rustacean-meetup/"
    )
    assert display_url("javascript:alert(1)") == ""


@pytest.mark.parametrize(
    ("event_url", "organizer_url"),
    [
        ("https://www.meetup.com/Vancouver-Rust/events/314105333/", "https://www.meetup.com/vancouver-rust"),
        ("https://www.meetup.com/es-ES/rust-madrid/events/wqzhftyjcmbdb", "https://www.meetup.com/rust-madrid"),
        ("https://luma.com/nwfmsdtf", ""),
        ("https://lu.ma/nwfmsdtf", ""),
        ("https://hasgeek.com/rustbangalore/august-2026-rustacean-meetup/", "https://hasgeek.com/rustbangalore"),
        ("https://rustconf.com/schedule/", "https://rustconf.com/"),
        ("https://EuroRust.eu:443/2026/talks?utm_source=x", "https://eurorust.eu/"),
        ("https://www.eventbrite.co.uk/e/ancoats-quiz-night-tickets-1024759512287", ""),
        ("https://us02web.zoom.us/j/123", ""),
        ("https://www.meetup.com/find/?keywords=rust", ""),
        ("mailto:someone@example.org", ""),
    ],
)
def test_organizer_url_for(event_url: str, organizer_url: str) -> None:
    assert organizer_url_for(event_url) == organizer_url


@pytest.mark.parametrize(
    ("url", "streaming"),
    [
        ("https://videoconf-colibri.zoom.us/j/93800310242?pwd=K3FBUVJUV2hrTm1OR2RWb0ZabTJkZz09", True),
        ("https://meet.google.com/abc-defg-hij", True),
        ("https://meet.jit.si/RustBerlin", True),
        ("https://teams.microsoft.com/l/meetup-join/19%3ameeting", True),
        ("https://www.twitch.tv/rustberlin", True),
        ("https://www.youtube.com/live/abc123", True),
        ("https://discord.gg/rust-lang", True),
        ("https://discord.com/invite/rust-lang", True),
        ("https://www.youtube.com/@rustvideos", False),
        ("https://www.google.com/calendar/embed?src=x", False),
        ("https://www.meetup.com/rust-berlin/events/123/", False),
        ("https://notzoom.us/j/1", False),
    ],
)
def test_is_streaming_url(url: str, streaming: bool) -> None:
    assert is_streaming_url(url) is streaming


url_parts = st.builds(
    "{}://{}{}/{}{}{}".format,
    st.sampled_from(["http", "https", "HTTP", "javascript", "ftp", "data", ""]),
    st.sampled_from(["www.meetup.com", "meetup.com", "lu.ma", "luma.com", "Example.ORG", "[::1]", "", "x.y."]),
    st.sampled_from(["", ":80", ":443", ":8080", ":x"]),
    st.lists(
        st.sampled_from(["es-ES", "de-DE", "Rust-Berlin", "events", "123", "wqzhftyjcmbdb", "", "a b", "%2F"])
        | st.text(max_size=5),
        max_size=5,
    ).map("/".join),
    st.sampled_from(["", "?", "?utm_source=x", "?b=2&a=1", "?a", "?a=%zz&a=1", "?ref=x&q=%E2%82%AC"]),
    st.sampled_from(["", "#", "#top"]),
)
any_url = url_parts | st.text()


@given(any_url)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(any_url)
def test_display_url_is_empty_or_http(url: str) -> None:
    shown = display_url(url)
    assert shown == "" or (urlsplit(shown).scheme in ("http", "https") and safe_url(shown) == shown)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://rustweek.org/workshops/embedded", True),
        ("https://www.meetup.com/de-DE/rust-berlin/events/312345678/", True),
        ("https://luma.com/abcd1234", True),
        ("https://example.org/?event=42", True),
        ("https://rustweek.org/", False),
        ("https://rustweek.org", False),
        ("https://www.meetup.com/rust-berlin/", False),
        ("https://www.meetup.com/rust-berlin/events/", False),
        ("https://meet.jit.si/RustTokio", False),
        ("https://example.org/?utm_source=x", False),
        ("not a url", False),
    ],
)
def test_event_page(url: str, expected: bool) -> None:
    page = event_page(url)
    assert bool(page) is expected
    assert page == (canonical_url(url) if expected else "")


def test_a_lower_case_locale_is_dropped_from_meetup_links_but_a_slug_of_that_shape_is_kept() -> None:
    link = "https://www.meetup.com/de-de/bergen-rust-new-technology/events/312037597"
    assert display_url(link) == "https://www.meetup.com/bergen-rust-new-technology/events/312037597/"
    assert canonical_url(link) == canonical_url("https://www.meetup.com/bergen-rust-new-technology/events/312037597/")
    assert organizer_url_for(link) == "https://www.meetup.com/bergen-rust-new-technology"
    assert display_url("https://www.meetup.com/ab-cd/events/1") == "https://www.meetup.com/ab-cd/events/1/"
