"""How well each place on Earth explains the measured shadows: a likelihood grid.

For every measurement, the sun's predicted elevation (and azimuth, when the shadow's
bearing is known) at a place is compared with the measured one in units of the
measurement's uncertainty; the squared differences add up to a chi-square over all
measurements. ``exp(-chi2 / 2)`` is the likelihood (1 where the shadows fit exactly),
and the *band* is where the fit is within the 95 % chi-square quantile for that many
numbers: one shadow at one time draws a ring around the sub-solar point, a bearing
picks an arc of it, a second time crosses it with another ring.

When a measurement's time is a bare clock reading, each place reads it in its own
time zone (see :mod:`tools.sun.clock`), which masks out the zones where that clock
time cannot hold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.stats import chi2 as chi2_dist

from ..errors import ConfigError
from ..geo import EARTH_RADIUS_KM, destination_point
from .clock import CaptureTime, format_offset, parse_time, zone_at, zones_of
from .position import subsolar_point, sun_field
from .shadow import ShadowMeasurement, coerce_measurement

#: The band holds the places whose fit is inside this chi-square quantile.
BAND_LEVEL = 0.95
#: A place with a p-value below this is inconsistent with the shadows.
CONSISTENT_P = 0.05
#: Clock offsets tried when a capture time has no zone (every quarter hour, as real zones use).
OFFSET_RANGE_MIN = (-12 * 60, 14 * 60)
OFFSET_STEP_MIN = 15
#: Most cells a likelihood grid may have (a 0.5 degree world; finer inside a region).
MAX_CELLS = 400_000


@dataclass(frozen=True)
class Constraint:
    """Measurements, each with its resolved capture time."""

    items: tuple[tuple[ShadowMeasurement, CaptureTime], ...]

    @classmethod
    def build(
        cls,
        measurements: Iterable[ShadowMeasurement | dict[str, Any] | str],
        time: str | dt.datetime | CaptureTime | None = None,
        zone: str | None = None,
    ) -> Constraint:
        """Give each measurement its own time, or ``time`` (ConfigError when neither)."""
        default = parse_time(time, zone) if time is not None else None
        items = []
        for index, raw in enumerate(measurements, 1):
            measurement = coerce_measurement(raw)
            if measurement.time is not None:
                when = parse_time(measurement.time, zone)
            elif default is not None:
                when = default
            else:
                raise ConfigError(f"measurement {index} has no time: give the capture time (UTC, offset, or zone)")
            items.append((measurement, when))
        if not items:
            raise ConfigError("give at least one shadow measurement (height and length, or the sun's elevation)")
        return cls(tuple(items))

    @property
    def dof(self) -> int:
        """How many numbers the measurements pin down (an elevation each, an azimuth per bearing)."""
        return sum(1 + (m.sun_azimuth is not None) for m, _ in self.items)

    @property
    def zone_unknown(self) -> bool:
        return any(not t.zone_known for _, t in self.items)

    def to_details(self) -> list[dict[str, Any]]:
        return [
            {**m.model_dump(mode="json", exclude_none=True), "time": t.to_text(), "time_read": t.describe()}
            for m, t in self.items
        ]

    @classmethod
    def from_details(cls, rows: Sequence[dict[str, Any]]) -> Constraint:
        cleaned = [{k: v for k, v in row.items() if k != "time_read"} for row in rows]
        return cls.build(cleaned)

    def describe(self) -> list[str]:
        return [f"{m.describe()} at {t.describe()}" for m, t in self.items]

    def evaluate(
        self, lats: np.ndarray, lons: np.ndarray, offset_minutes: int | None = None
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Chi-square at each place (``inf`` where no zone is known for a clock time),
        with each measurement's predicted elevation, azimuth and instant.

        ``offset_minutes`` reads bare clock times at that UTC offset instead of each
        place's own zone (to ask which offsets would fit)."""
        lats, lons = np.broadcast_arrays(np.asarray(lats, dtype=float), np.asarray(lons, dtype=float))
        total = np.zeros(lats.shape)
        predictions = []
        zones = codes = None
        for measurement, when in self.items:
            elevation = np.full(lats.shape, np.nan)
            azimuth = np.full(lats.shape, np.nan)
            instants: dict[str, dt.datetime] = {}
            if when.zone_known or offset_minutes is not None:
                instant = when.utc() if when.zone_known else when.utc_with_offset(offset_minutes or 0)
                elevation, azimuth = sun_field(lats, lons, instant)
                instants[""] = instant
            else:
                if zones is None:
                    zones, codes = np.unique(zones_of(lats, lons), return_inverse=True)
                    codes = codes.reshape(lats.shape)
                # zones whose clocks agree that day share one instant: one sun field per instant
                groups: dict[dt.datetime, int] = {}
                group_of_zone = np.full(len(zones), -1)
                for index, name in enumerate(zones):
                    if name:
                        instants[str(name)] = when.utc_in(str(name))
                        group_of_zone[index] = groups.setdefault(instants[str(name)], len(groups))
                cell_group = group_of_zone[codes]
                for instant, group in groups.items():
                    mask = cell_group == group
                    elevation[mask], azimuth[mask] = sun_field(lats[mask], lons[mask], instant)
            z = (elevation - measurement.observed_elevation) / measurement.elevation_sigma
            total = total + z * z
            if measurement.sun_azimuth is not None:
                turn = (azimuth - measurement.sun_azimuth + 180.0) % 360.0 - 180.0
                total = total + (turn / measurement.bearing_sigma) ** 2
            predictions.append({"elevation": elevation, "azimuth": azimuth, "instants": instants})
        total = np.where(np.isnan(total), np.inf, total)
        return total, predictions


