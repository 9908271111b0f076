"""A real OpenAI-compatible Chat Completions server on 127.0.0.1, for tests and benchmarks.

    with OpenAIStubServer([StubReply(tool_calls=[{"name": "ocr", "arguments": {"image": "img:0"}}]),
                           StubReply(content="<answer>...</answer>")]) as server:
        model = ChatOpenAI(model="stub", base_url=server.base_url, api_key="x", max_retries=0)
        ...
        assert server.requests[0]["tools"]

It speaks the wire format of OpenAI and vLLM: ``GET /v1/models``, ``POST /v1/chat/completions`` (plain JSON,
or Server-Sent Events when the request says ``"stream": true``), errors as ``{"error": {"message", "type",
"param", "code"}}``. What it answers comes from a *responder*: a script of replies consumed in order
(``StubReply``, a plain string, or a list of them for several choices), or a callable
``responder(request_json) -> StubReply | str | list[...]``.

``delay_s`` makes every answer wait in its own thread (so concurrent requests overlap, as they do on a batching
GPU server) and ``max_concurrency`` lets only N requests be "processed" at once; together they let the
throughput-vs-concurrency benchmark run without a GPU. ``reject_tools`` plays a vLLM server started without
``--enable-auto-tool-choice``.

Run one by hand (answers every request with a valid final answer in the text protocol)::

    python -m evals.openai_stub --port 8000 --delay 0.2 --model stub

This module uses the standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "DEFAULT_ANSWER",
    "VLLM_AUTO_TOOL_CHOICE_ERROR",
    "OpenAIStubServer",
    "Responder",
    "StubReply",
    "default_responder",
    "main",
]

#: The final answer the CLI's default responder gives, in the project's text protocol.
DEFAULT_ANSWER = (
    '<answer>{"thinking": "stub", "answer": {"coordinates": '
    '{"latitude": 0.0, "longitude": 0.0, "region": "stub"}}}</answer>'
)

#: vLLM's error text for a request with ``tools`` (tool_choice "auto") on a server started without
#: ``--enable-auto-tool-choice --tool-call-parser ...``.
VLLM_AUTO_TOOL_CHOICE_ERROR = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'

_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    408: "RequestTimeoutError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


@dataclass
class StubReply:
    """One answer of the stub server.

    ``content`` and/or ``tool_calls`` (each ``{"name": str, "arguments": dict | str}``, optionally with an
    ``"id"``; the server assigns ids otherwise, and a string ``arguments`` is sent verbatim, malformed or not)
    make a successful reply. ``status`` >= 400 or an ``error`` dict (``message``/``type``/``code``, missing
    keys filled in) make an error reply. ``delay_s`` overrides the server-wide delay for this reply.
    ``finish_reason`` defaults to ``"tool_calls"`` when there are tool calls, else ``"stop"``; ``usage``
    (``prompt_tokens``/``completion_tokens``/``total_tokens``) defaults to a rough count.
    ``choices``, when given, are several choices answered at once (see ``from_completion``).
    """

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: dict[str, Any] | None = None
    delay_s: float | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    choices: list[StubReply] | None = None

    @property
    def is_error(self) -> bool:
        return self.status >= 400 or self.error is not None

    @classmethod
    def from_completion(cls, completion: Mapping[str, Any] | Any) -> StubReply:
        """A reply that replays a recorded Chat Completions response (a JSON object, or an ``openai``
        ``ChatCompletion``): every choice's content, tool calls (ids and argument strings verbatim) and
        finish reason, and the usage. A recorded error body ``{"error": {...}}`` replays as that error."""
        if not isinstance(completion, Mapping) and hasattr(completion, "model_dump"):
            completion = completion.model_dump(mode="json", exclude_none=True)
        if not isinstance(completion, Mapping):
            raise TypeError(f"from_completion needs a Chat Completions JSON object, got {type(completion).__name__}")
        if "choices" not in completion and isinstance(completion.get("error"), Mapping):
            error = dict(completion["error"])
            code = error.get("code")
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            return cls(status=status, error=error)
        choices = completion.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError("from_completion: the completion has no 'choices'")
        usage = completion.get("usage")
        usage = dict(usage) if isinstance(usage, Mapping) else None
        ordered = sorted(choices, key=lambda c: c.get("index", 0))
        replies = [replace(_reply_from_choice(choice), usage=usage) for choice in ordered]
        return replace(replies[0], choices=replies) if len(replies) > 1 else replies[0]

    def _choices(self) -> list[StubReply]:
        return list(self.choices) if self.choices else [self]


def _reply_from_choice(choice: Mapping[str, Any]) -> StubReply:
    message = choice.get("message") or {}
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        entry = {"name": function.get("name"), "arguments": function.get("arguments", "{}")}
        if call.get("id"):
            entry["id"] = call["id"]
        calls.append(entry)
    return StubReply(
        content=message.get("content"),
        tool_calls=calls or None,
        finish_reason=choice.get("finish_reason"),
    )


#: A responder answers one request (its JSON body) with a reply, a plain string, or a list of them (choices).
Responder = Callable[[dict[str, Any]], "StubReply | str | list[StubReply | str]"]


def default_responder(request: dict[str, Any]) -> StubReply:
    """Answer anything with a fixed, valid final answer in the project's text protocol."""
    return StubReply(content=DEFAULT_ANSWER)


