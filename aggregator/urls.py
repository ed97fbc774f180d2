"""URL rules: which links are safe, how TWiR prints them, and when two spellings are one URL."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

MEETUP_HOSTS = frozenset({"meetup.com", "www.meetup.com", "m.meetup.com"})
LUMA_HOSTS = frozenset({"luma.com", "www.luma.com", "lu.ma", "www.lu.ma"})

# Query parameters that only say how someone reached the page, never which page it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref",
        "ref_source",
        "_gl",
        "_xtd",
        "aff",
        "recid",
        "recsource",
        "searchid",
        "eventorigin",
    }
)
TRACKING_PREFIXES = ("utm_",)

# Hosts whose links are meetings or live streams; a subdomain (us02web.zoom.us) counts too.
STREAMING_HOSTS = (
    "zoom.us",
    "zoom.com",
    "meet.google.com",
    "meet.jit.si",
    "teams.microsoft.com",
    "teams.live.com",
    "twitch.tv",
    "discord.gg",
    "webex.com",
    "whereby.com",
    "gather.town",
    "streamyard.com",
    "crowdcast.io",
    "gotomeeting.com",
    "meet.goto.com",
)
STREAMING_PATHS = {
    "youtube.com": ("live",),
    "discord.com": ("invite", "events", "channels"),
}

# Sites whose first path segment names the organizer (hasgeek.com/<org>/<event>).
ORGANIZER_IN_PATH_HOSTS = frozenset({"hasgeek.com", "pretix.eu", "github.com"})
# Ticketing and tool sites whose home page names no organizer.
NO_ORGANIZER_HOSTS = ("eventbrite.com", "eventbrite.co.uk", "eventbrite.de", "google.com", "forms.gle", "youtube.com")

GOOGLE_HOST = re.compile(r"(?:www\.)?google\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})")
# Meetup's locale segment (/es-ES/, /pt-BR/) at the start of a path that goes on; the mixed case
# keeps real slugs such as /rust-berlin/ intact.
LOCALE = r"[a-z]{2}-[A-Z]{2}"
LOCALE_SEGMENT = re.compile(LOCALE)
LOCALE_PREFIX = re.compile(rf"/{LOCALE}(?=/[^/])")
ANY_CASE_LOCALE = re.compile(LOCALE, re.IGNORECASE)
MEETUP_URLNAME = re.compile(r"[A-Za-z0-9_-]+")
# meetup.com's own top-level pages, which no group urlname can take.
MEETUP_PAGES = frozenset(
    {"find", "topics", "cities", "login", "register", "apps", "lp", "pro", "help", "about", "blog", "home"}
    | {"account", "members", "messages", "notifications", "create", "start", "api", "gql", "terms", "privacy"}
)
# Numeric ids, or the letter-only placeholders of recurring series (wqzhftyjcmbdb); short words
# such as `ical` or `past` are pages, not events.
MEETUP_EVENT_ID = re.compile(r"\d+|[A-Za-z]{10,}")
# White space (as str.isspace() sees it) and control characters (Unicode category Cc): never in a link.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# A run checks and prints the same few hundred links thousands of times (every writer, every feed).
_URLS_CACHED = 65536


@lru_cache(maxsize=_URLS_CACHED)
def safe_url(url: str) -> str:
    """The stripped URL if it is an absolute http(s) URL with a host, else ""."""
    url = url.strip()
    if _SPACE_OR_CONTROL.search(url):
        return ""
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https") or not (parts.hostname or "").strip("."):
        return ""
    return url


def unwrap_redirect(url: str) -> str:
    """The target of a `https://www.google.<tld>/url?q=<target>` redirect, else the URL unchanged."""
    parts = _split(url.strip())
    if parts is None or not GOOGLE_HOST.fullmatch(parts.hostname or "") or parts.path != "/url":
        return url
    params = dict(parse_qsl(parts.query))
    return params.get("q") or params.get("url") or url


@lru_cache(maxsize=_URLS_CACHED)
def canonical_url(url: str) -> str:
    """The key under which two spellings of one URL compare equal; "" for anything not http(s)."""
    parts = _split(safe_url(url))
    return "" if parts is None else _canonical(parts, _host(parts))


def _canonical(parts: SplitResult, host: str) -> str:
    meetup = _meetup_parts(host, parts.path)
    if meetup:
        return _meetup_url(*meetup)
    path = _drop_locale(parts.path)
    pairs = sorted((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(key))
    netloc = _bracketed(host) + _port_suffix(parts)
    return urlunsplit(("https", netloc, path.rstrip("/"), urlencode(pairs), ""))


@lru_cache(maxsize=_URLS_CACHED)
def display_url(url: str) -> str:
    """The URL as TWiR prints it: meetup links in house style, luma.com, no tracking parameters."""
    parts = _split(safe_url(url))
    if parts is None:
        return ""
    host = _host(parts)
    meetup = _meetup_parts(host, parts.path)
    if meetup:
        link = _meetup_url(*meetup)
        return link + "/" if meetup[1] else link
    scheme, netloc = parts.scheme, parts.netloc
    if host == "luma.com":
        scheme, netloc = "https", "luma.com" + _port_suffix(parts)
    return urlunsplit((scheme, netloc, parts.path, _drop_tracking(parts.query), parts.fragment))


def meetup_event_id(url: str) -> tuple[str, str] | None:
    """(lower-case group urlname, event id) for a meetup.com event link, else None."""
    parts = _split(safe_url(url))
    meetup = None if parts is None else _meetup_parts(_host(parts), parts.path)
    return meetup if meetup and meetup[1] else None


@lru_cache(maxsize=_URLS_CACHED)
def event_page(url: str) -> str:
    """The canonical form of a link that can name one event; "" for a site's home page, a meetup group's page,
    a meeting room, or no http(s) link at all."""
    parts = _split(safe_url(url))
    if parts is None:
        return ""
    host = _host(parts)
    if _streaming(parts, host):
        return ""
    if host == "www.meetup.com":
        meetup = _meetup_parts(host, parts.path)
        return _meetup_url(*meetup) if meetup and meetup[1] else ""
    if not (_drop_locale(parts.path).strip("/") or _drop_tracking(parts.query)):
        return ""
    return _canonical(parts, host)


def is_streaming_url(url: str) -> bool:
    """True for a meeting or live-stream link (Zoom, Meet, Jitsi, Teams, Twitch, YouTube live, Discord)."""
    parts = _split(safe_url(url))
    return parts is not None and _streaming(parts, _host(parts))


def _streaming(parts: SplitResult, host: str) -> bool:
    if any(_on_host(host, domain) for domain in STREAMING_HOSTS):
        return True
    segments = {segment.lower() for segment in parts.path.split("/")}
    return any(_on_host(host, domain) and segments & set(paths) for domain, paths in STREAMING_PATHS.items())


def organizer_url_for(event_url: str) -> str:
    """The organizer page an event link implies: the meetup group, the hasgeek org, or the site root."""
    parts = _split(safe_url(event_url))
    if parts is None:
        return ""
    host = _host(parts)
    if host == "www.meetup.com":
        meetup = _meetup_parts(host, parts.path)
        return _meetup_url(meetup[0], "") if meetup else ""
    # A luma.com/<slug> event page does not say which calendar it belongs to.
    if host == "luma.com" or is_streaming_url(event_url) or any(_on_host(host, d) for d in NO_ORGANIZER_HOSTS):
        return ""
    root = f"{parts.scheme}://{_bracketed(host)}{_port_suffix(parts)}/"
    if host.removeprefix("www.") in ORGANIZER_IN_PATH_HOSTS:
        segments = [segment for segment in parts.path.split("/") if segment]
        return root + segments[0] if segments else ""
    return root


@lru_cache(maxsize=_URLS_CACHED)
def _split(url: str) -> SplitResult | None:
    """The URL's parts, or None for no URL or a bad port; once per link (urlsplit's own cache holds only 128)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        return None
    return parts


