"""Waiting for work with a deadline, when the work itself cannot be interrupted.

Python cannot kill a thread. A call that may hang (a third-party client without a total
timeout, a tool stuck in a read) runs in its own daemon thread and the caller waits at
most the time it has left; past that, the caller goes on and the result, if one ever
comes, is dropped. One thread per call, never a pool: an abandoned call must not hold
a pool slot that later calls need.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlinePassed(Exception):
    """The call did not finish in the time it was given (it may still be running)."""

    def __init__(self, waited_s: float) -> None:
        super().__init__(f"not finished after {waited_s:.3g} s")
        self.waited_s = waited_s


def seconds_left(deadline: float | None) -> float | None:
    """Seconds until a ``time.monotonic()`` deadline (never negative); None without one."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def call_with_timeout(fn: Callable[[], T], timeout_s: float | None, *, name: str = "geosleuth-call") -> T:
    """``fn()``, or :class:`DeadlinePassed` after ``timeout_s`` seconds (None: wait as long as it takes).

    Exceptions raised by ``fn`` reach the caller as they are. Context variables
    (LangChain callbacks, tracing) are carried into the worker thread.
    """
    if timeout_s is None:
        return fn()
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(fn)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    worker.join(max(0.0, timeout_s))
    if worker.is_alive():
        raise DeadlinePassed(time.monotonic() - started)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class BudgetSpent(Exception):
    """A call cut at the run's deadline. ``waited_s`` is how long it ran before it was
    abandoned, or None when the budget was spent before it could start."""

    def __init__(self, waited_s: float | None) -> None:
        super().__init__("the run's wall-time budget is spent" if waited_s is None else f"cut after {waited_s:.3g} s")
        self.waited_s = waited_s


def call_within(fn: Callable[[], T], deadline: float | None, *, name: str = "geosleuth-call") -> T:
    """``fn()``, cancelled at the run's ``deadline`` (a ``time.monotonic()`` value; None:
    no limit, and no worker thread). Raises :class:`BudgetSpent` when the deadline had
    passed before the call or passes during it (the call is abandoned, its result dropped).
    Tool and model calls share it, each saying in its own words what was cut."""
    left = seconds_left(deadline)
    if left is None:
        return fn()
    if left <= 0:
        raise BudgetSpent(None)
    try:
        return call_with_timeout(fn, left, name=name)
    except DeadlinePassed as passed:
        raise BudgetSpent(passed.waited_s) from None
