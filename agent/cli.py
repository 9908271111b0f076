"""The ``geosleuth`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from graphs.consensus import STRATEGIES
from tools.errors import GeoSleuthError

from . import doctor_cli, osm_cli
from .agent import Agent
from .location import Location
from .render import render_location
from .review import terminal_reviewer
from .settings import Settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geosleuth")
    except PackageNotFoundError:  # running from a checkout without install
        return "unknown"


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("bbox must be four numbers: SOUTH,WEST,NORTH,EAST") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError("bbox must be four numbers: SOUTH,WEST,NORTH,EAST")
    return values  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geosleuth",
        description="Locate where a photo was taken, with the evidence for the answer.",
    )
    parser.add_argument("--version", action="version", version=f"geosleuth {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    locate = commands.add_parser("locate", help="locate one or more images", description="Locate images.")
    locate.add_argument("images", nargs="+", metavar="IMG", help="image files (JPEG, PNG, WebP, TIFF, HEIC, ...)")
    locate.add_argument("--json", action="store_true", help="print the full Location as JSON")
    locate.add_argument("--no-metadata", action="store_true", help="ignore EXIF (GPS, time): judge by pixels only")
    locate.add_argument(
        "--trace", metavar="PATH", help="write the run trace here (a .jsonl file; a directory for several images)"
    )
    locate.add_argument("--strategy", choices=sorted(STRATEGIES), help="consensus strategy (default: cluster)")
    locate.add_argument("--same-place", action="store_true", help="treat all images as views of one place")
    locate.add_argument("--hint", help="what you already know, e.g. 'somewhere in Bavaria'")
    locate.add_argument("--country", action="append", metavar="CC", help="restrict to a country (repeatable)")
    locate.add_argument("--bbox", type=_bbox, metavar="S,W,N,E", help="restrict to a bounding box")
    locate.add_argument("--question", help="the question asked about the image (kept in the trace)")
    locate.add_argument("--max-steps", type=int, metavar="N", help="planning rounds before answering")
    locate.add_argument(
        "--review",
        action="store_true",
        help="show the candidates and ask before answering (accept, pick, reject, hint)",
    )
    locate.add_argument("--ocr-backend", choices=["auto", "rapidocr", "easyocr"], help="OCR engine (default: auto)")
    model = locate.add_argument_group("model (default: the heuristic playbook; also GEOSLEUTH_MODEL)")
    model.add_argument(
        "--model",
        metavar="SPEC",
        help="transformers:PATH_OR_HUB_ID, a model directory, or openai:MODEL@URL (vLLM, ...)",
    )
    model.add_argument("--adapter", metavar="DIR", help="a LoRA adapter for a transformers model")
    model.add_argument("--samples", type=int, metavar="K", help="answers sampled for consensus (default 3)")
    model.add_argument("--temperature", type=float, metavar="T", help="temperature of samples after the first")
    model.add_argument("--no-hybrid", action="store_true", help="do not run the playbook before the model")
    locate.set_defaults(handler=_locate)
    replay = commands.add_parser(
        "replay",
        help="re-derive a recorded run from its trace",
        description="Replay a trace: every tool and model call is answered from the trace (no model, no network). "
        "With --strategy or --samples, re-derive the answer under other settings.",
    )
    replay.add_argument("trace", metavar="TRACE", help="a trace file (.jsonl)")
    replay.add_argument("--lenient", action="store_true", help="make calls the trace lacks live instead of failing")
    replay.add_argument("--strategy", choices=sorted(STRATEGIES), help="another consensus strategy")
    replay.add_argument("--samples", type=int, metavar="K", help="use only the first K model samples")
    replay.add_argument("--json", action="store_true", help="print the full Location as JSON")
    replay.add_argument("--trace-out", metavar="PATH", help="write the replayed run's own trace here")
    replay.add_argument("--image", action="append", metavar="IMG", help="the image(s), when not at the traced paths")
    replay.set_defaults(handler=_replay)
    osm_cli.register(commands)
    doctor_cli.register(commands)
    _register_plugins(commands)
    return parser


def _register_plugins(commands: argparse._SubParsersAction) -> None:
    """Subcommands other layers provide (``geosleuth eval``, ``geosleuth bench`` from
    ``evals``), found through the ``geosleuth.commands`` entry-point group so that this
    layer never imports the ones above it."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group="geosleuth.commands"), key=lambda e: e.name):
        try:
            entry.load()(commands)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take `locate` down with it
            print(f"geosleuth: warning: command {entry.name!r} unavailable: {exc}", file=sys.stderr)


def _trace_target(arg: str | None, count: int, run_index: int) -> Path | None:
    if arg is None:
        return None
    path = Path(arg)
    if count == 1 and not (path.is_dir() or arg.endswith(("/", "\\"))):
        return path
    return path / f"run-{run_index:04d}.jsonl"


def _locate(args: argparse.Namespace) -> int:
    settings = Settings(**({"ocr_backend": args.ocr_backend} if args.ocr_backend else {}))
    options = {
        key: value
        for key, value in {
            "adapter": args.adapter,
            "samples": args.samples,
            "temperature": args.temperature,
            "hybrid": False if args.no_hybrid else None,
        }.items()
        if value is not None
    }
    agent = Agent(strategy=args.strategy, settings=settings, model=args.model, model_options=options)
    budget = {"max_steps": args.max_steps} if args.max_steps is not None else None
    groups: list[list[str]] = [list(args.images)] if args.same_place else [[img] for img in args.images]
    results: list[tuple[str, Location]] = []
    failures = 0
    for index, group in enumerate(groups):
        label = " + ".join(group)
        try:
            location = agent.locate(
                group if len(group) > 1 else group[0],
                use_metadata=not args.no_metadata,
                hint=args.hint,
                country=args.country,
                bbox=args.bbox,
                budget=budget,
                question=args.question,
                trace=_trace_target(args.trace, len(groups), index),
                review=terminal_reviewer(sys.stdin, sys.stderr) if args.review else False,
            )
        except GeoSleuthError as exc:
            failures += 1
            print(f"geosleuth: error: {exc}", file=sys.stderr)
            continue
        results.append((label, location))
        if not args.json:
            print(render_location(location, title=label))
            if index < len(groups) - 1:
                print()
    if args.json:
        payload = [json.loads(loc.to_json()) for _, loc in results]
        print(json.dumps(payload[0] if len(groups) == 1 and payload else payload, indent=2, ensure_ascii=False))
    return 1 if failures else 0


def _replay(args: argparse.Namespace) -> int:
    agent = Agent()
    location = agent.replay(
        args.trace,
        strict=not args.lenient,
        strategy=args.strategy,
        samples=args.samples,
        images=args.image,
        trace_out=args.trace_out,
    )
    print(location.to_json() if args.json else render_location(location, title=f"replay of {args.trace}"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except GeoSleuthError as exc:
        print(f"geosleuth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geosleuth: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
