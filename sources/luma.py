"""Luma calendars: the public JSON API (events keep their own zone), falling back to the calendar ICS.

Besides the usual fields, events may carry two ``extra`` keys for the merge step:
``extra["platform"] == "external"`` marks an event of another platform (e.g. meetup.com) cross-listed on the
calendar, with that platform's URL; ``extra["cross_listed"] == "1"`` marks a Luma event owned by another calendar.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from aggregator.model import Mode, Place, RawEvent
from aggregator.text import first_line
from aggregator.tomltable import Table
from sources.base import SourceError, SourceResult, Span
from sources.http import FetchError, Http
from sources.ics import read_calendar

DEFAULT_API_URL = "https://api.lu.ma"
PAGE_SIZE = 50
MAX_PAGES = 20
METHODS = ("auto", "api", "ics")

# bdillo/twir-events-lint's list of Luma location types; the others are "offline", "unknown" and "missing".
ONLINE_TYPES = frozenset({"zoom", "meet", "discord", "twitch", "twitter", "youtube"})
# Join-link fields of Luma event objects (as in its public API); an offline event with one is hybrid.
MEETING_LINK_FIELDS = ("meeting_url", "zoom_meeting_url")

_CALENDAR_ID = re.compile(r"cal-[A-Za-z0-9]+")
_URL = re.compile(r"https?://[^\s<>\"']+")
_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


@dataclass
class LumaSource:
    """One Luma calendar, read through its JSON API or its ICS feed."""

    name: str
    url: str
    calendar_id: str
    api_url: str = DEFAULT_API_URL
    method: str = "auto"

    def fetch(self, http: Http, span: Span) -> SourceResult:
        if self.method == "ics":
            return self._fetch_ics(http, span)
        try:
            return self._fetch_api(http, span)
        except SourceError as exc:
            if self.method == "api":
                raise
            api_error = str(exc)
        try:
            result = self._fetch_ics(http, span)
        except SourceError as exc:
            raise SourceError(f"{api_error}; ICS fallback failed too: {exc}") from None
        result.warnings.insert(0, f"{self.name}: {api_error}; read the calendar ICS instead (no event time zones)")
        return result

    def _fetch_api(self, http: Http, span: Span) -> SourceResult:
        result = SourceResult()
        seen: set[str] = set()
        cursors: set[str] = set()
        cursor = ""
        listed = 0
        problems: list[str] = []
        for page in range(1, MAX_PAGES + 1):
            entries, cursor = self._api_page(http, page, cursor)
            listed += len(entries)
            for entry in entries:
                problem = self._add_entry(entry, span, seen, result)
                if problem:
                    problems.append(problem)
            if not cursor:
                break
            if cursor in cursors:
                result.warnings.append(f"{self.name}: Luma API repeated page cursor {cursor!r}; stopped paging")
                break
            cursors.add(cursor)
        else:
            result.warnings.append(f"{self.name}: Luma API has more than {MAX_PAGES} pages; read only those")
        if listed and not seen:
            raise SourceError(f"Luma API: none of its {listed} entries could be read ({problems[0]})")
        result.warnings.extend(f"{self.name}: skipped Luma {problem}" for problem in problems)
        return result

    def _api_page(self, http: Http, page: int, cursor: str) -> tuple[list[Any], str]:
        """One page's entries and the cursor of the next page ("" when it is the last)."""
        params = {"calendar_api_id": self.calendar_id, "period": "future", "pagination_limit": str(PAGE_SIZE)}
        if cursor:
            params["pagination_cursor"] = cursor
        try:
            body = http.get(f"{self.api_url}/calendar/get-items", params=params).text
        except FetchError as exc:
            raise SourceError(f"Luma API: {exc}") from None
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise SourceError(f"Luma API page {page}: not JSON ({exc.msg} at line {exc.lineno})") from None
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise SourceError(f"Luma API page {page}: no entries list in the response ({_describe(data)})")
        next_cursor = data.get("next_cursor")
        if not data.get("has_more"):
            return entries, ""
        if not isinstance(next_cursor, str) or not next_cursor.strip():
            raise SourceError(f"Luma API page {page}: has_more is set but next_cursor is missing")
        return entries, next_cursor

    def _add_entry(self, entry: Any, span: Span, seen: set[str], result: SourceResult) -> str:
        """Add the entry's event if it is in the span; return what was wrong with it, if anything."""
        try:
            raw = self._api_event(entry)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            return f"entry {_entry_id(entry)}: {first_line(exc)}"
        if raw.key not in seen and _overlaps(raw, span):
            result.events.append(raw)
        seen.add(raw.key)
        return ""

    def _api_event(self, entry: Any) -> RawEvent:
        if not isinstance(entry, dict) or not isinstance(entry.get("event"), dict):
            raise ValueError("no event object")
        event: dict[str, Any] = entry["event"]
        calendar = _mapping(entry.get("calendar"))
        key = _text(event, "api_id") or _text(entry, "api_id")
        if not key:
            raise ValueError("no api_id")
        title = _text(event, "name").strip()
        if not title:
            raise ValueError("no name")
        zone_name = _text(event, "timezone") or _text(calendar, "timezone")
        start, zone_name = _localize(_utc(event, "start_at"), zone_name)
        end: datetime | None
        if event.get("end_at"):
            end = _localize(_utc(event, "end_at"), zone_name)[0]
        elif event.get("duration_interval"):
            end = start + _duration(_text(event, "duration_interval"))
        else:
            end = None
        external = entry.get("platform") == "external"
        owner = _text(event, "calendar_api_id")
        cross_listed = bool(owner) and owner != self.calendar_id
        extra = {"platform": "external"} if external else {}
        if cross_listed:
            extra["cross_listed"] = "1"
        location, place = _api_place(event)
        return RawEvent(
            source=self.name,
            key=key,
            title=title,
            start=start,
            end=end,
            timezone=zone_name,
            location=location,
            place=place,
            url=_event_url(_text(event, "url"), key),
            organizer=(_text(event, "host") if external else _text(calendar, "name")).strip(),
            organizer_url=self._organizer_url(calendar, external, cross_listed),
            mode=_api_mode(event),
            extra=extra,
        )

    def _organizer_url(self, calendar: Mapping[str, Any], external: bool, cross_listed: bool) -> str:
        if external:
            return ""
        if not cross_listed:
            return luma_page(self.url)
        slug = _text(calendar, "slug")
        if slug:
            return f"https://luma.com/{slug}"
        owner = _text(calendar, "api_id")
        return f"https://luma.com/calendar/{owner}" if owner else ""

    def _fetch_ics(self, http: Http, span: Span) -> SourceResult:
        url = f"{self.api_url}/ics/get"
        try:
            body = http.get(url, params={"entity": "calendar", "id": self.calendar_id}).content
        except FetchError as exc:
            raise SourceError(f"Luma ICS: {exc}") from None
        try:
            calendar = read_calendar(self.name, body)
        except SourceError as exc:
            raise SourceError(f"Luma ICS: {exc}") from None
        calendar_name = str(calendar.get("X-WR-CALNAME", "")).strip()
        result = SourceResult()
        for component in calendar.events:
            try:
                raw = self._ics_event(component, calendar_name)
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                uid = component.get("UID", "?")
                result.warnings.append(f"{self.name}: skipped Luma ICS event {uid}: {first_line(exc)}")
                continue
            if _overlaps(raw, span):
                result.events.append(raw)
        return result

    def _ics_event(self, event: icalendar.Event, calendar_name: str) -> RawEvent:
        uid = str(event.get("UID", "")).strip()
        if not uid:
            raise ValueError("no UID")
        description = str(event.get("DESCRIPTION", ""))
        location = str(event.get("LOCATION", "")).strip()
        link = _URL.search(description)
        page = luma_page(link.group(0)) if link else ""
        # Cross-listed entries (calev- UIDs) belong to another platform, whose page is given as LOCATION.
        external = uid.startswith("calev-")
        location_is_url = bool(_URL.fullmatch(location))
        geo = event.get("GEO")
        place = Place(latitude=geo.latitude, longitude=geo.longitude) if isinstance(geo, icalendar.vGeo) else None
        return RawEvent(
            source=self.name,
            key=uid.split("@", 1)[0],
            title=html.unescape(str(event.get("SUMMARY", ""))).strip(),
            start=event.start,
            end=event.end,
            location="" if location_is_url else location,
            place=place,
            description=description,
            url=location if external and location_is_url else page,
            organizer=_organizer_name(event) if external else calendar_name,
            organizer_url="" if external else luma_page(self.url),
            cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
            extra={"platform": "external"} if external else {},
        )


