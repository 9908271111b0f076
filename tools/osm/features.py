"""OSM features as investigators use them: id, tags, a point, a shape, GeoJSON.

Overpass answers ``out center`` with a centre point per way/relation and ``out geom``
with full coordinates; :func:`features_from_elements` turns either into
:class:`OsmFeature` values with a shapely geometry (lon/lat order, as GeoJSON): a node is
a Point, a way a LineString or, when closed and tagged as an area, a Polygon, a
multipolygon relation a (Multi)Polygon assembled from its member ways. Distances to a
feature are measured to its nearest point, not to its centre: a 3 km street passes
right by a candidate whose distance to the street's middle is 1.5 km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiLineString, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, polygonize, unary_union

from ..geo import EARTH_RADIUS_KM, haversine_km

OSM_URL = "https://www.openstreetmap.org"

#: Keys that make a closed way an area unless their value is in the exceptions
#: (after the areaKeys table of the iD editor's tagging schema).
AREA_KEYS: dict[str, frozenset[str]] = {
    "building": frozenset(),
    "building:part": frozenset(),
    "landuse": frozenset(),
    "leisure": frozenset({"track", "slipway"}),
    "amenity": frozenset({"bench", "fountain"}),
    "shop": frozenset(),
    "tourism": frozenset({"artwork", "viewpoint"}),
    "natural": frozenset({"coastline", "cliff", "ridge", "arete", "tree_row", "valley", "gorge"}),
    "place": frozenset(),
    "historic": frozenset({"citywalls"}),
    "man_made": frozenset({"pipeline", "embankment", "cutline", "dyke", "groyne", "breakwater", "pier"}),
    "military": frozenset({"trench"}),
    "office": frozenset(),
    "craft": frozenset(),
    "aeroway": frozenset({"taxiway", "runway", "parking_position"}),
    "power": frozenset({"line", "minor_line", "cable"}),
    "public_transport": frozenset({"platform"}),
    "healthcare": frozenset(),
    "sport": frozenset(),
    "area:highway": frozenset(),
    "water": frozenset(),
    "boundary": frozenset(),
}
#: Waterways are lines except these.
_WATERWAY_AREAS = frozenset({"riverbank", "dock", "boatyard", "dam"})
#: Tags shown in a feature's label, in order of how much they say about what it is.
LABEL_KEYS = (
    "amenity",
    "shop",
    "tourism",
    "highway",
    "railway",
    "public_transport",
    "leisure",
    "historic",
    "office",
    "craft",
    "building",
    "man_made",
    "natural",
    "landuse",
    "place",
    "waterway",
    "aeroway",
    "boundary",
)


def is_area(tags: dict[str, str]) -> bool:
    """Whether a closed way with these tags is an area (a polygon) rather than a ring of road."""
    area = tags.get("area")
    if area == "yes":
        return True
    if area == "no":
        return False
    if tags.get("waterway") in _WATERWAY_AREAS:
        return True
    return any(key in tags and tags[key] not in exceptions for key, exceptions in AREA_KEYS.items())


def _coords(points: Any) -> list[tuple[float, float]]:
    """(lon, lat) pairs from Overpass geometry entries; missing nodes (null) are skipped."""
    out = []
    for p in points or ():
        lat = getattr(p, "lat", None) if not isinstance(p, dict) else p.get("lat")
        lon = getattr(p, "lon", None) if not isinstance(p, dict) else p.get("lon")
        if lat is None or lon is None:
            continue
        out.append((float(lon), float(lat)))
    return out


def way_geometry(points: list[tuple[float, float]], tags: dict[str, str]) -> BaseGeometry | None:
    """A way's shape: Polygon when closed and an area, else LineString (Point for one node)."""
    if not points:
        return None
    if len(points) == 1 or len(set(points)) == 1:
        return Point(points[0])
    if len(points) >= 4 and points[0] == points[-1] and is_area(tags):
        polygon = Polygon(points)
        return polygon if polygon.is_valid else shapely.make_valid(polygon)
    return LineString(points)


def relation_geometry(members: list[tuple[str, str, list[tuple[float, float]]]], tags: dict[str, str]) -> BaseGeometry:
    """A relation's shape from its members' (type, role, coordinates).

    Multipolygons and boundaries are assembled into polygons (outer rings minus inner
    rings, after joining ways that share ends); other relations (routes, sites) become
    the collection of their members' lines and points.
    """
    lines = [(role, LineString(c)) for kind, role, c in members if kind == "way" and len(c) >= 2]
    points = [Point(c[0]) for kind, _, c in members if kind == "node" and c]
    if tags.get("type") in ("multipolygon", "boundary") and lines:
        outer = [line for role, line in lines if role != "inner"]
        inner = [line for role, line in lines if role == "inner"]
        shells = list(polygonize(linemerge(outer))) if outer else []
        if shells:
            geom = unary_union(shells)
            holes = list(polygonize(linemerge(inner))) if inner else []
            if holes:
                geom = geom.difference(unary_union(holes))
            if not geom.is_empty:
                return geom if geom.is_valid else shapely.make_valid(geom)
    if lines and not points:
        return MultiLineString([line for _, line in lines])
    return GeometryCollection([line for _, line in lines] + points)


def centre_of(geometry: BaseGeometry) -> tuple[float, float]:
    """(lat, lon) of a point that represents the shape and lies on it: the middle of a
    line along its length, a polygon's centroid when inside it, else a point inside."""
    if isinstance(geometry, Point):
        return geometry.y, geometry.x
    if isinstance(geometry, LineString):
        mid = geometry.interpolate(0.5, normalized=True)
        return mid.y, mid.x
    centroid = geometry.centroid
    if geometry.area > 0 and not geometry.contains(centroid):
        centroid = geometry.representative_point()
    return centroid.y, centroid.x


