"""``geosleuth sun``: the sun's position at a place, and where measured shadows fit.

    geosleuth sun position 38.7107 -9.1365 --time "2026-03-20 16:00Z"
    geosleuth sun shadows --shadow 1:1 --time 2026-03-20T12:00Z --png ring.png --geojson ring.geojson
    geosleuth sun shadows --shadow 1.8:2.4@62 --image photo.jpg --check 38.71,-9.14,Lisbon
    geosleuth locate photo.jpg --shadow 1:1.68@62          (checks the candidates against the sun)

A shadow is ``HEIGHT:LENGTH[@BEARING][,key=value...]``: the object's height and its
shadow's length in one unit, the compass bearing the shadow points to (from the
object's foot, degrees clockwise from north), and options ``time=``, ``sigma=``
(degrees of elevation), ``slope=`` (degrees the ground rises along the shadow),
``heading=`` (the camera's heading; BEARING is then measured in the image, clockwise
from the camera's direction) and ``bearing_sigma=``. ``--elevation DEG[@BEARING]``
gives the sun's elevation directly. Times: ISO with ``Z``, an offset such as
``+01:00`` or an IANA zone after a space; a bare clock time is read in each place's
own time zone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.errors import ConfigError
from tools.hints import Hint


def _point(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split(",", 2)]
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"--check {text!r}: use LAT,LON[,LABEL]") from None
    return {"lat": lat, "lon": lon, "label": parts[2] if len(parts) > 2 else ""}


def _region(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("--region must be SOUTH,WEST,NORTH,EAST") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError("--region must be SOUTH,WEST,NORTH,EAST")
    return values


def add_locate_options(locate: argparse.ArgumentParser) -> None:
    """``--shadow`` and ``--time`` for ``geosleuth locate``."""
    locate.add_argument(
        "--shadow",
        action="append",
        metavar="H:L[@B]",
        help="a shadow in the photo: object height, shadow length, optional compass bearing (repeatable)",
    )
    locate.add_argument(
        "--time", metavar="TIME", help="when the photo was taken, if the metadata lacks it (ISO; Z, offset or zone)"
    )


def locate_hint(args: argparse.Namespace) -> Hint | str | None:
    """The ``--hint`` text, with any shadows and time folded in."""
    if not (getattr(args, "shadow", None) or getattr(args, "time", None)):
        return args.hint
    if args.shadow and args.no_metadata and not args.time:
        raise ConfigError("--shadow needs the capture time: give --time, or let the EXIF be read (no --no-metadata)")
    return Hint.coerce(args.hint, shadows=args.shadow or None, time=args.time)


def register(commands: argparse._SubParsersAction) -> None:
    sun = commands.add_parser(
        "sun",
        help="the sun's position, and where measured shadows fit (chronolocation)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = sun.add_subparsers(dest="sun_command", metavar="ACTION")
    actions.required = True

    position = actions.add_parser("position", help="elevation, azimuth, shadow and day times at a place")
    position.add_argument("lat", type=float)
    position.add_argument("lon", type=float)
    position.add_argument("--time", required=True, help="ISO time (Z, offset or zone; a bare time uses the place's)")
    position.add_argument("--json", action="store_true", help="print the numbers as JSON")
    position.set_defaults(handler=_position)

    shadows = actions.add_parser("shadows", help="the band where measured shadows fit, as text, GeoJSON and PNG")
    shadows.add_argument("--shadow", action="append", default=[], metavar="H:L[@B][,k=v]", help="a shadow (repeatable)")
    shadows.add_argument(
        "--elevation", action="append", default=[], metavar="DEG[@B][,k=v]", help="a sun elevation (repeatable)"
    )
    shadows.add_argument("--time", help="capture time of measurements without their own time=")
    shadows.add_argument("--zone", help="IANA zone of a bare clock time, when known")
    shadows.add_argument("--image", metavar="IMG", help="take the capture time from this photo's EXIF")
    shadows.add_argument("--region", type=_region, metavar="S,W,N,E", help="search inside this box (default: globe)")
    shadows.add_argument("--resolution", type=float, metavar="DEG", help="grid step (default 1 on the globe)")
    shadows.add_argument("--check", type=_point, action="append", default=[], metavar="LAT,LON[,LABEL]")
    shadows.add_argument("--geojson", metavar="PATH", help="write the band, peak and checks as GeoJSON")
    shadows.add_argument("--png", metavar="PATH", help="draw the likelihood map")
    shadows.add_argument("--no-land", action="store_true", help="draw no land (the gazetteer's places) on the map")
    shadows.add_argument("--json", action="store_true", help="print the result as JSON")
    shadows.set_defaults(handler=_shadows)


def _position(args: argparse.Namespace) -> int:
    from tools.sun.tools import describe_position

    report = describe_position(args.lat, args.lon, args.time)
    print(json.dumps(report, indent=2) if args.json else report["text"])
    return 0


def _image_time(path: str) -> tuple[str, str]:
    from PIL import Image

    from tools.exif import read_exif

    try:
        with Image.open(path) as image:
            report = read_exif(image.getexif())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if report.gps and report.gps.utc_time:
        return report.gps.utc_time.isoformat(), "GPS time in the EXIF"
    if report.taken:
        stamp = report.taken.isoformat()
        if report.utc_offset:
            return stamp + report.utc_offset, "EXIF DateTimeOriginal with its offset"
        return stamp, "EXIF DateTimeOriginal, no zone recorded"
    raise ConfigError(f"{path} has no capture time in its EXIF: give --time")


def _shadows(args: argparse.Namespace) -> int:
    from tools.sun.likelihood import Constraint, Region, likelihood_map
    from tools.sun.render import render_png, to_geojson
    from tools.sun.shadow import parse_measurement
    from tools.sun.tools import GLOBE_RESOLUTION, CheckPoint, check_report, check_sentence

    measurements = [parse_measurement(t) for t in args.shadow]
    measurements += [parse_measurement(t, elevation=True) for t in args.elevation]
    if not measurements:
        raise ConfigError("give at least one --shadow H:L[@B] or --elevation DEG[@B]")
    time, source = args.time, "--time"
    if time is None and args.image:
        time, source = _image_time(args.image)
    constraint = Constraint.build(measurements, time, args.zone)
    region = Region(*args.region) if args.region else Region()
    resolution = args.resolution or (GLOBE_RESOLUTION if region.is_globe else None)
    sun_map = likelihood_map(constraint, region, resolution)
    checks = [check_report(constraint, CheckPoint(**point)) for point in args.check]
    lat, lon, fit = sun_map.peak
    result: dict[str, Any] = {
        "measurements": constraint.to_details(),
        "time_source": source if time else None,
        "band": sun_map.describe(),
        "band_area_km2": round(sun_map.band_area_km2()),
        "peak": {"lat": lat, "lon": lon, "fit": round(fit, 4)},
        "checks": checks,
    }
    written = []
    if args.geojson:
        target = Path(args.geojson)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(to_geojson(sun_map, checks), ensure_ascii=False))
        written.append(str(target))
    if args.png:
        written.append(str(render_png(sun_map, args.png, checks=checks, land=not args.no_land)))
    result["written"] = written
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print("Measurements:")
    for line in constraint.describe():
        print(f"  {line}")
    if time and source != "--time":
        print(f"  (time from {source})")
    if constraint.zone_unknown:
        print("  (no zone: each place reads the time as its own local clock time)")
    print(f"Band (95%): {result['band']}")
    print(f"Best fit:   {lat:.2f}, {lon:.2f} (fit {fit:.2f})")
    if checks:
        print("Checked:")
        for row in checks:
            print(f"  {check_sentence(row)}")
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
