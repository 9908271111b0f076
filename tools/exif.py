"""EXIF metadata as evidence: GPS position (with every quirk cameras and editors
produce), capture time, and camera.

Malformed metadata yields fewer facts, never an exception: each field is parsed on
its own and a field that makes no sense is reported in ``problems`` and skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

GPS_IFD = 0x8825
EXIF_IFD = 0x8769

# GPS IFD tags (EXIF 2.32, section 4.6.6).
LAT_REF, LAT, LON_REF, LON = 1, 2, 3, 4
ALT_REF, ALT, GPS_TIME, STATUS = 5, 6, 7, 9
DOP, MAP_DATUM, GPS_DATE, H_ERROR = 11, 18, 29, 31
# Main and Exif IFD tags.
MAKE, MODEL, SOFTWARE, DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, LENS_MODEL = 0x9003, 0x9011, 0xA434

#: Typical phone/camera GPS horizontal error when the file does not say (km).
DEFAULT_GPS_RADIUS_KM = 0.03
_EDITORS = (
    "photoshop",
    "gimp",
    "lightroom",
    "snapseed",
    "picasa",
    "affinity",
    "paint.net",
    "exiftool",
)


@dataclass
class GpsFix:
    lat: float
    lon: float
    radius_km: float
    confidence: float
    altitude_m: float | None = None
    datum: str | None = None
    utc_time: datetime | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ExifReport:
    """What the metadata says, parsed field by field."""

    gps: GpsFix | None = None
    taken: datetime | None = None
    utc_offset: str | None = None
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    software: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def camera(self) -> str | None:
        parts = [p for p in (self.make, self.model) if p]
        if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower().split()[0]):
            parts = [parts[1]]  # "Canon" + "Canon EOS 5D" -> "Canon EOS 5D"
        return " ".join(parts) or None

    @property
    def edited_with(self) -> str | None:
        if self.software and any(e in self.software.lower() for e in _EDITORS):
            return self.software
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def _number(value: Any) -> float:
    """A float from an IFDRational, a (num, den) pair, an int, a float or a numeric string."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        num, den = value
        return num / den if den else math.nan
    if isinstance(value, (bytes, str)):
        return float(_text(value) or "nan")
    number = float(value)  # IFDRational with a zero denominator gives nan
    return number


def _dms(value: Any) -> float:
    """Degrees from (d, m, s), (d, m), (d,), a single decimal number or a 'd,m,s' string."""
    if isinstance(value, (bytes, str)):
        text = _text(value) or ""
        parts: list[Any] = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    elif isinstance(value, (tuple, list)):
        bare_rational = len(value) == 2 and all(isinstance(v, int) for v in value)
        parts = [value] if bare_rational else list(value)
    else:
        parts = [value]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"expected 1-3 components, got {len(parts)}")
    nums = [_number(p) for p in parts]
    if any(math.isnan(n) or math.isinf(n) for n in nums):
        raise ValueError("a component is not a number (zero denominator?)")
    degrees, minutes, seconds = [*nums, 0.0, 0.0][:3]
    negative = degrees < 0 or minutes < 0 or seconds < 0
    total = abs(degrees) + abs(minutes) / 60.0 + abs(seconds) / 3600.0
    return -total if negative else total


def _signed(
    value: float,
    ref: str | None,
    negative_refs: str,
    positive_refs: str,
    notes: list[str],
    axis: str,
) -> float:
    ref_letter = (ref or "").strip().upper()[:1]
    if ref_letter and ref_letter in negative_refs:
        return -abs(value)
    if ref_letter and ref_letter in positive_refs:
        if value < 0:
            notes.append(f"{axis} stored as negative with reference {ref_letter}; trusting the sign")
        return value
    notes.append(f"{axis} reference missing or unknown ({ref!r})")
    return value


def _gps_time(gps: dict[int, Any]) -> datetime | None:
    date_text = _text(gps.get(GPS_DATE))
    stamp = gps.get(GPS_TIME)
    if not date_text or stamp is None:
        return None
    day = datetime.strptime(date_text.replace("-", ":")[:10], "%Y:%m:%d")
    hours, minutes, seconds = ([_number(v) for v in stamp] + [0.0, 0.0, 0.0])[:3]
    if any(math.isnan(v) for v in (hours, minutes, seconds)):
        return None
    return (day + timedelta(hours=hours, minutes=minutes, seconds=seconds)).replace(tzinfo=UTC)