def _round(value: Any, digits: int = 7) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def to_geojson_geometry(geometry: BaseGeometry) -> dict[str, Any]:
    """GeoJSON geometry dict with coordinates rounded to 7 decimals (~1 cm)."""
    return _round(mapping(geometry))


def _local_km(geometry: BaseGeometry, lat: float, lon: float) -> BaseGeometry:
    """The geometry in a local equirectangular frame in km centred on (lat, lon)."""
    kx = math.radians(1.0) * EARTH_RADIUS_KM * math.cos(math.radians(lat))
    ky = math.radians(1.0) * EARTH_RADIUS_KM

    def project(coords: np.ndarray) -> np.ndarray:
        dlon = (coords[:, 0] - lon + 180.0) % 360.0 - 180.0
        return np.column_stack([dlon * kx, (coords[:, 1] - lat) * ky])

    return shapely.transform(geometry, project)


@dataclass
class OsmFeature:
    """One OSM element: type, id, tags, a representative point and a shape."""

    osm_type: str
    osm_id: int
    tags: dict[str, str]
    lat: float
    lon: float
    geometry: BaseGeometry = field(repr=False)

    @property
    def ref(self) -> str:
        return f"{self.osm_type}/{self.osm_id}"

    @property
    def url(self) -> str:
        return f"{OSM_URL}/{self.osm_type}/{self.osm_id}"

    @property
    def name(self) -> str | None:
        return self.tags.get("name")

    def main_tag(self) -> tuple[str, str] | None:
        """The tag that best says what the feature is (amenity=cafe, highway=residential)."""
        for key in LABEL_KEYS:
            if key in self.tags:
                return key, self.tags[key]
        return None

    def label(self) -> str:
        """ "way 123456 'Rua Augusta' (highway=pedestrian)"."""
        text = f"{self.osm_type} {self.osm_id}"
        if self.name:
            text += f" '{self.name}'"
        tag = self.main_tag()
        if tag:
            text += f" ({tag[0]}={tag[1]})"
        return text

    def extent_km(self) -> float:
        """How far the shape reaches from its point: the GeoRef radius of its evidence."""
        if isinstance(self.geometry, Point) or self.geometry.is_empty:
            return 0.05 if self.osm_type == "node" else 0.25
        west, south, east, north = self.geometry.bounds
        corners = [(south, west), (south, east), (north, west), (north, east)]
        return max(0.05, max(haversine_km(self.lat, self.lon, la, lo) for la, lo in corners))

    def distance_km(self, lat: float, lon: float) -> float:
        """Great-circle distance (km) from a point to the nearest point of the shape."""
        centre = haversine_km(lat, lon, self.lat, self.lon)
        if isinstance(self.geometry, Point) or self.geometry.is_empty or centre > 200.0:
            return centre
        return float(_local_km(self.geometry, lat, lon).distance(Point(0.0, 0.0)))

    def geojson_geometry(self) -> dict[str, Any]:
        return to_geojson_geometry(self.geometry)

    def to_geojson(self, **properties: Any) -> dict[str, Any]:
        """A GeoJSON Feature; extra keyword properties are added to the OSM ones."""
        props = {
            "osm_type": self.osm_type,
            "osm_id": self.osm_id,
            "name": self.name,
            "url": self.url,
            "tags": dict(self.tags),
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            **properties,
        }
        return {"type": "Feature", "id": self.ref, "geometry": self.geojson_geometry(), "properties": props}

    def to_dict(self) -> dict[str, Any]:
        """JSON form kept in observations (so a trace can replay the call)."""
        return {
            "osm_type": self.osm_type,
            "osm_id": self.osm_id,
            "tags": dict(self.tags),
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "geometry": self.geojson_geometry(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OsmFeature:
        return cls(
            osm_type=str(data["osm_type"]),
            osm_id=int(data["osm_id"]),
            tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            geometry=shape(data["geometry"]),
        )


def _tags(element: Any) -> dict[str, str]:
    tags = getattr(element, "tags", None) or {}
    if not isinstance(tags, dict):
        raise ValueError(f"tags of {element!r} are not an object")
    return {str(k): str(v) for k, v in tags.items()}


def feature_from_overpy(element: Any) -> OsmFeature | None:
    """An :class:`OsmFeature` from an overpy Node/Way/Relation (None when the answer
    gave it no position at all, e.g. ``out ids``)."""
    import overpy

    tags = _tags(element)
    geometry: BaseGeometry | None = None
    if isinstance(element, overpy.Node):
        if element.lat is None or element.lon is None:
            return None
        geometry = Point(float(element.lon), float(element.lat))
        kind = "node"
    elif isinstance(element, overpy.Way):
        kind = "way"
        geometry = way_geometry(_coords((element.attributes or {}).get("geometry")), tags)
    elif isinstance(element, overpy.Relation):
        kind = "relation"
        members = []
        for member in element.members:
            role = member.role or ""
            if member._type_value == "way":
                members.append(("way", role, _coords(member.geometry)))
            elif member._type_value == "node":
                members.append(("node", role, _coords([member.attributes or {}])))
        if any(c for _, _, c in members):
            geometry = relation_geometry(members, tags)
    else:
        return None
    center_lat = getattr(element, "center_lat", None)
    center_lon = getattr(element, "center_lon", None)
    if geometry is None or geometry.is_empty:
        if center_lat is None or center_lon is None:
            return None
        geometry = Point(float(center_lon), float(center_lat))
    lat, lon = centre_of(geometry)
    if element.id is None:
        raise ValueError(f"{kind} without an id")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"{kind} {element.id} has coordinates off the Earth ({lat}, {lon})")
    return OsmFeature(kind, int(element.id), tags, float(lat), float(lon), geometry)
