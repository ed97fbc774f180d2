"""meetup.com groups: the events page's Apollo state (or JSON-LD), the group iCal feed, or the gql-ext API."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import icalendar

from aggregator.model import Mode, Place, RawEvent
from aggregator.text import first_line
from aggregator.tomltable import Table
from sources import jsonld
from sources.base import SourceError, SourceResult, Span
from sources.http import FetchError, Http
from sources.ics import parse_calendar, read_calendar

METHODS = ("auto", "page", "ical", "api")
DEFAULT_API_URL = "https://api.meetup.com/gql-ext"
DEFAULT_OAUTH_URL = "https://secure.meetup.com/oauth2/access"
DEFAULT_MAX_WAIT = 60.0
PAGE_SIZE = 50
MAX_PAGES = 20
SLACK = timedelta(days=1)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 120
DEFAULT_TOKEN_LIFETIME = 3600

_LOCALE = re.compile(r"[a-z]{2}(?:-[a-z]{2})?", re.IGNORECASE)
_ICAL_UID = re.compile(r"event_([^@]+)@meetup\.com", re.IGNORECASE)
_EVENT_LINK = re.compile(r"/events/([^/?#]+)")
_MODES = {"PHYSICAL": Mode.IN_PERSON, "ONLINE": Mode.VIRTUAL, "HYBRID": Mode.HYBRID}
_CANCELLED = {"CANCELLED", "CANCELLED_PERM", "AUTOSCHED_CANCELLED"}
# Meetup files every online event under one made-up venue in the Pacific (Tuvalu).
_ONLINE_VENUE = (-8.521147, 179.1962)

# The date range goes in as literals: our references never show the scalar type the filter expects.
_EVENTS_QUERY = """
query ($urlname: String!, $after: String) {
  groupByUrlname(urlname: $urlname) {
    name urlname city state country timezone
    events(first: %(first)d, after: $after, sort: ASC, filter: {afterDateTime: %(since)s, beforeDateTime: %(until)s}) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        id title eventUrl description dateTime endTime eventType status
        venues { name address city state country lat lon venueType }
      } }
    }
  }
}
"""

# Access tokens from the JWT exchange, shared by every group of a run: (token, monotonic expiry), or the
# exchange's failure and until when it stands. The lock makes the groups' threads wait for one exchange.
_TOKENS: dict[tuple[str, str, str], tuple[str | SourceError, float]] = {}
_TOKENS_LOCK = threading.Lock()
# A failed exchange is not retried by every group of the run; a later run (or this one, after this long) tries again.
FAILED_EXCHANGE_SECONDS = 300.0


class GroupNotFoundError(SourceError):
    """The group does not exist (any more): no other method can help."""


class NoEventsDataError(SourceError):
    """The events page carries no event data we can read; the iCal feed may still work."""


@dataclass(frozen=True)
class GroupUrl:
    """A group's address; every URL the source reads is built from it, so tests can point it at a local server."""

    scheme: str
    host: str
    urlname: str

    @classmethod
    def parse(cls, url: str) -> GroupUrl:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) meetup group URL, got {url!r}")
        urlname = _urlname(parts.path)
        if not urlname:
            raise ValueError(f"no group name in {url!r} (expected https://www.meetup.com/<group>/)")
        return cls(parts.scheme, parts.netloc.lower(), urlname)

    @property
    def home(self) -> str:
        return f"{self.scheme}://{self.host}/{self.urlname}"

    @property
    def page_url(self) -> str:
        return f"{self.home}/events/"

    @property
    def ical_url(self) -> str:
        return f"{self.home}/events/ical/"

    def owns(self, link: str) -> bool:
        """False for a link to another group's event (pages also cache events they suggest)."""
        return _link_group(link) in ("", self.urlname)


def _link_group(link: str) -> str:
    return _urlname(urlsplit(link).path)


