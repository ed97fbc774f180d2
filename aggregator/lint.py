"""Check an editor's hand-edited TWiR draft against the house rules, and fix what needs no guessing.

Only the `Upcoming Events` block is read or rewritten: from the `Rusty Events between` line to the
footer. Lines are kept as the editor wrote them; a fix drops, moves, copies or re-orders whole listings.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, cached_property
from itertools import combinations, pairwise
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.grouping import sections_of
from aggregator.model import Event, Mode, Place
from aggregator.places import is_iso_code, states_with_town
from aggregator.regions import REGIONS, UNPLACED, VIRTUAL, continent
from aggregator.urls import canonical_url, meetup_event_id
from aggregator.window import Window, issue_window
from output.markdown import FOOTER, ParsedBlock, ParsedItem, event_lines, read_block

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    from aggregator.merge import PossibleDuplicate

CONTINENTS = REGIONS[1:]
SECTIONS = (*REGIONS, UNPLACED)
# Countries whose state codes are checked even when the setting leaves them out: TWiR has printed them there.
STATE_COUNTRIES = frozenset({"US", "CA", "AU"})
# TWiR prints GB as UK; Kosovo's user-assigned code is the one everybody uses.
EXTRA_CODES = {"UK": "GB", "XK": "XK"}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WINDOW_LINE = re.compile(r"Rusty Events between\s+(\S+)\s*[-\u2013\u2014]\s*(\S+)")
# `Hybrid (Vancouver, BC, CA)`, `Virtual + In Person (Prague, CZ)`; the place may hold parentheses itself.
_MODE_AND_PLACE = re.compile(r"(?P<mode>[^()]*?)\s*\((?P<place>.*)\)")
_BARE_MODES = {"virtual": Mode.VIRTUAL, "online": Mode.VIRTUAL, "hybrid": Mode.HYBRID}
_TOP_BULLET = re.compile(r" ?[*+-][ \t]+(.*)")
_INDENTED_BULLET = re.compile(r"(?: {2,}|\t)[ \t]*[*+-][ \t]+")
_HEADING = re.compile(r"#{1,6}[ \t]")
_FOOTER_START = ("If you are running a Rust event", "[calendar]:")
# The bars after the date and after the place; `\|` is an escaped bar inside a field.
_FIELD_BAR = re.compile(r"(?<!\\)\|")
# A line with one link, so that its text can be re-bolded without guessing: bullet, `[text](target)`.
_ONE_LINK = re.compile(r"(?P<bullet>\s*[*+-]\s+)\[(?P<text>.*)\](?P<target>\([^()\s]*\))(?P<rest>\s*)")
# A line whose one link has no brackets, stars, backslashes or backticks in its text and a plain web target.
_PLAIN_LINK = re.compile(
    r"(?:\s*[*+-]\s+|.*\|\s*)\[(?P<bold>\*\*)?[^\[\]*\\`<>_]+(?(bold)\*\*)\]"
    r"\((?P<target>https?://[^\s()<>\\]+)\)\s*"
)
_BOLD_ORGANIZER = re.compile(r"\|(?P<gap>\s*)\[\*\*(?P<text>[^\]*]*)\*\*\]\(")
# Online rooms that really recur under one link: the same link on several dates is not a pasting slip there.
_ROOM_HOSTS = (
    "jit.si",
    "jitsi.org",
    "zoom.us",
    "meet.google.com",
    "teams.microsoft.com",
    "teams.live.com",
    "whereby.com",
    "discord.gg",
    "discord.com",
    "twitch.tv",
    "youtube.com",
    "youtu.be",
    "webex.com",
    "gather.town",
)
# One pass can join an event line to a title line that a blank line used to separate; the next settles it.
_FIX_PASSES = 3


@dataclass(frozen=True)
class Problem:
    """One finding at a 1-based line; `fixable` when `fix` repairs it, `cosmetic` when readers would never see it."""

    line: int
    code: str
    message: str
    fixable: bool
    cosmetic: bool = False


@dataclass(frozen=True)
class LintReport:
    """Every problem found, by line, and the window the draft was checked against (None when unknown)."""

    problems: list[Problem]
    window: Window | None


@dataclass(frozen=True)
class _Where:
    """The place column read back: how people attend and each place it names (`A, WA, US; B, CA, US`)."""

    mode: Mode
    places: tuple[tuple[str, ...], ...]

    @property
    def parts(self) -> tuple[str, ...]:
        """The first place: the one that decides the listing's continent."""
        return self.places[0] if self.places else ()

    @property
    def country(self) -> str:
        return self.parts[-1].upper() if len(self.parts) >= 2 else ""

    @property
    def state(self) -> str:
        return self.parts[-2].upper() if len(self.parts) >= 3 else ""


