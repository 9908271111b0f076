"""Exports of a run for investigators: GeoJSON, KML and a GeoBrowse-style ``image_solution``.

A run is given as a :class:`Location`, a parsed :class:`~graphs.trace.Trace`, or the path of
a trace of any format version (or of a ``locate --json`` file). The trace's final step holds the
Location JSON, so every export works from a trace file alone, offline, long after the run.

The uncertainty circle is a geodesic circle (points at ``radius_km`` along great circles),
split at the antimeridian as RFC 7946 recommends, closed over a pole when it contains one,
so that GIS tools draw it where it is instead of as a band round the world.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shapely import affinity
from shapely.geometry import Polygon, box, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from graphs.trace import Trace, read_trace, trace_from_records
from graphs.trace_schema import ToolCallStep
from tools.errors import TraceError
from tools.evidence import Evidence
from tools.geo import EARTH_RADIUS_KM, destination_point, haversine_km, normalize_lon

from .location import Location

RunLike = Location | Trace | str | os.PathLike | Mapping
KML_NS = "http://www.opengis.net/kml/2.2"
_DIGITS = 6  # ~0.1 m: more would only be noise


# -- loading -------------------------------------------------------------------------------


def as_trace(source: RunLike) -> Trace:
    """The trace of a run: a Trace as is, a path read, a Location's in-memory or on-disk trace."""
    if isinstance(source, Trace):
        return source
    if isinstance(source, Location):
        if source.trace:
            return trace_from_records(source.trace, f"run {source.run_id}")
        if source.trace_path:
            return read_trace(source.trace_path)
        raise TraceError(f"run {source.run_id or '?'} kept no trace (pass trace=... to locate)")
    if isinstance(source, (str, os.PathLike)):
        return read_trace(source)
    raise TraceError(f"expected a trace, a trace path or a Location, not {type(source).__name__}")


def as_location(source: RunLike) -> Location:
    """The result of a run. An unfinished trace gives a Location without an answer that says so,
    with the evidence recorded before the run stopped."""
    if isinstance(source, Location):
        return source
    if isinstance(source, Mapping):
        return _validate(dict(source), "the given mapping")
    if isinstance(source, (str, os.PathLike)):
        single = _location_json(Path(source))
        if single is not None:
            return single
    trace = as_trace(source)
    where = str(trace.path) if trace.path else "trace"
    final = trace.final
    if final is not None and isinstance(final.result, Mapping):
        loc = _validate(dict(final.result), where)
        # The result keeps only what the run found; what names the run is in the header and timing.
        return loc.model_copy(
            update={
                "run_id": loc.run_id or trace.run_id,
                "elapsed_s": loc.elapsed_s or final.timing.duration_s,
                "trace_path": loc.trace_path or (str(trace.path) if trace.path else None),
            }
        )
    if final is not None and final.error is not None:
        why = f"the run failed: {final.error.message}"
    elif final is not None:
        why = f"the run ended with status {final.status} and no result"
    else:
        why = "the run did not finish (no final step)"
    return Location(
        reason=why,
        evidence=trace_evidence(trace),
        run_id=trace.run_id,
        images=[dict(i) for i in trace.header.images if isinstance(i, dict)],
        trace_path=str(trace.path) if trace.path else None,
    )


def _validate(data: dict[str, Any], where: str) -> Location:
    data.pop("trace", None)
    try:
        return Location.model_validate(data)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise TraceError(f"{where}: the result is not a valid Location ({first})") from None


def _location_json(path: Path) -> Location | None:
    """A ``geosleuth locate --json`` file (one JSON object with lat/lon), else None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1)
        if head != b"{":
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # read_trace will say what is wrong with it
    if isinstance(data, dict) and "type" not in data and {"lat", "lon"} <= set(data):
        return _validate(data, str(path))
    return None


def trace_evidence(trace: Trace) -> list[Evidence]:
    """The run's evidence as its ``evidence`` steps recorded it (for traces without a result)."""
    return trace.evidence()


