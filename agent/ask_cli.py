"""``geosleuth ask IMG "question"``: answer a question about a photo (GeoBrowse Level 2)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .agent import Agent


def register(commands: argparse._SubParsersAction) -> None:
    ask = commands.add_parser(
        "ask",
        help="answer a question about a photo: locate it, then research (needs --model for the follow-up)",
        description="Locate a photo, then research a question that starts from where it was taken.",
    )
    ask.add_argument("image", metavar="IMG", help="the photo")
    ask.add_argument("question", help="the question, e.g. 'what was the consumption tax rate in that year?'")
    ask.add_argument("--model", metavar="SPEC", help="transformers:PATH_OR_HUB_ID or openai:MODEL@URL")
    ask.add_argument("--rounds", type=int, metavar="N", help="model rounds of the research phase (default 8)")
    ask.add_argument("--no-metadata", action="store_true", help="ignore EXIF (GPS, time): judge by pixels only")
    ask.add_argument("--trace", metavar="PATH", help="write the run's trace (JSONL) here")
    ask.add_argument("--force", action="store_true", help="overwrite an existing --trace file")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument(
        "--online",
        nargs="?",
        const="all",
        metavar="SERVICES",
        help="let online tools send requests (search, pages, Wikipedia, Nominatim); optionally only some",
    )
    ask.add_argument(
        "--allow-image-upload", action="store_true", help="let reverse image search send the photo; needs --online"
    )
    ask.set_defaults(handler=_ask)


def _ask(args: argparse.Namespace) -> int:
    online = None if args.online is None else (True if args.online == "all" else args.online.split(","))
    agent = Agent(model=args.model, online=online, allow_image_upload=True if args.allow_image_upload else None)
    answer = agent.ask(
        args.image,
        args.question,
        use_metadata=not args.no_metadata,
        trace=Path(args.trace) if args.trace else None,
        research_rounds=args.rounds,
        overwrite_trace=args.force,
    )
    print(f"geosleuth: {args.image}: {answer.location.egress_summary()}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer.model_dump(mode="json", exclude={"location": {"trace"}}), indent=2, ensure_ascii=False))
    else:
        print(answer.explain())
    return 0 if answer.answered or answer.status == "no_model" else 1
