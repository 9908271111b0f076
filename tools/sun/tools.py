"""The sun tools a model or the playbook calls: ``sun_position`` and ``shadow_locate``
(budget kind "sun"; offline: nothing leaves the machine).

``shadow_locate`` turns shadow measurements and a capture time into a likelihood band
on the globe (or in a region) and checks given places against it. Its evidence (kind
``sun``) keeps the measurements with their times, so verification can check every
proposed candidate against the same constraint later, and says in plain words which
places fit and, when the time has no zone, which zones would.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from ..base import GeoTool
from ..evidence import Evidence, Observation, ToolSource
from .clock import format_offset, parse_time, zone_at
from .likelihood import (
    Constraint,
    PointFit,
    Region,
    consistent_offsets,
    fit_area,
    fmt_point,
    likelihood_map,
    offset_ranges,
)
from .position import sun_at, sun_day
from .render import band_geometry
from .shadow import ShadowMeasurement, parse_measurement

#: How far a shadow read from a photo is trusted: the object may lean, the ground may
#: slope unseen, the clock may be wrong. An inconsistency cuts a candidate hard, never to zero.
SUN_CONFIDENCE = 0.8
#: Default grid of the tool (degrees): coarse on the globe, the band is a few degrees wide.
GLOBE_RESOLUTION = 1.0
MAX_CHECKS = 20


@lru_cache(maxsize=1)
def data_provenance() -> str:
    """Which ephemeris and zone data answered (for the evidence's provenance)."""

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    zones = f"timezone-boundary-builder via timezonefinder-data {ver('timezonefinder-data')}"
    return f"sun: astral {ver('astral')}; time zones: {zones}"


class SunPositionArgs(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    time: str = Field(
        description="ISO time with Z, an offset or an IANA zone; a bare clock time is read in the place's zone."
    )


class SunPositionTool(GeoTool):
    name: str = "sun_position"
    description: str = (
        "Where the sun stands at a place and time: elevation, azimuth, the shadow a 1 m object casts, "
        "and sunrise/sunset/twilight times that day."
    )
    args_schema: type[BaseModel] = SunPositionArgs
    kind: ClassVar[str] = "sun"
    online: ClassVar[bool] = False

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        return False

    def execute(self, lat: float, lon: float, time: str) -> Observation:
        report = describe_position(lat, lon, time)
        return Observation(text=report["text"], data=report)


def describe_position(lat: float, lon: float, time: str | dt.datetime) -> dict[str, Any]:
    """The sun at a place and time, in numbers and one paragraph."""
    when = parse_time(time)
    zone_note = ""
    if not when.zone_known:
        zone = zone_at(lat, lon)
        if zone is None:
            when = parse_time(when.clock, "UTC")
            zone_note = " (no zone known there; read as UTC)"
        else:
            when = parse_time(when.clock, zone)
            zone_note = f" (clock time read in the place's zone {zone})"
    position = sun_at(lat, lon, when.utc())
    day = sun_day(lat, lon, when.utc().date())
    ratio = position.shadow_ratio
    text = f"At {fmt_point(lat, lon)} on {when.describe()}{zone_note}: sun {position.elevation:.1f}° high at azimuth "
    text += f"{position.azimuth:.0f}°"
    if ratio is None:
        text += "; below the horizon, no sun shadows"
    else:
        text += f"; a 1 m vertical object casts a {ratio:.2f} m shadow towards {position.shadow_bearing:.0f}°"
    times = {k: (v.isoformat() if v else None) for k, v in vars(day).items()}
    if any(times.values()):
        text += "; " + ", ".join(f"{k} {v[11:16]}" if v else f"no {k}" for k, v in times.items()) + " UTC"
    else:
        text += "; the sun neither rises nor sets that day"
    return {
        "lat": lat,
        "lon": lon,
        "time": when.to_text(),
        "utc": when.utc().isoformat(),
        "elevation": round(position.elevation, 3),
        "azimuth": round(position.azimuth, 3),
        "shadow_ratio": None if ratio is None else round(ratio, 4),
        "shadow_bearing": round(position.shadow_bearing, 2),
        "day_utc": times,
        "text": text,
    }


class CheckPoint(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    label: str = ""
    radius_km: float = Field(default=0.0, ge=0, le=2000, description="A candidate's extent: fits if any part fits.")


class ShadowLocateArgs(BaseModel):
    measurements: list[ShadowMeasurement] = Field(
        min_length=1,
        description="Shadows (height and length, same unit) or sun elevations; optional bearing and own time. "
        "Text such as '1.8:2.4@45' (height:length@shadow bearing) is accepted too.",
    )
    time: str | None = Field(
        default=None, description="Capture time for measurements without their own (ISO with Z/offset/zone, or local)."
    )
    zone: str | None = Field(default=None, description="IANA zone of a bare clock time, when known.")
    region: list[float] | None = Field(
        default=None, description="[south, west, north, east] to search inside; the whole globe by default."
    )
    resolution: float | None = Field(default=None, gt=0, le=10, description="Grid step in degrees.")
    check: list[CheckPoint] = Field(
        default_factory=list, max_length=MAX_CHECKS, description="Places (candidates) to test."
    )
    origin: str | None = Field(default=None, description="Who measured the shadows (kept as provenance).")

    @field_validator("measurements", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        """Accept the text form '1.8:2.4@45' beside dicts."""
        if isinstance(value, list):
            return [parse_measurement(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("region")
    @classmethod
    def _four(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) != 4:
            raise ValueError("region must be [south, west, north, east]")
        return value


def check_report(constraint: Constraint, point: CheckPoint) -> dict[str, Any]:
    """How one place fits; with a bare clock time also its zone and the offsets that would fit."""
    fit: PointFit = fit_area(constraint, point.lat, point.lon, point.radius_km)
    label = point.label or fmt_point(point.lat, point.lon)
    row: dict[str, Any] = {
        "label": label,
        "lat": point.lat,
        "lon": point.lon,
        "consistent": fit.consistent,
        "p_value": round(fit.p_value, 4),
        "likelihood": round(fit.likelihood, 4),
        "why": fit.explain(constraint),
    }
    if constraint.zone_unknown:
        zone = zone_at(point.lat, point.lon)
        clock = next(t for _, t in constraint.items if not t.zone_known)
        row["zone"] = zone
        if zone:
            offset = int((clock.clock - clock.utc_in(zone).replace(tzinfo=None)).total_seconds() // 60)
            row["zone_offset"] = format_offset(offset)
        row["fitting_offsets"] = offset_ranges(consistent_offsets(constraint, point.lat, point.lon))
    return row


def check_sentence(row: dict[str, Any]) -> str:
    """A check in words, for the evidence and the command line."""
    verdict = "consistent" if row["consistent"] else "INCONSISTENT"
    text = f"{row['label']}: {verdict} ({row['why']})"
    if "fitting_offsets" in row:
        zone = row.get("zone")
        where = f"in zone {zone} ({row.get('zone_offset')} that day)" if zone else "in no known zone"
        text += f"; it is {where}, and the shadows fit there for clock offsets {row['fitting_offsets']}"
    return text


class ShadowLocateTool(GeoTool):
    name: str = "shadow_locate"
    description: str = (
        "Where on Earth shadows fit: give shadow measurements (object height and shadow length, or the sun's "
        "elevation; optionally the shadow's compass bearing) and the capture time; returns the band of places "
        "where the sun stood so, and whether each checked place fits. A time without zone is read in each "
        "place's own time zone."
    )
    args_schema: type[BaseModel] = ShadowLocateArgs
    kind: ClassVar[str] = "sun"
    online: ClassVar[bool] = False

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        return False

    def execute(
        self,
        measurements: list[ShadowMeasurement],
        time: str | None = None,
        zone: str | None = None,
        region: list[float] | None = None,
        resolution: float | None = None,
        check: list[CheckPoint] | None = None,
        origin: str | None = None,
    ) -> Observation:
        constraint = Constraint.build(measurements, time, zone)
        arguments = {
            "measurements": [m.model_dump(mode="json", exclude_none=True) for m in measurements],
            **{k: v for k, v in {"time": time, "zone": zone, "region": region, "origin": origin}.items() if v},
        }
        box = Region(*region) if region else Region()
        sun_map = likelihood_map(constraint, box, resolution or (GLOBE_RESOLUTION if box.is_globe else None))
        checks = [check_report(constraint, point) for point in (check or [])]
        lat, lon, _ = sun_map.peak
        sentences = ["Shadows: " + "; ".join(constraint.describe()) + "."]
        sentences.append(f"They fit {sun_map.describe()}; best fit near {fmt_point(lat, lon)}.")
        if constraint.zone_unknown:
            sentences.append(
                "The time has no zone, so each place reads it as its own local clock time "
                "(zones where that clock time cannot hold are masked out)."
            )
        if checks:
            sentences.append("Checked: " + "; ".join(check_sentence(row) for row in checks) + ".")
            if constraint.zone_unknown:
                fitting = [r for r in checks if r["consistent"] and r.get("zone")]
                zones = sorted({f"{r['zone']} ({r['zone_offset']})" for r in fitting})
                sentences.append(
                    "Zones consistent with the candidates: " + (", ".join(zones) if zones else "none") + "."
                )
        value = " ".join(sentences)
        who = f"shadow measurements from {origin}; " if origin else ""
        evidence = Evidence(
            kind="sun",
            value=value,
            confidence=SUN_CONFIDENCE,
            source=ToolSource(tool=self.name, arguments=arguments),
            provenance=who + data_provenance(),
            details={
                "constraint": constraint.to_details(),
                "zone_unknown": constraint.zone_unknown,
                "peak": [round(lat, 4), round(lon, 4)],
                "band_area_km2": round(sun_map.band_area_km2()),
                "band": band_geometry(sun_map, simplify=sun_map.resolution),
                "checks": checks,
            },
        )
        data = {k: v for k, v in evidence.details.items() if k != "band"}
        data["band_description"] = sun_map.describe()
        return Observation(text=value, evidence=[evidence], data=data)
