"""Reading free text: ICS descriptions (HTML or plain), their links and organizer, titles, and mode."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from html.parser import HTMLParser

from aggregator.model import Mode
from aggregator.urls import canonical_url, is_streaming_url, safe_url, unwrap_redirect

# Google's editor writes a small set of tags; without one of them the text is plain (Markdown
# from meetup, text from Luma) and a `<https://...>` autolink or a `<3` must survive.
HTML_TAG = re.compile(
    r"</?(?:a|p|br|div|span|b|i|u|em|strong|ul|ol|li|h[1-6]|table|tr|td|th|img|hr|blockquote|pre|code|font)\b[^>]*>",
    re.IGNORECASE,
)
BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote", "pre", "hr"}
)
SKIPPED_TAGS = frozenset({"script", "style"})
# Only complete references: html.unescape alone also reads `&region=` in a plain-text URL as `®ion=`.
ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")

BARE_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
URL_TRAILERS = ".,;:!?)]}>*\"'`\u2019\u201d\u3002\uff0c"
MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")

# Zero-width space, word joiner and BOM never carry meaning in a title; the (non-)joiners
# U+200C/U+200D do inside emoji sequences and Persian or Indic words, so those stay between characters.
ZERO_WIDTH = re.compile(r"[\u200b\u2060\ufeff]|(?:^|(?<=\s))[\u200c\u200d]+|[\u200c\u200d]+(?=\s|$)")

# Bidi embeddings, overrides and isolates can make a title read backwards or hide text next to it.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# What text loses: control characters (Unicode category Cc, all below U+00A0) other than white space, and
# the bidi controls.
_DROPPED = sorted({chr(code) for code in range(0xA0) if unicodedata.category(chr(code)) == "Cc"} | BIDI_CONTROLS)
_INVISIBLE = re.compile("[" + "".join(re.escape(char) for char in _DROPPED if not char.isspace()) + "]")
ELLIPSIS = "\u2026"
# Per-field caps: past these a field is noise or an attack, and one title must not fill the block.
TITLE_LIMIT = 200
NAME_LIMIT = 120
PLACE_LIMIT = 200
# Terminal lines quote at most this much of what a source sent.
QUOTE_LIMIT = 160

ORGANIZER_PHRASE = re.compile(r"\b(?:organi[sz]ed\s+by|hosted\s+by|organi[sz]ers?\s*:)[ \t\xa0:]*", re.IGNORECASE)
LINE_PREFIX_CHARS = " \t\xa0*-•>#_"
NAME_SEPARATORS = " \t\xa0:-\u2013\u2014|(,.*_"
# Past this length the words after "Hosted by" are a sentence, not a name.
MAX_NAME_LENGTH = 80
# All occurrences of a series share one description, so a few thousand cover a large calendar's series.
READ_CACHE = 4096

# "Also streamed online at <url>" says the event itself is streamed; a bare "livestream" does not
# (machbar: "Livestream schauen" is people watching a stream together).
HYBRID_WORDS = re.compile(
    r"\bhybrid\b|\b(?:also|will\s+(?:also\s+)?be)\s+(?:be\s+)?(?:live[\s-]?)?streamed\b", re.IGNORECASE
)
ONLINE_WORDS = re.compile(r"\b(?:online|virtual|webinar)\b", re.IGNORECASE)
# A location that is only a medium ("Online (Berlin, DE)", "Virtual - Zoom", "Online event"), not
# a place whose name starts with such a word ("Virtual Reality Lab, ...").
ONLINE_LOCATION = re.compile(
    r"(?:online|virtual|remote|zoom|discord|jitsi|google\s+meet|microsoft\s+teams|twitch|youtube|livestream)"
    r"(?:\s+(?:event|meeting|meetup|only))?\s*(?:$|[(\[,:;/|-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Anchor:
    """An `<a href>` and the span of its text in the flattened description."""

    start: int
    end: int
    href: str


@dataclass(frozen=True)
class _Flattened:
    """A description as plain text plus the anchors that were in it."""

    text: str
    anchors: tuple[_Anchor, ...] = ()


@dataclass(frozen=True)
class Description:
    """What normalization asks of one description, read from a single parse of its HTML."""

    text: str
    links: tuple[str, ...]
    organizer: tuple[str, str]

    @cached_property
    def streaming_link(self) -> str:
        return next((url for url in self.links if is_streaming_url(url)), "")

    @cached_property
    def event_link(self) -> str:
        organizer_key = canonical_url(self.organizer[1])
        for url in self.links:
            if not is_streaming_url(url) and canonical_url(url) != organizer_key:
                return url
        return self.links[0] if self.links else ""


@lru_cache(maxsize=READ_CACHE)
def read(description: str) -> Description:
    """The description parsed once (and remembered: a series' occurrences repeat it)."""
    doc = _flatten(description)
    return Description(_text_of(doc), _links_of(doc), _organizer_of(doc))


class _Flattener(HTMLParser):
    """Turns HTML into text, block tags into newlines, and remembers where each anchor was."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.anchors: list[_Anchor] = []
        self.open_anchor: tuple[int, str] | None = None
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self._add("\n")
        elif tag == "a":
            self._close_anchor()
            self.open_anchor = (self.length, dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self._add("\n")
        elif tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._add(data)

    def close(self) -> None:
        super().close()
        self._close_anchor()

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def _close_anchor(self) -> None:
        if self.open_anchor is not None:
            start, href = self.open_anchor
            self.anchors.append(_Anchor(start, self.length, href))
            self.open_anchor = None


def _flatten(description: str) -> _Flattened:
    """The description's text and anchors; plain text only has its entities unescaped."""
    if not HTML_TAG.search(description):
        return _Flattened(_unescape(description))
    parser = _Flattener()
    parser.feed(description)
    parser.close()
    return _Flattened("".join(parser.parts), tuple(parser.anchors))


def description_text(description: str) -> str:
    """Plain text of an ICS DESCRIPTION written as HTML or as text; block tags become newlines."""
    return read(description).text


def links(description: str) -> list[str]:
    """Every safe http(s) link in order of appearance: anchor hrefs and bare URLs, without repeats."""
    return list(read(description).links)


def streaming_link(description: str) -> str:
    """The first meeting or live-stream link in the description, "" if none."""
    return read(description).streaming_link


def event_link(description: str) -> str:
    """The first link that is neither a meeting link nor the organizer's, else the first link, else ""."""
    return read(description).event_link


def organizer(description: str) -> tuple[str, str]:
    """(name, url) from `Organized by <a href=URL>NAME</a>`, `Hosted by`, `Organizer: NAME URL`; ("", "") if absent."""
    return read(description).organizer


def _text_of(doc: _Flattened) -> str:
    lines = [" ".join(_remove_invisible(line).split()) for line in doc.text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _links_of(doc: _Flattened) -> tuple[str, ...]:
    found = [(anchor.start, 0, anchor.href) for anchor in doc.anchors]
    found += [(match.start(), 1, _trim_url(match.group())) for match in BARE_URL.finditer(doc.text)]
    result: list[str] = []
    seen: set[str] = set()
    for _, _, raw in sorted(found):
        url = _usable(raw)
        key = canonical_url(url)
        if url and key not in seen:
            seen.add(key)
            result.append(url)
    return tuple(result)


def _organizer_of(doc: _Flattened) -> tuple[str, str]:
    for match in ORGANIZER_PHRASE.finditer(doc.text):
        found = _organizer_after(doc, match.start(), match.end())
        if found is not None:
            return found
    return "", ""


def detect_mode(location: str, title: str, description: str, has_address: bool) -> Mode:
    """Address, location not Online/Virtual/a meeting link: hybrid if a stream link or hybrid word, else in person.
    No address: virtual if the location is online or empty, or a URL while the text says so; else in person."""
    location = location.strip()
    read_once = read(description)
    text = read_once.text
    location_is_url = bool(safe_url(location))
    online_location = bool(ONLINE_LOCATION.match(location)) or (location_is_url and is_streaming_url(location))
    streams = bool(read_once.streaming_link)
    hybrid_said = any(HYBRID_WORDS.search(part) for part in (location, title, text))
    if has_address and not online_location:
        return Mode.HYBRID if hybrid_said or streams else Mode.IN_PERSON
    if online_location or not location:
        # No location at all is an online event with no home place (source-formats.md §1.9).
        return Mode.VIRTUAL
    online_said = streams or hybrid_said or any(ONLINE_WORDS.search(part) for part in (title, text))
    if (not location or location_is_url) and online_said:
        return Mode.VIRTUAL
    return Mode.IN_PERSON


def clean_title(title: str, limit: int = TITLE_LIMIT) -> str:
    """One line of text: entities unescaped, invisible, control and bidi characters gone, whitespace collapsed."""
    return shorten(" ".join(_remove_invisible(_unescape(title)).split()), limit)


def clean_name(name: str) -> str:
    """An organizer name cleaned like a title, with its own cap."""
    return clean_title(name, NAME_LIMIT)


def clean_place(place: str) -> str:
    """A free-text location: control and bidi characters gone, whitespace collapsed, capped."""
    return shorten(" ".join(_remove_invisible(place).split()), PLACE_LIMIT)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut (at a word break if near)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def first_line(exc: BaseException) -> str:
    """An exception as one short line fit for a terminal: its first line of text, else its type's name."""
    lines = str(exc).strip().splitlines()
    return terminal_safe(lines[0], QUOTE_LIMIT) if lines else type(exc).__name__


def printable(text: str) -> str:
    """Text for a terminal, lines and spacing kept: escape sequences, other controls and bidi overrides gone."""
    return "\n".join(_remove_invisible(line) for line in text.split("\n"))


def terminal_safe(line: str, limit: int = 0) -> str:
    """One line fit for a terminal or log: escape sequences, controls and bidi overrides gone, optionally capped."""
    cleaned = " ".join(_remove_invisible(line).split())
    return shorten(cleaned, limit) if limit else cleaned


def _unescape(text: str) -> str:
    return ENTITY.sub(lambda match: html.unescape(match.group()), text)


def _remove_invisible(text: str) -> str:
    return _INVISIBLE.sub("", ZERO_WIDTH.sub("", text))


def _trim_url(url: str) -> str:
    """A bare URL without the punctuation that ends the sentence around it; balanced `)` stay."""
    while url and url[-1] in URL_TRAILERS:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _usable(url: str) -> str:
    return safe_url(unwrap_redirect(url.strip()))


def _organizer_after(doc: _Flattened, phrase_start: int, name_start: int) -> tuple[str, str] | None:
    """The organizer named right after an organizer phrase, or None when what follows is no name."""
    text = doc.text
    line_start = text.rfind("\n", 0, phrase_start) + 1
    line_end = len(text) if (newline := text.find("\n", name_start)) < 0 else newline
    anchor = next((a for a in doc.anchors if name_start <= a.start < line_end), None)
    if anchor is not None and not text[name_start : anchor.start].strip(NAME_SEPARATORS):
        name = clean_name(text[anchor.start : anchor.end])
        return ("" if safe_url(name) else name), _usable(anchor.href)
    rest = text[name_start:line_end]
    markdown = MARKDOWN_LINK.match(rest.lstrip(NAME_SEPARATORS))
    if markdown:
        return clean_name(markdown.group(1)), _usable(markdown.group(2))
    # In running text ("the talk is hosted by our friends at ...") only a link marks where a name ends.
    if text[line_start:phrase_start].strip(LINE_PREFIX_CHARS):
        return None
    bare = BARE_URL.search(rest)
    links_in_rest = [(anchor.start - name_start, anchor.href)] if anchor is not None else []
    links_in_rest += [(bare.start(), _trim_url(bare.group()))] if bare is not None else []
    link_at, url = min(links_in_rest, default=(len(rest), ""))
    url = _usable(url)
    name = clean_name(rest[:link_at].strip(NAME_SEPARATORS))
    if len(name) > MAX_NAME_LENGTH or not (name or url):
        return None
    return name, url