def from_config(name: str, table: Table, base: Path) -> LumaSource:
    url = table.str("url")
    if urlsplit(url).scheme not in ("http", "https"):
        raise table.error("url", f"expected the calendar's http(s) page, got {url!r}")
    derived = re.search(r"/calendar/(cal-[A-Za-z0-9]+)", url)
    calendar_id = derived.group(1) if derived and not table.has("calendar_id") else table.str("calendar_id")
    if not _CALENDAR_ID.fullmatch(calendar_id):
        raise table.error("calendar_id", f"expected a Luma calendar id like cal-YjQVtnwkdU40fBI, got {calendar_id!r}")
    api_url = table.str("api_url", DEFAULT_API_URL).rstrip("/")
    if urlsplit(api_url).scheme not in ("http", "https"):
        raise table.error("api_url", f"expected an http(s) URL, got {api_url!r}")
    method = table.choice("method", METHODS, "auto")
    return LumaSource(name=name, url=url, calendar_id=calendar_id, api_url=api_url, method=method)


def luma_page(url: str) -> str:
    """A Luma page address as TWiR prints it: https on luma.com (lu.ma redirects there), no trailing slash."""
    parts = urlsplit(url)
    if parts.hostname not in ("lu.ma", "www.lu.ma", "luma.com", "www.luma.com"):
        return url
    return urlunsplit(("https", "luma.com", parts.path.rstrip("/"), parts.query, ""))


