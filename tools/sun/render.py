"""A likelihood map as GeoJSON (for GIS tools and the case file) and as a PNG (for people).

GeoJSON: the band (95 %) and its core (68 %) as MultiPolygons made of the grid cells
that fit, the best cell, the sub-solar points and any places that were checked, each
with its fit. The PNG draws the likelihood in an equirectangular projection with a
graticule; the land is outlined by the gazetteer's populated places (faint dots), so
no coastline data has to be downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box, mapping
from shapely.ops import unary_union

from .likelihood import BAND_LEVEL, SunMap, fmt_point

CORE_LEVEL = 0.68


def band_geometry(sun_map: SunMap, level: float = BAND_LEVEL, simplify: float = 0.0) -> dict[str, Any] | None:
    """The band's cells merged into one (Multi)Polygon, in GeoJSON form (None when empty)."""
    half = sun_map.resolution / 2
    rows, cols = np.nonzero(sun_map.band(level))
    if not len(rows):
        return None
    # merge runs of cells along each row first: far fewer shapes to union
    shapes = []
    for row in np.unique(rows):
        in_row = np.sort(cols[rows == row])
        breaks = np.nonzero(np.diff(in_row) > 1)[0]
        starts = np.concatenate([[in_row[0]], in_row[breaks + 1]])
        ends = np.concatenate([in_row[breaks], [in_row[-1]]])
        lat = float(sun_map.lats[row])
        for a, b in zip(starts, ends):
            shapes.append(box(sun_map.lons[a] - half, lat - half, sun_map.lons[b] + half, lat + half))
    merged = unary_union(shapes)
    if simplify > 0:
        merged = merged.simplify(simplify, preserve_topology=True)
    return _rounded(mapping(merged))


def _rounded(geometry: Any) -> Any:
    if isinstance(geometry, dict):
        return {k: _rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, (list, tuple)):
        return [_rounded(v) for v in geometry]
    if isinstance(geometry, float):
        return round(geometry, 5)
    return geometry


