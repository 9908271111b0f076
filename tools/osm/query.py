"""Structured OpenStreetMap requests compiled to Overpass QL, and the guards around them.

A model (or the heuristic playbook) never writes Overpass QL by default: it fills a
:class:`FeatureQuery` (tags, a name or a name pattern, element types, one bounded area)
and :func:`compile_query` turns it into QL, every outside value escaped by
:func:`tools.osm.ql.ql_string`. Guards keep a public, shared service usable: a bounded
area is required (bbox, a point with a radius, or a place name resolved *offline* to a
bbox), its size is capped, every query carries a server-side ``timeout`` and ``maxsize``
and a result ``limit`` (:class:`QueryLimits`, configurable through ``osm_*`` settings).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..geo import EARTH_RADIUS_KM, bbox_around
from .ql import OsmQueryError, clean_value, ql_string, regex_escape

OsmType = Literal["node", "way", "relation"]
ALL_TYPES: tuple[OsmType, ...] = ("node", "way", "relation")
TagValue = str | list[str] | None

#: OSM limits keys and values to 255 characters; longer input cannot match anything.
MAX_TAG_CHARS = 255
MAX_TAGS = 10
MAX_TAG_ALTERNATIVES = 20


# ---------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class QueryLimits:
    """The guards every query is compiled under. Defaults suit the public Overpass
    instance (its own default timeout is 180 s and maxsize 512 MiB; a geolocation
    check never needs that much). ``from_settings`` reads ``osm_*`` run settings."""

    max_area_km2: float = 50_000.0
    max_radius_m: float = 50_000.0
    max_within_m: float = 5_000.0
    max_results: int = 500
    default_limit: int = 50
    timeout_s: int = 25
    maxsize_bytes: int = 64 * 1024 * 1024
    max_raw_chars: int = 4_000
    allow_raw: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> QueryLimits:
        """Limits from run settings: ``osm_max_area_km2``, ``osm_max_radius_m``, ``osm_max_within_m``,
        ``osm_max_results``, ``osm_default_limit``, ``osm_timeout_s``, ``osm_maxsize_bytes``,
        ``osm_max_raw_chars`` and ``osm_allow_raw`` (``allow_raw`` is accepted as an alias)."""
        base = cls()

        def number(key: str, default: float, cast: Callable[[Any], Any]) -> Any:
            value = settings.get(f"osm_{key}", default)
            try:
                out = cast(value)
            except (TypeError, ValueError):
                raise OsmQueryError(f"setting osm_{key}={value!r} is not a number") from None
            if not math.isfinite(float(out)) or out <= 0:
                raise OsmQueryError(f"setting osm_{key}={value!r} must be a positive number")
            return out

        allow = settings.get("osm_allow_raw", settings.get("allow_raw", base.allow_raw))
        if isinstance(allow, str):
            allow = allow.strip().lower() in ("1", "true", "yes", "on")
        return cls(
            max_area_km2=number("max_area_km2", base.max_area_km2, float),
            max_radius_m=number("max_radius_m", base.max_radius_m, float),
            max_within_m=number("max_within_m", base.max_within_m, float),
            max_results=number("max_results", base.max_results, int),
            default_limit=number("default_limit", base.default_limit, int),
            timeout_s=number("timeout_s", base.timeout_s, int),
            maxsize_bytes=number("maxsize_bytes", base.maxsize_bytes, int),
            max_raw_chars=number("max_raw_chars", base.max_raw_chars, int),
            allow_raw=bool(allow),
        )

    def header(self) -> str:
        """The settings statement every query starts with."""
        return f"[out:json][timeout:{int(self.timeout_s)}][maxsize:{int(self.maxsize_bytes)}];"

    def result_limit(self, requested: int | None) -> int:
        return max(1, min(int(requested or self.default_limit), self.max_results))


DEFAULT_LIMITS = QueryLimits()


# ---------------------------------------------------------------------------- areas


def _num(value: float) -> str:
    """A coordinate or distance as QL: fixed-point, never exponent notation."""
    return f"{value:.7f}".rstrip("0").rstrip(".") if value != 0 else "0"


class BBox(BaseModel):
    """A box in degrees: (south, west, north, east). ``west > east`` crosses the antimeridian."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    south: float = Field(ge=-90.0, le=90.0, description="Southern latitude in degrees.")
    west: float = Field(ge=-180.0, le=180.0, description="Western longitude in degrees.")
    north: float = Field(ge=-90.0, le=90.0, description="Northern latitude in degrees.")
    east: float = Field(ge=-180.0, le=180.0, description="Eastern longitude in degrees.")

    @model_validator(mode="before")
    @classmethod
    def _from_sequence(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            if len(value) != 4:
                raise ValueError("bbox must be [south, west, north, east]")
            return dict(zip(("south", "west", "north", "east"), value))
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        for value in (self.south, self.west, self.north, self.east):
            if not math.isfinite(value):
                raise ValueError("bbox coordinates must be finite")
        if self.south >= self.north:
            raise ValueError("bbox south must be below north")
        if self.west == self.east:
            raise ValueError("bbox west and east must differ")
        return self

    def area_km2(self) -> float:
        """Area on the sphere: R² · (sin north − sin south) · Δlongitude."""
        span = (self.east - self.west) % 360.0
        return (
            EARTH_RADIUS_KM**2
            * (math.sin(math.radians(self.north)) - math.sin(math.radians(self.south)))
            * math.radians(span)
        )

    def ql(self) -> str:
        return f"({_num(self.south)},{_num(self.west)},{_num(self.north)},{_num(self.east)})"


class Around(BaseModel):
    """A disc: everything within ``radius_m`` metres of (lat, lon)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90.0, le=90.0, description="Latitude of the centre in degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude of the centre in degrees.")
    radius_m: float = Field(gt=0.0, description="Radius in metres.")

    @field_validator("lat", "lon", "radius_m")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    def area_km2(self) -> float:
        return math.pi * (self.radius_m / 1000.0) ** 2

    def ql(self) -> str:
        return f"(around:{_num(self.radius_m)},{_num(self.lat)},{_num(self.lon)})"


@dataclass(frozen=True)
class ResolvedArea:
    """A place name resolved offline (gazetteer) to a point with a radius."""

    query: str
    name: str
    kind: str
    country_code: str | None
    lat: float
    lon: float
    radius_km: float

    def bbox(self) -> BBox:
        south, west, north, east = bbox_around(self.lat, self.lon, self.radius_km)
        return BBox(south=south, west=west, north=north, east=east)

    def describe(self) -> str:
        where = f"{self.name}, {self.country_code}" if self.country_code else self.name
        return f"{where} ({self.kind}, {self.radius_km:.0f} km around {self.lat:.4f},{self.lon:.4f})"


AreaResolver = Callable[[str], ResolvedArea]


@dataclass(frozen=True)
class SearchArea:
    """The bounded area a query is limited to, as a QL filter."""

    filter: str
    area_km2: float
    description: str
    resolved: ResolvedArea | None = None
    #: The area itself, so what comes back can be checked against it.
    shape: BBox | Around | None = None

    def distance_outside_km(self, feature: Any) -> float | None:
        """How far (km) an :class:`~tools.osm.features.OsmFeature` lies outside this area:
        0 inside, None when the area has no shape to check against."""
        if isinstance(self.shape, Around):
            return max(0.0, feature.distance_km(self.shape.lat, self.shape.lon) - self.shape.radius_m / 1000.0)
        if isinstance(self.shape, BBox):
            box = self.shape
            lat = min(max(feature.lat, box.south), box.north)
            if box.west <= box.east:
                lon = min(max(feature.lon, box.west), box.east)
            else:  # across the antimeridian
                inside = feature.lon >= box.west or feature.lon <= box.east
                lon = feature.lon if inside else min((box.west, box.east), key=lambda x: abs(x - feature.lon))
            return feature.distance_km(lat, lon)
        return None


def check_area(area: BBox | Around, limits: QueryLimits) -> None:
    """Refuse areas over the configured limits (they would be slow and unspecific)."""
    if isinstance(area, Around) and area.radius_m > limits.max_radius_m:
        raise OsmQueryError(
            f"radius {area.radius_m:,.0f} m is over the {limits.max_radius_m:,.0f} m limit (osm_max_radius_m)"
        )
    size = area.area_km2()
    if size > limits.max_area_km2:
        raise OsmQueryError(
            f"area of {size:,.0f} km² is over the {limits.max_area_km2:,.0f} km² limit (osm_max_area_km2): "
            "search a smaller bbox or radius"
        )


# ---------------------------------------------------------------------------- the query model


def _check_text(value: str, what: str) -> str:
    if not clean_value(value).strip():
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_TAG_CHARS:
        raise ValueError(f"{what} is longer than {MAX_TAG_CHARS} characters (OSM's limit)")
    return value


class FeatureQuery(BaseModel):
    """What to look for in OpenStreetMap, and where. Compiled by :func:`compile_query`."""

    model_config = ConfigDict(extra="forbid")

    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        description=(
            'OSM tags to match, key -> value. A value matches exactly ({"amenity": "cafe"}); a list matches any of '
            'its values ({"shop": ["bakery", "pastry"]}); null matches any value ({"building": null}).'
        ),
    )
    name: str | None = Field(default=None, description="Exact value of the name tag, e.g. 'Rua Augusta'.")
    name_pattern: str | None = Field(
        default=None,
        description="Text the name must contain, case-insensitive, matched literally (not a regex), e.g. 'augusta'.",
    )
    types: list[OsmType] = Field(
        default_factory=lambda: list(ALL_TYPES),
        min_length=1,
        description="OSM element types to search: node (points), way (streets, buildings), relation.",
    )
    bbox: BBox | None = Field(
        default=None,
        description="Search area {south, west, north, east} in degrees ([s, w, n, e] works too; at most 50 000 km²).",
    )
    around: Around | None = Field(
        default=None, description="Search area as a circle: {lat, lon, radius_m} (radius at most 50 km)."
    )
    area_name: str | None = Field(
        default=None,
        max_length=200,
        description="Search area as a town name resolved offline, e.g. 'Lisbon' or 'Porto, PT' (not a country).",
    )
    limit: int | None = Field(default=None, ge=1, le=10_000, description="Most features to return (default 50).")
    geometry: bool = Field(
        default=False, description="Return full shapes (street lines, building outlines) instead of centre points."
    )

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, tags: dict[str, TagValue]) -> dict[str, TagValue]:
        if len(tags) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        for key, value in tags.items():
            _check_text(key, "tag key")
            values = value if isinstance(value, list) else [] if value is None else [value]
            if isinstance(value, list) and not 1 <= len(value) <= MAX_TAG_ALTERNATIVES:
                raise ValueError(f"tag {key!r}: give 1 to {MAX_TAG_ALTERNATIVES} alternative values")
            for item in values:
                _check_text(item, f"value of tag {key!r}")
        return tags

    @field_validator("name", "name_pattern")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else _check_text(value, "name")

    @model_validator(mode="after")
    def _consistent(self) -> FeatureQuery:
        self._check_consistency(require_filter=True)
        return self

    def _check_consistency(self, *, require_filter: bool) -> None:
        if self.name is not None and self.name_pattern is not None:
            raise ValueError("give either name or name_pattern, not both")
        if require_filter and not self.tags and self.name is None and self.name_pattern is None:
            raise ValueError("give at least one tag, a name or a name_pattern (an unfiltered area is everything)")
        if sum(x is not None for x in (self.bbox, self.around, self.area_name)) > 1:
            raise ValueError("give one area: bbox, around or area_name")
        self.types = list(dict.fromkeys(self.types))

    @property
    def has_area(self) -> bool:
        return self.bbox is not None or self.around is not None or self.area_name is not None

    def matches(self, osm_type: str, tags: Mapping[str, str]) -> bool:
        """Whether an element satisfies this query's type, tag and name filters (the area
        is not checked). Used to tell apart the sets of a combined answer."""
        if osm_type not in self.types:
            return False
        for key, wanted in self.tags.items():
            if key not in tags:
                return False
            if isinstance(wanted, list) and tags[key] not in wanted:
                return False
            if isinstance(wanted, str) and tags[key] != wanted:
                return False
        name = tags.get("name")
        if self.name is not None and name != self.name:
            return False
        return not (
            self.name_pattern is not None and (name is None or self.name_pattern.casefold() not in name.casefold())
        )

    def filters(self) -> str:
        """The tag filters of one query statement, every value escaped by :func:`ql_string`."""
        parts = []
        for key, value in self.tags.items():
            if value is None:
                parts.append(f"[{ql_string(key)}]")
            elif isinstance(value, list):
                alternatives = "|".join(regex_escape(v) for v in value)
                parts.append(f"[{ql_string(key)}~{ql_string(f'^({alternatives})$')}]")
            else:
                parts.append(f"[{ql_string(key)}={ql_string(value)}]")
        if self.name is not None:
            parts.append(f"[{ql_string('name')}={ql_string(self.name)}]")
        if self.name_pattern is not None:
            parts.append(f"[{ql_string('name')}~{ql_string(self.name_pattern, regex=True)},i]")
        return "".join(parts)

    def describe(self) -> str:
        """A short human description: "amenity=cafe named like 'augusta'"."""
        bits = []
        for key, value in self.tags.items():
            bits.append(key if value is None else f"{key}={'|'.join(value) if isinstance(value, list) else value}")
        if self.name is not None:
            bits.append(f"named '{self.name}'")
        if self.name_pattern is not None:
            bits.append(f"named like '{self.name_pattern}'")
        return " ".join(bits)


def search_area(query: FeatureQuery, limits: QueryLimits, resolve_area: AreaResolver | None) -> SearchArea | None:
    """The query's area as a QL filter, after the size guard; None when it has none."""
    if query.bbox is not None:
        check_area(query.bbox, limits)
        return SearchArea(query.bbox.ql(), query.bbox.area_km2(), f"bbox {query.bbox.ql()}", shape=query.bbox)
    if query.around is not None:
        check_area(query.around, limits)
        a = query.around
        return SearchArea(a.ql(), a.area_km2(), f"{a.radius_m:,.0f} m around {a.lat:.5f},{a.lon:.5f}", shape=a)
    if query.area_name is not None:
        if resolve_area is None:
            raise OsmQueryError("area_name needs the offline gazetteer; give a bbox or around instead")
        resolved = resolve_area(query.area_name)
        box = resolved.bbox()
        try:
            check_area(box, limits)
        except OsmQueryError as exc:
            raise OsmQueryError(f"'{query.area_name}' resolves to {resolved.describe()}: {exc}") from None
        return SearchArea(box.ql(), box.area_km2(), resolved.describe(), resolved, shape=box)
    return None


