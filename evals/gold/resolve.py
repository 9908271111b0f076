"""Resolving a gold answer's text into a ``GoldPlace`` (what it names, at which granularity, where)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.gazetteer import Gazetteer
from tools.geo import haversine_many_km, spherical_mean
from tools.places import Place, PlaceIndex

from .borders import resolve_border
from .candidates import build_mention
from .lookup import is_exact_name, lies_inside, places_mask, region_key_of
from .model import COUNTY_RADIUS_KM, SITE_RADIUS_KM, Area, GoldPlace, unresolved_gold
from .parsing import BORDER_PATTERNS, SPLIT_IN, SPLIT_PARTS, Cand, Mention
from .solving import GoldReading, solve


def _describe(place: Place, places: PlaceIndex) -> str:
    country = places.gazetteer.country(place.country_code)
    return f"{place.describe(country.name if country else None)} [{place.kind}]"


def _direction_box(
    gaz: Gazetteer, side: str, direction: str
) -> tuple[tuple[float, float, float, float], float, float, float] | None:
    """The directional part of a country or region: its places beyond the middle of the
    robust (2nd-98th percentile) extent of its places, as a box, a centre and a radius."""
    mask = places_mask(gaz, side)
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


def _context(places: PlaceIndex, prompt: str | None) -> list[Cand]:
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
            if place.kind in ("country", "region") and is_exact_name(place, hit.key):
                out.append(Cand(place, region_key_of(places, place), 0.0, True))
    return out


def _parts(answer: str) -> list[str]:
    """Most specific first: "X in Y, Z" -> [X, Y, Z]."""
    out = []
    for part in SPLIT_PARTS.split(answer.strip().strip(".").strip()):
        out.extend(p.strip() for p in SPLIT_IN.split(part) if p.strip())
    return out


def resolve_gold(answer: str, prompt: str | None = None, *, places: PlaceIndex) -> GoldPlace:
    """Resolve a GeoBrowse gold answer to a place with a granularity, fully offline.

    ``prompt`` only breaks ties between same-named places (a country or region it names
    favours places inside it). The note says how the answer was read; an answer that cannot
    be read without guessing comes back ``unresolved`` with the reason.
    """
    text = (answer or "").strip()
    if not text:
        return unresolved_gold(answer, "empty answer")
    for pattern in BORDER_PATTERNS:
        match = pattern.match(text)
        if match:
            return resolve_border(answer, match.group("a"), match.group("b"), places)
    context = _context(places, prompt)
    mentions: list[Mention] = []
    for order, part in enumerate(_parts(text)):
        mentions.extend(build_mention(places, part, order, context))
    reading = solve(mentions)
    first = mentions[0] if mentions else None
    if reading and reading.violations and first and first.cands and first.hint in ("site", "county"):
        # "Bar Station, Changsha": a place named Bar exists, but not there; the site is unknown.
        first.cands = []
        first.note = f"no place named '{first.text}' lies inside its containers"
        reading = solve(mentions)
    notes = [m.note for m in mentions if m.note and (m.cands or m is first)]
    notes += [f"container '{m.text}' not in the gazetteer: ignored" for m in mentions[1:] if not m.cands]
    if first is not None and not first.cands and first.hint in ("site", "county"):
        notes = [n for n in notes if n != first.note]  # the fallback says it again
    if reading is None:
        return unresolved_gold(answer, "; ".join(notes) or "no place name found")
    if reading.violations:
        parts = ", ".join(_describe(c.place, places) for c in reading.combo)
        return unresolved_gold(answer, f"no reading puts every part inside the next (best: {parts})")
    if reading.ambiguous_with is not None:
        chosen = reading.combo[reading.target]
        return unresolved_gold(
            answer,
            f"ambiguous: '{reading.mentions[reading.target].text}' may be {_describe(chosen.place, places)} "
            f"or {_describe(reading.ambiguous_with.place, places)}",
        )
    return _build_gold(answer, mentions, reading, places, notes)


def _build_gold(
    answer: str, mentions: list[Mention], reading: GoldReading, places: PlaceIndex, notes: list[str]
) -> GoldPlace:
    gaz = places.gazetteer
    combo, active = reading.combo, reading.mentions
    first = mentions[0]
    # The most specific part may be a site or county the gazetteer lacks: it is judged by its container.
    fallback_from = first if not first.cands and first.hint in ("site", "county") else None
    if not first.cands and fallback_from is None:
        return unresolved_gold(answer, "; ".join(notes) + "; containers alone would be a guess")
    target = reading.target
    mention, cand = active[target], combo[target]
    place = cand.place
    region_key = cand.region_key
    for c in combo:
        if region_key is None and c.place.kind == "region" and lies_inside(c, cand):
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
            return unresolved_gold(answer, f"'{mention.text}': too few places to tell its {mention.direction}")
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
    missing: Mention,
    mention: Mention,
    cand: Cand,
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