@dataclass(eq=False)
class _Unit:
    """A listing as written (event and title line) and the unreadable lines that follow it."""

    item: ParsedItem
    where: _Where
    section: str
    lines: tuple[str, str]
    order: int
    raw: tuple[str, str] = ("", "")
    extra: list[str] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.item.line

    @property
    def sort_key(self) -> tuple[date, str]:
        return self.item.first_day, self.item.where

    @cached_property
    def link(self) -> str:
        return canonical_url(self.item.url)

    @cached_property
    def meetup(self) -> tuple[str, str] | None:
        return meetup_event_id(self.item.url)


@dataclass
class _Section:
    """A `### ` header as written (none for the part above the first header) and what follows it."""

    name: str
    header: int
    text: str
    head: list[str] = field(default_factory=list)
    units: list[_Unit] = field(default_factory=list)


@dataclass
class _Draft:
    """The draft's lines and its block taken apart; `start`/`end` are the block's 1-based bounds."""

    lines: list[str]
    start: int
    end: int
    window_line: str
    sections: list[_Section]
    malformed: list[Problem]
    footer: bool

    @property
    def units(self) -> list[_Unit]:
        return [unit for section in self.sections for unit in section.units]


@dataclass(frozen=True)
class _Placement:
    """A listing placed under a section: where it was found, moved there, or copied there (a hybrid's twin)."""

    unit: _Unit
    copy: bool = False


@dataclass
class _Plan:
    """What the draft should become: the window line and, per section, the listings placed there."""

    window_line: str
    placed: dict[str, list[_Placement]]
    problems: list[Problem]


def lint(
    draft: str,
    *,
    issue_date: date | None,
    weeks: int,
    states: Collection[str],
    known: Sequence[Event] = (),
    possible: Sequence[PossibleDuplicate] = (),
) -> LintReport:
    """Every problem in the draft's block; the issue date comes from its window line when `issue_date` is None."""
    parsed = _read(draft)
    if parsed is None:
        return LintReport(
            [Problem(1, "no-block", "no `Rusty Events between` line: the draft has no events block", False)], None
        )
    window, plan = _plan(parsed, issue_date, weeks, states, listed=_listed_days(known))
    problems = plan.problems + _possible(parsed, known, possible)
    if window is not None:
        problems += _missing(parsed, window, known, states)
    return LintReport(sorted(problems, key=lambda p: (p.line, p.code, p.message)), window)


def fix(
    draft: str,
    *,
    issue_date: date | None,
    weeks: int,
    states: Collection[str],
    known: Sequence[Event] = (),
    possible: Sequence[PossibleDuplicate] = (),
) -> str:
    """The draft with its block repaired; everything outside the block stays byte-identical.

    `known` and `possible` are accepted for symmetry with `lint`: missing events are reported, never invented.
    """
    for _ in range(_FIX_PASSES):
        fixed = _fix_once(draft, issue_date, weeks, states)
        if fixed == draft:
            break
        draft = fixed
    return draft


def _fix_once(draft: str, issue_date: date | None, weeks: int, states: Collection[str]) -> str:
    parsed = _read(draft)
    if parsed is None:
        return draft
    _, plan = _plan(parsed, issue_date, weeks, states)
    raw = draft.splitlines(keepends=True)
    window_raw = raw[parsed.start - 1]
    newline = window_raw[len(parsed.lines[parsed.start - 1]) :] or "\n"
    body = _layout(parsed, plan)
    at_end = parsed.end > len(raw)
    if at_end:
        while body and not body[-1]:
            body.pop()
        text = newline.join(body) + (newline if raw[-1] != raw[-1].rstrip("\r\n") else "")
    else:
        text = "".join(line + newline for line in body)
    return "".join(raw[: parsed.start - 1]) + text + "".join(raw[parsed.end - 1 :])


def _layout(parsed: _Draft, plan: _Plan) -> list[str]:
    """The block's lines: window line, then each non-empty section with one blank line before each header."""
    headers: dict[str, str] = {}
    for section in parsed.sections:
        written = section.text if section.name not in SECTIONS or section.text == f"### {section.name}" else ""
        headers.setdefault(section.name, written or f"### {section.name}")
    heads, extras = _unreadable_lines(parsed, plan)
    body = [plan.window_line, ""]
    for name in _section_order(parsed, plan):
        content = list(heads.get(name, []))
        for placement in sorted(plan.placed.get(name, []), key=lambda p: (*p.unit.sort_key, p.unit.order)):
            content.extend(placement.unit.lines)
            if not placement.copy:
                content.extend(extras[placement.unit.order])
        if not content:
            continue
        if name:
            body.append(headers.get(name, f"### {name}"))
        body.extend([*content, ""])
    if not parsed.footer:
        body.extend([*FOOTER.splitlines(), ""])
    return body


