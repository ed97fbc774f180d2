"""The readers' web page: `index.html`, the coming weeks' events by region with subscribe links; an .ics per event."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.labels import where_label
from aggregator.model import Event
from aggregator.placeindex import cache_folder
from aggregator.regions import REGIONS
from aggregator.window import Window
from output.ics import FeedText, FeedWriter, Revision, entry_of, slug, uid
from output.markdown import clean_text, needs_place, organizer_text, title_text, web_url

MISSING_BASE_URL = (
    "[output] base_url is not set, so index.html has no subscribe links: "
    "set it to the public address of the output folder, e.g. https://you.github.io/twir-events/"
)
FEED_PATH = "events.ics"
PAGE_TEMPLATE = "page.html.j2"
EVENTS_DIR = "events"
GOOGLE_ADD = "https://calendar.google.com/calendar/r?cid="
OUTLOOK_ADD = "https://outlook.live.com/calendar/0/addfromweb?url="
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9@._-]")

if TYPE_CHECKING:
    from jinja2 import Template


@dataclass(frozen=True)
class Subscription:
    """The ways to subscribe to one feed; the absolute links are "" without a base URL."""

    label: str
    slug: str
    path: str
    https: str
    webcal: str
    google: str
    outlook: str


@dataclass(frozen=True)
class Day:
    """A calendar day as a `<time>` element shows it."""

    iso: str
    text: str


@dataclass(frozen=True)
class Start:
    """A start time in the event's own zone; `zone` (IANA) lets the page's script add the reader's time."""

    iso: str
    text: str
    zone: str


@dataclass(frozen=True)
class Listing:
    """One event as the page shows it, every field already cleaned; links are http(s) or ""."""

    uid: str
    title: str
    url: str
    where: str
    organizer: str
    organizer_url: str
    days: tuple[Day, ...]
    start: Start | None
    ics: str


@dataclass(frozen=True)
class Region:
    """A section of the page: a TWiR region, its listings and its feed."""

    name: str
    slug: str
    listings: tuple[Listing, ...]
    feed: Subscription


def render_site(
    window: Window,
    sections: Sequence[tuple[str, Sequence[Event]]],
    *,
    base_url: str,
    name: str,
    description: str,
    refresh: str,
    states: Collection[str],
    revisions: Mapping[str, Revision],
    feeds: FeedWriter | None = None,
) -> dict[str, bytes]:
    """`index.html` plus `events/<uid>.ics` for every listed event, keyed by path in the output folder.

    `feeds`, the run's feed writer, lends each event file its VEVENT and its zones' changes.
    """
    uids = uids_of(revisions)
    files = {
        "index.html": render_page(
            window,
            sections,
            base_url=base_url,
            name=name,
            description=description,
            states=states,
            updated=last_change(revisions),
            uids=uids,
        )
    }
    listed = {event.key: event for events in public_sections(sections, states).values() for event in events}
    writer = feeds or FeedWriter({}, text=FeedText(name, description, refresh), states=states)
    for event in listed.values():
        entry = entry_of(event, revisions.get(event.key))
        files[event_path(event, uids.get(event.key, ""))] = writer.single(entry, f"{name}: {title_text(event.title)}")
    return files


def render_page(
    window: Window,
    sections: Sequence[tuple[str, Sequence[Event]]],
    *,
    base_url: str,
    name: str,
    description: str,
    states: Collection[str],
    updated: datetime | None,
    uids: Mapping[str, str] | None = None,
) -> bytes:
    """The page: every region in TWiR's order (empty ones too, so a shared filter link never breaks)."""
    by_name = public_sections(sections, states)
    regions = [
        Region(
            region,
            slug(region),
            tuple(listing(event, states, (uids or {}).get(event.key, "")) for event in by_name.get(region, ())),
            subscription(base_url, f"regions/{slug(region)}.ics", region, f"{name}: {region}"),
        )
        for region in REGIONS
    ]
    script = _asset("page.js")
    style = _asset("page.css")
    page = _page_template().render(
        name=clean_text(name),
        description=clean_text(description),
        window=(_day(window.start, year=True), _day(window.end, year=True)),
        updated=updated.astimezone(UTC) if updated else None,
        regions=regions,
        feed=subscription(base_url, FEED_PATH, "All regions", name),
        listed=len({item.uid for region in regions for item in region.listings}),
        script=script,
        style=style,
        csp=f"default-src 'none'; script-src '{_hash(script)}'; style-src '{_hash(style)}'; img-src data:; "
        "base-uri 'none'; form-action 'none'",
    )
    return page.encode("utf-8")


