"""Benchmarks that print figures: speed and memory of the embedded default.

    python -m evals.bench pixels [--photos ../shared/data/photos/photos.jsonl] [--profile]
    python -m evals.bench net      (memory under a 200 MB response: see evals.bench_net)
    python -m evals.bench osm [--nodes 1000000] [--postgres postgresql://...]   (see evals.bench_osm)
    python -m evals.bench explain [--photos ...]   (ms per evidence item of Agent.explain: evals.bench_explain)

``pixels`` locates every real photo with metadata off (so the whole pixel pipeline
runs: OCR with zoom passes, text clues, gazetteer, consensus), then a few rendered
4000x3000 street scenes (the real set has no 12-megapixel photo), and prints the cold
start, the median and p95 seconds per image, the same for photos of 7.5 megapixels or
more and for the 12 MP scenes, and the process's peak resident memory. Speed goals live here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

DEFAULT_PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos" / "photos.jsonl"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


LARGE_MP = 7.5


def twelve_megapixel_scenes(count: int, seed: int = 3) -> list[tuple[str, Image.Image]]:
    """Rendered 4000x3000 street scenes (signs, a phone number, small text), for the 12 MP target."""
    import random

    from .synthetic import render_scene

    rng = random.Random(seed)
    kinds = ["shop_phone", "street", "welcome", "tiny_name", "direction"]
    places = [("Porto", "PT"), ("Graz", "AT"), ("Malmo", "SE"), ("Curitiba", "BR"), ("Lyon", "FR")]
    out = []
    for i in range(count):
        place, country = places[i % len(places)]
        image, _, _ = render_scene(kinds[i % len(kinds)], place, country, rng, size=(4000, 3000))
        out.append((f"rendered_12mp_{i}", image))
    return out


def _save_scenes(count: int, folder: str, seed: int) -> list[str]:
    paths = []
    for name, image in twelve_megapixel_scenes(count, seed):
        path = Path(folder) / f"{name}.jpg"
        image.save(path, quality=92)
        paths.append(str(path))
    return paths


def rendered_scene_files(count: int, folder: Path, seed: int = 3) -> list[Path]:
    """:func:`twelve_megapixel_scenes` saved as JPEG files in ``folder``, rendered in a
    child process.

    Rendering a 12 MP scene allocates several hundred megabytes for a moment; done here
    it would count in the peak memory the benchmarks report for the pipeline. As files,
    the scenes are also read the way a user's photos are (decode included)."""
    if count <= 0:
        return []
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return [Path(path) for path in pool.apply(_save_scenes, (count, str(folder), seed))]


def _row(name: str, megapixels: float, seconds: float, location: object) -> dict:
    return {
        "id": name,
        "megapixels": round(megapixels, 1),
        "seconds": round(seconds, 3),
        "answered": getattr(location, "answered", False),
        "confidence": getattr(location, "confidence", 0.0),
    }


def bench_pixels(photos: Path, repeat: int = 1, rendered: int = 5) -> dict:
    from agent import Agent

    rows = [json.loads(line) for line in photos.read_text(encoding="utf-8").splitlines() if line.strip()]
    agent = Agent()
    first = photos.parent / rows[0]["image"]
    start = time.perf_counter()
    agent.locate(first, use_metadata=False)
    cold = time.perf_counter() - start
    times: list[float] = []
    large: list[float] = []
    per_image = []
    for _ in range(repeat):
        for row in rows:
            path = photos.parent / row["image"]
            with Image.open(path) as image:
                megapixels = image.width * image.height / 1e6
            start = time.perf_counter()
            location = agent.locate(path, use_metadata=False)
            elapsed = time.perf_counter() - start
            times.append(elapsed)
            if megapixels >= LARGE_MP:
                large.append(elapsed)
            per_image.append(_row(row["id"], megapixels, elapsed, location))
    twelve: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in rendered_scene_files(rendered, Path(tmp)):
            start = time.perf_counter()
            location = agent.locate(path, use_metadata=False)
            twelve.append(time.perf_counter() - start)
            per_image.append(_row(path.stem, 12.0, twelve[-1], location))
    return {
        "images": len(rows),
        "runs": len(times),
        "cold_start_s": round(cold, 3),
        "median_s": round(statistics.median(times), 3),
        "p95_s": round(_p95(times), 3),
        "large_images": len(large) // max(repeat, 1),
        "large_median_s": round(statistics.median(large), 3) if large else None,
        "large_p95_s": round(_p95(large), 3) if large else None,
        "rendered_12mp": len(twelve),
        "rendered_12mp_median_s": round(statistics.median(twelve), 3) if twelve else None,
        "rendered_12mp_p95_s": round(_p95(twelve), 3) if twelve else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "per_image": per_image,
    }


