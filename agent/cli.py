"""The ``geosleuth`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphs.consensus import STRATEGIES
from tools.errors import ConfigError, GeoSleuthError

from . import ask_cli, batch, batch_csv, batch_outputs, doctor_cli, explain_cli, osm_cli, sun_cli, tools_cli
from .agent import Agent
from .batch import one_line
from .ray_pool import RayOptions
from .render import render_location
from .review import terminal_reviewer
from .settings import Settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geosleuth")
    except PackageNotFoundError:  # running from a checkout without install
        return "unknown"


#: Options that take several numbers, and how many. Southern and western coordinates
#: are negative, and argparse reads "-34,18,-33,19" as an option: such comma lists (and
#: the ``--bbox=-34,18,-33,19`` form) are split into separate numbers before parsing.
COORDINATE_OPTIONS = {"--bbox": 4, "--around": 3}


def split_coordinate_args(argv: Sequence[str]) -> list[str]:
    """``--bbox -34,18,-33,19`` and ``--bbox=-34,18,-33,19`` -> ``--bbox -34 18 -33 19``
    (the same for ``--around``); anything else passes through unchanged."""
    out: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        token = items[index]
        flag, equals, value = token.partition("=")
        if flag in COORDINATE_OPTIONS and equals:
            out += [flag, *[v for v in value.replace(",", " ").split()]]
        elif token in COORDINATE_OPTIONS and index + 1 < len(items) and "," in items[index + 1]:
            out += [token, *items[index + 1].replace(",", " ").split()]
            index += 1
        else:
            out.append(token)
        index += 1
    return out


def _debug_requested(argv: Sequence[str]) -> tuple[bool, list[str]]:
    """``--debug`` anywhere before ``--`` (or GEOSLEUTH_DEBUG=1) shows tracebacks of internal errors."""
    items = list(argv)
    stop = items.index("--") if "--" in items else len(items)
    wanted = "--debug" in items[:stop] or os.environ.get("GEOSLEUTH_DEBUG", "") not in ("", "0")
    return wanted, [a for i, a in enumerate(items) if not (a == "--debug" and i < stop)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geosleuth",
        description="Locate where a photo was taken, with the evidence for the answer.",
    )
    parser.add_argument("--version", action="version", version=f"geosleuth {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an internal error (anywhere on the line)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    locate = commands.add_parser("locate", help="locate one or more images", description="Locate images.")
    locate.add_argument(
        "images",
        nargs="+",
        metavar="IMG",
        help="image files (JPEG, PNG, WebP, TIFF, HEIC, ...), folders of them, or lists (.txt: a path per line)",
    )
    locate.add_argument("--json", action="store_true", help="print the full Location as JSON")
    locate.add_argument("--no-metadata", action="store_true", help="ignore EXIF (GPS, time): judge by pixels only")
    locate.add_argument(
        "--trace", metavar="PATH", help="write the run trace here (a .jsonl file; a directory for several images)"
    )
    locate.add_argument("--strategy", choices=sorted(STRATEGIES), help="consensus strategy (default: cluster)")
    locate.add_argument("--same-place", action="store_true", help="treat all images as views of one place")
    locate.add_argument("--hint", help="what you already know, e.g. 'somewhere in Bavaria'")
    locate.add_argument("--country", action="append", metavar="CC", help="restrict to a country (repeatable)")
    locate.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("S", "W", "N", "E"),
        help="restrict to a bounding box: south west north east in degrees (--bbox -34 18 -33 19, or -34,18,-33,19)",
    )
    locate.add_argument("--question", help="the question asked about the image (kept in the trace)")
    locate.add_argument(
        "--csv", metavar="FILE", help="also write one CSV row per image (the batch layout; '-' for stdout)"
    )
    locate.add_argument("--jsonl", metavar="FILE", help="append a JSON line per image as each finishes")
    locate.add_argument("--geojson", metavar="FILE", help="also write the answers as GeoJSON points ('-' for stdout)")
    sun_cli.add_locate_options(locate)
    locate.add_argument("--max-steps", type=int, metavar="N", help="planning rounds before answering")
    locate.add_argument(
        "--review",
        action="store_true",
        help="show the candidates and ask before answering (accept, pick, reject, hint)",
    )
    locate.add_argument("--ocr-backend", choices=["auto", "rapidocr", "easyocr"], help="OCR engine (default: auto)")
    locate.add_argument(
        "--force", action="store_true", help="overwrite an existing --trace file (never the input image)"
    )
    engine = locate.add_argument_group("many images (a folder or a list)")
    engine.add_argument(
        "--engine", choices=batch.ENGINES, default="local", help="threads here (default) or a Ray actor pool"
    )
    engine.add_argument("--workers", type=int, default=1, metavar="N", help="local: images located at once (default 1)")
    engine.add_argument("--address", help="ray: 'auto' or ray://HOST:10001 joins a cluster (default: start one here)")
    engine.add_argument("--actors", type=int, metavar="N", help="ray: actors in the pool (default: one per actor-cpus)")
    engine.add_argument("--actor-cpus", type=float, default=1.0, metavar="C", help="ray: CPUs per actor (default 1)")
    engine.add_argument("--actor-gpus", type=float, default=0.0, metavar="G", help="ray: GPUs per actor (a local VLM)")
    network = locate.add_argument_group("network (default: offline, nothing leaves this machine)")
    network.add_argument(
        "--online",
        nargs="?",
        const="all",
        metavar="SERVICES",
        help="let online tools send requests (web search, Overpass); optionally only some, e.g. search,osm",
    )
    network.add_argument(
        "--allow-image-upload",
        action="store_true",
        help="let tools send the photo itself (reverse image search); needs --online",
    )
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
    ask_cli.register(commands)
    osm_cli.register(commands)
    tools_cli.register(commands)
    sun_cli.register(commands)
    explain_cli.register(commands)
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


def _agent_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The Agent the command line asks for, as keyword arguments (a Ray actor builds its
    own from the same ones)."""
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
    online = None if args.online is None else (True if args.online == "all" else args.online.split(","))
    return {
        "strategy": args.strategy,
        "settings": settings,
        "model": args.model,
        "model_options": options,
        "online": online,
        "allow_image_upload": True if args.allow_image_upload else None,
    }


