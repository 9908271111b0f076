"""Polite, cached, failure-tolerant access to online services (web search, Overpass).

Every request goes through one path that:

* answers from an on-disk cache keyed by the request when a fresh copy exists (TTL),
  so repeated runs and evaluations do not hammer public services;
* answers "offline" at once when the settings say so, or when a fast TCP probe (once
  per run and host) finds the host unreachable: an offline run costs one probe, not a
  timeout per call;
* waits between requests to the same host (a polite default of one per second);
* retries with exponential backoff and jitter on 429, 502, 503, 504, timeouts and
  dropped connections, honouring ``Retry-After``;
* turns every failure into a typed ``NetError`` with a one-line message, which the
  tools return as an error observation (a tool never raises into the graph).
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel

from .cache import writable_dir
from .errors import GeoSleuthError

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class NetError(GeoSleuthError):
    """A request to an online service failed; ``kind`` says how, ``status`` the HTTP status if any."""

    kind = "error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OfflineError(NetError):
    kind = "offline"


class RateLimitedError(NetError):
    kind = "rate_limited"


class ServiceError(NetError):
    kind = "service"


class BadResponseError(NetError):
    kind = "bad_response"


def _user_agent() -> str:
    try:
        own = version("geosleuth")
    except PackageNotFoundError:
        own = "dev"
    return f"geosleuth/{own} (image geolocation research; python-httpx)"


@dataclass
class NetSettings:
    """How politely and how patiently to use the network."""

    offline: bool = False
    timeout_s: float = 10.0
    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    min_interval_s: float = 1.0
    cache_ttl_s: float = 7 * 24 * 3600.0
    probe_timeout_s: float = 1.5
    cache_dir: Path | None = None
    user_agent: str = field(default_factory=_user_agent)

    def __post_init__(self) -> None:
        if self.cache_dir is not None and not isinstance(self.cache_dir, Path):
            self.cache_dir = Path(self.cache_dir)


class HostPacer:
    """At least ``min_interval_s`` between two requests to one host, across threads."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, interval: float) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + interval
        if start > now:
            time.sleep(start - now)


#: One pacer per process: politeness holds across runs and agents.
PACER = HostPacer()


