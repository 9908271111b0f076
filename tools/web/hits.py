"""What every search backend returns: ranked hits in one shape, whatever the engine.

Why one shape: the tool, the evidence builder and the trace must not care whether a
hit came from DuckDuckGo through ``ddgs`` or from a SearxNG instance. Hits are plain
dataclasses that round-trip through JSON (``to_dict`` / ``from_dict``), so a trace that
recorded them can rebuild the same evidence without any network.
"""

from __future__ import annotations

import contextlib
import html
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Results kept per query unless the caller asks for more: a model reads every line,
#: and the first few hits carry almost all the useful signal.
DEFAULT_MAX_RESULTS = 8
#: Hard cap on results per query (the tool's ``max_results`` upper bound).
MAX_RESULTS = 20

_TAG = re.compile(r"<[^>]{1,200}>")
_SPACE = re.compile(r"\s+")


def clean_text(value: Any, limit: int = 500) -> str:
    """Plain, single-line text from an engine field: tags and entities removed, spaces
    collapsed, cut at ``limit`` characters (snippets are leads, not documents)."""
    if not isinstance(value, str):
        return ""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def url_domain(url: str) -> str:
    """The host of a URL without ``www.``, IDN labels decoded ("xn--p1ai" -> "рф");
    empty when the URL has no host."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""
    if host.startswith("www."):
        host = host[4:]
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):  # a malformed IDN label stays as it is
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


#: Query parameters that say where a click came from, not which page it is.
TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "ref_src", "igshid", "spm")


def _tracking(name: str) -> bool:
    name = name.lower()
    return any(name == p or (p.endswith("_") and name.startswith(p)) for p in TRACKING_PARAMS)


def canonical_url(url: str) -> str:
    """The page a URL names, so one page listed under several spellings counts once:
    scheme and ``www.`` ignored, host lower-cased, fragment, trailing slash and tracking
    parameters dropped, remaining parameters sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k))
    return urlunsplit(("", host, parts.path.rstrip("/"), urlencode(query), ""))


@dataclass(frozen=True)
class SearchHit:
    """One search result. ``rank`` is 1-based in the order the engine returned it."""

    title: str
    url: str
    snippet: str
    rank: int
    engine: str

    @property
    def domain(self) -> str:
        return url_domain(self.url)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchHit:
        return cls(
            title=str(data.get("title", "")),
            url=str(data.get("url", "")),
            snippet=str(data.get("snippet", "")),
            rank=int(data.get("rank", 0)),
            engine=str(data.get("engine", "")),
        )


@dataclass
class SearchBatch:
    """The answer to one query: the hits and how they were obtained.

    ``sent`` is what went to the service (region, safesearch, ...), ``notes`` are things
    the model or an investigator should know (engines that did not answer, "no
    results" that may hide a rate limit).
    """

    backend: str
    query: str
    hits: list[SearchHit] = field(default_factory=list)
    cached: bool = False
    attempts: int = 0
    sent: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "query": self.query,
            "hits": [hit.to_dict() for hit in self.hits],
            "sent": dict(self.sent),
            "notes": list(self.notes),
        }


class SearchBackend(Protocol):
    """A web search service. Raises ``tools.net.NetError`` subclasses on failure."""

    name: str

    def search(self, query: str, *, region: str | None = None, max_results: int = DEFAULT_MAX_RESULTS) -> SearchBatch:
        """Search ``query``; ``region`` is a DuckDuckGo-style code ("pt-pt") or None."""
        ...


def rank_hits(rows: list[tuple[str, str, str, str]], max_results: int) -> list[SearchHit]:
    """(title, url, snippet, engine) rows in engine order -> ranked hits.

    Rows without an http(s) URL are dropped (answers, infobox fragments); a page seen
    twice, however its URL is spelled (see :func:`canonical_url`), keeps its first,
    better-ranked appearance.
    """
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for title, url, snippet, engine in rows:
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")) or canonical_url(url) in seen:
            continue
        seen.add(canonical_url(url))
        hits.append(
            SearchHit(
                title=clean_text(title, 200), url=url, snippet=clean_text(snippet), rank=len(hits) + 1, engine=engine
            )
        )
        if len(hits) >= max_results:
            break
    return hits
