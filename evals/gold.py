"""GeoBrowse gold answers: place names of mixed granularity, resolved offline and used to
judge a prediction at the granularity the answer (or the question) has.

GeoBrowse gold answers carry no coordinates: "Japan", "Changchun", "Oregon, USA", "Long County,
Baoji City, Shaanxi Province", "Pingtang Station, Changsha Metro Line 3, Hunan", "southern
Senegal", "The border between Bolivia and Peru". ``resolve_gold`` reads such a text with the
offline gazetteer and place index and returns a ``GoldPlace``: what the answer names, at which
granularity, where, and how large an area counts as "at" it. ``judge`` then scores a
prediction (a Location as a dict) against it:

* country: same ISO country (the predicted point's country when the prediction has no code);
* region: the predicted point reverse-geocodes into the same first-level region (region
  codes and names as the gazetteer writes them, so "Guangxi" and "Guangxi Zhuangzu Zizhiqu"
  need no string matching); a directional part of a country ("southern Senegal") is that
  country's places south of the middle of its north-south extent;
* county / city / site: the predicted point lies within the place's radius plus a margin
  (the field's thresholds: 25 km for a city or county, 5 km for a site), or, for a city,
  the predicted city name is the gold's;
* border: the point is in one of the two sides and within 100 km of a populated place of
  the other side (the gazetteer has no boundaries, so proximity to the other side's places
  stands in for "near the shared border");
* an answer the gazetteer cannot resolve is "unresolved": judged None, reported apart.

How a text is read: commas (and " in ") separate a most specific part from its containers;
each part loses generic words ("City", "Province", "County", "Station", "Metro Line 3") which
say what kind of place it is; the containers choose among same-named places (Changsha in
Hunan, not Changsha in Guangdong); a part made of two names with no comma ("Jiangxi Ganzhou")
is split and ordered by kind; when no reading puts every part inside its containers, or two
readings are equally good and far apart, the answer is unresolved rather than guessed.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from scipy.spatial import cKDTree

from tools.errors import ConfigError
from tools.gazetteer import Gazetteer
from tools.geo import EARTH_RADIUS_KM, haversine_km, haversine_many_km, spherical_mean, to_vectors
from tools.hints import country_code as iso_country_code
from tools.normalize import normalize
from tools.places import Place, PlaceIndex

from .gold_prompt import GRANULARITY_ORDER, asked_granularity, choices

__all__ = [
    "BORDER_KM",
    "COUNTY_RADIUS_KM",
    "MARGIN_KM",
    "SITE_RADIUS_KM",
    "Area",
    "GoldPlace",
    "Granularity",
    "Judgement",
    "asked_granularity",
    "choices",
    "judge",
    "judge_level",
    "resolve_gold",
]

Granularity = Literal["country", "region", "county", "city", "site", "border", "unresolved"]

#: Extent of a county located by its seat: a typical county is 1,000-5,000 km².
COUNTY_RADIUS_KM = 40.0
#: Extent of a site located at a small named place (a station named after its village).
SITE_RADIUS_KM = 3.0
#: A border answer is right within this distance of the other side's populated places.
BORDER_KM = 100.0
#: Added to a gold radius when judging by distance: the field's city (25 km) and street-ish thresholds.
MARGIN_KM: dict[str, float] = {"site": 5.0, "county": 25.0, "city": 25.0}
#: Least radius when a gold is judged at a coarser point-level than it names (a city asked as a county).
_LEVEL_RADIUS_KM = {"site": SITE_RADIUS_KM, "city": 10.0, "county": COUNTY_RADIUS_KM}
#: Codes GeoNames keeps apart from a country some answers name as their container ("Taiwan, China").
CONTAINER_ALIASES: dict[str, frozenset[str]] = {"CN": frozenset({"TW", "HK", "MO"})}
#: How far a county, site or town may lie from the point of the city said to contain it.
#: Chinese prefecture-level cities span 100-200 km, so this is loose: it only picks among
#: same-named places, the region container does the rest.
_CITY_CONTAINS_KM = 150.0
_MAX_CANDIDATES = 8
_POP_WEIGHT = 0.3
#: Two equally good readings are ambiguous unless one place is this many times larger.
_AMBIGUOUS_POP_RATIO = 3.0


class Area(BaseModel):
    """A point-and-radius extent of one level of a gold answer (its site, county or city)."""

    name: str
    lat: float
    lon: float
    radius_km: float


class GoldPlace(BaseModel):
    """A gold answer resolved to a place of known granularity.

    ``radius_km`` is how far from ``lat``/``lon`` a prediction may be and still be "at" the
    place (before the judge's margin). ``areas`` keeps every point-level reading of the
    answer (its site, county, city) so that the judge can score a station answer at city
    level when the question asked for a city. ``bbox`` (south, west, north, east) marks a
    directional part of a country or region; ``sides`` the two sides of a border, as
    country codes ("BO") or region codes ("CN.11").
    """

    answer: str
    granularity: Granularity
    name: str | None = None
    country_code: str | None = None
    region: str | None = Field(default=None, description="First-level region as the gazetteer writes it.")
    region_code: str | None = Field(default=None, description="Gazetteer region code, 'CC.admin1' as reverse() gives.")
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    countries: list[str] = Field(default_factory=list)
    note: str = ""
    areas: dict[str, Area] = Field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    sides: list[str] = Field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.granularity != "unresolved"


class Judgement(BaseModel):
    """A prediction scored against a gold place. ``correct`` is None when the gold could not
    be resolved: such items are reported apart, never counted as right or wrong."""

    correct: bool | None
    level: str
    reason: str
    distance_km: float | None = None


# ---------------------------------------------------------------------------- parsing

_SPLIT_PARTS = re.compile(r"\s*[,，;；、]\s*")
_SPLIT_IN = re.compile(r"\s+in\s+", re.IGNORECASE)
_BORDER_PATTERNS = (
    re.compile(
        r"^(?:the\s+)?(?:border|boundary|borderlands?)(?:\s+(?:area|region|zone))?\s+(?:between|of)\s+"
        r"(?P<a>.+?)\s+(?:and|&)\s+(?P<b>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:the\s+)?(?P<a>[^,]+?)\s*(?:[-–—/]|\s+and\s+)\s*(?P<b>[^,]+?)\s+"
        r"(?:border|boundary)(?:\s+(?:area|region|zone))?$",
        re.IGNORECASE,
    ),
)
#: "Changsha Metro Line 3" names a city by its transit line.
_TRANSIT_LINE = re.compile(
    r"\s+(?:metro|subway|underground|mrt|light rail|tram|railway|rail)(?:\s+line)?(?:\s+[0-9a-z]{1,3})?$"
)
_DIRECTIONS = {
    "north": "north",
    "northern": "north",
    "south": "south",
    "southern": "south",
    "east": "east",
    "eastern": "east",
    "west": "west",
    "western": "west",
    "central": "central",
    "northeast": "northeast",
    "northeastern": "northeast",
    "northwest": "northwest",
    "northwestern": "northwest",
    "southeast": "southeast",
    "southeastern": "southeast",
    "southwest": "southwest",
    "southwestern": "southwest",
}
#: Trailing generic words (normalised) and the kind of place they mark; longest first.
_ADMIN_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("special administrative region", "region"),
    ("prefecture level city", "city"),
    ("autonomous prefecture", "prefecture"),
    ("autonomous region", "region"),
    ("autonomous county", "county"),
    ("province", "region"),
    ("sheng", "region"),
    ("zizhiqu", "region"),
    ("state", "region"),
    ("oblast", "region"),
    ("territory", "region"),
    ("region", "region"),
    ("prefecture", "prefecture"),
    ("city", "city"),
    ("shi", "city"),
    ("municipality", "city"),
    ("town", "city"),
    ("village", "city"),
    ("zhen", "city"),
    ("county", "county"),
    ("xian", "county"),
    ("district", "county"),
    ("qu", "county"),
    ("banner", "county"),
)
#: Words that make a part a site (a station, a dam) rather than a settlement.
_SITE_WORDS = frozenset(
    "station dam hydropower reservoir bridge airport temple pagoda monastery church cathedral mosque palace "
    "museum park square tower gate mountain mount peak lake river waterfall falls beach port harbour harbor "
    "university campus street road avenue stadium".split()
)
_GLUE_WORDS = frozenset({"and", "the", "of", "&"})


@dataclass(frozen=True)
class _Cand:
    """One place a part of the answer may be, with how well it fits that part."""

    place: Place
    region_key: tuple[str, str] | None
    fit: float  # exact name, the kind the answer names, inside a place the prompt names
    exact: bool

    @property
    def base(self) -> float:
        """Fit plus a preference for larger kinds ("Guizhou" is the province, not a hamlet)."""
        return _KIND_SCORE[self.place.kind] + self.fit

    @property
    def score(self) -> float:
        return self.base + _POP_WEIGHT * math.log10(self.place.population + 10)

    @property
    def tier(self) -> int:
        return {"city": 1, "region": 2, "country": 3}[self.place.kind]


@dataclass
class _Mention:
    """One part of the answer text: "Baoji City", "Hunan Province", "Pingtang Station"."""

    text: str
    order: int
    hint: str | None = None
    direction: str | None = None
    cands: list[_Cand] = field(default_factory=list)
    note: str = ""

    def tier(self, cand: _Cand) -> int:
        """Sites are finer than towns; a county located by its seat ranks with towns."""
        if self.hint == "site" and cand.place.kind == "city":
            return 0
        return cand.tier


def _words(key: str) -> list[str]:
    return key.split()


def _strip_suffix(key: str) -> tuple[str, str | None]:
    """The key without one trailing generic word, and the kind that word marks."""
    for suffix, kind in _ADMIN_SUFFIXES:
        if key.endswith(" " + suffix):
            return key[: -len(suffix) - 1].strip(), kind
    return key, None


def _site_core(key: str) -> str:
    """A site's own name without its generic words ("pingtang station" -> "pingtang"): a
    station or dam is usually named after the place it is at. "Mount X" and "Lake X" keep
    their word: a town named X is often nowhere near the mountain."""
    words = _words(key)
    while len(words) > 1 and words[-1] in _SITE_WORDS:
        words.pop()
    return " ".join(words)


def _is_site(key: str) -> bool:
    words = _words(key)
    return bool(words) and (words[-1] in _SITE_WORDS or (len(words) > 1 and words[0] in {"mount", "lake"}))


# ---------------------------------------------------------------------------- gazetteer helpers

_REGION_CODES: weakref.WeakKeyDictionary[Gazetteer, dict[tuple[str, str, float, float], str]] = (
    weakref.WeakKeyDictionary()
)


def _region_key(places: PlaceIndex, place: Place) -> tuple[str, str] | None:
    """(country, admin1 code) of a place: the region itself, or the region a town is in."""
    gaz = places.gazetteer
    if place.kind == "city":
        code = str(gaz.city_admin1[place.id])
        return (place.country_code, code) if code else None
    if place.kind != "region":
        return None
    table = _REGION_CODES.get(gaz)
    if table is None:
        table = {(r.country_code, r.name, round(r.lat, 4), round(r.lon, 4)): r.code for r in gaz.regions().values()}
        _REGION_CODES[gaz] = table
    code = table.get((place.country_code, place.name, round(place.lat, 4), round(place.lon, 4)))
    return (place.country_code, code) if code else None


def _exact(place: Place, key: str) -> bool:
    """The key is the place's own name, or its leading words ("guangxi" for "Guangxi Zhuangzu Zizhiqu")."""
    name = normalize(place.name)
    return name == key or name.startswith(key + " ")


def _country_place(places: PlaceIndex, code: str) -> Place | None:
    info = places.gazetteer.country(code)
    if info is None:
        return None
    for pid in places.lookup(normalize(info.name)):
        place = places.place(pid)
        if place.kind == "country" and place.country_code == code:
            return place
    return None


def _inside(outer: _Cand, inner: _Cand) -> bool:
    """Whether ``inner`` lies in ``outer`` (outer is a country, a region or a town)."""
    o, i = outer.place, inner.place
    if o.kind == "country":
        return i.country_code == o.country_code or i.country_code in CONTAINER_ALIASES.get(o.country_code, ())
    if o.kind == "region":
        return i.kind != "country" and inner.region_key is not None and inner.region_key == outer.region_key
    if i.kind != "city":
        return False
    return i.country_code == o.country_code and haversine_km(o.lat, o.lon, i.lat, i.lon) <= _CITY_CONTAINS_KM


def _same_place(a: _Cand, b: _Cand) -> bool:
    """Nested or overlapping: two readings that would be judged alike."""
    if (_inside(a, b) and a.place.kind != "city") or (_inside(b, a) and b.place.kind != "city"):
        return True
    d = haversine_km(a.place.lat, a.place.lon, b.place.lat, b.place.lon)
    return d <= max(a.place.radius_km, b.place.radius_km, 25.0)


# ---------------------------------------------------------------------------- candidates

_KIND_SCORE = {"country": 3.0, "region": 2.0, "city": 1.0}
_HINT_KINDS = {
    "region": {"region"},
    "prefecture": {"region", "city"},
    "city": {"city"},
    "county": {"city"},
    "site": {"city"},
    "country": {"country"},
}


def _cands_for_keys(
    places: PlaceIndex, keys: list[str], hint: str | None, context: list[_Cand], text: str
) -> list[_Cand]:
    """Every place one of ``keys`` names, scored for this part of the answer."""
    seen: dict[int, _Cand] = {}
    for key in keys:
        if len(key) < 2:
            continue
        found = [places.place(pid) for pid in places.lookup(key)]
        if len(key) >= 3 and not any(p.kind == "country" for p in found):
            try:
                code = iso_country_code(text)
            except ConfigError:
                code = None
            country = _country_place(places, code) if code else None
            if country is not None:
                found.append(country)
        for place in found:
            exact = _exact(place, key) or (place.kind == "country" and key == normalize(text))
            fit = 2.0 if exact else 0.0
            if hint and place.kind in _HINT_KINDS.get(hint, ()):
                fit += 3.0
            cand = _Cand(place, _region_key(places, place), fit, exact)
            if any(_inside(c, cand) for c in context):
                cand = _Cand(place, cand.region_key, fit + 1.0, exact)
            if place.id not in seen or seen[place.id].score < cand.score:
                seen[place.id] = cand
    cands = sorted(seen.values(), key=lambda c: -c.score)
    return _merge_city_states(cands, hint)


def _merge_city_states(cands: list[_Cand], hint: str | None) -> list[_Cand]:
    """Beijing, Vienna, Berlin: a region and a town of one name where the town is most of the
    region (most of its people, or a region hardly larger than the town). The answer means
    the city, or the region when the answer says "Province"."""
    regions = [c for c in cands if c.place.kind == "region" and c.exact]
    drop: set[int] = set()
    for region in regions:
        for town in cands:
            if (
                town.place.kind == "city"
                and town.exact
                and town.region_key == region.region_key
                and normalize(town.place.name) == normalize(region.place.name).split(" ")[0]
                and (
                    town.place.population >= 0.5 * region.place.population
                    or region.place.radius_km <= 3.0 * town.place.radius_km
                )
            ):
                drop.add(town.place.id if hint in ("region", "prefecture") else region.place.id)
    return [c for c in cands if c.place.id not in drop]


def _mention_keys(text: str) -> tuple[str, list[list[str]], str | None, str | None]:
    """Normalised key, lookup stages (first stage with a hit wins), kind hint, direction."""
    key = normalize(text)
    if key.startswith("the "):
        key = key[4:]
    line = _TRANSIT_LINE.search(key)
    if line and line.start() > 0:
        return key, [[key[: line.start()]]], "city", None
    if _is_site(key):
        core = _site_core(key)
        return key, [[key], [core]] if core != key else [[key]], "site", None
    stripped, hint = _strip_suffix(key)
    stages = [[key]]
    if stripped != key and stripped:
        variants = [stripped]
        if hint == "county":
            glued = stripped.replace(" ", "")
            variants += [f"{stripped} xian", f"{glued}xian", f"{stripped} hsien", f"{stripped} qu", f"{glued}qu"]
        stages.append(variants)
        if key.endswith((" autonomous region", " autonomous prefecture", " autonomous county")):
            # "Ningxia Hui", "Yanbian Korean": the place name comes first, the peoples after it.
            words = _words(stripped)
            stages.append([" ".join(words[:n]) for n in range(len(words) - 1, 0, -1)])
    direction = None
    words = _words(stripped)
    if len(words) > 1 and words[0] in _DIRECTIONS:
        direction = _DIRECTIONS[words[0]]
        rest = " ".join(words[1:])
        stages.append([rest, _strip_suffix(rest)[0]])
    return key, stages, hint, direction


def _build_mention(places: PlaceIndex, text: str, order: int, context: list[_Cand]) -> list[_Mention]:
    """One part of the answer as one mention, or several when it is two names without a comma."""
    key, stages, hint, direction = _mention_keys(text)
    for index, stage in enumerate(stages):
        is_direction_stage = direction is not None and index == len(stages) - 1
        cands = _cands_for_keys(places, stage, hint, context, text)
        if cands:
            return [_Mention(text, order, hint, direction if is_direction_stage else None, cands)]
    if hint == "site" or not key:
        return [_Mention(text, order, hint, None, [], note=f"'{text}' is not in the gazetteer")]
    return _split_names(places, text, key, order, hint, context)


def _split_names(
    places: PlaceIndex, text: str, key: str, order: int, hint: str | None, context: list[_Cand]
) -> list[_Mention]:
    """A part made of several names ("Jiangxi Ganzhou", "Jammu and Kashmir"): split it when
    the names cover every word of it, else leave it unresolved (a longer unknown name)."""
    hits = [h for h in places.find(text) if not h.unspaced]
    words = _words(normalize(text))  # find() counts words of the whole normalised text
    covered = set()
    for h in hits:
        covered.update(range(h.start, h.end))
    generic = {s for s, _ in _ADMIN_SUFFIXES if " " not in s}
    uncovered = [w for i, w in enumerate(words) if i not in covered and w not in _GLUE_WORDS and w not in generic]
    if len(hits) < 2 or uncovered:
        return [_Mention(text, order, hint, None, [], note=f"'{text}' is not in the gazetteer")]
    subs = []
    for n, hit in enumerate(hits):
        sub_text = " ".join(words[hit.start : hit.end])
        subs.extend(_build_mention(places, sub_text, order + n / 10, context))
    if " and " in f" {key} " and len(subs) == 2:
        return [_common_region(text, order, subs)]
    return subs


def _common_region(text: str, order: int, subs: list[_Mention]) -> _Mention:
    """'A and B' that is not itself a name: the region one of them is and the other lies in
    ("Jammu and Kashmir": the region Kashmir, where the town Jammu is)."""
    found: dict[tuple[str, str], _Cand] = {}
    for first, second in ((subs[0], subs[1]), (subs[1], subs[0])):
        for region in first.cands:
            if (
                region.place.kind == "region"
                and region.region_key is not None
                and region.region_key not in found
                and any(_inside(region, c) for c in second.cands)
            ):
                found[region.region_key] = region
    cands = sorted(found.values(), key=lambda c: -c.score)
    if not cands:
        return _Mention(text, order, None, None, [], note=f"'{text}': no region holds both names")
    return _Mention(text, order, "region", None, cands, note=f"'{text}' read as the region holding both names")


# ---------------------------------------------------------------------------- solving


def _violations(mentions: list[_Mention], combo: tuple[_Cand, ...]) -> int:
    """How many pairs of parts disagree: the coarser must contain the finer."""
    bad = 0
    for i in range(len(combo)):
        for j in range(i + 1, len(combo)):
            a, b = combo[i], combo[j]
            ta, tb = mentions[i].tier(a), mentions[j].tier(b)
            if ta == tb:
                if a.place.kind == "city":
                    ok = _inside(a, b)
                elif a.place.kind == "region":
                    ok = a.region_key == b.region_key
                else:
                    ok = _inside(a, b) or _inside(b, a)
            else:
                outer, inner = (a, b) if ta > tb else (b, a)
                ok = _inside(outer, inner)
            bad += not ok
    return bad


@dataclass
class _Reading:
    mentions: list[_Mention]
    combo: tuple[_Cand, ...]
    violations: int
    target: int  # index of the most specific mention
    ambiguous_with: _Cand | None = None


def _solve(mentions: list[_Mention]) -> _Reading | None:
    """The reading of all resolved parts that contradicts least, then fits best."""
    active = [m for m in mentions if m.cands]
    if not active:
        return None
    scored = []
    for combo in product(*(m.cands[:_MAX_CANDIDATES] for m in active)):
        scored.append((_violations(active, combo), -sum(c.score for c in combo), combo))
    scored.sort(key=lambda s: (s[0], s[1]))
    violations, _, combo = scored[0]
    target = min(range(len(active)), key=lambda k: (active[k].tier(combo[k]), active[k].order))
    reading = _Reading(active, combo, violations, target)
    best_fit = sum(c.fit for c in combo)
    chosen = combo[target]
    for v, _, alt in scored[1:]:
        if v != violations:
            break
        other = alt[target]
        if other.place.id == chosen.place.id or _same_place(other, chosen):
            continue
        # Equally well named, and not clearly the smaller place: the kind preference alone
        # (a parish of Jamaica over the city of Portland, Oregon) is no reason to pick one.
        if sum(c.fit for c in alt) >= best_fit - 1e-9 and (chosen.place.population + 1) < _AMBIGUOUS_POP_RATIO * (
            other.place.population + 1
        ):
            reading.ambiguous_with = other
            break
    return reading


# ---------------------------------------------------------------------------- building the gold


def _describe(place: Place, places: PlaceIndex) -> str:
    country = places.gazetteer.country(place.country_code)
    return f"{place.describe(country.name if country else None)} [{place.kind}]"


def _mask(gaz: Gazetteer, side: str) -> np.ndarray:
    """The gazetteer's places in a country ('BO') or a region ('CN.11')."""
    cc, _, code = side.partition(".")
    mask = gaz.city_country == cc
    if code:
        mask &= gaz.city_admin1 == code
    return mask


def _direction_box(
    gaz: Gazetteer, side: str, direction: str
) -> tuple[tuple[float, float, float, float], float, float, float] | None:
    """The directional part of a country or region: its places beyond the middle of the
    robust (2nd-98th percentile) extent of its places, as a box, a centre and a radius."""
    mask = _mask(gaz, side)
    if mask.sum() < 5:
        return None
    lat, lon = gaz.city_lat[mask], gaz.city_lon[mask]
    lat_lo, lat_hi = np.percentile(lat, [2, 98])
    lon_lo, lon_hi = np.percentile(lon, [2, 98])
    south, west, north, east = float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max())
    mid_lat, mid_lon = (lat_lo + lat_hi) / 2, (lon_lo + lon_hi) / 2
    if direction == "central":
        q_lat, q_lon = (lat_hi - lat_lo) / 4, (lon_hi - lon_lo) / 4
        south, north, west, east = lat_lo + q_lat, lat_hi - q_lat, lon_lo + q_lon, lon_hi - q_lon
    if "south" in direction:
        north = mid_lat
    if "north" in direction:
        south = mid_lat
    if "east" in direction:
        west = mid_lon
    if "west" in direction:
        east = mid_lon
    box = (float(south), float(west), float(north), float(east))
    inside = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
    if not inside.any():
        return None
    c_lat, c_lon = spherical_mean(list(zip(lat[inside].tolist(), lon[inside].tolist())))
    radius = float(np.percentile(haversine_many_km(c_lat, c_lon, lat[inside], lon[inside]), 90))
    return box, c_lat, c_lon, max(radius, 10.0)


