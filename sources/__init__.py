"""Fetchers: each module reads one kind of input into raw event records."""

from __future__ import annotations

from sources.base import SourceFactory
from sources.ics import from_config as ics_source
from sources.luma import from_config as luma_source

FACTORIES: dict[str, SourceFactory] = {
    "ics": ics_source,
    "luma": luma_source,
}
