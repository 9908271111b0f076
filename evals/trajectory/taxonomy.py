"""The error taxonomy: where a wrong answer went wrong (no evidence, misleading evidence, a bad decision)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.geo import haversine_km

from .documents import as_dict

ERROR_CATEGORIES = (
    "correct",
    "no_usable_evidence",
    "wrong_evidence",
    "right_evidence_wrong_decision",
    "error",
    "unknown",
)

#: An answer within this distance of a point truth is correct when no judgement says otherwise.
CORRECT_KM = 25.0


def truth_point(record: Mapping[str, Any]) -> tuple[float, float] | None:
    """The truth as a point: the item's lat/lon, else the resolved gold place's point."""
    for source in (record.get("truth"), record.get("gold")):
        if isinstance(source, Mapping) and source.get("lat") is not None and source.get("lon") is not None:
            return float(source["lat"]), float(source["lon"])
    return None


def _shared_gazetteer() -> Any:
    from ..resources import gazetteer

    return gazetteer()


def truth_country(record: Mapping[str, Any], gazetteer: Any = None) -> str | None:
    """The true country: the gold place's code, else the truth point reverse-geocoded."""
    gold = record.get("gold")
    if isinstance(gold, Mapping) and gold.get("country_code"):
        return str(gold["country_code"]).upper()
    point = truth_point(record)
    if point is None:
        return None
    return (gazetteer or _shared_gazetteer()).reverse(*point).country_code


def is_correct(record: Mapping[str, Any], correct_km: float = CORRECT_KM) -> bool | None:
    """The judgement's verdict when there is one; otherwise within ``correct_km`` (or the
    gold place's own radius, if larger) of the truth point. None when undecidable."""
    judgement = record.get("judgement")
    if isinstance(judgement, Mapping) and judgement.get("correct") is not None:
        return bool(judgement["correct"])
    prediction = record.get("prediction")
    if not isinstance(prediction, Mapping) or prediction.get("lat") is None:
        return False
    distance = record.get("distance_km")
    point = truth_point(record)
    if distance is None and point is not None:
        distance = haversine_km(float(prediction["lat"]), float(prediction["lon"]), *point)
    if distance is None:
        return None
    gold = record.get("gold")
    radius = float(gold.get("radius_km") or 0.0) if isinstance(gold, Mapping) else 0.0
    return distance <= max(correct_km, radius)


def _places_of(evidence: Mapping[str, Any]) -> list[tuple[float, float, float, str | None]]:
    """The places an evidence names: its geo point and the readings in its details."""
    places = []
    geo = evidence.get("geo")
    if isinstance(geo, Mapping) and geo.get("lat") is not None:
        places.append((float(geo["lat"]), float(geo["lon"]), float(geo.get("radius_km") or 0.0), None))
    details = evidence.get("details")
    readings = details.get("readings") if isinstance(details, Mapping) else None
    for reading in readings or []:
        if isinstance(reading, Mapping) and reading.get("lat") is not None and reading.get("lon") is not None:
            places.append(
                (
                    float(reading["lat"]),
                    float(reading["lon"]),
                    float(reading.get("radius_km") or 0.0),
                    reading.get("country_code"),
                )
            )
    return places


def _location_bearing(evidence: Mapping[str, Any]) -> bool:
    countries = evidence.get("countries")
    return bool(_places_of(evidence)) or (isinstance(countries, Mapping) and any(w > 0 for w in countries.values()))


def _favoured(countries: Mapping[str, float]) -> set[str]:
    top = max(countries.values(), default=0.0)
    return {c.upper() for c, w in countries.items() if top > 0 and w >= 0.5 * top}


def evidence_points_at_truth(
    evidence: Mapping[str, Any],
    point: tuple[float, float] | None,
    country: str | None,
    *,
    truth_radius_km: float = 0.0,
    country_level: bool = False,
    tolerance_km: float = CORRECT_KM,
) -> bool:
    """Whether one piece of evidence points at the truth.

    Evidence that names places (a geo point, or place readings in its details) points at
    the truth when one of them lies within ``max(its radius, the truth's radius,
    tolerance_km)`` of the truth point; when the truth is a whole country
    (``country_level``), a named place in that country is enough. Evidence without a
    place but with a country prior points at the truth when the true country is among
    its favoured countries (weight at least half the prior's largest).
    """
    places = _places_of(evidence)
    countries = evidence.get("countries") if isinstance(evidence.get("countries"), Mapping) else {}
    if places:
        for lat, lon, radius, code in places:
            if point is not None and haversine_km(lat, lon, *point) <= max(radius, truth_radius_km, tolerance_km):
                return True
            if country_level and country and (code or "").upper() == country:
                return True
        # the evidence's top place carries no code of its own: its prior names the country
        return bool(country_level and country and countries and country in _favoured(countries))
    return bool(country and countries and country in _favoured(countries))


def error_category(record: Mapping[str, Any], *, correct_km: float = CORRECT_KM, gazetteer: Any = None) -> str:
    """Where a finished item went right or wrong, from what its record holds.

    * ``"error"``: the run failed (``prediction`` is None, ``error`` set).
    * ``"correct"``: :func:`is_correct` — the judgement says correct (gold-answer items),
      or the answer is within ``correct_km`` (or the gold radius) of the truth point.
    * ``"no_usable_evidence"``: wrong or no answer, and no evidence bears on a location
      (none names a place or carries a country prior): nothing to go on.
    * ``"right_evidence_wrong_decision"``: wrong or no answer although some evidence
      points at the truth (:func:`evidence_points_at_truth`): the decision lost it.
    * ``"wrong_evidence"``: wrong or no answer; location-bearing evidence exists but none
      of its places or favoured countries include the truth: the evidence misled.
    * ``"unknown"``: wrong, with evidence, but the truth has neither a point nor a
      country (an unresolved gold answer), so the evidence cannot be checked.
    """
    prediction = record.get("prediction")
    if not isinstance(prediction, Mapping):
        return "error"
    if is_correct(record, correct_km):
        return "correct"
    evidence = [as_dict(e) for e in prediction.get("evidence") or []]
    bearing = [e for e in evidence if _location_bearing(e)]
    if not bearing:
        return "no_usable_evidence"
    point = truth_point(record)
    country = truth_country(record, gazetteer) if (point is not None or record.get("gold")) else None
    if point is None and country is None:
        return "unknown"
    gold = record.get("gold") if isinstance(record.get("gold"), Mapping) else {}
    radius = float(gold.get("radius_km") or 0.0)
    country_level = gold.get("granularity") == "country"
    for e in bearing:
        if evidence_points_at_truth(
            e, point, country, truth_radius_km=radius, country_level=country_level, tolerance_km=correct_km
        ):
            return "right_evidence_wrong_decision"
    return "wrong_evidence"