def _unresolved(answer: str, note: str) -> GoldPlace:
    return GoldPlace(answer=answer, granularity="unresolved", note=note)


def _context(places: PlaceIndex, prompt: str | None) -> list[_Cand]:
    """Countries and regions the prompt names ("which city in Guangxi, China"): a tie-breaker
    for same-named places, never a requirement."""
    if not prompt:
        return []
    out = []
    for hit in places.find(prompt):
        if hit.unspaced:
            continue
        for pid in hit.places:
            place = places.place(pid)
            if place.kind in ("country", "region") and _exact(place, hit.key):
                out.append(_Cand(place, _region_key(places, place), 0.0, True))
    return out


def _parts(answer: str) -> list[str]:
    """Most specific first: "X in Y, Z" -> [X, Y, Z]."""
    out = []
    for part in _SPLIT_PARTS.split(answer.strip().strip(".").strip()):
        out.extend(p.strip() for p in _SPLIT_IN.split(part) if p.strip())
    return out


def resolve_gold(answer: str, prompt: str | None = None, *, places: PlaceIndex) -> GoldPlace:
    """Resolve a GeoBrowse gold answer to a place with a granularity, fully offline.

    ``prompt`` only breaks ties between same-named places (a country or region it names
    favours places inside it). The note says how the answer was read; an answer that cannot
    be read without guessing comes back ``unresolved`` with the reason.
    """
    text = (answer or "").strip()
    if not text:
        return _unresolved(answer, "empty answer")
    for pattern in _BORDER_PATTERNS:
        match = pattern.match(text)
        if match:
            return _resolve_border(answer, match.group("a"), match.group("b"), places)
    context = _context(places, prompt)
    mentions: list[_Mention] = []
    for order, part in enumerate(_parts(text)):
        mentions.extend(_build_mention(places, part, order, context))
    reading = _solve(mentions)
    first = mentions[0] if mentions else None
    if reading and reading.violations and first and first.cands and first.hint in ("site", "county"):
        # "Bar Station, Changsha": a place named Bar exists, but not there; the site is unknown.
        first.cands = []
        first.note = f"no place named '{first.text}' lies inside its containers"
        reading = _solve(mentions)
    notes = [m.note for m in mentions if m.note and (m.cands or m is first)]
    notes += [f"container '{m.text}' not in the gazetteer: ignored" for m in mentions[1:] if not m.cands]
    if first is not None and not first.cands and first.hint in ("site", "county"):
        notes = [n for n in notes if n != first.note]  # the fallback says it again
    if reading is None:
        return _unresolved(answer, "; ".join(notes) or "no place name found")
    if reading.violations:
        parts = ", ".join(_describe(c.place, places) for c in reading.combo)
        return _unresolved(answer, f"no reading puts every part inside the next (best: {parts})")
    if reading.ambiguous_with is not None:
        chosen = reading.combo[reading.target]
        return _unresolved(
            answer,
            f"ambiguous: '{reading.mentions[reading.target].text}' may be {_describe(chosen.place, places)} "
            f"or {_describe(reading.ambiguous_with.place, places)}",
        )
    return _build_gold(answer, mentions, reading, places, notes)


