"""``python -m evals.bench osm``: the local OpenStreetMap index's import time, size and query latency.

Two extracts: the real Monaco extract (``../shared/data/osm``, when present) and a
generated city of at least a million nodes (street grid, named streets, shops, cafes,
pharmacies and bus stops scattered over ~50 x 50 km), written once with pyosmium into
the cache folder. Each is imported into SQLite (and into PostGIS with ``--postgres DSN``);
then search, proximity, verify and combination queries at random points inside it are
timed: median and p95 milliseconds. Nothing here is a test; the figures go in the README.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_MONACO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "osm" / "monaco-2019.osm.pbf"
CENTRE = (45.0, 10.0)
SPAN_DEG = 0.45
POI_KINDS = [
    ("amenity", "cafe"),
    ("amenity", "pharmacy"),
    ("amenity", "restaurant"),
    ("shop", "bakery"),
    ("shop", "supermarket"),
    ("highway", "bus_stop"),
]
STREET_WORDS = ["Via", "Corso", "Viale", "Piazza"]
NAMES = ["Roma", "Garibaldi", "Mazzini", "Dante", "Verdi", "Cavour", "Manzoni", "Marconi", "Volta", "Galilei"]


def generate_city(path: Path, nodes: int = 1_000_000, seed: int = 7) -> dict[str, int]:
    """Write a synthetic extract with at least ``nodes`` nodes: streets of 40 nodes (a
    third of the nodes), building outlines of 5 (half), tagged points of interest (the rest)."""
    import osmium
    from osmium.osm.mutable import Node, Way

    rng = random.Random(seed)
    south, west = CENTRE[0] - SPAN_DEG / 2, CENTRE[1] - SPAN_DEG / 2
    next_node = 1
    ways: list[Way] = []
    way_id = 1
    counts = {"nodes": 0, "ways": 0, "pois": 0}
    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(str(path))
    try:
        street_nodes = nodes // 3
        while next_node <= street_nodes:
            lat, lon = south + rng.random() * SPAN_DEG, west + rng.random() * SPAN_DEG
            horizontal = rng.random() < 0.5
            refs = []
            for step in range(40):
                point = (lon + step * 0.0004, lat) if horizontal else (lon, lat + step * 0.0003)
                writer.add_node(Node(id=next_node, location=point, version=1))
                refs.append(next_node)
                next_node += 1
            tags = {"highway": rng.choice(["residential", "primary", "tertiary", "service"])}
            if rng.random() < 0.6:
                tags["name"] = f"{rng.choice(STREET_WORDS)} {rng.choice(NAMES)} {rng.randint(1, 400)}"
            ways.append(Way(id=way_id, nodes=refs, tags=tags, version=1))
            way_id += 1
        building_nodes = street_nodes + nodes // 2
        while next_node <= building_nodes:
            lat, lon = south + rng.random() * SPAN_DEG, west + rng.random() * SPAN_DEG
            corners = [(lon, lat), (lon + 0.0002, lat), (lon + 0.0002, lat + 0.00015), (lon, lat + 0.00015)]
            refs = []
            for corner in corners:
                writer.add_node(Node(id=next_node, location=corner, version=1))
                refs.append(next_node)
                next_node += 1
            tags = {"building": "yes"}
            if rng.random() < 0.05:
                tags["shop"] = rng.choice(["clothes", "hairdresser", "bakery"])
                tags["name"] = f"Negozio {rng.choice(NAMES)} {rng.randint(1, 999)}"
            ways.append(Way(id=way_id, nodes=[*refs, refs[0]], tags=tags, version=1))
            way_id += 1
        while next_node <= nodes:
            lat, lon = south + rng.random() * SPAN_DEG, west + rng.random() * SPAN_DEG
            key, value = rng.choice(POI_KINDS)
            tags = {key: value}
            if rng.random() < 0.7:
                tags["name"] = f"{value.title()} {rng.choice(NAMES)} {rng.randint(1, 999)}"
            writer.add_node(Node(id=next_node, location=(lon, lat), tags=tags, version=1))
            next_node += 1
            counts["pois"] += 1
        for way in ways:
            writer.add_way(way)
    finally:
        writer.close()
    counts["nodes"] = next_node - 1
    counts["ways"] = len(ways)
    return counts


def _timed(fn: Any, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
    }


def query_latency(index: Any, repeat: int, seed: int = 11) -> dict[str, dict[str, float]]:
    """Median and p95 ms of each operation at random points inside the extract."""
    from tools.osm import FeatureQuery, OsmOps

    south, west, north, east = index.bounds()
    rng = random.Random(seed)
    ops = OsmOps(None, local=index)

    def point() -> tuple[float, float]:
        return south + rng.random() * (north - south), west + rng.random() * (east - west)

    def around(radius_m: float) -> dict[str, Any]:
        lat, lon = point()
        return {"around": {"lat": lat, "lon": lon, "radius_m": radius_m}}

    cafe, bus, pharmacy = ({"amenity": "cafe"}, {"highway": "bus_stop"}, {"amenity": "pharmacy"})
    return {
        "search tags, 1 km": _timed(lambda: ops.find_features(FeatureQuery(tags=cafe, **around(1000))), repeat),
        "search name, 1 km": _timed(
            lambda: ops.find_features(FeatureQuery(name_pattern="roma", **around(1000))), repeat
        ),
        "near, 100 m in 1 km": _timed(
            lambda: ops.proximity(FeatureQuery(tags=cafe), FeatureQuery(tags=bus, **around(1000)), 100), repeat
        ),
        "verify, 1 km": _timed(lambda: ops.verify_candidate(*point(), "Via Roma 12", 1.0), repeat),
        "combo x3, 150 m in 2 km": _timed(
            lambda: ops.combo(
                [FeatureQuery(tags=cafe), FeatureQuery(tags=bus), FeatureQuery(tags=pharmacy)],
                150,
                FeatureQuery(tags={"area": None}, **around(2000)),
            ),
            repeat,
        ),
    }


def bench_extract(name: str, extract: Path, db: str, repeat: int) -> dict[str, Any]:
    from tools.osm.local import import_extract

    start = time.perf_counter()
    index = import_extract(extract, db, progress=False, replace=True)
    seconds = time.perf_counter() - start
    stats = index.stats()
    figures = {
        "extract": name,
        "backend": stats["backend"],
        "extract_mb": round(extract.stat().st_size / 1e6, 2),
        "import_s": round(seconds, 2),
        "index_mb": round(stats["bytes"] / 1e6, 2),
        "kept": {"nodes": stats["nodes"], "ways": stats["ways"], "relations": stats["relations"]},
        "latency": query_latency(index, repeat),
    }
    index.close()
    return figures


def bench_osm(
    monaco: Path | None, nodes: int, repeat: int, postgres: str | None, workdir: Path | None = None
) -> dict[str, Any]:
    folder = Path(workdir or tempfile.mkdtemp(prefix="geosleuth-bench-osm-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    extracts: list[tuple[str, Path]] = []
    if monaco is not None and monaco.exists():
        extracts.append(("monaco", monaco))
    city = folder / f"city-{nodes}.osm.pbf"
    start = time.perf_counter()
    generated = generate_city(city, nodes)
    write_s = round(time.perf_counter() - start, 2)
    extracts.append((f"generated {generated['nodes'] / 1e6:.2f}M nodes", city))
    for name, path in extracts:
        runs.append(bench_extract(name, path, str(folder / f"{path.name}.sqlite"), repeat))
        if postgres:
            separator = "&" if "?" in postgres else "?"
            table = "bench_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem.lower())[:30]
            runs.append(bench_extract(name, path, f"{postgres}{separator}table={table}", repeat))
    return {"generated": {**generated, "write_s": write_s}, "runs": runs, "workdir": str(folder)}


def format_osm(figures: dict[str, Any]) -> str:
    lines = []
    for run in figures["runs"]:
        kept = run["kept"]
        lines.append(
            f"{run['extract']} ({run['extract_mb']} MB) -> {run['backend']}: import {run['import_s']} s, "
            f"index {run['index_mb']} MB, kept {kept['nodes']:,} nodes / {kept['ways']:,} ways / "
            f"{kept['relations']:,} relations"
        )
        for name, value in run["latency"].items():
            lines.append(f"  {name:<26} median {value['median_ms']:>8.2f} ms   p95 {value['p95_ms']:>8.2f} ms")
    gen = figures["generated"]
    lines.append(f"(generated extract: {gen['nodes']:,} nodes, {gen['ways']:,} ways, written in {gen['write_s']} s)")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--monaco", type=Path, default=DEFAULT_MONACO, help="the Monaco extract (skipped if absent)")
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes in the generated extract")
    parser.add_argument("--repeat", type=int, default=30, help="timed queries per operation")
    parser.add_argument("--postgres", metavar="DSN", help="also import into PostGIS at this DSN (osm2pgsql)")
    parser.add_argument("--workdir", type=Path, help="keep the generated extract and indexes here")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    figures = bench_osm(args.monaco, args.nodes, args.repeat, args.postgres, args.workdir)
    print(json.dumps(figures, indent=2) if args.json else format_osm(figures))
    return 0
