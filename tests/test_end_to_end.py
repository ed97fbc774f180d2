"""One event, once: a whole run over every source type, served by one local HTTP server.

The community calendar repeats events that the group pages list, under other spellings: a tracking-laden
`http://meetup.com/Rust-Berlin/...` link, a meetup series placeholder, `lu.ma`, a conference entered twice
under two names, a stale place and end date. The issue must list each real event once per section, with the
group page's date, place and link, and report the one doubtful pair to the editor instead of dropping it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from pytest_httpserver import HTTPServer

from aggregator.config import load_config
from aggregator.job import JobResult, run_job
from output.markdown import ParsedItem, parse_block
from sources.http import Http

FIXTURES = Path(__file__).with_name("fixtures") / "e2e"
ISSUE = date(2026, 12, 2)
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
TOKEN = "e2e-meetup-token"

CALENDAR = "Rust Community Calendar"
BERLIN = "Rust meetups: rust-berlin"
DALLAS = "Rust meetups: dallas-rust"
NYC = "Rust meetups: rust-nyc"
LUMA = "Rust Bay Area"
SUMMIT = "Rust Winter Summit"
HASGEEK = "Rust Bangalore"

CALENDAR_PATH = "/calendar/ical/rust-community/public/basic.ics"
BERLIN_PAGE = "/rust-berlin/events/"
# Path on the server -> (fixture file, content type).
GETS = {
    CALENDAR_PATH: ("community.ics", "text/calendar; charset=UTF-8"),
    BERLIN_PAGE: ("rust-berlin-events.html", "text/html; charset=utf-8"),
    "/dallas-rust/events/ical/": ("dallas-rust.ics", "text/calendar"),
    "/luma/calendar/get-items": ("luma-get-items.json", "application/json"),
    "/rustwinter/2026/": ("pretix-rustwinter.html", "text/html; charset=utf-8"),
    "/rustbangalore/": ("hasgeek-rustbangalore.html", "text/html; charset=utf-8"),
}

CONFIG = """\
[output]
dir = "public"

[store]
path = "store.sqlite"

[http]
cache = ""
retries = 0

[[source]]
name = "{calendar}"
type = "ics"
url = "{server}{calendar_path}"

# A test server cannot be www.meetup.com, so each group is given the organizer link its real page would imply.
[[source]]
name = "Rust meetups"
type = "meetup"
groups = [
  {{url = "{server}/rust-berlin", method = "page", organizer_url = "{meetup}/rust-berlin"}},
  {{url = "{server}/dallas-rust", method = "ical", organizer_url = "{meetup}/dallas-rust"}},
  {{url = "{server}/rust-nyc", method = "api", api_url = "{server}/gql-ext", organizer_url = "{meetup}/rust-nyc"}},
]

[[source]]
name = "{luma}"
type = "luma"
url = "https://luma.com/rust-bay-area"
calendar_id = "cal-RustBayArea26x"
api_url = "{server}/luma"
method = "api"

[[source]]
name = "{summit}"
type = "jsonld"
url = "{server}/rustwinter/2026/"

