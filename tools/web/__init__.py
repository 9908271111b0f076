"""Web search: the ``web_search`` tool, its backends and the evidence it yields.

``WebSearchTool`` (name "web_search", kind "search") queries DuckDuckGo through
``ddgs`` or a SearxNG instance (``ctx.settings["search_backend"]`` /
``["searxng_url"]``), always through the run's ``NetClient`` (cache, pacing, retries,
offline answer). ``hits_to_evidence`` turns hits into ``search_hit`` evidence and the
``place_name`` evidence of the places they mention; it is pure, so a recorded trace
rebuilds the same evidence offline.
"""

from .ddgs_backend import DdgsBackend, classify_ddgs_error, default_ddgs_factory
from .evidence import hit_evidence, hit_place_evidence, hits_to_evidence, url_countries
from .hits import DEFAULT_MAX_RESULTS, MAX_RESULTS, SearchBackend, SearchBatch, SearchHit
from .region import Region, SearchSettingsError, parse_region, safesearch_level
from .searxng import SearxngBackend, search_endpoint
from .tool import WebSearchArgs, WebSearchTool, hits_from_data, select_backend

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "MAX_RESULTS",
    "DdgsBackend",
    "Region",
    "SearchBackend",
    "SearchBatch",
    "SearchHit",
    "SearchSettingsError",
    "SearxngBackend",
    "WebSearchArgs",
    "WebSearchTool",
    "classify_ddgs_error",
    "default_ddgs_factory",
    "hit_evidence",
    "hit_place_evidence",
    "hits_from_data",
    "hits_to_evidence",
    "parse_region",
    "safesearch_level",
    "search_endpoint",
    "select_backend",
    "url_countries",
]
