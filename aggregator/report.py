"""Plain-text reports for people: the end-of-run summary and the `status` table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aggregator.config import HealthSettings
from aggregator.job import JobResult, stale_sources
from aggregator.store import SourceHealth
from aggregator.text import printable, terminal_safe
from output.html import EVENTS_DIR
from output.markdown import needs_place

# `status` exit codes, for monitoring checks.
STATUS_OK, STATUS_DEGRADED, STATUS_DOWN = 0, 1, 3
ERROR_LIMIT = 200


def run_summary(result: JobResult, health: HealthSettings, output_dir: Path) -> str:
    """One screen: sources ok / stale / failed, events added / changed / removed, what needs the editor."""
    outcomes = result.outcomes
    stale = set(stale_sources(result.rendered.health, health))
    failed = [o for o in outcomes if o.outcome != "ok"]
    ok = len(outcomes) - len(failed)
    totals = [sum(getattr(o.stats, name) for o in outcomes if o.stats) for name in ("added", "changed", "removed")]
    listed = len(result.rendered.issue.events)
    count = {kind: sum(o.outcome == kind for o in outcomes) for kind in ("failed", "suspect")}
    lines = [
        f"sources: {ok} ok, {len(stale & {o.report.name for o in outcomes})} stale, "
        f"{count['failed']} failed, {count['suspect']} suspect"
        f" | events: {totals[0]} added, {totals[1]} changed, {totals[2]} removed | {listed} in this issue",
    ]
    if result.collected.stopped:
        lines.append(f"fetching stopped early: {result.collected.stopped}; unfinished sources kept their last data")
    down = result.collected.hosts_down
    if down:
        lines.append(f"hosts down ({len(down)}), their other requests skipped in this run:")
        lines += [f"  {host}: {cause}" for host, cause in sorted(down.items())]
    lines += [f"  {o.outcome}: {o.report.name}: {o.reason}" for o in failed]
    pairs = result.rendered.possible_duplicates
    if pairs:
        lines.append(f"possible duplicates ({len(pairs)}), decide in the curation file:")
        lines += [f"  {p.first} ~ {p.second}: {p.reason}" for p in pairs]
    unplaced = result.rendered.needs_place
    if unplaced:
        lines.append(f"no place found ({len(unplaced)}), set one in the curation file:")
        lines += [
            f"  {e.key}: {e.first_day.isoformat()} {e.title!r}"
            + (" (left out of the block)" if needs_place(e, ()) else "")
            for e in unplaced
        ]
    lines += [f"curation: {rule}" for rule in result.rendered.curation.unused_rules]
    changed = [path.relative_to(output_dir).as_posix() for path, did in result.written.items() if did]
    singles = [name for name in changed if name.startswith(f"{EVENTS_DIR}/")]
    if singles:
        changed = [name for name in changed if name not in singles] + [f"{EVENTS_DIR}/*.ics ({len(singles)})"]
    lines.append(f"wrote: {', '.join(changed) if changed else 'nothing (outputs unchanged)'}")
    return printable("\n".join(lines) + "\n")


@dataclass(frozen=True)
class StatusRow:
    """One line of `status`, with how urgent it is."""

    urgency: int
    cells: tuple[str, ...]


def status_table(health: Sequence[SourceHealth], names: Sequence[str], settings: HealthSettings) -> tuple[str, int]:
    """The table of every configured source, most urgent first, and the exit code for monitoring."""
    known = {h.name: h for h in health}
    stale = set(stale_sources(health, settings))
    rows = []
    for name in names:
        h = known.get(name)
        if h is None:
            rows.append(StatusRow(1, (name, "never fetched", "-", "-", "-", "-", "-", "")))
            continue
        state = "ok" if h.last_outcome == "ok" else h.last_outcome
        if name in stale:
            state = "stale" if h.last_success else "never ok"
        urgency = {"never ok": 0, "stale": 1, "failed": 2, "suspect": 2}.get(state, 3)
        rows.append(
            StatusRow(
                urgency,
                (
                    name,
                    state,
                    _ago(h.age_seconds),
                    f"{h.events}",
                    f"{h.bytes:,}",
                    f"{h.duration:.1f}s",
                    h.last_error_at.strftime("%Y-%m-%d %H:%M") if h.last_error_at else "-",
                    terminal_safe(h.last_error, ERROR_LIMIT),
                ),
            )
        )
    rows.sort(key=lambda row: (row.urgency, row.cells[0]))
    header = ("source", "state", "last ok", "events", "bytes", "time", "last error at", "last error")
    table = printable(_columns([header, *(row.cells for row in rows)]))
    healthy = sum(row.urgency == 3 for row in rows)
    code = STATUS_OK if healthy == len(rows) else STATUS_DOWN if healthy == 0 else STATUS_DEGRADED
    return table, code


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    delta = timedelta(seconds=int(seconds))
    if delta < timedelta(hours=1):
        return f"{delta.seconds // 60}m ago"
    if delta < timedelta(days=2):
        return f"{int(delta.total_seconds() // 3600)}h ago"
    return f"{delta.days}d ago"


def _columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return (
        "\n".join(
            "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
            for row in rows
        )
        + "\n"
    )
