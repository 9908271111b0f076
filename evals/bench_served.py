"""Throughput of the evaluation runner against concurrency, with a served model.

A local OpenAI-compatible server (:mod:`evals.openai_stub`) stands in for vLLM: every
request waits ``delay`` seconds, like a GPU decoding, and the model answers at once
with the ``answer`` tool. What is measured is the runner and the graph — how well
items in flight overlap model latency — not a model. ``--server-concurrency`` caps
how many requests the server works on at once, to see the runner saturate a server.

    geosleuth bench served --items 16 --concurrency 1,2,4,8 --delay 0.5
    geosleuth bench served --engine ray --actors 1,2,4,8 --items 32 --no-ocr --actor-cpus 0.25

With ``--engine ray`` each level is a pool of N Ray actors (one Agent each, started
before the clock runs) beside the local engine at N threads, and the scaling efficiency
items/s ÷ (N × items/s at N = 1) is printed for both. Seconds count the items alone
(not the pool's start-up, nor the report written afterwards).
"""

from __future__ import annotations

import random
import tempfile
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
    levels: list[int],
    items: int = 16,
    delay_s: float = 0.5,
    samples: int = 3,
    server_concurrency: int | None = None,
    *,
    engine: str = "local",
    actor_cpus: float = 0.25,
    no_ocr: bool = False,
) -> dict[str, Any]:
    """Items per second and model requests per second at each concurrency level (local
    threads), and with ``engine="ray"`` at each actor-pool size too."""
    from agent import Agent

    from .openai_stub import OpenAIStubServer
    from .runner import EvalConfig, run_eval

    options = {"hybrid": False, "samples": samples, "max_rounds": 1}
    ablations = ("ocr",) if no_ocr else ()
    engines = ["local", "ray"] if engine == "ray" else ["local"]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    with (
        tempfile.TemporaryDirectory() as tmp,
        OpenAIStubServer(_responder, delay_s=delay_s, max_concurrency=server_concurrency) as server,
    ):
        dataset = _items(Path(tmp), items)
        spec = f"openai:stub@{server.base_url}"
        agent = Agent(model=spec, model_options=options, disable=["ocr"] if no_ocr else [])
        for name in engines:
            for level in levels:
                before = len(server.requests)
                config = EvalConfig(
                    out=Path(tmp) / f"{name}{level}",
                    concurrency=level,
                    engine=name,
                    actors=level,
                    actor_cpus=actor_cpus,
                    model=spec,
                    model_options=options,
                    ablations=ablations,
                )
                outcome = run_eval(dataset, config, agent=agent if name == "local" else None, progress=False)
                seconds = outcome.engine["run_s"]
                requests = len(server.requests) - before
                rows[name].append(
                    {
                        "level": level,
                        "seconds": round(seconds, 3),
                        "items_per_s": round(items / seconds, 3),
                        "requests": requests,
                        "requests_per_s": round(requests / seconds, 3),
                        "startup_s": round(outcome.engine.get("startup_s", 0.0), 2),
                        "max_in_flight": server.max_in_flight,
                        ("concurrency" if name == "local" else "actors"): level,
                    }
                )
    for table in rows.values():
        base = table[0]["items_per_s"] if table else 0.0
        for row in table:
            row["speedup"] = round(row["items_per_s"] / base, 2) if base else None
            row["efficiency"] = round(row["items_per_s"] / (row["level"] * base), 3) if base else None
    return {
        "items": items,
        "delay_s": delay_s,
        "samples": samples,
        "server_concurrency": server_concurrency,
        "no_ocr": no_ocr,
        "actor_cpus": actor_cpus if engine == "ray" else None,
        "engines": rows,
        "levels": rows["local"],
    }


def format_served(figures: dict[str, Any]) -> str:
    lines = [
        f"served: {figures['items']} items, {figures['samples']} samples each, server delay {figures['delay_s']} s, "
        f"server concurrency {figures['server_concurrency'] or 'unlimited'}"
        + (", no OCR" if figures.get("no_ocr") else "")
        + (f", {figures['actor_cpus']} CPU per actor" if figures.get("actor_cpus") else ""),
        "  engine  threads/actors   seconds   items/s   requests/s   speedup   efficiency",
    ]
    for name, table in figures["engines"].items():
        for row in table:
            lines.append(
                f"  {name:<6}  {row['level']:>14}   {row['seconds']:>7.2f}   {row['items_per_s']:>7.2f}   "
                f"{row['requests_per_s']:>10.2f}   {row['speedup']:>6.2f}x   {100 * row['efficiency']:>9.0f}%"
            )
    return "\n".join(lines)
