"""What an event is, as its organizer's calendar says: the basis of its feed UID, whatever the config calls the source.

A source's identity is its address (a Google calendar's id, a feed's host and path, a local file's name), or just
its platform where event ids are unique platform-wide (meetup, Luma, the editors' manual file). An event's identity
adds what the source calls the event: a calendar's UID (plus the original start for a series occurrence), a
meetup or Luma event id, a manual entry's id.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from aggregator.model import RawEvent

# Event ids of these platforms are unique across the platform, so the group or calendar adds nothing.
PLATFORM_WIDE = frozenset({"meetup", "luma", "manual"})
_GOOGLE_CALENDAR = re.compile(r"/calendar/ical/([^/]+)/")


def source_identity(kind: str, url: str) -> str:
    """`google:<calendar id>`, `<host/path>`, `file:<name>` or the platform: unchanged by renaming the config entry."""
    if kind in PLATFORM_WIDE or not url:
        return kind
    parts = urlsplit(url)
    if parts.scheme == "file":
        return f"file:{PurePosixPath(unquote(parts.path)).name}"
    host = (parts.hostname or "").lower()
    if host == "calendar.google.com" and (calendar := _GOOGLE_CALENDAR.search(parts.path)):
        return f"google:{unquote(calendar.group(1)).lower()}"
    return f"{host}{parts.path.rstrip('/')}"


def event_identity(source: str, raw: RawEvent) -> str:
    """The source's identity plus the source's own id for the event (a moved event keeps both)."""
    # JSON, not a separator join: no source address or event id can make two pairs spell the same string.
    return json.dumps([source, raw.extra.get("identity") or raw.key], ensure_ascii=False)