def _build_gold(
    answer: str, mentions: list[_Mention], reading: _Reading, places: PlaceIndex, notes: list[str]
) -> GoldPlace:
    gaz = places.gazetteer
    combo, active = reading.combo, reading.mentions
    first = mentions[0]
    # The most specific part may be a site or county the gazetteer lacks: it is judged by its container.
    fallback_from = first if not first.cands and first.hint in ("site", "county") else None
    if not first.cands and fallback_from is None:
        return _unresolved(answer, "; ".join(notes) + "; containers alone would be a guess")
    target = reading.target
    mention, cand = active[target], combo[target]
    place = cand.place
    region_key = cand.region_key
    for c in combo:
        if region_key is None and c.place.kind == "region" and _inside(c, cand):
            region_key = c.region_key
    region = gaz.region(*region_key) if region_key else None
    country = gaz.country(place.country_code)
    gold: dict[str, Any] = {
        "answer": answer,
        "country_code": place.country_code,
        "countries": [place.country_code],
        "region": region.name if region else None,
        "region_code": f"{region_key[0]}.{region_key[1]}" if region_key else None,
    }
    areas: dict[str, Area] = {}
    city_parts = [(m, c) for m, c in zip(active, combo) if c.place.kind == "city" and m.hint not in ("site", "county")]
    if city_parts:
        c_city = min(city_parts, key=lambda mc: mc[0].order)[1]
        areas["city"] = Area(
            name=c_city.place.name, lat=c_city.place.lat, lon=c_city.place.lon, radius_km=c_city.place.radius_km
        )
        gold["city"] = c_city.place.name
    container = next(
        (c for c in combo if c.place.kind == "country" and c.place.country_code != place.country_code), None
    )
    if container is not None:  # only CONTAINER_ALIASES let a reading through with two countries
        notes.append(
            f"the gazetteer (GeoNames) codes {country.name if country else place.country_code} as "
            f"{place.country_code}, not as part of {container.place.country_code}; the container "
            f"'{container.place.name}' is accepted as the answer's convention and it is judged as {place.country_code}"
        )
    if fallback_from is not None:
        return _fallback(gold, areas, fallback_from, mention, cand, notes, places)
    if mention.hint == "site" and place.kind == "city":
        radius = max(SITE_RADIUS_KM, place.radius_km)
        areas["site"] = Area(name=mention.text, lat=place.lat, lon=place.lon, radius_km=radius)
        notes.append(f"site '{mention.text}' located at the gazetteer place {_describe(place, places)}")
        return _finish(gold, "site", mention.text, place.lat, place.lon, radius, areas, notes)
    if mention.hint == "county" and place.kind == "city":
        areas["county"] = Area(name=mention.text, lat=place.lat, lon=place.lon, radius_km=COUNTY_RADIUS_KM)
        notes.append(f"county '{mention.text}' located at its seat {_describe(place, places)}")
        return _finish(gold, "county", mention.text, place.lat, place.lon, COUNTY_RADIUS_KM, areas, notes)
    if place.kind == "city":
        notes.append(f"city {_describe(place, places)}")
        return _finish(gold, "city", place.name, place.lat, place.lon, place.radius_km, areas, notes)
    side = gold["region_code"] if place.kind == "region" else place.country_code
    if mention.direction and side:
        box = _direction_box(gaz, side, mention.direction)
        if box is None:
            return _unresolved(answer, f"'{mention.text}': too few places to tell its {mention.direction}")
        gold["bbox"] = box[0]
        notes.append(
            f"'{mention.text}': the {mention.direction} of {place.name} (its places beyond the middle of its "
            f"extent, box S{box[0][0]:.2f} W{box[0][1]:.2f} N{box[0][2]:.2f} E{box[0][3]:.2f})"
        )
        return _finish(gold, "region", mention.text, box[1], box[2], box[3], areas, notes)
    if place.kind == "region":
        notes.append(f"first-level region {_describe(place, places)} ({gold['region_code']})")
        return _finish(gold, "region", place.name, place.lat, place.lon, place.radius_km, areas, notes)
    notes.append(f"country {place.name} ({place.country_code})")
    return _finish(gold, "country", place.name, place.lat, place.lon, place.radius_km, areas, notes)


