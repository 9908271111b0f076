"""What a shadow says about the sun: its elevation, and with a bearing its azimuth.

A vertical object of height ``h`` casting a shadow of length ``L`` on level ground puts
the sun at ``atan(h / L)`` above the horizon. On ground that rises by ``slope`` degrees
in the direction the shadow points, the shadow's tip lies ``L sin(slope)`` higher and
``L cos(slope)`` further, so the sun ray from the object's top to the tip climbs at
``atan((h - L sin s) / (L cos s))``. Investigators also read the sun's elevation
directly (a sun-angle tool, a known roof pitch); that is accepted as is.

The shadow's bearing (the direction from the object's foot to the shadow's tip,
clockwise from true north) puts the sun opposite it. A bearing read *in the image*
is relative to where the camera looks, so it needs the camera's heading.

Uncertainty: a height and a length read off a photo are rarely better than a few
percent each; by default their ratio is trusted to 7 % (two 5 % errors), which is
about 2 degrees of elevation at 45 degrees. A bearing read from a photo is taken as
good to 10 degrees. Both can be given explicitly.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError

#: Relative error of a height/length ratio read from a photo (5 % on each).
RATIO_ERROR = 0.07
#: No elevation is known better than this from a photo (perspective, object not quite vertical).
MIN_ELEVATION_SIGMA = 0.5
#: Default uncertainty of an elevation given directly, degrees.
DIRECT_ELEVATION_SIGMA = 1.0
#: Default uncertainty of a shadow bearing read from a photo, degrees.
BEARING_SIGMA = 10.0


class ShadowMeasurement(BaseModel):
    """One measurement of the sun: an object and its shadow, or the sun's elevation.

    Lengths are in any one unit. Angles in degrees. ``time`` is read by
    :func:`tools.sun.clock.parse_time`; measurements without one use the capture time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    height: float | None = Field(default=None, gt=0, description="Height of a vertical object.")
    length: float | None = Field(default=None, gt=0, description="Length of its shadow, same unit.")
    elevation: float | None = Field(
        default=None, gt=0, le=90, description="The sun's elevation above the horizon, if measured directly."
    )
    sigma: float | None = Field(default=None, gt=0, le=45, description="Uncertainty of the elevation (degrees).")
    bearing: float | None = Field(
        default=None,
        ge=0,
        lt=360,
        description="Direction the shadow points from the object's foot, degrees clockwise from true north.",
    )
    bearing_in_image: float | None = Field(
        default=None,
        ge=-360,
        le=360,
        description="Shadow direction relative to the camera's viewing direction (clockwise); needs camera_heading.",
    )
    camera_heading: float | None = Field(
        default=None, ge=0, lt=360, description="Compass heading the camera faced (e.g. EXIF GPSImgDirection)."
    )
    bearing_sigma: float = Field(default=BEARING_SIGMA, gt=0, le=90, description="Uncertainty of the bearing.")
    slope: float = Field(
        default=0.0, gt=-60, lt=60, description="Ground slope along the shadow (degrees; positive = rising)."
    )
    time: str | None = Field(default=None, description="When (ISO time with Z/offset/zone, or local clock time).")

    @model_validator(mode="after")
    def _consistent(self) -> ShadowMeasurement:
        shadow = self.height is not None or self.length is not None
        if shadow and (self.height is None or self.length is None):
            raise ValueError("a shadow needs both the object's height and the shadow's length")
        if shadow == (self.elevation is not None):
            raise ValueError("give either height and length, or elevation (not both)")
        if self.bearing is not None and self.bearing_in_image is not None:
            raise ValueError("give the shadow's bearing either on the compass or in the image, not both")
        if self.bearing_in_image is not None and self.camera_heading is None:
            raise ValueError("a bearing in the image needs the camera's heading to point anywhere")
        if shadow and self.observed_elevation <= 0:
            raise ValueError(f"a {self.length:g} shadow on a {self.slope:g} degree rise cannot come from a sun above")
        return self

    @property
    def observed_elevation(self) -> float:
        if self.elevation is not None:
            return self.elevation
        assert self.height is not None and self.length is not None
        slope = math.radians(self.slope)
        rise = self.height - self.length * math.sin(slope)
        return math.degrees(math.atan2(rise, self.length * math.cos(slope)))

    @property
    def elevation_sigma(self) -> float:
        if self.sigma is not None:
            return self.sigma
        if self.elevation is not None:
            return DIRECT_ELEVATION_SIGMA
        # d(atan r) = dr / (1 + r^2) = r * (dr / r) / (1 + r^2)
        ratio = math.tan(math.radians(self.observed_elevation))
        return max(MIN_ELEVATION_SIGMA, math.degrees(ratio * RATIO_ERROR / (1 + ratio * ratio)))

    @property
    def shadow_bearing(self) -> float | None:
        """Compass direction of the shadow, from the bearing or the camera heading plus the in-image angle."""
        if self.bearing is not None:
            return self.bearing
        if self.bearing_in_image is not None and self.camera_heading is not None:
            return (self.camera_heading + self.bearing_in_image) % 360.0
        return None

    @property
    def sun_azimuth(self) -> float | None:
        bearing = self.shadow_bearing
        return None if bearing is None else (bearing + 180.0) % 360.0

    def describe(self) -> str:
        if self.elevation is not None:
            what = f"sun elevation {self.elevation:g}°"
        else:
            what = f"object {self.height:g} high, shadow {self.length:g} long"
            if self.slope:
                what += f" on a {self.slope:+g}° slope"
        what += f" → {self.observed_elevation:.1f}° ± {self.elevation_sigma:.1f}°"
        if self.shadow_bearing is not None:
            what += f", shadow towards {self.shadow_bearing:.0f}° (sun at azimuth {self.sun_azimuth:.0f}°)"
        return what