def _urlname(path: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) >= 2 and _LOCALE.fullmatch(segments[0]) and segments[1].lower() != "events":
        segments = segments[1:]
    return segments[0].lower() if segments else ""


@dataclass(frozen=True)
class Credentials:
    """A ready bearer token, or what it takes to sign a JWT and exchange it for one."""

    access_token: str = ""
    client_key: str = ""
    member_id: str = ""
    signing_key_id: str = ""
    private_key: str = ""
    private_key_path: str = ""


def credentials_from_env(env: Mapping[str, str]) -> tuple[Credentials | None, list[str]]:
    """The API credentials the environment holds, else None and the variables missing from a partial set.

    MEETUP_PRIVATE_KEY holds the PEM text; like this-week-in-rust's tool it may also hold a path to it.
    """
    token = env.get("MEETUP_ACCESS_TOKEN", "").strip()
    if token:
        return Credentials(access_token=token), []
    found = Credentials(
        client_key=env.get("MEETUP_CLIENT_KEY", "").strip(),
        member_id=(env.get("MEETUP_MEMBER_ID") or env.get("MEETUP_AUTHORIZED_MEMBER_ID", "")).strip(),
        signing_key_id=env.get("MEETUP_SIGNING_KEY_ID", "").strip(),
        private_key=env.get("MEETUP_PRIVATE_KEY", "").strip(),
        private_key_path=env.get("MEETUP_PRIVATE_KEY_PATH", "").strip(),
    )
    required = {
        "MEETUP_CLIENT_KEY": found.client_key,
        "MEETUP_MEMBER_ID": found.member_id,
        "MEETUP_PRIVATE_KEY": found.private_key or found.private_key_path,
    }
    missing = [variable for variable, value in required.items() if not value]
    if not missing:
        return found, []
    if len(missing) == len(required) and not found.signing_key_id:
        return None, []
    return None, missing


@dataclass
class MeetupSource:
    """One meetup.com group."""

    name: str
    group: GroupUrl
    method: str = "auto"
    api_url: str = DEFAULT_API_URL
    oauth_url: str = DEFAULT_OAUTH_URL
    max_wait: float = DEFAULT_MAX_WAIT

    def fetch(self, http: Http, span: Span) -> SourceResult:
        if self.method == "page":
            return self.read_page(http, span)
        if self.method == "ical":
            return self.read_ical(http, span)
        credentials, missing = credentials_from_env(os.environ)
        if self.method == "api":
            if credentials is None:
                needed = ", ".join(missing or ["MEETUP_CLIENT_KEY", "MEETUP_MEMBER_ID", "MEETUP_PRIVATE_KEY"])
                raise SourceError(f"method 'api' needs MEETUP_ACCESS_TOKEN or {needed} in the environment")
            return self.read_api(http, span, credentials)
        return self._auto(http, span, credentials, missing)

    def _auto(self, http: Http, span: Span, credentials: Credentials | None, missing: list[str]) -> SourceResult:
        notes: list[str] = []
        if credentials is not None:
            # No GroupNotFoundError shortcut: gql-ext is said to return no group for one with nothing planned too,
            # and the page settles it (a 404 there is final).
            try:
                return self.read_api(http, span, credentials)
            except SourceError as exc:
                notes.append(f"{self.name}: Meetup API failed ({exc}); read the events page instead")
        elif missing:
            notes.append(f"{self.name}: Meetup API credentials lack {', '.join(missing)}; read the events page instead")
        try:
            result = self.read_page(http, span)
        except GroupNotFoundError:
            raise
        except SourceError as page_error:
            try:
                result = self.read_ical(http, span)
            except GroupNotFoundError:
                raise
            except SourceError as ical_error:
                raise SourceError(f"{page_error}; the iCal feed failed too: {ical_error}") from None
            notes.append(f"{self.name}: {page_error}; used the group iCal feed instead")
        result.warnings[:0] = notes
        return result

    def read_page(self, http: Http, span: Span) -> SourceResult:
        """Events from the group's events page."""
        return parse_events_page(self.name, self.group, self._get(http, self.group.page_url), span)

    def read_ical(self, http: Http, span: Span) -> SourceResult:
        """Events from the group's iCal feed."""
        return parse_ical(self.name, self.group, self._get(http, self.group.ical_url), span)

    def read_api(self, http: Http, span: Span, credentials: Credentials) -> SourceResult:
        """Events from the gql-ext GraphQL API, page by page until past the span."""
        headers = {"Authorization": f"Bearer {access_token(http, credentials, self.oauth_url)}"}
        query = _EVENTS_QUERY % {
            "first": PAGE_SIZE,
            "since": json.dumps(f"{(span.start - SLACK).isoformat()}T00:00:00+00:00"),
            "until": json.dumps(f"{(span.end + 2 * SLACK).isoformat()}T00:00:00+00:00"),
        }
        result = SourceResult()
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            body = {"query": query, "variables": {"urlname": self.group.urlname, "after": cursor}}
            data = self._graphql(http, body, headers, result.warnings)
            cursor = self._read_api_page(data, span, result, cursor)
            if cursor is None:
                return result
        result.warnings.append(f"{self.name}: stopped after {MAX_PAGES} pages of Meetup API results")
        return result

    def _read_api_page(
        self, data: Mapping[str, Any], span: Span, result: SourceResult, cursor: str | None
    ) -> str | None:
        """Add one page of API events to the result; the cursor of the next page, or None when done."""
        found = data.get("groupByUrlname")
        if found is None:
            raise GroupNotFoundError(f"meetup group {self.group.urlname!r} not found (the API returned no group)")
        connection = found.get("events") if isinstance(found, dict) else None
        edges = connection.get("edges") if isinstance(connection, dict) else None
        if not isinstance(found, dict) or not isinstance(connection, dict) or not isinstance(edges, list):
            raise SourceError("unexpected Meetup API reply: no groupByUrlname.events.edges list")
        home = _Home.of(found)
        last_day: date | None = None
        for index, edge in enumerate(edges):
            node = edge.get("node") if isinstance(edge, dict) else None
            try:
                if not isinstance(node, dict):
                    raise ValueError("edge has no node")
                raw = _meetup_event(self.name, self.group, home, node, _first(node.get("venues")), "")
            except (ValueError, TypeError, OverflowError) as exc:
                result.warnings.append(f"{self.name}: skipped API event #{index + 1}: {first_line(exc)}")
                continue
            last_day = _day(raw.start)
            if _overlaps(raw, span):
                result.events.append(raw)
        info = connection.get("pageInfo")
        following = info.get("endCursor") if isinstance(info, dict) else None
        if not isinstance(info, dict) or info.get("hasNextPage") is not True or not isinstance(following, str):
            return None
        if following == cursor or (last_day is not None and last_day > span.end + SLACK):
            return None
        return following

    def _graphql(
        self, http: Http, body: Mapping[str, Any], headers: Mapping[str, str], warnings: list[str]
    ) -> Mapping[str, Any]:
        """The `data` of a GraphQL reply, waiting out one rate limit."""
        reply = _post_json(http, self.api_url, body, headers)
        wait = _backoff(reply, self.max_wait)
        if wait is not None:
            time.sleep(wait)
            reply = _post_json(http, self.api_url, body, headers)
            if _backoff(reply, self.max_wait) is not None:
                raise SourceError(f"Meetup API rate limit still exceeded after waiting {wait:.0f} s")
        errors = _error_messages(reply)
        data = reply.get("data")
        if not isinstance(data, dict) or (errors and data.get("groupByUrlname") is None):
            raise SourceError(f"Meetup API error: {errors[0] if errors else 'reply has no data'}")
        warnings.extend(f"{self.name}: Meetup API reported: {message}" for message in errors)
        return data

    def _get(self, http: Http, url: str) -> bytes:
        try:
            return http.get(url).content
        except FetchError as exc:
            if exc.status in (404, 410):
                raise GroupNotFoundError(f"meetup group {self.group.urlname!r} not found ({exc})") from None
            raise SourceError(str(exc)) from None


def from_config(name: str, table: Table, base: Path) -> MeetupSource:
    """`url` is the group page; `method`, `api_url`, `oauth_url` and `max_wait` are optional."""
    try:
        group = GroupUrl.parse(table.str("url"))
    except ValueError as exc:
        raise table.error("url", str(exc)) from None
    max_wait = table.float("max_wait", DEFAULT_MAX_WAIT)
    if max_wait < 0:
        raise table.error("max_wait", f"must not be negative, got {max_wait}")
    return MeetupSource(
        name=name,
        group=group,
        method=table.choice("method", METHODS, "auto"),
        api_url=_http_setting(table, "api_url", DEFAULT_API_URL),
        oauth_url=_http_setting(table, "oauth_url", DEFAULT_OAUTH_URL),
        max_wait=max_wait,
    )


def _http_setting(table: Table, key: str, default: str) -> str:
    value = table.str(key, default)
    if not value.startswith(("http://", "https://")):
        raise table.error(key, f"expected an http(s) URL, got {value!r}")
    return value


# The events page.


def parse_events_page(name: str, group: GroupUrl, body: bytes, span: Span) -> SourceResult:
    """Events from the page's Apollo state, else from its JSON-LD; NoEventsDataError when it has neither."""
    finder = _NextData()
    finder.feed(body.decode("utf-8", errors="replace"))
    finder.close()
    problem = "no __NEXT_DATA__ script"
    if finder.text is not None:
        try:
            state = _apollo_state(finder.text)
        except ValueError as exc:
            problem = f"__NEXT_DATA__ is not valid JSON ({first_line(exc)})"
        else:
            result = _apollo_result(name, group, state, span) if state is not None else None
            if result is not None:
                return result
            problem = "__NEXT_DATA__ has no Apollo state with events"
    try:
        result = jsonld.parse_page(name, body, group.page_url, span)
    except SourceError as exc:
        raise NoEventsDataError(
            f"no events data for meetup group {group.urlname!r} at {group.page_url}: {problem}, {exc}"
        ) from None
    result.events = [_from_jsonld(raw, group) for raw in result.events if group.owns(raw.url)]
    result.warnings.insert(0, f"{name}: {problem}; read the page's JSON-LD events instead")
    return result


class _NextData(HTMLParser):
    """Finds the body of `<script id="__NEXT_DATA__">`, where Next.js pages keep their data."""

    def __init__(self) -> None:
        super().__init__()
        self.text: str | None = None
        self._chunks: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and self.text is None and dict(attrs).get("id") == "__NEXT_DATA__":
            self._chunks = []

    def handle_data(self, data: str) -> None:
        if self._chunks is not None:
            self._chunks.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._chunks is not None:
            self.text = "".join(self._chunks)
            self._chunks = None


def _from_jsonld(raw: RawEvent, group: GroupUrl) -> RawEvent:
    link = _EVENT_LINK.search(urlsplit(raw.url).path)
    return replace(raw, key=link.group(1) if link else raw.key, organizer_url=group.home)


def _apollo_state(text: str) -> dict[str, Any] | None:
    data = json.loads(text)
    for key in ("props", "pageProps", "__APOLLO_STATE__"):
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def _apollo_result(name: str, group: GroupUrl, state: dict[str, Any], span: Span) -> SourceResult | None:
    """Every `Event:*` entry of the Apollo cache; None when the cache knows neither events nor groups."""
    nodes = {key: node for key, node in state.items() if key.startswith("Event:") and isinstance(node, dict)}
    if not nodes:
        # A group with nothing planned still has its Group entry; no entry at all means the layout changed.
        return SourceResult() if any(key.startswith("Group:") for key in state) else None
    result = SourceResult()
    owner = _page_group(state, group)
    if owner != group.urlname:
        result.warnings.append(f"{name}: the page lists meetup group {owner!r}, not {group.urlname!r}: renamed?")
    read: set[str] = set()
    for key, node in nodes.items():
        try:
            home = _Home.of(_resolve(state, node.get("group")))
            venue = _resolve(state, node.get("venue")) or _resolve(state, _first(node.get("venues")))
            raw = _meetup_event(name, group, home, node, venue, key.removeprefix("Event:"))
        except (ValueError, TypeError, OverflowError) as exc:
            result.warnings.append(f"{name}: skipped meetup event {key}: {first_line(exc)}")
            continue
        ours = home.urlname.lower() in ("", owner) and _link_group(raw.url) in ("", owner)
        # One event can sit in the cache under two keys (`Event:1` and `Event:1!chp`).
        if ours and raw.key not in read and _overlaps(raw, span):
            result.events.append(raw)
        read.add(raw.key)
    if not read:
        raise NoEventsDataError(f"none of the {len(nodes)} events of meetup group {group.urlname!r} could be read")
    return result


def _page_group(state: Mapping[str, Any], group: GroupUrl) -> str:
    """Whose events the page lists: our group, or the only group in the cache when ours was renamed (a redirect)."""
    groups = [node for key, node in state.items() if key.startswith("Group:") and isinstance(node, dict)]
    names = {_text(node, "urlname").lower() for node in groups} - {""}
    return names.pop() if len(names) == 1 and group.urlname not in names else group.urlname


def _resolve(state: Mapping[str, Any], value: object) -> dict[str, Any] | None:
    """A `{"__ref": "Venue:1"}` link followed into the cache; inline objects as they are."""
    if not isinstance(value, dict):
        return None
    ref = value.get("__ref")
    if ref is None:
        return value
    target = state.get(ref) if isinstance(ref, str) else None
    return target if isinstance(target, dict) else None


# What the Apollo cache and the API share: an event node, its venue and its group.


@dataclass(frozen=True)
class _Home:
    """The group an event belongs to, with its home place and zone."""

    name: str = ""
    urlname: str = ""
    place: Place | None = None
    timezone: str = ""

    @classmethod
    def of(cls, node: Mapping[str, Any] | None) -> _Home:
        if node is None:
            return cls()
        place = Place(city=_text(node, "city"), state=_text(node, "state"), country=_text(node, "country"))
        return cls(_text(node, "name"), _text(node, "urlname"), place or None, _text(node, "timezone"))


def _meetup_event(
    name: str, group: GroupUrl, home: _Home, node: Mapping[str, Any], venue: Mapping[str, Any] | None, fallback_id: str
) -> RawEvent:
    # Cache keys carry suffixes such as `Event:284092401!chp`; the event id is the part before `!`.
    event_id = (_text(node, "id") or fallback_id).split("!")[0]
    title = _text(node, "title")
    if not event_id or not title:
        raise ValueError("event has no id" if not event_id else "event has no title")
    start = _moment(node.get("dateTime"), "dateTime")
    online_venue = venue is not None and _is_online_venue(venue)
    mode = _MODES.get(_text(node, "eventType").upper())
    if mode is None and (node.get("isOnline") is True or online_venue):
        mode = Mode.VIRTUAL
    physical = None if online_venue else venue
    venue_place = _venue_place(physical) if physical is not None else Place()
    return RawEvent(
        source=name,
        key=event_id,
        title=title,
        start=start,
        end=_end(node, start),
        timezone=_text(node, "timezone") or home.timezone,
        location=_venue_text(physical) if physical is not None else "",
        place=venue_place if venue_place.city else (home.place or venue_place or None),
        description=_text(node, "description"),
        url=_text(node, "eventUrl") or f"{group.home}/events/{event_id}/",
        organizer=home.name,
        organizer_url=group.home,
        mode=mode,
        cancelled=_text(node, "status").upper() in _CANCELLED,
    )


def _end(node: Mapping[str, Any], start: datetime) -> datetime | None:
    if node.get("endTime"):
        return _moment(node["endTime"], "endTime")
    duration = node.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return start + timedelta(milliseconds=duration)
    if isinstance(duration, str) and duration:
        length = icalendar.vDuration.from_ical(duration)  # type: ignore[no-untyped-call]
        if not isinstance(length, timedelta):
            raise ValueError(f"bad duration {duration!r}")
        return start + length
    return None


def _moment(value: object, what: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"no {what}")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"bad {what} {value!r}") from None


def _is_online_venue(venue: Mapping[str, Any]) -> bool:
    if _text(venue, "venueType").lower() == "online":
        return True
    if _text(venue, "name").lower() == "online event" and not _text(venue, "city"):
        return True
    lat, lng = _number(venue.get("lat")), _number(venue.get("lng", venue.get("lon")))
    return lat is not None and lng is not None and abs(lat - _ONLINE_VENUE[0]) + abs(lng - _ONLINE_VENUE[1]) < 0.01


def _venue_place(venue: Mapping[str, Any]) -> Place:
    return Place(
        city=_text(venue, "city"),
        state=_text(venue, "state"),
        country=_text(venue, "country"),
        latitude=_number(venue.get("lat")),
        longitude=_number(venue.get("lng", venue.get("lon"))),
    )


def _venue_text(venue: Mapping[str, Any]) -> str:
    return _join(_text(venue, "name"), _text(venue, "address"))


# The iCal feed.


def parse_ical(name: str, group: GroupUrl, body: bytes, span: Span) -> SourceResult:
    """The feed read by the ics source, keyed by meetup event id and credited to the group."""
    organizer = (read_calendar(name, body).calendar_name or "").strip()
    result = parse_calendar(name, body, span)
    result.events = [_from_ical(raw, group, organizer) for raw in result.events]
    return result


def _from_ical(raw: RawEvent, group: GroupUrl, organizer: str) -> RawEvent:
    uid = _ICAL_UID.fullmatch(raw.extra.get("uid", ""))
    online = raw.location.strip().lower() == "online event"
    # Meetup starts every DESCRIPTION with the group's name on a line of its own.
    first, _, rest = raw.description.partition("\n")
    description = rest if organizer and first.strip() == organizer else raw.description
    return replace(
        raw,
        key=uid.group(1) if uid else raw.key,
        organizer=raw.organizer or organizer,
        organizer_url=raw.organizer_url or group.home,
        location="" if online else raw.location,
        mode=Mode.VIRTUAL if online else raw.mode,
        description=description.strip(),
    )


# The gql-ext API and its OAuth token.


def access_token(http: Http, credentials: Credentials, oauth_url: str) -> str:
    """The bearer token: given as is, or a signed JWT exchanged at `oauth_url` (cached until it expires)."""
    if credentials.access_token:
        return credentials.access_token
    cache_key = (oauth_url, credentials.client_key, credentials.member_id)
    with _TOKENS_LOCK:
        cached = _TOKENS.get(cache_key)
        if cached is None or cached[1] <= time.monotonic():
            try:
                cached = _exchange(http, credentials, oauth_url)
            except SourceError as exc:
                cached = (exc, time.monotonic() + FAILED_EXCHANGE_SECONDS)
            _TOKENS[cache_key] = cached
    token = cached[0]
    if isinstance(token, SourceError):
        raise SourceError(str(token))
    return token


def _exchange(http: Http, credentials: Credentials, oauth_url: str) -> tuple[str, float]:
    """A fresh access token for a signed JWT, and when to stop using it (a minute before it expires)."""
    form = {"grant_type": JWT_BEARER, "assertion": signed_jwt(credentials)}
    try:
        reply = http.post(oauth_url, data=form, headers={"Accept": "application/json"})
        payload = json.loads(reply.content)
    except FetchError as exc:
        raise SourceError(f"Meetup OAuth token exchange failed: {exc}") from None
    except ValueError:
        raise SourceError(f"Meetup OAuth reply from {oauth_url} is not JSON") from None
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise SourceError(f"Meetup OAuth reply from {oauth_url} has no access_token")
    lifetime = _number(payload.get("expires_in")) or DEFAULT_TOKEN_LIFETIME
    return token, time.monotonic() + max(0.0, lifetime - 60)


def signed_jwt(credentials: Credentials) -> str:
    """An RS256 JWT naming the client (iss) and the member who owns it (sub), valid two minutes."""
    issued = int(time.time())
    claims = {
        "sub": credentials.member_id,
        "iss": credentials.client_key,
        "aud": "api.meetup.com",
        "iat": issued,
        "exp": issued + JWT_LIFETIME,
    }
    # PyJWT (and cryptography under it) is loaded only by a run that signs in to the API.
    import jwt

    headers = {"kid": credentials.signing_key_id} if credentials.signing_key_id else None
    try:
        return jwt.encode(claims, _private_key(credentials), algorithm="RS256", headers=headers)
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise SourceError(f"cannot sign the Meetup JWT with the private key: {first_line(exc)}") from None


def _private_key(credentials: Credentials) -> str:
    text = credentials.private_key
    if "-----BEGIN" in text:
        return text
    path = Path(credentials.private_key_path or text).expanduser()
    try:
        return path.read_text()
    except OSError as exc:
        raise SourceError(f"cannot read the Meetup private key {path}: {exc.strerror}") from None


def _post_json(http: Http, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    try:
        # A query only reads: its reply is cached under URL and body (not the token) and revalidated next run.
        reply = http.post(url, json=body, headers=headers, cache=True)
    except FetchError as exc:
        raise SourceError(f"Meetup API request failed: {exc}") from None
    try:
        payload = json.loads(reply.content)
    except ValueError:
        raise SourceError(f"Meetup API reply from {url} is not JSON") from None
    if not isinstance(payload, dict):
        raise SourceError(f"Meetup API reply from {url} is not a JSON object")
    return payload


def _backoff(reply: Mapping[str, Any], cap: float) -> float | None:
    """Seconds to wait when the reply says RATE_LIMITED (until its resetAt, at most cap), else None."""
    for error in reply.get("errors") or []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and extensions.get("code") == "RATE_LIMITED":
            reset = _reset_time(extensions.get("resetAt"))
            wait = cap if reset is None else (reset - datetime.now(UTC)).total_seconds()
            return min(max(wait, 0.0), cap)
    return None


def _reset_time(value: object) -> datetime | None:
    number = _number(value)
    if number is not None:
        # Epoch seconds, or milliseconds when that large.
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _error_messages(reply: Mapping[str, Any]) -> list[str]:
    errors = reply.get("errors")
    messages = []
    for error in errors if isinstance(errors, list) else []:
        text = str(error.get("message") if isinstance(error, dict) else error).strip()
        messages.append(text.splitlines()[0] if text else "unnamed error")
    return messages


# Small readers shared by every format.


def _text(node: Mapping[str, Any], key: str) -> str:
    value = node.get(key)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _first(value: object) -> dict[str, Any] | None:
    item = value[0] if isinstance(value, list) and value else value
    return item if isinstance(item, dict) else None


def _join(*parts: str) -> str:
    unique: list[str] = []
    for part in parts:
        if part and part not in unique:
            unique.append(part)
    return ", ".join(unique)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _overlaps(raw: RawEvent, span: Span) -> bool:
    """The event's local days touch the span, give or take a day."""
    last = _day(raw.end) if raw.end is not None else _day(raw.start)
    return _day(raw.start) <= span.end + SLACK and last >= span.start - SLACK
