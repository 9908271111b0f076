"""Settings models of the built-in tool families, validated when an Agent starts.

Tool settings are one flat mapping (``Agent(tool_settings=...)``, ``GEOSLEUTH_TOOL_SETTINGS``,
the ``searxng_url``/``overpass_url`` settings): each key belongs to one family's model, so
an unknown key or a wrong type is caught before a run, naming the key, instead of being
ignored by every tool.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from .net import NetSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OcrSettings(_Strict):
    ocr_backend: str = Field(default="auto", description="OCR engine: auto, rapidocr or easyocr.")
    ocr_time_budget_s: float | None = Field(default=None, gt=0, description="Seconds before OCR starts no new pass.")


class SearchSettings(_Strict):
    search_backend: str | None = Field(default=None, description="duckduckgo or searxng.")
    searxng_url: str | None = None
    searxng_categories: Any = None
    searxng_engines: Any = None
    search_region: str | None = None
    search_safesearch: str | int | None = None
    ddgs_backend: str | None = None
    ddgs_proxy: str | None = None
    ddgs_timeout_s: float | None = Field(default=None, gt=0)
    ddgs_host_url: str | None = None


class OsmSettings(_Strict):
    overpass_url: str | None = None
    osm_db: str | None = Field(default=None, description="A local OSM index: SQLite file or postgresql:// DSN.")
    osm_http_timeout_s: float | None = Field(default=None, gt=0)
    osm_max_area_km2: float | None = Field(default=None, gt=0)
    osm_max_radius_m: float | None = Field(default=None, gt=0)
    osm_max_within_m: float | None = Field(default=None, gt=0)
    osm_max_results: int | None = Field(default=None, gt=0)
    osm_default_limit: int | None = Field(default=None, gt=0)
    osm_timeout_s: int | None = Field(default=None, gt=0)
    osm_maxsize_bytes: int | None = Field(default=None, gt=0)
    osm_max_raw_chars: int | None = Field(default=None, gt=0)
    osm_allow_raw: bool | str | None = None
    allow_raw: bool | str | None = None


def _net_model() -> type[BaseModel]:
    """``net_*`` keys mirror :class:`tools.net.NetSettings` field by field."""
    hints = get_type_hints(NetSettings)
    spec: dict[str, Any] = {}
    for item in fields(NetSettings):
        kind: Any = hints.get(item.name, Any)
        if item.name == "cache_dir":
            kind = Path | str
        spec[f"net_{item.name}"] = (kind | None, None)
    return create_model("NetworkSettings", __config__=ConfigDict(extra="forbid"), **spec)


NetworkSettings = _net_model()