def to_geojson(sun_map: SunMap, checks: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A FeatureCollection: band, core, peak, sub-solar points, checked places."""
    constraint = sun_map.constraint
    features = []
    for name, level in (("band", BAND_LEVEL), ("core", CORE_LEVEL)):
        geometry = band_geometry(sun_map, level)
        if geometry is not None:
            features.append(
                {
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {
                        "role": name,
                        "level": level,
                        "area_km2": round(sun_map.band_area_km2(level)),
                        "description": sun_map.describe() if name == "band" else f"{level:.0%} of the fit",
                    },
                }
            )
    lat, lon, likelihood = sun_map.peak
    features.append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"role": "peak", "likelihood": round(likelihood, 4)},
        }
    )
    for label, s_lat, s_lon in sun_map.subsolar_points():
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(s_lon, 5), round(s_lat, 5)]},
                "properties": {"role": "subsolar", "time": label},
            }
        )
    for check in checks:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [check["lon"], check["lat"]]},
                "properties": {"role": "check", **{k: v for k, v in check.items() if k not in ("lat", "lon")}},
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "measurements": constraint.to_details(),
            "resolution_deg": sun_map.resolution,
            "degrees_of_freedom": sun_map.dof,
            "region": [sun_map.region.south, sun_map.region.west, sun_map.region.north, sun_map.region.east],
        },
    }


def _land_points(region: Any) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        from ..gazetteer import shared_gazetteer

        gazetteer = shared_gazetteer()
        gazetteer.countries()  # loads the arrays
        lats, lons = np.asarray(gazetteer.city_lat), np.asarray(gazetteer.city_lon)
    except Exception:  # noqa: BLE001 - the map is still readable with its graticule alone
        return None
    inside = (lats >= region.south) & (lats <= region.north) & (lons >= region.west) & (lons <= region.east)
    return lats[inside], lons[inside]


def _graticule_step(span: float) -> float:
    for step in (30, 15, 10, 5, 2, 1, 0.5, 0.25, 0.1):
        if span / step >= 4:
            return step
    return 0.05


def render_png(
    sun_map: SunMap,
    path: str | Path,
    checks: Sequence[dict[str, Any]] = (),
    title: str | None = None,
    land: bool = True,
    width_in: float = 9.0,
    dpi: int = 100,
) -> Path:
    """Draw the likelihood map. Returns the path written."""
    from matplotlib import patheffects
    from matplotlib.figure import Figure

    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]

    region = sun_map.region
    lon_span = region.east - region.west
    lat_span = region.north - region.south
    mid = math.radians((region.north + region.south) / 2)
    aspect = 1.0 / max(0.2, math.cos(mid)) if not region.is_globe else 1.0
    # the colour bar and labels take about 1.4 in of the width, the title and axis labels about 1 in of height
    height_in = max(3.0, min(9.0, (width_in - 1.4) * lat_span * aspect / lon_span + 1.0))
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    half = sun_map.resolution / 2
    lon_edges = np.append(sun_map.lons - half, sun_map.lons[-1] + half)
    lat_edges = np.append(sun_map.lats - half, sun_map.lats[-1] + half)
    # places that do not fit stay transparent so the land beneath shows through
    shown = np.ma.masked_less(sun_map.likelihood, 0.005)
    mesh = ax.pcolormesh(
        lon_edges,
        lat_edges,
        shown,
        cmap="YlOrRd",
        vmin=0.0,
        vmax=1.0,
        shading="flat",
        alpha=0.85,
        rasterized=True,
        zorder=2,
    )
    if land:
        points = _land_points(region)
        if points is not None:
            size = max(0.3, min(2.0, 60.0 / lon_span))  # bigger dots where fewer places show
            ax.scatter(points[1], points[0], s=size, c="#8a8a8a", marker=".", linewidths=0, rasterized=True, zorder=1)
    for level, style in ((BAND_LEVEL, "-"), (CORE_LEVEL, ":")):
        if sun_map.band(level).any() and not sun_map.band(level).all():
            ax.contour(
                sun_map.lons,
                sun_map.lats,
                sun_map.chi2,
                levels=[sun_map.threshold(level)],
                colors="#202020",
                linewidths=0.8,
                linestyles=style,
                zorder=3,
            )
    for label, s_lat, s_lon in sun_map.subsolar_points():
        if region.south <= s_lat <= region.north and region.west <= s_lon <= region.east:
            ax.plot(s_lon, s_lat, marker="o", ms=9, mfc="#ffd700", mec="#a05a00", zorder=4)
            ax.annotate(
                f"sun overhead {label}",
                (s_lon, s_lat),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=7,
                path_effects=halo,
            )
    p_lat, p_lon, _ = sun_map.peak
    ax.plot(p_lon, p_lat, marker="*", ms=11, mfc="#1f4fff", mec="white", zorder=5)
    for check in checks:
        colour = "#138a36" if check.get("consistent") else "#b00020"
        ax.plot(check["lon"], check["lat"], marker="D", ms=6, mfc=colour, mec="white", zorder=6)
        ax.annotate(
            check.get("label") or fmt_point(check["lat"], check["lon"]),
            (check["lon"], check["lat"]),
            xytext=(6, -10),
            textcoords="offset points",
            fontsize=8,
            color=colour,
            path_effects=halo,
        )
    step = _graticule_step(min(lon_span, lat_span * 2))
    ax.set_xticks(np.arange(math.ceil(region.west / step) * step, region.east + 1e-9, step))
    ax.set_yticks(np.arange(math.ceil(region.south / step) * step, region.north + 1e-9, step))
    ax.grid(True, color="#9aa5b1", linewidth=0.4, alpha=0.7)
    ax.set_xlim(region.west, region.east)
    ax.set_ylim(region.south, region.north)
    ax.set_aspect(aspect)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude", fontsize=8)
    ax.set_ylabel("latitude", fontsize=8)
    lines = title.splitlines() if title else []
    lines += sun_map.constraint.describe()[:3]
    ax.set_title("\n".join(lines), fontsize=8)
    bar = fig.colorbar(mesh, ax=ax, shrink=0.7, pad=0.01)
    bar.set_label("fit (1 = the shadows match exactly)", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, format="png")
    return target