# -- geometry ------------------------------------------------------------------------------


def circle_geometry(lat: float, lon: float, radius_km: float | None, segments: int = 72) -> dict[str, Any] | None:
    """GeoJSON Polygon or MultiPolygon of the points within ``radius_km`` of (lat, lon).

    Split at the antimeridian, closed over a pole it contains, the whole globe beyond half
    the circumference. None when there is no radius (an exact point).
    """
    if radius_km is None or not math.isfinite(radius_km) or radius_km <= 0:
        return None
    geom = _cap(lat, lon, min(radius_km, math.pi * EARTH_RADIUS_KM), max(8, segments))
    return _rounded(mapping(geom))


def _cap(lat: float, lon: float, radius_km: float, segments: int):
    half = math.pi * EARTH_RADIUS_KM
    world = box(-180.0, -90.0, 180.0, 90.0)
    if radius_km >= half * (1 - 1e-9):
        return world
    north = haversine_km(lat, lon, 90.0, 0.0) <= radius_km
    south = haversine_km(lat, lon, -90.0, 0.0) <= radius_km
    if north and south:  # the complement of a smaller cap round the antipode
        hole = _cap(-lat, normalize_lon(lon + 180.0), half - radius_km, segments)
        return world.difference(hole)
    points = [destination_point(lat, lon, 360.0 * i / segments, radius_km) for i in range(segments)]
    ring = [(points[0][1], points[0][0])]
    for plat, plon in points[1:]:
        prev = ring[-1][0]
        ring.append((prev + (plon - prev + 180.0) % 360.0 - 180.0, plat))  # continuous longitudes
    if north or south:  # the ring winds once round the pole: close it along the pole's line
        pole = 90.0 if north else -90.0
        last = ring[0][0] + (360.0 if ring[-1][0] > ring[0][0] else -360.0)
        ring += [(last, ring[0][1]), (last, pole), (ring[0][0], pole)]
    polygon = Polygon(ring).buffer(0)
    pieces = []
    for k in (-2, -1, 0, 1, 2):  # fold the unwrapped longitudes back into [-180, 180]
        part = polygon.intersection(box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0))
        if not part.is_empty:
            pieces.append(affinity.translate(part, xoff=-360.0 * k))
    merged = unary_union(pieces)
    if merged.geom_type == "MultiPolygon":
        return type(merged)([orient(p, 1.0) for p in merged.geoms])
    return orient(merged, 1.0)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, _DIGITS)
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, _DIGITS), round(lat, _DIGITS)]}


def _evidence_geometry(item: Evidence) -> dict[str, Any]:
    """The exact shape when the evidence carries a usable one (an OSM way), else its point."""
    assert item.geo is not None
    geometry = item.geo.geometry
    if isinstance(geometry, dict) and geometry.get("type"):
        try:
            if shape(geometry).is_valid:
                return _rounded(dict(geometry))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            pass  # malformed shape: the point still stands
    return _point(item.geo.lat, item.geo.lon)


# -- GeoJSON -------------------------------------------------------------------------------