class ResponseCache:
    """JSON answers on disk, one file per request key, with a time to live."""

    def __init__(self, directory: Path | None, ttl_s: float) -> None:
        self.directory = writable_dir(directory / "http") if directory is not None else None
        self.ttl_s = ttl_s

    @staticmethod
    def key(*parts: Any) -> str:
        text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Any | None:
        if self.directory is None or self.ttl_s <= 0:
            return None
        path = self.directory / key[:2] / f"{key}.json"
        try:
            if time.time() - path.stat().st_mtime > self.ttl_s:
                return None
            return json.loads(path.read_text(encoding="utf-8"))["data"]
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, data: Any) -> None:
        if self.directory is None or self.ttl_s <= 0:
            return
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{key}.{threading.get_ident()}.tmp"
            tmp.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")
            tmp.replace(folder / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written only costs speed


class Reachability:
    """Whether hosts answer at all, probed once per host (per run)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._known: dict[tuple[str, int], str | None] = {}
        self._lock = threading.Lock()

    def problem(self, host: str, port: int) -> str | None:
        """None when the host accepts connections, else why not."""
        key = (host, port)
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            with socket.create_connection((host, port), timeout=self.timeout_s):
                found = None
        except OSError as exc:
            found = f"{host}:{port} unreachable ({type(exc).__name__}: {exc})"
        with self._lock:
            self._known[key] = found
        return found

    def mark_down(self, host: str, port: int, why: str) -> None:
        with self._lock:
            self._known[(host, port)] = why


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise NetError(f"not an absolute URL: {url}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, in either of its forms (seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class EgressRecord(BaseModel):
    """One request that left the machine: to which service and host, what was sent, how
    it ended. Runs keep these in their trace and on the Location, so an investigator can
    say exactly what their material exposed."""

    service: str
    host: str
    method: str = "GET"
    url: str = ""
    sent: str = ""
    outcome: str = "ok"
    status: int | None = None
    attempts: int = 1


Egress = Callable[[EgressRecord], None]

#: Longest text kept of what a request sent (queries are short; Overpass QL can be long).
MAX_SENT_CHARS = 2000


def describe_sent(params: dict[str, Any] | None, data: Any) -> str:
    """What a request carried, as a person would read it."""
    parts = []
    for fields in (params, data if isinstance(data, dict) else None):
        if fields:
            parts.append("&".join(f"{k}={v}" for k, v in fields.items() if v is not None))
    if isinstance(data, (str, bytes)):
        parts.append(data if isinstance(data, str) else f"<{len(data)} bytes>")
    text = " | ".join(p for p in parts if p)
    return text if len(text) <= MAX_SENT_CHARS else text[:MAX_SENT_CHARS] + "…"


def _public_url(url: str) -> str:
    """The URL without credentials or query string (the query is in ``sent``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class CallResult:
    data: Any
    cached: bool
    attempts: int


class NetClient:
    """The one way tools talk to services. One per run (its reachability is per run).
    ``egress`` is told of every request that went out (cache hits send nothing)."""

    def __init__(
        self, settings: NetSettings | None = None, pacer: HostPacer | None = None, egress: Egress | None = None
    ) -> None:
        self.egress = egress
        self.settings = settings or NetSettings()
        self.pacer = pacer or PACER
        self.cache = ResponseCache(self.settings.cache_dir, self.settings.cache_ttl_s)
        self.reachability = Reachability(self.settings.probe_timeout_s)

    def _backoff(self, attempt: int, hint: float | None) -> float:
        base = hint if hint is not None else self.settings.backoff_s * (2**attempt)
        return min(self.settings.max_backoff_s, base) * (1.0 + 0.1 * random.random())

    def _guard(self, host: str, port: int) -> None:
        if self.settings.offline:
            raise OfflineError("offline mode: network use is switched off")
        problem = self.reachability.problem(host, port)
        if problem:
            raise OfflineError(problem)

    def get_json(self, url: str, *, params: dict[str, Any] | None = None, **kw: Any) -> CallResult:
        return self.request_json("GET", url, params=params, **kw)

    def _report(
        self, service: str | None, method: str, url: str, sent: str, outcome: str, status: int | None, attempts: int
    ) -> None:
        if self.egress is None:
            return
        host = urlsplit(url).hostname or url
        self.egress(
            EgressRecord(
                service=service or host,
                host=host,
                method=method,
                url=_public_url(url),
                sent=sent,
                outcome=outcome,
                status=status,
                attempts=attempts,
            )
        )

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
        use_cache: bool = True,
        service: str | None = None,
    ) -> CallResult:
        """Send a request and parse its JSON body, with cache, pacing and retries; every
        request that goes out is reported to ``egress`` with what it sent."""
        key = self.cache.key(method, url, params, data)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return CallResult(hit, cached=True, attempts=0)
        host, port = _endpoint(url)
        self._guard(host, port)
        sent = describe_sent(params, data)
        try:
            result = self._send_json(method, url, host, port, params, data, headers, timeout_s, use_cache, key)
        except NetError as exc:
            self._report(service, method, url, sent, f"failed: {exc}", getattr(exc, "status", None), 0)
            raise
        self._report(service, method, url, sent, "ok", 200, result.attempts)
        return result

    def _send_json(
        self,
        method: str,
        url: str,
        host: str,
        port: int,
        params: dict[str, Any] | None,
        data: dict[str, Any] | str | None,
        headers: dict[str, str] | None,
        timeout_s: float | None,
        use_cache: bool,
        key: str,
    ) -> CallResult:
        merged = {"User-Agent": self.settings.user_agent, **(headers or {})}
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        last = "no attempt made"
        for attempt in range(self.settings.retries + 1):
            self.pacer.wait(host, self.settings.min_interval_s)
            try:
                response = httpx.request(
                    method,
                    url,
                    params=params,
                    data=data if isinstance(data, dict) else None,
                    content=data if isinstance(data, str) else None,
                    headers=merged,
                    timeout=timeout,
                )
            except httpx.ConnectError as exc:
                self.reachability.mark_down(host, port, f"{host}:{port} refused the connection ({exc})")
                raise OfflineError(f"{host}:{port} refused the connection") from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                last = (
                    f"{type(exc).__name__} after {timeout:g} s" if isinstance(exc, httpx.TimeoutException) else str(exc)
                )
                if attempt < self.settings.retries:
                    time.sleep(self._backoff(attempt, None))
                    continue
                raise NetError(f"{host}: {last} ({attempt + 1} attempts)") from None
            if response.status_code in RETRY_STATUSES:
                last = f"HTTP {response.status_code}"
                if attempt < self.settings.retries:
                    time.sleep(self._backoff(attempt, _retry_after(response)))
                    continue
                error = RateLimitedError if response.status_code == 429 else ServiceError
                raise error(f"{host}: {last} after {attempt + 1} attempts", response.status_code)
            if response.status_code >= 400:
                snippet = response.text[:120].replace("\n", " ")
                raise ServiceError(f"{host}: HTTP {response.status_code}: {snippet}", response.status_code)
            try:
                parsed = response.json()
            except ValueError:
                raise BadResponseError(f"{host}: response is not JSON ({response.text[:60]!r})") from None
            if use_cache:
                self.cache.put(key, parsed)
            return CallResult(parsed, cached=False, attempts=attempt + 1)
        raise NetError(f"{host}: {last}")  # pragma: no cover - the loop always returns or raises

    def call(
        self,
        key_parts: tuple[Any, ...],
        host_url: str,
        fn: Callable[[], Any],
        *,
        classify: Callable[[BaseException], type[NetError] | None],
        use_cache: bool = True,
    ) -> CallResult:
        """Cache, pace and retry a call made by a third-party client (e.g. ddgs).

        ``classify`` maps the client's exceptions to a NetError class: RateLimitedError
        and NetError (timeouts) are retried with backoff, others raised at once; None
        means "not a network problem" and re-raises the exception as it is.
        """
        key = self.cache.key(*key_parts)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return CallResult(hit, cached=True, attempts=0)
        host, port = _endpoint(host_url)
        self._guard(host, port)
        sent = describe_sent(None, " ".join(str(p) for p in key_parts[1:]))
        try:
            result = self._call_live(host, fn, classify, use_cache, key)
        except NetError as exc:
            self._report(str(key_parts[0]), "GET", host_url, sent, f"failed: {exc}", None, 0)
            raise
        self._report(str(key_parts[0]), "GET", host_url, sent, "ok", None, result.attempts)
        return result

    def _call_live(
        self,
        host: str,
        fn: Callable[[], Any],
        classify: Callable[[BaseException], type[NetError] | None],
        use_cache: bool,
        key: str,
    ) -> CallResult:
        for attempt in range(self.settings.retries + 1):
            self.pacer.wait(host, self.settings.min_interval_s)
            try:
                data = fn()
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    raise
                retryable = kind in (RateLimitedError, NetError)
                if retryable and attempt < self.settings.retries:
                    time.sleep(self._backoff(attempt, None))
                    continue
                raise kind(f"{host}: {type(exc).__name__}: {exc} ({attempt + 1} attempts)") from None
            if use_cache:
                self.cache.put(key, data)
            return CallResult(data, cached=False, attempts=attempt + 1)
        raise NetError(f"{host}: gave up")  # pragma: no cover
