"""One event, once, and never one event lost: merge what several sources say about the same event.

Two records are one event when they share an event page (in any spelling) and a day, when they are one meetup
occurrence under its series placeholder and its numeric id, or when their organizer really agrees (stated, not
guessed from a link's host) and their titles say the same thing, or when one has no event page of its own
and the titles say the same thing at the same place on the same day. Anything weaker is a *possible* duplicate:
kept apart and reported to the editor, never dropped. Candidates are found by blocking on shared keys (page,
meetup group, organizer, title; each per day), so the work grows linearly with the number of events.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from math import cos, hypot, radians
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from aggregator.model import Event
from aggregator.urls import canonical_url, event_page, meetup_event_id, organizer_url_for

SIMILAR_TITLE = 85
RELATED_TITLE = 60
SAME_WORDS = 90
MAX_SPAN_DAYS = 31
MIN_PARTIAL = 8
MAX_HOURS_APART = 3
# A block (events sharing a key) up to this size is compared pair by pair; a bigger one only between
# neighbours in place and start-time order, so no key shared by thousands of events makes the work quadratic.
BLOCK_NEIGHBOURS = 3
BLOCK_ALL_PAIRS = 2 * BLOCK_NEIGHBOURS + 1
# Joining two clusters checks their members against each other up to this many times; beyond, kept apart.
MAX_JOIN_CHECKS = 64
SAME_CITY_KM = 50.0
_KM_PER_DEGREE = 111.2
_YEAR = re.compile(r"\b(19|20)\d\d\b")
# Words that say nothing about which event a title means.
GENERIC_WORDS = frozenset(
    [
        "rust",
        "rustlang",
        "rustacean",
        "rustaceans",
        "meetup",
        "meetups",
        "meet",
        "up",
        "event",
        "events",
        "night",
        "monthly",
        "weekly",
        "edition",
        "session",
        "community",
        "group",
        "user",
        "users",
        "online",
        "virtual",
        "hybrid",
        "irl",
        "live",
        "meeting",
        "in",
        "person",
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "at",
        "on",
        "for",
        "with",
        "to",
        "by",
        "from",
        "x",
        "de",
        "la",
        "le",
        "les",
        "el",
        "en",
        "y",
        "et",
        "der",
        "die",
        "das",
        "und",
        "im",
        "am",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)


@dataclass(frozen=True)
class PossibleDuplicate:
    """Two events that may be one; the editor decides."""

    first: str
    second: str
    reason: str


@dataclass(frozen=True)
class Joined:
    """Why two records were merged."""

    first: str
    second: str
    rule: str


@dataclass(frozen=True)
class Merge:
    """Records merged into one event (`key` is the kept record's), and the rule that joined each pair."""

    key: str
    records: tuple[str, ...]
    joins: tuple[Joined, ...]


@dataclass
class MergeResult:
    """Merged events, the pairs the merge was unsure of, and every merge it made."""

    events: list[Event]
    possible_duplicates: list[PossibleDuplicate]
    merges: list[Merge] = field(default_factory=list)


Rank = Callable[[Event], int]

# Every meetup event page in canonical form starts so; only those can be a series placeholder.
_MEETUP_EVENTS = "https://www.meetup.com/"


def merge(events: Iterable[Event], rank: Rank) -> MergeResult:
    """Merge duplicates; `rank` orders records by authority (lower wins date, place and links)."""
    # Several objects per event and per pair, none in a cycle: the cycle collector would only rescan the
    # growing heap again and again (a third of the time at 100,000 events).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _merge(events, rank)
    finally:
        if collecting:
            gc.enable()


def _merge(events: Iterable[Event], rank: Rank) -> MergeResult:
    items = sorted(events, key=lambda e: (rank(e), e.key))
    facts = [_Facts.of(event) for event in items]
    clusters = _Clusters(facts)
    doubtful: list[tuple[int, int, str]] = []
    for i, j in _candidate_pairs(facts):
        verdict, reason = _compare(facts[i], facts[j])
        if verdict == "same":
            refusal = clusters.join(i, j, reason)
            if refusal:
                doubtful.append((i, j, f"{reason}, but {refusal}"))
        elif verdict == "maybe":
            doubtful.append((i, j, reason))

    groups = clusters.groups()
    merged = {root: combine([items[i] for i in members]) for root, members in groups.items()}
    find = clusters.find
    joins: dict[int, list[tuple[int, int, str]]] = {}
    for i, j, rule in clusters.joins:
        joins.setdefault(find(i), []).append((i, j, rule))
    pairs = {(merged[find(i)].key, merged[find(j)].key, reason) for i, j, reason in doubtful if find(i) != find(j)}
    result = sorted(merged.values(), key=lambda e: (e.first_day, e.key))
    merges = [
        Merge(
            merged[root].key,
            tuple(items[i].key for i in members),
            tuple(Joined(items[i].key, items[j].key, rule) for i, j, rule in joins.get(root, ())),
        )
        for root, members in sorted(groups.items(), key=lambda pair: merged[pair[0]].key)
        if len(members) > 1
    ]
    return MergeResult(result, [PossibleDuplicate(*pair) for pair in sorted(pairs)], merges)


def same_pairs(first: Sequence[Event], second: Sequence[Event]) -> list[tuple[int, int]]:
    """(i, j) for each `first[i]` and `second[j]` judged one event, found by the merge's blocking (no all-pairs)."""
    facts = [_Facts.of(event) for event in (*first, *second)]
    split = len(first)
    return [
        (i, j - split)
        for i, j in _candidate_pairs(facts)
        if i < split <= j and _compare(facts[i], facts[j])[0] == "same"
    ]


def compare(a: Event, b: Event) -> tuple[str, str]:
    """`("same", why)`, `("maybe", why)` or `("different", "")` for two events."""
    return _compare(_Facts.of(a), _Facts.of(b))


def combine(members: Sequence[Event]) -> Event:
    """The most authoritative record (first) keeps date and place; the others fill what it lacks."""
    best = members[0]
    if len(members) == 1:
        return best

    def first(name: str) -> str:
        return next((str(getattr(m, name)) for m in members if getattr(m, name)), "")

    sources = tuple(dict.fromkeys(source for m in members for source in m.sources))
    return replace(
        best,
        organizer=first("organizer"),
        organizer_url=first("organizer_url"),
        location=first("location"),
        description=first("description"),
        url=_preferred_url([m.url for m in members if m.url]),
        sources=sources,
        cross_listed=all(m.cross_listed for m in members),
    )


def title_similarity(a: str, b: str) -> float:
    """0-100: how alike two titles are, ignoring case, accents, punctuation, spacing and years."""
    return _similarity(_plain(a), _plain(b))


def _similarity(a: str, b: str, cutoff: float = 0) -> float:
    """As `title_similarity` on plain titles; 0 when below `cutoff` (which makes it faster)."""
    # `RustConf` and `Rust Conf Montreal` differ only in spacing and an added word.
    squashed = sorted((a.replace(" ", ""), b.replace(" ", "")), key=len)
    scores = [fuzz.token_set_ratio(a, b, score_cutoff=cutoff), fuzz.ratio(*squashed, score_cutoff=cutoff)]
    if len(squashed[0]) >= MIN_PARTIAL:
        scores.append(fuzz.partial_ratio(*squashed, score_cutoff=cutoff))
    return float(max(scores))


@dataclass(frozen=True)
class _Facts:
    """What matching looks at, computed once per event."""

    event: Event
    first_day: date
    last_day: date
    instant: float | None
    page: str
    host: str
    meetup: tuple[str, str] | None
    organizers: frozenset[str]
    organizer_words: frozenset[str]
    place: tuple[str, str] | None
    city_words: frozenset[str]
    coordinates: tuple[float, float] | None
    title: str
    words: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, event: Event) -> _Facts:
        place = event.place
        title = _plain(event.title)
        tokens = title.split()
        organizer = _plain(event.organizer)
        city = _plain(place.city)
        page = _event_page(event)
        organizers = _organizer_identity(event)
        start = event.start
        latitude, longitude = place.latitude, place.longitude
        return cls(
            event=event,
            first_day=event.first_day,
            last_day=event.last_day,
            instant=start.timestamp() if isinstance(start, datetime) and start.tzinfo is not None else None,
            page=page,
            host=page.split("/", 3)[2] if page else "",
            meetup=meetup_event_id(page) if page.startswith(_MEETUP_EVENTS) else None,
            organizers=organizers,
            organizer_words=frozenset(organizer.split()) if organizers else frozenset(),
            place=(city, place.country) if city and place.country else None,
            city_words=frozenset(city.split()),
            coordinates=(latitude, longitude) if latitude is not None and longitude is not None else None,
            title=title,
            words=frozenset(t for t in tokens if t not in GENERIC_WORDS and not t.isdigit()),
            numbers=frozenset(t for t in tokens if t.isdigit()),
        )

    @property
    def days(self) -> Iterator[int]:
        first = self.first_day.toordinal()
        return iter(range(first, min(self.last_day.toordinal(), first + MAX_SPAN_DAYS) + 1))


