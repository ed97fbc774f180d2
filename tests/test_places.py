"""Offline place resolution: free text, structured venues, zones and online homes."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.model import Place
from aggregator.places import complete, country_code, country_of_timezone, resolve, split_home, timezone_for

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "real"


def where(text: str) -> tuple[str, str, str]:
    place = resolve(text)
    assert place is not None, text
    return place.city, place.state, place.country


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c-base, Rungestraße 20, 10179 Berlin, Germany", ("Berlin", "", "DE")),
        ("1 Main St, Dallas, TX 75201, USA", ("Dallas", "TX", "US")),
        ("Tokyo, Japan", ("Tokyo", "", "JP")),
        ("Zürich, Schweiz", ("Zürich", "", "CH")),
        ("München, Deutschland", ("München", "", "DE")),
        ("Paris, France", ("Paris", "", "FR")),
        ("Academia Sinica, Taipei, Taiwan", ("Taipei", "", "TW")),
        ("Windrush Drive, Windrush Dr, Manchester, Manchester M9 5QR, UK", ("Manchester", "", "GB")),
        ("Vancouver, BC, Canada", ("Vancouver", "BC", "CA")),
        ("Level 3, 1 Martin Pl, Sydney NSW 2000, Australia", ("Sydney", "NSW", "AU")),
        ("Auckland, New Zealand", ("Auckland", "", "NZ")),
        ("São Paulo, Brasil", ("São Paulo", "", "BR")),
        ("Nairobi, Kenya", ("Nairobi", "", "KE")),
        ("Tel Aviv, Israel", ("Tel Aviv", "", "IL")),
        ("Istanbul, Türkiye", ("Istanbul", "", "TR")),
        ("Istanbul, Turkey", ("Istanbul", "", "TR")),
        ("Москва, Россия", ("Moscow", "", "RU")),
        ("Ciudad de México, México", ("Ciudad de México", "", "MX")),
        ("Nicosia, Cyprus", ("Nicosia", "", "CY")),
        ("Seoul, South Korea", ("Seoul", "", "KR")),
        ("Seoul, 대한민국", ("Seoul", "", "KR")),
        ("Bengaluru, India", ("Bengaluru", "", "IN")),
        ("Bangalore", ("Bangalore", "", "IN")),
        ("Berlin", ("Berlin", "", "DE")),
        ("Toronto ON", ("Toronto", "ON", "CA")),
        ("Berlin Germany", ("Berlin", "", "DE")),
        ("Cairo, Egypt", ("Cairo", "", "EG")),
        ("Tbilisi, Georgia", ("Tbilisi", "", "GE")),
        ("Almaty, Kazakhstan", ("Almaty", "", "KZ")),
        ("Buenos Aires, Argentina", ("Buenos Aires", "", "AR")),
        ("Singapore", ("Singapore", "", "SG")),
        ("New York, NY", ("New York", "NY", "US")),
        ("NYC", ("New York City", "NY", "US")),
        ("Washington, DC", ("Washington", "DC", "US")),
        ("Berlin, DE", ("Berlin", "", "DE")),
        ("Dover, DE", ("Dover", "DE", "US")),
        ("Athens, GA", ("Athens", "GA", "US")),
        ("Perth, WA", ("Perth", "WA", "AU")),
        ("Online (Berlin, Germany)", ("Berlin", "", "DE")),
        ("Amsterdam, 1012 AB Amsterdam, Netherlands", ("Amsterdam", "", "NL")),
        ("Stadt- u. Landesbibliothek Potsdam im Bildungsforum\\, Am Kanal 47\\, 14467 Potsdam", ("Potsdam", "", "DE")),
    ],
)
def test_resolves_free_text(text: str, expected: tuple[str, str, str]) -> None:
    assert where(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cambridge, MA, USA", ("Cambridge", "MA", "US")),
        ("Microsoft NERD, Cambridge, MA", ("Cambridge", "MA", "US")),
        ("Cambridge, UK", ("Cambridge", "", "GB")),
        ("Cambridge, England", ("Cambridge", "", "GB")),
        ("Portland, OR", ("Portland", "OR", "US")),
        ("Portland, Maine", ("Portland", "ME", "US")),
        ("Portland, Maine, USA", ("Portland", "ME", "US")),
        ("Paris, TX", ("Paris", "TX", "US")),
        ("London, ON, Canada", ("London", "ON", "CA")),
        ("Moscow, Russia", ("Moscow", "", "RU")),
    ],
)
def test_ambiguous_names_follow_the_state_or_country_given(text: str, expected: tuple[str, str, str]) -> None:
    assert where(text) == expected


def test_bare_ambiguous_name_picks_the_most_populous() -> None:
    place = resolve("Portland")
    assert place is not None and (place.city, place.state) == ("Portland", "OR")


def test_town_in_a_region_named_like_its_capital() -> None:
    assert where("São José dos Campos, São Paulo, Brazil") == ("São José dos Campos", "", "BR")
    assert where("Kreuzberg, Berlin, Germany") == ("Berlin", "", "DE")


def test_wrong_state_is_corrected_by_a_city_main_name_only() -> None:
    assert where("Charlottesville, NC, US") == ("Charlottesville", "VA", "US")
    # `Forest City` is only a nickname of Cleveland, OH: the stated NC wins.
    assert where("Forest City, NC 28043, USA") == ("", "NC", "US")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Online",
        "Virtual",
        "TBD",
        "TBA",
        "see website",
        "see website or mailing list",
        "https://meet.jit.si/rust",
        "https://luma.com/event/evt-nzTMp82417KB9FY",
        "Zoom: https://zoom.us/j/123",
        "www.example.org/rust",
        "NS Gym 1",
        "13th floor, Ping Pong room",
        "Hotel Lobby",
        "1215",
    ],
)
def test_non_places_resolve_to_none(text: str) -> None:
    assert resolve(text) is None


@pytest.mark.parametrize(
    ("text", "country", "zone"),
    [
        ("Germany", "DE", "Europe/Berlin"),
        ("Deutschland", "DE", "Europe/Berlin"),
        ("Japan", "JP", "Asia/Tokyo"),
        ("Some venue, Netherlands", "NL", "Europe/Amsterdam"),
        ("USA", "US", ""),
        ("Mexico", "MX", ""),
    ],
)
def test_country_only_text(text: str, country: str, zone: str) -> None:
    place = resolve(text)
    assert place == Place(country=country, timezone=zone)


def test_state_only_text_keeps_the_state() -> None:
    assert resolve("Texas") == Place(state="TX", country="US")


def test_resolved_city_has_zone_and_coordinates() -> None:
    place = resolve("Level 3, 1 Martin Pl, Sydney NSW 2000, Australia")
    assert place is not None
    assert place.timezone == "Australia/Sydney"
    assert place.latitude is not None and place.longitude is not None
    assert abs(place.latitude + 33.87) < 0.2 and abs(place.longitude - 151.21) < 0.2


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_resolve_never_raises(text: str) -> None:
    place = resolve(text)
    assert place is None or place.country


@given(
    st.lists(
        st.sampled_from(
            ["Berlin", "TX", "UK", "NSW", "Georgia", "DE", "Room 5", "São Paulo", "", "(", "\\,", "M15 6GX"]
        )
        | st.text(max_size=12),
        max_size=6,
    ).map(", ".join)
)
@settings(max_examples=300, deadline=None)
def test_resolve_never_raises_on_address_like_text(text: str) -> None:
    place = resolve(text)
    if place is not None:
        assert place.country == place.country.upper()
        assert not place.timezone or zoneinfo.ZoneInfo(place.timezone)


def test_complete_meetup_venue_with_lower_case_country() -> None:
    place = complete(Place(city="Greenville", state="SC", country="us"))
    assert (place.city, place.state, place.country, place.timezone) == ("Greenville", "SC", "US", "America/New_York")
    assert place.latitude is not None and abs(place.latitude - 34.85) < 0.1


def test_complete_luma_region_name() -> None:
    place = complete(Place(city="Greenville", state="South Carolina", country="US"))
    assert (place.state, place.country, place.timezone) == ("SC", "US", "America/New_York")


@pytest.mark.parametrize(
    ("given_place", "state", "country"),
    [
        (Place(city="Vancouver", state="British Columbia", country="Canada"), "BC", "CA"),
        (Place(city="Sydney", state="New South Wales", country="AU"), "NSW", "AU"),
        (Place(city="Montréal", state="Québec", country="ca"), "QC", "CA"),
        (Place(city="Munich", state="Bayern", country="Germany"), "BY", "DE"),
        (Place(city="Boston", state="MA"), "MA", "US"),
        (Place(city="Berlin"), "", "DE"),
        (Place(city="London", state="EC2A", country="gb"), "EC2A", "GB"),
        (Place(city="Leeds", country="United Kingdom"), "", "GB"),
        (Place(city="Somewhere", country="Narnia"), "", "Narnia"),
    ],
)
def test_complete_normalizes_state_and_country(given_place: Place, state: str, country: str) -> None:
    place = complete(given_place)
    assert (place.city, place.state, place.country) == (given_place.city, state, country)


def test_complete_never_overrides_what_it_was_given() -> None:
    given_place = Place(
        city="Greenville", state="SC", country="US", timezone="America/Chicago", latitude=1.5, longitude=2.5
    )
    assert complete(given_place) == given_place


def test_complete_picks_the_same_named_city_nearest_the_venue() -> None:
    # Greenville, NC is the most populous Greenville; the venue's coordinates are in South Carolina.
    place = complete(Place(city="Greenville", country="us", latitude=34.85202, longitude=-82.39968))
    assert (place.state, place.timezone) == ("SC", "America/New_York")


def test_complete_fills_the_zone_of_an_unknown_town_from_its_coordinates() -> None:
    place = complete(Place(city="Tiny Town", country="US", latitude=45.52, longitude=-122.68))
    assert place.timezone == "America/Los_Angeles"
    # Online meetups carry a placeholder venue in Tuvalu and no country: no zone is invented.
    assert complete(Place(city="Online event", latitude=-8.521147, longitude=179.1962)).timezone == ""


@given(st.builds(Place, st.text(max_size=20), st.text(max_size=20), st.text(max_size=20)))
@settings(max_examples=200, deadline=None)
def test_complete_never_raises_or_loses_the_city(place: Place) -> None:
    assert complete(place).city == place.city.strip()


def test_country_code_accepts_codes_and_names() -> None:
    names = ["de", "DEU", "Germany", "Deutschland", "Allemagne"]
    assert [country_code(name) for name in names] == ["DE", "DE", "DE", "DE", "Allemagne"]
    assert country_code("uk") == country_code("United Kingdom") == "GB"


@pytest.mark.parametrize(
    ("place", "zone"),
    [
        (Place(city="Portland", state="ME", country="US"), "America/New_York"),
        (Place(city="Portland", state="OR", country="US"), "America/Los_Angeles"),
        (Place(country="JP"), "Asia/Tokyo"),
        (Place(country="US"), ""),
        (Place(city="Berlin", country="DE", timezone="Europe/Busingen"), "Europe/Busingen"),
        (Place(), ""),
    ],
)
def test_timezone_for(place: Place, zone: str) -> None:
    assert timezone_for(place) == zone


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/Berlin", "DE"),
        ("America/Los_Angeles", "US"),
        ("Asia/Jerusalem", "IL"),
        ("Europe/Amsterdam", "NL"),
        ("US/Pacific", "US"),
        ("Asia/Calcutta", "IN"),
        ("UTC", ""),
        ("Etc/GMT+5", ""),
        ("Not/AZone", ""),
        ("", ""),
    ],
)
def test_country_of_timezone(zone: str, country: str) -> None:
    assert country_of_timezone(zone) == country


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Online (Berlin, Germany)", ("online", "Berlin, Germany")),
        ("Virtual (Berlin, DE)", ("virtual", "Berlin, DE")),
        ("Hybrid (Vancouver, BC, Canada)", ("hybrid", "Vancouver, BC, Canada")),
        ("virtual ( Berlin )", ("virtual", "Berlin")),
        ("Online", ("", "Online")),
        ("Berlin, Germany", ("", "Berlin, Germany")),
        ("Café Online (Berlin)", ("", "Café Online (Berlin)")),
    ],
)
def test_split_home(location: str, expected: tuple[str, str]) -> None:
    assert split_home(location) == expected


def fixture_locations() -> list[str]:
    files = [*sorted((FIXTURES / "google-ics").glob("*.ics")), FIXTURES / "luma" / "nsnodes-luma-sample.ics"]
    files = [path for path in files if path.exists()]
    if not files:
        pytest.skip(f"{FIXTURES} is absent")
    return [
        str(event["LOCATION"])
        for path in files
        for event in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        if "LOCATION" in event
    ]


# How the real calendars end an address, and the country that ending names.
ENDINGS = {
    ", UK": "GB",
    ", United Kingdom": "GB",
    "Deutschland": "DE",
    ", Germany": "DE",
    ", Malaysia": "MY",
    ", USA": "US",
    ", Brazil": "BR",
    ", Singapore": "SG",
}


def test_real_calendar_locations() -> None:
    locations = fixture_locations()
    places = {location: resolve(location) for location in locations}
    for location, place in places.items():
        for ending, country in ENDINGS.items():
            if location.rstrip().endswith(ending):
                assert place is not None and place.country == country, location
        if location.startswith("https://"):
            assert place is None, location
    manchester = [place for location, place in places.items() if "Manchester M1" in location]
    assert manchester and all(place and place.city == "Manchester" for place in manchester)
    potsdam = [place for location, place in places.items() if location.endswith("Potsdam, Deutschland")]
    assert potsdam and all(place and place.city == "Potsdam" for place in potsdam)


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("Thoughtworks, Koramangala, Bangalore, Karnataka 560034, India", "Bangalore"),
        ("NIMHANS Convention Centre, Hosur Road, Bengaluru, Karnataka 560029, India", "Bengaluru"),
        ("Werksviertel, Atelierstraße 10, 81671 München, Deutschland", "München"),
        ("Munich, Germany", "Munich"),
        ("Köln, Germany", "Köln"),
        ("Nürnberg", "Nürnberg"),
        ("Talent Garden, Via Calabiana 6, Milano, Italy", "Milano"),
        ("Florianopolis, Brazil", "Florianopolis"),
        ("Wien, Österreich", "Wien"),
        ("Kolektif House Levent, Esentepe, İstanbul, Türkiye", "İstanbul"),
        # Not a spelling: all capitals, all lower case, or not in Latin letters -> the gazetteer's name.
        ("BERLIN", "Berlin"),
        ("berlin, germany", "Berlin"),
        ("東京, Japan", "Tokyo"),
        # The country part names no city unless it is a city state.
        ("Ciudad de México, México", "Ciudad de México"),
        ("GovTech Hive, 10 Pasir Panjang Rd, Singapore 117438", "Singapore"),
    ],
)
def test_prints_the_source_spelling_of_a_known_city(text: str, printed: str) -> None:
    assert where(text)[0] == printed


def test_a_venue_without_a_city_name_gets_the_gazetteers_city_at_its_coordinates() -> None:
    assert complete(Place(country="DE", latitude=52.52, longitude=13.40)).city == "Berlin"  # not its district
    assert complete(Place(latitude=52.39, longitude=13.06)).city == "Potsdam"
    assert complete(Place(country="FR", latitude=52.52, longitude=13.40)).city == ""  # not in the stated country
    assert complete(Place(latitude=0.0, longitude=-160.0)).city == ""
    # A name the source gives is kept as written.
    assert complete(Place(city="Köln", country="DE", latitude=50.94, longitude=6.96)).city == "Köln"
