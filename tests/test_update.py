"""`update`: the generated block goes into a draft; hand-added listings stay; nothing else moves a byte."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.update import UpdateError, draft_date, update_draft
from aggregator.window import issue_window
from output.markdown import FOOTER

FIXTURES = Path(__file__).with_name("fixtures") / "cli"
WINDOW = issue_window(date(2026, 8, 19), 4)
HEAD = "Title: This Week in Rust 666\nNumber: 666\n\n## Call for Participation\n\n* a list item | not an event\n\n"
TAIL = "\n## Jobs\n\nPlease see the latest [Who's Hiring thread](https://example.org/jobs).\n"


def listing(day: str, where: str, organizer: str, title: str, link: str) -> str:
    return f"* {day} | {where} | [{organizer}](https://example.org/{organizer.lower()})\n    * [**{title}**]({link})\n"


BERLIN = listing("2026-08-20", "Berlin, DE", "Rust Berlin", "Hack and Learn", "https://berline.rs/hack/2026-08-20")
TOKYO = listing("2026-08-27", "Tokyo, JP", "Tokyo Rust", "Tokyo Rust Meetup", "https://tokyo.rs/events/44")
ONLINE = listing("2026-08-21", "Virtual", "Rust Maven", "Workshop", "https://luma.com/abcd1234")
# Added by an editor: no source knows this link.
HAND = listing("2026-08-22", "Köln, DE", "Rust Cologne", "Rust Summer Night", "https://rust.cologne/summer")
# Copied from last week: the sources know it, and it is over.
STALE = listing("2026-08-12", "Paris, FR", "Rust Paris", "Rust Paris 41", "https://paris.rs/41")


def block(*sections: tuple[str, str]) -> str:
    body = "".join(f"### {name}\n{listings}\n" for name, listings in sections)
    return f"Rusty Events between {WINDOW.start} - {WINDOW.end} \N{CRAB}\n\n{body}{FOOTER}"


def draft(inside: str) -> str:
    return f"{HEAD}## Upcoming Events\n\n{inside}{TAIL}"


GENERATED = block(("Virtual", ONLINE), ("Asia", TOKYO), ("Europe", BERLIN))
KNOWN = {"https://berline.rs/hack/2026-08-20", "https://tokyo.rs/events/44", "https://luma.com/abcd1234"}
KNOWN |= {"https://paris.rs/41"}


def test_the_block_is_replaced_and_hand_added_listings_stay_in_their_section() -> None:
    old = draft(block(("Europe", STALE + HAND)))
    result = update_draft(old, GENERATED, WINDOW, KNOWN)
    assert result.text == draft(block(("Virtual", ONLINE), ("Asia", TOKYO), ("Europe", BERLIN + HAND)))
    assert [change.title for change in result.new] == ["Workshop", "Tokyo Rust Meetup", "Hack and Learn"]
    assert [change.title for change in result.dropped] == ["Rust Paris 41"]
    assert [(change.title, change.section) for change in result.kept] == [("Rust Summer Night", "Europe")]
    assert result.moved == []
    # Idempotent: the second update changes nothing and has nothing new to say.
    again = update_draft(result.text, GENERATED, WINDOW, KNOWN)
    assert again.text == result.text
    assert (again.new, again.dropped, again.moved) == ([], [], [])
    assert [change.title for change in again.kept] == ["Rust Summer Night"]


def test_a_hand_added_listing_in_a_section_the_sources_left_empty_gets_its_header_in_order() -> None:
    sydney = listing("2026-08-25", "Sydney, NSW, AU", "Rust Sydney", "Rust Sydney", "https://rust.sydney/25")
    old = draft(block(("Oceania", sydney), ("Africa", listing("2026-08-26", "Lagos, NG", "Rust Lagos", "Meetup", "x"))))
    result = update_draft(old, GENERATED, WINDOW, KNOWN)
    assert result.text == draft(
        block(
            ("Virtual", ONLINE),
            ("Africa", listing("2026-08-26", "Lagos, NG", "Rust Lagos", "Meetup", "x")),
            ("Asia", TOKYO),
            ("Europe", BERLIN),
            ("Oceania", sydney),
        )
    )
    assert update_draft(result.text, GENERATED, WINDOW, KNOWN).text == result.text


def test_a_listing_that_changed_section_or_date_is_reported_moved() -> None:
    was_virtual = BERLIN.replace("Berlin, DE", "Virtual (Berlin, DE)")
    result = update_draft(draft(block(("Virtual", was_virtual))), GENERATED, WINDOW, KNOWN)
    assert [(change.title, change.section) for change in result.moved] == [("Hack and Learn", "Europe")]
    assert [change.title for change in result.new] == ["Workshop", "Tokyo Rust Meetup"]
    assert result.dropped == result.kept == []
    earlier = BERLIN.replace("* 2026-08-20", "* 2026-08-19")
    result = update_draft(draft(block(("Europe", earlier))), GENERATED, WINDOW, KNOWN)
    assert [(change.title, change.day) for change in result.moved] == [("Hack and Learn", date(2026, 8, 20))]
    assert result.dropped == []


def test_nothing_outside_the_block_changes_byte_for_byte_with_windows_line_endings() -> None:
    old = draft(block(("Europe", HAND))).replace("\n", "\r\n")
    # Trailing spaces and a missing final newline outside the block are the editor's business.
    old = old.replace("## Call for Participation\r\n", "## Call for Participation  \r\n").removesuffix("\r\n")
    result = update_draft(old, GENERATED, WINDOW, KNOWN)
    before, after = old.split("## Upcoming Events"), result.text.split("## Upcoming Events")
    assert after[0] == before[0]
    assert after[1].endswith(old[old.index("\r\n## Jobs") :])
    assert "\n" not in result.text.replace("\r\n", "")
    expected = draft(block(("Virtual", ONLINE), ("Asia", TOKYO), ("Europe", BERLIN + HAND)))
    expected = expected.replace("## Call for Participation\n", "## Call for Participation  \n").removesuffix("\n")
    assert result.text.replace("\r\n", "\n") == expected
    assert update_draft(result.text, GENERATED, WINDOW, KNOWN).text == result.text


def test_a_section_without_a_block_or_without_a_footer_takes_the_whole_block() -> None:
    empty = draft("")
    assert update_draft(empty, GENERATED, WINDOW, KNOWN).text == draft(GENERATED)
    footerless = draft(block(("Europe", BERLIN)).removesuffix(FOOTER))
    assert update_draft(footerless, GENERATED, WINDOW, KNOWN).text == draft(GENERATED)


def test_a_draft_without_an_events_section_is_refused() -> None:
    with pytest.raises(UpdateError, match="no `## Upcoming Events` section"):
        update_draft(HEAD + TAIL, GENERATED, WINDOW, KNOWN)
    # Listings without the window line: where the block starts is unknown, so nothing is guessed.
    headless = draft(block(("Europe", HAND)).split("\n", 2)[2])
    assert headless.startswith(HEAD + "## Upcoming Events\n\n### Europe")
    with pytest.raises(UpdateError, match="no `Rusty Events between` line"):
        update_draft(headless, GENERATED, WINDOW, KNOWN)
    # A section holding only a note takes the block after its heading; the note stays.
    noted = draft("<!-- events go here -->\n\n")
    assert update_draft(noted, GENERATED, WINDOW, KNOWN).text == draft(GENERATED + "\n<!-- events go here -->\n\n")


def test_the_issue_date_comes_from_the_file_name_then_the_window_line() -> None:
    text = draft(GENERATED)
    assert draft_date("2026-09-02-this-week-in-rust.md", text) == date(2026, 9, 2)
    assert draft_date("draft.md", text) == WINDOW.start
    assert draft_date("draft.md", HEAD) is None


def test_update_command_on_a_real_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    source = f'[[source]]\nname = "Community"\ntype = "ics"\nurl = {json.dumps(str(FIXTURES / "community.ics"))}\n'
    config.write_text('[output]\ndir = "public"\n\n' + source, encoding="utf-8")
    assert main(["run", "--config", str(config), "--date", "2026-03-04", "--quiet"]) == 0
    generated = capsys.readouterr().out
    path = tmp_path / "2026-03-04-this-week-in-rust.md"
    hand = listing("2026-03-07", "Köln, DE", "Rust Cologne", "Rust Night", "https://rust.cologne/night")
    path.write_bytes(draft(block(("Europe", hand)).replace(str(WINDOW.start), "2026-03-04")).encode())
    assert main(["update", str(path), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(generated.split(chr(10) + '* ')) - 1} new, 0 dropped, 0 moved, 1 kept by hand")
    updated = path.read_bytes()
    assert hand.splitlines()[0] in updated.decode() and "Rust Hack and Learn" in updated.decode()
    assert updated.decode().startswith(HEAD) and updated.decode().endswith(TAIL)
    assert main(["update", str(path), "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("0 new, 0 dropped, 0 moved, 1 kept by hand")
    assert path.read_bytes() == updated
    bare = tmp_path / "no-events.md"
    bare.write_bytes((HEAD + TAIL).encode())
    assert main(["update", str(bare), "--config", str(config), "--date", "2026-03-04"]) == 2
    assert "no `## Upcoming Events` section" in capsys.readouterr().err
    assert bare.read_bytes() == (HEAD + TAIL).encode()
