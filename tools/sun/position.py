"""Where the sun stands: at one place (``sun_at``) and over a whole grid (``sun_field``).

The solar ephemeris is astral's (declination, equation of time, refraction); nothing
here is an astronomical formula of our own. Over a grid we use the fact that astral's
model is geocentric: at a given instant the sun's position as seen from any place
follows from the *sub-solar point* (where the sun is overhead) by plain spherical
geometry: the zenith angle is the arc from the place to that point, the azimuth is the
bearing towards it. That turns tens of thousands of per-point calls into a few numpy
operations, and agrees with astral point by point (the tests check it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import astral
import astral.sun
import numpy as np
from astral.julian import julianday, julianday_to_juliancentury

from ..errors import ConfigError

#: astral clamps latitudes here to keep its azimuth formula finite at the poles.
_POLE_CLAMP = 89.8


def _utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise ConfigError(f"time {when.isoformat()} has no zone: give it in UTC or with an offset")
    return when.astimezone(dt.UTC)


@dataclass(frozen=True)
class SunPosition:
    """The sun as seen from one place at one instant (degrees; azimuth clockwise from north)."""

    lat: float
    lon: float
    when: dt.datetime
    elevation: float
    azimuth: float

    @property
    def shadow_ratio(self) -> float | None:
        """Shadow length per unit of a vertical object's height on level ground (None at night)."""
        if self.elevation <= 0:
            return None
        return 1.0 / math.tan(math.radians(self.elevation))

    @property
    def shadow_bearing(self) -> float:
        """Direction a shadow points (from the object's foot to the shadow's tip)."""
        return (self.azimuth + 180.0) % 360.0


def sun_at(lat: float, lon: float, when: dt.datetime) -> SunPosition:
    """The sun's apparent elevation (with refraction) and azimuth at a place, from astral."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"position {lat}, {lon} is not a latitude in [-90, 90] and longitude in [-180, 180]")
    utc = _utc(when)
    observer = astral.Observer(latitude=lat, longitude=lon)
    zenith, azimuth = astral.sun.zenith_and_azimuth(observer, utc, with_refraction=True)
    return SunPosition(lat=lat, lon=lon, when=utc, elevation=90.0 - zenith, azimuth=azimuth)


def subsolar_point(when: dt.datetime) -> tuple[float, float]:
    """Where the sun is overhead at this instant: (declination, longitude of apparent noon)."""
    utc = _utc(when)
    century = julianday_to_juliancentury(julianday(utc))
    declination = astral.sun.sun_declination(century)
    minutes = utc.hour * 60.0 + utc.minute + utc.second / 60.0
    # astral's hour angle at longitude L is (minutes + eq_of_time + 4 L) / 4 - 180; it is zero here
    lon = (720.0 - minutes - astral.sun.eq_of_time(century)) / 4.0
    return declination, (lon + 180.0) % 360.0 - 180.0


_refraction = np.vectorize(astral.refraction_at_zenith, otypes=[float])


def sun_field(lats: np.ndarray, lons: np.ndarray, when: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """Apparent elevation and azimuth of the sun (degrees) at many places at one instant.

    ``lats`` and ``lons`` broadcast against each other. Same model as :func:`sun_at`.
    """
    declination, sub_lon = subsolar_point(when)
    phi = np.radians(np.clip(np.asarray(lats, dtype=float), -_POLE_CLAMP, _POLE_CLAMP))
    hour = np.radians(np.asarray(lons, dtype=float) - sub_lon)
    delta = math.radians(declination)
    cos_zenith = np.clip(np.sin(phi) * math.sin(delta) + np.cos(phi) * math.cos(delta) * np.cos(hour), -1.0, 1.0)
    zenith = np.degrees(np.arccos(cos_zenith))
    zenith = zenith - _refraction(zenith)
    azimuth = np.degrees(
        np.arctan2(
            -math.cos(delta) * np.sin(hour),
            np.cos(phi) * math.sin(delta) - np.sin(phi) * math.cos(delta) * np.cos(hour),
        )
    )
    return 90.0 - zenith, np.mod(azimuth, 360.0)


@dataclass(frozen=True)
class SunDay:
    """The sun's day at a place (UTC instants; None where the sun never crosses that level)."""

    dawn: dt.datetime | None
    sunrise: dt.datetime | None
    noon: dt.datetime | None
    sunset: dt.datetime | None
    dusk: dt.datetime | None


def sun_day(lat: float, lon: float, day: dt.date) -> SunDay:
    """Civil dawn, sunrise, solar noon, sunset and civil dusk (astral), in UTC."""
    observer = astral.Observer(latitude=lat, longitude=lon)
    found: dict[str, dt.datetime | None] = {}
    for name, fn in (
        ("dawn", astral.sun.dawn),
        ("sunrise", astral.sun.sunrise),
        ("noon", astral.sun.noon),
        ("sunset", astral.sun.sunset),
        ("dusk", astral.sun.dusk),
    ):
        try:
            found[name] = fn(observer, day, tzinfo=dt.UTC)
        except ValueError:  # polar day or night: the sun never reaches that elevation
            found[name] = None
    return SunDay(**found)
