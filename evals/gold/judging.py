"""Judging a prediction against a resolved gold place at the granularity asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tools.gazetteer import Gazetteer
from tools.geo import haversine_km
from tools.normalize import normalize

from ..gold_prompt import GRANULARITY_ORDER
from .borders import near_other
from .model import BORDER_KM, LEVEL_RADIUS_KM, MARGIN_KM, Area, GoldPlace, Judgement


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
            return area.model_copy(update={"radius_km": max(area.radius_km, LEVEL_RADIUS_KM[level])})
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
    gap = min(float(near_other(gaz, np.array([lat]), np.array([lon]), other)[0]) for other in others)
    right = gap <= BORDER_KM
    return Judgement(
        correct=right,
        level="border",
        reason=f"in {own}, {gap:.0f} km from the nearest place of {'/'.join(others)} (limit {BORDER_KM:.0f} km)",
        distance_km=distance,
    )
