"""Runs in a bounded pool of worker threads inside the server process.

A run is a row first (``queued``), so nothing is lost when the pool is busy or the server
stops: at start, queued runs are queued again, runs that were ``running`` when the server
died are marked ``interrupted`` (their trace keeps what was written), and runs awaiting
review stay so: the Agent stored them on disk when they paused, and
``Agent.resume(run_id, ...)`` finishes them in this process or the next.

One Agent serves every run with the same settings (online or not, image upload, model),
so the gazetteer and OCR models load once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import Agent
from agent.review import PendingReview

from .originals import Originals
from .store import Store, now

log = logging.getLogger("geosleuth.workspace")


@dataclass(frozen=True)
class RunSettings:
    """What decides which Agent a run needs."""

    online: bool = False
    allow_image_upload: bool = False
    model: str | None = None


def default_agent(settings: RunSettings) -> Agent:
    return Agent(online=settings.online, allow_image_upload=settings.allow_image_upload, model=settings.model)


AgentFactory = Callable[[RunSettings], Agent]


class RunPool:
    def __init__(
        self,
        store: Store,
        originals: Originals,
        traces: Path,
        *,
        workers: int = 2,
        agent_factory: AgentFactory | None = None,
    ) -> None:
        self.store = store
        self.originals = originals
        self.traces = traces
        self.traces.mkdir(parents=True, exist_ok=True)
        self.factory = agent_factory or default_agent
        self._agents: dict[RunSettings, Agent] = {}
        self._agents_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="geosleuth-run")
        self._futures: set[Future[Any]] = set()

    # ------------------------------------------------------------------ lifecycle
    def recover(self) -> dict[str, int]:
        """After a start: interrupted runs marked, queued runs queued again."""
        interrupted = 0
        for run in self.store.runs_with_status("running"):
            if self.store.set_run(
                run["id"],
                "run_interrupted",
                expect="running",
                status="interrupted",
                finished=now(),
                error="the server stopped while this run was working; its trace keeps what was done",
            ):
                interrupted += 1
        queued = self.store.runs_with_status("queued")
        for run in queued:
            self.submit(run["id"])
        return {"interrupted": interrupted, "requeued": len(queued)}

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def trace_path(self, run: dict[str, Any]) -> Path:
        return self.traces / Path(run["trace_file"]).name

    def agent(self, settings: RunSettings) -> Agent:
        with self._agents_lock:
            if settings not in self._agents:
                self._agents[settings] = self.factory(settings)
            return self._agents[settings]

    def _track(self, future: Future[Any]) -> None:
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    # ------------------------------------------------------------------ work
    def submit(self, run_id: str) -> None:
        self._track(self._pool.submit(self._guarded, self._execute, run_id))

    def submit_review(self, run_id: str, decision: dict[str, Any]) -> None:
        self._track(self._pool.submit(self._guarded, self._resume, run_id, decision))

    def _guarded(self, work: Callable[..., None], run_id: str, *args: Any) -> None:
        try:
            work(run_id, *args)
        except Exception as exc:  # noqa: BLE001 - a run's failure is its row's, never the pool's
            log.warning("run %s failed: %s: %s", run_id, type(exc).__name__, exc)
            self.store.set_run(
                run_id, "run_failed", status="failed", finished=now(), error=f"{type(exc).__name__}: {exc}"
            )

    @staticmethod
    def _settings(run: dict[str, Any]) -> RunSettings:
        return RunSettings(bool(run["online"]), bool(run["allow_image_upload"]), run["model"] or None)

    def _execute(self, run_id: str) -> None:
        if not self.store.set_run(run_id, "run_started", expect="queued", status="running", started=now()):
            return  # already taken (or no longer queued)
        run = self.store.run(run_id)
        assert run is not None
        image = self.store.image(run["image_id"])
        assert image is not None
        agent = self.agent(self._settings(run))
        outcome = agent.locate(
            str(self.originals.path(image["sha256"])),
            question=run["question"] or None,
            hint=run["hint"] or None,
            trace=self.trace_path(run),
            review=bool(run["review"]),
        )
        if isinstance(outcome, PendingReview):
            self.store.set_run(
                run_id,
                "run_awaiting_review",
                status="awaiting_review",
                agent_run_id=outcome.run_id,
                review_request=_jsonable(outcome.request),
            )
            return
        self._finish(run_id, outcome)

    def _resume(self, run_id: str, decision: dict[str, Any]) -> None:
        run = self.store.run(run_id)
        assert run is not None
        agent = self.agent(self._settings(run))
        location = agent.resume(run["agent_run_id"], decision)
        self._finish(run_id, location)

    def _finish(self, run_id: str, location: Any) -> None:
        data = location.model_dump(mode="json", exclude={"trace"})
        result = location.answer_dict()
        result = _jsonable({k: v for k, v in result.items() if k not in ("evidence", "candidates")})
        result["agent_run_id"] = location.run_id
        result["egress"] = data.get("egress", [])
        self.store.finish_run(run_id, result, data.get("evidence", []), data.get("candidates", []))

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for the work submitted so far (tests, the benchmark)."""
        from concurrent.futures import wait

        wait(list(self._futures), timeout=timeout)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))
