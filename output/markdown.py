"""The TWiR "Upcoming Events" markdown block: render it, and parse a block (ours or an editor's) back."""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

from aggregator.labels import where_label
from aggregator.model import Event
from aggregator.normalize import UNTITLED
from aggregator.urls import display_url
from aggregator.window import Window

FOOTER = (
    "If you are running a Rust event please add it to the [calendar] to get\n"
    "it mentioned here. Please remember to add a link to the event too.\n"
    "Email the [Rust Community Team][community] for access.\n"
    "\n"
    "[calendar]: https://www.google.com/calendar/embed?src=apd9vmbc22egenmtu5l6c5jbfc%40group.calendar.google.com\n"
    "[community]: mailto:community-team@rust-lang.org\n"
)

# Zero-width joiners stay: they hold emoji sequences and some scripts together.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_LINE_BREAK = re.compile(rf"[\s{_CONTROL}]*[{_CONTROL}][\s{_CONTROL}]*")
_PUNCTUATION = frozenset(string.punctuation)
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TAG_START = re.compile(r"[A-Za-z/!?]")
# Characters that could end or split a link destination, or open a code span across the line.
_URL_UNSAFE = frozenset('()<>\\`"')
_WEB_URL = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)

_DATE = r"\d{4}-\d{2}-\d{2}"
_EVENT_LINE = re.compile(rf"^ ?[*+-][ \t]+({_DATE})(?:[ \t]*[-\u2013\u2014][ \t]*({_DATE}))?[ \t]*\|(.*)$")
_TITLE_LINE = re.compile(r"^(?: {2,}|\t)[ \t]*[*+-][ \t]+(.*?)\s*$")
_SECTION = re.compile(r"^###[ \t]+(.*?)[ \t#]*$")
_BLOCK_START = "Rusty Events between"
# The footer's link reference labels, which `[calendar]` anywhere in the block would link to.
_REFERENCES = frozenset(label.casefold() for label in re.findall(r"^\[([^\]]+)\]:", FOOTER, re.MULTILINE))
_BLOCK_END = re.compile(r"^(?:#{1,2}[ \t]|If you are running a Rust event|\[calendar\]:)")


@dataclass(frozen=True)
class ParsedItem:
    """One event listing read back from a block; `line`/`title_line` are 1-based line numbers in the text."""

    line: int
    section: str
    first_day: date
    last_day: date
    where: str
    organizer: str
    organizer_url: str
    title: str
    url: str
    title_line: int | None


@dataclass(frozen=True)
class ParsedBlock:
    """A block read back: listings, `### ` headers and unreadable lines; `start`/`end` bound it (1-based lines).

    `start` is the `Rusty Events between` line (0 when there is none), `end` the first line after the block.
    """

    items: list[ParsedItem]
    headers: list[tuple[int, str]]
    unreadable: list[int]
    start: int
    end: int


def clean_text(text: str) -> str:
    """Drop zero-width spaces, turn line breaks and control characters into one space, trim."""
    return _LINE_BREAK.sub(" ", text.translate(_INVISIBLE)).strip()


def title_text(title: str) -> str:
    """The title as printed: cleaned, or the normalizer's placeholder when nothing is left."""
    return clean_text(title) or UNTITLED


@lru_cache(maxsize=65536)
def web_url(url: str) -> str:
    """The URL if it is http(s), with characters that could break markdown or iCalendar percent-encoded; else ""."""
    url = url.strip()
    if not _WEB_URL.match(url):
        return ""
    # House style whatever the source wrote: meetup links without locale and with the slash, luma.com.
    url = display_url(url) or url
    return "".join(_percent(c) if c in _URL_UNSAFE or c.isspace() or not c.isprintable() else c for c in url)


def render_block(window: Window, sections: Sequence[tuple[str, Sequence[Event]]], states: Collection[str]) -> str:
    """The whole block, from the `Rusty Events between` line to the footer link definitions.

    An in-person event with no place to print is left to the editor's review list (`needs_place`).
    """
    lines = [f"Rusty Events between {window.start.isoformat()} - {window.end.isoformat()} \N{CRAB}", ""]
    for name, listed in sections:
        events = [event for event in listed if not needs_place(event, states)]
        if not events:
            continue
        lines.append(f"### {name}")
        for event in events:
            lines.extend(event_lines(event, states))
        lines.append("")
    return "\n".join(lines) + "\n" + FOOTER


def event_lines(event: Event, states: Collection[str]) -> tuple[str, str]:
    """The event line and the indented title line of one listing."""
    days = event.first_day.isoformat()
    if event.last_day > event.first_day:
        days += f" - {event.last_day.isoformat()}"
    where = _escape(clean_text(where_label(event, states)), extra="|`")
    organizer, organizer_url = organizer_text(event)
    title = f"**{_escape(title_text(event.title))}**"
    return (
        f"* {days} | {where} | {_link(_escape(organizer), organizer_url)}",
        f"    * {_link(title, web_url(event.url))}",
    )


def needs_place(event: Event, states: Collection[str]) -> bool:
    """True when the block would print an empty place field: an in-person event whose place is unknown."""
    return not clean_text(where_label(event, states))