def public_sections(sections: Sequence[tuple[str, Sequence[Event]]], states: Collection[str]) -> dict[str, list[Event]]:
    """The block's regions as readers see them: no "Other" section, no event the editor has yet to place."""
    return {name: [e for e in events if not needs_place(e, states)] for name, events in sections if name in REGIONS}


def listing(event: Event, states: Collection[str], feed_uid: str = "") -> Listing:
    """What the page prints of one event: the block's place and organizer, dates, start time, its .ics."""
    organizer, organizer_url = organizer_text(event)
    days = (event.first_day, event.last_day) if event.last_day > event.first_day else (event.first_day,)
    return Listing(
        uid=feed_uid or uid(event.key),
        title=title_text(event.title),
        url=web_url(event.url),
        where=clean_text(where_label(event, states)),
        organizer=organizer,
        organizer_url=organizer_url,
        days=tuple(_day(day) for day in days),
        start=_start(event),
        ics=event_path(event, feed_uid),
    )


def subscription(base_url: str, path: str, label: str, name: str) -> Subscription:
    """webcal://, Google Calendar and Outlook links for the feed at `path` under `base_url` (all "" without it)."""
    if not base_url:
        return Subscription(label, path.rsplit("/", 1)[-1].removesuffix(".ics"), path, "", "", "", "")
    https = urljoin(base_url, path)
    webcal = "webcal://" + https.split("://", 1)[1]
    return Subscription(
        label=label,
        slug=path.rsplit("/", 1)[-1].removesuffix(".ics"),
        path=path,
        https=https,
        webcal=webcal,
        google=GOOGLE_ADD + quote(webcal, safe=""),
        outlook=f"{OUTLOOK_ADD}{quote(https, safe='')}&name={quote(clean_text(name), safe='')}",
    )


def event_path(event: Event, feed_uid: str = "") -> str:
    """`events/<uid>.ics`, with the feed's UID (`feed_uid`, else the key's hash) made safe as a file name."""
    return f"{EVENTS_DIR}/{_UNSAFE_NAME.sub('_', feed_uid or uid(event.key))}.ics"


def uids_of(revisions: Mapping[str, Revision]) -> dict[str, str]:
    """The feed's UID per event key, where the feed's state gave one."""
    return {key: revision.uid for key, revision in revisions.items() if revision.uid}


def last_change(revisions: Mapping[str, Revision]) -> datetime | None:
    """When the published listing last changed: the page must stay byte-identical while its events do."""
    return max((revision.modified for revision in revisions.values()), default=None)


def _start(event: Event) -> Start | None:
    start = event.start
    if not isinstance(start, datetime):
        return None
    try:
        zone: ZoneInfo | None = ZoneInfo(event.timezone) if event.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is not None:
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    label = start.tzname() or ""
    if label[:1] in "+-" and label:
        label = f"UTC{label}"
    text = f"{start:%H:%M} {label}".strip()
    return Start(start.isoformat(timespec="minutes"), text, zone.key if zone else "")


def _day(day: date, *, year: bool = False) -> Day:
    text = f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return Day(day.isoformat(), f"{text} {day.year}" if year else text)


@cache
def _page_template() -> Template:
    """The page's template, compiled once per process; Jinja keeps the compiled code in the cache folder for
    the next run."""
    from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined

    def template(cache: FileSystemBytecodeCache | None) -> Template:
        env = Environment(
            loader=PackageLoader("output", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=cache,
        )
        return env.get_template(PAGE_TEMPLATE)

    folder = cache_folder() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return template(FileSystemBytecodeCache(str(folder)))
    except Exception:
        # A cache folder that cannot be written, or a damaged file in it, costs only the compiling; a fault of the
        # template itself is raised again by compiling it here.
        return template(None)


def _asset(name: str) -> str:
    return (resources.files("output") / "templates" / name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    """A CSP source expression allowing exactly this inline script or style, and nothing injected beside it."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
