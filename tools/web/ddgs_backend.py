"""Web search through ``ddgs`` (DuckDuckGo by default), behind the run's NetClient.

Why through ``NetClient.call``: ``ddgs`` does its own HTTP, but it must still obey the
run's rules: answer repeated queries from the on-disk cache, pace queries to one per
second, retry rate limits and timeouts with backoff, and answer "offline" at once when
the service cannot be reached. ``classify_ddgs_error`` maps ddgs's exceptions onto
the typed ``NetError`` family so the client knows what to retry.

Why a factory: the ``DDGS`` object is built by ``factory(proxy=, timeout=, verify=)``,
so tests (and users with their own client) replace it at that boundary; nothing else
in this module touches ddgs's network code.

ddgs 9 reports "No results found." both when an engine truly found nothing and when
DuckDuckGo rate-limited it quietly (an HTTP 202 page with no results). That answer is
therefore returned as an empty batch with a note, and never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..net import NetError, RateLimitedError
from .hits import DEFAULT_MAX_RESULTS, MAX_RESULTS, SearchBatch, rank_hits
from .region import parse_region, safesearch_level

#: Where each ddgs text engine lives: the host the run's reachability probe and the
#: polite pacing apply to.
ENGINE_HOSTS = {
    "duckduckgo": "https://html.duckduckgo.com/",
    "bing": "https://www.bing.com/",
    "brave": "https://search.brave.com/",
    "google": "https://www.google.com/",
    "mojeek": "https://www.mojeek.com/",
    "yahoo": "https://search.yahoo.com/",
    "yandex": "https://yandex.com/",
    "wikipedia": "https://wikipedia.org/",
}
DEFAULT_ENGINE = "duckduckgo"

DdgsFactory = Callable[..., Any]


class _NoResults(Exception):
    """ddgs found nothing (or was quietly rate-limited): not cached, not retried."""


def default_ddgs_factory(*, proxy: str | None = None, timeout: float | None = 10, verify: bool | str = True) -> Any:
    """The real ``ddgs.DDGS`` client (imported here so ``tools.web`` loads without ddgs)."""
    try:
        from ddgs import DDGS
    except ImportError as exc:
        raise NetError("ddgs is not installed (pip install ddgs), or set search_backend='searxng'") from exc
    return DDGS(proxy=proxy, timeout=timeout, verify=verify)


def classify_ddgs_error(exc: BaseException) -> type[NetError] | None:
    """ddgs exception -> the NetError class NetClient retries or raises; None for the rest.

    RatelimitException -> RateLimitedError and TimeoutException -> NetError are retried
    with backoff; any other DDGSException (ddgs wraps connection errors in it) is a
    NetError too. Anything else (a bug, or a NetError already typed, such as ddgs not
    being installed) is re-raised as it is, without retries.
    """
    try:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException
    except ImportError:
        return None
    if isinstance(exc, RatelimitException):
        return RateLimitedError
    if isinstance(exc, (TimeoutException, DDGSException)):
        return NetError
    return None


def _is_no_results(exc: BaseException) -> bool:
    try:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException
    except ImportError:
        return False
    if isinstance(exc, (RatelimitException, TimeoutException)) or not isinstance(exc, DDGSException):
        return False
    return "no results" in str(exc).lower()


class DdgsBackend:
    """Search through ``ddgs``. Settings (all optional) from ``ctx.settings``:

    ``ddgs_backend`` (ddgs engine, default "duckduckgo"), ``search_region`` (default
    region, e.g. "pt-pt"), ``search_safesearch`` ("off"/"moderate"/"on"), ``ddgs_proxy``,
    ``ddgs_timeout_s`` (default: the NetClient timeout), ``ddgs_host_url`` (the host
    probed for reachability and paced; default: the engine's own host).
    """

    name = "ddgs"

    def __init__(self, ctx: Any, *, factory: DdgsFactory | None = None) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.factory: DdgsFactory = factory or default_ddgs_factory
        self.engine = str(settings.get("ddgs_backend") or DEFAULT_ENGINE)
        self.default_region = settings.get("search_region")
        self.safesearch = safesearch_level(settings.get("search_safesearch", "moderate"))
        self.proxy = settings.get("ddgs_proxy")
        self.timeout_s = settings.get("ddgs_timeout_s")
        first_engine = self.engine.split(",")[0].strip()
        self.host_url = str(settings.get("ddgs_host_url") or ENGINE_HOSTS.get(first_engine, ENGINE_HOSTS["duckduckgo"]))
        self._client: Any = None

    def _ddgs(self) -> Any:
        if self._client is None:
            timeout = self.timeout_s if self.timeout_s is not None else self.ctx.net().settings.timeout_s
            self._client = self.factory(proxy=self.proxy, timeout=timeout, verify=True)
        return self._client

    def search(self, query: str, *, region: str | None = None, max_results: int = DEFAULT_MAX_RESULTS) -> SearchBatch:
        """Query ddgs; raises NetError subclasses (offline, rate limited, timeout)."""
        max_results = max(1, min(int(max_results), MAX_RESULTS))
        ddg_region = parse_region(region or self.default_region).ddgs()
        sent = {
            "engine": self.engine,
            "region": ddg_region,
            "safesearch": self.safesearch,
            "max_results": max_results,
        }

        def fetch() -> list[dict[str, str]]:
            try:
                rows = self._ddgs().text(
                    query,
                    region=ddg_region,
                    safesearch=self.safesearch,
                    max_results=max_results,
                    backend=self.engine,
                )
            except Exception as exc:
                if _is_no_results(exc):
                    raise _NoResults(str(exc)) from None
                raise
            # keep only JSON-safe text fields: this is what the on-disk cache stores
            return [
                {key: str(row.get(key) or "") for key in ("title", "href", "body")}
                for row in rows or []
                if isinstance(row, dict)
            ]

        key = ("ddgs", "text", self.engine, query, ddg_region, self.safesearch, max_results)
        batch = SearchBatch(backend=f"ddgs:{self.engine}", query=query, sent=sent)
        try:
            result = self.ctx.net().call(key, self.host_url, fetch, classify=classify_ddgs_error)
        except _NoResults as exc:
            batch.attempts = 1
            batch.notes.append(f"ddgs: {exc} (DuckDuckGo answers this way when it rate-limits, too)")
            return batch
        rows = result.data if isinstance(result.data, list) else []
        batch.hits = rank_hits(
            [
                (r.get("title", ""), r.get("href", ""), r.get("body", ""), self.engine)
                for r in rows
                if isinstance(r, dict)
            ],
            max_results,
        )
        batch.cached, batch.attempts = result.cached, result.attempts
        return batch
