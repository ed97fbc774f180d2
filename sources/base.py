"""The small protocol every source implements, and what it hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aggregator.model import RawEvent
from aggregator.tomltable import Table

if TYPE_CHECKING:
    from sources.http import Http


class SourceError(Exception):
    """The source could not be read at all; the message is one line saying why."""


@dataclass(frozen=True)
class Span:
    """The inclusive range of local dates a fetch must cover (recurrences expand only here)."""

    start: date
    end: date


@dataclass
class SourceResult:
    """What one fetch produced: raw events, plus one-line warnings about individual items."""

    events: list[RawEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Source(Protocol):
    """A configured source: it fetches raw events over a span, or raises SourceError."""

    name: str

    def fetch(self, http: Http, span: Span) -> SourceResult: ...


SourceFactory = Callable[[str, Table, Path], Source]
"""Build a source from its name, its `[[source]]` table and the config file's folder."""


def resolve_url(table: Table, key: str, base: Path) -> str:
    """A source address: http(s) and file URLs as given, anything else a path relative to base."""
    value = table.str(key)
    if value.startswith(("http://", "https://", "file://")):
        return value
    if "://" in value:
        raise table.error(key, f"unsupported URL scheme in {value!r} (use http, https, file or a path)")
    return (base / value).resolve().as_uri()