def _fallback(
    gold: dict[str, Any],
    areas: dict[str, Area],
    missing: _Mention,
    mention: _Mention,
    cand: _Cand,
    notes: list[str],
    places: PlaceIndex,
) -> GoldPlace:
    """A site or county the gazetteer lacks, judged by the part that contains it."""
    place = cand.place
    if missing.hint == "site" and place.kind == "city":
        notes.append(
            f"site '{missing.text}' has no place of its own in the gazetteer: located by its city "
            f"{_describe(place, places)}"
        )
        areas["site"] = Area(name=missing.text, lat=place.lat, lon=place.lon, radius_km=place.radius_km)
        return _finish(gold, "site", missing.text, place.lat, place.lon, place.radius_km, areas, notes)
    grain = "city" if place.kind == "city" else place.kind
    if place.kind == "region":
        gold["city"] = None
    notes.append(
        f"{missing.hint} '{missing.text}' has no place of its own in the gazetteer: judged at its container "
        f"{_describe(place, places)}"
    )
    return _finish(gold, grain, place.name, place.lat, place.lon, place.radius_km, areas, notes)


def _finish(
    gold: dict[str, Any],
    granularity: str,
    name: str,
    lat: float,
    lon: float,
    radius: float,
    areas: dict[str, Area],
    notes: list[str],
) -> GoldPlace:
    if granularity in ("country",):
        gold["region"] = gold["region_code"] = None
    return GoldPlace(
        **gold,
        granularity=granularity,  # type: ignore[arg-type]
        name=name,
        lat=lat,
        lon=lon,
        radius_km=radius,
        areas=areas,
        note="; ".join(n for n in notes if n),
    )