def _unreadable_lines(parsed: _Draft, plan: _Plan) -> tuple[dict[str, list[str]], dict[int, list[str]]]:
    """Where unreadable lines go: to the top of their section, or with the listing above them.

    They travel with a moved listing; a dropped listing leaves its own to the one before it in the section.
    """
    staying = {p.unit.order for name, ps in plan.placed.items() for p in ps if not p.copy and p.unit.section == name}
    moved = {p.unit.order for ps in plan.placed.values() for p in ps if not p.copy} - staying
    heads: dict[str, list[str]] = {}
    extras: dict[int, list[str]] = {order: [] for order in staying | moved}
    for section in parsed.sections:
        here = heads.setdefault(section.name, [])
        here.extend(section.head)
        for unit in section.units:
            if unit.order in staying:
                here = extras[unit.order]
            (extras[unit.order] if unit.order in moved else here).extend(unit.extra)
    return heads, extras


def _section_order(parsed: _Draft, plan: _Plan) -> list[str]:
    """Text above the first header, then TWiR's sections, then unknown headers in the order written."""
    names = [section.name for section in parsed.sections]
    return sorted(dict.fromkeys(names + list(plan.placed)), key=lambda name: _rank(name, names))


def _rank(name: str, names: Sequence[str]) -> tuple[int, int]:
    if not name:
        return -1, 0
    if name in SECTIONS:
        return SECTIONS.index(name), 0
    return len(SECTIONS), names.index(name) if name in names else len(names)


# Reading the draft


def _read(draft: str) -> _Draft | None:
    block = read_block(draft)
    if block.start == 0:
        return None
    lines = draft.splitlines()
    footer = block.end <= len(lines) and lines[block.end - 1].startswith(_FOOTER_START)
    end = block.end if footer else _footerless_end(block.end, block.headers, block.items)
    listings = {item.line: item for item in block.items if _is_listing(item) and item.line < end}
    title_lines = {item.title_line for item in listings.values()}
    others = {item.line: item for item in block.items if item.line not in listings}
    headers = dict(block.headers)
    sections = [_Section("", 0, "")]
    malformed = [Problem(n, "malformed", _diagnose(lines[n - 1]), False) for n in block.unreadable if n < end]
    malformed += [Problem(n, "whitespace", "line holds only spaces", True, True) for n in _blank_ish(lines, block, end)]
    for number in range(block.start + 1, end):
        line = lines[number - 1]
        current = sections[-1]
        if number in headers:
            sections.append(_Section(_section_name(headers[number]), number, line.rstrip()))
        elif number in title_lines or not line.strip():
            continue
        elif item := listings.get(number):
            title = lines[item.title_line - 1] if item.title_line else ""
            unit = _Unit(item, _read_where(item.where), current.name, _repaired(line, title), number, raw=(line, title))
            current.units.append(unit)
        else:
            if broken := others.get(number):
                malformed.append(Problem(number, "malformed", _broken_listing(broken), False))
            (current.units[-1].extra if current.units else current.head).append(line)
    return _Draft(lines, block.start, end, lines[block.start - 1], sections, malformed, footer)


def _footerless_end(end: int, headers: Sequence[tuple[int, str]], items: Sequence[ParsedItem]) -> int:
    """Where a block without its footer stops: at a header no TWiR section has (`### Jobs`) after the last listing."""
    last = max((item.title_line or item.line for item in items), default=0)
    return next((n for n, name in headers if n > last and _section_name(name) not in SECTIONS), end)


def _blank_ish(lines: Sequence[str], block: ParsedBlock, end: int) -> list[int]:
    return [n for n in range(block.start + 1, end) if lines[n - 1] and not lines[n - 1].strip()]


def _section_name(written: str) -> str:
    """TWiR's section a header means (`Africa:`, `north america` -> its name), else the header as written."""
    wanted = " ".join(written.strip(" :.#*").casefold().split())
    return next((name for name in SECTIONS if name.casefold() == wanted), written)


def _is_listing(item: ParsedItem) -> bool:
    return item.title_line is not None and item.first_day <= item.last_day


