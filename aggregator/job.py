"""`run` as a library call: collect, build the issue, write events.md, events.ics, regions/ and events.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from aggregator.config import Config
from aggregator.pipeline import Collected, Issue, SourceReport, build_issue, collect, fetch_span, in_feed, merged
from output.files import write_if_changed
from output.ics import render_feed, render_region_feeds
from output.jsonfile import render_json
from output.markdown import render_block
from sources.http import Http


@dataclass
class JobResult:
    """What a run produced: the block, the collection behind it and the files it wrote."""

    block: str
    issue: Issue
    collected: Collected
    written: dict[Path, bool]

    @property
    def all_failed(self) -> bool:
        return bool(self.collected.reports) and not any(r.ok for r in self.collected.reports)


def run_job(config: Config, issue_date: date, http: Http) -> JobResult:
    """Fetch every source and write the outputs of the issue dated `issue_date`."""
    span = fetch_span(config, issue_date)
    collected = collect(config.sources, http, span)
    merge_result = merged(collected.events, config.sources)
    issue = build_issue(merge_result.events, issue_date, config.weeks, config.states)
    block = render_block(issue.window, issue.sections, config.states)
    written: dict[Path, bool] = {}
    if collected.reports and not any(r.ok for r in collected.reports):
        return JobResult(block, issue, collected, written)
    feed_events = in_feed(merge_result.events, span)
    feed = config.feed
    files = {
        "events.md": block.encode(),
        "events.ics": render_feed(
            feed_events, name=feed.name, description=feed.description, refresh=feed.refresh, states=config.states
        ),
        "events.json": render_json(
            feed_events,
            window=issue.window,
            states=config.states,
            extra={
                "sources": [_report_json(r) for r in collected.reports],
                "possible_duplicates": [asdict(pair) for pair in merge_result.possible_duplicates],
            },
        ).encode(),
    }
    regions = render_region_feeds(
        feed_events, name=feed.name, description=feed.description, refresh=feed.refresh, states=config.states
    )
    files.update({f"regions/{slug}.ics": body for slug, body in regions.items()})
    for relative, data in files.items():
        path = config.output_dir / relative
        written[path] = write_if_changed(path, data)
    return JobResult(block, issue, collected, written)


def _report_json(report: SourceReport) -> dict[str, object]:
    fields = ("name", "type", "ok", "error", "events", "dropped", "warnings")
    return {name: getattr(report, name) for name in fields}