def _as_reply(item: Any) -> StubReply:
    if isinstance(item, StubReply):
        return item
    if isinstance(item, str):
        return StubReply(content=item)
    if isinstance(item, list):
        replies = [_as_reply(x) for x in item]
        if not replies:
            raise ValueError("an empty list of choices")
        for reply in replies:
            if reply.is_error:
                raise ValueError("an error reply cannot be one of several choices")
        return replace(replies[0], choices=replies) if len(replies) > 1 else replies[0]
    raise TypeError(f"a stub reply must be a StubReply, a str or a list of them, got {type(item).__name__}")


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _text_of(content: Any) -> tuple[str, int]:
    """The text of a message content (a string or a list of parts) and how many images it holds."""
    if isinstance(content, str):
        return content, 0
    text, images = [], 0
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping):
                if part.get("type") == "text":
                    text.append(str(part.get("text", "")))
                elif part.get("type") in ("image_url", "input_image", "image"):
                    images += 1
    return " ".join(text), images


def _count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def _prompt_tokens(request: Mapping[str, Any]) -> int:
    total = 0
    for message in request.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        text, images = _text_of(message.get("content"))
        total += 4 + _count_tokens(text) + 256 * images
        for call in message.get("tool_calls") or []:
            total += _count_tokens(json.dumps(call))
    if request.get("tools"):
        total += _count_tokens(json.dumps(request["tools"]))
    return total


class _ScriptExhausted(Exception):
    pass


