"""Settings from arguments or ``GEOSLEUTH_*`` environment variables."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS


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
    online: bool = Field(
        default=False, description="Let online tools (web search, Overpass, ...) send requests off this machine."
    )
    online_services: list[str] | None = Field(
        default=None, description="When online, only these tools or tool kinds may (e.g. search,osm)."
    )
    allow_image_upload: bool = Field(
        default=False, description="Let tools send the photo itself (reverse image search); needs online too."
    )
    offline: bool | None = Field(default=None, description="Deprecated: the opposite of GEOSLEUTH_ONLINE.")
    max_image_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, gt=0, description="Refuse larger image files, before reading them."
    )
    ocr_backend: str = Field(default="auto", description="OCR engine: auto (rapidocr), rapidocr or easyocr.")
    search_backend: str | None = Field(default=None, description="Web search: duckduckgo (default) or searxng.")
    searxng_url: str | None = Field(default=None, description="A SearxNG instance (its JSON API must be enabled).")
    overpass_url: str | None = Field(default=None, description="Overpass endpoint (default: the public one).")
    osm_db: str | None = Field(
        default=None,
        description="A local OSM index (SQLite file or postgresql:// DSN) made by `geosleuth osm import`; "
        "OSM tools answer from it without the network where it covers the area.",
    )
    tool_settings: dict[str, Any] = Field(
        default_factory=dict, description='More tool settings as JSON, e.g. {"net_min_interval_s": 2}.'
    )
    ocr_time_budget_s: float = Field(
        default=12.0, gt=0, description="Safety net: seconds after which OCR starts no further zoom or tile pass."
    )

    model: str | None = Field(
        default=None,
        description="A model spec (transformers:PATH_OR_ID or openai:MODEL@URL); none means the heuristic playbook.",
    )
    model_adapter: str | None = Field(default=None, description="A LoRA adapter directory for a transformers model.")
    model_device: str = Field(default="auto", description="transformers device: auto, cpu, cuda, cuda:1, ...")
    model_dtype: str = Field(default="auto", description="transformers dtype: auto, bfloat16, float16, float32.")
    model_api_key: str | None = Field(
        default=None, description="API key for the model server (else OPENAI_API_KEY, else 'EMPTY')."
    )
    model_tool_protocol: str = Field(default="auto", description="Served tool calls: auto, native or text.")
    model_timeout_s: float = Field(default=120.0, gt=0, description="Seconds to wait for one model reply.")
    model_max_tokens: int = Field(default=1024, gt=0, description="Longest reply, in tokens.")
    model_samples: int = Field(default=3, ge=1, description="Answers sampled for consensus (K).")
    model_temperature: float = Field(default=0.7, ge=0, description="Temperature of samples after the first.")
    model_max_rounds: int = Field(default=6, ge=0, description="Tool rounds the model may take.")
    model_hybrid: bool = Field(default=True, description="Run the heuristic playbook first and show its evidence.")

    @model_validator(mode="after")
    def _offline_alias(self) -> Settings:
        if self.offline is not None:
            warnings.warn(
                "GEOSLEUTH_OFFLINE is deprecated: runs are offline unless GEOSLEUTH_ONLINE=1",
                DeprecationWarning,
                stacklevel=2,
            )
            if self.offline:
                self.online = False
        return self

    def model_options(self) -> dict[str, Any]:
        """Backend options for :func:`agent.models.spec.load_model`."""
        return {
            "adapter": self.model_adapter,
            "device": self.model_device,
            "dtype": self.model_dtype,
            "max_new_tokens": self.model_max_tokens,
            "api_key": self.model_api_key,
            "tool_protocol": self.model_tool_protocol,
            "timeout_s": self.model_timeout_s,
            "max_tokens": self.model_max_tokens,
            # a hub id loads from the local cache unless the run may go online (HF_HUB_OFFLINE,
            # when set, decides as it does for transformers itself)
            "local_files_only": None if self.online or os.environ.get("HF_HUB_OFFLINE") else True,
        }

    def policy_options(self) -> dict[str, Any]:
        return {
            "samples": self.model_samples,
            "temperature": self.model_temperature,
            "max_rounds": self.model_max_rounds,
            "hybrid": self.model_hybrid,
        }

    def for_tools(self) -> dict[str, Any]:
        """The settings tools read from ``ToolContext.settings``."""
        out: dict[str, Any] = {"ocr_backend": self.ocr_backend, "ocr_time_budget_s": self.ocr_time_budget_s}
        for key in ("search_backend", "searxng_url", "overpass_url", "osm_db"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return {**out, **self.tool_settings}
