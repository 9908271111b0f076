"""The Ray engine: an evaluation spread over a pool of actors, on one machine or many.

Each actor builds one :class:`agent.Agent` from the run's config (models and OCR load
once per actor) and turns items into records with the same :class:`~evals.runner.Evaluator`
the local engine uses, writing the trace into its own scratch folder; the record and the
trace's bytes go back to the driver, whose :class:`~evals.runner.RecordWriter` writes
``results.jsonl`` and ``traces/`` exactly as the local engine does. So resuming, the
report and every figure are the same whichever engine ran.

Scheduling: at most ``IN_FLIGHT_PER_ACTOR`` items are queued on an actor at a time
(back-pressure: 210 000 OSV-5M items are never all submitted), and a finished item makes
room for the next. When an actor dies (its process killed, its node lost) the items it
held go back to the front of the queue and a replacement actor joins the pool; an item
that has killed ``MAX_ATTEMPTS`` actors is recorded as failed instead of being tried
forever. The driver writes each item once, so nothing is lost or written twice.

Actors read images by path: on a cluster the dataset must be on storage every node sees
(or installed at the same path), and geosleuth installed in each node's environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections import deque
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from tools.errors import ConfigError, GeoSleuthError

from .items import EvalItem
from .runner import EvalConfig, RecordWriter, blank_record

IN_FLIGHT_PER_ACTOR = 2
MAX_ATTEMPTS = 3


class RayEngineError(GeoSleuthError, RuntimeError):
    """The Ray engine cannot go on (Ray missing, or no actor left alive)."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayEngineError("the ray engine needs Ray: pip install 'geosleuth[ray]'") from None
    return ray


class EvalWorker:
    """One actor's Agent and Evaluator (made a Ray actor class by :func:`_actor_class`)."""

    def __init__(self, config: dict[str, Any]) -> None:
        from .runner import Evaluator, build_agent

        settings = EvalConfig(**{**config, "out": Path(config["out"])})
        self.scratch = Path(tempfile.mkdtemp(prefix="geosleuth-actor-"))
        self.agent = build_agent(settings)
        self.evaluator = Evaluator(self.agent, replace(settings, out=self.scratch))
        self.evaluator.traces.mkdir(parents=True, exist_ok=True)
        self._warm()

    def _warm(self) -> None:
        """Load what the first item would otherwise pay for (the gazetteer, the graph, the
        model client), so an actor is ready when it reports ready."""
        self.agent.gazetteer.countries()
        _ = self.agent.graph
        warm = getattr(getattr(self.agent.policy, "model", None), "warm", None)
        if callable(warm):
            warm()

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


def _actor_class(ray: Any, config: EvalConfig) -> Any:
    return ray.remote(num_cpus=config.actor_cpus, num_gpus=config.actor_gpus or None, max_restarts=0)(EvalWorker)


def _connect(ray: Any, config: EvalConfig) -> bool:
    """Join or start Ray; True when this call started it (and must shut it down)."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    if config.address:
        options["address"] = config.address
    ray.init(**options)
    return True


def _pool_size(ray: Any, config: EvalConfig) -> int:
    if config.actors is not None:
        if config.actors < 1:
            raise ConfigError("--actors must be >= 1")
        return config.actors
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    return max(1, int(cpus // config.actor_cpus)) if config.actor_cpus > 0 else max(1, int(cpus))


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


def _is_actor_death(ray: Any, exc: BaseException) -> bool:
    errors = ray.exceptions
    deaths = tuple(
        getattr(errors, name)
        for name in ("RayActorError", "ActorDiedError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError")
        if hasattr(errors, name)
    )
    return isinstance(exc, deaths)


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
    ray = _ray()
    if not pending:  # a finished run resumed: nothing to start a cluster for
        return {"endpoints": None, "actors": 0, "replacements": 0, "duplicates": 0, "startup_s": 0.0, "run_s": 0.0}
    started_here = _connect(ray, config)
    try:
        return _schedule(ray, config, pending, writer)
    finally:
        if started_here:
            ray.shutdown()


def _schedule(ray: Any, config: EvalConfig, pending: list[EvalItem], writer: RecordWriter) -> dict[str, Any]:
    size = _pool_size(ray, config)
    actor_cls = _actor_class(ray, config)
    payload = {**asdict(config), "out": str(config.out), "engine": "local"}
    run_tag = uuid.uuid4().hex[:8]
    made = 0

    def new_actor() -> Any:
        nonlocal made
        made += 1
        return actor_cls.options(name=f"geosleuth-eval-{run_tag}-{made}", scheduling_strategy="SPREAD").remote(payload)

    actors = [new_actor() for _ in range(size)]
    load = {actor: 0 for actor in actors}
    queue: deque[EvalItem] = deque(pending)
    attempts: dict[str, int] = {}
    in_flight: dict[Any, tuple[Any, EvalItem]] = {}
    replacements = 0
    started = time.perf_counter()
    try:  # wait for the pool (its Agents load here), so run_s times the items alone
        ray.get([actor.where.remote() for actor in actors])
    except Exception as exc:
        if not _is_actor_death(ray, exc):
            raise
    startup_s = time.perf_counter() - started
    started = time.perf_counter()
    while queue or in_flight:
        for actor in list(load):
            while load[actor] < IN_FLIGHT_PER_ACTOR and queue:
                item = queue.popleft()
                in_flight[actor.run.remote(_absolute(item))] = (actor, item)
                load[actor] += 1
        if not in_flight:
            raise RayEngineError("no Ray actor is left to run the remaining items")
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            actor, item = in_flight.pop(ref)
            if actor in load:
                load[actor] -= 1
            try:
                record, trace = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a lost actor or a crashed task: retry or record
                if not _is_actor_death(ray, exc):
                    writer.write(_failed(item, f"unexpected {type(exc).__name__}: {exc}"))
                    continue
                attempts[item.id] = attempts.get(item.id, 0) + 1
                if actor in load:  # first news of this actor's death: replace it
                    del load[actor]
                    if replacements < MAX_ATTEMPTS * max(size, 1):
                        replacements += 1
                        load[new_actor()] = 0
                if attempts[item.id] >= MAX_ATTEMPTS:
                    writer.write(_failed(item, f"RayActorError: {attempts[item.id]} actors died running this item"))
                else:
                    queue.appendleft(item)
                continue
            record["images"] = [str(p) for p in item.images]  # as the dataset named them, like the local engine
            writer.write(record, trace)
    run_s = time.perf_counter() - started
    parts = []
    for actor in load:
        try:
            parts.append(ray.get(actor.endpoint_stats.remote(), timeout=30))
        except Exception:  # noqa: BLE001 - a late actor death only loses its counts
            parts.append(None)
        ray.kill(actor)
    return {
        "endpoints": _merge_endpoints(parts),
        "actors": size,
        "replacements": replacements,
        "duplicates": writer.duplicates,
        "startup_s": startup_s,
        "run_s": run_s,
    }
