"""Model specs: one string names a backend and a model, for the CLI and environment.

* ``transformers:PATH_OR_HUB_ID`` (alias ``hf:``) — a local VLM; a bare path to an
  existing directory means the same;
* ``openai:MODEL@URL`` (aliases ``vllm:``, ``served:``) — a model on an
  OpenAI-compatible server, e.g. ``vllm:Qwen/Qwen2.5-VL-7B-Instruct@http://127.0.0.1:8000/v1``;
  ``openai:URL`` takes the first model the server lists; ``openai:MODEL@URL1,URL2,…`` names
  replicas of one model, and requests are spread over them. As the OpenAI client does, a
  served spec without a URL (``openai:gpt-4o-mini``) uses ``OPENAI_BASE_URL``, and the
  API key comes from ``GEOSLEUTH_MODEL_API_KEY`` or else ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from tools.errors import ConfigError
from tools.redact import redact_text

SERVED_PREFIXES = ("openai:", "vllm:", "served:")
LOCAL_PREFIXES = ("transformers:", "hf:")


def _split_model_url(rest: str) -> tuple[str, str]:
    """``MODEL@URL`` or ``URL``; the URL may itself hold an ``@`` (``https://user:key@host/v1``)."""
    found = re.search(r"@(?=https?://)", rest)
    if found:
        return rest[: found.start()], rest[found.end() :]
    if rest.startswith(("http://", "https://")):
        return "", rest
    model, _, url = rest.rpartition("@") if "@" in rest else ("", "", rest)
    return model, url


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``(backend, options)`` for a spec string; ConfigError naming the accepted forms."""
    text = spec.strip()
    if not text:
        raise ConfigError("empty model spec")
    for prefix in LOCAL_PREFIXES:
        if text.startswith(prefix):
            path = text[len(prefix) :].strip()
            if not path:
                raise ConfigError(f"model spec {spec!r} names no model: use transformers:PATH_OR_HUB_ID")
            return "transformers", {"model_path": path}
    for prefix in SERVED_PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix) :].strip()
            model, urls = _split_model_url(rest)
            if not urls.startswith(("http://", "https://")) and "@" not in rest:
                model, urls = rest, os.environ.get("OPENAI_BASE_URL", "").strip()  # the OpenAI client's variable
                if not urls:
                    raise ConfigError(
                        f"model spec {redact_text(spec)!r} names no server: use openai:MODEL@http://host:8000/v1, "
                        "or set OPENAI_BASE_URL"
                    )
            listed = [u.strip().rstrip("/") for u in urls.split(",")]
            for url in listed:
                if not url.startswith(("http://", "https://")):
                    raise ConfigError(
                        f"model spec {redact_text(spec)!r}: each server URL must start with http:// or https:// "
                        "(openai:MODEL@http://host:8000/v1, openai:http://host:8000/v1, "
                        "or replicas openai:MODEL@http://a:8000/v1,http://b:8000/v1)"
                    )
            options: dict[str, Any] = {"base_url": listed[0], "model": model or None}
            if len(listed) > 1:
                options["base_urls"] = listed
            return "served", options
    if Path(text).expanduser().is_dir():
        return "transformers", {"model_path": str(Path(text).expanduser())}
    raise ConfigError(
        f"unknown model spec {spec!r}: use transformers:PATH_OR_HUB_ID, a model directory, "
        "or openai:MODEL@URL (vllm:, served: work too)"
    )


def load_model(spec: str | BaseChatModel, **options: Any) -> BaseChatModel:
    """A chat model for a spec string (options: ``adapter``, ``device``, ``dtype``,
    ``max_new_tokens`` for transformers; ``api_key``, ``tool_protocol``, ``timeout_s``,
    ``max_tokens`` for served). A chat model object passes through unchanged. Nothing
    is loaded or contacted until the first call."""
    if isinstance(spec, BaseChatModel):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"model must be a spec string or a LangChain chat model, not {type(spec).__name__}")
    backend, parsed = parse_spec(spec)
    chosen = {k: v for k, v in options.items() if v is not None}
    if backend == "transformers":
        from .transformers_chat import TransformersChatModel

        allowed = {"adapter", "device", "dtype", "max_new_tokens", "trust_remote_code", "local_files_only"}
        return TransformersChatModel(**parsed, **{k: v for k, v in chosen.items() if k in allowed})
    from .served import ServedChatModel

    allowed = {"api_key", "tool_protocol", "timeout_s", "max_tokens", "max_retries"}
    return ServedChatModel(**parsed, **{k: v for k, v in chosen.items() if k in allowed})
