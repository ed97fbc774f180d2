"""The place text TWiR prints: `Berlin, DE`, `Dallas, TX, US`, `Hybrid (Vancouver, BC, CA)`."""

from __future__ import annotations

from collections.abc import Collection

from aggregator.model import Event, Mode, Place

# TWiR prints the United Kingdom as UK, every other country by its ISO 3166 alpha-2 code.
PRINTED_COUNTRY = {"GB": "UK"}
LOCATION_LIMIT = 60


def place_label(place: Place, states: Collection[str]) -> str:
    """`City, ST, CC` with the state only for countries in `states`; empty parts are left out."""
    country = place.country.upper()
    parts = [place.city]
    if country in states:
        parts.append(place.state)
    parts.append(PRINTED_COUNTRY.get(country, country))
    return ", ".join(part for part in parts if part)


def where_label(event: Event, states: Collection[str]) -> str:
    """The second column of an event line: the place, `Virtual (home)` or `Hybrid (place)`."""
    place = place_label(event.place, states)
    if event.mode is Mode.VIRTUAL:
        return f"Virtual ({place})" if place else "Virtual"
    if event.mode is Mode.HYBRID:
        return f"Hybrid ({place})" if place else "Hybrid"
    # An unresolved place is printed as the source wrote it, for the editor to fix.
    return place or " ".join(event.location.split())[:LOCATION_LIMIT]