[[source]]
name = "{hasgeek}"
type = "jsonld"
url = "{server}/rustbangalore/"
"""

MEETUP = "https://www.meetup.com"
# Title -> (printed dates, printed place, sections): every real event in the window, each once.
EXPECTED = {
    "Rust NYC: Holiday Lightning Talks": ("2026-12-03", "New York, NY, US", "North America"),
    "Rust Bay Area: December Social": ("2026-12-03", "San Francisco, CA, US", "North America"),
    "Rust and Tell - December 2026": ("2026-12-08", "Berlin, DE", "Europe"),
    "Dallas Rust: Study Group": ("2026-12-09", "Dallas, TX, US", "North America"),
    "Rust Bay Area Online Reading Group": ("2026-12-09", "Virtual", "Virtual"),
    "Rust Winter Summit 2026": ("2026-12-10 - 2026-12-11", "Hybrid (Vienna, AT)", "Virtual, Europe"),
    "Rust Berlin Online: Embassy on the RP2350": ("2026-12-10", "Virtual (Berlin, DE)", "Virtual"),
    "December 2026 Rustacean Meetup": ("2026-12-12", "Bengaluru, IN", "Asia"),
    "Rust Melbourne Coffee & Code": ("2026-12-12", "Melbourne, VIC, AU", "Oceania"),
    "Rust NYC Talks: Embedded Rust at Scale": ("2026-12-15", "Hybrid (New York, NY, US)", "Virtual, North America"),
    "Rust Hack and Learn": ("2026-12-16", "Berlin, DE", "Europe"),
    "Rust Hack and Learn Karlsruhe": ("2026-12-16", "Karlsruhe, DE", "Europe"),
    "Dallas Rust: Third Thursday Hack Night": ("2026-12-17", "Dallas, TX, US", "North America"),
    "Rust Bangalore Online: Error handling deep dive": ("2026-12-19", "Virtual", "Virtual"),
    "Rust NYC: Online Office Hours": ("2026-12-22", "Virtual (New York, NY, US)", "Virtual"),
}
LINKS = {
    "Rust NYC: Holiday Lightning Talks": f"{MEETUP}/rust-nyc/events/314159265/",
    "Rust Bay Area: December Social": "https://luma.com/rust-sf-dec",
    "Rust and Tell - December 2026": f"{MEETUP}/rust-berlin/events/123456789/",
    "Dallas Rust: Study Group": f"{MEETUP}/dallas-rust/events/313000002/",
    "Rust Bay Area Online Reading Group": "https://luma.com/rust-reading-dec",
    "Rust Winter Summit 2026": "https://pretix.eu/rustwinter/2026/",
    "Rust Berlin Online: Embassy on the RP2350": f"{MEETUP}/rust-berlin/events/312345602/",
    "December 2026 Rustacean Meetup": "https://hasgeek.com/rustbangalore/december-2026-rustacean-meetup/",
    "Rust Melbourne Coffee & Code": f"{MEETUP}/rust-melbourne/events/313555001/",
    "Rust NYC Talks: Embedded Rust at Scale": f"{MEETUP}/rust-nyc/events/314159266/",
    "Rust Hack and Learn": f"{MEETUP}/rust-berlin/events/312345601/",
    "Rust Hack and Learn Karlsruhe": f"{MEETUP}/rust-meetup-karlsruhe/events/312777001/",
    "Dallas Rust: Third Thursday Hack Night": f"{MEETUP}/dallas-rust/events/313000001/",
    "Rust Bangalore Online: Error handling deep dive": "https://hasgeek.com/rustbangalore/error-handling-deep-dive/",
    "Rust NYC: Online Office Hours": f"{MEETUP}/rust-nyc/events/314159267/",
}
# Titles only the community calendar used for events another source lists: each must have merged away.
CALENDAR_ONLY_TITLES = [
    "Rust and Tell Berlin",
    "Rust Study Group (Dallas)",
    "Dallas Rust Hack Night",
    "Rust Bay Area December Social",
    "RustWinterSummit Vienna",
]


@dataclass
class Runs:
    """The first run with every source up, and a second one in which the Berlin group's page is gone."""

    first: JobResult
    second: JobResult

    @property
    def items(self) -> list[ParsedItem]:
        return parse_block(self.first.block)

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.first.rendered.files["events.json"])
        return data


