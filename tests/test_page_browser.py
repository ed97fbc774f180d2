"""The readers' page in a real browser: Debian's headless Chromium driven by Selenium, one session for the module.

Skipped only when chromium or chromedriver is missing; `.ci/run` installs both, so CI always runs these.
A screenshot of the demo page is saved under tmp/artifacts/ for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_demo import run_demo
from test_html import HOSTILE, STATES, WINDOW, make_event

from aggregator.grouping import group
from aggregator.job import JobResult
from output.html import render_site
from output.markdown import parse_block

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tmp" / "artifacts"
BASE = "https://rust-events.example.org/"
# A reader far from most events, so the page has reader-zone times to show.
READER_ZONE = "America/New_York"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)

CURRENT = 'return document.querySelector("#regions a[aria-current]")?.dataset.region'
VISIBLE = """
return Array.from(document.querySelectorAll("li.event"))
  .filter((li) => li.offsetParent !== null)
  .map((li) => [li.closest("section").id, li.querySelector("h3").textContent]);
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-US"):
        options.add_argument(argument)
    options.add_argument("--window-size=1000,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(DRIVER), env={**os.environ, "TZ": READER_ZONE})
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[JobResult, Path]:
    out = tmp_path_factory.mktemp("public")
    return run_demo(out), out


# Text colour and the nearest opaque background of every kind of text on the page.
COLOURS = """
const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
function behind(element) {
  for (; element; element = element.parentElement) {
    const colour = rgb(getComputedStyle(element).backgroundColor);
    if (colour.length < 4 || colour[3] > 0) return colour.slice(0, 3);
  }
  return [255, 255, 255];
}
const kinds = "h1, header p, nav h2, ul.filter a, label, .shown, h2, .region-feed span, .region-feed a, h3 a, .when, "
  + ".yours, .where, .who a, .add a, .copy input, button, footer p, footer a";
return Array.from(document.querySelectorAll(kinds)).filter((e) => e.offsetParent !== null)
  .map((e) => [e.tagName + "." + e.className, rgb(getComputedStyle(e).color).slice(0, 3), behind(e)]);
"""


def contrast(first: list[float], second: list[float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(colour: list[float]) -> float:
        linear = [c / 255 / 12.92 if c <= 0.04045 * 255 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def expected(result: JobResult) -> list[list[str]]:
    return [[item.section.lower().replace(" ", "-"), item.title] for item in parse_block(result.block)]


def load(browser: Any, url: str) -> None:
    """A fresh load: going from one fragment of a page to another would not reload it or rerun its script."""
    browser.get("about:blank")
    browser.get(url)


def settled(browser: Any, script: str, want: object) -> object:
    """The script's result once it equals `want`, or its last result after a few seconds (events run async)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    with contextlib.suppress(TimeoutException):
        WebDriverWait(browser, 5, poll_frequency=0.05).until(lambda driver: driver.execute_script(script) == want)
    return browser.execute_script(script)


def errors(browser: Any) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_demo_page_loads_cleanly_and_shows_every_event_of_the_block(browser: Any, demo: tuple[JobResult, Path]) -> None:
    result, out = demo
    load(browser, (out / "index.html").as_uri())
    assert errors(browser) == []
    assert browser.execute_script(VISIBLE) == expected(result)
    assert browser.find_element("css selector", "html").get_attribute("lang") == "en"
    # The script added the reader's own time wherever it differs from the event's zone.
    yours = browser.execute_script(
        'return Array.from(document.querySelectorAll(".yours")).filter((s) => !s.hidden).map((s) => s.textContent)'
    )
    assert yours and all(text.endswith("your time)") for text in yours)
    assert any(text.endswith(" EST your time)") for text in yours), yours
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1000, min(height + 100, 8000))
    browser.save_screenshot(str(ARTIFACTS / "demo-page.png"))
    browser.set_window_size(390, 900)
    browser.save_screenshot(str(ARTIFACTS / "demo-page-phone.png"))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    browser.set_window_size(1000, 900)


def test_region_filter_by_keyboard_survives_reload_and_shared_links(browser: Any, demo: tuple[JobResult, Path]) -> None:
    from selenium.webdriver.common.keys import Keys

    result, out = demo
    page = (out / "index.html").as_uri()
    everything = expected(result)
    europe = [item for item in everything if item[0] == "europe"]
    asia = [item for item in everything if item[0] == "asia"]
    assert europe and asia

    load(browser, page)
    browser.find_element("css selector", '#regions a[data-region="europe"]').send_keys(Keys.ENTER)
    assert settled(browser, VISIBLE, europe) == europe
    assert browser.current_url.endswith("#europe")
    assert settled(browser, CURRENT, "europe") == "europe"
    browser.refresh()
    assert settled(browser, VISIBLE, europe) == europe

    load(browser, page + "?region=asia")
    assert settled(browser, VISIBLE, asia) == asia
    browser.find_element("css selector", '#regions a[data-region=""]').send_keys(Keys.ENTER)
    assert settled(browser, VISIBLE, everything) == everything

    browser.find_element("css selector", "#q").send_keys("berlin")
    berlin = [
        [item.section.lower().replace(" ", "-"), item.title]
        for item in parse_block(result.block)
        if "berlin" in f"{item.title} {item.where} {item.organizer}".lower()
    ]
    assert 0 < len(berlin) < len(everything)
    assert settled(browser, VISIBLE, berlin) == berlin
    assert errors(browser) == []


def test_europe_feed_is_one_click_away_with_the_configured_urls(browser: Any, demo: tuple[JobResult, Path]) -> None:
    _, out = demo
    load(browser, (out / "index.html").as_uri() + "#europe")
    links = browser.execute_script(
        'return Array.from(document.querySelectorAll("#europe .region-feed a"))'
        ".filter((a) => a.offsetParent !== null).map((a) => [a.textContent, a.href])"
    )
    assert dict(links) == {
        "Subscribe": "webcal://rust-events.example.org/regions/europe.ics",
        "Add to Google Calendar": "https://calendar.google.com/calendar/r?cid="
        "webcal%3A%2F%2Frust-events.example.org%2Fregions%2Feurope.ics",
        "Add to Outlook": "https://outlook.live.com/calendar/0/addfromweb?url="
        "https%3A%2F%2Frust-events.example.org%2Fregions%2Feurope.ics&name=Rust%20Community%20Events%3A%20Europe",
        ".ics file": (out / "regions" / "europe.ics").as_uri(),
    }
    button = browser.find_element("css selector", 'button[data-copy="url-europe"]')
    assert button.is_displayed()
    button.click()
    status = f"Copied {BASE}regions/europe.ics"
    assert settled(browser, 'return document.getElementById("copied").textContent', status) == status


def test_hostile_title_renders_as_text(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    event = make_event(HOSTILE, date(2026, 12, 2), url="javascript:alert(1)", organizer_url="javascript:alert(2)")
    files = render_site(
        WINDOW,
        group([event], STATES),
        base_url=BASE,
        name="Rust <b>Events</b>",
        description="d",
        refresh="PT6H",
        states=STATES,
        revisions={},
    )
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    browser.get((tmp_path / "index.html").as_uri())
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018  # reading it is what raises when no alert is open
    assert browser.find_element("css selector", "li.event h3").text == HOSTILE
    assert browser.find_element("css selector", "h1").text == "Rust <b>Events</b>"
    counts = browser.execute_script(
        'return [document.scripts.length, document.images.length, document.querySelectorAll("li.event h3 a").length,'
        ' Array.from(document.links).filter((a) => a.protocol === "javascript:").length]'
    )
    assert counts == [1, 0, 0, 0]
    assert errors(browser) == []


def test_text_contrast_meets_wcag_aa_in_light_and_dark_mode(browser: Any, demo: tuple[JobResult, Path]) -> None:
    _, out = demo
    for scheme in ("light", "dark"):
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
        )
        load(browser, (out / "index.html").as_uri() + "#subscribe")
        found = browser.execute_script(COLOURS)
        assert len(found) > 100
        poor = [(kind, round(contrast(fg, bg), 2)) for kind, fg, bg in found if contrast(fg, bg) < 4.5]
        assert poor == [], scheme
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_filter_works_without_scripts(browser: Any, demo: tuple[JobResult, Path]) -> None:
    result, out = demo
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        load(browser, (out / "index.html").as_uri() + "#europe")
        assert browser.execute_script(VISIBLE) == [item for item in expected(result) if item[0] == "europe"]
        assert not browser.find_element("id", "search").is_displayed(), "the script did not run"
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
