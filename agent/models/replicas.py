"""Several servers of one model: requests spread over them, dead ones set aside.

``openai:MODEL@URL1,URL2,…`` names replicas of one model (vLLM on each GPU, or on
each node). :class:`ReplicaPool` sends each request to the live replica with the fewest
requests outstanding (least-outstanding-requests balancing keeps a slow replica from
piling up work), takes a replica out when it cannot be reached or answers 502/503/504
(the request is then retried on another), and puts it back once it answers a probe
(``GET /models``) again, tried at most every ``retry_s`` seconds. A single server is
never taken out (every request tries it, as before replicas existed). Counts per
replica land in the evaluation's ``summary.json``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Replica:
    """One server and what it has done."""

    url: str
    outstanding: int = 0
    requests: int = 0
    ok: int = 0
    failed: int = 0
    errors: int = 0
    taken_out: int = 0
    put_back: int = 0
    up: bool = True
    retry_at: float = 0.0
    probing: bool = field(default=False, repr=False)

    def counts(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.failed,
            "errors": self.errors,
            "taken_out": self.taken_out,
            "put_back": self.put_back,
            "up": self.up,
        }


def replica_failure(exc: BaseException | None) -> bool:
    """Whether an error says the server is gone or unwell (retry elsewhere) rather than
    that the request itself is bad (retrying would fail the same way)."""
    seen = 0
    while exc is not None and seen < 6:
        status = getattr(exc, "status_code", None)
        if status in (502, 503, 504):
            return True
        name = type(exc).__name__
        if name in ("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout"):
            return True
        if name in ("RemoteProtocolError", "ReadError", "ConnectionRefusedError", "ConnectionResetError"):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class ReplicaPool:
    """Least-outstanding-requests choice over live replicas, with probing re-admission."""

    def __init__(self, urls: list[str], probe: Callable[[str], bool], retry_s: float = 2.0) -> None:
        if not urls:
            raise ValueError("a replica pool needs at least one URL")
        self.replicas = [Replica(url) for url in urls]
        self.probe = probe
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._turn = 0

    def _due_for_probe(self, now: float, exclude: set[str]) -> Replica | None:
        for replica in self.replicas:
            if not replica.up and not replica.probing and replica.retry_at <= now and replica.url not in exclude:
                replica.probing = True
                return replica
        return None

    def _readmit_due(self, exclude: set[str]) -> None:
        """Probe replicas whose pause is over (outside the lock; one prober per replica;
        each at most once per call)."""
        exclude = set(exclude)
        while True:
            with self._lock:
                replica = self._due_for_probe(time.monotonic(), exclude)
            if replica is None:
                return
            exclude.add(replica.url)
            alive = False
            try:
                alive = self.probe(replica.url)
            except Exception:  # noqa: BLE001 - a probe that fails in any way means still down
                alive = False
            with self._lock:
                replica.probing = False
                if alive:
                    replica.up = True
                    replica.put_back += 1
                else:
                    replica.retry_at = time.monotonic() + self.retry_s

    def acquire(self, exclude: set[str] | frozenset[str] = frozenset()) -> Replica | None:
        """The live replica with the fewest requests outstanding (None: none is left)."""
        self._readmit_due(set(exclude))
        with self._lock:
            live = [r for r in self.replicas if r.up and r.url not in exclude]
            if not live:
                return None
            self._turn += 1
            n = len(self.replicas)
            # ties go round-robin, so an idle pool still spreads its first requests
            chosen = min(live, key=lambda r: (r.outstanding, (self.replicas.index(r) - self._turn) % n))
            chosen.outstanding += 1
            chosen.requests += 1
            return chosen

    def release(self, replica: Replica, outcome: str) -> None:
        """``ok``, ``failed`` (the replica is taken out) or ``error`` (the request's own fault)."""
        with self._lock:
            replica.outstanding -= 1
            if outcome == "ok":
                replica.ok += 1
            elif outcome == "failed":
                replica.failed += 1
                if replica.up and len(self.replicas) > 1:  # a lone server is always asked again
                    replica.up = False
                    replica.taken_out += 1
                replica.retry_at = time.monotonic() + self.retry_s
            else:
                replica.errors += 1

    def stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {r.url: r.counts() for r in self.replicas}
