"""Pages carrying schema.org Event JSON-LD: pretix, hasgeek, Eventbrite, Mobilizon, conference sites."""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import html_text
import lxml.etree
import lxml.html

from aggregator.model import Mode, Place, RawEvent
from aggregator.tomltable import Table
from sources.base import SourceError, SourceResult, Span, resolve_url
from sources.http import FetchError, Http

EVENT_TYPES = frozenset(
    {
        "Event",
        "BusinessEvent",
        "ChildrensEvent",
        "ComedyEvent",
        "CourseInstance",
        "DanceEvent",
        "DeliveryEvent",
        "EducationEvent",
        "ExhibitionEvent",
        "Festival",
        "FoodEvent",
        "Hackathon",
        "LiteraryEvent",
        "MusicEvent",
        "PublicationEvent",
        "SaleEvent",
        "ScreeningEvent",
        "SocialEvent",
        "SportsEvent",
        "TheaterEvent",
        "VisualArtsEvent",
    }
)
NO_EVENT = "no schema.org Event found on the page"
ATTENDANCE = {
    "OfflineEventAttendanceMode": Mode.IN_PERSON,
    "OnlineEventAttendanceMode": Mode.VIRTUAL,
    "MixedEventAttendanceMode": Mode.HYBRID,
}
# A postponed event has no new date yet, so its listed date is as wrong as a cancelled one's.
GONE_STATUSES = frozenset({"EventCancelled", "EventPostponed"})
SERIES_GAP = timedelta(days=7)
# Lines CMS templates wrap a block in (`<!--`, `//<![CDATA[`, `// comment`): not JSON, and safe to drop.
_WRAPPER_LINE = re.compile(r"^\s*(?://.*|<!--.*|.*-->|<!\[CDATA\[|\]\]>)\s*$", re.MULTILINE)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})"
    r"(?::(?P<s>\d{2})(?P<frac>[.,]\d+)?(?::(?P<extra>\d{2}))?)?"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?"
)


@dataclass
class JsonLdSource:
    """One page whose JSON-LD lists one or more events."""

    name: str
    url: str

    def fetch(self, http: Http, span: Span) -> SourceResult:
        try:
            response = http.get(self.url)
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        return parse_page(self.name, response.content, response.url, span, _charset(response.headers))


def from_config(name: str, table: Table, base: Path) -> JsonLdSource:
    return JsonLdSource(name=name, url=resolve_url(table, "url", base))


def parse_page(name: str, body: bytes, page_url: str, span: Span, encoding: str = "utf-8") -> SourceResult:
    """The page's events overlapping the span (a day of slack each side); bad blocks and events become warnings."""
    result = SourceResult()
    blocks, broken = _blocks(name, body, encoding, result.warnings)
    nodes = [node for block in blocks for node in _event_nodes(block)]
    if not nodes:
        detail = f" ({broken} JSON-LD block{'s' if broken > 1 else ''} did not parse)" if broken else ""
        raise SourceError(NO_EVENT + detail)
    seen: set[str] = set()
    for index, node in enumerate(nodes, 1):
        try:
            raw, notes = _raw_event(name, node, page_url)
        except (ValueError, OverflowError) as exc:
            result.warnings.append(f"{name}: skipped event {_label(node, index)}: {exc}")
            continue
        # Sites often repeat one event in two blocks (a @graph and a standalone object).
        if raw.key not in seen and _overlaps(raw, span):
            seen.add(raw.key)
            result.events.append(raw)
            result.warnings.extend(f"{name}: event {raw.title!r}: {note}" for note in notes)
    return result


def parse_when(text: str) -> date | datetime:
    """An ISO 8601 date or date-time; the doubled seconds OutSavvy writes (`12:30:00:00+01:00`) are repaired.

    Raises ValueError when the text is not one, or when a fourth time field is neither `00` nor a repeat of the seconds.
    """
    text = text.strip()
    if _DATE.fullmatch(text):
        return date.fromisoformat(text)
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError("not an ISO 8601 date or date-time")
    seconds = match["s"] or "00"
    if match["extra"] is not None and match["extra"] not in ("00", seconds):
        raise ValueError(f"ambiguous extra time field ':{match['extra']}'")
    fraction = (match["frac"] or "").replace(",", ".")[:7]
    return datetime.fromisoformat(f"{match['date']}T{match['hm']}:{seconds}{fraction}{match['offset'] or ''}")


def _blocks(name: str, body: bytes, encoding: str, warnings: list[str]) -> tuple[list[Any], int]:
    """The parsed JSON-LD values on the page, and how many blocks were not valid JSON."""
    if not body.strip():
        raise SourceError("empty page, expected HTML with schema.org Event JSON-LD")
    try:
        tree = lxml.html.fromstring(body, parser=lxml.html.HTMLParser(encoding=encoding))
    except (lxml.etree.ParserError, ValueError) as exc:
        raise SourceError(f"cannot parse the page as HTML: {exc}") from None
    blocks: list[Any] = []
    broken = 0
    scripts = [node for node in tree.iter("script") if node.get("type") == "application/ld+json"]
    # Each block is read alone, so that a malformed one costs only itself.
    for number, script in enumerate(scripts, 1):
        try:
            data = _json("".join(str(text) for text in script.itertext()))
        except (ValueError, RecursionError) as exc:
            broken += 1
            warnings.append(f"{name}: skipped JSON-LD block {number}: not valid JSON ({exc})")
            continue
        blocks.extend(item for item in (data if isinstance(data, list) else [data]) if item)
    return blocks, broken