def _broken_listing(item: ParsedItem) -> str:
    if item.first_day > item.last_day:
        return f"event ends ({item.last_day}) before it starts ({item.first_day})"
    return "event line without its title line (`    * [**title**](link)` on the next line)"


def _diagnose(line: str) -> str:
    """Why a line in the block could not be read as a header, an event line or its title line."""
    if _INDENTED_BULLET.match(line):
        return "title line without its event line above it"
    bullet = _TOP_BULLET.fullmatch(line.rstrip())
    if not bullet:
        return f"unreadable line in the events block: `{line.strip()[:60]}`"
    cells = bullet.group(1).split("|")
    if len(cells) < 3:
        return "event line needs `date | place | [organizer](link)`"
    for token in re.split(r"\s+[-\u2013\u2014]\s+", cells[0].strip()):
        if not _ISO_DATE.fullmatch(token):
            return f"bad date `{token}` (expected YYYY-MM-DD)"
        try:
            date.fromisoformat(token)
        except ValueError:
            return f"bad date `{token}`: no such day"
    return "unreadable event line"


def _read_where(text: str) -> _Where:
    text = text.strip()
    mode: Mode | None = _BARE_MODES.get(text.casefold())
    place = "" if mode else text
    match = _MODE_AND_PLACE.fullmatch(text)
    if mode is None and match:
        mode = _mode_words(match.group("mode"))
        place = match.group("place") if mode else text
    places = tuple(tuple(part.strip() for part in one.split(",")) for one in place.split(";") if one.strip())
    return _Where(mode or Mode.IN_PERSON, places)


def _mode_words(words: str) -> Mode | None:
    words = words.casefold()
    remote = "virtual" in words or "online" in words
    if "hybrid" in words or (remote and "person" in words):
        return Mode.HYBRID
    return Mode.VIRTUAL if remote else None


# Checking


def _plan(
    parsed: _Draft,
    issue_date: date | None,
    weeks: int,
    states: Collection[str],
    listed: Mapping[str, Set[date]] | None = None,
) -> tuple[Window | None, _Plan]:
    window, window_line, problems = _check_window_line(parsed, issue_date, weeks)
    problems += parsed.malformed
    with_states = STATE_COUNTRIES | {code.upper() for code in states}
    problems += [problem for unit in parsed.units for problem in _check_place(unit, with_states)]
    problems += [problem for unit in parsed.units for problem in _check_lines(unit)]
    problems += _check_sections(parsed)
    problems += _check_footer(parsed)
    problems += _check_reused_links(parsed.units, listed or {})
    units = parsed.units
    if window is not None:
        outside = [unit for unit in units if not _overlaps(unit, window)]
        problems += [_outside(unit, window) for unit in outside]
        units = [unit for unit in units if _overlaps(unit, window)]
    placed: dict[str, list[_Placement]] = {}
    for members in _groups(units):
        problems += _place_group(members, placed)
    problems += _check_order(placed)
    return window, _Plan(window_line, placed, problems)


def _check_window_line(parsed: _Draft, issue_date: date | None, weeks: int) -> tuple[Window | None, str, list[Problem]]:
    line = parsed.window_line
    match = _WINDOW_LINE.match(line)
    written = [_iso(match.group(1)), _iso(match.group(2))] if match else [None, None]
    start = issue_date or written[0]
    if start is None:
        message = "window line unreadable: expected `Rusty Events between YYYY-MM-DD - YYYY-MM-DD 🦀`"
        return None, line, [Problem(parsed.start, "window-line", message, False)]
    window = issue_window(start, weeks)
    expected = f"Rusty Events between {window.start.isoformat()} - {window.end.isoformat()} \N{CRAB}"
    if line.rstrip() == expected:
        return window, line, []
    return window, expected, [Problem(parsed.start, "window-line", f"window line should read `{expected}`", True)]


def _iso(text: str) -> date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _check_place(unit: _Unit, with_states: Collection[str]) -> list[Problem]:
    where = unit.where
    if where.mode is Mode.HYBRID and not where.places:
        return [Problem(unit.line, "hybrid-no-place", "`Hybrid` without its place: `Hybrid (City, CC)`", False)]
    if where.mode is not Mode.IN_PERSON and len(where.parts) < 2:
        return []
    if not where.places:
        return [Problem(unit.line, "unknown-country", "no place given, so no country code (`City, CC`)", False)]
    return [problem for parts in where.places for problem in _check_one_place(unit.line, parts, with_states)]


