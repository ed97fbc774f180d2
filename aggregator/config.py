"""Load and validate config.toml into plain dataclasses; sources are built by their own modules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aggregator.model import Mode
from aggregator.tomltable import ConfigError, Table, read_toml
from sources import FACTORIES
from sources.base import Source
from sources.http import HttpSettings, http_settings_from_table

DEFAULT_STATES = ("US", "CA", "AU")
# Ten years: more is a typo, and date arithmetic near the ends of the calendar overflows.
MAX_DAYS = 3650
# Where the store and the HTTP cache live by default, next to the config file.
STATE_DIR = ".twir-events"


@dataclass(frozen=True)
class SourceSpec:
    """A configured source plus the per-source overrides the pipeline applies to its events."""

    source: Source
    type: str
    organizer: str = ""
    organizer_url: str = ""
    mode: Mode | None = None
    require: str = ""

    @property
    def name(self) -> str:
        return self.source.name


@dataclass(frozen=True)
class FeedSettings:
    """What the .ics feed covers and how it names itself."""

    name: str = "Rust Community Events"
    description: str = "Rust meetups, conferences and online events, as listed in This Week in Rust."
    past_days: int = 30
    future_days: int = 365
    refresh: str = "PT6H"


@dataclass(frozen=True)
class HealthSettings:
    """When a source's data is stale, and when a fetch looks too bad to believe."""

    stale_after_hours: float = 48.0
    max_drop: float = 0.5
    min_events: int = 4


@dataclass(frozen=True)
class Limits:
    """Bounds on one run's work: events kept per source, and wall-clock seconds for the whole run."""

    events_per_source: int = 5000
    run_seconds: float = 900.0