# ---------------------------------------------------------------------------- borders


def _border_side(places: PlaceIndex, text: str) -> tuple[_Cand | None, str]:
    """A border's side: the country or first-level region a name means, or why not."""
    _, stages, hint, _ = _mention_keys(text)
    for stage in stages:
        cands = [c for c in _cands_for_keys(places, stage, hint, [], text) if c.place.kind != "city"]
        if cands:
            best = cands[0]
            for other in cands[1:]:
                if (
                    other.fit >= best.fit
                    and not _same_place(best, other)
                    and best.place.population + 1 < _AMBIGUOUS_POP_RATIO * (other.place.population + 1)
                ):
                    return None, f"'{text}' may be {best.place.name} or {other.place.name}"
            return best, ""
    return None, f"'{text}' is no country or region in the gazetteer"


def _side_code(cand: _Cand) -> str:
    if cand.place.kind == "region" and cand.region_key:
        return f"{cand.region_key[0]}.{cand.region_key[1]}"
    return cand.place.country_code


def _near_other(gaz: Gazetteer, lat: np.ndarray, lon: np.ndarray, other: str) -> np.ndarray:
    """Distance (km) from each point to the nearest populated place of ``other``."""
    mask = _mask(gaz, other)
    tree = cKDTree(to_vectors(gaz.city_lat[mask], gaz.city_lon[mask]))
    chord, _ = tree.query(to_vectors(lat, lon), k=1)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0, 1))