def _check_one_place(line: int, parts: tuple[str, ...], with_states: Collection[str]) -> list[Problem]:
    """One `City, [State,] CC` of a listing: the country code, the state code, and that the city lies in the state."""
    if len(parts) < 2:
        return [Problem(line, "unknown-country", f"place `{', '.join(parts)}` has no country code (`City, CC`)", False)]
    code = parts[-1].upper()
    country = _country(code)
    if country is None:
        return [Problem(line, "unknown-country", f"`{parts[-1]}` is not an ISO 3166 country code", False)]
    state = parts[-2].upper() if len(parts) >= 3 else ""
    if not state or country not in with_states:
        return []
    if not is_iso_code(f"{country}-{state}"):
        return [Problem(line, "unknown-state", f"`{parts[-2]}` is not a state or province of {code}", False)]
    # Only a city that exists under this name (main or other name) in some state, and in none of them the printed one.
    homes = states_with_town(parts[0], country)
    if homes and state not in homes:
        message = f"{parts[0]} is in {'/'.join(sorted(homes))}, not {state}"
        return [Problem(line, "wrong-state", message, False)]
    return []


def _country(code: str) -> str | None:
    """The ISO alpha-2 code behind a printed country code, or None when it names no country."""
    if code in EXTRA_CODES:
        return EXTRA_CODES[code]
    return code if len(code) == 2 and is_iso_code(code) else None


def _check_sections(parsed: _Draft) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    names = [section.name for section in parsed.sections]
    highest = (-1, 0)
    for section in parsed.sections[1:]:
        name = section.name
        if name not in SECTIONS:
            message = f"`{name}` is not a TWiR section ({', '.join(SECTIONS)})"
            problems.append(Problem(section.header, "unknown-section", message, False))
        elif section.text != f"### {name}":
            message = f"header `{section.text}` should read `### {name}`"
            problems.append(Problem(section.header, "section-header", message, True))
        if name in seen:
            message = f"second `### {name}` header (first at line {seen[name]}): merge them"
            problems.append(Problem(section.header, "duplicate-section", message, True))
            continue
        seen[name] = section.header
        # An unknown header is reported once as such; ranking it would report every later header as out of order.
        rank = _rank(name, names)
        if name in SECTIONS and rank < highest:
            message = f"section `{name}` is out of order: TWiR lists {', '.join(REGIONS)}"
            problems.append(Problem(section.header, "section-order", message, True))
        if name in SECTIONS:
            highest = max(highest, rank)
        if not any(other.head or other.units for other in parsed.sections if other.name == name):
            problems.append(Problem(section.header, "empty-section", f"empty section `{name}`: leave it out", True))
    return problems


def _check_footer(parsed: _Draft) -> list[Problem]:
    """The footer must be there, after a blank line: a line right after the last listing would join it."""
    if not parsed.footer:
        where = "the end of the file" if parsed.end > len(parsed.lines) else f"`{parsed.lines[parsed.end - 1].strip()}`"
        message = f"the events block has no footer: it runs into {where}"
        return [Problem(min(parsed.end, len(parsed.lines)), "no-footer", message, True)]
    if not parsed.lines[parsed.end - 2].strip():
        return []
    if _HEADING.match(parsed.lines[parsed.end - 1]):
        return []
    message = "no blank line before the footer: it would run into the last listing"
    return [Problem(parsed.end, "blank-line", message, True)]


def _overlaps(unit: _Unit, window: Window) -> bool:
    return unit.item.first_day <= window.end and unit.item.last_day >= window.start


def _outside(unit: _Unit, window: Window) -> Problem:
    item = unit.item
    if item.last_day < window.start:
        message = f"event on {item.last_day} ended before the issue date {window.start}"
    else:
        message = f"event on {item.first_day} starts after the window ends ({window.end})"
    return Problem(unit.line, "outside-window", message, True)


def _same(a: _Unit, b: _Unit) -> str:
    """Why two listings are one event (same link, or a meetup series placeholder and its occurrence), else ""."""
    if not _days_meet(a.item, b.item):
        return ""
    if a.link and a.link == b.link:
        return "same link"
    if _placeholder_pair(a, b):
        return "same meetup group and day"
    if not a.link and not b.link and _rstripped(a.lines) == _rstripped(b.lines):
        return "identical lines"
    return ""


def _placeholder_pair(a: _Unit, b: _Unit) -> bool:
    """One meetup occurrence under its series placeholder and its numeric id; two numeric ids are two events."""
    if a.meetup is None or b.meetup is None or a.meetup[0] != b.meetup[0] or a.item.first_day != b.item.first_day:
        return False
    return not (a.meetup[1].isdigit() and b.meetup[1].isdigit())


