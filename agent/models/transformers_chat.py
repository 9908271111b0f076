"""A local transformers VLM as a LangChain chat model with tool calls.

Generation is done by :class:`agent.models.hf_runtime.TransformersRuntime` (lazy load,
one model shared by all threads); this class turns LangChain messages into the
processor's chat format — ``image_url`` data URLs back into PIL images — and reads the
reply with the text protocol, so the graph receives ``AIMessage`` tool calls.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from PIL import Image
from pydantic import PrivateAttr

from tools.errors import ConfigError

from .text_chat import parsed_message, to_protocol_messages


def _image_from_url(url: str) -> Image.Image:
    if not url.startswith("data:"):
        raise ConfigError("the transformers backend takes images as data: URLs or PIL images, not remote URLs")
    try:
        payload = base64.b64decode(url.split(",", 1)[1])
        image = Image.open(io.BytesIO(payload))
        image.load()
    except (IndexError, ValueError, OSError) as exc:
        raise ConfigError(f"unreadable image data URL: {exc}") from exc
    return image.convert("RGB")


def _content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for block in content or []:
        if isinstance(block, str):
            blocks.append({"type": "text", "text": block})
        elif block.get("type") == "text":
            blocks.append({"type": "text", "text": block.get("text", "")})
        elif block.get("type") == "image_url":
            url = block["image_url"]["url"] if isinstance(block.get("image_url"), dict) else block.get("image_url")
            blocks.append({"type": "image", "image": _image_from_url(str(url))})
        elif block.get("type") == "image" and isinstance(block.get("image"), Image.Image):
            blocks.append({"type": "image", "image": block["image"]})
        elif block.get("type") == "image" and block.get("base64"):
            mime = block.get("mime_type", "image/jpeg")
            blocks.append({"type": "image", "image": _image_from_url(f"data:{mime};base64,{block['base64']}")})
        else:
            raise ConfigError(f"unsupported content block type {block.get('type')!r} for the transformers backend")
    return blocks


def to_hf_conversation(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages (already in text-protocol form) -> processor chat format."""
    roles = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
    conversation = []
    for message in messages:
        role = next((r for cls, r in roles.items() if isinstance(message, cls)), None)
        if role is None:
            raise ConfigError(f"cannot send a {type(message).__name__} to the transformers backend")
        conversation.append({"role": role, "content": _content(message.content)})
    return conversation


class TransformersChatModel(BaseChatModel):
    """``AutoProcessor`` + ``AutoModelForImageTextToText`` from a local path or hub id."""

    model_path: str
    adapter: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    max_new_tokens: int = 512
    trust_remote_code: bool = False
    #: Load a hub id only from the local cache (set when geosleuth runs offline).
    local_files_only: bool | None = None

    _runtime: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "geosleuth-transformers"

    @property
    def runtime(self) -> Any:
        """The generation engine, made once even when many runs start at the same time
        (two would load the weights twice)."""
        with self._lock:
            return self._make_runtime()

    def _make_runtime(self) -> Any:
        if self._runtime is None:
            from .hf_runtime import TransformersRuntime

            self._runtime = TransformersRuntime(
                self.model_path,
                adapter=self.adapter,
                device=self.device,
                dtype=self.dtype,
                max_new_tokens=self.max_new_tokens,
                trust_remote_code=self.trust_remote_code,
                local_files_only=self.local_files_only,
            )
        return self._runtime

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.pop("tools", None) or []
        conversation = to_hf_conversation(to_protocol_messages(messages, tools) if tools else messages)
        result = self.runtime.generate(
            conversation,
            temperature=kwargs.get("temperature"),
            top_p=kwargs.get("top_p"),
            max_new_tokens=kwargs.get("max_new_tokens") or kwargs.get("max_tokens"),
            seed=kwargs.get("seed"),
        )
        text = result.text
        for marker in stop or []:
            text = text.split(marker, 1)[0]
        usage = {
            "input_tokens": result.prompt_tokens,
            "output_tokens": result.new_tokens,
            "total_tokens": result.prompt_tokens + result.new_tokens,
        }
        message = parsed_message(text, tools_bound=bool(tools), usage=usage, seconds=round(result.seconds, 4))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "transformers",
            "model": str(Path(self.model_path)) if Path(self.model_path).exists() else self.model_path,
            "adapter": self.adapter,
            "device": self.device,
            "dtype": self.dtype,
        }
