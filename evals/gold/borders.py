"""Resolving 'the border between A and B' answers."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tools.gazetteer import Gazetteer
from tools.geo import EARTH_RADIUS_KM, haversine_many_km, spherical_mean, to_vectors
from tools.places import PlaceIndex

from .candidates import cands_for_keys, mention_keys
from .lookup import places_mask, same_place
from .model import AMBIGUOUS_POP_RATIO, BORDER_KM, GoldPlace, unresolved_gold
from .parsing import Cand


def _border_side(places: PlaceIndex, text: str) -> tuple[Cand | None, str]:
    """A border's side: the country or first-level region a name means, or why not."""
    _, stages, hint, _ = mention_keys(text)
    for stage in stages:
        cands = [c for c in cands_for_keys(places, stage, hint, [], text) if c.place.kind != "city"]
        if cands:
            best = cands[0]
            for other in cands[1:]:
                if (
                    other.fit >= best.fit
                    and not same_place(best, other)
                    and best.place.population + 1 < AMBIGUOUS_POP_RATIO * (other.place.population + 1)
                ):
                    return None, f"'{text}' may be {best.place.name} or {other.place.name}"
            return best, ""
    return None, f"'{text}' is no country or region in the gazetteer"


def _side_code(cand: Cand) -> str:
    if cand.place.kind == "region" and cand.region_key:
        return f"{cand.region_key[0]}.{cand.region_key[1]}"
    return cand.place.country_code


def near_other(gaz: Gazetteer, lat: np.ndarray, lon: np.ndarray, other: str) -> np.ndarray:
    """Distance (km) from each point to the nearest populated place of ``other``."""
    mask = places_mask(gaz, other)
    tree = cKDTree(to_vectors(gaz.city_lat[mask], gaz.city_lon[mask]))
    chord, _ = tree.query(to_vectors(lat, lon), k=1)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0, 1))


def resolve_border(answer: str, a_text: str, b_text: str, places: PlaceIndex) -> GoldPlace:
    """The border between two countries (or regions): its populated stretch, both sides."""
    gaz = places.gazetteer
    sides = []
    for text in (a_text, b_text):
        cand, why = _border_side(places, text.strip())
        if cand is None:
            return unresolved_gold(answer, f"border: {why}")
        sides.append(cand)
    codes = [_side_code(c) for c in sides]
    if codes[0] == codes[1]:
        return unresolved_gold(answer, f"border: both sides are {codes[0]}")
    zone_lat, zone_lon = [], []
    for own, other in ((codes[0], codes[1]), (codes[1], codes[0])):
        mask = places_mask(gaz, own)
        if not mask.any() or not places_mask(gaz, other).any():
            return unresolved_gold(answer, f"border: the gazetteer has no places in {own if not mask.any() else other}")
        lat, lon = gaz.city_lat[mask], gaz.city_lon[mask]
        near = near_other(gaz, lat, lon, other) <= BORDER_KM
        zone_lat.extend(lat[near].tolist())
        zone_lon.extend(lon[near].tolist())
    if not zone_lat:
        return unresolved_gold(answer, f"border: no places of {codes[0]} and {codes[1]} within {BORDER_KM:.0f} km")
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