# ---------------------------------------------------------------------------- compiled queries


@dataclass(frozen=True)
class CompiledQuery:
    """Overpass QL ready to send, with what it was built from."""

    ql: str
    kind: Literal["search", "proximity", "verify", "raw", "combo"]
    limit: int
    area: SearchArea | None = None
    sets: dict[str, FeatureQuery] = field(default_factory=dict)


def _union(statements: list[str], into: str | None = None) -> str:
    body = "\n".join(f"  {s};" for s in statements)
    return f"(\n{body}\n)" + (f"->.{into}" if into else "") + ";"


def _out(limit: int, geometry: bool, set_name: str | None = None) -> str:
    prefix = f".{set_name} " if set_name else ""
    return f"{prefix}out {'geom' if geometry else 'center'} {int(limit)};"


def compile_query(
    query: FeatureQuery, limits: QueryLimits = DEFAULT_LIMITS, *, resolve_area: AreaResolver | None = None
) -> CompiledQuery:
    """One union statement over the requested element types, limited to the area::

    [out:json][timeout:25][maxsize:67108864];
    (
      node["amenity"="cafe"](38.7,-9.2,38.8,-9.1);
      way["amenity"="cafe"](38.7,-9.2,38.8,-9.1);
    );
    out center 50;
    """
    area = search_area(query, limits, resolve_area)
    if area is None:
        raise OsmQueryError("a search needs an area: bbox, around or area_name")
    limit = limits.result_limit(query.limit)
    statements = [f"{t}{query.filters()}{area.filter}" for t in query.types]
    ql = "\n".join([limits.header(), _union(statements), _out(limit, query.geometry)]) + "\n"
    return CompiledQuery(ql, "search", limit, area, {"a": query})