def _json(text: str) -> Any:
    """A block's JSON value; control characters inside strings are allowed, as browsers' JSON-LD readers do."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        unwrapped = _WRAPPER_LINE.sub("", text)
        if unwrapped == text:
            raise
        return json.loads(unwrapped, strict=False)


def _event_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Events in a JSON-LD value: itself, list members, `@graph` members, ItemList elements and their items."""
    if isinstance(data, list):
        for item in data:
            yield from _event_nodes(item)
    elif isinstance(data, dict):
        if EVENT_TYPES.intersection(_types(data)):
            yield data
            return
        yield from _event_nodes(data.get("@graph"))
        yield from _event_nodes(data.get("mainEntity"))
        elements = data.get("itemListElement")
        for element in elements if isinstance(elements, list) else [elements]:
            yield from _event_nodes(element.get("item", element) if isinstance(element, dict) else element)


def _raw_event(name: str, node: dict[str, Any], page_url: str) -> tuple[RawEvent, list[str]]:
    """The event, and notes about what of it was ignored."""
    title = _text(node.get("name"))
    if not title:
        raise ValueError("no name")
    start = _when(node, "startDate")
    if start is None:
        raise ValueError("no startDate")
    listed_end = _when(node, "endDate")
    notes = []
    try:
        end = _exclusive_end(start, listed_end)
    except ValueError as exc:
        notes.append(f"ignored endDate {node['endDate']!r}: {exc}")
        end = None
    own_url = _link(node.get("url"), page_url) or _link(node.get("@id"), page_url)
    where = _where(node.get("location"), page_url)
    status = _term(node.get("eventStatus"))
    organizer, organizer_url = _organizer(node.get("organizer"), page_url)
    extra = {"status": status} if status in GONE_STATUSES else {}
    if where.online_url:
        extra["online_url"] = where.online_url
    if isinstance(start, datetime) and isinstance(listed_end, datetime) and _is_series(start, listed_end):
        extra["series_end"] = listed_end.isoformat()
    attendance = ATTENDANCE.get(_term(node.get("eventAttendanceMode")))
    raw = RawEvent(
        source=name,
        key=f"{own_url or page_url + '#' + title}@{start.isoformat()}",
        title=title,
        start=start,
        end=end,
        location=where.location,
        place=where.place,
        description=_plain(node.get("description")),
        url=own_url or page_url,
        organizer=organizer,
        organizer_url=organizer_url,
        mode=Mode.VIRTUAL if status == "EventMovedOnline" else attendance or where.mode,
        cancelled=status in GONE_STATUSES,
        extra=extra,
    )
    return raw, notes


def _when(node: Mapping[str, Any], key: str) -> date | datetime | None:
    value = node.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string: {value!r}")
    try:
        return parse_when(value)
    except ValueError as exc:
        raise ValueError(f"bad {key} {value!r}: {exc}") from None


def _exclusive_end(start: date | datetime, end: date | datetime | None) -> date | datetime | None:
    """The exclusive end RawEvent expects; ValueError when the listed end is before the start."""
    if end is None:
        return None
    if not isinstance(start, datetime):
        last = _day(end)
        if last < start:
            raise ValueError("before the startDate")
        return last + timedelta(days=1)
    if not isinstance(end, datetime):
        return None
    end = _align(start, end)
    if end <= start:
        raise ValueError("not after the startDate")
    if _is_series(start, end):
        # Eventbrite lists a recurring series as one Event whose endDate is its LAST occurrence, so a timed
        # event ending over 7 days after it starts is read as its first occurrence: it ends at the endDate's
        # wall-clock time on the start day (on the next day when that time is not after the start).
        same_day = datetime.combine(start.date(), end.time(), start.tzinfo)
        return same_day if same_day > start else same_day + timedelta(days=1)
    return end


def _is_series(start: datetime, end: datetime) -> bool:
    return _align(start, end) - start > SERIES_GAP


def _align(start: datetime, end: datetime) -> datetime:
    """An end comparable with the start: a floating one is read in the start's offset, and vice versa."""
    return end.replace(tzinfo=start.tzinfo) if (start.tzinfo is None) != (end.tzinfo is None) else end


@dataclass
class _Where:
    location: str = ""
    place: Place | None = None
    online_url: str = ""
    physical: bool = False
    virtual: bool = False

    @property
    def mode(self) -> Mode | None:
        """What the locations say when the event states no attendance mode."""
        if not self.virtual:
            return None
        return Mode.HYBRID if self.physical else Mode.VIRTUAL


