"""A pool of Ray actors that works through a list of tasks and survives actors dying.

Shared by the two commands that spread work over Ray: ``geosleuth eval --engine ray``
(records scored against a truth) and ``geosleuth locate --engine ray`` (answers for a
folder or a list of photos). Both need the same scheduling, so it lives here once:

- back-pressure: at most ``in_flight`` tasks are queued on an actor at a time (210 000
  OSV-5M items are never all submitted), and a finished task makes room for the next;
- actor death (its process killed, its node lost): the tasks it held go back to the front
  of the queue and a replacement actor joins the pool; a task that has killed
  ``max_attempts`` actors is reported failed instead of being tried forever;
- every task is reported exactly once, to ``on_result`` or to ``on_failure``, in the
  driver's thread, so the caller's writer needs no lock.

The actor class is the caller's: any class whose constructor takes one payload and which
has a ``where()`` method (host and pid) and the task method named in :meth:`ActorPool.map`.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tools.errors import ConfigError, GeoSleuthError

Task = TypeVar("Task")

IN_FLIGHT_PER_ACTOR = 2
MAX_ATTEMPTS = 3


class RayEngineError(GeoSleuthError, RuntimeError):
    """The Ray engine cannot go on (Ray missing, or no actor left alive)."""


def import_ray() -> Any:
    """Ray, or a typed error saying how to install it (it is an optional extra)."""
    try:
        import ray
    except ImportError:
        raise RayEngineError("the ray engine needs Ray: pip install 'geosleuth[ray]'") from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the pool is (``--address``, ``--actors``, ``--actor-cpus``, ``--actor-gpus``)."""

    address: str | None = None
    actors: int | None = None
    actor_cpus: float = 1.0
    actor_gpus: float = 0.0


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, joined at ``address`` (or started here when none runs yet); a Ray this call
    started is shut down on leaving, one that was already running is left as it was."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
        if address:
            options["address"] = address
        ray.init(**options)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def warm_agent(agent: Any) -> None:
    """Load what an actor's first item would otherwise pay for (the gazetteer, the graph,
    the model client), so an actor is ready when it says it is."""
    agent.gazetteer.countries()
    _ = agent.graph
    warm = getattr(getattr(agent.policy, "model", None), "warm", None)
    if callable(warm):
        warm()


def pool_size(ray: Any, actors: int | None, actor_cpus: float) -> int:
    """``actors`` when given, else as many actors as the cluster's CPUs hold."""
    if actors is not None:
        if actors < 1:
            raise ConfigError("--actors must be >= 1")
        return actors
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    return max(1, int(cpus // actor_cpus)) if actor_cpus > 0 else max(1, int(cpus))


def is_actor_death(ray: Any, exc: BaseException) -> bool:
    """Whether ``exc`` says the actor (not the task) was lost: such a task is retried."""
    errors = ray.exceptions
    deaths = tuple(
        getattr(errors, name)
        for name in ("RayActorError", "ActorDiedError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError")
        if hasattr(errors, name)
    )
    return isinstance(exc, deaths)


class ActorPool(Generic[Task]):
    """``options.actors`` actors of ``actor_class`` built from ``payload`` (by default as
    many as the cluster's CPUs hold at ``options.actor_cpus`` each), replaced when they die.

    ``replacements``, ``startup_s`` (building the first actors: models load there) and
    ``run_s`` (the tasks alone) are kept for the caller's summary.
    """

    def __init__(
        self,
        ray: Any,
        actor_class: Any,
        payload: Any,
        options: RayOptions,
        *,
        name: str = "geosleuth",
        in_flight: int = IN_FLIGHT_PER_ACTOR,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._ray = ray
        cpus, gpus = options.actor_cpus, options.actor_gpus
        self._remote = ray.remote(num_cpus=cpus, num_gpus=gpus or None, max_restarts=0)(actor_class)
        self._payload = payload
        self._name = f"{name}-{uuid.uuid4().hex[:8]}"
        self._made = 0
        self.size = pool_size(ray, options.actors, cpus)
        self.in_flight = in_flight
        self.max_attempts = max_attempts
        self.replacements = 0
        self.startup_s = 0.0
        self.run_s = 0.0
        self.actors: list[Any] = [self._new_actor() for _ in range(self.size)]

    def _new_actor(self) -> Any:
        self._made += 1
        options = {"name": f"{self._name}-{self._made}", "scheduling_strategy": "SPREAD"}
        return self._remote.options(**options).remote(self._payload)

    def wait_ready(self) -> list[Any]:
        """Block until every actor is built (so ``run_s`` times the tasks alone); each
        actor's ``where()`` answer, None for one that died being built."""
        started = time.perf_counter()
        answers = []
        for ref in [actor.where.remote() for actor in self.actors]:
            try:
                answers.append(self._ray.get(ref))
            except Exception as exc:
                if not is_actor_death(self._ray, exc):
                    raise
                answers.append(None)
        self.startup_s = time.perf_counter() - started
        return answers

    def map(
        self,
        tasks: Sequence[Task],
        method: str,
        on_result: Callable[[Task, Any], None],
        on_failure: Callable[[Task, str], None],
        prepare: Callable[[Task], Any] = lambda task: task,
        extra: tuple[Any, ...] = (),
    ) -> None:
        """Run ``actor.<method>(prepare(task), *extra)`` for every task; report each exactly once."""
        ray = self._ray
        load = {actor: 0 for actor in self.actors}
        queue: deque[int] = deque(range(len(tasks)))
        attempts: dict[int, int] = {}
        pending: dict[Any, tuple[Any, int]] = {}
        started = time.perf_counter()
        while queue or pending:
            for actor in list(load):
                while load[actor] < self.in_flight and queue:
                    index = queue.popleft()
                    pending[getattr(actor, method).remote(prepare(tasks[index]), *extra)] = (actor, index)
                    load[actor] += 1
            if not pending:
                raise RayEngineError("no Ray actor is left to run the remaining tasks")
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                actor, index = pending.pop(ref)
                if actor in load:
                    load[actor] -= 1
                try:
                    value = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost actor or a crashed task: retry or report
                    if not is_actor_death(ray, exc):
                        on_failure(tasks[index], f"unexpected {type(exc).__name__}: {exc}")
                        continue
                    attempts[index] = attempts.get(index, 0) + 1
                    if actor in load:  # first news of this actor's death: replace it
                        del load[actor]
                        if self.replacements < self.max_attempts * max(self.size, 1):
                            self.replacements += 1
                            load[self._new_actor()] = 0
                    if attempts[index] >= self.max_attempts:
                        on_failure(tasks[index], f"RayActorError: {attempts[index]} actors died running this item")
                    else:
                        queue.appendleft(index)
                    continue
                on_result(tasks[index], value)
        self.actors = list(load)
        self.run_s = time.perf_counter() - started

    def call_each(self, method: str, timeout: float = 30.0) -> list[Any]:
        """``actor.<method>()`` on every live actor; None for one that died meanwhile."""
        answers = []
        for actor in self.actors:
            try:
                answers.append(self._ray.get(getattr(actor, method).remote(), timeout=timeout))
            except Exception:  # noqa: BLE001 - a late actor death only loses its answer
                answers.append(None)
        return answers

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
