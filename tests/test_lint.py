"""The draft linter and fixer: no false errors on clean drafts, exact problems on broken ones, stable fixes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.grouping import group
from aggregator.lint import LintReport, Problem, fix, lint
from aggregator.merge import PossibleDuplicate
from aggregator.model import Event, Mode, Place
from aggregator.regions import REGIONS
from aggregator.window import issue_window
from output.markdown import FOOTER, event_lines, read_block, render_block

DRAFTS = Path(__file__).parent / "fixtures" / "drafts"
CLEAN = ("current-2026.md", "older-2023.md", "crlf-2025.md")
STATES = ("US", "CA", "AU")
ISSUE = date(2026, 8, 19)


def read(name: str) -> str:
    # Bytes, so that Windows line endings reach the linter as written.
    return (DRAFTS / name).read_bytes().decode("utf-8")


def tidy(text: str) -> str:
    """The draft with the blank lines older drafts put after each header of the block removed."""
    start, end = text.index("Rusty Events between"), text.index("If you are running")
    inside = re.sub(r"^(### [^\r\n]*)(\r?\n)(?:\r?\n)+", r"\1\2", text[start:end], flags=re.M)
    return text[:start] + inside + text[end:]


def check(
    text: str,
    issue_date: date | None = None,
    known: Sequence[Event] = (),
    possible: Sequence[PossibleDuplicate] = (),
) -> LintReport:
    return lint(text, issue_date=issue_date, weeks=4, states=STATES, known=known, possible=possible)


def repair(text: str, issue_date: date | None = None) -> str:
    return fix(text, issue_date=issue_date, weeks=4, states=STATES)


def found(report: LintReport) -> list[tuple[int, str, bool]]:
    return [(p.line, p.code, p.fixable) for p in report.problems]


def line_of(text: str, fragment: str, nth: int = 0) -> int:
    """The 1-based number of the `nth` line holding `fragment`."""
    return [number for number, line in enumerate(text.splitlines(), 1) if fragment in line][nth]


def listing(day: str, where: str, slug: str = "rust-berlin", event: str = "1", title: str = "Talk") -> list[str]:
    return [
        f"* {day} | {where} | [{slug}](https://www.meetup.com/{slug})",
        f"    * [**{title}**](https://www.meetup.com/{slug}/events/{event}/)",
    ]


def block(*sections: tuple[str, list[str]], window: str = "2026-08-19 - 2026-09-16") -> str:
    """A small issue: a heading, the block with the given sections, the footer and the next heading."""
    lines = ["## Upcoming Events", "", f"Rusty Events between {window} 🦀", ""]
    for name, body in sections:
        lines += [f"### {name}", *body, ""]
    return "\n".join(lines) + "\n" + FOOTER + "\n## Jobs\n"


# Clean drafts of every variant: no false errors, and fix leaves them alone.


@pytest.mark.parametrize("name", CLEAN)
def test_clean_drafts_have_no_problems_and_fix_keeps_every_byte(name: str) -> None:
    text = read(name)
    report = check(text)
    assert report.problems == []
    assert report.window is not None and report.window.start.isoformat() in text
    assert repair(text) == tidy(text)
    assert (tidy(text) == text) == (name != "older-2023.md")
    assert check(text, issue_date=report.window.start).problems == []


def test_clean_draft_with_windows_line_endings_and_blank_lines_after_headers() -> None:
    text = read("current-2026.md")
    older = re.sub(r"^(### (?:Virtual|Asia|Europe|North America|Oceania))$", r"\1\n", text, flags=re.M)
    crlf = older.replace("\n", "\r\n")
    assert older != text and crlf.count("\r\n") == older.count("\n")
    for variant in (older, crlf):
        assert check(variant).problems == []
    # Layout is normalized without being reported: one blank line before each header and none after it.
    assert repair(older) == text
    assert repair(crlf) == text.replace("\n", "\r\n")


def test_the_published_example_is_clean() -> None:
    reference = Path(__file__).resolve().parents[2] / "shared" / "twir-format.md"
    if not reference.exists():
        pytest.skip("the shared reference is not here")
    example = reference.read_text(encoding="utf-8").split("```\n")[1]
    assert example.startswith("Rusty Events between") and example.endswith("community-team@rust-lang.org\n")
    assert check(example).problems == []
    assert repair(example) == example


def test_the_other_sections_of_the_issue_are_not_read() -> None:
    text = read("current-2026.md")
    # List items that look like events sit before the block and after the footer.
    assert line_of(text, "Not an event") < line_of(text, "Rusty Events between")
    assert line_of(text, "Not in the block") > line_of(text, "[community]:")
    assert check(text).problems == []


def test_a_state_code_is_optional_for_canada_and_australia_and_checked_when_present() -> None:
    text = block(
        ("Virtual", listing("2026-08-20", "Virtual (Toronto, CA)", event="2")),
        ("North America", listing("2026-08-21", "Toronto, ON, CA", event="3")),
        (
            "Oceania",
            listing("2026-08-22", "Sydney, AU", event="4") + listing("2026-08-23", "Barton, ACT, AU", event="5"),
        ),
    )
    assert check(text).problems == []
    wrong = text.replace("Toronto, ON, CA", "Toronto, OX, CA").replace("Barton, ACT, AU", "Barton, CAN, AU")
    assert found(check(wrong)) == [
        (line_of(wrong, "Toronto, OX"), "unknown-state", False),
        (line_of(wrong, "Barton, CAN"), "unknown-state", False),
    ]


# The broken fixture: every check at once, exact lines, and the expected repair.

BROKEN = [
    (8, "outside-window", True),
    (10, "wrong-state", False),
    (12, "hybrid-once", True),
    (14, "wrong-section", True),
    (18, "duplicate", True),
    (28, "wrong-continent", True),
    (30, "out-of-order", True),
    (30, "unknown-country", False),
    (32, "wrong-section", True),
    (36, "duplicate", True),
    (38, "malformed", False),
    (39, "malformed", False),
    (41, "section-order", True),
    (48, "duplicate", True),
    (50, "unknown-state", False),
    (52, "outside-window", True),
    (54, "malformed", False),
    (56, "empty-section", True),
    (58, "duplicate-section", True),
    (59, "wrong-continent", True),
    (61, "wrong-continent", True),
    (63, "blank-line", True),
]


def test_broken_draft_reports_exactly_the_expected_problems() -> None:
    text = read("broken-2026.md")
    report = check(text)
    assert found(report) == BROKEN
    messages = {(p.line, p.code): p.message for p in report.problems}
    assert messages[(10, "wrong-state")] == "Charlottesville is in VA, not NC"
    assert messages[(18, "duplicate")] == "duplicate of line 16 (same link)"
    assert messages[(36, "duplicate")] == "duplicate of line 34 (same link)"
    assert messages[(48, "duplicate")] == "duplicate of line 46 (same meetup group and day)"
    assert messages[(28, "wrong-continent")] == "`Tel Aviv, IL` is in Asia, not Europe"
    assert messages[(12, "hybrid-once")] == "hybrid event listed only under Virtual: list it under Europe too"
    assert "2026-02-30" in messages[(38, "malformed")]
    assert "`DX`" in messages[(30, "unknown-country")]


def test_broken_draft_is_fixed_as_an_editor_would() -> None:
    text = read("broken-2026.md")
    fixed = repair(text)
    assert fixed == read("broken-2026.fixed.md")
    # What is left needs a person: a state, a country, broken lines.
    assert found(check(fixed)) == [
        (line_of(fixed, "Charlottesville, NC"), "wrong-state", False),
        (line_of(fixed, "Munich, DX"), "unknown-country", False),
        (line_of(fixed, "2026-02-30"), "malformed", False),
        (line_of(fixed, "Rust Paris #70"), "malformed", False),
        (line_of(fixed, "Charlottesville, XX"), "unknown-state", False),
        (line_of(fixed, "Ciudad de México"), "malformed", False),
    ]
    assert repair(fixed) == fixed


# Each check on its own.


def test_window_line_is_checked_against_the_issue_date_and_the_weeks() -> None:
    text = block(("Europe", listing("2026-08-20", "Berlin, DE")), window="2026-08-19 - 2026-09-23")
    line = line_of(text, "Rusty Events")
    assert found(check(text)) == [(line, "window-line", True)]
    assert "2026-08-19 - 2026-09-16" in check(text).problems[0].message
    assert "Rusty Events between 2026-08-19 - 2026-09-16 \N{CRAB}\n" in repair(text)
    assert lint(text, issue_date=None, weeks=5, states=STATES).problems == []


def test_issue_date_given_moves_the_window_and_drops_what_ended_before_it() -> None:
    text = block(
        ("Europe", listing("2026-08-20", "Berlin, DE", event="1") + listing("2026-08-27", "Köln, DE", event="2"))
    )
    report = check(text, issue_date=date(2026, 8, 26))
    assert found(report) == [
        (line_of(text, "Rusty Events"), "window-line", True),
        (line_of(text, "Berlin, DE"), "outside-window", True),
    ]
    fixed = repair(text, issue_date=date(2026, 8, 26))
    assert "Rusty Events between 2026-08-26 - 2026-09-23 \N{CRAB}" in fixed
    assert "Berlin, DE" not in fixed and "Köln, DE" in fixed


def test_an_unreadable_window_line_without_an_issue_date_is_reported_and_left_alone() -> None:
    text = block(("Europe", listing("2026-08-20", "Berlin, DE")), window="next month")
    report = check(text)
    assert found(report) == [(line_of(text, "Rusty Events"), "window-line", False)]
    assert report.window is None
    assert repair(text) == text


def test_no_block_is_one_problem_and_fix_changes_nothing() -> None:
    text = "# Quote of the Week\n\n* 2026-08-20 | Berlin, DE | [x](https://x.org)\n"
    assert found(check(text)) == [(1, "no-block", False)]
    assert repair(text) == text


def test_window_ends_are_inclusive_and_running_events_stay() -> None:
    text = block(
        (
            "Europe",
            listing("2026-08-12 - 2026-08-19", "Utrecht, NL", event="1")
            + listing("2026-08-18", "Berlin, DE", event="2")
            + listing("2026-09-16", "Paris, FR", event="3")
            + listing("2026-09-17", "Rome, IT", event="4"),
        )
    )
    assert found(check(text)) == [
        (line_of(text, "Berlin, DE"), "outside-window", True),
        (line_of(text, "Rome, IT"), "outside-window", True),
    ]
    assert "ended before the issue date 2026-08-19" in check(text).problems[0].message


def test_order_is_date_then_place_text_and_ties_may_keep_any_order() -> None:
    ties = listing("2026-08-20", "Berlin, DE", slug="zeta", event="1") + listing(
        "2026-08-20", "Berlin, DE", slug="alpha", event="2"
    )
    hybrid_first = listing("2026-08-21", "Hybrid (Zagreb, HR)", slug="b", event="3") + listing(
        "2026-08-21", "Virtual (Aachen, DE)", slug="a", event="4"
    )
    assert check(block(("Virtual", hybrid_first), ("Europe", ties + hybrid_first[:2]))).problems == []
    swapped = block(("Virtual", hybrid_first[2:] + hybrid_first[:2]), ("Europe", hybrid_first[:2] + ties))
    assert found(check(swapped)) == [
        (line_of(swapped, "Hybrid (Zagreb"), "out-of-order", True),
        (line_of(swapped, "Berlin, DE"), "out-of-order", True),
    ]
    fixed = repair(swapped)
    assert check(fixed).problems == []
    assert line_of(fixed, "zeta") < line_of(fixed, "alpha")  # the editor's order of a tie is kept


def test_virtual_under_a_continent_and_in_person_under_virtual_are_moved() -> None:
    text = block(
        ("Virtual", listing("2026-08-20", "Berlin, DE", event="1") + listing("2026-08-21", "Virtual", event="2")),
        ("Europe", listing("2026-08-22", "Virtual (Paris, FR)", event="3")),
    )
    assert found(check(text)) == [
        (line_of(text, "Berlin, DE"), "wrong-section", True),
        (line_of(text, "Virtual (Paris"), "wrong-section", True),
    ]
    fixed = repair(text)
    expected = block(
        (
            "Virtual",
            listing("2026-08-21", "Virtual", event="2") + listing("2026-08-22", "Virtual (Paris, FR)", event="3"),
        ),
        ("Europe", listing("2026-08-20", "Berlin, DE", event="1")),
    )
    assert fixed == expected


def test_in_person_event_of_unknown_country_goes_under_other_unless_the_editor_chose_a_continent() -> None:
    text = block(("Virtual", listing("2026-08-20", "Berlin, XY", event="1")))
    assert found(check(text)) == [
        (line_of(text, "Berlin, XY"), "unknown-country", False),
        (line_of(text, "Berlin, XY"), "wrong-section", True),
    ]
    assert repair(text) == block(("Other", listing("2026-08-20", "Berlin, XY", event="1")))
    chosen = block(("Europe", listing("2026-08-20", "Berlin, XY", event="1")))
    assert [p.code for p in check(chosen).problems] == ["unknown-country"]
    assert repair(chosen) == chosen


def test_the_generators_other_section_is_known_and_its_events_need_a_place() -> None:
    unplaced = Event(
        key="u",
        source="test",
        title="Rust Night",
        start=date(2026, 8, 20),
        end=date(2026, 8, 21),
        timezone="",
        mode=Mode.IN_PERSON,
        place=Place(),
        location="Main Street 5, Backroom",
        url="https://example.org/u",
        organizer="Someone",
        organizer_url="https://example.org/",
    )
    nowhere = Event(**{**vars(unplaced), "key": "n", "location": "", "url": "https://example.org/n"})
    berlin = Event(**{**vars(unplaced), "key": "b", "place": Place("Berlin", "", "DE"), "url": "https://example.org/b"})
    text = render_block(issue_window(ISSUE), group([unplaced, nowhere, berlin], STATES), STATES)
    # The block never prints an empty place (that event goes to the editor's review list); a draft may have one.
    assert " |  | " not in text
    text = text.replace("### Other\n", "### Other\n" + "\n".join(event_lines(nowhere, STATES)) + "\n")
    assert text.index("### Europe") < text.index("### Other")
    report = check(text)
    assert [(p.line, p.code, p.fixable) for p in report.problems] == [
        (line_of(text, " |  | "), "unknown-country", False),
        (line_of(text, "Main Street 5"), "unknown-country", False),
    ]
    assert repair(text) == text
    # Once the editor writes a place, fix files the event under its continent.
    placed = text.replace("Main Street 5, Backroom", "Köln, DE")
    assert found(check(placed)) == [
        (line_of(placed, " |  | "), "unknown-country", False),
        (line_of(placed, "Köln, DE"), "wrong-section", True),
    ]
    assert line_of(repair(placed), "Köln, DE") < line_of(repair(placed), "### Other")


def test_country_under_the_wrong_continent_and_a_new_section_in_twir_order() -> None:
    text = block(
        ("Virtual", listing("2026-08-20", "Virtual", event="1")),
        ("Europe", listing("2026-08-21", "Tel Aviv, IL", event="2") + listing("2026-08-22", "Berlin, GE", event="3")),
    )
    assert found(check(text)) == [(line_of(text, "Tel Aviv"), "wrong-continent", True)]
    assert repair(text) == block(
        ("Virtual", listing("2026-08-20", "Virtual", event="1")),
        ("Asia", listing("2026-08-21", "Tel Aviv, IL", event="2")),
        ("Europe", listing("2026-08-22", "Berlin, GE", event="3")),
    )


def test_a_section_left_empty_by_a_move_is_removed() -> None:
    text = block(("Europe", listing("2026-08-21", "Lagos, NG")))
    assert repair(text) == block(("Africa", listing("2026-08-21", "Lagos, NG")))


def test_hybrid_event_listed_once_gets_its_identical_twin() -> None:
    hybrid = listing("2026-08-20", "Hybrid (Berlin, DE)", event="1")
    for section in ("Virtual", "Europe"):
        text = block((section, hybrid))
        assert found(check(text)) == [(line_of(text, "Hybrid"), "hybrid-once", True)]
        assert repair(text) == block(("Virtual", hybrid), ("Europe", hybrid))
    # Listed twice and in the right sections is no duplicate.
    assert check(block(("Virtual", hybrid), ("Europe", hybrid))).problems == []


def test_hybrid_event_under_the_wrong_continent_moves_and_gets_its_twin() -> None:
    hybrid = listing("2026-08-20", "Hybrid (Tel Aviv, IL)", event="1")
    text = block(("Europe", hybrid))
    assert found(check(text)) == [
        (line_of(text, "Hybrid"), "hybrid-once", True),
        (line_of(text, "Hybrid"), "wrong-continent", True),
    ]
    assert repair(text) == block(("Virtual", hybrid), ("Asia", hybrid))


def test_hybrid_event_listed_twice_under_virtual_gets_one_under_its_continent() -> None:
    hybrid = listing("2026-08-20", "Hybrid (Berlin, DE)", event="1")
    text = block(("Virtual", hybrid + hybrid))
    assert found(check(text)) == [
        (line_of(text, "Hybrid"), "hybrid-once", True),
        (line_of(text, "Hybrid", nth=1), "duplicate", True),
    ]
    assert repair(text) == block(("Virtual", hybrid), ("Europe", hybrid))


def test_older_hybrid_spellings_are_read_as_hybrid() -> None:
    for where in ("Virtual + In Person (Prague, CZ)", "Hybrid - Virtual and In-Person (Prague, CZ)", "Hybrid"):
        text = block(("Virtual", listing("2026-08-20", where)))
        codes = [p.code for p in check(text).problems]
        assert codes == (["hybrid-once"] if "Prague" in where else ["hybrid-no-place"])


MALFORMED = [
    ("* 2026-02-30 | Paris, FR | [Rust Paris](https://x.org)", "bad date `2026-02-30`: no such day"),
    ("* 2026-8-30 | Paris, FR | [Rust Paris](https://x.org)", "bad date `2026-8-30` (expected YYYY-MM-DD)"),
    ("* 2026-08-30 Paris, FR [Rust Paris](https://x.org)", "event line needs `date | place | [organizer](link)`"),
    ("    * [**Orphan title**](https://x.org/1)", "title line without its event line above it"),
    ("<!-- a note -->", "unreadable line in the events block: `<!-- a note -->`"),
]


@pytest.mark.parametrize(("line", "message"), MALFORMED)
def test_unreadable_lines_are_malformed_and_stay_after_the_listing_above(line: str, message: str) -> None:
    before = listing("2026-08-20", "Berlin, DE", event="1")
    after = listing("2026-08-19", "Aachen, DE", event="2")
    text = block(("Europe", [*before, line, *after]))
    report = check(text)
    assert [(p.line, p.code, p.message, p.fixable) for p in report.problems] == [
        (line_of(text, line), "malformed", message, False),
        (
            line_of(text, "Aachen"),
            "out-of-order",
            f"2026-08-19 `Aachen, DE` listed after line {line_of(text, 'Berlin')} (2026-08-20 `Berlin, DE`)",
            True,
        ),
    ]
    assert repair(text) == block(("Europe", after + before + [line]))


def test_broken_listings_are_malformed() -> None:
    cases = {
        "* 2026-08-21 | Berlin, DE | [Rust Berlin](https://x.org)": "event line without its title line",
        "* 2026-08-22 - 2026-08-21 | Berlin, DE | [Rust Berlin](https://x.org)": "event ends (2026-08-21) before",
    }
    for event_line, message in cases.items():
        lines = [event_line] if "title" in message else [event_line, "    * [**T**](https://x.org/t)"]
        text = block(("Europe", listing("2026-08-20", "Aachen, DE") + lines))
        report = check(text)
        assert [(p.line, p.code) for p in report.problems] == [(line_of(text, event_line), "malformed")]
        assert report.problems[0].message.startswith(message)
        assert repair(text) == text


def test_a_title_line_cut_off_by_a_blank_line_is_joined_and_the_listing_then_sorted() -> None:
    late, early = listing("2026-08-27", "Berlin, DE", event="1"), listing("2026-08-20", "Paris, FR", event="2")
    text = block(("Europe", [*late, early[0], "", early[1]]))
    assert found(check(text)) == [
        (line_of(text, "Paris, FR"), "malformed", False),
        (line_of(text, "events/2/"), "malformed", False),
    ]
    fixed = repair(text)
    assert fixed == block(("Europe", early + late))
    assert repair(fixed) == fixed and check(fixed).problems == []


def test_read_block_reports_headers_bounds_and_unreadable_lines() -> None:
    text = block(("Europe", [*listing("2026-08-20", "Berlin, DE"), "garbage", "    * [**Orphan**](https://x.org)"]))
    parsed = read_block(text)
    assert parsed.start == line_of(text, "Rusty Events")
    assert parsed.end == line_of(text, "If you are running")
    assert parsed.headers == [(line_of(text, "### Europe"), "Europe")]
    assert parsed.unreadable == [line_of(text, "garbage"), line_of(text, "Orphan")]
    assert [item.line for item in parsed.items] == [line_of(text, "Berlin, DE")]


def test_windows_line_endings_survive_a_fix_that_moves_lines() -> None:
    text = read("broken-2026.md").replace("\n", "\r\n")
    assert found(check(text)) == BROKEN
    assert repair(text) == read("broken-2026.fixed.md").replace("\n", "\r\n")


def test_country_codes_real_and_printed() -> None:
    # GE is Georgia, a real code; UK is how TWiR prints GB; XK is Kosovo's code in common use.
    for where in ("Berlin, GE", "London, UK", "London, GB", "Pristina, XK"):
        assert check(block(("Europe", listing("2026-08-20", where)))).problems == []
    for where in ("Virtual (Europe / Africa)", "Virtual"):
        assert check(block(("Virtual", listing("2026-08-20", where)))).problems == []
    for where, bad in (
        ("Berlin, XY", "`XY` is not"),
        ("Berlin", "has no country code"),
        ("Minneapolis, MN US", "`MN US`"),
    ):
        text = block(("Europe", listing("2026-08-20", where)))
        report = check(text)
        assert found(report) == [(line_of(text, where), "unknown-country", False)]
        assert bad in report.problems[0].message


def test_state_codes_are_checked_for_the_countries_that_carry_them() -> None:
    text = block(("Virtual", listing("2026-08-20", "Virtual (Charlottesville, XX, US)")))
    report = check(text)
    assert found(report) == [(line_of(text, "Charlottesville"), "unknown-state", False)]
    assert report.problems[0].message == "`XX` is not a state or province of US"
    munich = block(("Europe", listing("2026-08-20", "Munich, XX, DE")))
    assert check(munich).problems == []
    assert [p.code for p in lint(munich, issue_date=None, weeks=4, states=("DE",)).problems] == ["unknown-state"]


def test_a_us_city_in_another_state_is_reported() -> None:
    cases = {
        "Charlottesville, NC, US": ["wrong-state"],
        "Portland, ME, US": [],
        "Durham, NH, US": [],
        "Nowhere, NC, US": [],
    }
    for where, expected in cases.items():
        text = block(("North America", listing("2026-08-20", where)))
        assert [p.code for p in check(text).problems] == expected


SPELLINGS = [
    ("https://www.meetup.com/rust-berlin/events/315800002/", "https://www.meetup.com/rust-berlin/events/315800002"),
    ("https://luma.com/nwfmsdtf", "https://lu.ma/nwfmsdtf/"),
    ("https://www.meetup.com/rust-lyon/events/293322211/", "https://www.meetup.com/fr-FR/rust-lyon/events/293322211"),
    ("https://www.meetup.com/rust-nyc/events/293316694/", "https://www.meetup.com/Rust-NYC/events/293316694/"),
    ("https://www.meetup.com/join-srug/events/wqzhftyjcmbdb/", "https://www.meetup.com/join-srug/events/315900007/"),
]


@pytest.mark.parametrize(("first", "second"), SPELLINGS)
def test_two_spellings_of_one_link_are_one_event_and_the_first_is_kept(first: str, second: str) -> None:
    one = ["* 2026-08-20 | Berlin, DE | [A](https://a.org)", f"    * [**First**]({first})"]
    two = ["* 2026-08-20 | Berlin, DE | [B](https://b.org)", f"    * [**Second**]({second})"]
    text = block(("Europe", one + two))
    report = check(text)
    assert found(report) == [(line_of(text, "[B]"), "duplicate", True)]
    assert report.problems[0].message.startswith(f"duplicate of line {line_of(text, '[A]')} (")
    assert repair(text) == block(("Europe", one))


def test_distinct_occurrences_are_not_duplicates() -> None:
    text = block(
        (
            "Europe",
            listing("2026-08-20", "Berlin, DE", event="315800001")
            + listing("2026-08-20", "Berlin, DE", event="315800002")
            + listing("2026-08-27", "Berlin, DE", event="wqzhftyjcmbdb")
            + listing("2026-09-03", "Berlin, DE", event="wqzhftyjcmbdb"),
        )
    )
    assert check(text).problems == []


def test_exact_duplicates_across_sections_keep_the_one_in_the_right_section() -> None:
    event = listing("2026-08-20", "Berlin, DE")
    text = block(("Virtual", event), ("Europe", event))
    assert found(check(text)) == [(line_of(text, "Berlin"), "duplicate", True)]
    assert check(text).problems[0].message == f"duplicate of line {line_of(text, 'Berlin', nth=1)} (same link)"
    assert repair(text) == block(("Europe", event))


def test_section_headers_out_of_order_doubled_empty_or_unknown() -> None:
    text = block(
        ("Europe", listing("2026-08-20", "Berlin, DE", event="1")),
        ("Oceania", []),
        ("Asia", listing("2026-08-21", "Tokyo, JP", event="2")),
        ("Europe", listing("2026-08-19", "Paris, FR", event="3")),
        ("Elsewhere", listing("2026-08-22", "Atlantis, XY", event="4")),
    )
    headers = [number for number, line in enumerate(text.splitlines(), 1) if line.startswith("### ")]
    assert found(check(text)) == [
        (headers[1], "empty-section", True),
        (headers[2], "section-order", True),
        (headers[3], "duplicate-section", True),
        (line_of(text, "Paris, FR"), "out-of-order", True),
        (headers[4], "unknown-section", False),
        (line_of(text, "Atlantis"), "unknown-country", False),
        (line_of(text, "Atlantis"), "wrong-section", True),
    ]
    assert repair(text) == block(
        ("Asia", listing("2026-08-21", "Tokyo, JP", event="2")),
        ("Europe", listing("2026-08-19", "Paris, FR", event="3") + listing("2026-08-20", "Berlin, DE", event="1")),
        ("Other", listing("2026-08-22", "Atlantis, XY", event="4")),
    )
    kept = block(("Europe", listing("2026-08-20", "Berlin, DE")), ("Elsewhere", ["a note the editor left"]))
    assert [p.code for p in check(kept).problems] == ["unknown-section", "malformed"]
    assert repair(kept) == kept


def test_a_missing_blank_line_before_the_footer_is_reported() -> None:
    text = block(("Europe", listing("2026-08-20", "Berlin, DE"))).replace("\n\nIf you are", "\nIf you are")
    assert found(check(text)) == [(line_of(text, "If you are running"), "blank-line", True)]
    assert repair(text) == block(("Europe", listing("2026-08-20", "Berlin, DE")))


def test_blank_line_layout_is_normalized() -> None:
    clean = block(
        ("Virtual", listing("2026-08-20", "Virtual", event="1")),
        ("Europe", listing("2026-08-21", "Berlin, DE", event="2")),
    )
    messy = clean.replace("### Virtual\n", "### Virtual\n\n\n").replace("\n\n### Europe", "\n### Europe")
    messy = messy.replace("🦀\n\n", "🦀\n")
    assert messy != clean and check(messy).problems == []
    assert repair(messy) == clean


def test_a_block_at_the_end_of_the_file_keeps_its_last_line_ending() -> None:
    text = "Rusty Events between 2026-08-19 - 2026-09-16 🦀\n### Europe\n" + "\n".join(
        listing("2026-08-20", "Berlin, DE")
    )
    assert found(check(text)) == [(line_of(text, "    * [**Talk**]"), "no-footer", True)]
    # The footer is added; the file's last line keeps its ending (or its lack of one).
    fixed = text.replace("🦀\n", "🦀\n\n") + "\n\n" + FOOTER.rstrip("\n")
    assert repair(text) == fixed
    assert repair(text + "\n\n\n") == fixed + "\n"
    assert check(fixed).problems == []


# Comparing with the store.


def make_event(
    key: str,
    day: date,
    *,
    title: str = "Talk",
    url: str = "",
    city: str = "Berlin",
    country: str = "DE",
    state: str = "",
    mode: Mode = Mode.IN_PERSON,
    organizer: str = "Rust Berlin",
    organizer_url: str = "https://www.meetup.com/rust-berlin",
) -> Event:
    start = datetime(day.year, day.month, day.day, 19, tzinfo=ZoneInfo("Europe/Berlin"))
    return Event(
        key=key,
        source="test",
        title=title,
        start=start,
        end=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        mode=mode,
        place=Place(city=city, state=state, country=country),
        url=url,
        organizer=organizer,
        organizer_url=organizer_url,
    )


def test_known_events_the_draft_lacks_are_reported_at_their_section() -> None:
    text = block(
        ("Virtual", listing("2026-08-20", "Virtual", slug="rust-online", event="9")),
        ("Europe", listing("2026-08-21", "Berlin, DE", event="1", title="Rust Hack and Learn")),
    )
    known = [
        # Listed, under another spelling of its link.
        make_event("a", date(2026, 8, 21), url="https://www.meetup.com/es-ES/Rust-Berlin/events/1"),
        # Listed, under a different link: same organizer, place, title and day.
        make_event("b", date(2026, 8, 21), title="Rust Hack & Learn", url="https://berline.rs/hack"),
        make_event("c", date(2026, 8, 28), title="Rust and Tell", url="https://www.meetup.com/rust-berlin/events/2/"),
        make_event("d", date(2026, 8, 22), city="Tokyo", country="JP", url="https://tokyo.rs/1"),
        make_event("e", date(2026, 8, 23), mode=Mode.HYBRID, url="https://www.meetup.com/rust-berlin/events/3/"),
        make_event("f", date(2026, 10, 1), url="https://www.meetup.com/rust-berlin/events/4/"),  # after the window
        make_event("g", date(2026, 8, 24), city="Lima", country="PE", url="https://lima.rs/1"),
    ]
    report = check(text, known=known)
    europe, virtual = line_of(text, "### Europe"), line_of(text, "### Virtual")
    footer = line_of(text, "If you are running")
    assert found(report) == [
        (virtual, "missing", False),
        (europe, "missing", False),
        (europe, "missing", False),
        (footer, "missing", False),
    ]
    messages = [p.message for p in report.problems]
    assert "belongs under Virtual" in messages[0] and "Hybrid (Berlin, DE)" in messages[0]
    assert any("Rust and Tell" in m for m in messages[1:3]) and any("Tokyo, JP" in m for m in messages[1:3])
    assert "belongs under South America" in messages[3]
    assert repair(text) == text  # missing events are never invented


def test_possible_duplicates_are_reported_when_both_are_listed() -> None:
    text = block(
        (
            "Europe",
            listing("2026-08-20", "Berlin, DE", event="1", title="Rust Night")
            + listing("2026-08-20", "Berlin, DE", slug="rust-meetup-berlin", event="2", title="Rust Evening"),
        )
    )
    known = [
        make_event("a", date(2026, 8, 20), url="https://www.meetup.com/rust-berlin/events/1/", title="Rust Night"),
        make_event(
            "b",
            date(2026, 8, 20),
            url="https://www.meetup.com/rust-meetup-berlin/events/2",
            organizer="Rust Meetup Berlin",
            organizer_url="https://www.meetup.com/rust-meetup-berlin",
        ),
        make_event("c", date(2026, 10, 7), url="https://www.meetup.com/rust-berlin/events/3/"),
    ]
    possible = [
        PossibleDuplicate("a", "b", "same day and place"),
        PossibleDuplicate("a", "c", "same organizer"),
        PossibleDuplicate("a", "unknown", "same title"),
    ]
    report = check(text, known=known, possible=possible)
    first, second = line_of(text, "| [rust-berlin]"), line_of(text, "| [rust-meetup-berlin]")
    assert [(p.line, p.code, p.message, p.fixable) for p in report.problems] == [
        (second, "possible-duplicate", f"possibly the same event as line {first}: same day and place", False)
    ]
    assert check(text, known=known).problems == []


# Idempotence and stability under editing noise.


@dataclass
class Parts:
    """A clean draft taken apart: text before, window line, sections of two-line listings, text after."""

    before: list[str]
    window: str
    sections: list[tuple[str, list[tuple[str, str]]]]
    after: list[str]
    newline: str


def take_apart(text: str) -> Parts:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    start = next(i for i, line in enumerate(lines) if line.startswith("Rusty Events between"))
    end = next(i for i, line in enumerate(lines) if line.startswith("If you are running"))
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for index in range(start + 1, end):
        line = lines[index]
        if line.startswith("### "):
            sections.append((line[4:], []))
        elif line.startswith("* "):
            sections[-1][1].append((line, lines[index + 1]))
    return Parts(lines[:start], lines[start], sections, lines[end:], newline)


def put_together(parts: Parts, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]], gaps: Sequence[int]) -> str:
    body = [parts.window, ""]
    for index, (name, units) in enumerate(sections):
        body.append(f"### {name}")
        body += [""] * gaps[index % len(gaps)]
        for unit in units:
            body += list(unit)
        body.append("")
    return parts.newline.join(parts.before + body + parts.after)


def respell(url: str) -> str:
    """Another spelling of the same link."""
    if "luma.com" in url:
        return url.replace("luma.com", "lu.ma")
    if "www.meetup.com/" in url:
        return url.replace("www.meetup.com/", "www.meetup.com/es-ES/")
    return url if "?" in url else (url[:-1] if url.endswith("/") else url + "/")


def respelled(unit: tuple[str, str]) -> tuple[str, str]:
    title = re.sub(r"\]\((\S+)\)$", lambda m: "](" + respell(m.group(1)) + ")", unit[1])
    return unit[0], title


def listings_by_section(text: str) -> dict[str, Counter[tuple[str, str]]]:
    return {name: Counter(units) for name, units in take_apart(text).sections}


@st.composite
def noisy(draw: st.DrawFn, text: str) -> str:
    """The clean draft shuffled, with listings moved, duplicated, dropped hybrid twins and old events added."""
    parts = take_apart(text)
    names = [name for name, _ in parts.sections]
    counts = Counter(unit for _, units in parts.sections for unit in units)
    twins = {unit for unit, count in counts.items() if count == 2}
    homes: dict[tuple[str, str], set[str]] = {}
    for name, units in parts.sections:
        for unit in units:
            homes.setdefault(unit, set()).add(name)
    # Older drafts list a hybrid as `Virtual + In Person (…)` and as a plain place: which line goes where
    # is the editor's call once they are shuffled, so those stay put.
    links = Counter(unit[1] for unit in homes)
    settled = {unit for unit in homes if links[unit[1]] > 1}
    placed: dict[str, list[tuple[str, str]]] = {name: [] for name in REGIONS}
    late: dict[str, list[tuple[str, str]]] = {name: [] for name in REGIONS}
    dropped_twin: set[tuple[str, str]] = set()
    for name, units in parts.sections:
        for unit in units:
            if unit in twins and unit not in dropped_twin and draw(st.integers(0, 5)) == 0:
                dropped_twin.add(unit)
                continue
            moved = unit not in settled and draw(st.integers(0, 3)) == 0
            placed[draw(st.sampled_from(REGIONS)) if moved else name].append(unit)
            if not moved and draw(st.integers(0, 4)) == 0:
                # A second listing goes after the first, respelled or not, or as is where the event has none.
                elsewhere = [other for other in REGIONS if other not in homes[unit]]
                if draw(st.booleans()):
                    late[name].append(respelled(unit) if draw(st.booleans()) else unit)
                else:
                    late[draw(st.sampled_from(elsewhere))].append(unit)
            if draw(st.integers(0, 6)) == 0:
                old = (re.sub(r"^\* \S+( - \S+)?", "* 2001-01-01", unit[0]), unit[1])
                placed[draw(st.sampled_from(REGIONS))].append(old)
    order = draw(st.permutations([name for name in REGIONS if placed[name] or late[name]]))
    sections = [(name, draw(st.permutations(placed[name])) + late[name]) for name in order]
    assert names  # the clean draft has sections to shuffle
    return put_together(parts, sections, draw(st.lists(st.integers(0, 2), min_size=1, max_size=4)))


def has_ties(text: str) -> bool:
    keys = [
        (name, re.match(r"\* (\S+)[^|]*\|([^|]+)\|", event).groups())  # type: ignore[union-attr]
        for name, units in take_apart(text).sections
        for event, _ in units
    ]
    return len(keys) != len(set(keys))


def assert_fix_is_stable(noisy_text: str, clean: str) -> None:
    fixed = repair(noisy_text)
    assert repair(fixed) == fixed
    assert [p for p in check(fixed).problems if p.fixable] == []
    assert check(fixed).problems == []
    assert listings_by_section(fixed) == listings_by_section(clean)
    if not has_ties(clean):
        assert fixed == clean
    before = clean[: clean.index("Rusty Events between")]
    after = clean[clean.index("If you are running") :]
    assert fixed.startswith(before) and fixed.endswith(after)


@pytest.mark.parametrize("name", CLEAN)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fix_undoes_editing_noise_on_every_clean_draft(name: str, data: st.DataObject) -> None:
    clean = tidy(read(name))
    assert_fix_is_stable(data.draw(noisy(clean)), clean)


def test_noise_helpers_really_make_noise() -> None:
    clean = read("current-2026.md")
    assert has_ties(clean) and not has_ties(read("older-2023.md"))
    assert respelled(take_apart(clean).sections[0][1][4])[1].endswith("(https://lu.ma/nwfmsdtf)")
    shuffled = put_together(take_apart(clean), list(reversed(take_apart(clean).sections)), [1])
    assert shuffled != clean and repair(shuffled) == clean


CITIES = st.sampled_from(
    ["Ferristown", "Crabville", "Rustopia", "Oxidia", "São Borrow", "東京ラスト", "תל רסט", "러스트시"]
)
PLACES = st.sampled_from(
    [
        ("DE", ""),
        ("GB", ""),
        ("IL", ""),
        ("JP", ""),
        ("US", "TX"),
        ("CA", "BC"),
        ("AU", "NSW"),
        ("BR", ""),
        ("NG", ""),
        ("MX", ""),
    ]
)
TITLES = st.text(st.sampled_from("abc XYZ|`[]🦀שלום한국어日本*_#<>"), min_size=1, max_size=12)


@st.composite
def rendered(draw: st.DrawFn) -> str:
    """A block as the generator prints it, inside an issue, for events in the window."""
    count = draw(st.integers(1, 8))
    events = []
    for index in range(count):
        day = ISSUE + timedelta(days=draw(st.integers(-2, 28)))
        country, state = draw(PLACES)
        mode = draw(st.sampled_from(Mode))
        place = Place() if mode is Mode.VIRTUAL and draw(st.booleans()) else Place(draw(CITIES), state, country)
        events.append(
            Event(
                key=f"k{index}",
                source="test",
                title=draw(TITLES),
                start=day,
                end=day + timedelta(days=draw(st.integers(1, 3))),
                timezone="UTC",
                mode=mode,
                place=place,
                url=f"https://example.org/events/{index}",
                organizer=draw(TITLES),
                organizer_url="https://example.org/",
            )
        )
    window = issue_window(ISSUE)
    inside = [event for event in events if window.overlaps(event)]
    return (
        "Title: generated\n\n## Upcoming Events\n\n"
        + render_block(window, group(inside, STATES), STATES)
        + "\n## Jobs\n"
    )


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_generated_blocks_are_clean_and_fix_undoes_noise(data: st.DataObject) -> None:
    clean = data.draw(rendered())
    assert check(clean).problems == []
    assert repair(clean) == clean
    if take_apart(clean).sections:
        assert_fix_is_stable(data.draw(noisy(clean)), clean)


def test_problem_is_a_plain_record() -> None:
    problem = Problem(3, "duplicate", "duplicate of line 1 (same link)", True)
    assert (problem.line, problem.code, problem.fixable) == (3, "duplicate", True)


def test_lint_command_reports_fixes_in_place_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aggregator.cli import main

    draft = tmp_path / "draft.md"
    draft.write_bytes((Path(__file__).parent / "fixtures" / "drafts" / "broken-2026.md").read_bytes())
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    assert main(["lint", str(draft), "--config", str(config)]) == 1
    before = capsys.readouterr().out.splitlines()
    assert any(": outside-window: " in line for line in before)
    assert main(["lint", str(draft), "--fix", "--config", str(config)]) == 1
    after = capsys.readouterr().out.splitlines()
    assert not any(": outside-window: " in line or ": duplicate: " in line for line in after)
    fixed = draft.read_bytes()
    main(["lint", str(draft), "--fix", "--config", str(config)])
    assert draft.read_bytes() == fixed


# False alarms seen on published issues.


def test_a_city_known_by_another_name_is_checked_against_every_town_of_that_name() -> None:
    text = block(
        (
            "North America",
            listing("2026-08-20", "Saint Louis, MO, US", slug="stl-rust", event="11")
            + listing("2026-08-21", "St. Louis, MO, US", slug="stl-rust", event="12")
            + listing("2026-08-22", "Durham, NH, US", slug="nh-rust", event="13")
            + listing("2026-08-23", "Durham, NC, US", slug="triangle-rust", event="14"),
        ),
    )
    assert check(text).problems == []
    # No town called Saint Louis lies in Illinois: the finding names the states that have one.
    wrong = text.replace("Saint Louis, MO, US", "Saint Louis, IL, US")
    report = check(wrong)
    assert found(report) == [(line_of(wrong, "Saint Louis, IL"), "wrong-state", False)]
    assert report.problems[0].message == "Saint Louis is in MI/MO, not IL"


def test_a_listing_naming_several_places_is_checked_place_by_place() -> None:
    several = "Virtual (Redmond, WA, US; San Francisco, CA, US)"
    text = block(("Virtual", listing("2026-08-20", several, slug="seattle-rust", event="21")))
    assert check(text).problems == []
    wrong = text.replace("Redmond, WA", "Redmond, CA").replace("San Francisco, CA, US", "San Francisco, CA, XU")
    assert [(p.code, p.message) for p in check(wrong).problems] == [
        ("unknown-country", "`XU` is not an ISO 3166 country code"),
        ("wrong-state", "Redmond is in OR/WA, not CA"),
    ]


def test_one_unknown_header_does_not_put_every_later_header_out_of_order() -> None:
    text = block(
        ("Africa:", listing("2026-08-20", "Lagos, NG", slug="rust-lagos", event="31")),
        ("Asia", listing("2026-08-21", "Tokyo, JP", slug="tokyo-rust", event="32")),
        ("Europe", listing("2026-08-22", "Berlin, DE", event="33")),
        ("North America", listing("2026-08-23", "Austin, TX, US", slug="austin-rust", event="34")),
    )
    assert found(check(text)) == [(line_of(text, "### Africa:"), "section-header", True)]
    assert "### Africa\n" in repair(text) and check(repair(text)).problems == []
    unknown = text.replace("### Africa:", "### Afrika")
    assert [p.code for p in check(unknown).problems] == ["unknown-section", "wrong-section"]
    swapped = text.replace("### Europe", "### Oceania-tmp").replace("### Asia", "### Europe")
    swapped = swapped.replace("### Oceania-tmp", "### Asia")
    codes = [p.code for p in check(swapped).problems]
    assert codes.count("section-order") == 1


# The checks the events editor's own linter has, on drafts shaped like its test cases.

PEER_CASES = {
    # name: (what the Europe section holds, the codes we report)
    "clean": (listing("2026-08-20", "Berlin, DE"), []),
    "before-window": (listing("2026-08-12", "Berlin, DE"), ["outside-window"]),
    "out-of-order": (
        listing("2026-08-27", "Berlin, DE", event="2") + listing("2026-08-20", "Paris, FR", slug="rust-paris"),
        ["out-of-order"],
    ),
    "duplicate": (listing("2026-08-20", "Berlin, DE") * 2, ["duplicate"]),
    "partly-fixable": (
        listing("2026-08-12", "Berlin, DE")
        + listing("2026-08-21", "Berlin, DE", event="7", title="Same")
        + listing("2026-08-22", "Berlin, DE", event="7", title="Same"),
        ["outside-window", "reused-link"],
    ),
    "link-on-two-dates": (
        listing("2026-08-20", "Berlin, DE", event="9") + listing("2026-08-27", "Berlin, DE", event="9"),
        ["reused-link"],
    ),
    "organizer-link-empty": (
        ["* 2026-08-20 | Berlin, DE | [Rust Berlin]()", "    * [**Talk**](https://berline.rs/talk/)"],
        ["bad-link"],
    ),
    "title-link-relative": (
        ["* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)", "    * [**Talk**](not-a-url)"],
        ["bad-link"],
    ),
    "title-plain": (
        ["* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)", "    * [Talk](https://berline.rs/t/)"],
        ["not-bold"],
    ),
    "title-half-bold": (
        [
            "* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)",
            "    * [**Rust Meetup #18**: Bevy](https://berline.rs/18/)",
        ],
        ["not-bold"],
    ),
    "organizer-bold": (
        [
            "* 2026-08-20 | Berlin, DE | [**Rust Berlin**](https://berline.rs/)",
            "    * [**Talk**](https://berline.rs/t/)",
        ],
        ["bold-organizer"],
    ),
    "two-links-both-bold": (
        [
            "* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)",
            "    * [**Talk**](https://berline.rs/t/) + [**Workshop**](https://berline.rs/w/)",
        ],
        [],
    ),
    "bar-without-space": (
        ["* 2026-08-20| Berlin, DE| [Rust Berlin](https://berline.rs/)", "    * [**Talk**](https://berline.rs/t/)"],
        ["spacing"],
    ),
}


@pytest.mark.parametrize("name", sorted(PEER_CASES))
def test_the_peer_linters_cases_get_its_verdict(name: str) -> None:
    lines, codes = PEER_CASES[name]
    text = block(("Europe", lines))
    report = check(text)
    assert [p.code for p in report.problems] == codes
    fixed = repair(text)
    assert repair(fixed) == fixed
    # What is marked fixable is gone after the fix; what is not stays.
    left = [p.code for p in report.problems if not p.fixable]
    assert [p.code for p in check(fixed).problems] == left


def test_repairs_to_a_listings_own_lines_need_no_guessing() -> None:
    for lines, wanted in (
        (PEER_CASES["title-half-bold"][0], "    * [**Rust Meetup #18: Bevy**](https://berline.rs/18/)"),
        (PEER_CASES["title-plain"][0], "    * [**Talk**](https://berline.rs/t/)"),
        (PEER_CASES["organizer-bold"][0], "* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)"),
        (PEER_CASES["bar-without-space"][0], "* 2026-08-20 | Berlin, DE | [Rust Berlin](https://berline.rs/)"),
    ):
        assert wanted in repair(block(("Europe", lines))).splitlines()


def test_online_rooms_and_meetup_series_may_recur_on_one_link() -> None:
    def room(day: str, link: str) -> list[str]:
        return [f"* {day} | Virtual (Berlin, DE) | [Rust Berlin](https://berline.rs/)", f"    * [**Hack**]({link})"]

    jitsi, zoom = "https://meet.jit.si/RustHack", "https://us06web.zoom.us/j/8123456"
    lines = room("2026-08-20", jitsi) + room("2026-08-21", zoom) + room("2026-08-27", jitsi) + room("2026-08-28", zoom)
    assert check(block(("Virtual", lines))).problems == []
    pasted = block(("Virtual", lines)).replace(zoom, "https://luma.com/f2hnzrug")
    assert [p.code for p in check(pasted).problems] == ["reused-link"]
    # The events editor's linter reports a link on two dates whatever the page; so do we (rooms aside).
    page = "https://tokio.example/reading-club"
    again = room("2026-08-21", page) + room("2026-08-28", page)
    assert [p.code for p in check(block(("Virtual", again))).problems] == ["reused-link"]
    # ... unless the sources themselves give that page on both dates (a weekly series with one page).
    series = [
        make_event(day.isoformat(), day, url=page, mode=Mode.VIRTUAL) for day in (date(2026, 8, 21), date(2026, 8, 28))
    ]
    assert "reused-link" not in [p.code for p in check(block(("Virtual", again)), known=series).problems]
    # A source giving the page on one of the dates only does not excuse the other.
    assert "reused-link" in [p.code for p in check(block(("Virtual", again)), known=series[:1]).problems]


def test_hybrid_needs_its_place_and_cosmetic_findings_say_so() -> None:
    text = block(("Virtual", listing("2026-08-20", "Hybrid")))
    assert found(check(text)) == [(line_of(text, "Hybrid"), "hybrid-no-place", False)]
    spaced = block(
        ("Europe", [*listing("2026-08-20", "Berlin, DE"), "   ", *listing("2026-08-21", "Köln, DE", event="2")])
    )
    report = check(spaced)
    assert [(p.code, p.cosmetic, p.fixable) for p in report.problems] == [("whitespace", True, True)]
    assert check(repair(spaced)).problems == []


def test_a_block_without_footer_is_reported_where_it_runs_out() -> None:
    text = block(("Europe", listing("2026-08-20", "Berlin, DE")))
    into_jobs = text.replace(FOOTER, "").replace("\n## Jobs\n", "### Jobs\n\nPlease see our [jobs](https://x.org/).\n")
    report = check(into_jobs)
    assert found(report) == [(line_of(into_jobs, "### Jobs"), "no-footer", True)]
    assert "`### Jobs`" in report.problems[0].message
    fixed = repair(into_jobs)
    assert fixed == text.replace("\n## Jobs\n", "\n### Jobs\n\nPlease see our [jobs](https://x.org/).\n")
    assert check(fixed).problems == []


def test_house_rules_stricter_than_the_peer() -> None:
    # A hybrid is listed under Virtual and under its continent; the window line needs a blank line after it.
    hybrid = block(("Virtual", listing("2026-08-20", "Hybrid (Berlin, DE)")))
    assert [p.code for p in check(hybrid).problems] == ["hybrid-once"]
    bare = "Rusty Events between 2026-08-19 - 2026-09-16 🦀\n" + FOOTER
    assert [p.code for p in check(bare).problems] == ["blank-line"]


def test_lint_command_marks_cosmetic_findings_and_does_not_fail_on_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aggregator.cli import build_parser, main

    draft = tmp_path / "draft.md"
    draft.write_text(block(("Europe", PEER_CASES["bar-without-space"][0])), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    assert main(["lint", str(draft), "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"{draft}:6: spacing (cosmetic): no space before `|`\n"
    lint_help = build_parser()._subparsers._group_actions[0].choices["lint"].format_help()  # type: ignore[union-attr]
    assert "the draft's window line" in " ".join(lint_help.split())
    assert "next Wednesday" not in lint_help
