"""``geosleuth eval`` and ``geosleuth bench``, registered into the CLI by entry point."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.errors import ConfigError

from .bench import DEFAULT_PHOTOS, bench_pixels
from .datasets import FORMATS
from .runner import ABLATIONS, ENGINES, EvalConfig, run_eval


def register_eval(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        help="evaluate on a dataset and write a report; 'eval compare RUN...' tabulates runs",
        description="Locate every item of a dataset (GeoBrowse JSONL or CSV, photo JSONL, CSV image,lat,lon, "
        "Im2GPS3k/YFCC4k/MP-16 places365 CSVs, OSV-5M test.csv, or a folder of geotagged photos), score it, and "
        "write results.jsonl, per-item traces, summary.json and a report. Running again resumes where it stopped. "
        "'geosleuth eval compare RUN_DIR... [--markdown|--csv|--latex]' prints a paper-style table of runs.",
    )
    parser.add_argument("dataset", help="dataset file or folder (or 'compare' followed by run folders)")
    parser.add_argument("runs", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="output folder (required to evaluate)")
    parser.add_argument("--images", metavar="DIR|ZIP", help="folder or zip archive the dataset's image names are in")
    parser.add_argument("--format", choices=FORMATS, help="dataset format (default: detected from the header)")
    parser.add_argument("--concurrency", type=int, default=2, help="items in flight at once (local engine, default 2)")
    parser.add_argument("--engine", choices=ENGINES, default="local", help="local threads (default) or a Ray pool")
    parser.add_argument("--address", help="Ray: 'auto' or ray://HOST:10001 joins a cluster (default: start one here)")
    parser.add_argument("--actors", type=int, help="Ray: actors in the pool (default: one per actor-cpus of CPU)")
    parser.add_argument("--actor-cpus", type=float, default=1.0, help="Ray: CPUs per actor (fractions allowed)")
    parser.add_argument("--actor-gpus", type=float, default=0.0, help="Ray: GPUs per actor (for a local VLM)")
    parser.add_argument("--limit", type=int, help="only the first N items")
    parser.add_argument("--strategy", choices=["cluster", "hierarchical", "best"], help="consensus strategy")
    parser.add_argument("--metadata", action="store_true", help="let the agent read EXIF (off by default)")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results in --out and start over")
    parser.add_argument("--semantic", action="store_true", help="match expert steps with sentence embeddings")
    parser.add_argument(
        "--online", action="store_true", help="let online tools send requests (default: offline; summary.json says)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--model", metavar="SPEC", help="evaluate a model: transformers:PATH_OR_ID or openai:MODEL@URL[,URL2,...]"
    )
    parser.add_argument("--adapter", metavar="DIR", help="a LoRA adapter for a transformers model")
    parser.add_argument("--samples", type=int, metavar="K", help="model answers sampled per item")
    parser.add_argument("--temperature", type=float, metavar="T", help="temperature of samples after the first")
    parser.add_argument("--no-hybrid", action="store_true", help="the model starts without the playbook's evidence")
    parser.add_argument(
        "--judge", metavar="SPEC", help="also grade gold-answer items with an LLM judge (GeoBrowse style)"
    )
    for flag in ABLATIONS:
        parser.add_argument(f"--no-{flag}", action="store_true", help=f"ablation: run without {flag}")
    style = parser.add_mutually_exclusive_group()
    for name in ("markdown", "csv", "latex"):
        style.add_argument(f"--{name}", dest="style", action="store_const", const=name, help=f"compare: {name} table")
    parser.set_defaults(handler=_eval)


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, render

    print(render(compare(args.runs), args.style or "markdown"), end="")
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.dataset == "compare" and not Path("compare").exists():
        if not args.runs:
            raise ConfigError("eval compare needs run folders: geosleuth eval compare RUN_DIR [RUN_DIR ...]")
        return _compare(args)
    if args.runs:
        raise ConfigError(f"eval takes one dataset, got also {', '.join(map(str, args.runs))}")
    if args.out is None:
        raise ConfigError("eval needs --out DIR")
    config = EvalConfig(
        out=args.out,
        concurrency=args.concurrency,
        use_metadata=args.metadata,
        strategy=args.strategy,
        ablations=tuple(flag for flag in ABLATIONS if getattr(args, f"no_{flag}")),
        limit=args.limit,
        fresh=args.fresh,
        semantic=args.semantic,
        model=args.model,
        judge=args.judge,
        engine=args.engine,
        address=args.address,
        actors=args.actors,
        actor_cpus=args.actor_cpus,
        actor_gpus=args.actor_gpus,
        images=args.images,
        format=args.format,
        online=args.online,
        model_options={
            key: value
            for key, value in {
                "adapter": args.adapter,
                "samples": args.samples,
                "temperature": args.temperature,
                "hybrid": False if args.no_hybrid else None,
            }.items()
            if value is not None
        },
    )
    outcome = run_eval(args.dataset, config, progress=False if args.no_progress else None)
    report = outcome.files.get("report")
    if report is not None:
        text = Path(report).read_text(encoding="utf-8")
        print(text.split("\n## ", 2)[0].strip() if "\n## " in text else text[:2000])
    done = f" ({outcome.skipped_done} already done)" if outcome.skipped_done else ""
    print(f"\n{len(outcome.records)} items{done}; results in {args.out}")
    return 0


def register_bench(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("bench", help="print speed and memory figures")
    which = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    pixels = which.add_parser("pixels", help="seconds per image and peak memory on real photos, metadata off")
    pixels.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    pixels.add_argument("--repeat", type=int, default=1)
    pixels.add_argument("--rendered", type=int, default=5, help="also time this many rendered 12 MP scenes")
    pixels.add_argument("--json", action="store_true")
    served = which.add_parser("served", help="runner throughput against concurrency, with a local model server")
    served.add_argument("--items", type=int, default=16)
    served.add_argument("--concurrency", default="1,2,4,8", help="comma-separated levels (default 1,2,4,8)")
    served.add_argument("--delay", type=float, default=0.5, help="seconds the server takes per request")
    served.add_argument("--samples", type=int, default=3, help="answers sampled per item")
    served.add_argument("--server-concurrency", type=int, help="requests the server works on at once")
    served.add_argument("--engine", choices=ENGINES, default="local", help="ray: also time Ray actor pools")
    served.add_argument("--actors", help="Ray pool sizes (default: the --concurrency levels)")
    served.add_argument("--actor-cpus", type=float, default=0.25, help="CPUs reserved per Ray actor (default 0.25)")
    served.add_argument("--no-ocr", action="store_true", help="a light agent without OCR (I/O-bound like a VLM run)")
    served.add_argument("--json", action="store_true")
    replay = which.add_parser("replay", help="replay against live speed on recorded runs")
    replay.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    replay.add_argument("--repeat", type=int, default=3)
    replay.add_argument(
        "--model-delay",
        type=float,
        default=1.0,
        help="seconds per served-model reply in the model-driven run (0: skip)",
    )
    replay.add_argument("--rendered", type=int, default=0, help="also replay this many rendered 12 MP scenes")
    replay.add_argument("--json", action="store_true")
    model = which.add_parser("model", help="VLM generation latency and SFT steps/s and memory on a device")
    model.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1")
    model.add_argument("--model", help="a local model directory (default: the tiny random test model)")
    model.add_argument("--steps", type=int, default=20, help="training steps")
    model.add_argument("--generations", type=int, default=10)
    model.add_argument("--json", action="store_true")
    net = which.add_parser("net", help="peak memory and time under a 200 MB response and a 2 GB image file")
    net.add_argument("--json", action="store_true")
    from . import bench_osm

    bench_osm.add_arguments(which.add_parser("osm", help="local OSM index: import time, size, query latency"))
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    if args.benchmark == "net":
        from .bench_net import bench_net, format_net

        figures = bench_net()
        print(json.dumps(figures, indent=2) if args.json else format_net(figures))
        return 0
    if args.benchmark == "osm":
        from . import bench_osm

        return bench_osm.run(args)
    if args.benchmark == "model":
        from .bench_model import bench_model, format_model

        figures = bench_model(args.device, args.model, args.steps, args.generations)
        print(json.dumps(figures, indent=2) if args.json else format_model(figures))
        return 0
    if args.benchmark == "replay":
        from .bench_replay import bench_replay, format_replay

        figures = bench_replay(args.photos, args.repeat, args.model_delay, args.rendered)
        print(json.dumps(figures, indent=2) if args.json else format_replay(figures))
        return 0
    if args.benchmark == "served":
        from .bench_served import bench_served, format_served

        levels = [int(x) for x in (args.actors or args.concurrency).split(",") if x.strip()]
        figures = bench_served(
            levels,
            args.items,
            args.delay,
            args.samples,
            args.server_concurrency,
            engine=args.engine,
            actor_cpus=args.actor_cpus,
            no_ocr=args.no_ocr,
        )
        print(json.dumps(figures, indent=2) if args.json else format_served(figures))
        return 0
    if args.benchmark == "pixels":
        if not args.photos.exists():
            print(f"geosleuth: error: no photos at {args.photos}")
            return 2
        figures = bench_pixels(args.photos, args.repeat, args.rendered)
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            from .bench import format_pixels

            print(format_pixels(figures))
    return 0
