"""``geosleuth osm``: OpenStreetMap name, tag and proximity searches from the command line.

    geosleuth osm search --tag amenity=pharmacy --name-pattern central --area Lisbon
    geosleuth osm near --find amenity=cafe --near railway=station --within 150 --around 38.71 -9.14 2000
    geosleuth osm verify 41.1496 -8.6057 "Rua de Santa Catarina" --radius-km 1

Queries are compiled from these structured options with every value escaped; the
same guards as the agent's tools apply (bounded area, result limit, server timeout).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError

from tools.base import ToolContext
from tools.errors import describe_validation_error
from tools.images import ImageRegistry


def _tags(values: list[str] | None) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for item in values or []:
        key, _, value = item.partition("=")
        if not key:
            raise argparse.ArgumentTypeError(f"bad tag {item!r}: use key=value, key=v1|v2 or key")
        tags[key] = None if not value else (value.split("|") if "|" in value else value)
    return tags


def _area(args: argparse.Namespace) -> dict[str, Any]:
    if args.bbox:
        south, west, north, east = args.bbox
        return {"bbox": {"south": south, "west": west, "north": north, "east": east}}
    if args.around:
        lat, lon, radius = args.around
        return {"around": {"lat": lat, "lon": lon, "radius_m": radius}}
    if args.area:
        return {"area_name": args.area}
    raise argparse.ArgumentTypeError("give an area: --bbox S W N E, --around LAT LON METRES or --area NAME")


def _selector(tags: list[str] | None, name: str | None, pattern: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": _tags(tags)}
    if name:
        out["name"] = name
    if pattern:
        out["name_pattern"] = pattern
    return out


def _add_area(parser: argparse.ArgumentParser) -> None:
    area = parser.add_mutually_exclusive_group()
    area.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("S", "W", "N", "E"),
        help="bounding box in degrees: south west north east (or S,W,N,E; negative numbers welcome)",
    )
    area.add_argument(
        "--around",
        nargs=3,
        type=float,
        metavar=("LAT", "LON", "M"),
        help="disc of M metres around a point (or LAT,LON,M)",
    )
    area.add_argument("--area", metavar="NAME", help="a place name, resolved offline (e.g. 'Lisbon', 'Porto, PT')")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="most features to return (default 50)")
    parser.add_argument("--geometry", action="store_true", help="full geometry instead of centre points")
    parser.add_argument("--geojson", action="store_true", help="print a GeoJSON FeatureCollection")
    parser.add_argument("--overpass-url", help="Overpass endpoint (default: settings or the public one)")


def register(commands: argparse._SubParsersAction) -> None:
    osm = commands.add_parser(
        "osm", help="search OpenStreetMap by name, tags or proximity", description=__doc__.split("\n\n")[0]
    )
    ops = osm.add_subparsers(dest="osm_command", required=True, metavar="OPERATION")
    search = ops.add_parser("search", help="features by tags and/or name in an area")
    search.add_argument("--tag", action="append", metavar="K=V", help="tag filter (repeatable; K=v1|v2; K alone)")
    search.add_argument("--name", help="exact name")
    search.add_argument("--name-pattern", help="name contains this text (case-insensitive, literal)")
    _add_area(search)
    _add_common(search)
    near = ops.add_parser("near", help="features A within a distance of features B")
    near.add_argument("--find", action="append", metavar="K=V", help="tags of the features wanted")
    near.add_argument("--find-name", help="name pattern of the features wanted")
    near.add_argument("--near", action="append", metavar="K=V", help="tags of the anchor features")
    near.add_argument("--near-name", help="name pattern of the anchor features")
    near.add_argument("--within", type=float, required=True, metavar="M", help="distance in metres")
    _add_area(near)
    _add_common(near)
    verify = ops.add_parser("verify", help="does a name exist near a point?")
    verify.add_argument("lat", type=float)
    verify.add_argument("lon", type=float)
    verify.add_argument("text", help="street or shop name as read on a sign")
    verify.add_argument("--radius-km", type=float, default=1.0)
    verify.add_argument("--geojson", action="store_true")
    verify.add_argument("--overpass-url")
    osm.set_defaults(handler=run)


def _table(result: Any) -> str:
    lines = [result.summary] if result.summary else []
    for match in result.matches:
        if match.role != "a":
            continue
        feature = match.feature
        keys = ", ".join(f"{k}={v}" for k, v in list(feature.tags.items())[:3] if k != "name")
        extra = f"  {match.distance_km:.2f} km" if match.distance_km is not None else ""
        if match.near is not None and match.near_distance_m is not None:
            extra += f"  {match.near_distance_m:.0f} m from {match.near.label()}"
        lines.append(
            f"{feature.osm_type}/{feature.osm_id:<12} {feature.name or '-':<32} {feature.lat:9.5f} {feature.lon:10.5f}"
            f"  {keys}{extra}"
        )
    if not any(m.role == "a" for m in result.matches):
        lines.append("no features found")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tools.osm import FeatureQuery, OsmOps

    from .settings import Settings

    own = Settings()
    settings = own.for_tools()
    if getattr(args, "overpass_url", None):
        settings["overpass_url"] = args.overpass_url
    ops = OsmOps.from_context(ToolContext(images=ImageRegistry(), settings=settings, offline=own.offline))
    try:
        if args.osm_command == "verify":
            result = ops.verify_candidate(args.lat, args.lon, args.text, args.radius_km)
        elif args.osm_command == "search":
            query = FeatureQuery(
                **_selector(args.tag, args.name, args.name_pattern),
                **_area(args),
                limit=args.limit,
                geometry=args.geometry,
            )
            result = ops.find_features(query)
        else:
            find = FeatureQuery(**_selector(args.find, None, args.find_name), limit=args.limit, geometry=args.geometry)
            anchor = FeatureQuery(**_selector(args.near, None, args.near_name), **_area(args))
            result = ops.proximity(find, anchor, args.within)
    except argparse.ArgumentTypeError as exc:
        print(f"geosleuth: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # the structured query broke a rule: name the field and the rule
        print(f"geosleuth: error: invalid query: {describe_validation_error(exc)}", file=sys.stderr)
        return 2
    print(json.dumps(result.geojson(), indent=2, ensure_ascii=False) if args.geojson else _table(result))
    return 0
