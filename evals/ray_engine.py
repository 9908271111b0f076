"""The Ray engine: an evaluation spread over a pool of actors, on one machine or many.

Each actor builds one :class:`agent.Agent` from the run's config (models and OCR load
once per actor) and turns items into records with the same :class:`~evals.runner.Evaluator`
the local engine uses, writing the trace into its own scratch folder; the record and the
trace's bytes go back to the driver, whose :class:`~evals.runner.RecordWriter` writes
``results.jsonl`` and ``traces/`` exactly as the local engine does. So resuming, the
report and every figure are the same whichever engine ran.

Scheduling (back-pressure, replacing dead actors, giving up on an item that has killed
several) is :class:`agent.ray_pool.ActorPool`'s, shared with ``geosleuth locate --engine
ray``. The driver writes each item once, so nothing is lost or written twice.

Actors read images by path: on a cluster the dataset must be on storage every node sees
(or installed at the same path), and geosleuth installed in each node's environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from agent.ray_pool import ActorPool, RayEngineError, RayOptions, import_ray, ray_session, warm_agent

from .items import EvalItem
from .runner import EvalConfig, RecordWriter, blank_record

__all__ = ["EvalWorker", "RayEngineError", "run_ray"]


class EvalWorker:
    """One actor's Agent and Evaluator (each actor of the :class:`~agent.ray_pool.ActorPool` holds one)."""

    def __init__(self, config: dict[str, Any]) -> None:
        from .runner import Evaluator, build_agent

        settings = EvalConfig(**{**config, "out": Path(config["out"])})
        self.scratch = Path(tempfile.mkdtemp(prefix="geosleuth-actor-"))
        self.agent = build_agent(settings)
        self.evaluator = Evaluator(self.agent, replace(settings, out=self.scratch))
        self.evaluator.traces.mkdir(parents=True, exist_ok=True)
        warm_agent(self.agent)

    def where(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid()}

    def run(self, item: EvalItem) -> tuple[dict[str, Any], bytes | None]:
        from .runner import trace_file

        record = self.evaluator.record(item)
        record["worker"] = f"{socket.gethostname()}:{os.getpid()}"  # which actor ran it, for the record
        path = trace_file(self.evaluator.traces, item.id)
        trace = None
        if path.exists():
            trace = path.read_bytes()
            path.unlink()
        return record, trace

    def endpoint_stats(self) -> dict[str, dict[str, Any]] | None:
        from .runner import endpoint_stats

        return endpoint_stats(self.agent)

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "scratch", ""), ignore_errors=True)


def _merge_endpoints(parts: list[dict[str, dict[str, Any]] | None]) -> dict[str, dict[str, Any]] | None:
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        for url, counts in (part or {}).items():
            entry = merged.setdefault(url, {})
            for key, value in counts.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    entry[key] = entry.get(key, 0) + value
                else:
                    entry[key] = value
    return merged or None


def _absolute(item: EvalItem) -> EvalItem:
    """The item with absolute image paths: an actor's working folder is not the driver's."""
    if all(p.is_absolute() for p in item.images):
        return item
    return item.model_copy(update={"images": [p.absolute() for p in item.images]})


def _failed(item: EvalItem, reason: str) -> dict[str, Any]:
    return {**blank_record(item, reason), "elapsed_s": 0.0}


def run_ray(config: EvalConfig, pending: list[EvalItem], writer: RecordWriter) -> dict[str, Any]:
    """Run ``pending`` on an actor pool; every record goes through ``writer``. Returns
    facts for the summary (merged per-endpoint counts) and the run (pool, restarts)."""
    if not pending:  # a finished run resumed: nothing to start a cluster for
        import_ray()  # still refuse when Ray is missing
        return {"endpoints": None, "actors": 0, "replacements": 0, "duplicates": 0, "startup_s": 0.0, "run_s": 0.0}
    with ray_session(config.address) as ray:
        return _schedule(ray, config, pending, writer)


def _schedule(ray: Any, config: EvalConfig, pending: list[EvalItem], writer: RecordWriter) -> dict[str, Any]:
    payload = {**asdict(config), "out": str(config.out), "engine": "local"}
    options = RayOptions(config.address, config.actors, config.actor_cpus, config.actor_gpus)
    pool: ActorPool[EvalItem] = ActorPool(ray, EvalWorker, payload, options, name="geosleuth-eval")

    def written(item: EvalItem, answer: tuple[dict[str, Any], bytes | None]) -> None:
        record, trace = answer
        record["images"] = [str(p) for p in item.images]  # as the dataset named them, like the local engine
        writer.write(record, trace)

    try:
        pool.wait_ready()
        pool.map(pending, "run", written, lambda item, reason: writer.write(_failed(item, reason)), prepare=_absolute)
        endpoints = _merge_endpoints(pool.call_each("endpoint_stats"))
    finally:
        pool.close()
    return {
        "endpoints": endpoints,
        "actors": pool.size,
        "replacements": pool.replacements,
        "duplicates": writer.duplicates,
        "startup_s": pool.startup_s,
        "run_s": pool.run_s,
    }
