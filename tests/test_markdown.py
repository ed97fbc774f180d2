"""The TWiR block writer and parser: exact layout, ordering, escaping, and render/parse round trips."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from aggregator.grouping import group
from aggregator.labels import where_label
from aggregator.model import Event, Mode, Place
from aggregator.urls import display_url
from aggregator.window import Window, issue_window
from output.markdown import (
    FOOTER,
    clean_text,
    event_lines,
    needs_place,
    parse_block,
    render_block,
    title_text,
    web_url,
)

STATES = ("US", "CA", "AU")
WINDOW = issue_window(date(2026, 8, 19))


def make_event(
    title: str,
    day: date,
    *,
    city: str = "",
    state: str = "",
    country: str = "",
    mode: Mode = Mode.IN_PERSON,
    organizer: str = "Org",
    organizer_url: str = "https://example.org/org",
    url: str = "https://example.org/event",
    days: int = 1,
    zone: str = "UTC",
    key: str = "",
) -> Event:
    """An evening event, or an all-day event when it spans several days."""
    if days > 1:
        start: date | datetime = day
        end: date | datetime = day + timedelta(days=days)
    else:
        start = datetime(day.year, day.month, day.day, 18, tzinfo=ZoneInfo(zone))
        end = start + timedelta(hours=2)
    return Event(
        key=key or f"test:{title}:{day}",
        source="test",
        title=title,
        start=start,
        end=end,
        timezone=zone,
        mode=mode,
        place=Place(city=city, state=state, country=country),
        url=url,
        organizer=organizer,
        organizer_url=organizer_url,
    )


def twir_example_events() -> list[Event]:
    return [
        make_event(
            "Dealing with Dependencies",
            date(2026, 8, 19),
            city="Vancouver",
            state="BC",
            country="CA",
            mode=Mode.HYBRID,
            organizer="Vancouver Rust",
            organizer_url="https://www.meetup.com/vancouver-rust",
            url="https://www.meetup.com/vancouver-rust/events/314105333/",
            zone="America/Vancouver",
        ),
        make_event(
            "Tock OS Part #5 — Wireless Communication",
            date(2026, 8, 20),
            city="Charlottesville",
            state="VA",
            country="US",
            mode=Mode.VIRTUAL,
            organizer="Charlottesville Rust Meetup",
            organizer_url="https://www.meetup.com/charlottesville-rust-meetup",
            url="https://www.meetup.com/charlottesville-rust-meetup/events/315733791/",
            zone="America/New_York",
        ),
        make_event(
            "Workshop: Add tests to an open source Rust project",
            date(2026, 8, 31),
            mode=Mode.VIRTUAL,
            organizer="Rust 🦀 Maven",
            organizer_url="https://luma.com/rust-maven",
            url="https://luma.com/nwfmsdtf",
        ),
        make_event(
            "August 2026 Rustacean Meetup",
            date(2026, 8, 22),
            city="Bangalore",
            state="KA",
            country="IN",
            organizer="Rust Bangalore",
            organizer_url="https://hasgeek.com/rustbangalore",
            url="https://hasgeek.com/rustbangalore/august-2026-rustacean-meetup/",
            zone="Asia/Kolkata",
        ),
        make_event(
            "RustConf 2026",
            date(2026, 9, 8),
            days=4,
            city="Montreal",
            state="QC",
            country="CA",
            organizer="RustConf 2026",
            organizer_url="https://rustconf.com/",
            url="https://rustconf.com/schedule/",
        ),
    ]


TWIR_EXAMPLE = """\
Rusty Events between 2026-08-19 - 2026-09-16 🦀

