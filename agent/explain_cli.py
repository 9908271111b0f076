"""``geosleuth explain run.jsonl``: how much the answer rests on each piece of evidence.

    geosleuth explain run.jsonl           # a table: without each piece, with only it
    geosleuth explain run.jsonl --json    # the Attribution as JSON

Re-derives the answer from the trace alone: no model, no network, no OCR, no image files.
"""

from __future__ import annotations

import argparse
import json

from graphs.consensus import STRATEGIES


def _explain(args: argparse.Namespace) -> int:
    from .explain import explain, format_attribution

    attribution = explain(args.trace, strategy=args.strategy)
    if args.json:
        print(json.dumps(attribution.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(format_attribution(attribution))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "explain",
        help="how much the answer rests on each piece of evidence",
        description="Leave-one-out attribution from a trace: the answer without each piece of evidence (and each "
        "OCR line, web page, OSM element, model sample) and with only it; single points of failure; a minimal set.",
    )
    parser.add_argument("trace", metavar="TRACE", help="a trace file (.jsonl)")
    parser.add_argument("--json", action="store_true", help="print the Attribution as JSON")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), help="explain under another consensus strategy")
    parser.set_defaults(handler=_explain)
