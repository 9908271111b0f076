"""How long ``Agent.explain`` takes per piece of evidence.

Each image is located once (metadata off, so the whole pixel pipeline runs and leaves
evidence to explain) with its trace recorded; then the trace is explained several times
and the median is kept. Figures: milliseconds per evidence item (the explanation's time,
reading the trace included, divided by the run's evidence count), per image and as
medians over the 16 real photos and over rendered street scenes (the Lisbon example,
itself rendered, among them). The goal is 10 ms per
item or less.

    python -m evals.bench explain [--photos ../shared/data/photos/photos.jsonl] [--rendered 6] [--repeat 5]
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_MS_PER_ITEM = 10.0
SCENES = [
    ("street", "Porto", "PT"),
    ("shop_phone", "Graz", "AT"),
    ("welcome", "Malmo", "SE"),
    ("direction", "Curitiba", "BR"),
    ("street", "Lyon", "FR"),
    ("shop_phone", "Kraków", "PL"),
]


def _photos(photos: Path | None) -> list[tuple[str, Any]]:
    if photos is None or not photos.exists():
        return []
    rows = [json.loads(line) for line in photos.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["id"], photos.parent / row["image"]) for row in rows]


def _scenes(count: int, seed: int = 5) -> list[tuple[str, Any]]:
    from .synthetic import render_scene

    rng = random.Random(seed)
    out = []
    for number in range(count):
        kind, place, country = SCENES[number % len(SCENES)]
        image, _, _ = render_scene(kind, place, country, rng, size=(1600, 1067))
        out.append((f"rendered_{kind}_{place}", image))
    return out


def _measure(agent: Any, name: str, image: Any, folder: Path, repeat: int) -> dict[str, Any]:
    trace = folder / f"{len(list(folder.iterdir()))}.jsonl"
    location = agent.locate(image, use_metadata=False, trace=trace)
    times = []
    attribution = None
    for _ in range(repeat):
        started = time.perf_counter()
        attribution = agent.explain(trace)
        times.append(time.perf_counter() - started)
    assert attribution is not None
    ms = statistics.median(times) * 1000.0
    items = len(location.evidence)
    return {
        "id": name,
        "evidence": items,
        "groups": len(attribution.groups),
        "counterfactuals": attribution.counterfactuals,
        "explain_ms": round(ms, 2),
        "ms_per_item": round(ms / items, 3) if items else None,
        "single_points_of_failure": len(attribution.single_points_of_failure),
        "reproduced": attribution.reproduced,
        "answered": location.answered,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_item = [r["ms_per_item"] for r in rows if r["ms_per_item"] is not None]
    return {
        "runs": len(rows),
        "with_evidence": len(per_item),
        "evidence_total": sum(r["evidence"] for r in rows),
        "median_ms_per_item": round(statistics.median(per_item), 3) if per_item else None,
        "max_ms_per_item": round(max(per_item), 3) if per_item else None,
        "median_explain_ms": round(statistics.median(r["explain_ms"] for r in rows), 2) if rows else None,
        "reproduced": sum(r["reproduced"] for r in rows),
    }


def bench_explain(photos: Path | None, rendered: int = 6, repeat: int = 5) -> dict[str, Any]:
    from agent import Agent

    agent = Agent()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm = folder / "warm.jsonl"
        example = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
        agent.locate(example, use_metadata=False, trace=warm)
        agent.explain(warm)  # warm up: OCR models, gazetteer, place index
        warm.unlink()
        real = [_measure(agent, name, image, folder, repeat) for name, image in _photos(photos)]
        scenes = [_measure(agent, "example_lisbon_street", example, folder, repeat)]
        scenes += [_measure(agent, name, image, folder, repeat) for name, image in _scenes(rendered)]
    return {
        "goal_ms_per_item": GOAL_MS_PER_ITEM,
        "repeat": repeat,
        "photos": _summary(real),
        "rendered": _summary(scenes),
        "per_image": real + scenes,
    }


def format_explain(figures: dict[str, Any]) -> str:
    lines = [
        f"  {r['id']:<36} {r['evidence']:>3} evidence  {r['explain_ms']:>8.2f} ms  "
        + (f"{r['ms_per_item']:>7.3f} ms/item" if r["ms_per_item"] is not None else "      - ms/item")
        + ("" if r["reproduced"] else "  (approximate)")
        for r in figures["per_image"]
    ]
    for label in ("photos", "rendered"):
        s = figures[label]
        lines.append(
            f"explain, {label}: {s['runs']} runs ({s['with_evidence']} with evidence, {s['evidence_total']} items), "
            f"median {s['median_ms_per_item']} ms per item (max {s['max_ms_per_item']}), median "
            f"{s['median_explain_ms']} ms per run; {s['reproduced']}/{s['runs']} reproduced exactly; "
            f"goal <= {figures['goal_ms_per_item']} ms per item"
        )
    return "\n".join(lines)
