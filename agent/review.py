"""Human review of a run's candidates before its answer is final.

``agent.locate(img, review=True)`` returns a :class:`PendingReview`: the run is paused
before finalize, its state held by LangGraph's SQLite checkpointer; ``resume()`` with a
decision finishes it. ``review=<callable>`` asks the callable and resumes at once
(:func:`terminal_reviewer` is what ``geosleuth locate --review`` uses). The decision is
recorded in the trace as a ``review`` step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from langgraph.types import Command

from graphs.checkpoint import sqlite_checkpointer
from graphs.review import ReviewDecision
from tools.cache import default_cache_dir, writable_dir
from tools.errors import ConfigError

from .location import Location
from .paused import forget_paused, store_paused

if TYPE_CHECKING:
    from .session import RunSession

Reviewer = Callable[[dict[str, Any]], ReviewDecision | dict[str, Any] | None]


def review_checkpointer(cache_dir: Path | None) -> Any:
    """A SQLite checkpointer in the cache directory (one file for all paused runs), with
    every type a run's state holds registered with its serializer."""
    folder = writable_dir(cache_dir or default_cache_dir())
    return sqlite_checkpointer(folder / "reviews.sqlite" if folder is not None else ":memory:")


def with_decision(review: Any) -> dict[str, Any] | None:
    """A decision made in advance (``review={"select": 1}``), as its dict; else None."""
    if isinstance(review, ReviewDecision):
        return review.model_dump(mode="json")
    if isinstance(review, dict):
        return dict(review)
    return None


class PendingReview:
    """A run paused for review: ``request`` shows the answer and the ranked candidates."""

    def __init__(self, session: RunSession, request: dict[str, Any]):
        self._session = session
        self._lock = threading.Lock()
        self._done: Location | None = None
        self.request = request

    @property
    def run_id(self) -> str:
        return self._session.run_id

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
            self._done = finish_review(self._session, decision_payload(decision, fields))
            return self._done


def decision_payload(decision: ReviewDecision | dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    if decision is not None and fields:
        raise ConfigError("give a decision or its fields, not both")
    chosen = decision if decision is not None else ReviewDecision(**fields)
    return chosen.model_dump(mode="json") if isinstance(chosen, ReviewDecision) else dict(chosen)


def finish_review(session: RunSession, payload: dict[str, Any]) -> Location:
    """Resume a paused graph with the decision and finish the run; the stored pause is
    forgotten once the run is finished."""
    final = session.invoke(session.agent.review_graph, Command(resume=payload), thread=True)
    location = session.finish(final)
    forget_paused(session.agent, session.run_id)
    return location


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


def start_review(session: RunSession, reviewer: Any) -> Location | PendingReview:
    """Run until the review pause; then a PendingReview (stored, so it can be resumed in
    another process), or the finished Location when a reviewer callable answers (or when
    there is nothing to review)."""
    final = session.invoke(session.agent.review_graph, thread=True)
    paused = final.get("__interrupt__") if isinstance(final, dict) else None
    if not paused:
        return session.finish(final)
    request = paused[0].value
    store_paused(session, request)
    pending = PendingReview(session, request)
    if callable(reviewer) and not isinstance(reviewer, bool):
        return pending.resume(reviewer(pending.request))
    return pending
