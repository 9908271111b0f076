"""Run a superstep's parallel tasks one after another in the calling thread.

LangGraph runs the tasks of a superstep that has several (here: the K proposals sent by
``plan``) on a thread pool it creates for each invocation. That is right for a live run,
whose model samples wait on a server in parallel. A replay answers every call from its
trace: its tasks are pure Python, so threads only add their start-up cost and make the
tasks take turns on the GIL (a waiting thread can sit out a whole 5 ms switch
interval). Replay matches calls by content, not order, so running the tasks in sequence
derives the same result.

LangGraph reads the runner's task submitter from the run's config (its
``CONFIG_KEY_RUNNER_SUBMIT``, a key it uses for the same purpose internally). Where a
LangGraph release no longer has that key, :func:`inline_config` returns an empty
mapping and runs keep the thread pool: slower, never wrong.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from contextvars import copy_context
from typing import Any

try:
    from langgraph._internal._constants import CONFIG_KEY_RUNNER_SUBMIT
except ImportError:  # pragma: no cover - depends on the installed LangGraph
    CONFIG_KEY_RUNNER_SUBMIT = None


def _submit_inline(
    fn: Callable[..., Any],
    *args: Any,
    __name__: str | None = None,
    __cancel_on_exit__: bool = False,
    __reraise_on_exit__: bool = True,
    __next_tick__: bool = False,
    **kwargs: Any,
) -> concurrent.futures.Future[Any]:
    """Run ``fn`` now, in a copy of the current context as the thread pool would, and
    hand back its already-settled future (the runner reads results and errors there)."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    try:
        future.set_result(copy_context().run(fn, *args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - the runner re-raises it, as for a pool task
        future.set_exception(exc)
    return future


def _inline_submitter() -> Callable[..., concurrent.futures.Future[Any]]:
    return _submit_inline


def inline_config() -> dict[str, Any]:
    """``configurable`` entries that make a run's parallel tasks run inline."""
    return {CONFIG_KEY_RUNNER_SUBMIT: _inline_submitter} if CONFIG_KEY_RUNNER_SUBMIT else {}
