"""Web search through a SearxNG instance's JSON API, behind the run's NetClient.

Why SearxNG: a self-hosted instance aggregates many engines without API keys and is
the polite choice for evaluations that send thousands of queries. Its search API is
``GET /search?q=...&format=json&language=...&safesearch=0|1|2`` answering
``{"query", "number_of_results", "results": [{"url", "title", "content", "engine",
"engines", "score", "category", ...}], "answers", "suggestions", "infoboxes",
"unresponsive_engines": [[engine, reason], ...]}``; the JSON format must be enabled in
the instance's ``settings.yml`` (``search.formats``), else it answers 403.

Caching is done here rather than by ``get_json``: an answer with no results because
every engine failed upstream (CAPTCHA, timeouts) says nothing about the query and must
not be replayed from the cache for a week.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..net import BadResponseError, ServiceError
from .hits import DEFAULT_MAX_RESULTS, MAX_RESULTS, SearchBatch, rank_hits
from .region import SearchSettingsError, parse_region, safesearch_level, searxng_safesearch


def search_endpoint(url: str) -> str:
    """The ``/search`` endpoint of an instance given by its base URL or the endpoint itself."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SearchSettingsError(f"searxng_url {url!r} is not an http(s) URL")
    path = parts.path.rstrip("/")
    if not path.endswith("/search"):
        path += "/search"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _unresponsive(payload: dict[str, Any]) -> list[str]:
    out = []
    for item in payload.get("unresponsive_engines") or []:
        if isinstance(item, (list, tuple)) and item:
            out.append(f"{item[0]} ({item[1]})" if len(item) > 1 and item[1] else str(item[0]))
        elif isinstance(item, str):
            out.append(item)
    return out


def _engine(result: dict[str, Any]) -> str:
    engine = result.get("engine")
    if isinstance(engine, str) and engine:
        return engine
    engines = result.get("engines")
    if isinstance(engines, list) and engines:
        return ",".join(str(e) for e in engines)
    return "searxng"


class SearxngBackend:
    """Search a SearxNG instance. Settings from ``ctx.settings``: ``searxng_url`` (required:
    the instance's base URL or its ``/search`` endpoint), ``search_region`` (default
    region), ``search_safesearch`` ("off"/"moderate"/"on"), ``searxng_categories``
    and ``searxng_engines`` (optional comma-separated lists passed through)."""

    name = "searxng"

    def __init__(self, ctx: Any, *, url: str | None = None) -> None:
        settings = ctx.settings
        self.ctx = ctx
        given = url or settings.get("searxng_url")
        if not given:
            raise SearchSettingsError("search backend 'searxng' needs settings['searxng_url'] (an instance URL)")
        self.url = search_endpoint(str(given))
        self.default_region = settings.get("search_region")
        self.safesearch = safesearch_level(settings.get("search_safesearch", "moderate"))
        self.categories = settings.get("searxng_categories")
        self.engines = settings.get("searxng_engines")

    def params(self, query: str, region: str | None) -> dict[str, Any]:
        """The query parameters sent to the instance."""
        params: dict[str, Any] = {
            "q": query,
            "format": "json",
            "language": parse_region(region or self.default_region).searxng(),
            "safesearch": searxng_safesearch(self.safesearch),
        }
        if self.categories:
            params["categories"] = str(self.categories)
        if self.engines:
            params["engines"] = str(self.engines)
        return params

    def search(self, query: str, *, region: str | None = None, max_results: int = DEFAULT_MAX_RESULTS) -> SearchBatch:
        """Query the instance; raises NetError subclasses (offline, rate limited, bad JSON)."""
        max_results = max(1, min(int(max_results), MAX_RESULTS))
        params = self.params(query, region)
        net = self.ctx.net()
        key = net.cache.key("searxng", self.url, params)
        payload = net.cache.get(key)
        batch = SearchBatch(backend="searxng", query=query, sent={k: v for k, v in params.items() if k != "q"})
        if payload is not None:
            batch.cached = True
        else:
            try:
                result = net.get_json(self.url, params=params, use_cache=False, service="searxng")
            except ServiceError as exc:
                if exc.status == 403:
                    raise ServiceError(
                        f"{exc} (is the JSON format enabled in the instance's settings.yml, search.formats?)", 403
                    ) from None
                raise
            payload, batch.attempts = result.data, result.attempts
        if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
            raise BadResponseError(f"{urlsplit(self.url).netloc}: not a SearxNG JSON answer (no 'results' list)")
        rows = [
            (str(r.get("title") or ""), str(r.get("url") or ""), str(r.get("content") or ""), _engine(r))
            for r in payload["results"]
            if isinstance(r, dict)
        ]
        batch.hits = rank_hits(rows, max_results)
        failed = _unresponsive(payload)
        if failed:
            batch.notes.append("unresponsive engines: " + ", ".join(failed))
        if not batch.hits and failed:
            raise ServiceError(f"{urlsplit(self.url).netloc}: no results; unresponsive engines: {', '.join(failed)}")
        if not batch.cached:
            net.cache.put(key, payload)
        return batch
