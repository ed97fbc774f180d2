"""The editors' curation file: drop, patch and place events, and record decisions on possible duplicates.

Stages run in a fixed order, each rule matching the events as the stage before left them: `exclude` (as the
sources said), `group`, `patch`, then `same`. Rules are numbered from 0 in every message, as in TOML paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator import places
from aggregator.labels import place_label
from aggregator.merge import combine
from aggregator.model import Event, Mode, Place
from aggregator.tomltable import ConfigError, Table, read_toml
from aggregator.urls import canonical_url, display_url, organizer_url_for, safe_url

MODES = tuple(mode.value for mode in Mode)
SET_FIELDS = ("place", "mode", "title", "organizer", "organizer_url", "url", "start", "end")
# What a patch or group setting can change, in the order change reports list them.
CHANGEABLE = ("title", "organizer", "organizer_url", "url", "mode", "place", "timezone", "start", "end")
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Match:
    """Which events a rule picks: every criterion given must hold; links match in any spelling."""

    url: str = ""
    organizer: str = ""
    title: re.Pattern[str] | None = None
    day: date | None = None

    def __call__(self, event: Event) -> bool:
        if self.url and canonical_url(event.url) != canonical_url(self.url):
            return False
        if self.organizer and not _by_organizer(event, self.organizer):
            return False
        if self.title is not None and not self.title.search(event.title):
            return False
        return self.day is None or event.first_day == self.day

    def describe(self) -> str:
        parts = [f"url {self.url}"] if self.url else []
        parts += [f"organizer {self.organizer!r}"] if self.organizer else []
        parts += [f"title /{self.title.pattern}/"] if self.title is not None else []
        parts += [f"date {self.day.isoformat()}"] if self.day is not None else []
        return ", ".join(parts)


@dataclass(frozen=True)
class Exclude:
    """Drop the events a match picks."""

    label: str
    match: Match
    reason: str = ""


@dataclass(frozen=True)
class Changes:
    """The fields a patch sets; None or "" leaves a field as it is."""

    place: Place | None = None
    mode: Mode | None = None
    title: str = ""
    organizer: str = ""
    organizer_url: str = ""
    url: str = ""
    start: date | datetime | None = None
    end: date | datetime | None = None


@dataclass(frozen=True)
class Patch:
    """Set fields of the events a match picks."""

    label: str
    match: Match
    changes: Changes


@dataclass(frozen=True)
class Group:
    """A group's home place and organizer name, for every event whose organizer link is the group's."""

    where: str
    label: str
    url: str
    place: Place | None = None
    name: str = ""


@dataclass(frozen=True)
class Decision:
    """Events (by canonical link) that an editor judged to be one event (`same`) or different ones (`distinct`)."""

    where: str
    label: str
    urls: tuple[str, ...]


@dataclass
class CurationResult:
    """The curated events and what curation did, for the run's report."""

    events: list[Event]
    excluded: list[tuple[Event, str]] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    unused_rules: list[str] = field(default_factory=list)


