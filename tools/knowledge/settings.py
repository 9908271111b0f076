"""Settings of the knowledge tools (``visit_page``, ``reverse_image_search``,
``wiki_lookup``, ``geocode``, ``ask_model``), validated when an Agent starts.

Service URLs default to the public services; API keys never go in settings (they would
land in traces and run records): they are read from the environment when a call needs them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class KnowledgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fetch_allow_hosts: Any = Field(
        default=None,
        description="Hosts or IPs exempt from the private-address rule of visit_page (tests serving from 127.0.0.1).",
    )
    visit_page_respect_robots: bool | None = Field(default=None, description="Obey robots.txt (default true).")
    visit_page_max_redirects: int | None = Field(default=None, ge=0, le=20)
    visit_page_max_chars: int | None = Field(default=None, gt=0, description="Characters of passages returned.")
    wikipedia_api_url: str | None = Field(default=None, description="MediaWiki api.php (default {lang}.wikipedia).")
    wikidata_api_url: str | None = Field(default=None, description="Wikidata api.php.")
    wiki_lang: str | None = Field(default=None, description="Wikipedia language edition (default en).")
    nominatim_url: str | None = Field(default=None, description="Nominatim base URL (default the public instance).")
    reverse_image_provider: str | None = Field(default=None, description="google_vision, serpapi_lens or bing.")
    vision_api_url: str | None = None
    serpapi_url: str | None = None
    bing_visual_search_url: str | None = None
    ask_model_url: str | None = Field(default=None, description="OpenAI-compatible /v1 URL of a text model.")
    ask_model_name: str | None = None
