"""Put a freshly generated Upcoming Events block into a TWiR draft, keeping listings an editor added by hand.

Only the block changes: from the `Rusty Events between` line (or the start of the section) to the footer's
last link definition. Everything else, line endings included, stays byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from aggregator.regions import REGIONS, UNPLACED
from aggregator.urls import canonical_url
from aggregator.window import Window
from output.markdown import ParsedItem, read_block

_SECTION_HEADING = re.compile(r"##[ \t]+Upcoming Events[ \t#]*")
# The heading that ends the events section: a top- or second-level one (`## Jobs`).
_NEXT_SECTION = re.compile(r"#{1,2}[ \t]")
_BLOCK_START = "Rusty Events between"
_FOOTER_LAST = ("[community]:", "[calendar]:")
# Lines that belong to a block: a section header, a listing, the footer.
_BLOCK_PARTS = ("### ", "* ", "If you are running a Rust event", *_FOOTER_LAST)
_ORDER = (*REGIONS, UNPLACED)
_NAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-this-week-in-rust")
_WINDOW_DATE = re.compile(r"^Rusty Events between\s+(\d{4}-\d{2}-\d{2})", re.MULTILINE)


class UpdateError(Exception):
    """The draft cannot take the block (no events section); the file is left alone."""


@dataclass(frozen=True)
class Change:
    """One listing that is new, dropped, moved (other section or date) or kept by hand, for the summary."""

    day: date
    where: str
    title: str
    section: str


@dataclass(frozen=True)
class Update:
    """The updated draft and what changed in its block."""

    text: str
    new: list[Change]
    dropped: list[Change]
    moved: list[Change]
    kept: list[Change]


@dataclass(frozen=True)
class _Listing:
    """A listing of a block: its two lines as written, where it stands, and how it is recognised."""

    item: ParsedItem
    lines: tuple[str, str]

    @property
    def link(self) -> str:
        return canonical_url(self.item.url)

    @property
    def key(self) -> tuple[str, date]:
        return self.link or f"{self.lines[0].strip()}\n{self.lines[1].strip()}", self.item.first_day

    @property
    def sort_key(self) -> tuple[date, str]:
        return self.item.first_day, self.item.where

    def change(self) -> Change:
        return Change(self.item.first_day, self.item.where, self.item.title, self.item.section)


def update_draft(draft: str, block: str, window: Window, known_links: Collection[str]) -> Update:
    """The draft with `block` (as `render_block` makes it) in place of its own; hand-added listings kept.

    A listing whose link the store knows is the sources' to keep or drop; any other listing inside the
    window was added by hand and stays in its section.
    """
    lines = draft.splitlines(keepends=True)
    heading = next((i for i, line in enumerate(lines) if _SECTION_HEADING.fullmatch(line.rstrip("\r\n"))), None)
    if heading is None:
        raise UpdateError("the draft has no `## Upcoming Events` section: nothing was changed")
    newline = lines[heading][len(lines[heading].rstrip("\r\n")) :] or "\n"
    start, end = _bounds(lines, heading)
    old = _listings("".join(lines[start:end]))
    generated = _listings(block)
    in_block = {listing.key for listing in generated}
    links = {listing.link for listing in generated}
    kept = [
        listing
        for listing in old
        if listing.key not in in_block
        and listing.link not in links
        and listing.link not in known_links
        and listing.item.first_day <= window.end
        and listing.item.last_day >= window.start
    ]
    text = _insert(block, kept)
    if end < len(lines) and lines[end].strip():
        text += "\n"
    if end == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        text = text.removesuffix("\n")
    written = "".join(lines[:start]) + text.replace("\n", newline) + "".join(lines[end:])
    new, moved = [], []
    sections: dict[tuple[str, date], set[str]] = {}
    for listing in old:
        sections.setdefault(listing.key, set()).add(listing.item.section)
    rescheduled = _rescheduled(old, generated)
    for listing in generated:
        if listing.key in sections:
            if listing.item.section not in sections[listing.key]:
                moved.append(listing)
        elif listing.link in rescheduled:
            moved.append(listing)
        else:
            new.append(listing)
    kept_keys = {listing.key for listing in kept}
    dropped = [
        listing
        for listing in old
        if listing.key not in in_block and listing.key not in kept_keys and listing.link not in rescheduled
    ]
    return Update(
        written,
        new=[listing.change() for listing in new],
        dropped=[listing.change() for listing in dropped],
        moved=[listing.change() for listing in moved],
        kept=[listing.change() for listing in kept],
    )


def summary(update: Update) -> str:
    """A few lines for the editor: counts, then each listing that changed."""
    counts = f"{len(update.new)} new, {len(update.dropped)} dropped, {len(update.moved)} moved"
    lines = [f"{counts}, {len(update.kept)} kept by hand (unknown to the sources)"]
    for label, changes in (("new", update.new), ("dropped", update.dropped), ("moved", update.moved)):
        lines += [f"  {label}: {c.day} | {c.where} | {c.title} ({c.section})" for c in changes]
    lines += [f"  kept: {c.day} | {c.where} | {c.title} ({c.section})" for c in update.kept]
    return "\n".join(lines) + "\n"


def _bounds(lines: Sequence[str], heading: int) -> tuple[int, int]:
    """The block's lines [start, end): from the window line to the footer's last link definition."""
    stop = next((i for i in range(heading + 1, len(lines)) if _NEXT_SECTION.match(lines[i])), len(lines))
    start = next((i for i in range(heading + 1, stop) if lines[i].startswith(_BLOCK_START)), None)
    if start is None:
        if any(lines[i].lstrip().startswith(_BLOCK_PARTS) for i in range(heading + 1, stop)):
            raise UpdateError(
                "the events section has listings or a footer but no `Rusty Events between` line: "
                "add that line (or empty the section) so the block's start is known; nothing was changed"
            )
        # No block yet: it goes after the heading and its blank line.
        start = min(heading + 2, stop) if heading + 1 < stop and not lines[heading + 1].strip() else heading + 1
        return start, start
    for marker in _FOOTER_LAST:
        last = next((i for i in range(stop - 1, start, -1) if lines[i].startswith(marker)), None)
        if last is not None:
            return start, last + 1
    # No footer: the block runs to the next section; one blank line before it stays.
    return start, stop - 1 if stop - 1 > start and not lines[stop - 1].strip() else stop


def _listings(text: str) -> list[_Listing]:
    lines = text.splitlines()
    return [
        _Listing(item, (lines[item.line - 1], lines[item.title_line - 1]))
        for item in read_block(text).items
        if item.title_line is not None
    ]


def _rescheduled(old: Sequence[_Listing], generated: Sequence[_Listing]) -> set[str]:
    """Links of one event that moved to another date: one date in the draft, another in the block."""
    days_before: dict[str, set[date]] = {}
    days_after: dict[str, set[date]] = {}
    for listings, days in ((old, days_before), (generated, days_after)):
        for listing in listings:
            if listing.link:
                days.setdefault(listing.link, set()).add(listing.item.first_day)
    return {
        link
        for link, before in days_before.items()
        if len(before) == 1 and len(days_after.get(link, ())) == 1 and before != days_after[link]
    }


def _insert(block: str, kept: Sequence[_Listing]) -> str:
    """The generated block with the kept listings in their sections, by date and place, sections in TWiR order."""
    lines = block.split("\n")
    for listing in kept:
        section = listing.item.section or UNPLACED
        parsed = read_block("\n".join(lines))
        headers = {name: number for number, name in parsed.headers}
        if section in headers:
            mine = [item for item in parsed.items if item.section == section and item.title_line]
            after = [item for item in mine if (item.first_day, item.where) > listing.sort_key]
            last = (mine[-1].title_line or mine[-1].line) if mine else headers[section]
            at = after[0].line - 1 if after else last
            lines[at:at] = list(listing.lines)
            continue
        rank = _ORDER.index(section) if section in _ORDER else len(_ORDER)
        later = [number for name, number in headers.items() if (_ORDER.index(name) if name in _ORDER else rank) > rank]
        at = (min(later) if later else parsed.end) - 1
        lines[at:at] = [f"### {section}", *listing.lines, ""]
    return "\n".join(lines)


def draft_date(name: str, text: str) -> date | None:
    """The issue date a draft names: in its file name (`2026-08-19-this-week-in-rust.md`), else its window line."""
    for pattern, where in ((_NAME_DATE, name), (_WINDOW_DATE, text)):
        if match := pattern.search(where):
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                continue
    return None
