"""GeoJSON, KML and image_solution exports of real runs of the embedded agent."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import shapely
from helpers import jpeg_with_gps
from shapely.geometry import Point, shape

from agent import Agent, Location, TraceError
from agent.cli import main
from agent.exports import as_location, circle_geometry, solution_text, to_geojson, to_kml
from graphs.trace import read_trace
from tools.geo import EARTH_RADIUS_KM, haversine_km

LISBON = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
V1 = Path(__file__).resolve().parent / "fixtures" / "traces_v1"
KML = "{http://www.opengis.net/kml/2.2}"
GPS = (-33.856800, 151.215300)  # Sydney Opera House


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Lisbon street text (metadata off), a geotagged JPEG (metadata on), the same JPEG blind."""
    folder = tmp_path_factory.mktemp("exports")
    photo = folder / "gps.jpg"
    photo.write_bytes(jpeg_with_gps(*GPS))
    agent = Agent()
    return {
        "lisbon": agent.locate(LISBON, use_metadata=False, trace=folder / "lisbon.jsonl"),
        "gps": agent.locate(photo, trace=folder / "gps.jsonl"),
        "blind": agent.locate(photo, use_metadata=False, trace=folder / "blind.jsonl"),
    }


def cap_area_km2(geometry: dict) -> float:
    """Area on the sphere via the Lambert cylindrical equal-area projection."""
    projected = shapely.transform(
        shape(geometry), lambda xy: np.column_stack([np.radians(xy[:, 0]), np.sin(np.radians(xy[:, 1]))])
    )
    return projected.area * EARTH_RADIUS_KM**2


def features(collection: dict, role: str) -> list[dict]:
    return [f for f in collection["features"] if f["properties"]["role"] == role]


def test_geojson_parses_into_shapely_geometries(runs):
    loc = runs["lisbon"]
    collection = json.loads(json.dumps(to_geojson(loc)))  # plain JSON, nothing exotic
    assert collection["type"] == "FeatureCollection" and collection["properties"]["answered"]
    for feature in collection["features"]:
        assert shape(feature["geometry"]).is_valid
    (answer,) = features(collection, "answer")
    assert shape(answer["geometry"]).equals_exact(Point(loc.lon, loc.lat), 1e-6)
    assert answer["properties"]["country_code"] == "PT" and answer["properties"]["confidence"] == loc.confidence
    cands = features(collection, "candidate")
    assert [c["properties"]["rank"] for c in cands] == list(range(1, len(loc.candidates) + 1))
    assert len(cands) >= 2 and cands[0]["properties"]["label"] == loc.candidates[0].label
    assert cands[0]["properties"]["sources"] == loc.candidates[0].sources
    located = [e for e in loc.evidence if e.geo is not None]
    evidence = features(collection, "evidence")
    assert len(evidence) == len(located) >= 1
    assert {f["properties"]["kind"] for f in evidence} == {e.kind for e in located}
    assert all({"value", "confidence", "provenance"} <= set(f["properties"]) for f in evidence)


def test_uncertainty_circle_matches_radius(runs):
    loc = runs["lisbon"]
    (circle,) = features(to_geojson(loc), "uncertainty")
    polygon = shape(circle["geometry"])
    assert polygon.geom_type == "Polygon" and polygon.is_valid and polygon.contains(Point(loc.lon, loc.lat))
    r = loc.radius_km
    assert cap_area_km2(circle["geometry"]) == pytest.approx(math.pi * r**2, rel=0.01)
    south, north = polygon.bounds[1], polygon.bounds[3]
    assert (north - south) * math.pi * EARTH_RADIUS_KM / 180 == pytest.approx(2 * r, rel=0.005)
    for lon, lat in polygon.exterior.coords:
        assert haversine_km(loc.lat, loc.lon, lat, lon) == pytest.approx(r, rel=1e-3)


