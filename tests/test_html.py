"""The readers' page writer: escaping, grouping like the block, subscribe URLs, a missing base_url, one .ics per event.

Pages are read back with html5lib in strict mode, so a parse error anywhere fails the test.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element

import html5lib
import icalendar
import pytest
from jinja2.bccache import bc_magic
from test_markdown import make_event as markdown_event

from aggregator.config import load_config
from aggregator.grouping import group
from aggregator.model import Event, Mode
from aggregator.placeindex import CACHE_VARIABLE
from aggregator.regions import REGIONS, UNPLACED
from aggregator.tomltable import ConfigError
from aggregator.window import issue_window
from output import html
from output.html import (
    GOOGLE_ADD,
    MISSING_BASE_URL,
    OUTLOOK_ADD,
    event_path,
    render_page,
    render_site,
    subscription,
)
from output.ics import Revision, uid
from output.markdown import parse_block

NS = "{http://www.w3.org/1999/xhtml}"
STATES = ("US", "CA", "AU")
WINDOW = issue_window(date(2026, 11, 25))
BASE = "https://events.example.org/rust/"
ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '<script>alert("t")</script><img src=x onerror=alert(1)> & "quotes"'


def make_event(title: str, day: date, **fields: Any) -> Event:
    """An evening event in Berlin unless `fields` say otherwise."""
    return markdown_event(title, day, **{"city": "Berlin", "country": "DE", "zone": "Europe/Berlin", **fields})


def page(events: list[Event], base_url: str = BASE) -> bytes:
    return render_page(
        WINDOW,
        group(events, STATES),
        base_url=base_url,
        name="Rust Events",
        description="Rust events",
        states=STATES,
        updated=datetime(2026, 11, 22, 6, tzinfo=UTC),
    )


def parse(html: bytes) -> Element:
    """The document tree; html5lib in strict mode raises on any parse error."""
    tree: Element = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(html)
    return tree


def find_all(tree: Element, tag: str, cls: str = "") -> list[Element]:
    return [e for e in tree.iter(NS + tag) if not cls or cls in (e.get("class") or "").split()]


def text(element: Element) -> str:
    return "".join(element.itertext())


def listings(tree: Element) -> dict[str, list[str]]:
    """Titles per region section, in page order."""
    return {
        section.get("id", ""): [text(h3) for h3 in section.iter(NS + "h3")]
        for section in find_all(tree, "section", "region")
    }


def links(tree: Element) -> list[str]:
    return [a.get("href", "") for a in tree.iter(NS + "a")]


def test_hostile_text_is_escaped_and_only_http_links_are_links() -> None:
    day = date(2026, 12, 2)
    events = [
        make_event(HOSTILE, day, url="javascript:alert(1)", organizer=HOSTILE, organizer_url="javascript:alert(2)"),
        make_event("Data link", day, url="data:text/html,<script>alert(3)</script>", organizer_url=" JAVASCRIPT:x"),
        make_event("Quote break", day, url='https://example.org/a"><script>alert(4)</script>'),
    ]
    html = page(events)
    tree = parse(html)
    assert len(find_all(tree, "script")) == 1, "only the page's own script"
    assert not find_all(tree, "img")
    titles = listings(tree)["europe"]
    assert HOSTILE in titles and "Data link" in titles
    hostile = next(li for li in find_all(tree, "li", "event") if text(li.find(f"{NS}h3")) == HOSTILE)  # type: ignore[arg-type]
    assert not list(hostile.find(f"{NS}h3").iter(NS + "a"))  # type: ignore[union-attr]
    assert HOSTILE in [text(p) for p in find_all(hostile, "p", "who")]
    for href in links(tree):
        assert urlsplit(href).scheme in ("", "https", "webcal"), href
    quoted = next(a for a in tree.iter(NS + "a") if text(a) == "Quote break")
    assert quoted.get("href") == "https://example.org/a%22%3E%3Cscript%3Ealert%284%29%3C/script%3E"
    assert b"javascript:" not in html.lower() and b"data:text" not in html


def test_regions_follow_the_block_with_every_region_present_and_review_items_left_out() -> None:
    day = date(2026, 12, 1)
    events = [
        make_event("Paris hybrid", day, country="FR", city="Paris", mode=Mode.HYBRID, zone="Europe/Paris"),
        make_event("Online talk", day + timedelta(days=1), mode=Mode.VIRTUAL),
        make_event("Tokyo meetup", day, country="JP", city="Tokyo", zone="Asia/Tokyo"),
        make_event("Berlin late", day + timedelta(days=3)),
        make_event("Berlin early", day),
        make_event("Nowhere", day, country="", city="", zone="UTC"),
        make_event("Unplaced in Europe", day, country="", city="", zone="Europe/Berlin"),
    ]
    sections = group(events, STATES)
    assert UNPLACED in dict(sections), "the unplaced event is a review item"
    assert "Unplaced in Europe" in [event.title for event in dict(sections)["Europe"]], "needs a place"
    found = listings(parse(page(events)))
    assert list(found) == [region.lower().replace(" ", "-") for region in REGIONS]
    assert found["virtual"] == ["Paris hybrid", "Online talk"]
    assert found["europe"] == ["Berlin early", "Paris hybrid", "Berlin late"]
    assert found["asia"] == ["Tokyo meetup"]
    assert found["africa"] == []
    shown = {title for titles in found.values() for title in titles}
    assert "Nowhere" not in shown and "Unplaced in Europe" not in shown, "review items stay off the page"
    files = render_site(
        WINDOW, sections, base_url=BASE, name="n", description="d", refresh="PT6H", states=STATES, revisions={}
    )
    assert len(files) == 1 + 5, "one .ics per event on the page, none for the review items"


def test_dates_times_places_and_organizers_as_printed() -> None:
    conference = make_event(
        "RustConf-ish", date(2026, 12, 8), days=3, organizer="", organizer_url="https://conf.example/"
    )
    online = make_event(
        "Remote", date(2026, 12, 9), mode=Mode.VIRTUAL, zone="America/Los_Angeles", country="US", city="Seattle"
    )
    tree = parse(page([conference, online]))
    items = {text(li.find(f"{NS}h3")): li for li in find_all(tree, "li", "event")}  # type: ignore[arg-type]
    times = [(t.get("datetime"), text(t)) for t in items["RustConf-ish"].iter(NS + "time")]
    assert times == [("2026-12-08", "Tue 8 Dec"), ("2026-12-10", "Thu 10 Dec")]
    assert [text(p) for p in find_all(items["RustConf-ish"], "p", "who")] == ["conf.example"]
    start = next(t for t in items["Remote"].iter(NS + "time") if "start" in (t.get("class") or ""))
    assert (start.get("datetime"), text(start), start.get("data-zone")) == (
        "2026-12-09T18:00-08:00",
        "18:00 PST",
        "America/Los_Angeles",
    )
    assert [text(p) for p in find_all(items["Remote"], "p", "where")] == ["Virtual (Seattle, US)"]


def test_a_page_without_events_still_offers_every_region_and_feed() -> None:
    tree = parse(page([]))
    assert listings(tree) == {region.lower().replace(" ", "-"): [] for region in REGIONS}
    assert len(find_all(tree, "p", "none")) == len(REGIONS)
    assert "webcal://events.example.org/rust/regions/europe.ics" in links(tree)
    assert "Listing last changed" in text(tree)


def test_subscribe_links_carry_the_feed_urls() -> None:
    feed = subscription(BASE, "regions/europe.ics", "Europe", "Rust Events: Europe")
    assert feed.https == "https://events.example.org/rust/regions/europe.ics"
    assert feed.webcal == "webcal://events.example.org/rust/regions/europe.ics"
    assert feed.google.startswith(GOOGLE_ADD)
    assert parse_qs(urlsplit(feed.google).query)["cid"] == [feed.webcal]
    assert feed.outlook.startswith(OUTLOOK_ADD)
    assert parse_qs(urlsplit(feed.outlook).query) == {"url": [feed.https], "name": ["Rust Events: Europe"]}

    tree = parse(page([make_event("Berlin", date(2026, 12, 1))]))
    hrefs = links(tree)
    for path in ["events.ics", *(f"regions/{r.lower().replace(' ', '-')}.ics" for r in REGIONS)]:
        assert f"webcal://events.example.org/rust/{path}" in hrefs
        assert f"{GOOGLE_ADD}webcal%3A%2F%2Fevents.example.org%2Frust%2F{path.replace('/', '%2F')}" in hrefs
        assert any(
            h.startswith(f"{OUTLOOK_ADD}https%3A%2F%2Fevents.example.org%2Frust%2F{path.replace('/', '%2F')}&")
            for h in hrefs
        )
    names = {a.get("aria-label") for a in tree.iter(NS + "a") if a.get("href", "").startswith(GOOGLE_ADD)}
    assert len(names) == len(REGIONS) + 1 and "Add to Google Calendar: Europe" in names, "each link names its feed"
    inputs = {i.get("id"): i.get("value") for i in tree.iter(NS + "input") if i.get("type") == "url"}
    assert inputs["url-europe"] == "https://events.example.org/rust/regions/europe.ics"
    assert inputs["url-events"] == "https://events.example.org/rust/events.ics"


def test_without_base_url_the_page_explains_and_offers_only_relative_feeds() -> None:
    tree = parse(page([make_event("Berlin", date(2026, 12, 1))], base_url=""))
    hrefs = links(tree)
    assert not [h for h in hrefs if h.startswith(("webcal:", GOOGLE_ADD, OUTLOOK_ADD))]
    assert "events.ics" in hrefs and "regions/europe.ics" in hrefs
    assert "[output] base_url" in text(tree)
    assert not [i for i in tree.iter(NS + "input") if i.get("type") == "url"]


def test_base_url_config_is_checked_and_normalised(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[output]\nbase_url = "https://you.github.io/twir-events"\n', encoding="utf-8")
    assert load_config(config).base_url == "https://you.github.io/twir-events/"
    config.write_text("[output]\n", encoding="utf-8")
    assert load_config(config).base_url == ""
    for bad in ("ftp://x.example/", "events.example.org", "https://x.example/?a=1", "javascript:alert(1)"):
        config.write_text(f'[output]\nbase_url = "{bad}"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=r"\[output\]\.base_url: expected"):
            load_config(config)
    assert "base_url" in MISSING_BASE_URL


def test_one_ics_per_listed_event_with_the_feed_uid() -> None:
    berlin = make_event("Berlin", date(2026, 12, 1))
    paris = make_event("Paris", date(2026, 12, 2), country="FR", city="Paris", mode=Mode.HYBRID, zone="Europe/Paris")
    revisions = {berlin.key: Revision(3, datetime(2026, 11, 20, tzinfo=UTC))}
    files = render_site(
        WINDOW,
        group([berlin, paris], STATES),
        base_url=BASE,
        name="Rust Events",
        description="d",
        refresh="PT6H",
        states=STATES,
        revisions=revisions,
    )
    assert sorted(files) == sorted(["index.html", event_path(berlin), event_path(paris)])
    single = icalendar.Calendar.from_ical(files[event_path(berlin)])
    (vevent,) = single.walk("VEVENT")
    assert (str(vevent["UID"]), vevent["SEQUENCE"]) == (uid(berlin.key), 3)
    assert event_path(berlin) == f"events/{uid(berlin.key)}.ics"
    hrefs = links(parse(files["index.html"]))
    assert Counter(hrefs)[event_path(paris)] == 2, "a hybrid event is listed under Virtual and Europe"


def test_demo_page_is_valid_and_lists_the_block(tmp_path: Path) -> None:
    from test_demo import run_demo

    result = run_demo(tmp_path)
    html = (tmp_path / "index.html").read_bytes()
    tree = parse(html)
    assert (tree.tag, tree.get("lang")) == (f"{NS}html", "en")
    ids = [e.get("id") for e in tree.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    for time in tree.iter(NS + "time"):
        datetime.fromisoformat(time.get("datetime", "").replace("Z", "+00:00"))
    expected: dict[str, list[str]] = {}
    for item in parse_block(result.block):
        expected.setdefault(item.section.lower().replace(" ", "-"), []).append(item.title)
    found = {region: titles for region, titles in listings(tree).items() if titles}
    assert found == expected
    singles = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert len(singles) == len(result.rendered.issue.events)
    feed_uids = {
        str(v["UID"]) for v in icalendar.Calendar.from_ical((tmp_path / "events.ics").read_bytes()).walk("VEVENT")
    }
    assert {name.removesuffix(".ics") for name in singles} <= feed_uids
    feed = (tmp_path / "events.ics").read_bytes()
    for name in singles:
        data = (tmp_path / "events" / name).read_bytes()
        (vevent,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
        zones = [str(zone["TZID"]) for zone in icalendar.Calendar.from_ical(data).walk("VTIMEZONE")]
        used = sorted(
            {p.params["TZID"] for p in (vevent.get("DTSTART"), vevent.get("DTEND")) if p and "TZID" in p.params}
        )
        assert zones == (used or ["Etc/UTC"]), f"{name}: exactly the zones its event uses"
        body = data[data.index(b"BEGIN:VEVENT") : data.index(b"END:VEVENT")]
        assert body in feed, f"{name}: the same VEVENT (UID, SEQUENCE, every property) as events.ics"


def test_events_that_leave_the_page_lose_their_ics(tmp_path: Path) -> None:
    from test_demo import run_demo

    run_demo(tmp_path)
    gone = tmp_path / "events" / "gone@twir-events.ics"
    gone.write_bytes(b"old")
    run_demo(tmp_path)
    assert not gone.exists()
    assert any((tmp_path / "events").iterdir())


def test_templates_ship_with_the_package() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    templates = sorted((ROOT / "output" / "templates").iterdir())
    assert templates
    assert all(any(path.relative_to(ROOT / "output").match(p) for p in patterns["output"]) for path in templates)


def test_the_compiled_template_is_kept_for_the_next_run_and_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [make_event("Rust Hack & Learn", date(2026, 12, 3))]
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "cache"))
    html._page_template.cache_clear()
    first = page(events)
    [kept] = (tmp_path / "cache" / "templates").iterdir()
    written = kept.stat().st_ino
    # A new process reads the kept code instead of compiling again (which would write the file anew).
    html._page_template.cache_clear()
    assert page(events) == first
    assert kept.stat().st_ino == written
    # A damaged file (cut short just after Jinja's header) costs only the compiling too.
    kept.write_bytes(kept.read_bytes()[: len(bc_magic) + 1])
    html._page_template.cache_clear()
    assert page(events) == first
    # A cache folder that cannot be made (a file is in the way) costs only the compiling.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(CACHE_VARIABLE, str(blocked / "cache"))
    html._page_template.cache_clear()
    assert page(events) == first
    html._page_template.cache_clear()


def test_demo_config_sets_a_base_url() -> None:
    config = load_config(ROOT / "examples" / "demo" / "config.toml")
    assert config.base_url.startswith("https://")


def test_run_without_base_url_says_how_to_get_subscribe_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aggregator.cli import main

    calendar = ROOT / "examples" / "demo" / "calendar.ics"
    config = tmp_path / "config.toml"
    config.write_text(f'[[source]]\nname = "Demo"\ntype = "ics"\nurl = "{calendar.as_uri()}"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--date", "2026-11-25", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"note: {MISSING_BASE_URL}" in err
    assert "events/*.ics (" in err
    assert main(["render", "--config", str(config), "--date", "2026-11-25", "--format", "html"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<!DOCTYPE html>") and "[output] base_url" in captured.out
    assert f"note: {MISSING_BASE_URL}" in captured.err