def _feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def to_geojson(source: RunLike) -> dict[str, Any]:
    """A FeatureCollection: answer point, uncertainty circle, ranked candidates, located evidence.

    Every feature's ``role`` property says which it is. Without an answer there is no point
    and no circle; the collection's ``properties.reason`` says why.
    """
    loc = as_location(source)
    features: list[dict[str, Any]] = []
    if loc.lat is not None and loc.lon is not None:
        features.append(
            _feature(
                _point(loc.lat, loc.lon),
                role="answer",
                confidence=loc.confidence,
                radius_km=loc.radius_km,
                country_code=loc.country_code,
                country=loc.country,
                region=loc.region,
                city=loc.city,
                summary=loc.summary,
            )
        )
        circle = circle_geometry(loc.lat, loc.lon, loc.radius_km)
        if circle is not None:
            features.append(_feature(circle, role="uncertainty", radius_km=loc.radius_km, confidence=loc.confidence))
    for rank, cand in enumerate(loc.candidates, start=1):
        features.append(
            _feature(
                _point(cand.lat, cand.lon),
                role="candidate",
                rank=rank,
                label=cand.label,
                score=cand.score,
                sources=list(cand.sources),
                radius_km=cand.radius_km,
                country_code=cand.country_code,
                proposer=cand.proposer,
            )
        )
    for item in loc.evidence:
        if item.geo is not None:
            features.append(
                _feature(
                    _evidence_geometry(item),
                    role="evidence",
                    id=item.id,
                    kind=item.kind,
                    value=item.value,
                    confidence=item.confidence,
                    provenance=item.provenance,
                    tool=item.source.tool,
                    radius_km=item.geo.radius_km,
                )
            )
    return {
        "type": "FeatureCollection",
        "properties": {
            "run_id": loc.run_id,
            "answered": loc.answered,
            "reason": loc.reason or ("" if loc.answered else "no answer"),
            "strategy": loc.strategy,
            "images": [i.get("source") for i in loc.images],
        },
        "features": features,
    }


# -- KML -----------------------------------------------------------------------------------


def _kml_coords(points: Iterable[Iterable[float]]) -> str:
    return " ".join(f"{p[0]:.{_DIGITS}f},{p[1]:.{_DIGITS}f}" for p in points)


def _kml_geometry(parent: ET.Element, geometry: dict[str, Any]) -> None:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    tag = lambda name, into=parent: ET.SubElement(into, f"{{{KML_NS}}}{name}")  # noqa: E731
    if kind == "Point":
        tag("coordinates", tag("Point")).text = _kml_coords([coords])
    elif kind == "LineString":
        tag("coordinates", tag("LineString")).text = _kml_coords(coords)
    elif kind == "Polygon":
        poly = tag("Polygon")
        for i, ring in enumerate(coords):
            boundary = tag("outerBoundaryIs" if i == 0 else "innerBoundaryIs", poly)
            tag("coordinates", tag("LinearRing", boundary)).text = _kml_coords(ring)
    elif kind in ("MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"):
        multi = tag("MultiGeometry")
        parts = geometry.get("geometries") or [{"type": kind[5:], "coordinates": c} for c in coords or []]
        for part in parts:
            _kml_geometry(multi, part)


def _placemark(folder: ET.Element, name: str, description: str, style: str, geometry: dict, data: dict) -> None:
    mark = ET.SubElement(folder, f"{{{KML_NS}}}Placemark")
    ET.SubElement(mark, f"{{{KML_NS}}}name").text = name
    ET.SubElement(mark, f"{{{KML_NS}}}description").text = description
    ET.SubElement(mark, f"{{{KML_NS}}}styleUrl").text = f"#{style}"
    extended = ET.SubElement(mark, f"{{{KML_NS}}}ExtendedData")
    for key, value in data.items():
        if value is None:
            continue
        entry = ET.SubElement(extended, f"{{{KML_NS}}}Data", name=key)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        ET.SubElement(entry, f"{{{KML_NS}}}value").text = text
    _kml_geometry(mark, geometry)


def _kml_styles(doc: ET.Element) -> None:
    colours = {"answer": "ff0000ff", "candidate": "ff00a5ff", "evidence": "ffff7f00"}  # aabbggrr
    for name, colour in colours.items():
        style = ET.SubElement(doc, f"{{{KML_NS}}}Style", id=name)
        icon = ET.SubElement(style, f"{{{KML_NS}}}IconStyle")
        ET.SubElement(icon, f"{{{KML_NS}}}color").text = colour
    style = ET.SubElement(doc, f"{{{KML_NS}}}Style", id="uncertainty")
    line = ET.SubElement(style, f"{{{KML_NS}}}LineStyle")
    ET.SubElement(line, f"{{{KML_NS}}}color").text = "ff0000ff"
    ET.SubElement(line, f"{{{KML_NS}}}width").text = "2"
    fill = ET.SubElement(style, f"{{{KML_NS}}}PolyStyle")
    ET.SubElement(fill, f"{{{KML_NS}}}color").text = "330000ff"