def compile_proximity(
    a: FeatureQuery,
    b: FeatureQuery,
    within_m: float,
    limits: QueryLimits = DEFAULT_LIMITS,
    *,
    resolve_area: AreaResolver | None = None,
) -> CompiledQuery:
    """Features A within ``within_m`` metres of features B, in B's area, as one query.

    B is collected in the area, A is searched ``around.b`` (the server measures the
    distance to B's real geometry), and the B features near some A are returned too so
    each A can be paired with its neighbour::

        (node[...B...](area); way[...B...](area);)->.b;
        (node[...A...](around.b:D); way[...A...](around.b:D);)->.a;
        (node.b(around.a:D); way.b(around.a:D);)->.near;
        .a out center N;
        .near out center N;
    """
    if not math.isfinite(within_m) or within_m <= 0:
        raise OsmQueryError("within_m must be a positive number of metres")
    if within_m > limits.max_within_m:
        raise OsmQueryError(f"within_m {within_m:,.0f} m is over the {limits.max_within_m:,.0f} m limit")
    area = search_area(b, limits, resolve_area)
    if area is None:
        raise OsmQueryError("a proximity search needs an area (bbox, around or area_name) for the anchor features")
    a_area = search_area(a, limits, resolve_area)
    distance = _num(within_m)
    limit = limits.result_limit(a.limit)
    b_statements = [f"{t}{b.filters()}{area.filter}" for t in b.types]
    a_statements = [f"{t}{a.filters()}(around.b:{distance}){a_area.filter if a_area else ''}" for t in a.types]
    near_statements = [f"{t}.b(around.a:{distance})" for t in b.types]
    geometry = a.geometry or b.geometry
    ql = (
        "\n".join(
            [
                limits.header(),
                _union(b_statements, "b"),
                _union(a_statements, "a"),
                _union(near_statements, "near"),
                _out(limit, geometry, "a"),
                _out(limit, geometry, "near"),
            ]
        )
        + "\n"
    )
    return CompiledQuery(ql, "proximity", limit, area, {"a": a, "b": b})