def _where(value: Any, page_url: str) -> _Where:
    """The first physical location (Place, PostalAddress or text) and the first VirtualLocation."""
    where = _Where()
    for item in value if isinstance(value, list) else [value]:
        is_url = isinstance(item, str) and re.match(r"https?://", item.strip()) is not None
        if is_url or (isinstance(item, dict) and "VirtualLocation" in _types(item)):
            where.virtual = True
            where.online_url = where.online_url or _link(item if is_url else item.get("url"), page_url)
        elif not where.physical and (isinstance(item, dict) or _text(item)):
            where.physical = True
            where.location, where.place = _physical(item)
    return where


def _physical(item: dict[str, Any] | str) -> tuple[str, Place | None]:
    if isinstance(item, str):
        return _text(item), None
    is_address = "PostalAddress" in _types(item)
    address = item if is_address else item.get("address")
    venue = "" if is_address else _text(item.get("name"))
    city = state = country = ""
    if isinstance(address, dict):
        city, state = _text(address.get("addressLocality")), _text(address.get("addressRegion"))
        country = _country(address.get("addressCountry"))
        street, postcode = _text(address.get("streetAddress")), _text(address.get("postalCode"))
        parts = [street, city, postcode, state, country]
    else:
        parts = [_text(address)]
    latitude, longitude = _geo(item.get("geo"))
    place = Place(city=city, state=state, country=country, latitude=latitude, longitude=longitude)
    return _join([venue, *parts]), place if place or latitude is not None else None


def _join(parts: list[str]) -> str:
    """A one-line address without repeats: streets often already hold the venue, city or region."""
    seen: dict[str, str] = {}
    for part in parts:
        for piece in part.split(","):
            seen.setdefault(piece.strip().casefold(), piece.strip())
    return ", ".join(piece for piece in seen.values() if piece)


def _country(value: Any) -> str:
    if isinstance(value, list):
        return _country(value[0]) if value else ""
    if isinstance(value, dict):
        return _text(value.get("name")) or _text(value.get("identifier"))
    return _text(value)


def _geo(value: Any) -> tuple[float | None, float | None]:
    if not isinstance(value, dict):
        return None, None
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
    except (KeyError, TypeError, ValueError):
        return None, None
    if abs(latitude) <= 90 and abs(longitude) <= 180:
        return latitude, longitude
    return None, None


def _organizer(value: Any, page_url: str) -> tuple[str, str]:
    """The first Organization, else the first Person, else the first named organizer."""
    items = value if isinstance(value, list) else [value]
    named = [item for item in items if isinstance(item, dict) and _text(item.get("name"))]
    for wanted in ("Organization", "Person", None):
        for item in named:
            if wanted is None or wanted in _types(item):
                return _text(item["name"]), _link(item.get("url"), page_url)
    text = next((_text(item) for item in items if _text(item)), "")
    return text, ""


def _types(node: Mapping[str, Any]) -> list[str]:
    value = node.get("@type")
    return [_term(item) for item in (value if isinstance(value, list) else [value])]


def _term(value: Any) -> str:
    """`https://schema.org/EventCancelled`, `schema:EventCancelled` and `EventCancelled` are the same term."""
    if not isinstance(value, str):
        return ""
    return re.split(r"[/:#]", value.strip())[-1]


def _link(value: Any, page_url: str) -> str:
    """An absolute http(s) URL (relative ones resolved against the page), or ""."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), None)
    if not isinstance(value, str) or not value.strip() or value.startswith("_:"):
        return ""
    try:
        url = urljoin(page_url, html.unescape(value.strip()))
        scheme, host = urlsplit(url)[:2]
    except ValueError:
        return ""
    return url if scheme in ("http", "https") and host else ""


def _text(value: Any) -> str:
    return " ".join(html.unescape(value).split()) if isinstance(value, str) else ""


def _plain(value: Any) -> str:
    """Descriptions are often HTML (or entity-escaped text): keep the text and its paragraph breaks."""
    if not isinstance(value, str):
        return ""
    # Some sites escape twice (OutSavvy writes `Dating &amp;amp; relationships`).
    return html.unescape(html_text.extract_text(value)).strip()


def _label(node: Mapping[str, Any], index: int) -> str:
    title = _text(node.get("name"))
    return repr(title) if title else f"#{index}"


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _overlaps(raw: RawEvent, span: Span) -> bool:
    first = _day(raw.start)
    last = first
    if isinstance(raw.end, datetime):
        last = max(first, (raw.end - timedelta(microseconds=1)).date())
    elif raw.end is not None:
        last = max(first, raw.end - timedelta(days=1))
    return (first - span.end).days <= 1 and (span.start - last).days <= 1


def _charset(headers: Mapping[str, str]) -> str:
    """The charset the server declared, if Python knows it; UTF-8 otherwise."""
    message = Message()
    message["content-type"] = next((value for key, value in headers.items() if key.lower() == "content-type"), "")
    charset = message.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset
