"""`run` and `render` as library calls: refresh the store from the sources, then build every output from the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout

from aggregator import publication
from aggregator.config import Config, HealthSettings
from aggregator.curation import Curation, CurationResult, load_curation
from aggregator.diff import ISSUE_INTERVAL, DiffError, IssueDiff, diff_issues, diff_json_for_run
from aggregator.merge import MergeResult, PossibleDuplicate, merge
from aggregator.model import Event, Mode
from aggregator.pipeline import (
    Collected,
    InterruptedRunError,
    Issue,
    SourceReport,
    SourceRun,
    build_issue,
    collect,
    fetch_span,
    in_feed,
    ranker,
)
from aggregator.store import FetchRecord, Outcome, SourceHealth, Store, SyncStats
from aggregator.window import issue_window
from output.files import replace_set
from output.html import render_site
from output.ics import FeedText, FeedWriter, Revision
from output.jsonfile import render_json
from output.markdown import needs_place, render_block
from sources.http import Http

# The fetch log keeps this much history (and each source's latest fetch of every outcome, however old).
FETCH_HISTORY = timedelta(days=90)
# Events this far outside the feed's span are read too, so that merging at the span's edges sees both sides.
MERGE_MARGIN = timedelta(days=7)


class BusyError(Exception):
    """Another run holds the lock on this store."""


@dataclass
class SourceOutcome:
    """How a fetch was judged: `ok` (stored), `failed` or `suspect` (last good events kept)."""

    report: SourceReport
    outcome: Outcome
    reason: str = ""
    stats: SyncStats | None = None


@dataclass
class Rendered:
    """Everything built from the store for one issue: the block, the files and what the editor should review."""

    block: str
    issue: Issue
    files: dict[str, bytes]
    possible_duplicates: list[PossibleDuplicate]
    curation: CurationResult
    health: list[SourceHealth]
    needs_place: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Review:
    """What the editor should look at: doubtful pairs, the merges made (to audit), events attended in person
    whose place was not found (printed as the source wrote it, or left out of the block when it wrote none)."""

    possible: list[PossibleDuplicate]
    merges: list[dict[str, object]]
    needs_place: list[Event]


@dataclass
class JobResult:
    """A whole run: what each source did, what was rendered and which files changed."""

    rendered: Rendered
    collected: Collected
    outcomes: list[SourceOutcome]
    written: dict[Path, bool] = field(default_factory=dict)

    @property
    def block(self) -> str:
        return self.rendered.block

    @property
    def all_failed(self) -> bool:
        return bool(self.outcomes) and not any(o.report.ok for o in self.outcomes)


@contextmanager
def run_lock(config: Config) -> Iterator[None]:
    """Stop two runs on one store from overlapping: the second one fails at once with BusyError."""
    path = config.store_path.with_name(config.store_path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        with lock:
            yield
    except Timeout:
        raise BusyError(f"another twir-events run is using {config.store_path} (lock {path})") from None


def run_job(
    config: Config,
    issue_date: date,
    http: Http,
    now: datetime | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
    interrupt: threading.Event | None = None,
) -> JobResult:
    """Fetch every source into the store, then write the outputs of the issue dated `issue_date`.

    Fetching stops at `[limits] run_seconds` (unfinished sources keep their last good events). When
    `interrupt` is set during fetching, nothing is stored and InterruptedRunError is raised.
    """
    now = now or datetime.now(UTC)
    curation = _curation(config)
    seconds = config.limits.run_seconds
    http.stop_at(time.monotonic() + seconds, f"the run's deadline of {seconds:g} s passed")
    with run_lock(config), Store(config.store_path) as store:
        span = fetch_span(config, issue_date)
        collected = collect(config.sources, http, span, on_done=on_done, max_events=config.limits.events_per_source)
        if interrupt is not None and interrupt.is_set():
            raise InterruptedRunError(f"{http.stopped}; nothing was stored")
        covered = (max(span.start, now.date()), span.end)
        with store.batch():
            outcomes = [settle(store, run, config.health, covered, now) for run in collected.runs]
            store.prune_fetches(now - FETCH_HISTORY)
            rendered = render(config, store, issue_date, now, curation)
        written = write_outputs(config, rendered.files)
    return JobResult(rendered, collected, outcomes, written)


def render_job(config: Config, issue_date: date, now: datetime | None = None) -> Rendered:
    """Build the outputs of an issue from the store alone, without fetching."""
    now = now or datetime.now(UTC)
    curation = _curation(config)
    with run_lock(config), Store(config.store_path) as store:
        return render(config, store, issue_date, now, curation)


def diff_job(config: Config, issue_date: date, since: date | None, now: datetime | None = None) -> IssueDiff:
    """Compare the issue dated `issue_date` (rendered and saved first if need be) with the one dated `since`."""
    if not config.store_path.exists():
        raise DiffError(f"no store at {config.store_path}: run `twir-events run` first")
    since = since or issue_date - ISSUE_INTERVAL
    # Rendering writes to the store, so like `render` a diff must not overlap a running job.
    with run_lock(config), Store(config.store_path) as store:
        previous = store.issue(since)
        if previous is None:
            raise DiffError(f"no issue dated {since.isoformat()} in the store: run or render that date first")
        curation = _curation(config)
        current = store.issue(issue_date)
        if current is None:
            current = render(config, store, issue_date, now or datetime.now(UTC), curation).issue.events
        possible = _merged(config, store, issue_date).possible(curation)
    return diff_issues(
        previous,
        current,
        previous_window=issue_window(since, config.weeks),
        current_window=issue_window(issue_date, config.weeks),
        states=config.states,
        possible=possible,
    )


def _curation(config: Config) -> Curation:
    return load_curation(config.curation) if config.curation else Curation.empty()


def settle(
    store: Store, run: SourceRun, health: HealthSettings, covered: tuple[date, date], now: datetime
) -> SourceOutcome:
    """Store a source's events unless its fetch failed or looks suspect; log the fetch either way."""
    report = run.report
    outcome: SourceOutcome
    if run.events is None:
        outcome = SourceOutcome(report, "failed", report.error)
    else:
        previous = store.upcoming(report.name, now.date())
        fresh = sum(1 for e in run.events if e.last_day >= now.date())
        reason = suspect_reason(previous, fresh, health)
        if reason:
            outcome = SourceOutcome(report, "suspect", reason)
        else:
            outcome = SourceOutcome(report, "ok", stats=store.sync_source(report.name, run.events, now, covered))
    store.record_fetch(
        FetchRecord(
            source=report.name,
            started=now,
            outcome=outcome.outcome,
            status=report.status,
            bytes=report.bytes,
            duration=report.seconds,
            events=report.events,
            error=outcome.reason,
        )
    )
    return outcome


def suspect_reason(previous: int, fresh: int, health: HealthSettings) -> str:
    """Why a fetch is too bad to believe (all upcoming events gone, or a sudden large drop), else ""."""
    if previous and not fresh:
        return f"returned no upcoming events (had {previous}); keeping the previous ones"
    if previous >= health.min_events and fresh < previous * (1 - health.max_drop):
        return f"upcoming events dropped from {previous} to {fresh}; keeping the previous ones"
    return ""


@dataclass
class _Merged:
    """The store's events for an issue's span, merged; `dead` are the keys of removed events."""

    result: MergeResult
    dead: set[str]

    def alive(self) -> list[Event]:
        return [event for event in self.result.events if event.key not in self.dead]

    def possible(self, curation: Curation) -> list[PossibleDuplicate]:
        """The doubtful pairs the editor still has to decide."""
        by_key = {event.key: event for event in self.result.events}
        return [
            pair
            for pair in self.result.possible_duplicates
            if pair.first in by_key
            and pair.second in by_key
            and not {pair.first, pair.second} & self.dead
            and not curation.decided(by_key[pair.first].url, by_key[pair.second].url)
        ]

    def merges(self) -> list[dict[str, object]]:
        """Every merge that involved a live record, for events.json."""
        return [asdict(m) for m in self.result.merges if not set(m.records) <= self.dead]


def _merged(config: Config, store: Store, issue_date: date) -> _Merged:
    span = fetch_span(config, issue_date)
    names = [spec.name for spec in config.sources]
    stored = store.events_in(names, span.start - MERGE_MARGIN, span.end + MERGE_MARGIN)
    current = [s.event for s in stored if s.removed_at is None]
    order = {name: index for index, name in enumerate(names)}
    tombstones = sorted(
        (s for s in stored if s.removed_at is not None and s.event.last_day >= span.start),
        key=lambda s: order[s.source],
    )
    dead = {s.event.key for s in tombstones}
    rank = ranker(config.sources)
    # A removed event still takes part in matching, so another source's stale copy cannot resurrect it.
    result = merge([*current, *(s.event for s in tombstones)], lambda e: 2 * rank(e) + (e.key in dead))
    return _Merged(result, dead)


def render(config: Config, store: Store, issue_date: date, now: datetime, curation: Curation) -> Rendered:
    """Merge, curate, window and write-out what the store holds for the configured sources."""
    span = fetch_span(config, issue_date)
    merged = _merged(config, store, issue_date)
    alive = merged.alive()
    curated = curation.apply(alive)
    events = curated.events
    issue = build_issue(events, issue_date, config.weeks, config.states)
    feed_events = in_feed(events, span)
    # UIDs, SEQUENCE and CANCELLED (for what vanished or left a region) come from what the feeds published.
    plan = publication.plan(store.feed_state(), feed_events, (span.start, span.end), now)
    store.save_feed_state(plan.rows)
    since = issue_date - ISSUE_INTERVAL
    possible = merged.possible(curation)
    diff = diff_json_for_run(
        store.issue(since),
        issue.events,
        issue_date=issue_date,
        since=since,
        weeks=config.weeks,
        states=config.states,
        possible=possible,
    )
    store.save_issue(issue_date, issue.events, now)
    health = store.source_health(now)
    block = render_block(issue.window, issue.sections, config.states)
    unplaced = [e for e in issue.events if e.mode is not Mode.VIRTUAL and not e.place]
    review = Review(possible, merged.merges(), unplaced)
    files = _files(config, block, issue, feed_events, plan, review, curated, health, diff)
    return Rendered(block, issue, files, possible, curated, health, review.needs_place)


def write_outputs(config: Config, files: dict[str, bytes]) -> dict[Path, bool]:
    """Replace the whole output set at once (files of events no longer listed go); map paths to whether they changed."""
    return replace_set(config.output_dir, files)


def stale_sources(health: Sequence[SourceHealth], settings: HealthSettings) -> list[str]:
    """Sources whose last good data is older than the configured age (or that never succeeded)."""
    limit = timedelta(hours=settings.stale_after_hours).total_seconds()
    return [h.name for h in health if h.age_seconds is None or h.age_seconds > limit]


def _files(
    config: Config,
    block: str,
    issue: Issue,
    feed_events: list[Event],
    plan: publication.FeedPlan,
    review: Review,
    curated: CurationResult,
    health: list[SourceHealth],
    diff: dict[str, object] | None,
) -> dict[str, bytes]:
    feed = config.feed
    common = {"name": feed.name, "description": feed.description, "refresh": feed.refresh, "states": config.states}
    stale = set(stale_sources(health, config.health))
    revisions = {
        entry.event.key: Revision(entry.sequence, entry.modified, uid=entry.uid)
        for entry in plan.feeds[publication.MAIN]
        if not entry.cancelled
    }
    files = {
        "events.md": block.encode(),
        "events.json": render_json(
            feed_events,
            window=issue.window,
            states=config.states,
            extra={
                "possible_duplicates": [asdict(pair) for pair in review.possible],
                "merges": review.merges,
                "needs_place": [
                    {
                        "key": e.key,
                        "title": e.title,
                        "date": e.first_day.isoformat(),
                        "location": e.location,
                        "url": e.url,
                        "in_block": not needs_place(e, config.states),
                    }
                    for e in review.needs_place
                ],
                "diff": diff,
                "excluded": [
                    {"key": event.key, "title": event.title, "reason": why} for event, why in curated.excluded
                ],
                "unused_curation_rules": curated.unused_rules,
                "sources": [
                    {
                        "name": h.name,
                        "last_outcome": h.last_outcome,
                        "last_error": h.last_error,
                        "events": h.events,
                        "stale": h.name in stale,
                    }
                    for h in health
                    if h.name in {spec.name for spec in config.sources}
                ],
            },
        ).encode(),
    }
    text = FeedText(feed.name, feed.description, feed.refresh)
    writer = FeedWriter(plan.feeds, text=text, states=config.states)
    files.update(writer.files())
    files.update(
        render_site(issue.window, issue.sections, base_url=config.base_url, revisions=revisions, feeds=writer, **common)  # type: ignore[arg-type]
    )
    return files