class OpenAIStubServer:
    """A real HTTP server on 127.0.0.1 that answers OpenAI Chat Completions requests.

    ``replies``: a script (iterable of ``StubReply``, ``str``, or a list of those for one response with several
    choices) consumed in order, or a callable ``responder(request_json)``. ``None`` means an empty script
    (add replies later with ``add``). An exhausted script answers HTTP 500 with an OpenAI-style error.

    A request with ``n`` > 1 gathers n choices: each scripted item (or responder call) gives one choice, or
    several for a list / a multi-choice reply; a short script gives fewer; extra choices are dropped. Only the
    first draw may be an error (a scripted error further on stays queued for the next request).

    ``delay_s`` (attribute, changeable while running) is slept in the request's own thread before answering,
    unless the reply sets its own; ``max_concurrency`` lets at most N requests sleep/answer at once (the rest
    queue), ``reject_tools`` answers 400 with vLLM's error to a request with ``tools`` and tool_choice absent or
    ``"auto"`` (vLLM accepts ``"required"``, ``"none"`` and named tool choices without the flag).

    ``requests`` holds every chat-completions request body received (parsed JSON), in arrival order.
    """

    def __init__(
        self,
        replies: Iterable[StubReply | str | list[StubReply | str]] | Responder | None = None,
        *,
        model: str = "stub",
        delay_s: float = 0.0,
        max_concurrency: int | None = None,
        reject_tools: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1 or None, got {max_concurrency}")
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self.model = model
        self.delay_s = delay_s
        self.max_concurrency = max_concurrency
        self.reject_tools = reject_tools
        self.requests: list[dict[str, Any]] = []
        self.created = int(time.time())
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._responder: Responder | None = None
        self._script: deque[StubReply] = deque()
        if callable(replies):
            self._responder = replies
        elif replies is not None:
            self._script.extend(_as_reply(item) for item in replies)
        self._started = False
        self._closed = False
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-stub", daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> OpenAIStubServer:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._started:
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what ``OpenAI(base_url=...)`` and ``ChatOpenAI(base_url=...)`` take."""
        return self.url("/v1")

    def url(self, path: str = "/") -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}{path}"

    # -- script ----------------------------------------------------------------------------------------------

    def add(self, *replies: StubReply | str | list[StubReply | str]) -> None:
        """Append replies to the script (not for a server built with a responder callable)."""
        if self._responder is not None:
            raise TypeError("this server answers with a responder callable, not a script")
        with self._lock:
            self._script.extend(_as_reply(item) for item in replies)

    @property
    def remaining(self) -> int:
        """How many scripted replies are left."""
        with self._lock:
            return len(self._script)

    def _draw(self, request: dict[str, Any], n: int) -> list[StubReply]:
        """The replies that answer one request: one error, or 1..n choices. Raises _ScriptExhausted."""
        if self._responder is not None:
            first = _as_reply(self._responder(request))
            if first.is_error:
                return [first]
            choices = first._choices()
            while len(choices) < n:
                more = _as_reply(self._responder(request))
                if more.is_error:
                    break
                choices.extend(more._choices())
            return choices[:n]
        with self._lock:
            if not self._script:
                raise _ScriptExhausted
            first = self._script.popleft()
            if first.is_error:
                return [first]
            choices = first._choices()
            while len(choices) < n and self._script and not self._script[0].is_error:
                choices.extend(self._script.popleft()._choices())
        return choices[:n]

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/v1/models":
                    self._send_json(200, outer._models_body())
                elif path == "/health":
                    self._send_json(200, {})
                else:
                    self._send_json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0].rstrip("/")
                if path != "/v1/chat/completions":
                    self._send_json(404, {"detail": "Not Found"})
                    return
                outer._serve_chat(self, body)

            def _send_json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away

            def log_message(self, *args: Any) -> None:  # keep test and benchmark output clean
                pass

        return Handler

    def _models_body(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": self.model, "object": "model", "created": self.created, "owned_by": "geosleuth-stub"}],
        }

    def _serve_chat(self, handler: Any, body: bytes) -> None:
        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            handler._send_json(400, _error_body(400, f"the request body is not JSON: {exc}"))
            return
        if not isinstance(request, dict):
            handler._send_json(400, _error_body(400, "the request body must be a JSON object"))
            return
        with self._lock:
            self.requests.append(request)
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            handler._send_json(400, _error_body(400, "'messages' must be a non-empty list", param="messages"))
            return
        n = request.get("n") or 1
        if not isinstance(n, int) or n < 1:
            handler._send_json(400, _error_body(400, f"'n' must be a positive integer, got {n!r}", param="n"))
            return
        if self.reject_tools and request.get("tools") and request.get("tool_choice", "auto") in (None, "auto"):
            handler._send_json(400, _error_body(400, VLLM_AUTO_TOOL_CHOICE_ERROR))
            return

        try:
            replies = self._draw(request, n)  # at arrival, so a script is consumed in arrival order
        except _ScriptExhausted:
            message = f"the stub server's script is exhausted (request #{len(self.requests)})"
            handler._send_json(500, _error_body(500, message))
            return
        except Exception as exc:  # noqa: BLE001 - a failing test responder must answer, not hang the client
            handler._send_json(500, _error_body(500, f"the stub responder failed: {exc!r}"))
            return
        if self._slots is not None:
            self._slots.acquire()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delays = [r.delay_s for r in replies if r.delay_s is not None]
            delay = max(delays) if delays else self.delay_s
            if delay > 0:
                time.sleep(delay)
            first = replies[0]
            if first.is_error:
                status = first.status if first.status >= 400 else 500
                error = dict(first.error or {})
                handler._send_json(status, _error_body(status, error.pop("message", None), **error))
                return
            model = request.get("model") or self.model
            if request.get("stream"):
                include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
                self._send_stream(handler, request, model, replies, include_usage)
            else:
                handler._send_json(200, _completion(request, model, replies))
        finally:
            with self._lock:
                self.in_flight -= 1
            if self._slots is not None:
                self._slots.release()

    def _send_stream(
        self, handler: Any, request: dict[str, Any], model: str, replies: list[StubReply], include_usage: bool
    ) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for event in _stream_events(request, model, replies, include_usage):
                data = f"data: {event}\n\n".encode()
                handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True


def _error_body(status: int, message: str | None, **extra: Any) -> dict[str, Any]:
    error = {
        "message": message or f"stub error (HTTP {status})",
        "type": extra.pop("type", None) or _ERROR_TYPES.get(status, "APIError"),
        "param": extra.pop("param", None),
        "code": extra.pop("code", status),
    }
    error.update(extra)
    return {"error": error}


def _tool_calls(reply: StubReply) -> list[dict[str, Any]]:
    calls = []
    for call in reply.tool_calls or []:
        arguments = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or _new_id("call_"),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    return calls


def _finish_reason(reply: StubReply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _usage(request: Mapping[str, Any], replies: list[StubReply], calls: list[list[dict[str, Any]]]) -> dict[str, int]:
    if replies[0].usage:
        usage = dict(replies[0].usage)
        usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        return usage
    prompt = _prompt_tokens(request)
    completion = sum(
        _count_tokens(reply.content or "") + sum(_count_tokens(json.dumps(c["function"])) for c in cs)
        for reply, cs in zip(replies, calls)
    )
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(request: Mapping[str, Any], model: str, replies: list[StubReply]) -> dict[str, Any]:
    calls = [_tool_calls(reply) for reply in replies]
    choices = []
    for index, (reply, tool_calls) in enumerate(zip(replies, calls)):
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)})
    return {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": _usage(request, replies, calls),
    }


def _pieces(text: str, size: int) -> list[str]:
    """``text`` cut into chunks of about ``size`` characters at word ends (what a streaming server sends)."""
    words = re.findall(r"\S+\s*|\s+", text)
    pieces, current = [], ""
    for word in words:
        current += word
        if len(current) >= size:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _stream_events(
    request: Mapping[str, Any], model: str, replies: list[StubReply], include_usage: bool
) -> Iterable[str]:
    chunk_id, created = _new_id("chatcmpl-"), int(time.time())
    calls = [_tool_calls(reply) for reply in replies]

    def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> str:
        body: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if usage is not None:
            body["usage"] = usage
        return json.dumps(body)

    def delta(index: int, content: dict[str, Any], finish_reason: str | None = None) -> str:
        return chunk([{"index": index, "delta": content, "logprobs": None, "finish_reason": finish_reason}])

    for index, (reply, tool_calls) in enumerate(zip(replies, calls)):
        yield delta(index, {"role": "assistant", "content": ""})
        for piece in _pieces(reply.content or "", 16):
            yield delta(index, {"content": piece})
        for call_index, call in enumerate(tool_calls):
            function = call["function"]
            head = {"id": call["id"], "type": "function", "function": {"name": function["name"], "arguments": ""}}
            yield delta(index, {"tool_calls": [{"index": call_index, **head}]})
            arguments = function["arguments"]
            for start in range(0, len(arguments), 8):  # token-sized pieces that split the JSON anywhere
                piece = arguments[start : start + 8]
                yield delta(index, {"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]})
        yield delta(index, {}, _finish_reason(reply))
    if include_usage:
        yield chunk([], _usage(request, replies, calls))
    yield "[DONE]"


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.openai_stub``: serve the default responder until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m evals.openai_stub",
        description="A local OpenAI-compatible Chat Completions stub that answers every request with a fixed "
        "final answer in geosleuth's text protocol (for manual runs and throughput benchmarks).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on, 0 for any free one (default: 8000)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each request waits before its answer")
    parser.add_argument("--model", default="stub", help="the served model name (default: stub)")
    parser.add_argument("--max-concurrency", type=int, default=None, help="process at most N requests at once")
    parser.add_argument(
        "--reject-tools",
        action="store_true",
        help="answer requests with tools like vLLM started without --enable-auto-tool-choice (HTTP 400)",
    )
    args = parser.parse_args(argv)
    try:
        server = OpenAIStubServer(
            default_responder,
            model=args.model,
            delay_s=args.delay,
            max_concurrency=args.max_concurrency,
            reject_tools=args.reject_tools,
            host=args.host,
            port=args.port,
        )
    except (OSError, ValueError) as exc:
        print(f"openai_stub: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    with server:
        print(f"serving model {args.model!r} at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