def organizer_text(event: Event) -> tuple[str, str]:
    """The organizer as printed (its name, else its link's host, else the source) and its http(s) link or ""."""
    url = web_url(event.organizer_url)
    return clean_text(event.organizer) or _host(url) or clean_text(event.source), url


def parse_block(text: str) -> list[ParsedItem]:
    """Every listing in the block found in `text` (or in all of `text` when it has no `Rusty Events` line)."""
    return read_block(text).items


def read_block(text: str) -> ParsedBlock:
    """The block found in `text` (or all of `text` when it has no `Rusty Events` line), line by line."""
    lines = text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith(_BLOCK_START)), 0)
    items: list[ParsedItem] = []
    headers: list[tuple[int, str]] = []
    unreadable: list[int] = []
    section = ""
    end = len(lines) + 1
    for number in range(start, len(lines)):
        line = lines[number].rstrip()
        if _BLOCK_END.match(line):
            end = number + 1
            break
        if header := _SECTION.match(line):
            section = header.group(1)
            headers.append((number + 1, section))
            continue
        if item := _parse_event_line(line, number + 1, section):
            items.append(item)
            continue
        title_match = _TITLE_LINE.match(line)
        if title_match and items and items[-1].title_line is None and items[-1].line == number:
            title, url = _parse_field(title_match.group(1), bold=True)
            items[-1] = replace(items[-1], title=title, url=url, title_line=number + 1)
        elif line.strip():
            unreadable.append(number + 1)
    return ParsedBlock(items, headers, unreadable, start, end)


def _parse_event_line(line: str, number: int, section: str) -> ParsedItem | None:
    match = _EVENT_LINE.match(line)
    if not match:
        return None
    try:
        first = date.fromisoformat(match.group(1))
        last = date.fromisoformat(match.group(2)) if match.group(2) else first
    except ValueError:
        return None
    rest = match.group(3)
    split = _unescaped_index(rest, "|")
    if split < 0:
        return None
    organizer, organizer_url = _parse_field(rest[split + 1 :].strip(), bold=False)
    return ParsedItem(
        line=number,
        section=section,
        first_day=first,
        last_day=last,
        where=_unescape(rest[:split].strip()),
        organizer=organizer,
        organizer_url=organizer_url,
        title="",
        url="",
        title_line=None,
    )


def _parse_field(text: str, *, bold: bool) -> tuple[str, str]:
    """Label and link target of `[label](url)` or of plain text (no target)."""
    label, url = _split_link(text) or (text, "")
    if bold:
        label = _strip_bold(label)
    return _unescape(label).strip(), _unescape(url)


def _split_link(text: str) -> tuple[str, str] | None:
    """`[label](url)` as CommonMark reads it: balanced brackets and parentheses, backslash escapes."""
    if not text.startswith("["):
        return None
    label_end = _closing(text, 0, "[", "]")
    if label_end < 0 or text[label_end + 1 : label_end + 2] != "(":
        return None
    url_end = _closing(text, label_end + 1, "(", ")")
    if url_end < 0:
        return None
    url = text[label_end + 2 : url_end].strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1]
    return text[1:label_end], url


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing the one at `start`, or -1."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _strip_bold(label: str) -> str:
    return label[2:-2] if len(label) >= 4 and label.startswith("**") and label.endswith("**") else label


def _unescaped_index(text: str, char: str) -> int:
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == char:
            return index
        else:
            index += 1
    return -1


def _escape(text: str, extra: str = "") -> str:
    """Backslash-escape only what could break the line's link structure; everything else passes through."""
    stars = len(text) - len(text.lstrip("*"))
    trailing = len(text) - len(text.rstrip("*"))
    brackets = _risky_brackets(text)
    out = []
    for index, char in enumerate(text):
        following = text[index + 1 : index + 2]
        if char == "\\":
            # A backslash escapes the next punctuation (or a closing `*` of the bold markers).
            out.append("\\\\" if not following or following in _PUNCTUATION else "\\")
        elif (
            index in brackets
            or char in extra
            or (char == "*" and (index < stars or index >= len(text) - trailing))
            or (char == "<" and _TAG_START.match(following))
        ):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _risky_brackets(text: str) -> set[int]:
    """Positions of brackets that could end the link around the text or make a link of their own.

    Balanced brackets are text in CommonMark (`[Hybrid] Boston Rust Meetup`), unless a `(` or `[` follows
    them or they name one of the block's link references (`[calendar]`): those, and unbalanced ones, count.
    """
    opened: list[int] = []
    risky: set[int] = set()
    for index, char in enumerate(text):
        if char == "[":
            opened.append(index)
        elif char == "]":
            if not opened:
                risky.add(index)
                continue
            start = opened.pop()
            label = " ".join(text[start + 1 : index].casefold().split())
            if text[index + 1 : index + 2] in ("(", "[") or label in _REFERENCES:
                risky.update((start, index))
    return risky | set(opened)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def _link(label: str, url: str) -> str:
    return f"[{label}]({url})" if url else label


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return (host or "").removeprefix("www.")


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