def _resolve_border(answer: str, a_text: str, b_text: str, places: PlaceIndex) -> GoldPlace:
    """The border between two countries (or regions): its populated stretch, both sides."""
    gaz = places.gazetteer
    sides = []
    for text in (a_text, b_text):
        cand, why = _border_side(places, text.strip())
        if cand is None:
            return _unresolved(answer, f"border: {why}")
        sides.append(cand)
    codes = [_side_code(c) for c in sides]
    if codes[0] == codes[1]:
        return _unresolved(answer, f"border: both sides are {codes[0]}")
    zone_lat, zone_lon = [], []
    for own, other in ((codes[0], codes[1]), (codes[1], codes[0])):
        mask = _mask(gaz, own)
        if not mask.any() or not _mask(gaz, other).any():
            return _unresolved(answer, f"border: the gazetteer has no places in {own if not mask.any() else other}")
        lat, lon = gaz.city_lat[mask], gaz.city_lon[mask]
        near = _near_other(gaz, lat, lon, other) <= BORDER_KM
        zone_lat.extend(lat[near].tolist())
        zone_lon.extend(lon[near].tolist())
    if not zone_lat:
        return _unresolved(answer, f"border: no places of {codes[0]} and {codes[1]} within {BORDER_KM:.0f} km")
    c_lat, c_lon = spherical_mean(list(zip(zone_lat, zone_lon)))
    radius = float(np.max(haversine_many_km(c_lat, c_lon, np.array(zone_lat), np.array(zone_lon))))
    names = " and ".join(c.place.name for c in sides)
    countries = list(dict.fromkeys(c.place.country_code for c in sides))
    return GoldPlace(
        answer=answer,
        granularity="border",
        name=f"border between {names}",
        country_code=countries[0] if len(countries) == 1 else None,
        countries=countries,
        sides=codes,
        lat=c_lat,
        lon=c_lon,
        radius_km=max(radius, BORDER_KM),
        note=(
            f"border between {names} ({' and '.join(codes)}): {len(zone_lat)} places lie within "
            f"{BORDER_KM:.0f} km of the other side; a prediction is right in either side within "
            f"{BORDER_KM:.0f} km of a place of the other"
        ),
    )