@pytest.mark.parametrize(
    "lat,lon,radius_km,kind",
    [
        (0.0, 179.9, 100.0, "MultiPolygon"),  # across the antimeridian: split in two
        (-16.5, -179.8, 300.0, "MultiPolygon"),
        (89.5, 10.0, 200.0, "Polygon"),  # holds the North Pole
        (-88.0, 170.0, 500.0, "Polygon"),  # holds the South Pole, and crosses 180
        (10.0, 20.0, 19_000.0, "Polygon"),  # holds both poles
    ],
)
def test_circle_near_antimeridian_and_poles(lat, lon, radius_km, kind):
    geometry = circle_geometry(lat, lon, radius_km)
    geom = shape(geometry)
    assert geometry["type"] == kind and geom.is_valid
    west, south, east, north = geom.bounds
    assert west >= -180 and east <= 180 and south >= -90 and north <= 90
    true_area = 2 * math.pi * EARTH_RADIUS_KM**2 * (1 - math.cos(radius_km / EARTH_RADIUS_KM))
    assert cap_area_km2(geometry) == pytest.approx(true_area, rel=0.01)
    if kind == "MultiPolygon":  # a piece each side, meeting at the antimeridian
        assert {round(p.bounds[0]) for p in geom.geoms} >= {-180} and {round(p.bounds[2]) for p in geom.geoms} >= {180}
    if abs(lat) > 80:
        assert geom.covers(Point(0.0, math.copysign(89.99, lat))) and geom.bounds[0] == -180


def test_circle_without_radius_and_beyond_half_the_earth():
    assert circle_geometry(10, 10, None) is None and circle_geometry(10, 10, 0) is None
    assert shape(circle_geometry(10, 10, 30_000)).area == pytest.approx(360 * 180)


def test_kml_is_well_formed_with_placemarks(runs):
    loc = runs["lisbon"]
    root = ET.fromstring(to_kml(loc))
    assert root.tag == f"{KML}kml"
    marks = root.iter(f"{KML}Placemark")
    names = [m.findtext(f"{KML}name") for m in marks]
    located = [e for e in loc.evidence if e.geo is not None]
    assert len(names) == 2 + len(loc.candidates) + len(located)
    assert names[0] == "Lisbon, Portugal" and names[1].startswith("uncertainty")
    point = root.find(f".//{KML}Placemark/{KML}Point/{KML}coordinates").text
    assert [float(v) for v in point.split(",")] == pytest.approx([loc.lon, loc.lat], abs=1e-6)
    ring = root.find(f".//{KML}Polygon/{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates").text.split()
    assert len(ring) > 60 and ring[0] == ring[-1]


def test_kml_escapes_untrusted_text(runs):
    loc = runs["lisbon"].model_copy(deep=True)
    hostile = "<script>alert('x')</script> & </name>]]>"
    place = next(e for e in loc.evidence if e.geo is not None)
    place.value = hostile
    root = ET.fromstring(to_kml(loc))
    assert any(m.findtext(f"{KML}name").endswith(hostile) for m in root.iter(f"{KML}Placemark"))


def test_solution_text_is_numbered_and_cites_what_was_read(runs):
    from evals.trajectory import split_steps

    loc = runs["lisbon"]
    text = solution_text(loc)
    lines = text.splitlines()
    assert [int(re.match(r"(\d+)\. ", line).group(1)) for line in lines] == list(range(1, len(lines) + 1))
    assert len(split_steps(text)) == len(lines) >= 3
    read = next(line for line in lines if "Reading the text" in line)
    quoted = re.findall(r'"([^"]+)"', read)
    ocr = {e.value for e in loc.evidence if e.kind == "ocr_text"}
    assert {"RUA AUGUSTA", "LISBOA"} <= set(quoted) and set(quoted) <= ocr  # nothing invented
    assert "Lisbon" in text and "rua" in text
    assert lines[-1].startswith(f"{len(lines)}. Therefore the answer is Lisbon, Portugal, at 38.72509, -9.14980")
    assert "web search" not in text  # an offline run searches nothing, and says nothing about it


def test_exports_accept_a_location_a_trace_or_its_path(runs):
    loc = runs["lisbon"]
    trace = read_trace(loc.trace_path)
    assert to_geojson(loc) == to_geojson(trace) == to_geojson(loc.trace_path)
    assert solution_text(loc) == solution_text(trace) == solution_text(Path(loc.trace_path))
    from_trace = as_location(trace)
    assert from_trace.model_dump(exclude=Location.RUN_FIELDS) == loc.model_dump(exclude=Location.RUN_FIELDS)
    assert from_trace.run_id == loc.run_id == trace.run_id and from_trace.trace_path == loc.trace_path


def test_exports_accept_an_in_memory_trace():
    from netserver import closed_port

    down = f"http://127.0.0.1:{closed_port()}"
    settings = {"searxng_url": f"{down}/search", "search_backend": "searxng", "overpass_url": f"{down}/api"}
    loc = Agent(online=True, tool_settings=settings).locate(LISBON, use_metadata=False)  # services unreachable
    assert loc.trace and loc.trace[0]["type"] == "header"
    assert to_geojson(loc) == to_geojson(loc.model_dump(exclude={"trace"}))
    assert solution_text(loc).startswith("1. Reading the text in the image finds")
    assert "could not be made" in solution_text(loc)  # the failed searches, read from the typed steps


