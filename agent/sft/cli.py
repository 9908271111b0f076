"""``geosleuth sft ...``: build data, distil traces, train, merge. Registered by entry point
(``geosleuth.commands``), and light to import: the heavy modules load when a command runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.errors import GeoSleuthError

__all__ = ["register_sft"]


def register_sft(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sft",
        help="fine-tune the model the agent serves (data, distillation, LoRA training, merge)",
        description="Supervised fine-tuning recipe: build chat-format data from geotagged rows, turn successful "
        "runs into tool-use dialogues, train LoRA adapters with TRL + PEFT, merge them for serving. "
        "Needs the [train] extra for train and merge.",
    )
    which = parser.add_subparsers(dest="sft_command", metavar="STEP")
    which.required = True

    build = which.add_parser(
        "build-data",
        help="rows (CSV, JSONL or a folder of geotagged photos) -> chat dataset",
        description="Validate rows of image,lat,lon[,reasoning,country,city], resize the images and write "
        "train.jsonl, images/ and report.json (rejected rows with reasons) into --out.",
    )
    build.add_argument("rows", help="a .csv or .jsonl file, or a folder of photos with GPS in their EXIF")
    build.add_argument("--out", required=True, type=Path, help="output dataset folder")
    build.add_argument("--size", type=int, default=448, help="longer image side in pixels (default 448)")
    build.add_argument(
        "--teacher",
        metavar="SPEC",
        help="model that writes reasoning for rows without it, shown the true location "
        "(transformers:PATH or openai:MODEL@URL)",
    )
    build.add_argument("--teacher-concurrency", type=int, default=4, metavar="N", help="teacher calls in flight")
    build.set_defaults(handler=_build)

    distill = which.add_parser(
        "distill",
        help="successful run traces -> tool-use training dialogues",
        description="Keep the runs whose answer is within --max-km of the truth and write them as multi-turn "
        "dialogues in the text tool-call protocol (same dataset layout as build-data).",
    )
    distill.add_argument("traces", nargs="+", help="trace files (.jsonl) or folders of them")
    distill.add_argument("--truth", required=True, help="rows with the true coordinates (CSV, JSONL or photo folder)")
    distill.add_argument("--out", required=True, type=Path, help="output dataset folder")
    distill.add_argument("--max-km", type=float, default=25.0, help="largest error kept, in km (default 25)")
    distill.add_argument("--size", type=int, default=448, help="longer image side in pixels (default 448)")
    distill.set_defaults(handler=_distill)

    train = which.add_parser(
        "train",
        help="train LoRA adapters from a YAML/JSON config",
        description="Train with TRL + PEFT LoRA as the config says (stage reasoning, location or both).",
    )
    train.add_argument("config", type=Path, help="training config (.yaml or .json)")
    train.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    train.add_argument("--overwrite", action="store_true", help="discard an earlier run in output_dir")
    train.set_defaults(handler=_train)

    merge = which.add_parser(
        "merge",
        help="merge adapters into the base model for serving",
        description="Merge a trained adapter (and the adapters it stacks on) into the base model and save a full "
        "model folder with its processor, loadable by transformers and `vllm serve`.",
    )
    merge.add_argument("adapter", nargs="+", type=Path, help="adapter folder(s), applied in order")
    merge.add_argument("--base", required=True, help="the base model (folder or hub id)")
    merge.add_argument("--out", required=True, type=Path, help="output model folder")
    merge.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    merge.set_defaults(handler=_merge)


def _fail(exc: GeoSleuthError) -> int:
    print(f"geosleuth: error: {exc}", file=sys.stderr)
    return 1


def _build(args: argparse.Namespace) -> int:
    from .data import build_dataset

    try:
        teacher = None
        if args.teacher:
            from ..models.spec import load_model

            teacher = load_model(args.teacher)
        report = build_dataset(
            args.rows, args.out, size=args.size, teacher=teacher, teacher_concurrency=args.teacher_concurrency
        )
    except GeoSleuthError as exc:
        return _fail(exc)
    print(report.summary())
    if not report.examples:
        print("geosleuth: error: no usable rows", file=sys.stderr)
        return 1
    return 0


def _distill(args: argparse.Namespace) -> int:
    from .distill import distill_traces

    try:
        report = distill_traces(args.traces, args.truth, args.out, max_km=args.max_km, size=args.size)
    except GeoSleuthError as exc:
        return _fail(exc)
    print(report.summary())
    if not report.examples:
        print("geosleuth: error: no run qualified", file=sys.stderr)
        return 1
    return 0


def _train(args: argparse.Namespace) -> int:
    from .config import load_config

    try:
        config = load_config(args.config)
        from .train import train

        result = train(config, resume=args.resume, overwrite=args.overwrite, log=print)
    except GeoSleuthError as exc:
        return _fail(exc)
    print(result.summary())
    return 0


def _merge(args: argparse.Namespace) -> int:
    try:
        from .train import merge

        out = merge(args.adapter, args.base, args.out, dtype=args.dtype)
    except GeoSleuthError as exc:
        return _fail(exc)
    print(f"merged model written to {out} (serve it with: vllm serve {out})")
    return 0