@dataclass(frozen=True)
class PointFit:
    """How a single place fits the shadows."""

    lat: float
    lon: float
    chi2: float
    dof: int
    zone: str | None
    predicted: list[dict[str, Any]]

    @property
    def p_value(self) -> float:
        return float(chi2_dist.sf(self.chi2, self.dof)) if math.isfinite(self.chi2) else 0.0

    @property
    def likelihood(self) -> float:
        return math.exp(-self.chi2 / 2) if math.isfinite(self.chi2) else 0.0

    @property
    def consistent(self) -> bool:
        return self.p_value >= CONSISTENT_P

    def explain(self, constraint: Constraint) -> str:
        """'sun there 30.8° (shadow says 70.0° ± 1.0°)' for each measurement."""
        parts = []
        for (measurement, _), row in zip(constraint.items, self.predicted):
            text = f"sun there {row['elevation']:.1f}° high (shadow says {measurement.observed_elevation:.1f}° ± "
            text += f"{measurement.elevation_sigma:.1f}°)"
            if measurement.sun_azimuth is not None:
                text += f", azimuth {row['azimuth']:.0f}° (shadow says {measurement.sun_azimuth:.0f}°)"
            parts.append(text)
        return "; ".join(parts)


def fit_point(constraint: Constraint, lat: float, lon: float) -> PointFit:
    chi2, predictions = constraint.evaluate(np.array([lat]), np.array([lon]))
    zone = zone_at(lat, lon) if constraint.zone_unknown else None
    rows = []
    for row in predictions:
        instant = row["instants"].get(zone or "") or next(iter(row["instants"].values()), None)
        rows.append(
            {
                "elevation": float(row["elevation"][0]),
                "azimuth": float(row["azimuth"][0]),
                "utc": instant.isoformat() if instant else None,
            }
        )
    return PointFit(lat=lat, lon=lon, chi2=float(chi2[0]), dof=constraint.dof, zone=zone, predicted=rows)


#: Spacing of the points at which a wide candidate is sampled (a one-shadow band is
#: several hundred km wide, so none slips between them).
AREA_SAMPLE_KM = 150.0