def _locate(args: argparse.Namespace) -> int:
    jobs = batch.make_jobs(batch.expand_inputs(args.images), same_place=args.same_place)
    parallel = args.engine == "ray" or args.workers > 1
    if args.review and parallel:
        raise ConfigError("--review asks about one photo at a time: leave out --workers and --engine ray")
    options = {
        "use_metadata": not args.no_metadata,
        "hint": sun_cli.locate_hint(args),
        "country": args.country,
        "bbox": args.bbox,
        "budget": {"max_steps": args.max_steps} if args.max_steps is not None else None,
        "question": args.question,
        "review": terminal_reviewer(sys.stdin, sys.stderr) if args.review else False,
        "overwrite_trace": args.force,
    }
    outputs = BatchOutputs(args, jobs)
    try:
        if args.engine == "ray":
            ray_options = RayOptions(args.address, args.actors, args.actor_cpus, args.actor_gpus)
            kwargs = _agent_kwargs(args)
            Agent(**kwargs)  # refuse a bad option here, before any actor starts
            batch.run_ray(kwargs, jobs, options, outputs.add, ray_options=ray_options, trace_arg=args.trace)
        else:
            agent = Agent(**_agent_kwargs(args))
            batch.run_local(agent, jobs, options, outputs.add, workers=args.workers, trace_arg=args.trace)
    finally:
        outputs.close()
    return outputs.finish()


class BatchOutputs:
    """What ``locate`` prints and writes as jobs finish: progress and each answer as it
    comes, ``--jsonl`` a line per finished job (fsynced: a killed batch keeps what it
    finished), and in input order at the end ``--json``, ``--csv`` and ``--geojson``."""

    def __init__(self, args: argparse.Namespace, jobs: list[batch.BatchJob]) -> None:
        self.args = args
        self.total = len(jobs)
        self.outcomes: dict[int, batch.BatchOutcome] = {}
        self.stream = batch_outputs.JsonLines(Path(args.jsonl)) if args.jsonl else None

    def add(self, outcome: batch.BatchOutcome) -> None:
        done = len(self.outcomes) + 1
        self.outcomes[outcome.job.index] = outcome
        label = outcome.job.label
        if self.total > 1:
            print(f"[{done}/{self.total}] {label}", file=sys.stderr, flush=True)
        if self.stream is not None:
            self.stream.write(batch_outputs.record(outcome))
        if outcome.location is None:
            print(f"geosleuth: error: {outcome.error}", file=sys.stderr, flush=True)
            return
        print(f"geosleuth: {label}: {outcome.location.egress_summary()}", file=sys.stderr, flush=True)
        if not self.args.json:
            print(render_location(outcome.location, title=label))
            if done < self.total:
                print(flush=True)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def finish(self) -> int:
        ordered = [self.outcomes[i] for i in sorted(self.outcomes)]
        if self.args.json:
            payload = [json.loads(o.location.to_json()) for o in ordered if o.location is not None]
            print(json.dumps(payload[0] if self.total == 1 and payload else payload, indent=2, ensure_ascii=False))
        if self.args.csv:
            _write_csv(self.args.csv, [batch_csv.row(o.job.label, o.location, error=o.error) for o in ordered])
        if self.args.geojson:
            results = [batch_csv.values(o.job.label, o.location, error=o.error) for o in ordered]
            text = json.dumps(batch_outputs.feature_collection(results), indent=2, ensure_ascii=False)
            _write_text(self.args.geojson, text + "\n", len(results), "feature")
        if self.args.jsonl:
            print(f"wrote {self.args.jsonl} ({len(ordered)} line{'s' if len(ordered) != 1 else ''})", file=sys.stderr)
        return 1 if any(o.location is None for o in ordered) else 0


def _write_csv(target: str, rows: list[dict[str, str]]) -> None:
    _write_text(target, batch_csv.to_csv(rows), len(rows))


def _write_text(target: str, text: str, count: int, noun: str = "row") -> None:
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GeoSleuthError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path} ({count} {noun}{'s' if count != 1 else ''})", file=sys.stderr)


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
    debug, items = _debug_requested(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(split_coordinate_args(items))
    try:
        return int(args.handler(args))
    except GeoSleuthError as exc:
        print(f"geosleuth: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geosleuth: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only when asked
        if debug:
            traceback.print_exc()
        where = _origin(exc)
        print(
            f"geosleuth: internal error (a bug in geosleuth{where}): {type(exc).__name__}: {one_line(exc)}"
            + ("" if debug else " -- run again with --debug for the traceback"),
            file=sys.stderr,
        )
        return 70  # EX_SOFTWARE


def _origin(exc: BaseException) -> str:
    """`` at module.py:123``: where the exception was raised, for the bug report."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    return f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


if __name__ == "__main__":
    sys.exit(main())
