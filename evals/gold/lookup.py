"""Gazetteer helpers for gold resolution: region keys, exact names, country places, containment."""

from __future__ import annotations

import weakref

import numpy as np

from tools.gazetteer import Gazetteer
from tools.geo import haversine_km
from tools.normalize import normalize
from tools.places import Place, PlaceIndex

from .model import CITY_CONTAINS_KM, CONTAINER_ALIASES
from .parsing import Cand

_REGION_CODES: weakref.WeakKeyDictionary[Gazetteer, dict[tuple[str, str, float, float], str]] = (
    weakref.WeakKeyDictionary()
)


def region_key_of(places: PlaceIndex, place: Place) -> tuple[str, str] | None:
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


def is_exact_name(place: Place, key: str) -> bool:
    """The key is the place's own name, or its leading words ("guangxi" for "Guangxi Zhuangzu Zizhiqu")."""
    name = normalize(place.name)
    return name == key or name.startswith(key + " ")


def country_place(places: PlaceIndex, code: str) -> Place | None:
    info = places.gazetteer.country(code)
    if info is None:
        return None
    for pid in places.lookup(normalize(info.name)):
        place = places.place(pid)
        if place.kind == "country" and place.country_code == code:
            return place
    return None


def lies_inside(outer: Cand, inner: Cand) -> bool:
    """Whether ``inner`` lies in ``outer`` (outer is a country, a region or a town)."""
    o, i = outer.place, inner.place
    if o.kind == "country":
        return i.country_code == o.country_code or i.country_code in CONTAINER_ALIASES.get(o.country_code, ())
    if o.kind == "region":
        return i.kind != "country" and inner.region_key is not None and inner.region_key == outer.region_key
    if i.kind != "city":
        return False
    return i.country_code == o.country_code and haversine_km(o.lat, o.lon, i.lat, i.lon) <= CITY_CONTAINS_KM


def same_place(a: Cand, b: Cand) -> bool:
    """Nested or overlapping: two readings that would be judged alike."""
    if (lies_inside(a, b) and a.place.kind != "city") or (lies_inside(b, a) and b.place.kind != "city"):
        return True
    d = haversine_km(a.place.lat, a.place.lon, b.place.lat, b.place.lon)
    return d <= max(a.place.radius_km, b.place.radius_km, 25.0)


def places_mask(gaz: Gazetteer, side: str) -> np.ndarray:
    """The gazetteer's places in a country ('BO') or a region ('CN.11')."""
    cc, _, code = side.partition(".")
    mask = gaz.city_country == cc
    if code:
        mask &= gaz.city_admin1 == code
    return mask