### Virtual
* 2026-08-19 | Hybrid (Vancouver, BC, CA) | [Vancouver Rust](https://www.meetup.com/vancouver-rust)
    * [**Dealing with Dependencies**](https://www.meetup.com/vancouver-rust/events/314105333/)
* 2026-08-20 | Virtual (Charlottesville, VA, US) | [Charlottesville Rust Meetup](https://www.meetup.com/charlottesville-rust-meetup)
    * [**Tock OS Part #5 — Wireless Communication**](https://www.meetup.com/charlottesville-rust-meetup/events/315733791/)
* 2026-08-31 | Virtual | [Rust 🦀 Maven](https://luma.com/rust-maven)
    * [**Workshop: Add tests to an open source Rust project**](https://luma.com/nwfmsdtf)

### Asia
* 2026-08-22 | Bangalore, IN | [Rust Bangalore](https://hasgeek.com/rustbangalore)
    * [**August 2026 Rustacean Meetup**](https://hasgeek.com/rustbangalore/august-2026-rustacean-meetup/)

### North America
* 2026-08-19 | Hybrid (Vancouver, BC, CA) | [Vancouver Rust](https://www.meetup.com/vancouver-rust)
    * [**Dealing with Dependencies**](https://www.meetup.com/vancouver-rust/events/314105333/)
* 2026-09-08 - 2026-09-11 | Montreal, QC, CA | [RustConf 2026](https://rustconf.com/)
    * [**RustConf 2026**](https://rustconf.com/schedule/)

If you are running a Rust event please add it to the [calendar] to get
it mentioned here. Please remember to add a link to the event too.
Email the [Rust Community Team][community] for access.

[calendar]: https://www.google.com/calendar/embed?src=apd9vmbc22egenmtu5l6c5jbfc%40group.calendar.google.com
[community]: mailto:community-team@rust-lang.org
"""


def render(events: list[Event], window: Window = WINDOW) -> str:
    return render_block(window, group(events, STATES), STATES)


def listing_lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.startswith("* ")]


def test_block_matches_the_published_twir_layout_exactly() -> None:
    assert render(twir_example_events()) == TWIR_EXAMPLE


def test_block_without_events_is_window_line_and_footer() -> None:
    block = render([])
    assert block == "Rusty Events between 2026-08-19 - 2026-09-16 🦀\n\n" + FOOTER
    assert block.endswith("[community]: mailto:community-team@rust-lang.org\n")


def test_empty_sections_are_left_out() -> None:
    event = make_event("Talk", date(2026, 8, 20), city="Berlin", country="DE")
    block = render_block(WINDOW, [("Virtual", []), ("Europe", [event]), ("Oceania", [])], STATES)
    assert [line for line in block.splitlines() if line.startswith("###")] == ["### Europe"]
    assert "\n\n### Europe\n* 2026-08-20 | Berlin, DE |" in block


def test_hybrid_event_is_listed_twice_with_identical_lines() -> None:
    event = make_event("Hack night", date(2026, 8, 25), city="Seattle", state="WA", country="US", mode=Mode.HYBRID)
    block = render([event])
    lines = block.splitlines()
    virtual, america = lines.index("### Virtual"), lines.index("### North America")
    assert lines[virtual + 1 : virtual + 3] == lines[america + 1 : america + 3]
    assert lines[virtual + 1].startswith("* 2026-08-25 | Hybrid (Seattle, WA, US) | ")


def test_purely_virtual_event_appears_only_under_virtual() -> None:
    event = make_event("Online", date(2026, 8, 25), city="Berlin", country="DE", mode=Mode.VIRTUAL)
    block = render([event])
    assert "### Europe" not in block
    assert "* 2026-08-25 | Virtual (Berlin, DE) | [Org](https://example.org/org)" in block


def test_states_are_printed_only_for_configured_countries_and_gb_is_uk() -> None:
    events = [
        make_event("A", date(2026, 8, 20), city="Dallas", state="TX", country="US"),
        make_event("B", date(2026, 8, 21), city="Sydney", state="NSW", country="AU"),
        make_event("C", date(2026, 8, 22), city="Toronto", state="ON", country="CA"),
        make_event("D", date(2026, 8, 23), city="London", state="ENG", country="GB"),
        make_event("E", date(2026, 8, 24), city="Munich", state="BY", country="DE"),
    ]
    wheres = [line.split(" | ")[1] for line in listing_lines(render(events))]
    assert sorted(wheres) == ["Dallas, TX, US", "London, UK", "Munich, DE", "Sydney, NSW, AU", "Toronto, ON, CA"]


def test_order_is_date_then_printed_place_then_organizer_then_title() -> None:
    day = date(2026, 8, 26)
    events = [
        make_event("Z talk", day, city="Austin", state="TX", country="US", mode=Mode.VIRTUAL, organizer="A org"),
        make_event("Later", date(2026, 8, 27), city="Austin", state="TX", country="US", mode=Mode.HYBRID),
        make_event("Y talk", day, city="Zurich", country="CH", mode=Mode.HYBRID, organizer="Z org"),
        make_event("B talk", day, city="Austin", state="TX", country="US", mode=Mode.VIRTUAL, organizer="B org"),
        make_event("A talk", day, city="Austin", state="TX", country="US", mode=Mode.VIRTUAL, organizer="B org"),
    ]
    block = render(events)
    virtual = block.split("### Virtual\n")[1].split("\n\n")[0].splitlines()
    titles = [line.split("[**")[1].split("**]")[0] for line in virtual[1::2]]
    assert titles == ["Y talk", "Z talk", "A talk", "B talk", "Later"]
    assert virtual[0].startswith("* 2026-08-26 | Hybrid (Zurich, CH)")


def test_multi_day_event_prints_first_and_last_local_day() -> None:
    event = make_event("Conf", date(2026, 9, 1), days=3, city="Paris", country="FR")
    assert listing_lines(render([event]))[0].startswith("* 2026-09-01 - 2026-09-03 | Paris, FR | ")


def test_event_already_running_before_the_window_keeps_its_real_first_day() -> None:
    event = make_event("Conf", date(2026, 8, 17), days=4, city="Paris", country="FR")
    assert listing_lines(render([event]))[0].startswith("* 2026-08-17 - 2026-08-20 | ")


def title_line(event: Event) -> str:
    return render([event]).split("\n    * ")[1].split("\n")[0]


def organizer_part(event: Event) -> str:
    return listing_lines(render([event]))[0].split(" | ", 2)[2]


def berlin(title: str = "Talk", **fields: str) -> Event:
    return make_event(title, date(2026, 8, 20), city="Berlin", country="DE", **fields)


def test_title_characters_pass_through_except_structural_ones() -> None:
    assert title_line(berlin("Rust | `async` 🦀 שלום 한국어 日本語")) == (
        "[**Rust | `async` 🦀 שלום 한국어 日本語**](https://example.org/event)"
    )
    assert title_line(berlin("[Hybrid] Meetup")) == "[**[Hybrid] Meetup**](https://example.org/event)"
    assert title_line(berlin("*Star* night*")) == r"[**\*Star* night\***](https://example.org/event)"


def test_title_line_breaks_zero_width_spaces_and_html_are_neutralised() -> None:
    assert title_line(berlin(" \u200bTwo\r\n  lines\u2028here ")) == "[**Two lines here**](https://example.org/event)"
    assert title_line(berlin("<script>alert(1)</script> & <3")) == (
        r"[**\<script>alert(1)\</script> & <3**](https://example.org/event)"
    )
    assert title_line(berlin("x](javascript:alert(1))")) == r"[**x\](javascript:alert(1))**](https://example.org/event)"
    assert title_line(berlin("C:\\path\\ and \\*")) == r"[**C:\path\ and \\\***](https://example.org/event)"


def test_empty_title_gets_the_placeholder_instead_of_a_thematic_break() -> None:
    assert title_line(berlin(" \u200b\n ", url="")) == "**(untitled event)**"


def test_only_http_links_are_printed_and_parentheses_cannot_close_them() -> None:
    assert title_line(berlin(url="javascript:alert(1)")) == "**Talk**"
    assert title_line(berlin(url="")) == "**Talk**"
    assert title_line(berlin(url=" https://x.org/a (b)<c> `d`\\ ")) == (
        "[**Talk**](https://x.org/a%20%28b%29%3Cc%3E%20%60d%60%5C)"
    )
    assert web_url("HTTPS://Example.org/ü") == "https://Example.org/ü"
    assert web_url("mailto:a@b.org") == web_url("https:///nohost") == ""


def test_missing_organizer_name_uses_host_and_missing_url_prints_plain_name() -> None:
    assert organizer_part(berlin(organizer="", organizer_url="https://www.meetup.com/rust-berlin")) == (
        "[meetup.com](https://www.meetup.com/rust-berlin)"
    )
    # Balanced brackets are text; a bracketed footer reference label would become a link.
    assert organizer_part(berlin(organizer="Rust [Berlin]", organizer_url="")) == "Rust [Berlin]"
    assert organizer_part(berlin(organizer="Rust [calendar]", organizer_url="")) == r"Rust \[calendar\]"
    assert organizer_part(berlin(organizer="", organizer_url="")) == "test"


def test_parse_reads_the_published_example() -> None:
    items = parse_block(TWIR_EXAMPLE)
    assert [(i.section, i.first_day, i.last_day) for i in items][-1] == (
        "North America",
        date(2026, 9, 8),
        date(2026, 9, 11),
    )
    first = items[0]
    assert (first.line, first.title_line, first.where, first.organizer) == (
        4,
        5,
        "Hybrid (Vancouver, BC, CA)",
        "Vancouver Rust",
    )
    assert first.organizer_url == "https://www.meetup.com/vancouver-rust"
    assert first.url == "https://www.meetup.com/vancouver-rust/events/314105333/"
    assert [i.section for i in items].count("Virtual") == 3
    assert len(items) == 6


def test_parse_tolerates_editor_variants_inside_a_whole_issue() -> None:
    draft = "\r\n".join(
        [
            "## Upcoming Events",
            "",
            "Rusty Events between 2023-04-05 - 2023-05-03 🦀",
            "",
            "### Virtual",
            "",
            "* 2023-03-29 | Virtual (Cardiff, UK) | [Rust and C++ Cardiff ](https://www.meetup.com/rust-cardiff/)",
            "    * [**Writing your own rust 'book' with mdBook**](https://www.meetup.com/rust-cardiff/events/29/)",
            "* 2023-04-04 | Virtual (Europe / Africa) | [Rust for Lunch](https://lunch.rs/)",
            "   * **Rust Meet-up**",
            "",
            "### Europe  ",
            "- 2023-04-10 \u2013 2023-04-12 |Wien, AT| [Rust (lang) Vienna](https://en.wikipedia.org/wiki/Rust_(language))",
            "\t* [Plain title](<https://example.org/a b>) (in German)",
            "* 2023-04-20 | Oslo, NO | Rust Oslo",
            "* not an event line",
            "",
            "If you are running a Rust event please add it to the [calendar] to get",
            "* 2023-04-21 | After, DE | [After the block](https://example.org/)",
            "## Jobs",
            "* 2023-04-22 | Jobs, DE | [Not an event](https://example.org/)",
        ]
    )
    items = parse_block(draft)
    assert [(i.line, i.section, i.organizer, i.title) for i in items] == [
        (7, "Virtual", "Rust and C++ Cardiff", "Writing your own rust 'book' with mdBook"),
        (9, "Virtual", "Rust for Lunch", "Rust Meet-up"),
        (13, "Europe", "Rust (lang) Vienna", "Plain title"),
        (15, "Europe", "Rust Oslo", ""),
    ]
    vienna = items[2]
    assert (vienna.first_day, vienna.last_day, vienna.where) == (date(2023, 4, 10), date(2023, 4, 12), "Wien, AT")
    assert vienna.organizer_url == "https://en.wikipedia.org/wiki/Rust_(language)"
    assert (vienna.url, vienna.title_line) == ("https://example.org/a b", 14)
    assert (items[1].url, items[3].organizer_url, items[3].title_line) == ("", "", None)


def test_parse_without_window_line_reads_the_whole_text() -> None:
    items = parse_block(
        "### Oceania\n* 2026-08-26 | Barton, ACT, AU | [CRUG](https://x.org)\n    * [**May**](https://y.org)\n"
    )
    assert [(i.section, i.where, i.title, i.url) for i in items] == [
        ("Oceania", "Barton, ACT, AU", "May", "https://y.org")
    ]


# Pieces that have broken markdown lists and links, mixed with arbitrary text.
NASTY = st.sampled_from(
    [
        "]", "[", "*", "**", "|", "\n", "\r\n", "\r", "\u2028", "\x85", "\t", "\u200b", "\\", "`", "_", "#",
        "<script>", "</b>", "<!--", "<http://x.org>", "](javascript:alert(1))", "[x](https://evil.org)", "![i](x)",
        "(", ")", "<", ">", "&amp;", "🦀", "שלום", "한국어", "日本", " ", "  ", "-", "---", "1.", "[c]: https://e.org",
    ]
)  # fmt: skip
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=4)), max_size=8).map("".join)
URL = st.one_of(
    st.sampled_from(
        ["", "javascript:alert(1)", "ftp://x.org/", "https://www.meetup.com/rust/events/1/", "HTTP://X.ORG"]
    ),
    # CommonMark decodes entities in link targets; `&` stays out so the target text is comparable.
    st.builds(
        lambda scheme, path: f"{scheme}://example.org/{path.replace('&', '+')}",
        st.sampled_from(["http", "https"]),
        TEXT,
    ),
)
COUNTRIES = st.sampled_from(["DE", "GB", "US", "CA", "AU", "JP", "IN", "BR", "ZA", "NZ", "IL"])


@st.composite
def events(draw: st.DrawFn) -> Event:
    day = draw(st.dates(date(2026, 8, 1), date(2026, 9, 30)))
    mode = draw(st.sampled_from(Mode))
    place = Place() if mode is Mode.VIRTUAL and draw(st.booleans()) else None
    return Event(
        key=draw(st.uuids()).hex,
        source="src",
        title=draw(TEXT),
        start=day,
        end=day + timedelta(days=draw(st.integers(1, 4))),
        timezone="UTC",
        mode=mode,
        place=place or Place(city=draw(TEXT), state=draw(st.sampled_from(["", "TX", "NSW"])), country=draw(COUNTRIES)),
        url=draw(URL),
        organizer=draw(TEXT),
        organizer_url=draw(URL),
    )


def expected_organizer(event: Event) -> str:
    if clean_text(event.organizer):
        return clean_text(event.organizer)
    if web_url(event.organizer_url):
        return (urlsplit(web_url(event.organizer_url)).hostname or "").removeprefix("www.")
    return event.source


def same_target(parsed: str, original: str) -> bool:
    """The parsed link points where the original did (percent-encoding aside), or nowhere for non-web URLs."""
    if not original.strip().lower().startswith(("http://", "https://")):
        return parsed == ""
    # Printed in house style: meetup and luma links as TWiR prints them, scheme in lower case.
    return unquote(parsed) == unquote(display_url(original.strip()) or original.strip())


def links(tokens: list[Token]) -> list[str]:
    children = [child for token in tokens if token.children for child in token.children]
    return [str(child.attrs["href"]) for child in children if child.type == "link_open"]


@settings(max_examples=100, deadline=None)
@given(st.lists(events(), max_size=6))
def test_parse_gives_back_what_render_printed(listed: list[Event]) -> None:
    sections = group(listed, STATES)
    block = render_block(WINDOW, sections, STATES)
    expected = [(name, event) for name, members in sections for event in members]
    items = parse_block(block)
    assert len(items) == len(expected)
    for item, (section, event) in zip(items, expected, strict=True):
        assert item.section == section
        assert (item.first_day, item.last_day) == (event.first_day, event.last_day)
        assert item.where == clean_text(where_label(event, STATES))
        assert item.title == title_text(event.title)
        assert item.organizer == expected_organizer(event)
        assert same_target(item.url, event.url)
        assert same_target(item.organizer_url, event.organizer_url)
        assert item.title_line == item.line + 1
    assert block.count("\n") == 2 + sum(2 + 2 * len(members) for _, members in sections) + FOOTER.count("\n")


@settings(max_examples=100, deadline=None)
@given(st.lists(events(), max_size=6))
def test_no_title_or_organizer_creates_a_link_or_list_item(listed: list[Event]) -> None:
    sections = group(listed, STATES)
    block = render_block(WINDOW, sections, STATES)
    members = [event for _, events_ in sections for event in events_]
    expected = [
        url for event in members for url in (web_url(event.organizer_url), web_url(event.url)) if url
    ] + ["https://www.google.com/calendar/embed?src=apd9vmbc22egenmtu5l6c5jbfc%40group.calendar.google.com",
         "mailto:community-team@rust-lang.org"]  # fmt: skip
    tokens = MarkdownIt("commonmark").parse(block)
    assert [unquote(url) for url in links(tokens)] == [unquote(url) for url in expected]
    assert sum(token.type == "list_item_open" for token in tokens) == 2 * len(members)
    assert sum(token.type == "heading_open" for token in tokens) == len(sections)


def link_texts(markdown: str) -> list[tuple[str, str]]:
    """(text, href) of every link, as a CommonMark reader sees them."""
    found = []
    for token in MarkdownIt("commonmark").parse(markdown):
        children = token.children or []
        for index, child in enumerate(children):
            if child.type == "link_open":
                inner = []
                for part in children[index + 1 :]:
                    if part.type == "link_close":
                        break
                    inner.append(part.content)
                found.append(("".join(inner), str(child.attrs["href"])))
    return found


def test_balanced_brackets_pass_through_and_stay_inside_the_link() -> None:
    event = berlin(
        "[Hybrid] Boston Rust Meetup",
        organizer="[Net-Baires] Comunidad de .NET en Buenos Aires",
        organizer_url="https://www.meetup.com/net-baires",
    )
    lines = "\n".join(event_lines(event, STATES))
    assert "[[Net-Baires] Comunidad de .NET en Buenos Aires](https://www.meetup.com/net-baires)" in lines
    assert "[**[Hybrid] Boston Rust Meetup**](https://example.org/event)" in lines
    assert link_texts(lines) == [
        ("[Net-Baires] Comunidad de .NET en Buenos Aires", "https://www.meetup.com/net-baires"),
        ("[Hybrid] Boston Rust Meetup", "https://example.org/event"),
    ]


@pytest.mark.parametrize(
    "title",
    ["Rust ](javascript:alert(1)) night", "see [the page](https://evil.example) now", "a [b] c [d", "[x][calendar]"],
)
def test_brackets_that_could_end_or_make_a_link_are_escaped(title: str) -> None:
    lines = "\n".join(event_lines(berlin(title), STATES))
    assert link_texts(lines + "\n\n" + FOOTER)[1] == (title, "https://example.org/event")


def test_links_are_printed_in_house_style_whatever_the_source_wrote() -> None:
    event = berlin(
        url="https://www.meetup.com/de-de/bergen-rust-new-technology/events/312037597",
        organizer_url="https://lu.ma/rust-bergen",
    )
    event_line, title = event_lines(event, STATES)
    assert event_line.endswith("[Org](https://luma.com/rust-bergen)")
    assert title.endswith("(https://www.meetup.com/bergen-rust-new-technology/events/312037597/)")


def test_an_in_person_event_without_a_place_is_never_printed_with_an_empty_field() -> None:
    lost = make_event("Somewhere", date(2026, 8, 21), city="", country="")
    placed = berlin()
    block = render_block(WINDOW, [("Europe", [lost, placed])], STATES)
    assert needs_place(lost, STATES) and not needs_place(placed, STATES)
    assert "Somewhere" not in block and "| |" not in block
    assert [item.title for item in parse_block(block)] == ["Talk"]
