"""The sun as a witness: solar position, shadows, the likelihood band, time-zone masking,
the tools, and how a sun constraint re-weights candidates."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from shapely.geometry import Point, shape

from tools.base import ToolContext, call_tool
from tools.errors import ConfigError
from tools.evidence import Candidate
from tools.geo import haversine_km
from tools.hints import Hint
from tools.images import ImageRegistry
from tools.sun import (
    Constraint,
    Region,
    fit_point,
    likelihood_map,
    parse_measurement,
    parse_time,
    render_png,
    subsolar_point,
    sun_at,
    sun_field,
    to_geojson,
    zone_at,
)
from tools.sun.shadow import ShadowMeasurement
from tools.sun.tools import ShadowLocateTool, SunPositionTool

EQUINOX_NOON = "2026-03-20T12:00:00Z"
ELVAS = (38.88, -7.16)  # Portugal, Europe/Lisbon (UTC+0 in March)
BADAJOZ = (38.88, -6.97)  # Spain, 17 km east, Europe/Madrid (UTC+1)


def arc_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return math.degrees(haversine_km(lat1, lon1, lat2, lon2) / 6371.0088)


# ---------------------------------------------------------------- solar position


def test_grid_positions_agree_with_astral_point_by_point():
    rng = np.random.default_rng(7)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(200):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        when = start + dt.timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
        one = sun_at(lat, lon, when)
        elevation, azimuth = sun_field(np.array([lat]), np.array([lon]), when)
        assert elevation[0] == pytest.approx(one.elevation, abs=1e-6)
        if one.elevation > -10:
            assert (azimuth[0] - one.azimuth + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)


def test_the_sun_stands_overhead_at_the_subsolar_point():
    when = parse_time(EQUINOX_NOON).utc()
    lat, lon = subsolar_point(when)
    assert abs(lat) < 0.1  # equinox
    assert 1.0 < lon < 3.0  # noon at Greenwich is late in March (equation of time about -7.5 min)
    assert sun_at(lat, lon, when).elevation == pytest.approx(90, abs=0.01)


def test_sun_position_tool_reports_shadow_and_day(tmp_path):
    tool = SunPositionTool(ctx=ToolContext(images=ImageRegistry()))
    observation = call_tool(tool, {"lat": 38.7107, "lon": -9.1365, "time": "2026-03-20 16:00Z"})
    assert observation.ok and not tool.leaves_machine({}) and type(tool).kind == "sun"
    assert observation.data["elevation"] == pytest.approx(30.8, abs=0.1)
    assert observation.data["shadow_ratio"] == pytest.approx(1 / math.tan(math.radians(30.82)), abs=0.01)
    assert observation.data["day_utc"]["sunset"].startswith("2026-03-20T18:4")
    local = call_tool(tool, {"lat": 38.7107, "lon": -9.1365, "time": "2026-06-21 16:00"})
    assert "Europe/Lisbon" in local.text and local.data["utc"].startswith("2026-06-21T15:00")


# ---------------------------------------------------------------- measurements and times


def test_height_one_shadow_one_is_45_degrees_and_the_sun_there_agrees():
    measurement = parse_measurement("1:1")
    assert measurement.observed_elevation == pytest.approx(45.0)
    assert sun_at(45.0, 0.0, parse_time(EQUINOX_NOON).utc()).elevation == pytest.approx(45.0, abs=0.2)


def test_measurement_text_form_and_its_errors():
    m = parse_measurement("1.8:2.4@45,time=2026-03-20 16:00 Europe/Lisbon,sigma=2,slope=5")
    assert (m.height, m.length, m.bearing, m.sigma, m.slope) == (1.8, 2.4, 45.0, 2.0, 5.0)
    assert m.sun_azimuth == 225.0 and m.elevation_sigma == 2.0
    in_image = parse_measurement("1:1@-30,heading=100")
    assert in_image.shadow_bearing == 70.0 and in_image.bearing is None
    assert parse_measurement("45@180", elevation=True).observed_elevation == 45.0
    for bad, needle in [("1.8", "HEIGHT:LENGTH"), ("1:1,colour=red", "unknown option"), ("a:b", "numbers")]:
        with pytest.raises(ConfigError, match=needle):
            parse_measurement(bad)
    with pytest.raises(ConfigError, match="height"):
        parse_measurement("0:1")
    with pytest.raises(ValueError, match="camera's heading"):
        ShadowMeasurement(height=1, length=1, bearing_in_image=20)


def test_sloped_ground_changes_the_elevation():
    level = ShadowMeasurement(height=1, length=1)
    rising = ShadowMeasurement(height=1, length=1, slope=10)
    # the tip lies sin(10) higher and cos(10) further: atan((1 - 0.1736) / 0.9848) = 40.0
    assert rising.observed_elevation == pytest.approx(40.0, abs=0.05)
    assert ShadowMeasurement(height=1, length=1, slope=-10).observed_elevation > level.observed_elevation


def test_times_with_zone_offset_or_none():
    assert parse_time("2026:03:20 16:00:00").zone_known is False  # EXIF form, zone unknown
    assert parse_time("2026-03-20T16:00:00+01:00").utc().hour == 15
    assert parse_time("2026-03-20 16:00 Europe/Lisbon").utc().hour == 16
    assert parse_time("2026-07-20 16:00 Europe/Lisbon").utc().hour == 15  # summer time
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_time("2026-03-20 16:00 Mars/Olympus")
    with pytest.raises(ConfigError, match="cannot read time"):
        parse_time("yesterday afternoon")
    with pytest.raises(ConfigError, match="has no time"):
        Constraint.build(["1:1"])


# ---------------------------------------------------------------- the likelihood band


@pytest.fixture(scope="module")
def ring():
    return likelihood_map(Constraint.build(["1:1"], EQUINOX_NOON))


def test_one_shadow_draws_a_ring_45_degrees_from_the_subsolar_point(ring):
    sub_lat, sub_lon = subsolar_point(parse_time(EQUINOX_NOON).utc())
    constraint = ring.constraint
    on_ring = [fit_point(constraint, *p).likelihood for p in [(45, 0), (-45, 0), (0, 45), (0, -45)]]
    assert min(on_ring) > 0.5
    assert fit_point(constraint, sub_lat, sub_lon).likelihood < 1e-6
    assert fit_point(constraint, -sub_lat, sub_lon - 180).likelihood < 1e-6
    assert fit_point(constraint, 70, 0).likelihood < 1e-6 and fit_point(constraint, 20, 0).likelihood < 1e-6
    # every well-fitting cell lies on the ring, and the ring goes all the way round
    rows, cols = np.nonzero(ring.likelihood > 0.5)
    arcs = [arc_deg(ring.lats[r], ring.lons[c], sub_lat, sub_lon) for r, c in zip(rows, cols)]
    assert min(arcs) > 42.5 and max(arcs) < 47.5  # half the peak: within 1.18 sigma (2 degrees) of 45
    assert all(ring.contains(*p) for p in [(45, 0), (-45, 0), (0, 45), (0, -45)])
    assert "ring 45.0° of arc" in ring.describe()


def test_a_northward_shadow_picks_the_arc_near_45n_0():
    sun_map = likelihood_map(Constraint.build(["1:1@0"], EQUINOX_NOON))
    lat, lon, fit = sun_map.peak
    assert haversine_km(lat, lon, 45, 0) < 300 and fit > 0.9
    constraint = sun_map.constraint
    assert fit_point(constraint, 45, 0).likelihood > 0.5
    for elsewhere in [(-45, 0), (0, 45), (0, -45)]:
        assert fit_point(constraint, *elsewhere).likelihood < 1e-3
    assert len(sun_map.areas()) == 1


def test_two_shadows_at_two_times_narrow_to_the_intersection():
    truth = (40.0, 10.0)
    times = ["2026-03-21T08:00:00Z", "2026-03-21T14:00:00Z"]
    measured = [
        {"elevation": round(sun_at(*truth, parse_time(t).utc()).elevation, 2), "time": t, "sigma": 1.0} for t in times
    ]
    singles = [likelihood_map(Constraint.build([m])) for m in measured]
    both = likelihood_map(Constraint.build(measured))
    assert both.contains(*truth)
    assert both.band_area_km2() < 0.2 * min(s.band_area_km2() for s in singles)
    # the joint band lies inside each single ring (within its 99 % band)
    for single in singles:
        assert not (both.band() & ~single.band(0.99)).any()
    # two rings cross twice (mirrored across the equator at an equinox); the truth is one crossing
    assert len(both.areas()) == 2
    assert any(haversine_km(a.lat, a.lon, *truth) < 300 for a in both.areas())


def test_time_zone_masking_removes_zones_where_the_clock_time_cannot_hold():
    assert zone_at(*ELVAS) == "Europe/Lisbon" and zone_at(*BADAJOZ) == "Europe/Madrid"
    elevation = sun_at(*ELVAS, parse_time("2026-03-20T10:00Z").utc()).elevation
    as_utc = Constraint.build([{"elevation": elevation}], "2026-03-20T10:00Z")
    as_clock = Constraint.build([{"elevation": elevation}], "2026-03-20 10:00")  # zone unknown
    # read as UTC, the sun is the same on both sides of the border 17 km apart ...
    assert fit_point(as_utc, *BADAJOZ).consistent and fit_point(as_utc, *ELVAS).consistent
    # ... read as a local clock, 10:00 in Spain is 09:00 UTC: the sun stood 10 degrees lower
    assert fit_point(as_clock, *ELVAS).consistent
    assert not fit_point(as_clock, *BADAJOZ).consistent
    iberia = likelihood_map(as_clock, Region(36, -10, 44, 4), resolution=0.25)
    grid_lat, grid_lon = np.meshgrid(iberia.lats, iberia.lons, indexing="ij")
    zones = {zone_at(la, lo) for la, lo in zip(grid_lat[iberia.band()], grid_lon[iberia.band()])}
    assert "Europe/Lisbon" in zones and "Europe/Madrid" not in zones
    unmasked = likelihood_map(as_utc, Region(36, -10, 44, 4), resolution=0.25)
    zones_utc = {zone_at(la, lo) for la, lo in zip(grid_lat[unmasked.band()], grid_lon[unmasked.band()])}
    assert "Europe/Madrid" in zones_utc


def test_region_grid_and_its_errors():
    constraint = Constraint.build(["1:1"], EQUINOX_NOON)
    box = likelihood_map(constraint, Region(30, -20, 60, 20), resolution=0.5)
    assert box.lats.min() > 30 and box.lons.max() < 20 and box.contains(45, 0)
    with pytest.raises(ConfigError, match="antimeridian"):
        Region(0, 170, 10, -170)
    with pytest.raises(ConfigError, match="cells"):
        likelihood_map(constraint, resolution=0.05)


def test_geojson_and_png(ring, tmp_path):
    sub_lat, sub_lon = subsolar_point(parse_time(EQUINOX_NOON).utc())
    collection = to_geojson(ring, checks=[{"lat": 45.0, "lon": 0.0, "label": "here", "consistent": True}])
    json.dumps(collection)  # serialisable
    roles = {f["properties"]["role"]: f for f in collection["features"]}
    assert {"band", "core", "peak", "subsolar", "check"} <= set(roles)
    band = shape(roles["band"]["geometry"])
    assert band.contains(Point(0, 45)) and band.contains(Point(-45, 0))
    assert not band.contains(Point(sub_lon, sub_lat))
    assert collection["properties"]["measurements"][0]["height"] == 1.0
    path = render_png(ring, tmp_path / "ring.png", land=False)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000


# ---------------------------------------------------------------- the tool, hints, verification


def test_shadow_locate_tool_checks_places_and_never_raises():
    tool = ShadowLocateTool(ctx=ToolContext(images=ImageRegistry()))
    assert not tool.leaves_machine({}) and type(tool).kind == "sun"
    observation = call_tool(
        tool,
        {
            "measurements": [{"height": 1, "length": 1, "bearing": 0}],
            "time": EQUINOX_NOON,
            "check": [{"lat": 45, "lon": 0, "label": "Bordeaux-ish"}, {"lat": 0, "lon": 0, "label": "Gulf of Guinea"}],
        },
    )
    assert observation.ok, observation.error
    [evidence] = observation.evidence
    assert evidence.kind == "sun" and "astral" in evidence.provenance
    checks = {c["label"]: c["consistent"] for c in evidence.details["checks"]}
    assert checks == {"Bordeaux-ish": True, "Gulf of Guinea": False}
    assert "Gulf of Guinea: INCONSISTENT" in evidence.value
    assert shape(evidence.details["band"]).contains(Point(0, 45))
    failed = call_tool(tool, {"measurements": [{"height": 1, "length": 1}]})
    assert not failed.ok and "no time" in failed.error


def test_a_time_without_zone_names_the_zones_that_fit():
    tool = ShadowLocateTool(ctx=ToolContext(images=ImageRegistry()))
    elevation = sun_at(*ELVAS, parse_time("2026-03-20T10:00Z").utc()).elevation
    observation = call_tool(
        tool,
        {
            "measurements": [{"elevation": elevation}],
            "time": "2026-03-20 10:00",
            "check": [
                {"lat": ELVAS[0], "lon": ELVAS[1], "label": "Elvas"},
                {"lat": BADAJOZ[0], "lon": BADAJOZ[1], "label": "Badajoz"},
            ],
        },
    )
    text = observation.evidence[0].value
    assert "no zone" in text and "Zones consistent with the candidates: Europe/Lisbon (UTC+00:00)." in text
    badajoz = next(c for c in observation.evidence[0].details["checks"] if c["label"] == "Badajoz")
    assert badajoz["zone"] == "Europe/Madrid" and not badajoz["consistent"]
    assert "UTC+00:00" in badajoz["fitting_offsets"] and "UTC+01:00" not in badajoz["fitting_offsets"]


def test_hint_carries_shadows_and_time():
    hint = Hint.coerce("Portugal?", shadows=["1:1.68@62"], time="2026-03-20 16:00Z")
    assert hint.shadows[0].bearing == 62.0 and not hint.is_empty()
    [sun] = hint.to_evidence()  # no place index given: the text is not read here
    assert sun.kind == "hint" and sun.value.startswith("sun: object 1 high, shadow 1.68 long")
    assert "taken 2026-03-20 16:00 UTC" in sun.value and sun.geo is None and sun.countries is None
    again = Hint.coerce(hint.model_dump(mode="json"))  # as a trace header stores it
    assert again == hint
    with pytest.raises(ConfigError, match="shadows"):
        Hint.coerce(None, shadows=["tall"])
    with pytest.raises(ConfigError, match="time"):
        Hint.coerce(None, time="teatime")


def test_verification_cuts_candidates_where_the_sun_cannot_stand_so():
    from graphs.verify import verify_candidates

    tool = ShadowLocateTool(ctx=ToolContext(images=ImageRegistry()))
    observation = call_tool(tool, {"measurements": ["1:1@0"], "time": EQUINOX_NOON})
    evidence = observation.evidence[0].model_copy(update={"id": "ev:1"})
    fits = Candidate(lat=45.2, lon=0.6, label="fits", score=0.6, radius_km=5)
    wrong = Candidate(lat=10.0, lon=0.0, label="wrong", score=0.6, radius_km=5)
    wide = Candidate(lat=40.5, lon=0.0, label="wide", score=0.6, radius_km=600)  # reaches into the band
    scored = {c.label: c for c in verify_candidates([fits, wrong, wide], [evidence])}
    assert scored["fits"].score == pytest.approx(0.6)
    assert scored["wide"].score == pytest.approx(0.6)
    assert scored["wrong"].score < 0.3
    [note] = scored["wrong"].details["verification"]
    assert note["evidence"] == "ev:1" and note["why"].startswith("sun: the shadows cannot fall so here")