def format_pixels(figures: dict) -> str:
    lines = [f"  {row['id']:<32} {row['megapixels']:>5} MP  {row['seconds']:>6.2f} s" for row in figures["per_image"]]
    lines.append(
        f"pixels: {figures['images']} photos x {figures['runs'] // max(figures['images'], 1)}: cold start "
        f"{figures['cold_start_s']} s, median {figures['median_s']} s, p95 {figures['p95_s']} s; "
        f">= {LARGE_MP} MP ({figures['large_images']}): median {figures['large_median_s']} s, "
        f"p95 {figures['large_p95_s']} s; rendered 12 MP ({figures['rendered_12mp']}): median "
        f"{figures['rendered_12mp_median_s']} s, p95 {figures['rendered_12mp_p95_s']} s; "
        f"peak RSS {figures['peak_rss_mb']} MB"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description="Print speed and memory figures.")
    sub = parser.add_subparsers(dest="benchmark", required=True)
    pixels = sub.add_parser("pixels", help="seconds per image and peak memory on real photos, metadata off")
    pixels.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    pixels.add_argument("--repeat", type=int, default=1)
    pixels.add_argument("--rendered", type=int, default=5, help="also time this many rendered 12 MP scenes")
    pixels.add_argument("--json", action="store_true", help="print all figures as JSON")
    pixels.add_argument(
        "--profile", action="store_true", help="seconds per stage (decode, OCR passes, tools, graph nodes) per photo"
    )
    from . import bench_osm

    bench_osm.add_arguments(sub.add_parser("osm", help="local OSM index: import time, size, query latency"))
    net = sub.add_parser("net", help="peak memory and time under a 200 MB response and a 2 GB image file")
    net.add_argument("--json", action="store_true", help="print all figures as JSON")
    explain = sub.add_parser("explain", help="milliseconds per evidence item of Agent.explain (photos, rendered)")
    explain.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    explain.add_argument("--rendered", type=int, default=6)
    explain.add_argument("--repeat", type=int, default=5)
    explain.add_argument("--json", action="store_true", help="print all figures as JSON")
    from . import bench_workspace

    bench_workspace.add_arguments(sub.add_parser("workspace", help="the workspace server under 5 uploading clients"))
    args = parser.parse_args(argv)
    if args.benchmark == "workspace":
        return bench_workspace.run(args)
    if args.benchmark == "osm":
        return bench_osm.run(args)
    if args.benchmark == "net":
        from .bench_net import bench_net, format_net

        figures = bench_net()
        print(json.dumps(figures, indent=2) if args.json else format_net(figures))
        return 0
    if args.benchmark == "explain":
        from .bench_explain import bench_explain, format_explain

        figures = bench_explain(args.photos, args.rendered, args.repeat)
        print(json.dumps(figures, indent=2) if args.json else format_explain(figures))
        return 0
    if args.benchmark == "pixels":
        if not args.photos.exists():
            print(f"no photos at {args.photos}", file=sys.stderr)
            return 2
        if args.profile:
            from .bench_profile import bench_profile, format_profile

            figures = bench_profile(args.photos, args.rendered)
            print(json.dumps(figures, indent=2) if args.json else format_profile(figures))
            return 0
        figures = bench_pixels(args.photos, args.repeat, args.rendered)
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            print(format_pixels(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
