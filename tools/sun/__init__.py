"""The sun as a witness: where (and when) shadows in a photo fit.

``sun_at`` / ``sun_field``: the sun's elevation and azimuth (astral's ephemeris) at a
place or over a grid. ``ShadowMeasurement``: an object's height and shadow length (or
the sun's elevation), optionally the shadow's bearing and the ground's slope.
``Constraint`` + ``likelihood_map``: how well each place explains the measurements at
their times, with time-zone masking for clock times without a zone. ``to_geojson`` and
``render_png`` write the map. The tools ``sun_position`` and ``shadow_locate`` wrap it all.
"""

from .clock import CaptureTime, parse_time, zone_at
from .likelihood import Constraint, PointFit, Region, SunMap, fit_area, fit_point, likelihood_map
from .position import SunPosition, subsolar_point, sun_at, sun_day, sun_field
from .render import render_png, to_geojson
from .shadow import ShadowMeasurement, parse_measurement

__all__ = [
    "CaptureTime",
    "Constraint",
    "PointFit",
    "Region",
    "ShadowMeasurement",
    "SunMap",
    "SunPosition",
    "fit_area",
    "fit_point",
    "likelihood_map",
    "parse_measurement",
    "parse_time",
    "render_png",
    "subsolar_point",
    "sun_at",
    "sun_day",
    "sun_field",
    "to_geojson",
    "zone_at",
]