@dataclass
class _Usage:
    matched: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Curation:
    """Every rule of a curation file; the default has none and changes nothing."""

    excludes: tuple[Exclude, ...] = ()
    groups: tuple[Group, ...] = ()
    patches: tuple[Patch, ...] = ()
    same: tuple[Decision, ...] = ()
    distinct: tuple[Decision, ...] = ()

    @classmethod
    def empty(cls) -> Curation:
        return cls()

    def apply(self, events: Sequence[Event]) -> CurationResult:
        """Exclude, set group places and names, patch, then merge what editors judged the same."""
        usage = _Usage()
        result = CurationResult(events=[])
        for event in events:
            hits = [rule for rule in self.excludes if rule.match(event)]
            usage.matched.update(rule.label for rule in hits)
            if hits:
                reason = f"{hits[0].label}: {hits[0].reason}" if hits[0].reason else hits[0].label
                result.excluded.append((event, reason))
            else:
                result.events.append(self._patched(event, usage, result.patched))
        for decision in self.same:
            result.events = _merge_same(decision, result.events, usage, result.excluded)
        present = {canonical_url(event.url) for event in result.events}
        usage.matched.update(d.label for d in self.distinct if len(present.intersection(d.urls)) >= 2)
        result.unused_rules = self._unused(usage)
        return result

    def decided(self, first_url: str, second_url: str) -> bool:
        """True when a `same` or `distinct` rule covers both links, so the pair needs no report."""
        first, second = canonical_url(first_url), canonical_url(second_url)
        if not first or not second:
            return False
        return any(first in d.urls and second in d.urls for d in (*self.same, *self.distinct))

    def _patched(self, event: Event, usage: _Usage, lines: list[str]) -> Event:
        for group in self.groups:
            if group.url in _organizer_links(event):
                event = _record(group.label, event, _settle(event, group), usage, lines)
        # Patches match the event as group settings left it, so their order never decides what they pick.
        matching = event
        for patch in self.patches:
            if patch.match(matching):
                event = _record(patch.label, event, _change(event, patch.changes), usage, lines)
        return event

    def _unused(self, usage: _Usage) -> list[str]:
        lines = []
        rules: list[Exclude | Group | Patch | Decision] = [*self.excludes, *self.groups, *self.patches]
        for rule in [*rules, *self.same, *self.distinct]:
            if rule.label not in usage.matched:
                lines.append(f"{rule.label} matched nothing")
            elif isinstance(rule, Group | Patch) and rule.label not in usage.changed:
                lines.append(f"{rule.label} changed nothing")
        return lines


def _record(label: str, before: Event, after: Event, usage: _Usage, lines: list[str]) -> Event:
    usage.matched.add(label)
    changed = [name for name in CHANGEABLE if getattr(before, name) != getattr(after, name)]
    if changed:
        usage.changed.add(label)
        lines.append(f"{label}: {before.key} {before.title!r}: set {', '.join(changed)}")
    return after


def _organizer_links(event: Event) -> set[str]:
    """Canonical links of the event's organizer: its own, and the one its event link implies (a meetup group)."""
    links = {canonical_url(event.organizer_url), canonical_url(organizer_url_for(event.url))}
    links.discard("")
    return links


def _by_organizer(event: Event, organizer: str) -> bool:
    link = canonical_url(organizer)
    if link:
        return link in _organizer_links(event)
    return _fold(event.organizer) == _fold(organizer)


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


def _settle(event: Event, group: Group) -> Event:
    if group.place is not None and (not event.place or event.mode is Mode.VIRTUAL):
        event = _placed(event, group.place)
    return replace(event, organizer=group.name) if group.name else event


def _change(event: Event, changes: Changes) -> Event:
    if changes.place is not None:
        event = _placed(event, changes.place)
    fields: dict[str, Any] = {
        name: getattr(changes, name)
        for name in ("mode", "title", "organizer", "organizer_url", "url")
        if getattr(changes, name)
    }
    if changes.start is not None:
        fields["start"], fields["end"] = _dates(event, changes.start, changes.end)
    return replace(event, **fields)


def _placed(event: Event, place: Place) -> Event:
    """The event at a new place; its dates follow the place's zone, keeping the same instants."""
    zone = _zone(place.timezone)
    if zone is None:
        return replace(event, place=place)
    return replace(
        event, place=place, timezone=place.timezone, start=_in_zone(event.start, zone), end=_in_zone(event.end, zone)
    )


def _dates(event: Event, start: date | datetime, end: date | datetime | None) -> tuple[date, date]:
    """New (start, exclusive end): a date makes an all-day event, a date-time is read in the event's zone.

    Without an end, the event keeps its length (in days when all-day).
    """
    if not isinstance(start, datetime):
        last = end if end is not None else start + (event.last_day - event.first_day if event.all_day else timedelta())
        return start, last + timedelta(days=1)
    zone = _zone(event.timezone) or _UTC
    local_start = _in_zone(start, zone)
    if isinstance(end, datetime):
        return local_start, _in_zone(end, zone)
    return local_start, local_start + _duration(event)


