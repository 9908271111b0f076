"""A model behind any OpenAI-compatible server: vLLM (the reference), SGLang, llama.cpp, Ollama.

Native tool calls are used when the server offers them (vLLM started with
``--enable-auto-tool-choice --tool-call-parser ...``). A server that refuses the
``tools`` parameter, or a model that writes the text protocol in its content instead
(a fine-tuned model served without a parser), still works: the reply's text is read
with the text protocol. ``tool_protocol`` forces either path.

``base_urls`` lists replicas of the model (``openai:MODEL@URL1,URL2``): requests go to
the least busy live one, and a replica that cannot be reached is set aside and its
request retried on another (:mod:`agent.models.replicas`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field, PrivateAttr

from tools.errors import ModelError
from tools.redact import redact_text, redact_url

from .protocol import parse_reply
from .replicas import ReplicaPool, replica_failure
from .text_chat import parsed_message, to_protocol_messages

ToolProtocol = Literal["auto", "native", "text"]


def _looks_like_tools_refused(exc: Exception) -> bool:
    text = str(exc).lower()
    return getattr(exc, "status_code", None) in (400, 422) and ("tool" in text or "function" in text)


def served_model_names(base_url: str, api_key: str = "EMPTY", timeout: float = 10.0) -> list[str]:
    """The model ids a server offers (``GET /models``)."""
    import httpx

    try:
        response = httpx.get(
            base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )
        response.raise_for_status()
        return [str(m["id"]) for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(redact_text(f"cannot list the models of {base_url}: {type(exc).__name__}: {exc}")) from exc


class ServedChatModel(BaseChatModel):
    """Chat Completions client with tool calls native or through the text protocol."""

    base_url: str
    #: Replicas of the same model; empty means ``base_url`` alone.
    base_urls: list[str] = Field(default_factory=list)
    #: Seconds before a replica that was taken out is probed again.
    replica_retry_s: float = 2.0
    model: str | None = None
    #: "EMPTY" (what local vLLM servers accept) unless set here, by GEOSLEUTH_MODEL_API_KEY,
    #: or by OPENAI_API_KEY (read when the model is made, as the OpenAI client does).
    api_key: str = Field(default_factory=lambda: os.environ.get("OPENAI_API_KEY") or "EMPTY")
    tool_protocol: ToolProtocol = "auto"
    timeout_s: float = 120.0
    max_tokens: int = 1024
    max_retries: int = 2

    _clients: dict[str, Any] = PrivateAttr(default_factory=dict)
    _native_refused: bool = PrivateAttr(default=False)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _pool: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        urls = [u.rstrip("/") for u in (self.base_urls or [self.base_url])]
        self.base_urls = urls
        self._pool = ReplicaPool(urls, probe=self._answers, retry_s=self.replica_retry_s)

    def _answers(self, url: str) -> bool:
        served_model_names(url, self.api_key, timeout=min(self.timeout_s, 3.0))
        return True

    def warm(self) -> None:
        """Make the clients now (imports, set-up) rather than on the first request; asks
        nothing of a server when the model id is known."""
        if self.model is not None:
            for url in self.base_urls:
                self.client(url)

    def endpoint_stats(self) -> dict[str, dict[str, Any]]:
        """Requests, successes, failures and take-outs per server."""
        return self._pool.stats()

    @property
    def _llm_type(self) -> str:
        return "geosleuth-served"

    def client(self, url: str | None = None) -> Any:
        """The langchain-openai client for one server, made on first use (the model id is
        asked of the server when not given). With replicas a client never retries by
        itself: the pool retries on another replica instead."""
        url = url or self.base_urls[0]
        with self._lock:
            if url not in self._clients:
                from langchain_openai import ChatOpenAI

                model = self.model or (served_model_names(url, self.api_key) or [None])[0]
                if model is None:
                    raise ModelError(f"{redact_url(url)} serves no model")
                self.model = model
                self._clients[url] = ChatOpenAI(
                    model=model,
                    base_url=url,
                    api_key=self.api_key,
                    timeout=self.timeout_s,
                    max_retries=self.max_retries if len(self.base_urls) == 1 else 0,
                    max_tokens=self.max_tokens,
                )
            return self._clients[url]

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        return self.bind(tools=list(tools), **kwargs)

    def _native(self, url: str, messages: list[BaseMessage], tools: list[Any], **kwargs: Any) -> AIMessage | None:
        """Try native tool calls; None when the server refuses them."""
        try:
            reply = self.client(url).bind_tools(tools).invoke(messages, **kwargs)
        except Exception as exc:
            if self.tool_protocol == "auto" and _looks_like_tools_refused(exc):
                self._native_refused = True  # remembered: later calls go straight to text
                return None
            raise
        text = reply.content if isinstance(reply.content, str) else ""
        if not reply.tool_calls and text:
            parsed = parse_reply(text)  # the model wrote the protocol itself
            if parsed.tool_calls:
                return AIMessage(
                    content=parsed.content,
                    tool_calls=parsed.tool_calls,
                    response_metadata={**reply.response_metadata, "raw_text": text, "protocol": "text-in-native"},
                    usage_metadata=reply.usage_metadata,
                )
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.pop("tools", None) or []
        kwargs.pop("tool_choice", None)
        if stop:
            kwargs["stop"] = stop
        tried: set[str] = set()
        last: ModelError | None = None
        while True:
            replica = self._pool.acquire(exclude=tried)
            if replica is None:
                if last is not None and len(self.base_urls) == 1:
                    raise last
                raise ModelError(
                    f"no model server answers ({len(self.base_urls)} configured, all taken out)"
                    + (f"; last: {last}" if last else "")
                ) from last
            try:
                result = self._generate_on(replica.url, messages, tools, **kwargs)
            except ModelError as exc:
                gone = replica_failure(exc.__cause__) or replica_failure(exc)
                self._pool.release(replica, "failed" if gone else "error")
                if not gone:
                    raise
                tried.add(replica.url)
                last = exc
                continue
            self._pool.release(replica, "ok")
            return result

    def _generate_on(self, url: str, messages: list[BaseMessage], tools: list[Any], **kwargs: Any) -> ChatResult:
        try:
            if tools and self.tool_protocol != "text" and not self._native_refused:
                reply = self._native(url, messages, tools, **kwargs)
                if reply is not None:
                    reply.response_metadata["endpoint"] = url
                    return ChatResult(generations=[ChatGeneration(message=reply)])
            raw = self.client(url).invoke(to_protocol_messages(messages, tools) if tools else messages, **kwargs)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(redact_text(f"model server {url} failed: {type(exc).__name__}: {exc}")) from exc
        text = raw.content if isinstance(raw.content, str) else str(raw.content)
        message = parsed_message(text, tools_bound=bool(tools), usage=raw.usage_metadata)
        message.response_metadata["endpoint"] = url
        return ChatResult(generations=[ChatGeneration(message=message)])

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "served",
            "base_url": redact_url(self.base_url),  # never credentials in traces or run.json
            **({"base_urls": [redact_url(u) for u in self.base_urls]} if len(self.base_urls) > 1 else {}),
            "model": self.model,
            "tool_protocol": "text" if self._native_refused else self.tool_protocol,
        }
