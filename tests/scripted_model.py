"""A chat model that answers from a test's script, recording what it was sent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Responder = Callable[[list[BaseMessage], list[str], dict[str, Any]], AIMessage | str]


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"c-{name}-{abs(hash(str(args))) % 10**8}", "type": "tool_call"}


class ScriptedChatModel(BaseChatModel):
    """``respond(messages, tool_names, kwargs)`` returns the reply (an AIMessage, or text)."""

    respond: Any
    _calls: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[dict[str, Any]]:
        return list(self._calls)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):
        tools = [getattr(t, "name", str(t)) for t in kwargs.pop("tools", [])]
        with self._lock:
            self._calls.append({"messages": list(messages), "tools": tools, "kwargs": dict(kwargs)})
        reply = self.respond(list(messages), tools, dict(kwargs))
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        return ChatResult(generations=[ChatGeneration(message=reply)])