def _days_meet(a: ParsedItem | Event, b: ParsedItem | Event) -> bool:
    return a.first_day <= b.last_day and b.first_day <= a.last_day


def _rstripped(lines: tuple[str, str]) -> tuple[str, str]:
    return lines[0].rstrip(), lines[1].rstrip()


def _groups(units: list[_Unit]) -> list[list[_Unit]]:
    """Listings that are one event, in the order of their first listing."""
    parent = list(range(len(units)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i, j in combinations(range(len(units)), 2):
        if _same(units[i], units[j]):
            parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[_Unit]] = {}
    for index, unit in enumerate(units):
        groups.setdefault(root(index), []).append(unit)
    return list(groups.values())


def _targets(unit: _Unit) -> tuple[str, ...]:
    """The sections a listing belongs under: a continent the editor chose stands when the country is unknown."""
    home = continent(_country(unit.where.country) or "") or (unit.section if unit.section in CONTINENTS else None)
    if unit.where.mode is Mode.VIRTUAL:
        return (VIRTUAL,)
    if unit.where.mode is Mode.HYBRID:
        return (VIRTUAL, home) if home else (VIRTUAL,)
    return (home or UNPLACED,)


def _place_group(members: list[_Unit], placed: dict[str, list[_Placement]]) -> list[Problem]:
    """Put one event's listings where they belong: one per section, moved or copied as needed, extras dropped."""
    targets = {unit.order: _targets(unit) for unit in members}
    wanted = sorted({name for names in targets.values() for name in names}, key=lambda name: (_rank(name, ()), name))
    chosen: dict[str, _Unit] = {}
    for name in wanted:
        # Where a hybrid and a plain listing share a section, the plain one stays and the hybrid can move on.
        here = [u for u in members if u.section == name and name in targets[u.order]]
        if here:
            chosen[name] = min(here, key=lambda u: (len(targets[u.order]) > 1, u.order))
    problems: list[Problem] = []
    copies: list[str] = []
    # A listing under a wrong section moves, to its continent before Virtual; a hybrid's missing twin is a
    # copy, so both read the same; a second listing in an already served section moves as a last resort.
    for name in sorted(wanted, key=lambda name: name == VIRTUAL):
        if name in chosen:
            continue
        spares = [u for u in members if u not in chosen.values() and name in targets[u.order]]
        misplaced = next((u for u in spares if u.section not in targets[u.order]), None)
        source = next((u for u in chosen.values() if name in targets[u.order]), None)
        if misplaced is None and source is not None:
            listed = next(other for other, unit in chosen.items() if unit is source)
            message = f"hybrid event listed only under {listed}: list it under {name} too"
            problems.append(Problem(source.line, "hybrid-once", message, True))
            copies.append(name)
        chosen[name] = misplaced or source or spares[0]
        if chosen[name] is not source:
            problems.append(_moved(chosen[name], name, targets[chosen[name].order]))
    for name, unit in chosen.items():
        placed.setdefault(name, []).append(_Placement(unit, copy=name in copies))
    for unit in members:
        if unit not in chosen.values():
            keeper = chosen.get(unit.section) or chosen[targets[unit.order][0]]
            reason = _same(unit, keeper) or "same event"
            problems.append(Problem(unit.line, "duplicate", f"duplicate of line {keeper.line} ({reason})", True))
    return problems


def _moved(unit: _Unit, name: str, targets: tuple[str, ...]) -> Problem:
    section, where = unit.section, unit.item.where
    if section in targets:
        message = f"hybrid event listed twice under {section} and not under {name}"
        return Problem(unit.line, "hybrid-once", message, True)
    if section in CONTINENTS and name in CONTINENTS:
        message = f"`{where}` is in {name}, not {section}"
        return Problem(unit.line, "wrong-continent", message, True)
    if not section:
        message = f"listed above the first section header: belongs under {name}"
    elif unit.where.mode is Mode.VIRTUAL:
        message = f"virtual event `{where}` under {section}: belongs under {VIRTUAL} only"
    elif section == VIRTUAL:
        message = f"in-person event `{where}` under {VIRTUAL}: belongs under {name}"
    else:
        message = f"listed under `{section}`: belongs under {name}"
    return Problem(unit.line, "wrong-section", message, True)


def _check_order(placed: dict[str, list[_Placement]]) -> list[Problem]:
    """Listings that stay in their section must already run by date, then by place text."""
    problems = []
    for name, placements in placed.items():
        staying = sorted((p.unit for p in placements if not p.copy and p.unit.section == name), key=lambda u: u.order)
        for before, unit in pairwise(staying):
            if unit.sort_key < before.sort_key:
                message = f"{_when_where(unit)} listed after line {before.line} ({_when_where(before)})"
                problems.append(Problem(unit.line, "out-of-order", message, True))
    return problems


def _when_where(unit: _Unit) -> str:
    return f"{unit.item.first_day} `{unit.item.where}`"


def _repaired(event_line: str, title_line: str) -> tuple[str, str]:
    """The listing's lines with what needs no guessing mended: spaces before `|`, bold only the title, all of it."""
    for at in reversed(_tight_bars(event_line)):
        event_line = event_line[:at] + " " + event_line[at:]
    event_line = _BOLD_ORGANIZER.sub(lambda m: f"|{m['gap']}[{m['text']}](", event_line, count=1)
    one = _ONE_LINK.fullmatch(title_line)
    if one and len(_links(title_line)) == 1 and not _title_bold(title_line):
        text = one["text"].replace("**", "").strip()
        title_line = f"{one['bullet']}[**{text}**]{one['target']}{one['rest']}"
    return event_line, title_line


def _tight_bars(event_line: str) -> list[int]:
    """Where the bars after the date and after the place have no space before them."""
    bars = [match.start() for match in _FIELD_BAR.finditer(event_line)][:2]
    return [at for at in bars if at and not event_line[at - 1].isspace()]


def _title_bold(title_line: str) -> bool:
    """Every link text of the title line is bold as a whole, judged on the text when the line has one link."""
    links = _links(title_line)
    one = _ONE_LINK.fullmatch(title_line)
    if one is None or len(links) != 1:
        return all(bold for _, bold in links)
    text = one["text"]
    return len(text) >= 4 and text.startswith("**") and text.endswith("**")


def _check_lines(unit: _Unit) -> list[Problem]:
    """The two lines of a listing as markdown: link targets, bold title, plain organizer, spaced bars."""
    event_line, title_line = unit.raw
    fixed_event, fixed_title = unit.lines
    problems = []
    if _tight_bars(event_line):
        problems.append(Problem(unit.line, "spacing", "no space before `|`", True, True))
    organizer_links = _links(event_line)
    for href, _ in organizer_links:
        problems += _check_target(unit.line, "organizer", href)
    if any(bold for _, bold in organizer_links):
        fixable = not any(bold for _, bold in _links(fixed_event))
        problems.append(Problem(unit.line, "bold-organizer", "the organizer is bold: only the title is", fixable))
    title_links = _links(title_line)
    number = unit.item.title_line or unit.line
    if not title_links:
        problems.append(Problem(number, "bad-link", "the title has no link: `[**title**](event link)`", False))
    for href, _ in title_links:
        problems += _check_target(number, "title", href)
    if title_links and not _title_bold(title_line):
        fixable = _title_bold(fixed_title)
        problems.append(Problem(number, "not-bold", "the title is not fully bold: `[**title**](link)`", fixable))
    return problems


def _check_target(line: int, what: str, href: str) -> list[Problem]:
    if not href.strip():
        return [Problem(line, "bad-link", f"the {what} link is empty: `[...]()`", False)]
    parts = urlsplit(href)
    if (parts.scheme in ("http", "https") and parts.netloc) or (parts.scheme == "mailto" and parts.path):
        return []
    return [Problem(line, "bad-link", f"the {what} link `{href[:60]}` is not an absolute web address", False)]


def _links(line: str) -> list[tuple[str, bool]]:
    """Each link of a line as markdown reads it: its target, and whether its whole text is bold."""
    if plain := _PLAIN_LINK.fullmatch(line):
        # Most lines are simple enough to read without a markdown parser.
        return [(plain["target"], bool(plain["bold"]))]
    links: list[tuple[str, bool]] = []
    inside: list[Token] = []
    href = ""
    for token in _inline_tokens(line):
        if token.type == "link_open":
            href, inside = str(token.attrs.get("href", "")), []
        elif token.type == "link_close":
            links.append((href, _all_bold(inside)))
        elif token.type != "text" or token.content:
            inside.append(token)
    return links


def _all_bold(tokens: Sequence[Token]) -> bool:
    types = [token.type for token in tokens]
    wrapped = len(types) >= 2 and types[0] == "strong_open" and types[-1] == "strong_close"
    return wrapped and types.count("strong_open") == 1


def _inline_tokens(line: str) -> list[Token]:
    parsed = _markdown().parseInline(line.strip().lstrip("*+-").strip())
    return list(parsed[0].children or []) if parsed else []


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _check_reused_links(units: Sequence[_Unit], listed: Mapping[str, Set[date]]) -> list[Problem]:
    """One event link on two dates: usually a link pasted under the wrong event.

    Online rooms recur, and so may a link that the sources themselves give on both dates (one page for a series).
    """
    first: dict[str, _Unit] = {}
    problems = []
    for unit in units:
        # A meetup series placeholder (`/events/wqzhftyjcmbdb/`) stands for every occurrence of its series.
        series = unit.meetup is not None and not unit.meetup[1].isdigit()
        if not unit.link or series or _is_room(unit.item.url):
            continue
        earlier = first.setdefault(unit.link, unit)
        if earlier is unit or _days_meet(earlier.item, unit.item):
            continue
        if {earlier.item.first_day, unit.item.first_day} <= listed.get(unit.link, set()):
            continue
        when = earlier.item.first_day
        message = f"same event link as line {earlier.line} ({when}): pasted under the wrong event?"
        problems.append(Problem(unit.line, "reused-link", message, False))
    return problems


def _listed_days(known: Sequence[Event]) -> dict[str, set[date]]:
    """The days on which the sources give each event link."""
    days: dict[str, set[date]] = {}
    for event in known:
        if event.url:
            days.setdefault(canonical_url(event.url), set()).add(event.first_day)
    return days


def _is_room(url: str) -> bool:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return any(host == room or host.endswith("." + room) for room in _ROOM_HOSTS)


# Comparing with the store


def _as_event(unit: _Unit) -> Event:
    """A listing read back as an event, so merge's matching can compare it with the store's."""
    item, where = unit.item, unit.where
    country = _country(where.country) or ""
    city = where.parts[0] if where.parts else ""
    return Event(
        key=f"draft:{item.line}",
        source="draft",
        title=item.title,
        start=item.first_day,
        end=item.last_day + timedelta(days=1),
        timezone="",
        mode=where.mode,
        place=Place(city=city, state=where.state, country=country),
        url=item.url,
        organizer=item.organizer,
        organizer_url=item.organizer_url,
    )


def _match(event: Event, units: Sequence[tuple[_Unit, Event]]) -> _Unit | None:
    """The listing of a store event: the one with its link, else the first merge calls the same event."""
    from aggregator.merge import compare

    link = canonical_url(event.url)
    by_link = next((unit for unit, _ in units if link and link == unit.link), None)
    if by_link is not None:
        return by_link
    return next(
        (unit for unit, listed in units if _days_meet(event, listed) and compare(event, listed)[0] == "same"), None
    )


def _missing(parsed: _Draft, window: Window, known: Sequence[Event], states: Collection[str]) -> list[Problem]:
    """Store events of the window the draft lacks, reported at the section they belong in."""
    units = [(unit, _as_event(unit)) for unit in parsed.units]
    problems = []
    for event in known:
        sections = sections_of(event)
        if not sections or not window.overlaps(event) or _match(event, units):
            continue
        line = _section_line(parsed, sections[0])
        event_line, title_line = event_lines(event, states)
        message = f"not in the draft, belongs under {sections[0]}: `{event_line}` `{title_line.strip()}`"
        problems.append(Problem(line, "missing", message, False))
    return problems


def _section_line(parsed: _Draft, name: str) -> int:
    """The header of section `name`, else of the section it would precede, else the footer."""
    names = [section.name for section in parsed.sections]
    later = [
        section for section in parsed.sections if section.header and _rank(section.name, names) >= _rank(name, names)
    ]
    if later:
        return min(later, key=lambda section: (_rank(section.name, names), section.header)).header
    return min(parsed.end, len(parsed.lines))


def _possible(parsed: _Draft, known: Sequence[Event], possible: Sequence[PossibleDuplicate]) -> list[Problem]:
    """Pairs the merge was unsure of, when the draft lists both."""
    by_key = {event.key: event for event in known}
    units = [(unit, _as_event(unit)) for unit in parsed.units]
    problems = []
    for pair in possible:
        if pair.first not in by_key or pair.second not in by_key:
            continue
        first, second = _match(by_key[pair.first], units), _match(by_key[pair.second], units)
        if first is None or second is None or first is second or _same(first, second):
            continue
        earlier, later = sorted((first, second), key=lambda u: u.line)
        message = f"possibly the same event as line {earlier.line}: {pair.reason}"
        problems.append(Problem(later.line, "possible-duplicate", message, False))
    return problems