def fit_area(constraint: Constraint, lat: float, lon: float, radius_km: float) -> PointFit:
    """The best fit anywhere within ``radius_km`` of a place (sampled at its centre and on
    rings about ``AREA_SAMPLE_KM`` apart): a region-sized candidate is consistent if any
    part of it is."""
    if radius_km <= 1.0:
        return fit_point(constraint, lat, lon)
    points = [(lat, lon)]
    rings = max(2, math.ceil(radius_km / AREA_SAMPLE_KM))
    for ring in range(1, rings + 1):
        distance = radius_km * ring / rings
        count = max(8, math.ceil(2 * math.pi * distance / AREA_SAMPLE_KM))
        points += [destination_point(lat, lon, 360.0 * i / count, distance) for i in range(count)]
    chi2, _ = constraint.evaluate(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    best = int(np.argmin(chi2)) if chi2[0] > chi2.min() else 0  # the centre unless somewhere fits better
    return fit_point(constraint, *points[best])


def consistent_offsets(constraint: Constraint, lat: float, lon: float) -> list[int]:
    """UTC offsets (minutes) at which the bare clock times would fit at this place (one
    camera clock: the same offset for every measurement without a zone)."""
    limit = float(chi2_dist.isf(CONSISTENT_P, constraint.dof))  # p >= CONSISTENT_P <=> chi2 <= limit
    out = []
    for offset in range(OFFSET_RANGE_MIN[0], OFFSET_RANGE_MIN[1] + 1, OFFSET_STEP_MIN):
        chi2, _ = constraint.evaluate(np.array([lat]), np.array([lon]), offset_minutes=offset)
        if chi2[0] <= limit:
            out.append(offset)
    return out


def offset_ranges(offsets: Sequence[int]) -> str:
    """'UTC-01:00 to UTC+00:45' for runs of consecutive quarter hours."""
    if not offsets:
        return "no offset"
    runs: list[list[int]] = [[offsets[0], offsets[0]]]
    for value in offsets[1:]:
        if value - runs[-1][1] == OFFSET_STEP_MIN:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(format_offset(a) if a == b else f"{format_offset(a)} to {format_offset(b)}" for a, b in runs)


@dataclass(frozen=True)
class Region:
    """A box (south, west, north, east) in degrees; the whole globe by default."""

    south: float = -90.0
    west: float = -180.0
    north: float = 90.0
    east: float = 180.0

    def __post_init__(self) -> None:
        if not (-90 <= self.south < self.north <= 90 and -180 <= self.west < self.east <= 180):
            raise ConfigError(
                "region must be south,west,north,east in degrees with south < north and west < east "
                "(split a box that crosses the antimeridian)"
            )

    @property
    def is_globe(self) -> bool:
        return self.west <= -180 and self.east >= 180


@dataclass(frozen=True)
class BandArea:
    """One connected part of the band."""

    lat: float
    lon: float
    likelihood: float
    south: float
    north: float
    west: float
    east: float
    area_km2: float

    def describe(self) -> str:
        return (
            f"around {_fmt_lat(self.lat)} {_fmt_lon(self.lon)} (lat {self.south:.0f}..{self.north:.0f}, "
            f"lon {self.west:.0f}..{self.east:.0f}, {self.area_km2:,.0f} km²)"
        )


def _fmt_lat(lat: float) -> str:
    return f"{abs(lat):.1f}°{'N' if lat >= 0 else 'S'}"


def _fmt_lon(lon: float) -> str:
    return f"{abs(lon):.1f}°{'E' if lon >= 0 else 'W'}"


def fmt_point(lat: float, lon: float) -> str:
    return f"{_fmt_lat(lat)} {_fmt_lon(lon)}"


@dataclass
class SunMap:
    """The likelihood grid (cell centres ``lats`` x ``lons``) and what it implies."""

    constraint: Constraint
    region: Region
    resolution: float
    lats: np.ndarray
    lons: np.ndarray
    chi2: np.ndarray
    _areas: list[BandArea] | None = field(default=None, repr=False)

    @property
    def dof(self) -> int:
        return self.constraint.dof

    @property
    def likelihood(self) -> np.ndarray:
        return np.exp(-self.chi2 / 2.0)

    def threshold(self, level: float = BAND_LEVEL) -> float:
        return float(chi2_dist.ppf(level, self.dof))

    def band(self, level: float = BAND_LEVEL) -> np.ndarray:
        return self.chi2 <= self.threshold(level)

    @property
    def peak(self) -> tuple[float, float, float]:
        """(lat, lon, likelihood) of the best-fitting cell."""
        index = np.unravel_index(int(np.argmin(self.chi2)), self.chi2.shape)
        return float(self.lats[index[0]]), float(self.lons[index[1]]), float(self.likelihood[index])

    def cell_areas_km2(self) -> np.ndarray:
        step = math.radians(self.resolution)
        per_row = EARTH_RADIUS_KM**2 * step * step * np.cos(np.radians(self.lats))
        return np.repeat(per_row[:, None], len(self.lons), axis=1)

    def band_area_km2(self, level: float = BAND_LEVEL) -> float:
        return float(self.cell_areas_km2()[self.band(level)].sum())

    def subsolar_points(self) -> list[tuple[str, float, float]]:
        """Where the sun stood overhead at each known instant (label, lat, lon)."""
        seen = []
        for _, when in self.constraint.items:
            if when.zone_known:
                label = f"{when.utc():%Y-%m-%d %H:%M} UTC"
                if label not in [s[0] for s in seen]:
                    seen.append((label, *subsolar_point(when.utc())))
        return seen

    def areas(self, level: float = BAND_LEVEL) -> list[BandArea]:
        """Connected parts of the band, best first (wrapping round the antimeridian on a globe)."""
        if self._areas is not None and level == BAND_LEVEL:
            return self._areas
        band = self.band(level)
        labels, count = ndimage.label(band, structure=np.ones((3, 3)))
        if self.region.is_globe and count:
            for row in range(labels.shape[0]):  # join parts that meet across the antimeridian
                a, b = labels[row, 0], labels[row, -1]
                if a and b and a != b:
                    labels[labels == b] = a
        areas = []
        cells = self.cell_areas_km2()
        like = self.likelihood
        for label in np.unique(labels[labels > 0]):
            mask = labels == label
            rows, cols = np.nonzero(mask)
            best = int(np.argmax(like[mask]))
            lons = self.lons[cols]
            west, east = float(lons.min()), float(lons.max())
            if self.region.is_globe and east - west > 180:  # wraps: report the short way round
                shifted = np.where(lons < 0, lons + 360.0, lons)
                if shifted.max() - shifted.min() < east - west:
                    west, east = float(shifted.min()), float(shifted.max() - 360.0)
            half = self.resolution / 2
            areas.append(
                BandArea(
                    lat=float(self.lats[rows[best]]),
                    lon=float(self.lons[cols[best]]),
                    likelihood=float(like[mask][best]),
                    south=float(self.lats[rows].min() - half),
                    north=float(self.lats[rows].max() + half),
                    west=west - half,
                    east=east + half,
                    area_km2=float(cells[mask].sum()),
                )
            )
        areas.sort(key=lambda a: -a.likelihood)
        if level == BAND_LEVEL:
            self._areas = areas
        return areas

    def contains(self, lat: float, lon: float, level: float = BAND_LEVEL) -> bool:
        """Whether the grid cell holding this place is in the band."""
        row = int(np.argmin(np.abs(self.lats - lat)))
        col = int(np.argmin(np.abs(self.lons - lon)))
        return bool(self.band(level)[row, col])

    def describe(self, limit: int = 3) -> str:
        """The most likely band in words."""
        areas = self.areas()
        if not areas:
            return "no place fits the shadows at this time (check the measurements and the time)"
        suns = self.subsolar_points()
        only = len(self.constraint.items) == 1 and self.dof == 1 and len(suns) == 1
        if only and self.region.is_globe:
            measurement = self.constraint.items[0][0]
            arc = 90.0 - measurement.observed_elevation
            _, lat, lon = suns[0]
            return (
                f"a ring {arc:.1f}° of arc (≈{math.radians(arc) * EARTH_RADIUS_KM:,.0f} km) from the sub-solar point "
                f"{fmt_point(lat, lon)}, {self.band_area_km2():,.0f} km² in all"
            )
        parts = [a.describe() for a in areas[:limit]]
        more = f" and {len(areas) - limit} smaller part(s)" if len(areas) > limit else ""
        return f"{len(areas)} part(s): " + "; ".join(parts) + more


def likelihood_map(constraint: Constraint, region: Region | None = None, resolution: float | None = None) -> SunMap:
    """Evaluate the shadows on a grid of cell centres over the region (the globe by default)."""
    region = region or Region()
    if resolution is None:
        span = max(region.north - region.south, region.east - region.west)
        resolution = 1.0 if region.is_globe else max(0.02, round(span / 200, 2))
    if resolution <= 0:
        raise ConfigError("resolution must be a positive number of degrees")
    lats = np.arange(region.south + resolution / 2, region.north, resolution)
    lons = np.arange(region.west + resolution / 2, region.east, resolution)
    if len(lats) * len(lons) > MAX_CELLS:
        raise ConfigError(
            f"a {resolution:g}° grid over this region has {len(lats) * len(lons):,} cells (at most {MAX_CELLS:,}): "
            "use a coarser resolution or a smaller region"
        )
    if not len(lats) or not len(lons):
        raise ConfigError(f"resolution {resolution:g}° is larger than the region")
    grid_lat, grid_lon = np.meshgrid(lats, lons, indexing="ij")
    chi2, _ = constraint.evaluate(grid_lat, grid_lon)
    return SunMap(constraint=constraint, region=region, resolution=float(resolution), lats=lats, lons=lons, chi2=chi2)
