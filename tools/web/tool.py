"""The ``web_search`` tool: a query in, a numbered list of hits and their evidence out.

Why it exists: text read from a photo ("Pastelaria Central", a phone number, a street
name) often names a business or a landmark that the offline gazetteer cannot place,
and a web search can. The hits are leads; their URLs' country TLDs and the place names
in their titles and snippets become evidence with modest confidence for the verify and
consensus steps to weigh.

Every failure (offline, rate limited, timeout, refused connection, malformed answer,
bad settings) comes back as an Observation with ``error`` set; an empty answer is an
ok Observation saying so. The per-run query budget is the graph's (kind "search").
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, PrivateAttr

from ..base import GeoTool
from ..evidence import Evidence, Observation
from ..net import NetError
from ..text_tool import place_index
from ..tool_settings import SearchSettings
from .ddgs_backend import DdgsBackend
from .evidence import hit_place_evidence, hits_to_evidence
from .hits import DEFAULT_MAX_RESULTS, MAX_RESULTS, SearchBackend, SearchBatch, SearchHit
from .region import REGION_PATTERN, SearchSettingsError
from .searxng import SearxngBackend

#: Longest query accepted: engines truncate long queries anyway, and a model that
#: pastes a paragraph is better told so than silently cut.
MAX_QUERY_CHARS = 300
_SNIPPET_IN_TEXT = 160
DDGS_NAMES = frozenset({"duckduckgo", "ddgs", "ddg"})


class WebSearchArgs(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description="What to search for, e.g. text read on a sign: 'Pastelaria Central Rua Augusta'.",
    )
    region: str | None = Field(
        default=None,
        pattern=REGION_PATTERN,
        description="Optional search region as country-language, e.g. 'pt-pt', 'br-pt', 'us-en' ('wt-wt': none).",
    )
    max_results: int = Field(
        default=DEFAULT_MAX_RESULTS, ge=1, le=MAX_RESULTS, description="How many results to return (1-20)."
    )


def select_backend(ctx: Any, *, ddgs_factory: Any = None) -> SearchBackend:
    """The backend ``ctx.settings`` asks for.

    ``search_backend`` = "duckduckgo" (through ddgs) or "searxng". When it is not set,
    a configured ``searxng_url`` wins (a self-hosted instance is the polite choice),
    else DuckDuckGo.
    """
    choice = ctx.settings.get("search_backend")
    if not choice:
        choice = "searxng" if ctx.settings.get("searxng_url") else "duckduckgo"
    choice = str(choice).strip().lower()
    if choice == "searxng":
        return SearxngBackend(ctx)
    if choice in DDGS_NAMES:
        return DdgsBackend(ctx, factory=ddgs_factory)
    raise SearchSettingsError(f"search_backend {choice!r}: use 'duckduckgo' or 'searxng'")


def _error_kind(exc: Exception) -> str:
    kind = getattr(exc, "kind", "error")
    return "network" if kind == "error" else str(kind)


def render(batch: SearchBatch, evidence: list[Evidence]) -> str:
    """The compact numbered list a model reads."""
    where = batch.backend + (", cached" if batch.cached else "")
    if not batch.hits:
        lines = [f'no results for "{batch.query}" ({where})']
    else:
        count = f"{len(batch.hits)} result{'s' if len(batch.hits) != 1 else ''}"
        lines = [f'{count} for "{batch.query}" ({where}):']
        for hit in batch.hits:
            snippet = hit.snippet if len(hit.snippet) <= _SNIPPET_IN_TEXT else hit.snippet[:_SNIPPET_IN_TEXT] + "…"
            line = f"{hit.rank}. {hit.title or '(no title)'}"
            if snippet:
                line += f" — {snippet}"
            lines.append(f"{line} [{hit.domain or hit.url}] {hit.url}")
    places = [e for e in evidence if e.kind == "place_name"]
    if places:
        named = []
        for item in places[:6]:
            mentions = item.details.get("mentions", 1)
            extra = f", {mentions} results" if mentions > 1 else ""
            echo = ", in the query" if item.details.get("in_query") else ""
            named.append(f"{item.value} ({item.confidence:.2f}{extra}{echo})")
        lines.append("places named: " + "; ".join(named))
    lines += [f"note: {note}" for note in batch.notes]
    return "\n".join(lines)


class WebSearchTool(GeoTool):
    """Search the web (DuckDuckGo through ddgs, or a SearxNG instance).

    ``backend`` replaces the backend chosen from the settings (tests, custom services);
    ``ddgs_factory`` replaces the ``ddgs.DDGS`` constructor only.
    """

    name: str = "web_search"
    description: str = (
        "Search the web for text seen in the image (a shop name, a street, a phone number, a slogan). "
        "Returns numbered results (title, snippet, site) and evidence: each result's country TLD and the place "
        "names the results mention. Results are leads, not proof: verify them against other clues."
    )
    args_schema: type[BaseModel] = WebSearchArgs
    kind: ClassVar[str] = "search"
    online: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel] | None] = SearchSettings
    backend: Any = None
    ddgs_factory: Any = None
    _selected: Any = PrivateAttr(default=None)

    def _backend(self) -> SearchBackend:
        if self.backend is not None:
            return self.backend
        if self._selected is None:
            self._selected = select_backend(self.ctx, ddgs_factory=self.ddgs_factory)
        return self._selected

    def execute(self, query: str, region: str | None = None, max_results: int = DEFAULT_MAX_RESULTS) -> Observation:
        query = " ".join(str(query).split())[:MAX_QUERY_CHARS]
        arguments = {"query": query, "region": region, "max_results": max_results}
        data: dict[str, Any] = {"query": query, "hits": []}
        if not query:
            return Observation(error="empty query", text="web_search failed: empty query", data=data)
        try:
            backend = self._backend()
            data["backend"] = backend.name
            batch = backend.search(query, region=region, max_results=max_results)
        except (NetError, SearchSettingsError) as exc:
            kind = "settings" if isinstance(exc, SearchSettingsError) else _error_kind(exc)
            return Observation(error=f"{kind}: {exc}", text=f"web_search failed: {kind}: {exc}", data=data)
        evidence = hits_to_evidence(batch.hits, query=query, tool=self.name, arguments=arguments)
        if batch.hits:
            try:
                index = place_index(self.ctx)
                evidence += hit_place_evidence(batch.hits, query=query, index=index, source=evidence[0].source)
            except Exception as exc:  # noqa: BLE001 - the hits are worth returning without place names
                batch.notes.append(f"place names not read: {type(exc).__name__}: {exc}")
        return Observation(
            text=render(batch, evidence),
            evidence=evidence,
            data=batch.to_dict(),
            meta={"cached": batch.cached, "attempts": batch.attempts},
        )


def hits_from_data(data: dict[str, Any]) -> list[SearchHit]:
    """The hits recorded in a ``web_search`` Observation's ``data`` (for replay and export)."""
    return [SearchHit.from_dict(item) for item in data.get("hits", []) if isinstance(item, dict)]
