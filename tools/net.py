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
* bounds every request and every call: a request has a *total* deadline (connect, the
  wait for headers and every read of the body together, enforced by a watchdog that
  closes the socket, so a server trickling one byte a second cannot hold it), a body
  larger than ``max_response_bytes`` is refused as it streams in (never held whole),
  and no retry wait runs past the call's deadline: the earlier of ``call_timeout_s``
  and the run's own deadline (its wall-time budget, ``ToolContext.deadline``). A
  ``Retry-After`` longer than the time left is not waited for: the call fails at once;
* turns every failure into a typed ``NetError`` with a one-line message, which the
  tools return as an error observation (a tool never raises into the graph).
"""

from __future__ import annotations

import contextlib
import functools
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
from .deadline import DeadlinePassed, call_with_timeout
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


class ResponseTooLargeError(BadResponseError):
    """The body is over ``max_response_bytes``: refused while streaming, never read whole."""

    kind = "too_large"


class DeadlineExceededError(NetError):
    """The request or the whole call ran out of time (its own timeout or the run's budget)."""

    kind = "timeout"


@functools.cache
def _user_agent() -> str:
    """Asked once per process: reading the installed package's metadata parses a file."""
    try:
        own = version("geosleuth")
    except PackageNotFoundError:
        own = "dev"
    return f"geosleuth/{own} (image geolocation research; python-httpx)"


@dataclass
class NetSettings:
    """How politely and how patiently to use the network."""

    offline: bool = False
    #: Total seconds for one request: connect, headers and the whole body together.
    timeout_s: float = 10.0
    #: Total seconds for one call, retries and their waits included (the run's own
    #: deadline, when earlier, wins).
    call_timeout_s: float = 60.0
    #: Largest response body accepted (after decompression); larger ones are refused.
    max_response_bytes: int = 32_000_000
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

    def wait(self, host: str, interval: float, deadline: float | None = None) -> bool:
        """Wait for this host's next slot; False (without taking it) when it comes after ``deadline``."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            if deadline is not None and start >= deadline:
                return False
            self._next[host] = start + interval
        if start > now:
            time.sleep(start - now)
        return True


#: One pacer per process: politeness holds across runs and agents.
PACER = HostPacer()

#: Services whose published usage policy sets the pace: ``net_min_interval_s`` may slow
#: requests to them further, never speed them up. Nominatim: "an absolute maximum of 1
#: request per second" (https://operations.osmfoundation.org/policies/nominatim/).
SERVICE_MIN_INTERVAL_S: dict[str, float] = {"nominatim": 1.0}


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

    def problem(self, host: str, port: int, deadline: float | None = None) -> str | None:
        """None when the host accepts connections, else why not (the probe ends by ``deadline``)."""
        key = (host, port)
        with self._lock:
            if key in self._known:
                return self._known[key]
        timeout = self.timeout_s if deadline is None else max(0.05, min(self.timeout_s, deadline - time.monotonic()))
        try:
            with socket.create_connection((host, port), timeout=timeout):
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
    return _retry_after_value(response.headers)


def _retry_after_value(headers: httpx.Headers | dict[str, str]) -> float | None:
    value = headers.get("retry-after")
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


@dataclass
class CallResult:
    data: Any
    cached: bool
    attempts: int


class _Watchdog:
    """Shuts a response's socket down at a deadline, so a blocked read ends at once
    (a read timeout alone restarts with every byte a trickling server sends)."""

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self.fired = False
        self._timer: threading.Timer | None = None
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        self._sock = sock
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(OSError):  # already closed: nothing left to stop
            self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _charset(headers: httpx.Headers) -> str:
    """The body's declared charset (UTF-8 when none or an unknown one is declared)."""
    import codecs

    for part in headers.get("content-type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip('"')).name
            except LookupError:
                break
    return "utf-8"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.3g} MB"


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


class NetClient:
    """The one way tools talk to services. One per run (its reachability is per run).

    ``deadline`` is the run's deadline (a ``time.monotonic()`` value, or a function
    returning one or None, read at every call): no request or wait runs past it.
    ``egress`` is told of every request that went out (cache hits send nothing).
    """

    def __init__(
        self,
        settings: NetSettings | None = None,
        pacer: HostPacer | None = None,
        deadline: float | Callable[[], float | None] | None = None,
        egress: Egress | None = None,
    ) -> None:
        self.egress = egress
        self.settings = settings or NetSettings()
        self.pacer = pacer or PACER
        self.cache = ResponseCache(self.settings.cache_dir, self.settings.cache_ttl_s)
        self.reachability = Reachability(self.settings.probe_timeout_s)
        self._deadline = deadline

    # ------------------------------------------------------------------ time
    def run_deadline(self) -> float | None:
        """The run's deadline, if it has one."""
        return self._deadline() if callable(self._deadline) else self._deadline

    def call_deadline(self) -> float:
        """When a call starting now must be over: its own limit or the run's, whichever is first."""
        own = time.monotonic() + self.settings.call_timeout_s
        run = self.run_deadline()
        return own if run is None else min(own, run)

    def _deadline_reason(self, deadline: float) -> str:
        run = self.run_deadline()
        if run is not None and run <= deadline:
            return "the run's wall-time budget"
        return f"the call limit of {self.settings.call_timeout_s:g} s"

    def pause(self, seconds: float, deadline: float, host: str, why: str) -> None:
        """Sleep ``seconds`` unless that would pass ``deadline``; then fail at once instead."""
        left = deadline - time.monotonic()
        if seconds >= left:
            raise DeadlineExceededError(
                f"{host}: {why}; waiting {seconds:.3g} s would pass {self._deadline_reason(deadline)} "
                f"({max(0.0, left):.3g} s left)"
            )
        time.sleep(seconds)

    def _backoff(self, attempt: int, hint: float | None) -> float:
        base = hint if hint is not None else self.settings.backoff_s * (2**attempt)
        return min(self.settings.max_backoff_s, base) * (1.0 + 0.1 * random.random())

    def _guard(self, host: str, port: int, deadline: float | None = None) -> None:
        if self.settings.offline:
            raise OfflineError("offline mode: network use is switched off")
        if deadline is not None and deadline <= time.monotonic():
            raise DeadlineExceededError(f"{host}: no time left ({self._deadline_reason(deadline)} is spent)")
        problem = self.reachability.problem(host, port, deadline)
        if problem:
            raise OfflineError(problem)

    def _pace(self, host: str, deadline: float, service: str | None = None) -> None:
        interval = max(self.settings.min_interval_s, SERVICE_MIN_INTERVAL_S.get(service or "", 0.0))
        if deadline - time.monotonic() <= 0 or not self.pacer.wait(host, interval, deadline):
            raise DeadlineExceededError(f"{host}: no time left ({self._deadline_reason(deadline)} is spent)")

    # ------------------------------------------------------------------ requests
    def get_json(self, url: str, *, params: dict[str, Any] | None = None, **kw: Any) -> CallResult:
        return self.request_json("GET", url, params=params, **kw)

    def _fetch(
        self,
        method: str,
        url: str,
        host: str,
        seconds: float,
        peer_check: Callable[[str, int], None] | None = None,
        **request: Any,
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request with a total deadline of ``seconds`` and the size cap; the body streamed.

        ``peer_check(ip, port)`` is shown the address the connection actually reached, before
        any of the body is read (a page fetcher refuses private addresses there too, so a
        name that resolved differently a moment ago cannot slip through)."""
        limit = self.settings.max_response_bytes
        deadline = time.monotonic() + seconds
        with httpx.stream(method, url, timeout=httpx.Timeout(seconds), **request) as response:
            if peer_check is not None:
                stream = response.extensions.get("network_stream")
                peer = stream.get_extra_info("server_addr") if stream is not None else None
                if peer:
                    peer_check(str(peer[0]), int(peer[1]))
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLargeError(
                    f"{host}: response of {_megabytes(int(declared))} refused (limit {_megabytes(limit)}, "
                    "setting net_max_response_bytes)",
                    response.status_code,
                )
            watchdog = _Watchdog(response, deadline)
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ResponseTooLargeError(
                            f"{host}: response over {_megabytes(limit)} refused while reading "
                            "(setting net_max_response_bytes)",
                            response.status_code,
                        )
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("total deadline passed")
                if watchdog.fired:  # a body without a length ends at the socket's shutdown: cut short
                    raise httpx.ReadTimeout("total deadline passed")
            except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                if watchdog.fired:
                    raise httpx.ReadTimeout("total deadline passed") from exc
                raise
            finally:
                watchdog.cancel()
            return response.status_code, response.headers, b"".join(chunks)

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
        sent: str | None = None,
        files: dict[str, Any] | None = None,
        as_text: bool = False,
        peer_check: Callable[[str, int], None] | None = None,
    ) -> CallResult:
        """Send a request and parse its JSON body, with cache, pacing, retries and
        deadlines; every request that goes out is reported to ``egress`` with what it sent.

        ``sent`` replaces the egress record's account of what was sent (an upload says
        "the photo, 80 kB", not its bytes; a key in the query stays out of it); ``files``
        is a multipart upload; ``as_text`` returns the body as text instead of parsing it
        (see :meth:`request_text`); ``peer_check`` sees the address actually connected to."""
        if as_text or files:
            key = self.cache.key(method, url, params, data, "text" if as_text else "json", sorted(files or ()))
        else:
            key = self.cache.key(method, url, params, data)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return CallResult(hit, cached=True, attempts=0)
        host, port = _endpoint(url)
        deadline = self.call_deadline()
        self._guard(host, port, deadline)
        sent = describe_sent(params, data) if sent is None else sent
        try:
            result = self._send_json(
                method,
                url,
                (host, port),
                params,
                data,
                headers,
                timeout_s,
                use_cache,
                key,
                deadline,
                files=files,
                as_text=as_text,
                peer_check=peer_check,
                service=service,
            )
        except NetError as exc:
            self._report(service, method, url, sent, f"failed: {exc}", getattr(exc, "status", None), 0)
            raise
        status = result.data.get("status", 200) if as_text else 200
        self._report(service, method, url, sent, "ok", status, result.attempts)
        return result

    def request_text(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        service: str | None = None,
        use_cache: bool = True,
        peer_check: Callable[[str, int], None] | None = None,
    ) -> CallResult:
        """GET a page as text, under the same deadlines, size cap, retries, cache and
        egress record as :meth:`request_json`. Redirects are *not* followed: the answer
        (``data``: ``status``, ``url``, ``content_type``, ``location``, ``text``) carries
        the ``Location`` so the caller can check where it leads before going there.
        Statuses of 400 and above other than the retried ones raise ``ServiceError``."""
        return self.request_json(
            "GET",
            url,
            params=params,
            headers=headers,
            use_cache=use_cache,
            service=service,
            as_text=True,
            peer_check=peer_check,
        )

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

    def _send_json(
        self,
        method: str,
        url: str,
        endpoint: tuple[str, int],
        params: dict[str, Any] | None,
        data: dict[str, Any] | str | None,
        headers: dict[str, str] | None,
        timeout_s: float | None,
        use_cache: bool,
        key: str,
        deadline: float,
        *,
        files: dict[str, Any] | None = None,
        as_text: bool = False,
        peer_check: Callable[[str, int], None] | None = None,
        service: str | None = None,
    ) -> CallResult:
        host, port = endpoint
        merged = {"User-Agent": self.settings.user_agent, **(headers or {})}
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        last = "no attempt made"
        for attempt in range(self.settings.retries + 1):
            self._pace(host, deadline, service)
            seconds = min(timeout, deadline - time.monotonic())
            if seconds <= 0:
                raise DeadlineExceededError(f"{host}: no time left ({self._deadline_reason(deadline)} is spent)")
            try:
                status, answer_headers, body = self._fetch(
                    method,
                    url,
                    host,
                    seconds,
                    peer_check,
                    params=params,
                    data=data if isinstance(data, dict) else None,
                    content=data if isinstance(data, str) else None,
                    files=files,
                    headers=merged,
                )
            except httpx.ConnectError as exc:
                self.reachability.mark_down(host, port, f"{host}:{port} refused the connection ({exc})")
                raise OfflineError(f"{host}:{port} refused the connection") from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                timed_out = isinstance(exc, httpx.TimeoutException)
                cut = f" ({self._deadline_reason(deadline)})" if seconds < timeout else ""
                last = f"{type(exc).__name__} after {seconds:.3g} s{cut}" if timed_out else str(exc)
                error = DeadlineExceededError if timed_out else NetError
                if attempt < self.settings.retries and deadline - time.monotonic() > 0:
                    self.pause(self._backoff(attempt, None), deadline, host, last)
                    continue
                raise error(f"{host}: {last} ({attempt + 1} attempts)") from None
            except httpx.HTTPError as exc:  # any other transport failure: one line, typed
                raise NetError(f"{host}: {type(exc).__name__}: {exc}") from None
            if status in RETRY_STATUSES:
                last = f"HTTP {status}"
                error = RateLimitedError if status == 429 else ServiceError
                if attempt >= self.settings.retries:
                    raise error(f"{host}: {last} after {attempt + 1} attempts", status)
                asked = _retry_after_value(answer_headers)
                if asked is not None and asked > self.settings.max_backoff_s:
                    raise error(
                        f"{host}: {last} asks to retry after {asked:g} s, longer than this client waits "
                        f"({self.settings.max_backoff_s:g} s); gave up after {attempt + 1} attempts",
                        status,
                    )
                wait = self._backoff(attempt, asked)
                if wait >= deadline - time.monotonic():
                    raise error(
                        f"{host}: {last}; the retry in {wait:.3g} s would pass {self._deadline_reason(deadline)} "
                        f"({max(0.0, deadline - time.monotonic()):.3g} s left), gave up after {attempt + 1} attempts",
                        status,
                    )
                time.sleep(wait)
                continue
            text = body.decode(_charset(answer_headers), errors="replace")
            if as_text and status < 400:
                page = {
                    "status": status,
                    "url": url,
                    "content_type": answer_headers.get("content-type", ""),
                    "location": answer_headers.get("location"),
                    "text": text,
                }
                if use_cache and status == 200:
                    self.cache.put(key, page)
                return CallResult(page, cached=False, attempts=attempt + 1)
            if status >= 400:
                snippet = text[:120].replace("\n", " ")
                raise ServiceError(f"{host}: HTTP {status}: {snippet}", status)
            try:
                parsed = json.loads(text)
            except ValueError:
                raise BadResponseError(f"{host}: response is not JSON ({text[:60]!r})") from None
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
        means "not a network problem" and re-raises the exception as it is. The client
        cannot be interrupted, so each attempt runs in a worker thread that is waited
        for at most until the call's deadline.
        """
        key = self.cache.key(*key_parts)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return CallResult(hit, cached=True, attempts=0)
        host, port = _endpoint(host_url)
        deadline = self.call_deadline()
        self._guard(host, port, deadline)
        sent = describe_sent(None, " ".join(str(p) for p in key_parts[1:]))
        try:
            result = self._call_live(host, fn, classify, use_cache, key, deadline)
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
        deadline: float,
    ) -> CallResult:
        for attempt in range(self.settings.retries + 1):
            self._pace(host, deadline)
            try:
                data = call_with_timeout(fn, deadline - time.monotonic(), name=f"geosleuth-net-{host}")
            except DeadlinePassed as passed:
                raise DeadlineExceededError(
                    f"{host}: no answer within {passed.waited_s:.3g} s ({self._deadline_reason(deadline)})"
                ) from None
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    raise
                retryable = kind in (RateLimitedError, NetError)
                message = f"{host}: {type(exc).__name__}: {exc} ({attempt + 1} attempts)"
                if retryable and attempt < self.settings.retries:
                    wait = self._backoff(attempt, None)
                    if wait < deadline - time.monotonic():
                        time.sleep(wait)
                        continue
                raise kind(message) from None
            if use_cache:
                self.cache.put(key, data)
            return CallResult(data, cached=False, attempts=attempt + 1)
        raise NetError(f"{host}: gave up")  # pragma: no cover