def _event_page(event: Event) -> str:
    """The canonical link when it names one event (not a home page, a group page or the organizer's own page)."""
    page = event_page(event.url)
    return "" if page and event.organizer_url and canonical_url(event.organizer_url) == page else page


def _organizer_identity(event: Event) -> frozenset[str]:
    """What says who organizes the event: a stated name, a stated link, or a group named in the event's path.

    A link that is only the home page of the event link's host, and the host name standing in for a name,
    are guesses: every event on that site would share them.
    """
    keys = set()
    link = canonical_url(event.organizer_url) if event.organizer_url else ""
    if link and (not _is_home(link) or link != canonical_url(organizer_url_for(event.url))):
        keys.add("link " + link)
    name = _plain(event.organizer)
    # Normalization writes the host (`rustweek.org`) where no name was given.
    written = event.organizer.strip()
    guessed = (
        "." in written and " " not in written and name in {_plain(_host(event.organizer_url)), _plain(_host(event.url))}
    )
    if name and not guessed:
        keys.add("name " + name)
    return frozenset(keys)


@lru_cache(maxsize=65536)
def _is_home(link: str) -> bool:
    """Cached here: urlsplit's own cache (128 links) thrashes once a run has more organizers than that."""
    return urlsplit(link).path.strip("/") == ""


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


