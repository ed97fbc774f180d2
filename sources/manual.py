"""Events editors add by hand: a TOML file of `[[event]]` entries, each checked strictly on its own."""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.model import Mode, RawEvent
from aggregator.text import first_line
from aggregator.tomltable import ConfigError, Table
from sources.base import SourceError, SourceResult, Span
from sources.http import FetchError, Http, read_regular_file

MODES = tuple(mode.value for mode in Mode)


@dataclass
class ManualSource:
    """A TOML file of hand-written events, read from disk at every fetch."""

    name: str
    path: Path

    def fetch(self, http: Http, span: Span) -> SourceResult:
        try:
            text = read_regular_file(self.path).decode("utf-8")
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        except UnicodeDecodeError:
            raise SourceError(f"{self.path}: not UTF-8 text") from None
        return parse_manual(self.name, text, Path(self.path.name))


def from_config(name: str, table: Table, base: Path) -> ManualSource:
    path = table.str("path").strip()
    if not path:
        raise table.error("path", "must not be empty")
    return ManualSource(name=name, path=(base / path).resolve())


def parse_manual(name: str, text: str, file: Path) -> SourceResult:
    """Every valid `[[event]]` of a TOML text; SourceError when it is not TOML at all."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{file}: not valid TOML: {exc}") from None
    return read_events(name, data, file)


def read_events(name: str, data: Mapping[str, Any], file: Path) -> SourceResult:
    """The entries as raw events; each bad entry is a one-line warning naming the file, entry and key."""
    root = Table(data, file, "")
    try:
        entries = root.tables("event")
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    result = SourceResult()
    try:
        root.finish()
    except ConfigError as exc:
        result.warnings.append(f"{name}: {exc}")
    keys: set[str] = set()
    for entry in entries:
        try:
            raw = _raw_event(name, entry)
            entry.finish()
            if raw.key in keys:
                raise entry.error("id" if entry.has("id") else "url", f"duplicate id {raw.key!r}")
        except ConfigError as exc:
            result.warnings.append(f"{name}: {exc}")
            continue
        except (ValueError, TypeError, OverflowError) as exc:
            result.warnings.append(f"{name}: {file}: {entry.where}: {first_line(exc)}")
            continue
        keys.add(raw.key)
        result.events.append(raw)
    return result


def _raw_event(name: str, entry: Table) -> RawEvent:
    title = entry.str("title").strip()
    if not title:
        raise entry.error("title", "must not be empty")
    url = _http_url(entry, "url", required=True)
    organizer_url = _http_url(entry, "organizer_url", required=False)
    zone = entry.str("timezone", "").strip()
    if zone and zone not in _zone_names():
        raise entry.error("timezone", f"unknown IANA time zone {zone!r}")
    place = entry.str("place", "").strip()
    start, end = _times(entry, zone, place)
    ident = entry.str("id", "").strip() if entry.has("id") else _slug(url, start)
    if not ident:
        raise entry.error("id", "must not be empty")
    return RawEvent(
        source=name,
        key=ident,
        title=title,
        start=start,
        end=end,
        timezone=zone,
        location=place,
        description=entry.str("description", "").strip(),
        url=url,
        organizer=entry.str("organizer", "").strip(),
        organizer_url=organizer_url,
        mode=Mode(entry.choice("mode", MODES, Mode.IN_PERSON.value)),
    )


def _times(entry: Table, zone: str, place: str) -> tuple[date | datetime, date | datetime | None]:
    """Start and exclusive end: an inclusive last day becomes the next day; local times get the zone."""
    start = entry.when("start")
    end = entry.when("end", None)
    if not isinstance(start, datetime):
        if isinstance(end, datetime):
            raise entry.error("end", "must be a date like start, or make start a date-time")
        if end is None:
            return start, None
        if end < start:
            raise entry.error("end", f"{end} is before start {start}")
        if end == date.max:
            raise entry.error("end", "date out of range")
        return start, end + timedelta(days=1)
    if end is not None and not isinstance(end, datetime):
        raise entry.error("end", "must be a date-time like start, or make start a date")
    where = zoneinfo.ZoneInfo(zone) if zone else None
    start = _localized(entry, "start", start, where)
    if start.tzinfo is None and not place:
        raise entry.error("start", "a local date-time needs a timezone (or a place to take it from)")
    if end is None:
        return start, None
    end = _localized(entry, "end", end, where)
    if (end.tzinfo is None) != (start.tzinfo is None):
        raise entry.error("end", "give start and end both an offset, or neither")
    if end <= start:
        raise entry.error("end", f"{end.isoformat()} is not after start {start.isoformat()}")
    return start, end


def _localized(entry: Table, key: str, value: datetime, zone: tzinfo | None) -> datetime:
    """A local date-time is read in the zone; an offset date-time must agree with it."""
    if zone is None:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    try:
        agrees = value.astimezone(zone).utcoffset() == value.utcoffset()
    except OverflowError:
        raise entry.error(key, "date-time out of range") from None
    if not agrees:
        raise entry.error(key, f"offset of {value.isoformat()} is not that of {zone} on that day")
    return value


def _http_url(entry: Table, key: str, *, required: bool) -> str:
    """An absolute http(s) URL; an optional key may be missing or empty."""
    value = (entry.str(key) if required else entry.str(key, "")).strip()
    if not value and not required:
        return ""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:
        valid = False
    if not valid:
        raise entry.error(key, f"expected an http(s) URL, got {value!r}")
    return value


def _slug(url: str, start: date | datetime) -> str:
    """A readable id that stays the same while the entry's URL and start do."""
    when = start.strftime("%Y-%m-%dT%H%M" if isinstance(start, datetime) else "%Y-%m-%d")
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return re.sub(r"[^a-z0-9]+", "-", f"{bare} {when}".lower()).strip("-")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
