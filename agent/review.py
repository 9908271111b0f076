"""Human review of a run's candidates before its answer is final.

``agent.locate(img, review=True)`` returns a :class:`PendingReview`: the run is paused
before finalize, its state held by LangGraph's SQLite checkpointer; ``resume()`` with a
decision finishes it. ``review=<callable>`` asks the callable and resumes at once
(:func:`terminal_reviewer` is what ``geosleuth locate --review`` uses). The decision is
recorded in the trace as a ``review`` step.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from langgraph.types import Command

from graphs.review import ReviewDecision
from tools.cache import default_cache_dir, writable_dir
from tools.errors import ConfigError

from .location import Location

if TYPE_CHECKING:
    from graphs.context import RunContext

    from .agent import Agent

Reviewer = Callable[[dict[str, Any]], ReviewDecision | dict[str, Any] | None]


def review_checkpointer(cache_dir: Path | None) -> Any:
    """A SQLite checkpointer in the cache directory (one file for all paused runs)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    folder = writable_dir(cache_dir or default_cache_dir())
    target = str(folder / "reviews.sqlite") if folder is not None else ":memory:"
    return SqliteSaver(sqlite3.connect(target, check_same_thread=False))


class PendingReview:
    """A run paused for review: ``request`` shows the answer and the ranked candidates."""

    def __init__(
        self, agent: Agent, context: RunContext, config: dict[str, Any], request: dict[str, Any], started: float
    ):
        self._agent = agent
        self._context = context
        self._config = config
        self._started = started
        self._lock = threading.Lock()
        self._done: Location | None = None
        self.request = request

    @property
    def run_id(self) -> str:
        return self._context.recorder.run_id

    @property
    def candidates(self) -> list[dict[str, Any]]:
        return list(self.request["candidates"])

    def resume(self, decision: ReviewDecision | dict[str, Any] | None = None, **fields: Any) -> Location:
        """Finish the run with a decision (a ReviewDecision, a dict, or its fields as
        keywords: ``select=1``, ``reject=[0]``, ``hint="Portugal"``, ``note=...``).
        No decision accepts the answer as it is."""
        with self._lock:
            if self._done is not None:
                raise ConfigError(f"run {self.run_id} was already reviewed")
            if decision is not None and fields:
                raise ConfigError("give a decision or its fields, not both")
            chosen = decision if decision is not None else ReviewDecision(**fields)
            payload = chosen.model_dump(mode="json") if isinstance(chosen, ReviewDecision) else dict(chosen)
            final = self._agent._run_graph(
                self._agent.review_graph, Command(resume=payload), self._context, self._config
            )
            self._done = self._agent._finish(self._context, final, self._started)
            return self._done


def _ask(prompt: str, stream_in: IO[str], stream_out: IO[str]) -> str:
    stream_out.write(prompt)
    stream_out.flush()
    return stream_in.readline().strip()


def terminal_reviewer(stream_in: IO[str], stream_out: IO[str]) -> Reviewer:
    """Shows the candidates and reads a decision: Enter accepts, a number selects,
    ``-N`` rejects (several: ``-0 -2``), anything else is a hint (``Portugal``)."""

    def review(request: dict[str, Any]) -> ReviewDecision:
        answer = request["answer"]
        where = f"{answer['lat']:.5f}, {answer['lon']:.5f}" if answer["lat"] is not None else "no answer"
        stream_out.write(f"\nReview: {where} {answer['place']} (confidence {answer['confidence']:.2f})\n")
        for cand in request["candidates"]:
            stream_out.write(
                f"  [{cand['index']}] {cand['label'] or '?'}  {cand['lat']:.4f}, {cand['lon']:.4f}  "
                f"score {cand['score']:.3f}  {cand['country_code'] or ''}\n"
            )
        reply = _ask("Enter to accept, N to choose, -N to reject, or a hint (e.g. a country): ", stream_in, stream_out)
        if not reply:
            return ReviewDecision(reviewer="terminal")
        parts = reply.split()
        if all(p.lstrip("-").isdigit() for p in parts):
            rejected = [int(p[1:]) for p in parts if p.startswith("-")]
            chosen = [int(p) for p in parts if not p.startswith("-")]
            return ReviewDecision(select=chosen[0] if chosen else None, reject=rejected, reviewer="terminal")
        return ReviewDecision(hint=reply, reviewer="terminal")

    return review


def run_review(agent: Agent, context: RunContext, config: dict[str, Any], state: Any, reviewer: Any, started: float):
    """Run until the review pause; then a PendingReview, or the finished Location when
    a reviewer callable answers (or when there is nothing to review)."""
    final = agent._run_graph(agent.review_graph, state, context, config)
    paused = final.get("__interrupt__") if isinstance(final, dict) else None
    if not paused:
        return agent._finish(context, final, started)
    pending = PendingReview(agent, context, config, paused[0].value, started)
    if isinstance(reviewer, (ReviewDecision, dict)):
        return pending.resume(reviewer)  # a decision made in advance
    if callable(reviewer):
        return pending.resume(reviewer(pending.request))
    return pending