#: Tags that carry a feature's names, searched when verifying a text near a point.
NAME_KEYS_REGEX = "^(name|name:[a-zA-Z_-]+|alt_name|official_name|short_name|loc_name|old_name|addr:street)$"


def compile_name_search(
    around: Around, name_regex: str, limits: QueryLimits = DEFAULT_LIMITS, *, limit: int | None = None
) -> CompiledQuery:
    """Anything whose name tags match ``name_regex`` (built by :func:`tolerant_name_regex`)
    within a radius: nodes and ways with full geometry (to measure the distance to the
    nearest point of a street), relations with their centre only (a boundary's outline
    can be megabytes)."""
    check_area(around, limits)
    n = limits.result_limit(limit)
    name_filter = f"[~{ql_string(NAME_KEYS_REGEX)}~{ql_string(name_regex)},i]{around.ql()}"
    ql = (
        "\n".join(
            [
                limits.header(),
                _union([f"node{name_filter}", f"way{name_filter}"], "nw"),
                f"relation{name_filter}->.r;",
                _out(n, True, "nw"),
                _out(n, False, "r"),
            ]
        )
        + "\n"
    )
    description = f"{around.radius_m:,.0f} m around {around.lat:.5f},{around.lon:.5f}"
    return CompiledQuery(ql, "verify", n, SearchArea(around.ql(), around.area_km2(), description, shape=around))
