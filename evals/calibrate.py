"""Is the agent's confidence honest? Run it on a labelled JSONL (id, image, lat, lon)
with metadata off and report accuracy by confidence.

    python -m evals.calibrate runs/synthetic/synthetic.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent import Agent

from .metrics import Outcome, summarize


def run(jsonl: Path, agent: Agent | None = None, concurrency: int = 2) -> tuple[dict, list[dict]]:
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    agent = agent or Agent()
    images = [str(jsonl.parent / row["image"]) for row in rows]
    results = agent.locate_many(images, concurrency=concurrency, use_metadata=False, return_exceptions=True)
    outcomes, details = [], []
    for row, loc in zip(rows, results):
        point = None if isinstance(loc, Exception) or not loc.answered else (loc.lat, loc.lon)
        confidence = 0.0 if isinstance(loc, Exception) else loc.confidence
        outcome = Outcome.of(row["id"], point, (row["lat"], row["lon"]), confidence)
        outcomes.append(outcome)
        details.append(
            {
                **row,
                "pred": point,
                "confidence": confidence,
                "distance_km": outcome.distance_km,
                "error": str(loc) if isinstance(loc, Exception) else None,
                "summary": None if isinstance(loc, Exception) else loc.summary,
            }
        )
    return summarize(outcomes), details


def format_groups(details: list[dict], field: str) -> str:
    """A Markdown table: per value of ``field``, items, answered, within 25 and 200 km, median confidence."""
    groups: dict[str, list[dict]] = {}
    for row in details:
        groups.setdefault(str(row.get(field)), []).append(row)
    lines = [
        f"| {field} | items | answered | within 25 km | within 200 km | confidence >= 0.5 and > 200 km |",
        "|---|---|---|---|---|---|",
    ]
    for value, rows in sorted(groups.items()):
        near = sum(1 for r in rows if r["distance_km"] is not None and r["distance_km"] <= 25)
        region = sum(1 for r in rows if r["distance_km"] is not None and r["distance_km"] <= 200)
        answered = sum(1 for r in rows if r["pred"] is not None)
        wrong = sum(1 for r in rows if r["confidence"] >= 0.5 and (r["distance_km"] is None or r["distance_km"] > 200))
        lines.append(f"| {value} | {len(rows)} | {answered} | {near} ({near / len(rows):.0%}) | {region} | {wrong} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--details", type=Path, help="write per-item results here (JSONL)")
    parser.add_argument("--by", help="also report per value of this field of the rows (e.g. script)")
    args = parser.parse_args(argv)
    summary, details = run(args.jsonl, concurrency=args.concurrency)
    print(json.dumps(summary, indent=2))
    if args.by:
        print(format_groups(details, args.by))
    if args.details:
        args.details.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in details), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
