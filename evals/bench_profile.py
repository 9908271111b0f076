"""Where a pixel-only run spends its time, stage by stage, measured from the outside.

``python -m evals.bench pixels --profile`` locates each photo (metadata off) and splits
its wall time into stages without touching the code it measures:

- **decode**: :func:`tools.images.load_image` on the file, timed on its own;
- **ocr:<stage>** (overview, zoom, tile, ...): the per-pass seconds the OCR tool puts in
  its trace step's ``meta.stage_seconds``, aligned with the passes in ``data.stages``;
  **ocr:<stage>:<engine>** splits the same seconds by the engine that read the pass;
- **ocr:other**: the OCR call's own ``meta.elapsed_s`` less its passes (planning zooms,
  merging, registering crops);
- **tool:<name>**: every other tool call's ``timing.duration_s`` (``tool:analyze_text``
  is the clue analysis: gazetteer, phones, language);
- **node:<name>**: the wall time of each graph node (ingest, plan, act, propose, verify,
  consensus, finalize), from LangChain callbacks registered through a configure hook, so
  the run is not changed. ``node:act`` contains the tool calls; ``node:propose`` its
  lanes, which run in parallel (their seconds can add up to more than the wall time).

Per stage it prints the median and p95 seconds per photo over photos of 7.5 MP and more
and over all photos, and the process's peak resident memory.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections import defaultdict
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

NODES = ("ingest", "plan", "act", "propose", "verify", "consensus", "review", "finalize")


class NodeTimer(BaseCallbackHandler):
    """Wall seconds per graph node, summed over a run (a node that runs several times,
    or several tasks of one node in parallel, adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._open: dict[UUID, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID, metadata: Any = None, **kwargs: Any
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        name = kwargs.get("name")
        if node in NODES and name == node:
            with self._lock:
                self._open[run_id] = (node, time.perf_counter())

    def _close(self, run_id: UUID) -> None:
        with self._lock:
            opened = self._open.pop(run_id, None)
            if opened is not None:
                self.seconds[opened[0]] += time.perf_counter() - opened[1]

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id)


_TIMER: ContextVar[NodeTimer | None] = ContextVar("geosleuth_bench_node_timer", default=None)
register_configure_hook(_TIMER, inheritable=True)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def stages_of(trace: Any) -> dict[str, float]:
    """Seconds per stage from a run's trace: OCR passes, OCR overhead, other tool calls."""
    out: dict[str, float] = defaultdict(float)
    for step in trace.of_kind("tool_call"):
        seconds = float(step.timing.duration_s or 0.0)
        meta = step.meta or {}
        data = step.observation.data or {}
        passes = data.get("stages") if isinstance(data, dict) else None
        if step.name == "read_text" and isinstance(passes, list):
            per_pass = list(meta.get("stage_seconds") or [])
            engine = str(data.get("backend") or "ocr")
            for number, stage in enumerate(passes):
                spent = float(per_pass[number] or 0.0) if number < len(per_pass) else 0.0
                name = str(stage.get("stage") or "pass")
                out[f"ocr:{name}"] += spent
                out[f"ocr:{name}:{stage.get('backend') or engine}"] += spent
            elapsed = float(meta.get("elapsed_s") or seconds)
            out["ocr:other"] += max(0.0, elapsed - sum(float(s or 0.0) for s in per_pass))
            out["tool:read_text"] += seconds
        else:
            out[f"tool:{step.name}"] += seconds
    return dict(out)


def profile_one(agent: Any, source: Path) -> dict[str, Any]:
    """One photo: decode timed alone, then a located run with its stages."""
    from agent.exports import as_trace
    from tools.images import load_image

    started = time.perf_counter()
    loaded = load_image(source, max_pixels=agent.max_image_pixels, max_bytes=agent.max_image_bytes)
    decode = time.perf_counter() - started
    megapixels = loaded.image.width * loaded.image.height / 1e6
    del loaded
    timer = NodeTimer()
    token = _TIMER.set(timer)
    try:
        started = time.perf_counter()
        location = agent.locate(source, use_metadata=False)
        total = time.perf_counter() - started
    finally:
        _TIMER.reset(token)
    stages = {"decode": decode, **stages_of(as_trace(location)), **{f"node:{k}": v for k, v in timer.seconds.items()}}
    return {
        "id": source.stem,
        "megapixels": round(megapixels, 1),
        "seconds": total,
        "answered": location.answered,
        "stages": stages,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    names = sorted({name for row in rows for name in row["stages"]})
    table = {}
    for name in names:
        values = [row["stages"].get(name, 0.0) for row in rows]
        table[name] = {"median_s": round(statistics.median(values), 3), "p95_s": round(_p95(values), 3)}
    totals = [row["seconds"] for row in rows]
    return {
        "photos": len(rows),
        "median_s": round(statistics.median(totals), 3) if totals else None,
        "p95_s": round(_p95(totals), 3) if totals else None,
        "stages": table,
    }


def bench_profile(photos: Path | None, rendered: int = 5, large_mp: float = 7.5) -> dict[str, Any]:
    """Profile the real photos and ``rendered`` 12 MP scenes (saved as JPEG, so their
    decode is measured too)."""
    import json

    from agent import Agent

    from .bench import _peak_rss_mb, rendered_scene_files

    sources: list[Path] = []
    if photos is not None and photos.exists():
        for line in photos.read_text(encoding="utf-8").splitlines():
            if line.strip():
                sources.append(photos.parent / json.loads(line)["image"])
    agent = Agent()
    with tempfile.TemporaryDirectory() as tmp:
        sources.extend(rendered_scene_files(rendered, Path(tmp)))
        if sources:
            agent.locate(sources[0], use_metadata=False)  # warm: OCR models, gazetteer, place index
        rows = [profile_one(agent, source) for source in sources]
    large = [row for row in rows if row["megapixels"] >= large_mp]
    return {
        "large_mp": large_mp,
        "large": _summary(large),
        "all": _summary(rows),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "per_image": [{**row, "seconds": round(row["seconds"], 3)} for row in rows],
    }


def format_profile(figures: dict[str, Any]) -> str:
    large, every = figures["large"], figures["all"]
    lines = [f"  {row['id']:<36} {row['megapixels']:>5} MP  {row['seconds']:>6.2f} s" for row in figures["per_image"]]
    lines.append(
        f"| stage | >= {figures['large_mp']} MP median s | p95 s | all photos median s | p95 s |",
    )
    lines.append("|---|---|---|---|---|")
    for name, cell in every["stages"].items():
        big = large["stages"].get(name, {"median_s": 0.0, "p95_s": 0.0})
        lines.append(f"| {name} | {big['median_s']} | {big['p95_s']} | {cell['median_s']} | {cell['p95_s']} |")
    lines.append(
        f"| **whole run** | **{large['median_s']}** | **{large['p95_s']}** | {every['median_s']} | {every['p95_s']} |"
    )
    lines.append(
        f"profile: {every['photos']} photos ({large['photos']} of >= {figures['large_mp']} MP); "
        f"peak RSS {figures['peak_rss_mb']} MB"
    )
    return "\n".join(lines)
