"""Reading free text: descriptions, links, organizers, mode and titles, on real-shaped input."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.model import Mode
from aggregator.text import (
    clean_name,
    clean_title,
    description_text,
    detect_mode,
    event_link,
    links,
    organizer,
    streaming_link,
)
from aggregator.urls import safe_url

SHARED = Path(__file__).resolve().parents[2] / "shared"
GOOGLE_ICS = SHARED / "fixtures" / "real" / "google-ics"
LUMA_ICS = SHARED / "fixtures" / "real" / "luma" / "nsnodes-luma-sample.ics"

ZOOM = "https://videoconf-colibri.zoom.us/j/93800310242?pwd=K3FBUVJUV2hrTm1OR2RWb0ZabTJkZz09"
LUMA_DESCRIPTION = (
    "Get up-to-date information at: https://luma.com/nslondon\n\nAddress:\nNewspeak House\n"
    "London, England\nUnited Kingdom\n\nHosted by Tom Cares"
)


def events(path: Path) -> list[icalendar.Component]:
    if not path.exists():
        pytest.skip(f"{path} is not available")
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return calendar.walk("VEVENT")


def test_machbar_google_redirect_yields_the_ok_lab_link() -> None:
    ok_lab = [
        str(event["DESCRIPTION"])
        for event in events(GOOGLE_ICS / "machbar_16_feb_2019.ics")
        if str(event["SUMMARY"]) == "OK Lab" and "<a" in str(event.get("DESCRIPTION", ""))
    ]
    assert ok_lab
    for description in ok_lab:
        assert links(description) == ["http://www.oklab-potsdam.de"]
        assert event_link(description) == "http://www.oklab-potsdam.de"
        text = description_text(description)
        assert "<" not in text and "&nbsp" not in text and "\xa0" not in text
        assert text.splitlines() == [
            "Treffen der offenen OK Lab Gruppe. Informationen auf www.oklab-potsdam.de",
            "Themen sind: Open Data, Civic Tech, Programmierung",
        ]


def test_folded_zoom_link_is_read_whole() -> None:
    (event,) = events(GOOGLE_ICS / "issue_48_daylight_aware_repeats.ics")
    description = str(event["DESCRIPTION"])
    assert links(description) == [ZOOM]
    assert streaming_link(description) == ZOOM
    # The only link is a meeting link, so it is also the best event link there is.
    assert event_link(description) == ZOOM
    assert description_text(description) == ZOOM
    assert detect_mode(str(event.get("LOCATION", "")), str(event["SUMMARY"]), description, False) is Mode.VIRTUAL


def test_python_org_hrefs_are_the_links() -> None:
    found = {
        str(event["SUMMARY"]): str(event["DESCRIPTION"])
        for event in events(GOOGLE_ICS / "pythondotorg-python-events-calendar.ics")
    }
    assert links(found["PyCon APAC 2014"]) == ["http://tw.pycon.org/2014apac/en/"]
    assert description_text(found["PyCon APAC 2014"]) == "PyCon APAC 2014"
    fosdem = found["FOSDEM 2014"]
    assert links(fosdem) == ["https://fosdem.org/2014/", "http://www.python-fosdem.org/schedule"]
    assert event_link(fosdem) == "https://fosdem.org/2014/"
    assert description_text(fosdem) == "FOSDEM 2014 with a Python Developer Room on Sunday, Feb 2nd."


def test_calagator_plain_text_urls() -> None:
    descriptions = [
        str(event.get("DESCRIPTION", ""))
        for event in events(GOOGLE_ICS / "calagator-ical_google-portland-user-groups.ics")
    ]
    dorkbot = next(d for d in descriptions if d.startswith("http://dorkbot.org/dorkbotpdx/"))
    assert links(dorkbot) == [
        "http://dorkbot.org/dorkbotpdx/",
        "http://music.columbia.edu/pipermail/dorkbotpdx-announce/",
    ]
    wiki = next(d for d in descriptions if "PortlandWikiWednesday" in d)
    assert links(wiki) == ["http://groups.google.com/group/pdxwiki?hl=en"]


def test_luma_feed_description() -> None:
    london = next(e for e in events(LUMA_ICS) if str(e["SUMMARY"]) == "NETWORK STATE MEETUP, LONDON")
    description = str(london["DESCRIPTION"])
    assert description == LUMA_DESCRIPTION
    assert event_link(description) == "https://luma.com/nslondon"
    assert organizer(description) == ("Tom Cares", "")
    assert detect_mode(str(london["LOCATION"]), str(london["SUMMARY"]), description, True) is Mode.IN_PERSON


def test_luma_entity_in_title_is_unescaped() -> None:
    titles = [str(e["SUMMARY"]) for e in events(LUMA_ICS) if "&amp;" in str(e["SUMMARY"])]
    assert titles
    for title in titles:
        assert "&amp;" not in clean_title(title) and "&" in clean_title(title)
    assert (
        clean_title("[SOC] #28 - Chartered Cities &amp; Network States")
        == "[SOC] #28 - Chartered Cities & Network States"
    )


def test_links_trim_punctuation_dedupe_and_reject_unsafe() -> None:
    description = (
        'See <a href="javascript:alert(1)">this</a>, (https://rust-berlin.de/talks). '
        "Slides: https://en.wikipedia.org/wiki/Rust_(programming_language); "
        '"https://rust-berlin.de/talks/" and <a href="https://rust-berlin.de/talks">again</a>'
        "<br>mailto:x@example.org https://example.org/a?b=1&amp;c=2&gt;"
    )
    assert links(description) == [
        "https://rust-berlin.de/talks",
        "https://en.wikipedia.org/wiki/Rust_(programming_language)",
        "https://example.org/a?b=1&c=2",
    ]


def test_plain_text_keeps_ampersands_that_are_no_entity() -> None:
    description = "Register: https://example.org/e?id=1&region=eu&section=2&amp;lang=de\nQ&A &copy; Rust"
    assert links(description) == ["https://example.org/e?id=1&region=eu&section=2&lang=de"]
    assert description_text(description).splitlines()[1] == "Q&A \u00a9 Rust"


def test_plain_text_is_not_parsed_as_html() -> None:
    description = "We <3 Rust\nRSVP at <https://www.meetup.com/rust-berlin/events/123/>\n\n\n\nBring   snacks"
    assert description_text(description) == (
        "We <3 Rust\nRSVP at <https://www.meetup.com/rust-berlin/events/123/>\n\nBring snacks"
    )
    assert links(description) == ["https://www.meetup.com/rust-berlin/events/123/"]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            '<a href="https://www.meetup.com/rust-berlin/events/123/">Rust Hack</a><br>'
            'Organized by <a href="https://www.meetup.com/rust-berlin/">Rust Berlin</a>',
            ("Rust Berlin", "https://www.meetup.com/rust-berlin/"),
        ),
        ("<p>Organised by <a href='https://rust.lyon/'>Rust&nbsp;Lyon</a></p>", ("Rust Lyon", "https://rust.lyon/")),
        (
            'Talk night hosted by <a href="https://www.google.com/url?q=https%3A%2F%2Frust.cologne%2F&amp;sa=D">'
            "Rust Cologne</a>.",
            ("Rust Cologne", "https://rust.cologne/"),
        ),
        (
            "Organizer: Rust Berlin https://www.meetup.com/rust-berlin",
            ("Rust Berlin", "https://www.meetup.com/rust-berlin"),
        ),
        (
            "Organiser: Rust London User Group (https://www.meetup.com/rust-london-user-group/).",
            ("Rust London User Group", "https://www.meetup.com/rust-london-user-group/"),
        ),
        (
            "**Organizer:** [Rust Nederland](https://www.meetup.com/rust-nederland/)",
            ("Rust Nederland", "https://www.meetup.com/rust-nederland/"),
        ),
        ("Details below.\nHosted by Ferrous Systems", ("Ferrous Systems", "")),
        (
            '<p>Organizer: <a href="https://rust-zurich.ch/">https://rust-zurich.ch/</a></p>',
            ("", "https://rust-zurich.ch/"),
        ),
        (LUMA_DESCRIPTION, ("Tom Cares", "")),
        ("This talk is hosted by our friends at the university library, thanks to them", ("", "")),
        ('<a href="https://rustconf.com/">RustConf</a>', ("", "")),
        ("", ("", "")),
    ],
)
def test_organizer_spellings(description: str, expected: tuple[str, str]) -> None:
    assert organizer(description) == expected


def test_event_link_skips_streaming_and_organizer_links() -> None:
    description = (
        'Join on <a href="https://meet.google.com/abc-defg-hij">Meet</a><br>'
        'Organized by <a href="https://www.meetup.com/Rust-Berlin/">Rust Berlin</a><br>'
        "Details: https://www.meetup.com/rust-berlin/events/123/?utm_source=x"
    )
    assert event_link(description) == "https://www.meetup.com/rust-berlin/events/123/?utm_source=x"
    assert streaming_link(description) == "https://meet.google.com/abc-defg-hij"
    organizer_only = 'Organized by <a href="https://www.meetup.com/rust-berlin/">Rust Berlin</a>'
    assert event_link(organizer_only) == "https://www.meetup.com/rust-berlin/"
    assert event_link("No link here.") == "" and streaming_link("https://rust-berlin.de/") == ""


ADDRESS = "c-base, Rungestraße 20, 10179 Berlin, Germany"


@pytest.mark.parametrize(
    ("location", "title", "description", "has_address", "mode"),
    [
        (ADDRESS, "Rust Hack and Learn", "Bring your laptop.", True, Mode.IN_PERSON),
        (ADDRESS, "Rust Hack and Learn", "Also streamed online at https://www.youtube.com/live/abc", True, Mode.HYBRID),
        (ADDRESS, "Rust Hack and Learn", "Also streamed online at https://rust-berlin.de/stream", True, Mode.HYBRID),
        (ADDRESS, "Rust Hack and Learn", "Hybrid event: come by or join us on Zoom.", True, Mode.HYBRID),
        (ADDRESS, "Rust Hack and Learn", "Hybrid: see the meetup page", True, Mode.HYBRID),
        (ADDRESS, "[Hybrid] Rust Hack and Learn", "", True, Mode.HYBRID),
        (ADDRESS, "Rust Hack and Learn (hybrid)", "", True, Mode.HYBRID),
        (ADDRESS, "Rust Hack and Learn", '<a href="https://us02web.zoom.us/j/1">Zoom</a>', True, Mode.HYBRID),
        (
            "machBar Haus5",
            "34c3 in der machBar",
            "Die Freifunker laden zum Livestream schauen ein.",
            True,
            Mode.IN_PERSON,
        ),
        ("Online (Berlin, Germany)", "Rust Berlin online", "", True, Mode.VIRTUAL),
        ("Virtual (Berlin, DE)", "Talk", "", False, Mode.VIRTUAL),
        ("Online event", "Talk", "", False, Mode.VIRTUAL),
        ("Online", "Talk", "", False, Mode.VIRTUAL),
        ("https://meet.jit.si/RustBerlin", "Talk", "", False, Mode.VIRTUAL),
        ("", "Talk", f"<p><a href={ZOOM!r}>{ZOOM}</a></p>", False, Mode.VIRTUAL),
        ("", "Virtual Rust Meetup", "", False, Mode.VIRTUAL),
        ("", "Talk", "We meet online this month.", False, Mode.VIRTUAL),
        (
            "https://luma.com/event/evt-hE163lNAasezbIA",
            "Talk",
            "Check event page for more details.",
            True,
            Mode.IN_PERSON,
        ),
        (
            "https://luma.com/event/evt-hE163lNAasezbIA",
            "Talk",
            "Check event page for more details.",
            False,
            Mode.IN_PERSON,
        ),
        ("https://www.meetup.com/tnsboulder/", "Talk", "Online talk", False, Mode.VIRTUAL),
        ("", "Rust Hack and Learn", "Bring your laptop.", False, Mode.VIRTUAL),
        ("see website or mailing list", "Talk", "Zoom: https://zoom.us/j/1", False, Mode.IN_PERSON),
        ("Virtual Reality Lab, Hauptstraße 1, Berlin", "VR and Rust", "", True, Mode.IN_PERSON),
    ],
)
def test_detect_mode(location: str, title: str, description: str, has_address: bool, mode: Mode) -> None:
    assert detect_mode(location, title, description, has_address) is mode


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("\u200bRust Meetup\u200b", "Rust Meetup"),
        ("\ufeffRust\u2060 Hack\u200c and\u200d Learn ", "Rust Hack and Learn"),
        ("  Rust\n\tMeetup\r\n#5  ", "Rust Meetup #5"),
        ("Rust\x00 \x07Meetup", "Rust Meetup"),
        ("Rust &amp; Friends | `async` [Hybrid] 🦀", "Rust & Friends | `async` [Hybrid] 🦀"),
        ("Hack night 👩\u200d💻", "Hack night 👩\u200d💻"),
        ("ראסט מיטאפ", "ראסט מיטאפ"),
        ("Q&A: R&D &region=EU &#x1F980;", "Q&A: R&D &region=EU \U0001f980"),
    ],
)
def test_clean_title(title: str, expected: str) -> None:
    assert clean_title(title) == expected


def test_clean_name_cleans_like_a_title() -> None:
    assert clean_name(" Rust\u200b Berlin\n") == "Rust Berlin"
    assert clean_name("Rust &amp; Friends") == "Rust & Friends"


@given(st.text())
def test_clean_title_is_one_trimmed_line(title: str) -> None:
    cleaned = clean_title(title)
    assert "\n" not in cleaned and "\r" not in cleaned
    assert len(cleaned.splitlines()) <= 1
    assert cleaned == cleaned.strip()
    assert "\u200b" not in cleaned and "\ufeff" not in cleaned


html_pieces = st.sampled_from(
    ["<a href='", "'>", "</a>", "<br>", "<p>", "</p>", "&amp;", "&nbsp;", "https://", "javascript:", "www.", "\n", " "]
)


@given(st.lists(html_pieces | st.text(max_size=8), max_size=12).map("".join))
def test_links_are_always_safe_and_unique(description: str) -> None:
    found = links(description)
    assert all(safe_url(url) == url for url in found)
    assert len(found) == len(set(found))
    assert event_link(description) in [*found, ""]
