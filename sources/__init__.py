"""Fetchers: each module reads one kind of input into raw event records."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from aggregator.tomltable import Table
from sources.base import Source, SourceFactory


def _lazy(module: str) -> SourceFactory:
    """The module's `from_config`, imported on first use: a config without meetup groups never loads PyJWT."""

    def build(name: str, table: Table, base: Path) -> Source:
        factory: SourceFactory = import_module(module).from_config
        return factory(name, table, base)

    return build


FACTORIES: dict[str, SourceFactory] = {
    "ics": _lazy("sources.ics"),
    "luma": _lazy("sources.luma"),
    "meetup": _lazy("sources.meetup"),
    "jsonld": _lazy("sources.jsonld"),
    "manual": _lazy("sources.manual"),
}