def to_kml(source: RunLike) -> str:
    """KML 2.2 with the GeoJSON export's content, one Folder per role. Text is escaped by the
    XML writer, so OCR text and web snippets cannot break the document."""
    collection = to_geojson(source)
    props = collection["properties"]
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = f"geosleuth run {props['run_id']}".strip()
    ET.SubElement(doc, f"{{{KML_NS}}}description").text = (
        "answered" if props["answered"] else f"no answer: {props['reason']}"
    )
    _kml_styles(doc)
    folders: dict[str, ET.Element] = {}
    titles = {"answer": "Answer", "uncertainty": "Answer", "candidate": "Candidates", "evidence": "Evidence"}
    for feature in collection["features"]:
        p = feature["properties"]
        role = p["role"]
        if titles[role] not in folders:
            folder = ET.SubElement(doc, f"{{{KML_NS}}}Folder")
            ET.SubElement(folder, f"{{{KML_NS}}}name").text = titles[role]
            folders[titles[role]] = folder
        if role == "answer":
            place = ", ".join(dict.fromkeys(x for x in (p["city"], p["region"], p["country"]) if x)) or "answer"
            name, text = place, f"confidence {p['confidence']:.2f}; {p['summary']}"
        elif role == "uncertainty":
            name, text = f"uncertainty ±{p['radius_km']:g} km", "geodesic circle round the answer"
        elif role == "candidate":
            name, text = f"{p['rank']}. {p['label']}", f"score {p['score']:.3g}; evidence {', '.join(p['sources'])}"
        else:
            name, text = f"{p['id']} {p['kind']}: {p['value']}", f"{p['tool']}; {p['provenance'] or ''}"
        _placemark(folders[titles[role]], name, text, role, feature["geometry"], p)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- image_solution ------------------------------------------------------------------------


def solution_text(source: RunLike) -> str:
    """The run's reasoning as GeoBrowse ``image_solution`` key steps, "1. ... 2. ...".

    Every step restates evidence the run actually recorded (text read and where, what it
    implies, what search and the map returned, calls that failed) and the last gives the
    answer, or says plainly that there is none.
    """
    loc = as_location(source)
    try:
        trace = as_trace(source) if not isinstance(source, Mapping) else None
    except TraceError:
        trace = None  # a Location without its trace: the evidence alone still tells the story
    steps = _solution_steps(loc, trace)
    return "\n".join(f"{i}. {text}" for i, text in enumerate(steps, start=1))


_CLUE_LABELS = {
    "phone": "phone number ",
    "postcode": "postcode ",
    "currency": "currency ",
    "url": "web address ",
    "email": "e-mail address ",
    "language": "language ",
    "script": "script ",
}
_OWN_STEPS = {"exif", "hint", "ocr_text", "place_name", "search_hit", "osm_feature", "model_observation"}


def _join(parts: list[str], last: str = "and") -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {last} " + parts[-1]


def _countries(prior: Mapping[str, float] | None) -> str:
    from tools.clues.data import country_name

    if not prior:
        return ""
    top = max(prior.values(), default=0.0)
    codes = sorted((c for c, w in prior.items() if top > 0 and w >= 0.5 * top), key=lambda c: -prior[c])
    return _join([country_name(c) for c in codes[:4]], "or") if codes else ""