@dataclass(frozen=True)
class ScheduleSettings:
    """When `twir-events schedule` refreshes (a crontab expression, in UTC unless `timezone` says otherwise)."""

    cron: str = "17 */6 * * *"
    timezone: str = "UTC"
    misfire_grace_seconds: int = 3600


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    output_dir: Path
    store_path: Path
    weeks: int = 4
    states: tuple[str, ...] = DEFAULT_STATES
    feed: FeedSettings = field(default_factory=FeedSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    limits: Limits = field(default_factory=Limits)
    curation: Path | None = None
    sources: tuple[SourceSpec, ...] = ()
    # The published folder's public address (ends in "/"); "" when unset, and then the page has no subscribe links.
    base_url: str = ""

    @property
    def base(self) -> Path:
        return self.path.parent


def load_config(path: Path) -> Config:
    """Read and validate a config file; raise ConfigError with a one-line message on any problem."""
    data = read_toml(path)
    path = path.resolve()
    root = Table(data, path, "")
    base = path.parent

    issue = root.table("issue", {})
    weeks = issue.int("weeks", 4, minimum=1, maximum=52)
    states = tuple(code.upper() for code in issue.strings("states", list(DEFAULT_STATES)))
    issue.finish()

    output = root.table("output", {})
    output_dir = _output_dir(output, base)
    base_url = _base_url(output)
    output.finish()

    feed_table = root.table("feed", {})
    defaults = FeedSettings()
    feed = FeedSettings(
        name=feed_table.str("name", defaults.name),
        description=feed_table.str("description", defaults.description),
        past_days=feed_table.int("past_days", defaults.past_days, minimum=0, maximum=MAX_DAYS),
        future_days=feed_table.int("future_days", defaults.future_days, minimum=1, maximum=MAX_DAYS),
        refresh=_duration(feed_table, "refresh", defaults.refresh),
    )
    feed_table.finish()

    store = root.table("store", {})
    store_path = base / store.str("path", f"{STATE_DIR}/store.sqlite")
    store.finish()

    http = http_settings_from_table(root.table("http", {}), default_cache=f"{STATE_DIR}/http-cache.sqlite")
    for what, state in (("store.path", store_path), ("http.cache", http.cache)):
        if state is not None and state.resolve().is_relative_to(output_dir.resolve()):
            raise ConfigError(f"{path}: {what}: {state} is inside output.dir {output_dir}, which is replaced whole")
    health = _health(root.table("health", {}))
    schedule = _schedule(root.table("schedule", {}))
    limits = _limits(root.table("limits", {}))

    curation_table = root.table("curation", {})
    curation = curation_table.str("path", "")
    curation_table.finish()

    specs = [_source_spec(table, base) for entry in root.tables("source") for table in _expand_groups(entry)]
    _check_unique(specs, path)
    root.finish()
    return Config(
        path=path,
        output_dir=output_dir,
        store_path=store_path,
        weeks=weeks,
        states=states,
        feed=feed,
        http=http,
        health=health,
        schedule=schedule,
        limits=limits,
        curation=base / curation if curation else None,
        sources=tuple(specs),
        base_url=base_url,
    )


def _base_url(table: Table) -> str:
    """`[output] base_url`: an absolute http(s) address without query or fragment, normalised to end in "/"."""
    text = table.str("base_url", "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and text.isprintable() and " " not in text
    except ValueError:
        valid = False
    if not valid or parts.query or parts.fragment:
        raise table.error("base_url", f"expected the public https:// address of the output folder, got {text!r}")
    return text if text.endswith("/") else text + "/"


def _health(table: Table) -> HealthSettings:
    defaults = HealthSettings()
    max_drop = table.float("max_drop", defaults.max_drop)
    if not 0 < max_drop <= 1:
        raise table.error("max_drop", f"expected a share between 0 and 1, got {max_drop:g}")
    health = HealthSettings(
        stale_after_hours=table.float(
            "stale_after_hours", defaults.stale_after_hours, minimum=0, maximum=24 * MAX_DAYS
        ),
        max_drop=max_drop,
        min_events=table.int("min_events", defaults.min_events, minimum=1, maximum=1_000_000),
    )
    table.finish()
    return health


def _output_dir(table: Table, base: Path) -> Path:
    """The output folder: never `/`, a home folder, the config's own folder or one above it, nor a file."""
    # Not resolved: the folder itself is a symlink to the current version of the outputs.
    folder = Path(os.path.abspath(base / table.str("dir", "public")))  # noqa: PTH100
    real = folder.resolve()
    home = real in (Path.home().resolve(), Path("/root")) or real.parent == Path("/home")
    if real == Path(real.anchor) or home:
        raise table.error("dir", f"refusing to write the outputs into {folder}: pick a folder of their own")
    if real == base or real in base.parents:
        raise table.error("dir", f"{folder} holds the config file; pick a folder of its own, such as public")
    if folder.exists() and not folder.is_dir():
        raise table.error("dir", f"{folder} is a file, not a folder")
    return folder


def _duration(table: Table, key: str, default: str) -> str:
    """An RFC 5545 duration such as PT6H, checked so the feed never carries one readers reject."""
    from icalendar import vDuration

    value = table.str(key, default)
    try:
        parsed = vDuration.from_ical(value)  # type: ignore[no-untyped-call]  # icalendar leaves it unannotated
    except ValueError:
        raise table.error(key, f"expected a duration like PT6H, got {value!r}") from None
    if not isinstance(parsed, timedelta) or parsed <= timedelta(0):
        raise table.error(key, f"expected a positive duration like PT6H, got {value!r}")
    return value


def _limits(table: Table) -> Limits:
    defaults = Limits()
    limits = Limits(
        events_per_source=table.int("events_per_source", defaults.events_per_source, minimum=1, maximum=1_000_000),
        run_seconds=table.float("run_seconds", defaults.run_seconds, minimum=1, maximum=86_400),
    )
    table.finish()
    return limits


def _schedule(table: Table) -> ScheduleSettings:
    defaults = ScheduleSettings()
    cron = table.str("cron", defaults.cron)
    zone = table.str("timezone", defaults.timezone)
    # Only a configured schedule is worth loading APScheduler for; the default one is known to be valid.
    if (cron, zone) != (defaults.cron, defaults.timezone):
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cron, timezone=zone)
        except (ValueError, KeyError) as exc:
            raise table.error("cron", f"not a valid crontab expression or time zone: {exc}") from None
    schedule = ScheduleSettings(
        cron=cron,
        timezone=zone,
        misfire_grace_seconds=table.int(
            "misfire_grace_seconds", defaults.misfire_grace_seconds, minimum=1, maximum=7 * 86_400
        ),
    )
    table.finish()
    return schedule


def _expand_groups(entry: Table) -> list[Table]:
    """A `[[source]]` with `groups = [...]` stands for one source per group, each named `{name}: {slug}`.

    A group is a URL string or an inline table of keys that override the entry's own.
    """
    if not entry.has("groups"):
        return [entry]
    groups = entry.data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise entry.error("groups", "expected a non-empty list of URLs or inline tables")
    shared = {key: value for key, value in entry.data.items() if key != "groups"}
    prefix = entry.str("name")
    tables = []
    for index, group in enumerate(groups):
        own = {"url": group} if isinstance(group, str) else group
        if not isinstance(own, dict) or not isinstance(own.get("url"), str):
            raise entry.error(f"groups[{index}]", "expected a URL string or an inline table with a url")
        slug = own["url"].rstrip("/").rsplit("/", 1)[-1]
        merged = {**shared, **own, "name": own.get("name") or f"{prefix}: {slug}"}
        tables.append(Table(merged, entry.file, f"{entry.where}.groups[{index}]"))
    return tables


def _source_spec(table: Table, base: Path) -> SourceSpec:
    name = table.str("name")
    kind = table.str("type")
    factory = FACTORIES.get(kind)
    if factory is None:
        raise table.error("type", f"unknown source type {kind!r} (known: {', '.join(sorted(FACTORIES))})")
    mode_name = table.choice("mode", ("", *(m.value for m in Mode)), "")
    spec = SourceSpec(
        source=factory(name, table, base),
        type=kind,
        organizer=table.str("organizer", ""),
        organizer_url=table.str("organizer_url", ""),
        mode=Mode(mode_name) if mode_name else None,
        require=table.str("require", ""),
    )
    table.finish()
    return spec


def _check_unique(specs: list[SourceSpec], path: Path) -> None:
    """Names are unique, and none is another's name plus `:`, so `source:event id` keys never collide."""
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"{path}: source name {spec.name!r} is used twice")
        seen.add(spec.name)
    # A key `m:x:y` could be source `m`, event `x:y` or source `m:x`, event `y`: only a prefix makes that so.
    for name in sorted(seen):
        prefix = next((other for other in _prefixes(name) if other in seen), None)
        if prefix is not None:
            raise ConfigError(
                f"{path}: source names {prefix!r} and {name!r} would mix up their events' keys; rename one"
            )


def _prefixes(name: str) -> list[str]:
    """Every `p` such that `name` starts with `p + ":"`."""
    return [name[:index] for index, char in enumerate(name) if char == ":"]