def _compare(a: _Facts, b: _Facts) -> tuple[str, str]:
    if a.first_day > b.last_day or b.first_day > a.last_day:
        return "different", ""
    one_source = a.event.source == b.event.source
    if a.page and a.page == b.page:
        # One calendar listing two sessions under one page: each session is an event of its own.
        if not one_source or _same_title(a, b):
            return "same", "same event page"
        return "maybe", "same event page, different titles in one source"
    if a.meetup and b.meetup and a.meetup[0] == b.meetup[0]:
        # Two numeric ids are two events; a series placeholder is the occurrence on its day.
        if a.meetup[1].isdigit() and b.meetup[1].isdigit():
            return "different", ""
        if a.first_day == b.first_day:
            return "same", "same meetup group and day (series placeholder)"
    apart = _hours_apart(a, b) > MAX_HOURS_APART
    if one_source and apart:
        # Hours apart in one source: one calendar's two sessions.
        return "different", ""
    organizer = bool(a.organizers & b.organizers)
    # A source that gives two records two pages of their own says they are two events.
    two_pages = one_source and bool(a.page and b.page)
    if organizer and _same_title(a, b) and not _places_conflict(a, b):
        if two_pages:
            return "maybe", "same organizer and title, but two pages in one source"
        if apart:
            return "maybe", "same organizer and title, but start times hours apart"
        return "same", "same organizer and title"
    one_page = not (a.page and b.page)
    if one_page and not apart and _same_title(a, b, generic=False) and _same_place(a, b) and not _strangers(a, b):
        # No second page says otherwise: the same named event at the same place on the same day.
        return "same", "same title, place and day"
    if not organizer and _places_conflict(a, b):
        # Checked before the titles, which cost more: no likeness of titles joins strangers in two cities.
        return "different", ""
    similarity = _similarity(a.title, b.title, cutoff=RELATED_TITLE if organizer else SIMILAR_TITLE)
    if similarity >= SIMILAR_TITLE:
        what = " and organizer" if organizer else " and place" if a.place and a.place == b.place else ""
        return "maybe", f"same day{what}, titles {similarity:.0f}% alike"
    # One organizer's morning workshop and evening talks are two events; at one hour, or alike, perhaps not.
    if organizer and not two_pages and (not apart or similarity >= RELATED_TITLE):
        return "maybe", f"same day and organizer, titles {similarity:.0f}% alike"
    return "different", ""


