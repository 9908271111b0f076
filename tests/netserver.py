"""A real HTTP server on 127.0.0.1 that plays scripted responses, for tests of online tools.

    with ScriptedServer() as server:
        server.route("/api/interpreter", [Reply(429, retry_after=0), Reply(200, body={...})])
        url = server.url("/api/interpreter")

Each route answers its replies in order (the last one repeats) and records every
request (method, path, query, body, headers) so tests can check what was sent.

Hostile servers for reliability tests: ``Reply(stream=fn, chunk_delay_s=...)`` sends
the chunks ``fn()`` yields one by one (a trickle, or 200 MB generated on the fly, never
held in memory), without a Content-Length unless ``headers`` gives one;
``Reply(hang=True)`` reads the request and never answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> as is; a callable(Request) -> any of these
    delay_s: float = 0.0
    retry_after: float | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[], Iterable[bytes]] | None = None
    chunk_delay_s: float = 0.0
    hang: bool = False

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body if self.body is not None else {}).encode("utf-8")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]
    #: When the server read it (``time.monotonic()``): tests of pacing compare these.
    received: float = field(default_factory=time.monotonic)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"))

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer._lock:
                    outer.requests.append(
                        Request(self.command, parts.path, parse_qs(parts.query), body, dict(self.headers.items()))
                    )
                    replies = outer.routes.get(parts.path)
                    reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else Reply(404, {})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.hang:
                    outer._stopping.wait()
                    return
                if reply.stream is not None:
                    self._stream(reply)
                    return
                if callable(reply.body):
                    reply = Reply(
                        reply.status,
                        reply.body(outer.requests[-1]),
                        0.0,
                        reply.retry_after,
                        reply.content_type,
                        reply.headers,
                    )
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    if reply.retry_after is not None:
                        self.send_header("Retry-After", str(reply.retry_after))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to do

            def _stream(self, reply: Reply) -> None:
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    assert reply.stream is not None
                    for chunk in reply.stream():
                        if outer._stopping.is_set():
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.chunk_delay_s:
                            time.sleep(reply.chunk_delay_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: what the test wanted
                self.close_connection = True

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, path: str, replies: list[Reply] | Reply) -> None:
        with self._lock:
            self.routes[path] = list(replies) if isinstance(replies, list) else [replies]

    def url(self, path: str = "/") -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