def serve(server: HTTPServer, *, gone: str = "") -> None:
    """Every input on one server; `gone` answers 404 like meetup.com does for a deleted group."""
    server.clear()
    for path, (name, content_type) in GETS.items():
        if path == gone:
            server.expect_request(path).respond_with_data("404 page not found\n", status=404, content_type="text/plain")
        else:
            server.expect_request(path).respond_with_data((FIXTURES / name).read_bytes(), content_type=content_type)
    # Only a request carrying the token from the environment gets the group's events.
    server.expect_request("/gql-ext", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_data(
        (FIXTURES / "rust-nyc-gql.json").read_bytes(), content_type="application/json"
    )


def job(config_path: Path, now: datetime) -> JobResult:
    config = load_config(config_path)
    with Http(config.http) as http:
        return run_job(config, ISSUE, http, now=now)


@pytest.fixture(scope="module")
def runs(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    server = make_httpserver
    config_path = tmp_path_factory.mktemp("e2e") / "config.toml"
    config_path.write_text(
        CONFIG.format(
            server=server.url_for("").rstrip("/"),
            calendar=CALENDAR,
            calendar_path=CALENDAR_PATH,
            meetup=MEETUP,
            luma=LUMA,
            summit=SUMMIT,
            hasgeek=HASGEEK,
        ),
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MEETUP_ACCESS_TOKEN", TOKEN)
        serve(server)
        first = job(config_path, NOW)
        serve(server, gone=BERLIN_PAGE)
        second = job(config_path, NOW + timedelta(hours=6))
    server.clear()
    yield Runs(first, second)


def printed_dates(item: ParsedItem) -> str:
    first, last = item.first_day.isoformat(), item.last_day.isoformat()
    return first if first == last else f"{first} - {last}"


def listing(item: ParsedItem) -> tuple[str, str, str, str, str]:
    return item.section, item.title, printed_dates(item), item.where, item.url


def test_every_source_is_read_cleanly(runs: Runs) -> None:
    outcomes = {o.report.name: o.outcome for o in runs.first.outcomes}
    assert outcomes == dict.fromkeys([CALENDAR, BERLIN, DALLAS, NYC, LUMA, SUMMIT, HASGEEK], "ok")
    assert runs.first.collected.warnings == []
    assert all(run.events for run in runs.first.collected.runs)


def test_each_real_event_is_listed_once_in_each_of_its_sections(runs: Runs) -> None:
    expected = sorted(
        (section, title, dates, where, LINKS[title])
        for title, (dates, where, sections) in EXPECTED.items()
        for section in sections.split(", ")
    )
    assert sorted(listing(item) for item in runs.items) == expected
    assert [name for name, _ in runs.first.rendered.issue.sections] == [
        "Virtual",
        "Asia",
        "Europe",
        "North America",
        "Oceania",
    ]


def test_calendar_copies_merge_into_the_page_events(runs: Runs) -> None:
    document = runs.document()
    window = document["window"]
    in_window = [e for e in document["events"] if window["start"] <= e["first_day"] <= window["end"]]
    sources = {event["title"]: event["sources"] for event in in_window}
    assert len(sources) == len(in_window) == len(EXPECTED)
    assert CALENDAR in sources["Rust and Tell - December 2026"]  # http://meetup.com/Rust-Berlin/...?utm_source=cal
    assert CALENDAR in sources["Rust Hack and Learn"]  # the series placeholder
    assert CALENDAR in sources["Dallas Rust: Study Group"]  # the numeric id for the feed's placeholder
    assert CALENDAR in sources["Dallas Rust: Third Thursday Hack Night"]
    assert CALENDAR in sources["Rust Bay Area: December Social"]  # lu.ma
    assert CALENDAR in sources["Rust Winter Summit 2026"]  # under both of its calendar names
    assert sources["Rust NYC: Holiday Lightning Talks"] == [NYC, LUMA]  # Luma's external cross-listing
    for title in CALENDAR_ONLY_TITLES:
        assert title not in runs.first.block
        assert title not in sources


def test_the_page_wins_over_the_calendar_for_date_place_and_link(runs: Runs) -> None:
    [hack_night] = [item for item in runs.items if item.title == "Dallas Rust: Third Thursday Hack Night"]
    # The calendar says Plano and an end on the next day; the meetup feed says Dallas, one evening.
    assert (printed_dates(hack_night), hack_night.where) == ("2026-12-17", "Dallas, TX, US")
    assert "Plano" not in runs.first.block
    [summit] = {(item.url, item.organizer) for item in runs.items if item.title == "Rust Winter Summit 2026"}
    assert summit == ("https://pretix.eu/rustwinter/2026/", "Rust Austria")
    assert "rustwintersummit.at" not in runs.first.block


def test_links_are_printed_in_house_style(runs: Runs) -> None:
    block = runs.first.block
    # Numeric meetup ids replace series placeholders, whichever source had which.
    assert "qwzhftyjcmbxb" not in block and "rxbcqtyjcqbvb" not in block
    assert "lu.ma/" not in block and "utm_source" not in block and "http://meetup.com" not in block
    organizers = {item.organizer: item.organizer_url for item in runs.items}
    assert organizers["Rust Berlin"] == "https://www.meetup.com/rust-berlin"
    assert organizers["Rust Bay Area"] == "https://luma.com/rust-bay-area"


def test_local_dates_come_from_each_event_s_own_zone(runs: Runs) -> None:
    days = {item.title: printed_dates(item) for item in runs.items}
    assert days["Rust NYC: Holiday Lightning Talks"] == "2026-12-03"  # 19:00-05:00, 00:00Z on the 4th
    assert days["Rust Bay Area: December Social"] == "2026-12-03"  # 02:00Z on the 4th, America/Los_Angeles
    assert days["Rust Melbourne Coffee & Code"] == "2026-12-12"  # 21:00Z on the 11th, a Melbourne morning


def test_events_outside_the_window_are_left_out(runs: Runs) -> None:
    titles = {item.title for item in runs.items}
    assert "Rust Zürisee November Meetup" not in titles
    assert "January 2027 Rustacean Meetup" not in titles
    assert "Go Berlin: Winter Gophers" not in runs.first.block  # another group's event cached on the page


def test_same_titled_events_in_two_cities_are_both_listed_and_not_reported(runs: Runs) -> None:
    # One event is in one place: Berlin's and Karlsruhe's Hack and Learn on one evening are two.
    assert runs.first.rendered.possible_duplicates == []
    assert runs.document()["possible_duplicates"] == []
    listed = Counter(item.title for item in runs.items)
    assert listed["Rust Hack and Learn"] == listed["Rust Hack and Learn Karlsruhe"] == 1


def test_feed_holds_each_occurrence_once(runs: Runs) -> None:
    feed = icalendar.Calendar.from_ical(runs.first.rendered.files["events.ics"])
    occurrences = Counter((str(e["SUMMARY"]), e.start.isoformat()[:10]) for e in feed.events)
    assert occurrences, "the feed is empty"
    assert [key for key, count in occurrences.items() if count > 1] == []
    summaries = {summary for summary, _ in occurrences}
    assert not summaries & set(CALENDAR_ONLY_TITLES)


def test_a_failed_group_keeps_its_last_good_events(runs: Runs) -> None:
    outcomes = {o.report.name: o for o in runs.second.outcomes}
    assert outcomes[BERLIN].outcome == "failed"
    assert "rust-berlin" in outcomes[BERLIN].reason and "404" in outcomes[BERLIN].reason
    assert all(o.outcome == "ok" for name, o in outcomes.items() if name != BERLIN)
    # Berlin's events come from the store; every other source gave what it gave before.
    assert runs.second.block == runs.first.block
    berlin = [item.title for item in parse_block(runs.second.block) if item.organizer == "Rust Berlin"]
    assert sorted(berlin) == [
        "Rust Berlin Online: Embassy on the RP2350",
        "Rust Hack and Learn",
        "Rust and Tell - December 2026",
    ]
    health = {h.name: h for h in runs.second.rendered.health}
    assert health[BERLIN].last_outcome == "failed" and health[BERLIN].last_success is not None


def test_events_json_explains_every_merge(runs: Runs) -> None:
    merges = {m["key"]: m for m in runs.document()["merges"]}
    tell = merges["Rust meetups: rust-berlin:123456789"]
    assert tell["records"] == [
        "Rust meetups: rust-berlin:123456789",
        f"{CALENDAR}:0a1rustandtellberlin@google.com/20261208T180000Z",
    ]
    assert [join["rule"] for join in tell["joins"]] == ["same event page"]
    rules = {join["rule"] for m in merges.values() for join in m["joins"]}
    assert "same meetup group and day (series placeholder)" in rules
    # Each merged-away calendar title is accounted for by a merge.
    merged_keys = {key for m in merges.values() for key in m["records"]}
    assert len(merged_keys) == sum(len(m["records"]) for m in merges.values())
