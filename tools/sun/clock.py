"""When a photo was taken, as far as anyone knows: an instant, or a clock reading.

A capture time comes in three strengths. An *instant* (UTC, an offset such as EXIF's
``OffsetTimeOriginal``, or GPS time) fixes the sun for every place at once. A clock
reading *in a named zone* ("16:00 Europe/Lisbon") is an instant too, once the zone's
rules say which offset held that day. A bare clock reading ("16:00", EXIF without an
offset) is only an instant once we know where the camera was: each place reads it in
its own time zone. That is time-zone masking: a place whose zone would put the sun
elsewhere at that clock time drops out. The zone boundaries come from the
timezone-boundary-builder dataset shipped by ``timezonefinder`` (ODbL).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import zoneinfo
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

_TIME = re.compile(
    r"^\s*(?P<date>\d{4}[-:]\d{2}[-:]\d{2})[T ](?P<clock>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*)?\s*$"
)


@dataclass(frozen=True)
class CaptureTime:
    """A capture time: ``clock`` is what a clock showed (naive), ``zone`` an IANA zone
    name, ``instant`` the aware moment when known. With neither zone nor offset, only
    ``clock`` is set and each place reads it in its own zone."""

    clock: dt.datetime
    instant: dt.datetime | None = None
    zone: str | None = None

    @property
    def zone_known(self) -> bool:
        return self.instant is not None

    def utc(self) -> dt.datetime:
        """The UTC instant; ConfigError when only a clock reading with no zone is known."""
        if self.instant is None:
            raise ConfigError(f"time {self.clock.isoformat(sep=' ')} has no zone: it is an instant only at a place")
        return self.instant.astimezone(dt.UTC)

    def utc_in(self, zone: str) -> dt.datetime:
        """The UTC instant this clock reading is in a named zone (DST rules of that day)."""
        return self.clock.replace(tzinfo=_zone(zone)).astimezone(dt.UTC)

    def utc_with_offset(self, minutes: int) -> dt.datetime:
        return (self.clock - dt.timedelta(minutes=minutes)).replace(tzinfo=dt.UTC)

    def describe(self) -> str:
        stamp = self.clock.strftime("%Y-%m-%d %H:%M")
        if self.zone:
            return f"{stamp} {self.zone} ({self.utc():%Y-%m-%d %H:%M} UTC)"
        if self.instant is not None:
            offset = self.instant.utcoffset() or dt.timedelta()
            if offset == dt.timedelta():
                return f"{stamp} UTC"
            return f"{stamp} {format_offset(int(offset.total_seconds() // 60))} ({self.utc():%Y-%m-%d %H:%M} UTC)"
        return f"{stamp} local clock time, zone unknown"

    def to_text(self) -> str:
        """A form :func:`parse_time` reads back (kept in evidence so a check can be redone)."""
        if self.zone:
            return f"{self.clock.isoformat()} {self.zone}"
        if self.instant is not None:
            return self.instant.isoformat()
        return self.clock.isoformat()


def format_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}: use an IANA name such as Europe/Lisbon") from None


def parse_time(value: str | dt.datetime | CaptureTime, zone: str | None = None) -> CaptureTime:
    """Read a capture time: ISO ("2026-03-20T16:00Z", "2026-03-20 16:00+01:00"), EXIF
    ("2026:03:20 16:00:00"), with an IANA zone after a space ("2026-03-20 16:00
    Europe/Lisbon"), or a bare clock time (zone unknown). ``zone`` names the zone of
    a bare clock time when the caller knows it separately."""
    if isinstance(value, CaptureTime):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return CaptureTime(clock=value.replace(tzinfo=None), instant=value)
        text = value.isoformat()
    else:
        text = str(value)
    match = _TIME.match(text)
    if not match:
        raise ConfigError(
            f"cannot read time {text!r}: use YYYY-MM-DD HH:MM[:SS] followed by Z, an offset like +01:00, "
            "an IANA zone like Europe/Lisbon, or nothing (local clock time, zone unknown)"
        )
    date = match["date"].replace(":", "-")
    try:
        clock = dt.datetime.fromisoformat(f"{date}T{match['clock']}")
    except ValueError as exc:
        raise ConfigError(f"cannot read time {text!r}: {exc}") from None
    label = match["zone"] or zone
    if label is None:
        return CaptureTime(clock=clock)
    if label in ("Z", "UTC", "GMT"):
        return CaptureTime(clock=clock, instant=clock.replace(tzinfo=dt.UTC))
    if label[0] in "+-":
        digits = label[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        offset = dt.timedelta(minutes=minutes if label[0] == "+" else -minutes)
        return CaptureTime(clock=clock, instant=clock.replace(tzinfo=dt.timezone(offset)))
    tz = _zone(label)
    return CaptureTime(clock=clock, instant=clock.replace(tzinfo=tz), zone=label)


_finder_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA zone of a place (ocean cells get the nautical Etc/GMT±N zones)."""
    with _finder_lock:
        return _finder().timezone_at(lng=float(lon), lat=float(lat))


def zones_of(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Zone names for many places (same shape; '' where no zone is known)."""
    lats, lons = np.broadcast_arrays(np.asarray(lats, dtype=float), np.asarray(lons, dtype=float))
    key = (lats.shape, lats.tobytes(), lons.tobytes())
    return _zones_cached(key)


@functools.lru_cache(maxsize=16)
def _zones_cached(key: tuple) -> np.ndarray:
    shape, lat_bytes, lon_bytes = key
    lats = np.frombuffer(lat_bytes).reshape(shape)
    lons = np.frombuffer(lon_bytes).reshape(shape)
    out = np.empty(shape, dtype=object)
    with _finder_lock:
        finder = _finder()
        for index in np.ndindex(shape):
            out[index] = finder.timezone_at(lng=float(lons[index]), lat=float(lats[index])) or ""
    out.setflags(write=False)
    return out
