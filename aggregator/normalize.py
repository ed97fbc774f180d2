"""Turn a source's raw record into an `Event`: its own zone, a resolved place, a mode, clean links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator import places, regions, text, urls
from aggregator.model import Event, Mode, Place, RawEvent

UNTITLED = "(untitled event)"
DESCRIPTION_LIMIT = 1000


@dataclass(frozen=True)
class Overrides:
    """Per-source settings from the config that win over what the events say."""

    organizer: str = ""
    organizer_url: str = ""
    mode: Mode | None = None


@dataclass
class Normalized:
    """One normalized event and the one-line warnings it raised."""

    event: Event
    warnings: list[str] = field(default_factory=list)


def normalize(raw: RawEvent, overrides: Overrides = Overrides()) -> Normalized:
    """Normalize one raw record; problems become warnings, never a lost event."""
    warnings: list[str] = []
    where = f"{raw.source}: {raw.title.strip()[:60] or raw.key!r}"
    title = text.clean_title(raw.title)
    if not title:
        warnings.append(f"{where}: event has no title")
        title = UNTITLED

    home_hint, location = places.split_home(raw.location.strip())
    place = _place(raw, location)
    streaming = urls.safe_url(location) or text.streaming_link(raw.description)
    mode = overrides.mode or raw.mode or _mode(home_hint, location, title, raw.description, place)

    url = urls.safe_url(urls.unwrap_redirect(raw.url)) or text.event_link(raw.description)
    organizer, organizer_url = _organizer(raw, url, overrides)

    zone = _zone(raw.timezone) or _zone(place.timezone) or _zone(raw.fallback_timezone) or "UTC"
    start, end = _local_times(raw.start, raw.end, ZoneInfo(zone))

    if not place and mode is not Mode.VIRTUAL:
        what = f"cannot resolve place {raw.location.strip()!r}" if raw.location.strip() else "has no place"
        # Without a place only the zone's country can file the event under a continent.
        listed = regions.continent(places.country_of_timezone(zone))
        fate = "listed without one" if listed else "listed under Other"
        warnings.append(f"{where}: {what}; {fate}")
    if not url:
        warnings.append(f"{where}: no event link found")

    event = Event(
        key=f"{raw.source}:{raw.key}",
        source=raw.source,
        title=title,
        start=start,
        end=end,
        timezone=zone,
        mode=mode,
        place=place,
        location=streaming if mode is Mode.VIRTUAL and not location else location,
        url=urls.display_url(url) if url else "",
        organizer=organizer,
        organizer_url=urls.display_url(organizer_url) if organizer_url else "",
        description=text.description_text(raw.description)[:DESCRIPTION_LIMIT],
        sources=(raw.source,),
        cross_listed=raw.extra.get("platform") == "external" or bool(raw.extra.get("cross_listed")),
    )
    return Normalized(event, warnings)


def _place(raw: RawEvent, location: str) -> Place:
    if raw.place:
        return places.complete(raw.place)
    if location and not urls.safe_url(location):
        return places.resolve(location) or Place()
    return Place()


def _mode(home_hint: str, location: str, title: str, description: str, place: Place) -> Mode:
    if home_hint:
        return Mode(home_hint) if home_hint == Mode.HYBRID.value else Mode.VIRTUAL
    has_address = bool(place) and not urls.safe_url(location)
    return text.detect_mode(location, title, description, has_address)


def _organizer(raw: RawEvent, url: str, overrides: Overrides) -> tuple[str, str]:
    """Config override, else the event's own data, else what the event link implies."""
    name, link = text.organizer(raw.description)
    name = overrides.organizer or text.clean_name(raw.organizer) or name
    # An unsafe link in one place must not hide a safe one further down.
    candidates = (overrides.organizer_url, raw.organizer_url, link)
    link = next((safe for candidate in candidates if (safe := urls.safe_url(candidate))), "") or (
        urls.organizer_url_for(url) if url else ""
    )
    if not name and link:
        name = urls.organizer_name_for(link)
    return name, link


@lru_cache(maxsize=1024)
def _zone(name: str) -> str:
    """The name if this machine knows the zone, else "" (remembered: every event asks up to three times)."""
    if not name:
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name


def _local_times(
    start: date | datetime, end: date | datetime | None, zone: ZoneInfo
) -> tuple[date | datetime, date | datetime]:
    """Both ends in the event's zone; a missing end is the start (timed) or the next day (all-day)."""
    if not isinstance(start, datetime):
        last = end if end is not None and not isinstance(end, datetime) else start + timedelta(days=1)
        return start, max(last, start + timedelta(days=1))
    local_start = _in_zone(start, zone)
    local_end = _in_zone(end, zone) if isinstance(end, datetime) else local_start
    return local_start, max(local_end, local_start)


def _in_zone(value: datetime, zone: ZoneInfo) -> datetime:
    # A floating time is already local to the event; an aware one is the same instant seen from its zone.
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