def _host(parts: SplitResult) -> str:
    """The lower-case host with the aliases TWiR treats as one site folded together."""
    host = (parts.hostname or "").rstrip(".")
    if host in LUMA_HOSTS:
        return "luma.com"
    if host in MEETUP_HOSTS:
        return "www.meetup.com"
    return host


def _on_host(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _port_suffix(parts: SplitResult) -> str:
    port = parts.port
    return "" if port is None or port in (80, 443) else f":{port}"


def _tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _drop_tracking(query: str) -> str:
    """The query without tracking parameters, the rest left exactly as written."""
    kept = [pair for pair in query.split("&") if pair and not _tracking(unquote_plus(pair.split("=", 1)[0]))]
    return "&".join(kept)


def _drop_locale(path: str) -> str:
    while match := LOCALE_PREFIX.match(path):
        path = path[match.end() :]
    return path


def _meetup_parts(host: str, path: str) -> tuple[str, str] | None:
    """(group urlname, event id) of a meetup event link, (group urlname, "") of a group link, else None."""
    if host != "www.meetup.com":
        return None
    segments = [segment for segment in _drop_locale(path).split("/") if segment]
    # A locale alone (/es-ES) is meetup's home page in Spanish, not a group.
    if not segments or not MEETUP_URLNAME.fullmatch(segments[0]) or LOCALE_SEGMENT.fullmatch(segments[0]):
        return None
    # Links copied from a localized page may spell the locale in lower case (/de-de/<group>/events/<id>);
    # a group slug of that shape (/ab-cd/events/1) is followed by `events`, not by another slug.
    if len(segments) > 1 and ANY_CASE_LOCALE.fullmatch(segments[0]) and segments[1].lower() != "events":
        segments = segments[1:]
    if segments[0].lower() in MEETUP_PAGES:
        return None
    group = segments[0].lower()
    if len(segments) == 1 or (len(segments) == 2 and segments[1].lower() == "events"):
        return group, ""
    if len(segments) == 3 and segments[1].lower() == "events" and MEETUP_EVENT_ID.fullmatch(segments[2]):
        return group, segments[2].lower()
    return None


def _meetup_url(group: str, event_id: str) -> str:
    """The house-style meetup link without its trailing slash."""
    url = f"https://www.meetup.com/{group}"
    return f"{url}/events/{event_id}" if event_id else url


def organizer_name_for(organizer_url: str) -> str:
    """A readable stand-in name when only the organizer's page is known: the group slug, else the host."""
    parts = _split(safe_url(organizer_url))
    if parts is None:
        return ""
    host = _host(parts)
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and (host == "www.meetup.com" or host.removeprefix("www.") in ORGANIZER_IN_PATH_HOSTS):
        return " ".join(word.capitalize() for word in re.split(r"[-_]+", segments[0]) if word)
    return host.removeprefix("www.")
