"""TWiR sections: a continent per country, TWiR's conventions, and the time zone fallback."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pycountry
import pytest

from aggregator.model import Event, Mode, Place
from aggregator.places import resolve
from aggregator.regions import REGIONS, VIRTUAL, continent, region_of


def event(place: Place, timezone: str = "", mode: Mode = Mode.IN_PERSON) -> Event:
    zone = ZoneInfo(timezone or "UTC")
    return Event(
        key="k",
        source="test",
        title="Rust meetup",
        start=datetime(2026, 3, 4, 18, 30, tzinfo=zone),
        end=datetime(2026, 3, 4, 21, 0, tzinfo=zone),
        timezone=timezone,
        mode=mode,
        place=place,
    )


def test_print_order() -> None:
    assert REGIONS[0] == VIRTUAL == "Virtual"
    assert REGIONS == ("Virtual", "Africa", "Asia", "Europe", "North America", "Oceania", "South America")


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Nairobi, Kenya", "Africa"),
        ("Tokyo, Japan", "Asia"),
        ("Berlin, Germany", "Europe"),
        ("Dallas, TX, USA", "North America"),
        ("Sydney NSW, Australia", "Oceania"),
        ("São Paulo, Brasil", "South America"),
    ],
)
def test_a_place_in_each_continent(text: str, region: str) -> None:
    place = resolve(text)
    assert place is not None
    assert region_of(event(place)) == region


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("IL", "Asia"),
        ("TR", "Europe"),
        ("RU", "Europe"),
        ("MX", "North America"),
        ("CY", "Europe"),
        ("GE", "Europe"),
        ("AM", "Europe"),
        ("AZ", "Europe"),
        ("KZ", "Asia"),
        ("EG", "Africa"),
        ("GB", "Europe"),
        ("UK", "Europe"),
        ("NZ", "Oceania"),
        ("TW", "Asia"),
    ],
)
def test_twir_conventions(country: str, region: str) -> None:
    assert continent(country) == region


@pytest.mark.parametrize(
    "country", ["GT", "BZ", "SV", "HN", "NI", "CR", "PA", "CU", "JM", "HT", "DO", "PR", "TT", "BS"]
)
def test_central_america_and_the_caribbean_are_north_america(country: str) -> None:
    assert continent(country) == "North America"


def test_lower_case_and_padding_accepted() -> None:
    assert continent("de") == continent(" DE ") == "Europe"


@pytest.mark.parametrize("country", ["", "AQ", "XX", "Germany", "  "])
def test_unknown_or_antarctica(country: str) -> None:
    assert continent(country) is None


def test_every_inhabited_country_has_a_section() -> None:
    missing = {country.alpha_2 for country in pycountry.countries if continent(country.alpha_2) is None}
    # Only Antarctica and uninhabited southern islands have none.
    assert missing <= {"AQ", "BV", "GS", "HM", "TF"}
    assert {continent(country.alpha_2) for country in pycountry.countries} - {None} == set(REGIONS) - {VIRTUAL}


def test_region_falls_back_to_the_timezone_country() -> None:
    assert region_of(event(Place(), "Asia/Tokyo")) == "Asia"
    assert region_of(event(Place(city="Somewhere"), "America/Sao_Paulo")) == "South America"
    assert region_of(event(Place(), "UTC")) is None
    assert region_of(event(Place())) is None


def test_place_country_wins_over_the_timezone() -> None:
    assert region_of(event(Place(city="Istanbul", country="TR"), "Europe/Berlin")) == "Europe"
    assert region_of(event(Place(city="Tel Aviv", country="IL"), "Europe/Berlin")) == "Asia"


def test_virtual_event_keeps_its_home_continent() -> None:
    assert region_of(event(Place(city="Berlin", country="de"), "Europe/Berlin", Mode.VIRTUAL)) == "Europe"