def _duration(event: Event) -> timedelta:
    start, end = event.start, event.end
    if (
        not isinstance(start, datetime)
        or not isinstance(end, datetime)
        or (start.tzinfo is None) != (end.tzinfo is None)
    ):
        return timedelta()
    return max(end - start, timedelta())


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _in_zone(value: date, zone: ZoneInfo) -> date:
    if not isinstance(value, datetime):
        return value
    # A local (floating) time is wall-clock time at the event, as in normalization.
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def _merge_same(
    decision: Decision, events: list[Event], usage: _Usage, excluded: list[tuple[Event, str]]
) -> list[Event]:
    """Fold the decision's events into the first of its links that is present, one cluster per day they share."""
    rank = {url: index for index, url in enumerate(decision.urls)}
    picked = sorted(
        (i for i, e in enumerate(events) if canonical_url(e.url) in rank),
        key=lambda i: rank[canonical_url(events[i].url)],
    )
    clusters: list[list[int]] = []
    for index in picked:
        home = next((c for c in clusters if _days_meet(events[c[0]], events[index])), None)
        if home is None:
            clusters.append([index])
        else:
            home.append(index)
    kept = list(events)
    dropped: set[int] = set()
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        usage.matched.add(decision.label)
        first = events[cluster[0]]
        # The editor named which link stays; combine() alone might prefer another.
        kept[cluster[0]] = replace(combine([events[i] for i in cluster]), url=first.url)
        for index in cluster[1:]:
            dropped.add(index)
            excluded.append((events[index], f"{decision.label}: same event as {first.url or first.key}"))
    return [event for index, event in enumerate(kept) if index not in dropped]


def _days_meet(a: Event, b: Event) -> bool:
    return a.first_day <= b.last_day and b.first_day <= a.last_day


def load_curation(path: Path) -> Curation:
    """Read and validate a curation file; raise ConfigError with a one-line message on any problem."""
    data = read_toml(path)
    return parse_curation(data, path)


def parse_curation(data: Mapping[str, Any], file: Path) -> Curation:
    """Validate already-parsed TOML; `file` names the source in error messages."""
    root = Table(data, file, "")
    excludes = tuple(_exclude(table) for table in root.tables("exclude"))
    groups = tuple(_group(table) for table in root.tables("group"))
    patches = tuple(_patch(table) for table in root.tables("patch"))
    same = tuple(_decision(table) for table in root.tables("same"))
    distinct = tuple(_decision(table) for table in root.tables("distinct"))
    root.finish()
    _check_groups(groups, file)
    _check_decisions(same, distinct, file)
    return Curation(excludes, groups, patches, same, distinct)


def _rule_error(table: Table, what: str) -> ConfigError:
    return ConfigError(f"{table.file}: {table.where}: {what}")


def _exclude(table: Table) -> Exclude:
    match = _match(table)
    reason = table.str("reason", "").strip()
    table.finish()
    return Exclude(f"{table.where} ({match.describe()})", match, reason)


def _patch(table: Table) -> Patch:
    match = _match(table)
    changes = _changes(table.table("set"))
    table.finish()
    return Patch(f"{table.where} ({match.describe()})", match, changes)


def _group(table: Table) -> Group:
    url = _url(table, "url")
    place = _place(table, "place") if table.has("place") else None
    name = _text(table, "name") if table.has("name") else ""
    table.finish()
    if place is None and not name:
        raise _rule_error(table, "sets neither place nor name")
    return Group(table.where, f"{table.where} (url {url})", canonical_url(url), place, name)


def _decision(table: Table) -> Decision:
    urls = table.strings("urls")
    table.finish()
    if len(urls) < 2:
        raise table.error("urls", f"expected at least two links, got {len(urls)}")
    canonical: list[str] = []
    for index, url in enumerate(urls):
        link = canonical_url(url)
        if not link:
            raise table.error(f"urls[{index}]", f"expected an http(s) URL, got {url!r}")
        if link in canonical:
            raise table.error(f"urls[{index}]", f"same link as urls[{canonical.index(link)}]: {url!r}")
        canonical.append(link)
    return Decision(table.where, f"{table.where} ({', '.join(urls)})", tuple(canonical))