_KEYS = {
    "time": "time",
    "sigma": "sigma",
    "slope": "slope",
    "heading": "camera_heading",
    "camera_heading": "camera_heading",
    "bearing_sigma": "bearing_sigma",
}


def parse_measurement(text: str, *, elevation: bool = False) -> ShadowMeasurement:
    """Read ``HEIGHT:LENGTH[@BEARING][,key=value...]`` (or ``DEGREES[@BEARING][,...]`` with
    ``elevation=True``). Keys: time, sigma, slope, bearing_sigma, heading (then BEARING is
    measured in the image, clockwise from the camera's direction)."""
    head, *rest = [part.strip() for part in text.split(",")]
    fields: dict[str, Any] = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in _KEYS:
            raise ConfigError(f"shadow {text!r}: unknown option {item!r} (use {', '.join(sorted(_KEYS))})")
        fields[_KEYS[key.strip()]] = value.strip()
    body, sep, bearing = head.partition("@")
    if not elevation and ":" not in body:
        raise ConfigError(f"shadow {text!r}: use HEIGHT:LENGTH[@BEARING], e.g. 1.8:2.4@45")
    try:
        if sep:
            angle = float(bearing)
            if "camera_heading" in fields:
                fields["bearing_in_image"] = angle
            else:
                fields["bearing"] = angle % 360.0
        if elevation:
            fields["elevation"] = float(body.rstrip("°d"))
        else:
            height, _, length = body.partition(":")
            fields["height"], fields["length"] = float(height), float(length)
    except ValueError:
        raise ConfigError(f"shadow {text!r}: numbers expected, as in 1.8:2.4@45 or 45@180") from None
    try:
        return ShadowMeasurement(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ConfigError(f"shadow {text!r}: {where + ': ' if where else ''}{first['msg']}") from None


def coerce_measurement(value: Any) -> ShadowMeasurement:
    """A measurement from a model, a dict of its fields, or the text form."""
    if isinstance(value, ShadowMeasurement):
        return value
    if isinstance(value, str):
        return parse_measurement(value)
    if isinstance(value, dict):
        try:
            return ShadowMeasurement(**value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"shadow measurement: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    raise ConfigError(f"a shadow measurement is text like '1.8:2.4@45' or a dict, not {type(value).__name__}")
