"""The query interface every local OSM store offers, and the exact filtering they share.

A store (SQLite, PostGIS) answers one question quickly with its own indexes: *which
stored elements may match these tags / this name inside this box?* It may return a few
too many (its spatial index works on rounded boxes, its name prefilter is loose); the
functions here then decide exactly, in Python, the same way for every store: the
element's shape is rebuilt (:func:`feature_from_row`), tested against the area, the
tags and the name. That is why the two stores give the same answers.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, box
from shapely.geometry.base import BaseGeometry

from ...geo import bbox_around, haversine_km
from ..features import OsmFeature, _local_km, centre_of, way_geometry
from ..query import Around, BBox, FeatureQuery
from .selection import glued, glued_names

#: (south, west, north, east) in degrees, west <= east (a box across the antimeridian is split).
Box = tuple[float, float, float, float]
TYPE_ORDER = {"node": 0, "way": 1, "relation": 2}


@dataclass(frozen=True)
class Row:
    """One stored element as a store returns it: the raw shape (a way is a line)."""

    osm_type: str
    osm_id: int
    tags: dict[str, str]
    geometry: BaseGeometry


@dataclass(frozen=True)
class Prefilter:
    """What a store may use to narrow its scan (all optional; a store may ignore any)."""

    types: tuple[str, ...] = ("node", "way", "relation")
    tags: Mapping[str, str | list[str] | None] = field(default_factory=dict)
    name: str | None = None
    #: glued folded text that must occur in the element's glued names
    name_glued: str | None = None
    named: bool = False


class LocalIndex(ABC):
    """A local OpenStreetMap index: an imported extract that answers without the network."""

    #: "sqlite" or "postgis"
    backend: str = ""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the index is (a path or a DSN without its password)."""

    @abstractmethod
    def bounds(self) -> Box | None:
        """The region the extract covers (its header box, else its data extent)."""

    @abstractmethod
    def rows(self, boxes: list[Box], prefilter: Prefilter) -> Iterable[Row]:
        """Stored elements whose bounding box meets one of ``boxes`` and that may pass ``prefilter``."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts and sizes, for ``osm import`` and the benchmark."""

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release connections."""

    def covers(self, area: BBox | Around, *, partial: bool = False) -> bool:
        """Whether the extract answers for ``area``: its centre lies in the extract (a
        candidate near the extract's edge still counts), or (``partial``) any part does."""
        bounds = self.bounds()
        if bounds is None:
            return False
        south, west, north, east = bounds
        extent = box(west, south, east, north)
        if partial:
            return any(extent.intersects(box(b[1], b[0], b[3], b[2])) for b in area_boxes(area))
        if isinstance(area, Around):
            centre = Point(area.lon, area.lat)
        else:
            span = (area.east - area.west) % 360.0
            centre = Point((area.west + span / 2.0 + 180.0) % 360.0 - 180.0, (area.south + area.north) / 2.0)
        return extent.buffer(0.01).covers(centre)  # ~1 km of slack around the extract


# ---------------------------------------------------------------------------- areas


def split_box(south: float, west: float, north: float, east: float) -> list[Box]:
    """A box as one or two boxes with west <= east (split at the antimeridian)."""
    if west <= east:
        return [(south, west, north, east)]
    return [(south, west, north, 180.0), (south, -180.0, north, east)]


def area_boxes(area: BBox | Around) -> list[Box]:
    if isinstance(area, BBox):
        return split_box(area.south, area.west, area.north, area.east)
    return split_box(*bbox_around(area.lat, area.lon, area.radius_m / 1000.0))


def in_area(feature: OsmFeature, area: BBox | Around) -> bool:
    """Exact area test: the shape meets the box, or comes within the circle's radius."""
    if isinstance(area, Around):
        return feature.distance_km(area.lat, area.lon) * 1000.0 <= area.radius_m
    return any(feature.geometry.intersects(box(w, s, e, n)) for s, w, n, e in area_boxes(area))


# ---------------------------------------------------------------------------- rows -> features


def feature_from_row(row: Row) -> OsmFeature | None:
    """The feature a stored element stands for, built the same way for every store:
    a way's line becomes a polygon when closed and an area; a one-part multipolygon is
    a polygon; invalid shapes are repaired."""
    geometry = row.geometry
    if geometry is None or geometry.is_empty:
        return None
    if row.osm_type == "way":
        coords = [(float(x), float(y)) for x, y in getattr(geometry, "coords", [])]
        deduped = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
        geometry = way_geometry(deduped, row.tags)
        if geometry is None:
            return None
    elif row.osm_type == "relation":
        if isinstance(geometry, MultiPolygon) and len(geometry.geoms) == 1:
            geometry = geometry.geoms[0]
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
    lat, lon = centre_of(geometry)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return OsmFeature(row.osm_type, int(row.osm_id), dict(row.tags), float(lat), float(lon), geometry)


def sort_key(feature: OsmFeature) -> tuple[int, int]:
    return TYPE_ORDER.get(feature.osm_type, 3), feature.osm_id


def feature_distance_m(a: OsmFeature, b: OsmFeature) -> float:
    """Metres between the nearest points of two features' shapes."""
    if isinstance(a.geometry, Point) and isinstance(b.geometry, Point):
        return haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000.0
    if haversine_km(a.lat, a.lon, b.lat, b.lon) > 200.0:
        return haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000.0
    return float(_local_km(a.geometry, a.lat, a.lon).distance(_local_km(b.geometry, a.lat, a.lon))) * 1000.0


# ---------------------------------------------------------------------------- queries


def prefilter_for(query: FeatureQuery) -> Prefilter:
    pattern = glued(query.name_pattern) if query.name_pattern else None
    return Prefilter(
        types=tuple(query.types),
        tags=dict(query.tags),
        name=query.name,
        name_glued=pattern or None,
        named=query.name is not None or query.name_pattern is not None,
    )


def features_in(index: LocalIndex, query: FeatureQuery, area: BBox | Around) -> list[OsmFeature]:
    """Every stored feature matching ``query`` (tags, name, types) in ``area``, in
    Overpass order (nodes, ways, relations; by id)."""
    found: dict[tuple[str, int], OsmFeature] = {}
    for row in index.rows(area_boxes(area), prefilter_for(query)):
        if (row.osm_type, row.osm_id) in found or not query.matches(row.osm_type, row.tags):
            continue
        feature = feature_from_row(row)
        if feature is not None and in_area(feature, area):
            found[(row.osm_type, row.osm_id)] = feature
    return sorted(found.values(), key=sort_key)


def named_near(index: LocalIndex, around: Around, core: str) -> list[OsmFeature]:
    """Features within the circle whose name tags contain ``core`` once folded and glued
    (the necessary condition of :func:`tools.osm.names.match_quality`)."""
    needle = glued(core)
    prefilter = Prefilter(name_glued=needle or None, named=True)
    found: dict[tuple[str, int], OsmFeature] = {}
    for row in index.rows(area_boxes(around), prefilter):
        if (row.osm_type, row.osm_id) in found or (needle and needle not in glued_names(row.tags)):
            continue
        feature = feature_from_row(row)
        if feature is not None and in_area(feature, around):
            found[(row.osm_type, row.osm_id)] = feature
    return sorted(found.values(), key=sort_key)


def expand_box(area_box: Box, metres: float) -> Box:
    """A box grown by ``metres`` on every side (clamped to the globe)."""
    south, west, north, east = area_box
    dlat = metres / 111_320.0
    mid = math.radians((south + north) / 2.0)
    dlon = metres / max(1.0, 111_320.0 * math.cos(mid))
    return (max(-90.0, south - dlat), max(-180.0, west - dlon), min(90.0, north + dlat), min(180.0, east + dlon))


def near_any(
    index: LocalIndex, query: FeatureQuery, anchors: list[OsmFeature], within_m: float
) -> list[tuple[OsmFeature, OsmFeature, float]]:
    """Features matching ``query`` within ``within_m`` of some anchor, each with its
    nearest anchor and the distance, in Overpass order."""
    if not anchors:
        return []
    boxes = []
    for anchor in anchors:
        west, south, east, north = anchor.geometry.bounds
        boxes.append(expand_box((south, west, north, east), within_m))
    tree = STRtree([box(b[1], b[0], b[3], b[2]) for b in boxes])
    out: dict[tuple[str, int], tuple[OsmFeature, OsmFeature, float]] = {}
    for row in index.rows(merge_boxes(boxes), prefilter_for(query)):
        if (row.osm_type, row.osm_id) in out or not query.matches(row.osm_type, row.tags):
            continue
        feature = feature_from_row(row)
        if feature is None:
            continue
        best: tuple[OsmFeature, float] | None = None
        for i in tree.query(feature.geometry):
            anchor = anchors[int(i)]
            if anchor.ref == feature.ref:
                continue
            d = feature_distance_m(feature, anchor)
            if d <= within_m and (best is None or (d, sort_key(anchor)) < (best[1], sort_key(best[0]))):
                best = (anchor, d)
        if best is not None:
            out[(row.osm_type, row.osm_id)] = (feature, best[0], best[1])
    return sorted(out.values(), key=lambda item: sort_key(item[0]))


def merge_boxes(boxes: list[Box], max_boxes: int = 64) -> list[Box]:
    """Few boxes covering ``boxes``: all of them when few, else their grid cells' hulls."""
    if len(boxes) <= max_boxes:
        return boxes
    cells: dict[tuple[int, int], list[float]] = {}
    for south, west, north, east in boxes:
        key = (math.floor(south * 10), math.floor(west * 10))
        cell = cells.setdefault(key, [south, west, north, east])
        cell[0], cell[1] = min(cell[0], south), min(cell[1], west)
        cell[2], cell[3] = max(cell[2], north), max(cell[3], east)
    return [tuple(c) for c in cells.values()]  # type: ignore[misc]
