"""The text protocol as a LangChain chat model: tools in the prompt, calls parsed from text.

``TextProtocolChatModel`` wraps any chat model that only produces text (a served model
without a tool-call parser, a local VLM) so the graph still receives ``AIMessage`` tool
calls: the bound tools are described in the system prompt, earlier tool calls are
written back as ``<tool_call>`` text, tool results become ``<tool_response>`` user
turns, and the reply is read with :func:`agent.models.protocol.parse_reply`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable

from .protocol import format_tool_call, format_tool_response, parse_reply, tools_prompt


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [b if isinstance(b, dict) else {"type": "text", "text": str(b)} for b in content or []]


def _merge_user_turns(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Consecutive user turns become one: many chat templates require alternation."""
    merged: list[BaseMessage] = []
    for message in messages:
        if merged and isinstance(message, HumanMessage) and isinstance(merged[-1], HumanMessage):
            merged[-1] = HumanMessage(content=_blocks(merged[-1].content) + _blocks(message.content))
        else:
            merged.append(message)
    return merged


def to_protocol_messages(messages: Sequence[BaseMessage], tools: Sequence[Any]) -> list[BaseMessage]:
    """Rewrite a tool-calling conversation into plain system/user/assistant turns."""
    out: list[BaseMessage] = []
    system_parts = [m.content for m in messages if isinstance(m, SystemMessage) and isinstance(m.content, str)]
    if tools:
        system_parts.append(tools_prompt(tools))
    if system_parts:
        out.append(SystemMessage(content="\n\n".join(p for p in system_parts if p)))
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, AIMessage):
            text = message.content if isinstance(message.content, str) else ""
            calls = [format_tool_call(c["name"], c["args"]) for c in message.tool_calls]
            out.append(AIMessage(content="\n".join(p for p in [text, *calls] if p)))
        elif isinstance(message, ToolMessage):
            body = message.content if isinstance(message.content, str) else str(message.content)
            out.append(HumanMessage(content=format_tool_response(message.name or "tool", body)))
        else:
            out.append(message)
    return _merge_user_turns(out)


def parsed_message(text: str, *, tools_bound: bool, usage: Any = None, **metadata: Any) -> AIMessage:
    """An AIMessage from raw model text: tool calls read when tools were offered."""
    if not tools_bound:
        return AIMessage(content=text, response_metadata={"raw_text": text, **metadata}, usage_metadata=usage)
    parsed = parse_reply(text)
    return AIMessage(
        content=parsed.content,
        tool_calls=parsed.tool_calls,
        response_metadata={"raw_text": text, "protocol": "text", "parse_errors": parsed.errors, **metadata},
        usage_metadata=usage,
    )


class TextProtocolChatModel(BaseChatModel):
    """Gives a text-only chat model tool calls through the text protocol."""

    inner: Any  # a BaseChatModel producing text

    @property
    def _llm_type(self) -> str:
        return "geosleuth-text-protocol"

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
        kwargs.pop("tool_choice", None)
        reply = self.inner.invoke(to_protocol_messages(messages, tools), stop=stop, **kwargs)
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        message = parsed_message(text, tools_bound=bool(tools), usage=getattr(reply, "usage_metadata", None))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def describe(self) -> dict[str, Any]:
        inner = getattr(self.inner, "describe", None)
        return {"protocol": "text", "inner": inner() if callable(inner) else type(self.inner).__name__}
