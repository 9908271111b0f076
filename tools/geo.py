"""Geodesy on a spherical Earth: distances, destinations, bounding boxes, medians, clusters.

Everything works on unit vectors where it can, so that the antimeridian and the poles
need no special cases: a cluster straddling longitude 180 or the North Pole is just a
set of nearby vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def normalize_lon(lon: float) -> float:
    """Wrap a longitude into [-180, 180)."""
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and lon > 0 else wrapped


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_many_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances in km from one point to many (vectorised)."""
    p1 = math.radians(lat)
    p2 = np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial course from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destination_point(lat: float, lon: float, bearing_deg: float, distance_km: float) -> tuple[float, float]:
    """The point reached by travelling ``distance_km`` along a great circle from (lat, lon)."""
    delta = distance_km / EARTH_RADIUS_KM
    theta = math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    sin_p2 = math.sin(p1) * math.cos(delta) + math.cos(p1) * math.sin(delta) * math.cos(theta)
    p2 = math.asin(max(-1.0, min(1.0, sin_p2)))
    y = math.sin(theta) * math.sin(delta) * math.cos(p1)
    x = math.cos(delta) - math.sin(p1) * sin_p2
    l2 = l1 + math.atan2(y, x)
    return math.degrees(p2), normalize_lon(math.degrees(l2))


def bbox_around(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(south, west, north, east) box containing the circle of ``radius_km`` around a point.

    When the box crosses the antimeridian, ``west > east`` (the GeoJSON / Overpass
    convention). When it reaches a pole, it spans all longitudes.
    """
    if radius_km < 0:
        raise ValueError("radius_km must be >= 0")
    delta = radius_km / EARTH_RADIUS_KM
    p = math.radians(lat)
    south = math.degrees(p - delta)
    north = math.degrees(p + delta)
    if north >= 90.0 or south <= -90.0:
        return max(south, -90.0), -180.0, min(north, 90.0), 180.0
    # Longitude half-width at the latitude of the tangent points (exact for a sphere).
    dlon = math.degrees(math.asin(min(1.0, math.sin(delta) / math.cos(p))))
    if dlon >= 180.0 or delta >= math.pi / 2:
        return south, -180.0, north, 180.0
    return south, normalize_lon(lon - dlon), north, normalize_lon(lon + dlon)


def to_vector(lat: float, lon: float) -> np.ndarray:
    phi, lam = math.radians(lat), math.radians(lon)
    return np.array([math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)])


def to_vectors(lats: Sequence[float] | np.ndarray, lons: Sequence[float] | np.ndarray) -> np.ndarray:
    phi = np.radians(np.asarray(lats, dtype=float))
    lam = np.radians(np.asarray(lons, dtype=float))
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def from_vector(v: np.ndarray) -> tuple[float, float]:
    x, y, z = (float(c) for c in v)
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = math.degrees(math.atan2(y, x)) if math.hypot(x, y) > 1e-15 else 0.0
    return lat, normalize_lon(lon)


def spherical_mean(
    points: Sequence[tuple[float, float]], weights: Sequence[float] | None = None
) -> tuple[float, float]:
    """Weighted mean direction of points (the normalised sum of unit vectors)."""
    vecs = to_vectors([p[0] for p in points], [p[1] for p in points])
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    total = (vecs * w[:, None]).sum(axis=0)
    if np.linalg.norm(total) < 1e-12:
        return points[int(np.argmax(w))]
    return from_vector(total / np.linalg.norm(total))


def _log_map(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, float]:
    """Tangent vector at x pointing to p with length = angle(x, p)."""
    cos_t = float(np.clip(np.dot(x, p), -1.0, 1.0))
    theta = math.acos(cos_t)
    v = p - cos_t * x
    norm = float(np.linalg.norm(v))
    if norm < 1e-15:
        return np.zeros(3), theta
    return v * (theta / norm), theta


def _exp_map(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(u))
    if norm < 1e-15:
        return x
    y = math.cos(norm) * x + math.sin(norm) * (u / norm)
    return y / np.linalg.norm(y)


def geometric_median(
    points: Sequence[tuple[float, float]],
    weights: Sequence[float] | None = None,
    *,
    tol_km: float = 1e-4,
    max_iter: int = 500,
) -> tuple[float, float]:
    """Weighted geometric median on the sphere (Riemannian Weiszfeld iteration).

    It minimises the weighted sum of great-circle distances, so one far outlier pulls
    it far less than it pulls a mean. Valid for points within a hemisphere; the
    antimeridian and the poles are handled by working with unit vectors.
    """
    if not points:
        raise ValueError("geometric_median needs at least one point")
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=float)
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be >= 0 with at least one > 0")
    vecs = to_vectors([p[0] for p in points], [p[1] for p in points])
    x = to_vector(*spherical_mean(points, w))
    eps = 1e-12
    tol = tol_km / EARTH_RADIUS_KM
    for _ in range(max_iter):
        num = np.zeros(3)
        den = 0.0
        for vec, weight in zip(vecs, w):
            if weight == 0:
                continue
            log, theta = _log_map(x, vec)
            inv = weight / max(theta, eps)
            num += inv * log
            den += inv
        step = num / den
        x = _exp_map(x, step)
        if float(np.linalg.norm(step)) < tol:
            break
    return from_vector(x)


def cluster_points(
    points: Sequence[tuple[float, float]],
    weights: Sequence[float],
    threshold_km: float,
) -> list[list[int]]:
    """Group points so that each lies within ``threshold_km`` of its cluster's seed.

    Heaviest points seed clusters first, so the result does not depend on input order
    and a heavy point is never absorbed by a light one. Returns index lists, heaviest
    cluster (by total weight) first.
    """
    order = sorted(range(len(points)), key=lambda i: (-weights[i], i))
    seeds: list[int] = []
    members: list[list[int]] = []
    for i in order:
        lat, lon = points[i]
        best, best_d = None, None
        for c, seed in enumerate(seeds):
            d = haversine_km(lat, lon, *points[seed])
            if d <= threshold_km and (best_d is None or d < best_d):
                best, best_d = c, d
        if best is None:
            seeds.append(i)
            members.append([i])
        else:
            members[best].append(i)
    members.sort(key=lambda idx: (-sum(weights[i] for i in idx), min(idx)))
    return members


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """The weighted q-quantile (0..1) of values; used for spread radii."""
    if not values:
        raise ValueError("no values")
    order = np.argsort(values)
    v = np.asarray(values, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[order]
    cum = np.cumsum(w)
    if cum[-1] <= 0:
        return float(v[-1])
    return float(v[np.searchsorted(cum, q * cum[-1], side="left").clip(0, len(v) - 1)])
