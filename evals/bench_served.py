"""Throughput of the evaluation runner against concurrency, with a served model.

A local OpenAI-compatible server (:mod:`evals.openai_stub`) stands in for vLLM: every
request waits ``delay`` seconds, like a GPU decoding, and the model answers at once
with the ``answer`` tool. What is measured is the runner and the graph — how well
items in flight overlap model latency — not a model. ``--server-concurrency`` caps
how many requests the server works on at once, to see the runner saturate a server.

    geosleuth bench served --items 16 --concurrency 1,2,4,8 --delay 0.5
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from .items import EvalItem, Truth


def _responder(request: dict[str, Any]) -> Any:
    from .openai_stub import StubReply

    rng = random.Random(len(request["messages"]) + int(request.get("seed") or 0))
    candidate = {"lat": 40 + rng.uniform(-1, 1), "lon": 10 + rng.uniform(-1, 1), "confidence": 0.6}
    return StubReply(tool_calls=[{"name": "answer", "arguments": {"candidates": [candidate]}}])


def _items(folder: Path, count: int) -> list[EvalItem]:
    items = []
    for i in range(count):
        path = folder / f"item{i}.jpg"
        Image.new("RGB", (320, 240), ((i * 37) % 255, 120, 200)).save(path)
        items.append(EvalItem(id=f"item{i}", images=[path], truth=Truth(lat=40.0, lon=10.0)))
    return items


def bench_served(
    levels: list[int], items: int = 16, delay_s: float = 0.5, samples: int = 3, server_concurrency: int | None = None
) -> dict[str, Any]:
    """Items per second and model requests per second at each concurrency level."""
    from agent import Agent

    from .openai_stub import OpenAIStubServer
    from .runner import EvalConfig, run_eval

    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        OpenAIStubServer(_responder, delay_s=delay_s, max_concurrency=server_concurrency) as server,
    ):
        dataset = _items(Path(tmp), items)
        agent = Agent(
            model=f"openai:stub@{server.base_url}",
            model_options={"hybrid": False, "samples": samples, "max_rounds": 1},
        )
        for level in levels:
            before = len(server.requests)
            started = time.perf_counter()
            run_eval(dataset, EvalConfig(out=Path(tmp) / f"c{level}", concurrency=level), agent=agent, progress=False)
            seconds = time.perf_counter() - started
            requests = len(server.requests) - before
            rows.append(
                {
                    "concurrency": level,
                    "seconds": round(seconds, 3),
                    "items_per_s": round(items / seconds, 3),
                    "requests": requests,
                    "requests_per_s": round(requests / seconds, 3),
                    "max_in_flight": server.max_in_flight,
                }
            )
    base = rows[0]["items_per_s"] if rows else 0.0
    for row in rows:
        row["speedup"] = round(row["items_per_s"] / base, 2) if base else None
    return {
        "items": items,
        "delay_s": delay_s,
        "samples": samples,
        "server_concurrency": server_concurrency,
        "levels": rows,
    }


def format_served(figures: dict[str, Any]) -> str:
    lines = [
        f"served: {figures['items']} items, {figures['samples']} samples each, server delay {figures['delay_s']} s, "
        f"server concurrency {figures['server_concurrency'] or 'unlimited'}",
        "  concurrency   seconds   items/s   requests/s   speedup",
    ]
    for row in figures["levels"]:
        lines.append(
            f"  {row['concurrency']:>11}   {row['seconds']:>7.2f}   {row['items_per_s']:>7.2f}   "
            f"{row['requests_per_s']:>10.2f}   {row['speedup']:>6.2f}x"
        )
    return "\n".join(lines)
