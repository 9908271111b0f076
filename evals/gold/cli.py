"""``python -m evals.gold FILE.jsonl``: resolve every gold answer of a GeoBrowse file and say how."""

from __future__ import annotations

from ..gold_prompt import asked_granularity
from .resolve import resolve_gold


def main(argv: list[str] | None = None) -> int:
    """Resolve every gold answer of a GeoBrowse JSONL file and print how they resolved:
    ``python -m evals.gold ../shared/data/geobrowse/level1.jsonl``."""
    import argparse
    import json
    from collections import Counter
    from pathlib import Path

    from ..resources import place_index

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every answer with its note")
    args = parser.parse_args(argv)
    index = place_index()
    rows = [json.loads(line) for line in args.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts: Counter[str] = Counter()
    for row in rows:
        gold = resolve_gold(row["gold_image_answer"], row.get("prompt"), places=index)
        counts[gold.granularity] += 1
        if args.verbose or not gold.resolved:
            asked = asked_granularity(row.get("prompt"))
            print(f"{row.get('question_id')}\t{gold.granularity}\tasked={asked}\t{gold.answer!r}\t{gold.note}")
    print(f"{len(rows)} answers: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return 0