def _api_place(event: Mapping[str, Any]) -> tuple[str, Place | None]:
    """The free-text address (only when Luma shows it) and the structured place."""
    geo = _mapping(event.get("geo_address_info"))
    coordinate = _mapping(event.get("coordinate"))
    latitude, longitude = _number(coordinate, "latitude"), _number(coordinate, "longitude")
    has_point = latitude is not None and longitude is not None
    city = _text(geo, "city") or _text(geo, "city_state").split(",")[0].strip()
    place = Place(
        city=city,
        state=_text(geo, "region_short") or _text(geo, "region"),
        country=_text(geo, "country_code") or _text(geo, "country"),
        latitude=latitude if has_point else None,
        longitude=longitude if has_point else None,
    )
    location = (_text(geo, "full_address") or _text(geo, "address")) if geo.get("mode") == "shown" else ""
    return location, place if place or has_point else None


def _api_mode(event: Mapping[str, Any]) -> Mode | None:
    kind = _text(event, "location_type")
    if kind == "offline":
        return Mode.HYBRID if any(_text(event, field) for field in MEETING_LINK_FIELDS) else Mode.IN_PERSON
    return Mode.VIRTUAL if kind in ONLINE_TYPES else None


def _event_url(value: str, key: str) -> str:
    if value.startswith(("http://", "https://")):
        return luma_page(value)
    if value:
        return f"https://luma.com/{value.strip('/')}"
    return f"https://luma.com/event/{key}" if key.startswith("evt-") else ""


def _utc(event: Mapping[str, Any], field: str) -> datetime:
    value = _text(event, field)
    if not value:
        raise ValueError(f"no {field}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} is not an ISO date-time: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{field} has no UTC offset: {value!r}")
    return moment


def _localize(moment: datetime, zone_name: str) -> tuple[datetime, str]:
    """The moment in the event's own zone, and that zone's name ("" when Luma gave none we know)."""
    try:
        return moment.astimezone(ZoneInfo(zone_name)), zone_name
    except (ZoneInfoNotFoundError, ValueError):
        return moment, ""


def _duration(value: str) -> timedelta:
    match = _DURATION.fullmatch(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(f"duration_interval is not an ISO 8601 duration: {value!r}")
    parts = {name: float(number or 0) for name, number in match.groupdict().items()}
    years, months = parts.pop("years"), parts.pop("months")
    if years or months:
        raise ValueError(f"duration_interval in years or months is ambiguous: {value!r}")
    return timedelta(**parts)


def _organizer_name(event: icalendar.Event) -> str:
    organizer = event.get("ORGANIZER")
    return str(organizer.params.get("CN", "")).strip() if organizer is not None else ""


def _overlaps(raw: RawEvent, span: Span) -> bool:
    """Whether the event touches the span, give or take a day for zone shifts."""
    first = _day(raw.start)
    last = _day(raw.end) if raw.end is not None else first
    return first <= span.end + timedelta(days=1) and max(first, last) >= span.start - timedelta(days=1)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _entry_id(entry: Any) -> str:
    fields = _mapping(entry)
    return _text(_mapping(fields.get("event")), "api_id") or _text(fields, "api_id") or "?"


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        message = data.get("message") or data.get("error")
        if isinstance(message, str) and message.strip():
            return f"message: {message.strip().splitlines()[0]}"
        return f"keys: {', '.join(sorted(data)[:6]) or 'none'}"
    return f"got a JSON {type(data).__name__}"
