"""Replay against live: how much faster re-deriving a recorded run is than running it.

Each image is located live (warm: models and gazetteer already loaded, metadata off so
the whole pixel pipeline runs) with its trace recorded, then replayed from that trace
several times; the replayed Location must equal the live one. Prints per-image
seconds and the ratio of medians.

    geosleuth bench replay [--photos ../shared/data/photos/photos.jsonl] [--repeat 3] [--rendered 2]
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


def _images(photos: Path | None) -> list[Path]:
    images = [EXAMPLE]
    if photos is not None and photos.exists():
        for line in photos.read_text(encoding="utf-8").splitlines():
            if line.strip():
                images.append(photos.parent / json.loads(line)["image"])
    return images


def _rendered(count: int, folder: Path) -> list[Path]:
    """Rendered 4000x3000 street scenes saved as JPEG (the real set has no 12 MP photo)."""
    from .bench import rendered_scene_files

    return rendered_scene_files(count, folder)


def bench_replay(photos: Path | None, repeat: int = 3, model_delay_s: float = 1.0, rendered: int = 0) -> dict[str, Any]:
    from agent import Agent

    agent = Agent()
    images = _images(photos)
    agent.locate(images[0], use_metadata=False)  # warm up: OCR models, gazetteer, place index
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        images += _rendered(rendered, Path(tmp))
        for number, image in enumerate(images):
            trace = Path(tmp) / f"run{number}.jsonl"
            started = time.perf_counter()
            live = agent.locate(image, use_metadata=False, trace=trace)
            live_s = time.perf_counter() - started
            replays = []
            for _ in range(repeat):
                started = time.perf_counter()
                again = agent.replay(trace)
                replays.append(time.perf_counter() - started)
                if again.answer_dict() != live.answer_dict():
                    raise AssertionError(f"replay of {image} differs from the live run")
            replay_s = statistics.median(replays)
            rows.append(
                {
                    "image": image.name,
                    "live_s": round(live_s, 4),
                    "replay_s": round(replay_s, 4),
                    "ratio": round(live_s / replay_s, 1),
                }
            )
    live_median = statistics.median(r["live_s"] for r in rows)
    replay_median = statistics.median(r["replay_s"] for r in rows)
    return {
        "images": len(rows),
        "repeat": repeat,
        "live_median_s": round(live_median, 4),
        "replay_median_s": round(replay_median, 4),
        "ratio_of_medians": round(live_median / replay_median, 1),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "identical": True,
        "per_image": rows,
        "model_run": bench_model_replay(model_delay_s, repeat=repeat) if model_delay_s else None,
    }


def _investigator(request: dict[str, Any]) -> Any:
    """A served model's replies for a model-driven run: crop, read, search, answer."""
    from .openai_stub import StubReply

    names = [t["function"]["name"] for t in request.get("tools") or []]
    answer = {"name": "answer", "arguments": {"candidates": [{"lat": 38.7101, "lon": -9.1364, "confidence": 0.7}]}}
    if names == ["answer"]:
        return StubReply(tool_calls=[answer])
    turn = sum(1 for m in request["messages"] if m["role"] == "assistant")
    plan = [
        {"name": "crop", "arguments": {"image": "img:0", "box": [0.4, 0.2, 1.0, 0.5]}},
        {"name": "read_text", "arguments": {"image": "img:1"}},
        {"name": "web_search", "arguments": {"query": '"Rua Augusta" Lisboa'}},
    ]
    return StubReply(tool_calls=[plan[turn] if turn < len(plan) else answer])


def bench_model_replay(delay_s: float = 1.0, samples: int = 3, repeat: int = 3) -> dict[str, Any]:
    """A model-driven run against a local server answering after ``delay_s`` (a served
    VLM's latency per reply), then its replay with no server at all."""
    from agent import Agent

    from .openai_stub import OpenAIStubServer

    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "model.jsonl"
        with OpenAIStubServer(_investigator, delay_s=delay_s) as server:
            agent = Agent(
                model=f"openai:stub@{server.base_url}",
                model_options={"samples": samples, "hybrid": False},
                settings=None,
                tool_settings={"net_cache_dir": tmp},
            )
            agent.locate(EXAMPLE, use_metadata=False)  # warm up
            started = time.perf_counter()
            live = agent.locate(EXAMPLE, use_metadata=False, trace=trace)
            live_s = time.perf_counter() - started
            requests = len(server.requests) // 2
        replayer = Agent()  # no model, no network: only the trace and the image file
        replayer.replay(trace)  # warm up, as the live run was
        replays = []
        for _ in range(repeat):
            started = time.perf_counter()
            again = replayer.replay(trace)
            replays.append(time.perf_counter() - started)
            if again.answer_dict() != live.answer_dict():
                raise AssertionError("replay of the model-driven run differs from the live run")
    replay_s = statistics.median(replays)
    return {
        "delay_s": delay_s,
        "model_requests": requests,
        "live_s": round(live_s, 3),
        "replay_s": round(replay_s, 4),
        "ratio": round(live_s / replay_s, 1),
    }


def format_replay(figures: dict[str, Any]) -> str:
    lines = [
        f"  {r['image']:<36} live {r['live_s']:>7.3f} s   replay {r['replay_s']:>7.4f} s   {r['ratio']:>7.1f}x"
        for r in figures["per_image"]
    ]
    lines.append(
        f"replay: {figures['images']} images, every replay identical to its live run; live median "
        f"{figures['live_median_s']} s, replay median {figures['replay_median_s']} s; ratio of medians "
        f"{figures['ratio_of_medians']}x, median per-image ratio {figures['median_ratio']}x"
    )
    model = figures.get("model_run")
    if model:
        lines.append(
            f"replay of a model-driven run ({model['model_requests']} model replies at {model['delay_s']} s each, "
            f"OCR, web search): live {model['live_s']} s, replay {model['replay_s']} s, {model['ratio']}x"
        )
    return "\n".join(lines)
