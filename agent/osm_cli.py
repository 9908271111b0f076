"""``geosleuth osm``: OpenStreetMap name, tag and proximity searches from the command line.

    geosleuth osm search --tag amenity=pharmacy --name-pattern central --area Lisbon
    geosleuth osm near --find amenity=cafe --near railway=station --within 150 --around 38.71 -9.14 2000
    geosleuth osm verify 41.1496 -8.6057 "Rua de Santa Catarina" --radius-km 1
    geosleuth osm import portugal-latest.osm.pbf --db ~/osm/portugal.sqlite
    geosleuth osm combo --feature amenity=pharmacy --feature highway=bus_stop --feature amenity=cafe \
        --within 150 --area Lisbon --db ~/osm/portugal.sqlite

Queries are compiled from these structured options with every value escaped; the
same guards as the agent's tools apply (bounded area, result limit, server timeout).
With ``--db`` (or GEOSLEUTH_OSM_DB) a local index made by ``osm import`` answers
wherever it covers the area, without the network.
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


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overpass-url", help="Overpass endpoint (default: settings or the public one)")
    parser.add_argument(
        "--db", metavar="PATH|DSN", help="local OSM index (SQLite file or postgresql://...; default GEOSLEUTH_OSM_DB)"
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="let queries the local index cannot answer go to Overpass (default: offline, or GEOSLEUTH_ONLINE)",
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="most features to return (default 50)")
    parser.add_argument("--geometry", action="store_true", help="full geometry instead of centre points")
    parser.add_argument("--geojson", action="store_true", help="print a GeoJSON FeatureCollection")
    _add_source(parser)


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
    _add_source(verify)
    combo = ops.add_parser("combo", help="places where several kinds of feature are all within a distance")
    combo.add_argument(
        "--feature",
        action="append",
        required=True,
        metavar="SPEC",
        help="one kind of feature (repeat 2-6 times): tags K=V joined by ',' and/or name~TEXT, "
        "e.g. 'amenity=pharmacy' or 'shop=bakery,name~Pão'",
    )
    combo.add_argument("--within", type=float, required=True, metavar="M", help="greatest distance between any two")
    _add_area(combo)
    combo.add_argument("--limit", type=int, default=50, help="most places to return (default 50)")
    combo.add_argument("--geojson", action="store_true", help="print a GeoJSON FeatureCollection")
    combo.add_argument("--print-ql", action="store_true", help="print the equivalent Overpass QL and stop")
    _add_source(combo)
    load = ops.add_parser("import", help="import an extract into a local index (SQLite or PostGIS)")
    load.add_argument("extract", help="an OpenStreetMap extract: .osm.pbf, .osm, .osm.bz2 (e.g. from Geofabrik)")
    load.add_argument(
        "--db", metavar="PATH|DSN", help="SQLite file (default: next to the extract) or postgresql://... (osm2pgsql)"
    )
    load.add_argument("--replace", action="store_true", help="start over instead of resuming or refusing")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
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


def _combo_spec(text: str) -> dict[str, Any]:
    """``amenity=pharmacy``, ``shop=bakery,name~Pão``, ``name~Augusta`` -> a feature spec."""
    tags: list[str] = []
    pattern = None
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.startswith("name~"):
            pattern = part[len("name~") :]
        else:
            tags.append(part)
    spec = _selector(tags, None, pattern)
    if not spec["tags"] and not pattern:
        raise argparse.ArgumentTypeError(f"feature {text!r} has no tag or name~ pattern")
    return spec


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tools.osm.local import import_extract

    from .settings import Settings

    db = args.db or Settings().osm_db
    if not db:
        name = Path(args.extract).name
        for suffix in (".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        db = str(Path(args.extract).with_name(name + ".sqlite"))
    index = import_extract(args.extract, db, progress=not args.quiet, replace=args.replace)
    stats = index.stats()
    index.close()
    print(
        f"imported {args.extract} into {stats['location']}: {stats['nodes']:,} nodes, {stats['ways']:,} ways, "
        f"{stats['relations']:,} relations, {stats['bytes'] / 1e6:,.1f} MB"
    )
    shown = stats["location"]  # a DSN without its password
    print(f"use it with --db {shown} or GEOSLEUTH_OSM_DB={shown}")
    return 0


def _combo_table(result: Any) -> str:
    lines = [result.summary]
    for rank, combo in enumerate(result.combos, 1):
        lat, lon = combo.centre()
        lines.append(f"{rank:>3}. {lat:9.5f} {lon:10.5f}  within {combo.diameter_m:5.0f} m")
        for feature in combo.features:
            lines.append(f"       {feature.label():<60} {feature.url}")
    if not result.combos:
        lines.append("no place has all of them")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tools.osm import FeatureQuery, OsmOps

    from .settings import Settings

    if args.osm_command == "import":
        return _import(args)
    own = Settings()
    settings = own.for_tools()
    if getattr(args, "overpass_url", None):
        settings["overpass_url"] = args.overpass_url
    if getattr(args, "db", None):
        settings["osm_db"] = args.db
    online = own.online or bool(getattr(args, "online", False))
    ops = OsmOps.from_context(ToolContext(images=ImageRegistry(), settings=settings, offline=not online))
    try:
        if args.osm_command == "combo":
            from tools.osm import OsmComboArgs

            combo_args = OsmComboArgs.model_validate(
                {"features": [_combo_spec(f) for f in args.feature], "within_m": args.within, "limit": args.limit}
                | _area(args)
            )
            specs, carrier = combo_args.queries()
            plan = ops.plan_combo(specs, combo_args.within_m, carrier)
            if args.print_ql:
                print(plan.ql, end="")
                return 0
            result = ops.run_combo(plan, combo_args.within_m)
            print(json.dumps(result.geojson(), indent=2, ensure_ascii=False) if args.geojson else _combo_table(result))
            return 0
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
