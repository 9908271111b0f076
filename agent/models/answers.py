"""Reading a location answer out of whatever a geolocation model wrote.

The field writes answers in several shapes, and a fine-tuned model keeps the shape it
was trained on, so the parser accepts all of them and turns each into the arguments
of the graph's ``answer`` tool (``{"candidates": [...], "thinking": ...}``):

* GeoLocSFT JSON: ``{"thinking": ..., "answer": {"coordinates": {"latitude": 48.85,
  "longitude": 2.35, "region": "Paris, France"}}}`` (coordinates may be a list of
  several candidates);
* our candidates JSON: ``{"candidates": [{"lat", "lon", "label", "confidence", "reasons"}]}``
  (also ``latitude``/``longitude`` keys, or a bare list of such objects);
* GeoReasoner: ``{"country": "France", "city": "Paris", "reasons": "..."}`` — no
  coordinates; the graph geocodes the names through the offline gazetteer;
* plain text: ``48.8566, 2.3522`` (optionally in ``<answer>`` tags), with hemisphere
  letters (``48.85 N, 2.35 E``) or degrees-minutes-seconds (``48°51'24"N 2°21'08"E``).

Nothing here guesses: text without a recognisable answer returns ``None``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NUM = r"[-+−]?\d{1,3}(?:[.,]\d+)?"
_DMS = re.compile(
    r"(?P<deg>\d{1,3}(?:\.\d+)?)\s*(?:°|º|˚|\s?deg\b|d\b)\s*"
    r"(?:(?P<min>\d{1,2}(?:\.\d+)?)\s*(?:'|′|’|m\b|min\b)\s*)?"
    r"(?:(?P<sec>\d{1,2}(?:\.\d+)?)\s*(?:\"|″|”|''|s\b|sec\b)\s*)?"
    r"(?P<hemi>[NSEW])?",
    re.IGNORECASE,
)
_PAIR = re.compile(
    rf"(?P<lat>{_NUM})\s*°?\s*(?P<lath>[NS])?\s*[,;/ ]\s*(?P<lon>{_NUM})\s*°?\s*(?P<lonh>[EW])?",
    re.IGNORECASE,
)
_LABELLED = re.compile(
    rf"\b(?:lat(?:itude)?)\s*[:=]?\s*(?P<lat>{_NUM})\b.{{0,40}}?\b(?:lon(?:g(?:itude)?)?|lng)\s*[:=]?\s*(?P<lon>{_NUM})",
    re.IGNORECASE | re.DOTALL,
)


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", "."))


def _valid(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        point = parse_coordinates(value)
        if point is None:
            try:
                return _number(value.strip())
            except ValueError:
                return None
    return None


def parse_dms(text: str) -> tuple[float, float] | None:
    """Two degrees-minutes-seconds values with hemisphere letters, in either order."""
    values: dict[str, float] = {}
    for match in _DMS.finditer(text):
        hemi = (match["hemi"] or "").upper()
        if not hemi or not (match["min"] or "°" in match[0] or "º" in match[0]):
            continue
        value = float(match["deg"]) + float(match["min"] or 0) / 60 + float(match["sec"] or 0) / 3600
        axis = "lat" if hemi in "NS" else "lon"
        if axis not in values:
            values[axis] = -value if hemi in "SW" else value
    if "lat" in values and "lon" in values and _valid(values["lat"], values["lon"]):
        return values["lat"], values["lon"]
    return None


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """A latitude/longitude pair written as text: decimal, labelled, hemisphere
    letters or degrees-minutes-seconds. None when there is no valid pair."""
    dms = parse_dms(text)
    if dms is not None:
        return dms
    labelled = _LABELLED.search(text)
    if labelled:
        lat, lon = _number(labelled["lat"]), _number(labelled["lon"])
        if _valid(lat, lon):
            return lat, lon
    for match in _PAIR.finditer(text):
        lettered = bool(match["lath"] or match["lonh"])
        if not lettered and not any(ch in match["lat"] + match["lon"] for ch in ".,"):
            continue  # "1, 2" in a list is not a coordinate; real answers carry decimals
        lat, lon = _number(match["lat"]), _number(match["lon"])
        if (match["lath"] or "").upper() == "S":
            lat = -abs(lat)
        if (match["lonh"] or "").upper() == "W":
            lon = -abs(lon)
        if _valid(lat, lon):
            return lat, lon
    return None


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON value embedded in the text (fenced or bare), outermost first."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    i = 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def _candidate_from(obj: dict[str, Any], default_reason: str = "") -> dict[str, Any] | None:
    lat = _float(obj.get("lat", obj.get("latitude")))
    lon = _float(obj.get("lon", obj.get("lng", obj.get("longitude"))))
    label = str(obj.get("label") or obj.get("region") or obj.get("place") or obj.get("name") or "")
    reasons = obj.get("reasons", obj.get("reason", obj.get("reasoning", default_reason)))
    if isinstance(reasons, list):
        reasons = "; ".join(str(r) for r in reasons)
    candidate: dict[str, Any] = {"label": label, "reasons": str(reasons or "")}
    confidence = _float(obj.get("confidence", obj.get("probability")))
    if confidence is not None and 0.0 <= confidence <= 1.0:
        candidate["confidence"] = confidence
    if lat is not None and lon is not None and _valid(lat, lon):
        candidate.update(lat=lat, lon=lon)
        return candidate
    coords = obj.get("coordinates")
    if isinstance(coords, str):
        point = parse_coordinates(coords)
        if point:
            candidate.update(lat=point[0], lon=point[1])
            return candidate
    names = {k: str(obj[k]).strip() for k in ("country", "region", "city") if isinstance(obj.get(k), str) and obj[k]}
    if names:
        candidate.update(names)
        if not label:
            candidate["label"] = ", ".join(names[k] for k in ("city", "region", "country") if k in names)
        return candidate
    return None


def _from_json(value: Any) -> dict[str, Any] | None:
    thinking = ""
    if isinstance(value, dict):
        thinking = str(value.get("thinking") or value.get("reasoning") or "")
        if isinstance(value.get("candidates"), list):
            value = value["candidates"]
        elif isinstance(value.get("answer"), (dict, list, str)):
            inner = value["answer"]
            if isinstance(inner, dict) and "coordinates" in inner and not isinstance(inner["coordinates"], str):
                inner = inner["coordinates"]
            if isinstance(inner, str):
                point = parse_coordinates(inner)
                if point is None:
                    return None
                return {"candidates": [{"lat": point[0], "lon": point[1], "label": ""}], "thinking": thinking}
            value = inner
    objects = value if isinstance(value, list) else [value]
    candidates = [c for c in (_candidate_from(o, thinking) for o in objects if isinstance(o, dict)) if c]
    if not candidates:
        return None
    return {"candidates": candidates, "thinking": thinking}


def parse_answer(text: str) -> dict[str, Any] | None:
    """The ``answer`` tool arguments a model's final text means, or None.

    JSON is tried first (the last parsable object wins, since models often restate the
    final answer after reasoning), then coordinates written as text.
    """
    if not text or not text.strip():
        return None
    for value in reversed(_json_objects(text)):
        parsed = _from_json(value)
        if parsed is not None:
            return parsed
    point = parse_coordinates(text)
    if point is not None:
        return {"candidates": [{"lat": point[0], "lon": point[1], "label": ""}], "thinking": ""}
    return None