def parse_gps(gps: dict[int, Any]) -> tuple[GpsFix | None, list[str]]:
    """Parse a GPS IFD. Returns the fix (or None) and the problems found."""
    problems: list[str] = []
    if not gps or LAT not in gps or LON not in gps:
        return None, problems
    notes: list[str] = []
    try:
        lat = _signed(_dms(gps[LAT]), _text(gps.get(LAT_REF)), "S", "N", notes, "latitude")
        lon = _signed(_dms(gps[LON]), _text(gps.get(LON_REF)), "W", "E", notes, "longitude")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        problems.append(f"GPS position unreadable: {exc}")
        return None, problems
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        problems.append(f"GPS position out of range: {lat:.6f}, {lon:.6f}")
        return None, problems
    if lat == 0.0 and lon == 0.0:
        problems.append("GPS position is 0,0 (a camera with no fix writes this)")
        return None, problems

    confidence = 0.95
    status = (_text(gps.get(STATUS)) or "").upper()[:1]
    if status == "V":
        notes.append("GPS status V: receiver reported the fix as void")
        confidence = 0.5
    if any("reference missing" in n for n in notes):
        confidence = min(confidence, 0.7)

    radius_km = DEFAULT_GPS_RADIUS_KM
    try:
        if H_ERROR in gps and math.isfinite(_number(gps[H_ERROR])) and _number(gps[H_ERROR]) > 0:
            radius_km = _number(gps[H_ERROR]) / 1000.0
        elif DOP in gps and math.isfinite(_number(gps[DOP])) and _number(gps[DOP]) > 0:
            radius_km = max(DEFAULT_GPS_RADIUS_KM, 0.005 * _number(gps[DOP]))
    except (TypeError, ValueError):
        problems.append("GPS accuracy fields unreadable")

    datum = _text(gps.get(MAP_DATUM))
    if datum and datum.upper().replace("-", "").replace(" ", "") not in (
        "WGS84",
        "WGS1984",
    ):
        notes.append(f"map datum {datum}: may be offset from WGS-84 by up to ~1 km")
        radius_km = max(radius_km, 1.0)

    altitude = None
    try:
        if ALT in gps:
            altitude = _number(gps[ALT])
            ref = gps.get(ALT_REF)
            below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
            altitude = -abs(altitude) if below else altitude
            if not math.isfinite(altitude):
                altitude = None
    except (TypeError, ValueError):
        problems.append("GPS altitude unreadable")

    utc_time = None
    try:
        utc_time = _gps_time(gps)
    except (TypeError, ValueError):
        problems.append("GPS date/time unreadable")
    return GpsFix(lat, lon, radius_km, confidence, altitude, datum, utc_time, notes), problems


def _ifd(exif: Image.Exif, tag: int, problems: list[str]) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on broken IFDs
        problems.append(f"IFD {tag:#x} unreadable: {type(exc).__name__}: {exc}")
        return {}


def read_exif(exif: Image.Exif | None) -> ExifReport:
    """Everything useful in an image's EXIF, with problems listed rather than raised."""
    report = ExifReport()
    if exif is None:
        return report
    problems = report.problems
    try:
        main = dict(exif.items())
    except Exception as exc:  # noqa: BLE001
        problems.append(f"EXIF unreadable: {type(exc).__name__}")
        return report
    sub = _ifd(exif, EXIF_IFD, problems) if EXIF_IFD in main else {}
    gps_ifd = _ifd(exif, GPS_IFD, problems) if GPS_IFD in main else {}

    report.gps, gps_problems = parse_gps(gps_ifd)
    problems.extend(gps_problems)
    report.make = _text(main.get(MAKE))
    report.model = _text(main.get(MODEL))
    report.software = _text(main.get(SOFTWARE))
    report.lens = _text(sub.get(LENS_MODEL))
    stamp = _text(sub.get(DATETIME_ORIGINAL)) or _text(main.get(DATETIME))
    if stamp:
        try:
            report.taken = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            problems.append(f"capture time unreadable: {stamp!r}")
    report.utc_offset = _text(sub.get(OFFSET_TIME_ORIGINAL))
    return report
