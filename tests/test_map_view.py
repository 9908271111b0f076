"""The map component: packaged Natural Earth land, clipping to a view, the geodesic circle, links."""

from __future__ import annotations

import re

from agent.map_view import (
    MapCircle,
    MapPoint,
    countries,
    geodesic_ring,
    land_in,
    local_view,
    map_figure,
    natural_earth_path,
    place_links,
    world_view,
)
from tools.geo import haversine_km


def test_natural_earth_ships_in_a_package():
    assert natural_earth_path() is not None and natural_earth_path().stat().st_size > 1_000_000
    codes = {c.code for c in countries()}
    assert len(countries()) > 200 and {"PT", "ES", "JP", "BR", "AU"} <= codes


def test_land_is_clipped_to_the_view_and_simplified_to_its_scale():
    lisbon = land_in(38.5, -9.6, 39.0, -8.9)
    assert [code for code, _ in lisbon] == ["PT"]
    for _, polygons in lisbon:
        for polygon in polygons:
            west, south, east, north = polygon.bounds
            assert west >= -9.6 - 1e-9 and east <= -8.9 + 1e-9 and south >= 38.5 - 1e-9 and north <= 39.0 + 1e-9
    world = land_in(-90, -180, 90, 180)
    points = sum(len(p.exterior.coords) for _, polys in world for p in polys)
    assert len(world) > 150 and points < 60_000  # a world map stays small enough to inline


def test_the_uncertainty_circle_is_geodesic():
    circle = MapCircle(60.0, 10.0, 500.0)
    ring = geodesic_ring(circle)
    assert all(abs(haversine_km(60.0, 10.0, lat, lon) - 500.0) < 1.0 for lat, lon in ring)
    lons = [lon for _, lon in ring]
    assert max(lons) - min(lons) > 15  # wider in longitude than in latitude at 60° N


def test_the_figure_has_land_marks_legend_and_no_external_reference():
    view = local_view(38.7107, -9.1365, 20.0)
    points = [MapPoint(38.7107, -9.1365, "answer", "answer"), MapPoint(38.72, -9.15, "1. Lisbon", "candidate", rank=1)]
    html = map_figure(view, points, MapCircle(38.7107, -9.1365, 5.0), label="round the answer", kind="local")
    assert re.search(r'<path class="land" data-cc="PT" d="M[^"]{50,}"', html)
    assert 'class="answer"' in html and 'data-rank="1"' in html and 'class="uncertainty"' in html
    assert 'class="legend"' in html and "http" not in html.split("<figcaption>")[0]  # nothing to fetch
    world = map_figure(world_view(), points, None, label="world", kind="world")
    assert world.count('class="land"') > 150


def test_links_point_at_the_same_place_everywhere():
    links = place_links(38.710720, -9.136530)
    assert set(links) == {"OpenStreetMap", "Google Maps", "Street View", "Mapillary"}
    assert all("38.710720" in url and "-9.136530" in url for url in links.values())