def _region(item: Evidence, sizes: Mapping[str, tuple[float, float]], several: bool) -> str:
    """Where a box lies in its image, in words ("top right"), for people reading the steps."""
    if item.bbox is None or not item.image:
        return ""
    of = f" of {item.image}" if several else ""
    size = sizes.get(item.image)
    if not size or not size[0] or not size[1]:
        return f" (in {item.image})"
    cx = (item.bbox[0] + item.bbox[2]) / 2 / size[0]
    cy = (item.bbox[1] + item.bbox[3]) / 2 / size[1]
    col = ("left", "centre", "right")[min(2, max(0, int(cx * 3)))]
    row = ("top", "middle", "bottom")[min(2, max(0, int(cy * 3)))]
    words = "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"
    return f" ({words}{of})"


def _source_text(item: Evidence, by_id: Mapping[str, Evidence]) -> str | None:
    for ref in item.details.get("from") or []:
        origin = by_id.get(str(ref))
        if origin is not None and origin.kind == "ocr_text":
            return origin.value
    return None


def _place_of(value: str) -> str:
    return value.split(" -> ", 1)[1] if " -> " in value else value


def _tool_calls(trace: Trace | None, *names: str) -> list[ToolCallStep]:
    if trace is None:
        return []
    return [s for s in trace.tool_calls() if s.name in names]


def _short_error(step: ToolCallStep) -> str:
    return str(step.error or "").split(" (", 1)[0][:100]


def _solution_steps(loc: Location, trace: Trace | None) -> list[str]:
    ev = list(loc.evidence)
    by_id = {e.id: e for e in ev if e.id}
    sizes = {i.get("handle"): (i.get("width") or 0, i.get("height") or 0) for i in loc.images if isinstance(i, dict)}
    for image in trace.images() if trace else []:
        sizes.setdefault(image.handle, (image.width, image.height))
    several = len({h for h in sizes if h}) > 1
    cited = {s for c in loc.candidates[:1] for s in c.sources}
    country = loc.country_code
    steps: list[str] = []
    caveats: list[str] = []

    exif: dict[str, list[str]] = {}
    for e in ev:
        if e.kind == "exif":
            exif.setdefault(e.image or "", []).append(e.value)
    if len(exif) == 1:
        steps.append(f"The photo's metadata (EXIF) records {_join(next(iter(exif.values())))}.")
    elif exif:
        parts = [f"{image or 'one image'}: {_join(values)}" for image, values in exif.items()]
        steps.append(f"The photos' metadata (EXIF) records, for {'; for '.join(parts)}.")
    hints = [e.value for e in ev if e.kind == "hint"]
    if hints:
        steps.append(f"The investigator's hint says: {_join(hints)}.")

    ocr = [e for e in ev if e.kind == "ocr_text"]
    if ocr:
        best = sorted(ocr, key=lambda e: -e.confidence)[:8]
        parts = [f'"{e.value}"{_region(e, sizes, several)}' for e in ocr if e in best]
        more = f", and {len(ocr) - len(best)} more lines" if len(ocr) > len(best) else ""
        zoomed = " (some of it on zoomed-in crops)" if any(e.details.get("stage") == "zoom" for e in ocr) else ""
        steps.append(f"Reading the text in the image{zoomed} finds {_join(parts)}{more}.")
    elif _tool_calls(trace, "read_text"):
        steps.append("Reading the text in the image finds no legible text.")

    clues = []
    for e in ev:
        if e.kind in _OWN_STEPS:
            continue
        implies = _countries(e.countries)
        src = _source_text(e, by_id)
        text = f"{_CLUE_LABELS.get(e.kind, '')}{e.value}"
        said = f'in "{src}" the {text}' if src else f"the {text}"
        said += f" points to {implies}" if implies else " is noted"
        if e.countries and country and country not in e.countries and e.id not in cited:
            pointing = "" if all(n in text for n in implies.split(" or ")) else f", pointing to {implies},"
            caveats.append(f"the {text}{pointing} does not fit")
        elif e.id in cited or e.confidence >= 0.2:
            clues.append(said)
    if clues:
        steps.append(f"What the text implies: {'; '.join(clues)}.")

    places = []
    for e in ev:
        if e.kind != "place_name" or not (e.id in cited or e.confidence >= 0.3):
            continue
        src = _source_text(e, by_id)
        if e.source.tool == "web_search":
            places.append(f"the search results name {_place_of(e.value)}")
        else:
            places.append(f'"{src or e.value}" names {_place_of(e.value)}')
    if places:
        steps.append(f"Looking the names up in the gazetteer: {'; '.join(places)}.")

    search = []
    for query in dict.fromkeys(str(e.details.get("query") or "") for e in ev if e.kind == "search_hit"):
        hits = [e for e in ev if e.kind == "search_hit" and str(e.details.get("query") or "") == query][:2]
        found = _join([f"{h.value} <{h.provenance}>" if h.provenance else h.value for h in hits])
        search.append(f"a web search for {query or 'the text'} finds {found}")
    failed = [s for s in _tool_calls(trace, "web_search") if s.error]
    if failed:
        queries = _join([str(s.arguments.get("query", "")) for s in failed])
        search.append(f"a web search for {queries} could not be made ({_short_error(failed[0])})")
    if search:
        steps.append(f"Searching the web: {'; '.join(search)}.")

    osm = [
        f"{e.value} at {e.geo.lat:.5f}, {e.geo.lon:.5f} <{e.provenance}>"
        for e in ev
        if e.kind == "osm_feature" and e.geo
    ]
    for s in _tool_calls(trace, "osm_verify", "osm_search", "osm_proximity"):
        if s.error:
            osm.append(f"the map query could not be made ({_short_error(s)})")
        elif not s.observation.evidence:
            osm.append((s.observation.text or "no match").splitlines()[0])
    if osm:
        steps.append(f"Checking OpenStreetMap: {'; '.join(dict.fromkeys(osm))}.")

    seen = [e.value for e in ev if e.kind == "model_observation"]
    if seen:
        steps.append(f"Looking at the image: {'; '.join(seen)}.")
    steps.append(_conclusion(loc, caveats))
    return steps


