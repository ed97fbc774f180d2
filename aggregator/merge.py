"""One event, once: merge what several sources say about the same event, report the doubtful pairs.

Two records are the same event when they share a canonical link and a day, when they are one
meetup occurrence under its series-placeholder and numeric ids, or when on the same day at least
two of organizer, place and title agree. One agreeing signal alone makes a *possible* duplicate:
kept apart and reported to the editor, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import combinations

from rapidfuzz import fuzz

from aggregator.model import Event
from aggregator.urls import canonical_url, meetup_event_id

SIMILAR_TITLE = 85
RELATED_TITLE = 60
MAX_SPAN_DAYS = 31
MIN_PARTIAL = 8
MAX_HOURS_APART = 3
_YEAR = re.compile(r"\b(19|20)\d\d\b")


@dataclass(frozen=True)
class PossibleDuplicate:
    """Two events that may be one; the editor decides."""

    first: str
    second: str
    reason: str


@dataclass
class MergeResult:
    """Merged events and the pairs the merge was unsure of."""

    events: list[Event]
    possible_duplicates: list[PossibleDuplicate]


Rank = Callable[[Event], int]


def merge(events: Iterable[Event], rank: Rank) -> MergeResult:
    """Merge duplicates; `rank` orders records by authority (lower wins date, place and links)."""
    items = sorted(events, key=lambda e: (rank(e), e.key))
    facts = [_Facts.of(event) for event in items]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    doubtful: list[tuple[int, int, str]] = []
    for i, j in _candidate_pairs(items):
        verdict, reason = _compare(facts[i], facts[j])
        if verdict == "same":
            low, high = sorted((find(i), find(j)))
            parent[high] = low
        elif verdict == "maybe":
            doubtful.append((i, j, reason))

    clusters: dict[int, list[Event]] = {}
    for index, event in enumerate(items):
        clusters.setdefault(find(index), []).append(event)
    merged = {root: combine(members) for root, members in clusters.items()}
    pairs = {(merged[find(i)].key, merged[find(j)].key, reason) for i, j, reason in doubtful if find(i) != find(j)}
    result = sorted(merged.values(), key=lambda e: (e.first_day, e.key))
    return MergeResult(result, [PossibleDuplicate(*pair) for pair in sorted(pairs)])


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


def _similarity(a: str, b: str) -> float:
    # `RustConf` and `Rust Conf Montreal` differ only in spacing and an added word.
    squashed = sorted((a.replace(" ", ""), b.replace(" ", "")), key=len)
    scores = [fuzz.token_set_ratio(a, b), fuzz.ratio(*squashed)]
    if len(squashed[0]) >= MIN_PARTIAL:
        scores.append(fuzz.partial_ratio(*squashed))
    return float(max(scores))


@dataclass(frozen=True)
class _Facts:
    """What matching looks at, computed once per event."""

    event: Event
    link: str
    meetup: tuple[str, str] | None
    organizer_link: str
    organizer: str
    place: tuple[str, str] | None
    title: str

    @classmethod
    def of(cls, event: Event) -> _Facts:
        place = event.place
        return cls(
            event=event,
            link=canonical_url(event.url) if event.url else "",
            meetup=meetup_event_id(event.url) if event.url else None,
            organizer_link=canonical_url(event.organizer_url) if event.organizer_url else "",
            organizer=_plain(event.organizer),
            place=(_plain(place.city), place.country) if place.city and place.country else None,
            title=_plain(event.title),
        )


def _compare(a: _Facts, b: _Facts) -> tuple[str, str]:
    if not _days_meet(a.event, b.event):
        return "different", ""
    if a.link and a.link == b.link:
        return "same", "same link"
    if a.meetup and b.meetup and a.meetup[0] == b.meetup[0]:
        # Two numeric ids are two events; a series placeholder is the occurrence on its day.
        if a.meetup[1].isdigit() and b.meetup[1].isdigit():
            return "different", ""
        if a.event.first_day == b.event.first_day:
            return "same", "same meetup group and day (series placeholder)"
    if _hours_apart(a.event, b.event) > MAX_HOURS_APART:
        # Hours apart on one day: one calendar's two sessions, or a wrong time on one side for the editor to check.
        if a.event.source == b.event.source:
            return "different", ""
        verdict, reason = _by_signals(a, b)
        return ("maybe", f"{reason}, but start times hours apart") if verdict == "same" else ("different", "")
    return _by_signals(a, b)


def _by_signals(a: _Facts, b: _Facts) -> tuple[str, str]:
    """Same day: two of organizer, place and similar title agree -> same; one alone -> maybe."""
    signals = []
    if (a.organizer_link and a.organizer_link == b.organizer_link) or (a.organizer and a.organizer == b.organizer):
        signals.append("organizer")
    if a.place and a.place == b.place:
        signals.append("place")
    similarity = _similarity(a.title, b.title)
    if similarity >= SIMILAR_TITLE:
        signals.append("title")
    if len(signals) >= 2 or (signals == ["organizer"] and similarity >= RELATED_TITLE):
        return "same", "same day, " + " and ".join(signals)
    if signals in (["organizer"], ["title"]):
        return "maybe", f"same day and {signals[0]}, titles {similarity:.0f}% alike"
    return "different", ""


def _hours_apart(a: Event, b: Event) -> float:
    if not isinstance(a.start, datetime) or not isinstance(b.start, datetime):
        return 0.0
    return abs((a.start - b.start).total_seconds()) / 3600


def _preferred_url(links: list[str]) -> str:
    """A numeric meetup link beats its series placeholder; otherwise the most authoritative link."""
    for link in links:
        ids = meetup_event_id(link)
        if ids and ids[1].isdigit():
            return link
    return links[0] if links else ""


def _candidate_pairs(items: Sequence[Event]) -> list[tuple[int, int]]:
    # Only events sharing a day can match: bucketing by day keeps 10,000 events fast.
    by_day: dict[date, list[int]] = defaultdict(list)
    for index, event in enumerate(items):
        days = min((event.last_day - event.first_day).days, MAX_SPAN_DAYS)
        for offset in range(days + 1):
            by_day[event.first_day + timedelta(days=offset)].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in by_day.values():
        pairs.update(combinations(members, 2))
    return sorted(pairs)


def _days_meet(a: Event, b: Event) -> bool:
    return a.first_day <= b.last_day and b.first_day <= a.last_day


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", _YEAR.sub(" ", text.casefold()))
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.split())
