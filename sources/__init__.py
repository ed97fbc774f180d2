"""Fetchers: each module reads one kind of input into raw event records."""

from __future__ import annotations

from sources.base import SourceFactory
from sources.ics import from_config as ics_source
from sources.jsonld import from_config as jsonld_source
from sources.luma import from_config as luma_source
from sources.manual import from_config as manual_source
from sources.meetup import from_config as meetup_source

FACTORIES: dict[str, SourceFactory] = {
    "ics": ics_source,
    "luma": luma_source,
    "meetup": meetup_source,
    "jsonld": jsonld_source,
    "manual": manual_source,
}