def _conclusion(loc: Location, caveats: list[str]) -> str:
    if loc.lat is None or loc.lon is None:
        return f"No answer can be given: {loc.reason or 'no evidence points to a place'}."
    place = ", ".join(dict.fromkeys(x for x in (loc.city, loc.region, loc.country) if x)) or "the point"
    radius = f"within about {loc.radius_km:.3g} km; " if loc.radius_km is not None else ""
    text = f"Therefore the answer is {place}, at {loc.lat:.5f}, {loc.lon:.5f} ({radius}confidence {loc.confidence:.2f})"
    if loc.candidates:
        text += f", led by the candidate {loc.candidates[0].label}"
    others = [c for c in loc.candidates[1:] if c.country_code != loc.country_code][:2]
    if others:
        text += "; weaker alternatives were " + _join(
            [f"{c.label} ({c.country_code}, score {c.score:.2g})" for c in others]
        )
    if caveats:
        text += "; " + _join(caveats) + " and is outweighed"
    return text + "."


def to_csv(source: RunLike) -> str:
    """The run as the batch CSV layout (``agent.batch_csv``): a header and one row."""
    from .batch_csv import row
    from .batch_csv import to_csv as rows_to_csv

    loc = as_location(source)
    trace = None
    if not isinstance(source, (Location, Mapping)):
        try:
            trace = as_trace(source)
        except TraceError:  # a `locate --json` result: no header to name the image
            trace = None
    images = (getattr(trace.header, "images", None) if trace is not None else None) or []
    names = [str(i.get("source") or i.get("path") or "") for i in images if isinstance(i, dict) and not i.get("parent")]
    if trace is not None and trace.path is not None and not loc.trace_path:
        loc = loc.model_copy(update={"trace_path": str(trace.path)})
    return rows_to_csv([row(" + ".join(n for n in names if n) or "", loc)])