# ---------------------------------------------------------------------------- judging


def judge_level(gold: GoldPlace, asked: str | None) -> str:
    """The level a prediction is judged at: the gold's, or the question's when coarser
    ("Oregon, USA" asked as "which U.S. city" is judged as the region Oregon; "Pingtang
    Station, Changsha ..." asked as "which city" at city level). When the answer itself
    names a place at the asked level, that level is used: "Long County, Baoji City" asked
    as "which city" is judged by Baoji (Chinese counties lie inside cities, US cities inside
    counties, so the fixed order county > city cannot settle it)."""
    grain = gold.granularity
    if grain == "border":
        return "country" if asked == "country" else "border"
    if grain not in GRANULARITY_ORDER or asked not in GRANULARITY_ORDER:
        return grain
    if asked in gold.areas:
        return asked
    return max(grain, asked, key=GRANULARITY_ORDER.index)


def _area_for(gold: GoldPlace, level: str) -> Area | None:
    if level in gold.areas:
        return gold.areas[level]
    finer = GRANULARITY_ORDER[: GRANULARITY_ORDER.index(level)]
    for grain in reversed(finer):
        if grain in gold.areas:
            area = gold.areas[grain]
            return area.model_copy(update={"radius_km": max(area.radius_km, _LEVEL_RADIUS_KM[level])})
    if gold.lat is None or gold.lon is None or gold.radius_km is None:
        return None
    return Area(name=gold.name or gold.answer, lat=gold.lat, lon=gold.lon, radius_km=gold.radius_km)


def _country_verdict(
    pred: Mapping[str, Any], point_cc: str | None, countries: list[str], level: str, distance: float | None
) -> Judgement:
    claimed = (pred.get("country_code") or "").upper() or None
    if claimed in countries or point_cc in countries:
        said = claimed if claimed in countries else point_cc
        return Judgement(correct=True, level=level, reason=f"country {said} is the gold's", distance_km=distance)
    got = claimed or point_cc
    if got is None:
        return Judgement(
            correct=False, level=level, reason="prediction is in no country the gazetteer knows", distance_km=distance
        )
    return Judgement(
        correct=False, level=level, reason=f"country {got}, gold {'/'.join(countries)}", distance_km=distance
    )