def _same_title(a: _Facts, b: _Facts, *, generic: bool = True) -> bool:
    """Titles that say the same thing once generic words, numbers, organizer and city names are set aside.

    Two titles of generic words only (`Rust Meetup`) say the same thing only when equal, and not at all
    unless `generic`.
    """
    if a.numbers and b.numbers and a.numbers != b.numbers:
        return False
    noise = a.organizer_words | b.organizer_words | a.city_words | b.city_words
    first, second = a.words - noise, b.words - noise
    if not first or not second:
        return generic and not first and not second and a.title == b.title
    if first == second:
        return True
    # `RustWinterSummit Vienna` and `Rust Winter Summit`: the same words, spaced otherwise.
    cities = a.city_words | b.city_words
    return any(
        fuzz.ratio(*("".join(t for t in f.title.split() if t not in left and not t.isdigit()) for f in (a, b)))
        >= SAME_WORDS
        for left in (noise, cities)
    )


def _same_place(a: _Facts, b: _Facts) -> bool:
    return a.place is not None and b.place is not None and not _places_conflict(a, b)


def _strangers(a: _Facts, b: _Facts) -> bool:
    """Both records say who organizes them, and not alike."""
    return bool(a.organizers and b.organizers and not a.organizers & b.organizers)


def _places_conflict(a: _Facts, b: _Facts) -> bool:
    """Both places known and not one city: another country, or another name more than a city's width away."""
    if a.place is None or b.place is None or a.place == b.place:
        return False
    if a.place[1] != b.place[1]:
        return True
    if a.coordinates is None or b.coordinates is None:
        return True
    return _distance_km(*a.coordinates, *b.coordinates) > SAME_CITY_KM


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: good to a few percent over a city's width, which is all it judges."""
    across = abs(lon1 - lon2) % 360
    across = min(across, 360 - across) * cos(radians((lat1 + lat2) / 2))
    return hypot(lat1 - lat2, across) * _KM_PER_DEGREE


def _hours_apart(a: _Facts, b: _Facts) -> float:
    if a.instant is None or b.instant is None:
        return 0.0
    return abs(a.instant - b.instant) / 3600


def _preferred_url(links: list[str]) -> str:
    """A numeric meetup link beats its series placeholder; otherwise the most authoritative link."""
    for link in links:
        ids = meetup_event_id(link)
        if ids and ids[1].isdigit():
            return link
    return links[0] if links else ""


def _block_keys(facts: _Facts) -> list[tuple[str, str, int]]:
    """The keys an event is filed under, one set per day it runs: only events sharing a key are compared."""
    names = [("page", facts.page)] if facts.page else []
    if facts.meetup:
        names.append(("group", facts.meetup[0]))
    names += [("organizer", key) for key in facts.organizers]
    # Titles are filed with the place's own name left out: `Rust Hack and Learn Karlsruhe` is in Karlsruhe.
    local = [t for t in facts.title.split() if t not in facts.city_words and not t.isdigit()]
    words = sorted(set(local) - GENERIC_WORDS)
    if words:
        names.append(("words", " ".join(words)))
    if local:
        names.append(("title", "".join(local)))
    return [(kind, value, day) for day in facts.days for kind, value in names]