def _match(table: Table) -> Match:
    url = _url(table, "url") if table.has("url") else ""
    organizer = _text(table, "organizer") if table.has("organizer") else ""
    if not url and not organizer:
        raise _rule_error(table, "needs a url or an organizer to say which events it is for")
    return Match(
        url=url,
        organizer=organizer,
        title=_regex(table, "title") if table.has("title") else None,
        day=_day(table, "date") if table.has("date") else None,
    )


def _changes(table: Table) -> Changes:
    unknown = sorted(set(table.data) - set(SET_FIELDS))
    if unknown:
        raise table.error(unknown[0], f"no such field (known: {', '.join(SET_FIELDS)})")
    if not table.data:
        raise _rule_error(table, "sets no field")
    start = table.when("start") if table.has("start") else None
    end = table.when("end") if table.has("end") else None
    if end is not None:
        _check_end(table, start, end)
    return Changes(
        place=_place(table, "place") if table.has("place") else None,
        mode=Mode(table.choice("mode", MODES)) if table.has("mode") else None,
        title=_text(table, "title") if table.has("title") else "",
        organizer=_text(table, "organizer") if table.has("organizer") else "",
        organizer_url=display_url(_url(table, "organizer_url")) if table.has("organizer_url") else "",
        url=display_url(_url(table, "url")) if table.has("url") else "",
        start=start,
        end=end,
    )


def _kind(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        return "a date"
    return "a local date-time" if value.tzinfo is None else "a date-time with offset"


def _check_end(table: Table, start: date | datetime | None, end: date | datetime) -> None:
    if start is None:
        raise table.error("end", "needs a start in the same set")
    if _kind(start) != _kind(end):
        raise table.error("end", f"expected {_kind(start)} like start, got {end.isoformat()}")
    # Same kind on both sides: dates with dates, aware with aware, naive with naive.
    if end < start:
        raise table.error("end", f"{end.isoformat()} is before start {start.isoformat()}")


def _text(table: Table, key: str) -> str:
    value = table.str(key).strip()
    if not value:
        raise table.error(key, "must not be empty")
    return value


def _url(table: Table, key: str) -> str:
    value = table.str(key).strip()
    if not safe_url(value):
        raise table.error(key, f"expected an http(s) URL, got {value!r}")
    return value


def _regex(table: Table, key: str) -> re.Pattern[str]:
    value = table.str(key)
    try:
        return re.compile(value)
    except re.error as exc:
        raise table.error(key, f"bad regular expression {value!r}: {exc}") from None


def _day(table: Table, key: str) -> date:
    value = table.when(key)
    if isinstance(value, datetime):
        raise table.error(key, f"expected a date without a time, got {value.isoformat()}")
    return value


def _place(table: Table, key: str) -> Place:
    text = table.str(key)
    hint = "write 'City, CC' (e.g. 'Potsdam, DE', 'Austin, TX, US')"
    place = places.resolve(text)
    if place is None or not place.city:
        raise table.error(key, f"cannot resolve {text!r} to a city; {hint}")
    # The resolver forgives a wrong state or country (`Charlottesville, NC, US` is in VA); an editor's text must not.
    for part in (part.strip() for part in text.split(",")[1:]):
        if part.upper() != place.state and places.country_code(part) != place.country:
            label = place_label(place, (place.country,))
            raise table.error(key, f"{text!r} reads as {label!r}, where {part!r} does not fit; {hint}")
    return place


def _check_groups(groups: Sequence[Group], file: Path) -> None:
    seen: dict[str, str] = {}
    for group in groups:
        if group.url in seen:
            raise ConfigError(f"{file}: {group.where}: same group as {seen[group.url]}")
        seen[group.url] = group.where


def _check_decisions(same: Sequence[Decision], distinct: Sequence[Decision], file: Path) -> None:
    for one in same:
        for other in distinct:
            common = [url for url in one.urls if url in other.urls]
            if len(common) >= 2:
                raise ConfigError(f"{file}: {one.where}, {other.where}: both decide on {common[0]} and {common[1]}")
