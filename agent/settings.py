"""Settings from arguments or ``GEOSLEUTH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.images import DEFAULT_MAX_PIXELS


class Settings(BaseSettings):
    """Agent-wide defaults. Each field can be set with ``GEOSLEUTH_<FIELD>``, e.g.
    ``GEOSLEUTH_TRACE_DIR=runs/`` or ``GEOSLEUTH_STRATEGY=hierarchical``."""

    model_config = SettingsConfigDict(env_prefix="GEOSLEUTH_", extra="ignore")

    strategy: str = Field(default="cluster", description="Consensus strategy: cluster, hierarchical or best.")
    trace_dir: Path | None = Field(default=None, description="Write every run's trace here as <run_id>.jsonl.")
    cache_dir: Path | None = Field(
        default=None, description="Derived data and HTTP caches (default ~/.cache/geosleuth)."
    )
    max_image_pixels: int = Field(default=DEFAULT_MAX_PIXELS, gt=0, description="Refuse larger images.")
    offline: bool = Field(default=False, description="Never try the network.")
    ocr_backend: str = Field(default="auto", description="OCR engine: auto (rapidocr), rapidocr or easyocr.")
    search_backend: str | None = Field(default=None, description="Web search: duckduckgo (default) or searxng.")
    searxng_url: str | None = Field(default=None, description="A SearxNG instance (its JSON API must be enabled).")
    overpass_url: str | None = Field(default=None, description="Overpass endpoint (default: the public one).")
    tool_settings: dict[str, Any] = Field(
        default_factory=dict, description='More tool settings as JSON, e.g. {"net_min_interval_s": 2}.'
    )
    ocr_time_budget_s: float = Field(
        default=12.0, gt=0, description="Safety net: seconds after which OCR starts no further zoom or tile pass."
    )

    def for_tools(self) -> dict[str, Any]:
        """The settings tools read from ``ToolContext.settings``."""
        out: dict[str, Any] = {"ocr_backend": self.ocr_backend, "ocr_time_budget_s": self.ocr_time_budget_s}
        for key in ("search_backend", "searxng_url", "overpass_url"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return {**out, **self.tool_settings}