def _candidate_pairs(facts: Sequence[_Facts]) -> Iterator[tuple[int, int]]:
    """Each pair that shares a block, once, lower index first; big blocks only pair near neighbours."""
    blocks: dict[tuple[str, str, int], list[int]] = {}
    for index, item in enumerate(facts):
        for key in _block_keys(item):
            members = blocks.get(key)
            if members is None:
                blocks[key] = [index]
            elif members[-1] != index:
                members.append(index)
    # Each pair as one number (i * size + j), so a set dedups it cheaply and sorting yields the pairs in order.
    size = len(facts)
    found: set[int] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        reach = len(members)
        if reach > BLOCK_ALL_PAIRS:
            members.sort(key=lambda i: (facts[i].place or ("", ""), facts[i].instant or 0.0, facts[i].title, i))
            reach = BLOCK_NEIGHBOURS
        for at, index in enumerate(members):
            for other in members[at + 1 : at + reach + 1]:
                found.add(index * size + other if index < other else other * size + index)
    for code in sorted(found):
        yield divmod(code, size)


class _Clusters:
    """Union-find over the records, refusing a join that would make two records one that are two events."""

    def __init__(self, facts: Sequence[_Facts]) -> None:
        self.facts = facts
        self.parent = list(range(len(facts)))
        # Per cluster root: its members by source and by the host of their event page, for `_conflict`.
        self.by_source: dict[int, dict[str, list[int]]] = {}
        self.by_host: dict[int, dict[str, list[int]]] = {}
        self.joins: list[tuple[int, int, str]] = []

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(self, i: int, j: int, rule: str) -> str:
        """Join the clusters of i and j; "" when done (or already one), else why not."""
        root_i, root_j = self.find(i), self.find(j)
        if root_i == root_j:
            return ""
        refusal = self._conflict(root_i, root_j, (i, j))
        if refusal:
            return refusal
        low, high = sorted((root_i, root_j))
        self.parent[high] = low
        for index in (self.by_source, self.by_host):
            kept, gone = self._index(index, low), self._index(index, high)
            if sum(map(len, kept.values())) < sum(map(len, gone.values())):
                kept, gone = gone, kept  # the smaller side moves, so building a big cluster stays linear
            for name, members in gone.items():
                kept.setdefault(name, []).extend(members)
            index[low] = kept
            del index[high]
        self.joins.append((i, j, rule))
        return ""

    def groups(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for index in range(len(self.parent)):
            found.setdefault(self.find(index), []).append(index)
        return found

    def _index(self, index: dict[int, dict[str, list[int]]], root: int) -> dict[str, list[int]]:
        found = index.get(root)
        if found is None:
            facts = self.facts[root]
            name = facts.event.source if index is self.by_source else facts.host
            found = index[root] = {name: [root]} if name else {}
        return found

    def _conflict(self, root_i: int, root_j: int, pair: tuple[int, int]) -> str:
        """Why two clusters cannot be one event: members one source lists apart, or two pages of one site.

        Such members join only when they match each other directly; past MAX_JOIN_CHECKS the join is refused.
        """
        checks = 0
        for index in (self.by_source, self.by_host):
            first, second = self._index(index, root_i), self._index(index, root_j)
            for name in first.keys() & second.keys():
                for x in first[name]:
                    for y in second[name]:
                        if {x, y} == set(pair) or not _kept_apart(self.facts[x], self.facts[y]):
                            continue
                        checks += 1
                        a, b = self.facts[x], self.facts[y]
                        if checks > MAX_JOIN_CHECKS or _compare(a, b)[0] != "same":
                            return f"{a.event.key} and {b.event.key} would become one event"
        return ""


def _kept_apart(a: _Facts, b: _Facts) -> bool:
    """Records that only a direct match may join: one source's two records, or two pages of one site."""
    if a.event.source == b.event.source:
        return True
    return bool(a.page and b.page and a.page != b.page and a.host == b.host)


@lru_cache(maxsize=65536)
def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", _YEAR.sub(" ", text.casefold()))
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.split())