def judge(
    prediction: Mapping[str, Any] | None,
    gold: GoldPlace,
    *,
    gazetteer: Gazetteer,
    asked: str | None = None,
    fallback: Callable[[Mapping[str, Any] | None, GoldPlace], Judgement | None] | None = None,
) -> Judgement:
    """Score a prediction (a Location as a dict: lat, lon, country_code, region, city, ...)
    against a gold place at the gold's granularity, or the asked one when that is coarser.

    ``fallback`` is where a model-based judge can plug in: it is asked only about gold
    answers this module could not resolve, and may return None to leave them unjudged.
    """
    if not gold.resolved:
        if fallback is not None:
            verdict = fallback(prediction, gold)
            if verdict is not None:
                return verdict
        return Judgement(correct=None, level="unresolved", reason=f"gold not resolved: {gold.note}")
    pred = dict(prediction or {})
    level = judge_level(gold, asked)
    lat, lon = pred.get("lat"), pred.get("lon")
    has_point = lat is not None and lon is not None
    if not has_point and not (level == "country" and pred.get("country_code")):
        return Judgement(correct=False, level=level, reason="no answer")
    distance = None
    if has_point and gold.lat is not None and gold.lon is not None:
        distance = haversine_km(float(lat), float(lon), gold.lat, gold.lon)
    place = gazetteer.reverse(float(lat), float(lon)) if has_point else None
    point_cc = place.country_code if place else None
    countries = gold.countries or ([gold.country_code] if gold.country_code else [])
    if level == "country":
        return _country_verdict(pred, point_cc, countries, level, distance)
    assert place is not None
    if level == "border":
        return _judge_border(float(lat), float(lon), place.country_code, place.region_code, gold, gazetteer, distance)
    if level == "region":
        if gold.bbox is not None:
            verdict = _country_verdict(pred, point_cc, countries, level, distance)
            if not verdict.correct:
                return verdict
            south, west, north, east = gold.bbox
            inside = south <= float(lat) <= north and west <= float(lon) <= east
            return Judgement(
                correct=inside,
                level=level,
                reason=f"{'inside' if inside else 'outside'} {gold.name} (box {gold.bbox})",
                distance_km=distance,
            )
        if gold.region_code is None:
            verdict = _country_verdict(pred, point_cc, countries, level, distance)
            return verdict.model_copy(update={"reason": verdict.reason + " (gold has no region: judged by country)"})
        right = place.region_code == gold.region_code
        return Judgement(
            correct=right,
            level=level,
            reason=f"predicted point is in {place.region or 'no known region'} ({place.region_code})"
            + ("" if right else f", gold {gold.region} ({gold.region_code})"),
            distance_km=distance,
        )
    area = _area_for(gold, level)
    if area is None:
        return Judgement(correct=None, level=level, reason="gold has no extent at this level", distance_km=distance)
    d = haversine_km(float(lat), float(lon), area.lat, area.lon)
    limit = area.radius_km + MARGIN_KM.get(level, 25.0)
    if d <= limit:
        return Judgement(
            correct=True, level=level, reason=f"{d:.1f} km from {area.name} (within {limit:.0f} km)", distance_km=d
        )
    said = pred.get("city")
    same_country = point_cc in countries or (pred.get("country_code") or "").upper() in countries
    if level == "city" and said and gold.city and normalize(str(said)) == normalize(gold.city) and same_country:
        return Judgement(correct=True, level=level, reason=f"predicted city is {gold.city}", distance_km=d)
    return Judgement(
        correct=False, level=level, reason=f"{d:.1f} km from {area.name} (limit {limit:.0f} km)", distance_km=d
    )


def _judge_border(
    lat: float,
    lon: float,
    country_code: str | None,
    region_code: str | None,
    gold: GoldPlace,
    gaz: Gazetteer,
    distance: float | None,
) -> Judgement:
    """In one side and within BORDER_KM of a populated place of the other side."""
    own = next((s for s in gold.sides if s in (country_code, region_code)), None)
    if own is None:
        where = f"{country_code} ({region_code})" if country_code else "no country the gazetteer knows"
        return Judgement(
            correct=False,
            level="border",
            reason=f"point in {where}, not in {' or '.join(gold.sides)}",
            distance_km=distance,
        )
    others = [s for s in gold.sides if s != own]
    gap = min(float(_near_other(gaz, np.array([lat]), np.array([lon]), other)[0]) for other in others)
    right = gap <= BORDER_KM
    return Judgement(
        correct=right,
        level="border",
        reason=f"in {own}, {gap:.0f} km from the nearest place of {'/'.join(others)} (limit {BORDER_KM:.0f} km)",
        distance_km=distance,
    )


def _main(argv: list[str] | None = None) -> int:
    """Resolve every gold answer of a GeoBrowse JSONL file and print how they resolved:
    ``python -m evals.gold ../shared/data/geobrowse/level1.jsonl``."""
    import argparse
    import json
    from collections import Counter
    from pathlib import Path

    from tools.gazetteer import shared_gazetteer

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every answer with its note")
    args = parser.parse_args(argv)
    index = PlaceIndex(shared_gazetteer())
    rows = [json.loads(line) for line in args.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts: Counter[str] = Counter()
    for row in rows:
        gold = resolve_gold(row["gold_image_answer"], row.get("prompt"), places=index)
        counts[gold.granularity] += 1
        if args.verbose or not gold.resolved:
            asked = asked_granularity(row.get("prompt"))
            print(f"{row.get('question_id')}\t{gold.granularity}\tasked={asked}\t{gold.answer!r}\t{gold.note}")
    print(f"{len(rows)} answers: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