@pytest.mark.parametrize("name", ["heuristic_lisbon", "model_lisbon"])
def test_version_1_traces_export(name, capsys):
    path = V1 / f"{name}.jsonl"
    trace = read_trace(path)
    loc = as_location(path)
    assert loc.answered and loc.run_id == trace.run_id
    assert loc.model_dump(exclude=Location.RUN_FIELDS) == Location.model_validate(trace.final.result).model_dump(
        exclude=Location.RUN_FIELDS
    )
    (answer,) = features(to_geojson(path), "answer")
    assert answer["geometry"]["coordinates"] == [round(loc.lon, 6), round(loc.lat, 6)]
    text = solution_text(path)
    assert '"RUA AUGUSTA"' in text and "a web search for" in text and "could not be made" in text
    assert main(["trace", "export", str(path), "--format", "kml"]) == 0
    ET.fromstring(capsys.readouterr().out)


def test_unfinished_version_1_trace_keeps_its_evidence(tmp_path):
    lines = (V1 / "heuristic_lisbon.jsonl").read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n")
    partial = as_location(cut)
    assert not partial.answered and "did not finish" in partial.reason
    assert [e.value for e in partial.evidence][:4] == [
        "RUA AUGUSTA",
        "LISBOA",
        "PASTELARIA CENTRAL",
        "Tel. 213 420 815",
    ]


def test_exif_gps_run_exports(runs):
    loc = runs["gps"]
    (answer,) = features(to_geojson(loc), "answer")
    lon, lat = answer["geometry"]["coordinates"]
    assert haversine_km(lat, lon, *GPS) < 0.1
    text = solution_text(loc.trace_path)
    assert text.startswith("1. The photo's metadata (EXIF) records GPS -33.856800, 151.215300")
    assert "TestCam 1" in text and "Therefore the answer is" in text


def test_no_answer_exports_no_point_and_says_why(runs):
    loc = runs["blind"]
    assert not loc.answered
    collection = to_geojson(loc)
    assert not features(collection, "answer") and not features(collection, "uncertainty")
    assert collection["properties"]["answered"] is False and "metadata use is off" in collection["properties"]["reason"]
    root = ET.fromstring(to_kml(loc))
    assert root.findtext(f"{KML}Document/{KML}description").startswith("no answer:")
    assert not list(root.iter(f"{KML}Placemark"))
    assert solution_text(loc).splitlines()[-1].startswith(f"{len(solution_text(loc).splitlines())}. No answer")


def test_unfinished_trace_keeps_its_evidence(runs, tmp_path):
    loc = runs["lisbon"]
    lines = Path(loc.trace_path).read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n")  # the final step never got written
    partial = as_location(cut)
    assert not partial.answered and "did not finish" in partial.reason
    assert [(e.id, e.kind, e.value, e.bbox) for e in partial.evidence] == [
        (e.id, e.kind, e.value, e.bbox) for e in loc.evidence
    ]
    assert "No answer can be given: the run did not finish" in solution_text(cut)


def test_location_without_trace_still_exports():
    loc = Location(lat=10.0, lon=20.0, confidence=0.5, radius_km=5.0)
    assert features(to_geojson(loc), "uncertainty") and solution_text(loc).startswith("1. Therefore")


def test_cli_export_formats(runs, tmp_path, capsys):
    path = runs["lisbon"].trace_path
    out = tmp_path / "run.geojson"
    assert main(["trace", "export", path, "--format", "geojson", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    capsys.readouterr()
    assert main(["trace", "export", path, "--format", "solution"]) == 0
    assert capsys.readouterr().out.startswith("1. Reading the text")
    assert main(["trace", "export", path, "--format", "kml"]) == 0
    ET.fromstring(capsys.readouterr().out)


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    assert main(["trace", "export", str(tmp_path / "missing.jsonl"), "--format", "kml"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("geosleuth: error: trace not found")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "format": "geosleuth-trace", "version": 1}\nnot json\n{}\n')
    assert main(["trace", "export", str(bad), "--format", "geojson"]) == 1
    assert "line 2 is not JSON" in capsys.readouterr().err
    with pytest.raises(TraceError):
        as_location(bad)
