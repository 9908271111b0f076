"""The gate every request passes: Host check, token, body size, safe response headers.

- **Host.** A page on another site can point its own DNS name at 127.0.0.1 (DNS
  rebinding) and talk to this server as a same-origin page would; its requests carry that
  foreign name in ``Host``, so only the names this server answers to are accepted.
- **Token.** Every call (API, page, OpenAPI document) needs the token, compared in
  constant time. It may come in the ``X-GeoSleuth-Token`` header or ``Authorization:
  Bearer``; a GET may also carry it as ``?token=`` (the URL printed at start, an
  EventSource that cannot set headers) or in the cookie set when it did. A call that
  changes something must send it in a header: a cookie alone is what a forged cross-site
  form would carry, and a custom header is what such a form cannot add.
- **Body size.** A declared ``Content-Length`` over the limit is refused before a byte is
  read; a body without one is counted as it arrives and cut off at the limit.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

TOKEN_HEADER = "x-geosleuth-token"
COOKIE = "geosleuth_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
JSON_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class BodyTooLarge(Exception):
    pass


def host_name(host: str) -> str:
    """``[::1]:8765`` -> ``::1``; ``Example.org:80`` -> ``example.org``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def same_token(given: str | None, token: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        hosts: Iterable[str],
        max_body: int,
        open_paths: Iterable[str] = ("/healthz",),
    ) -> None:
        self.app = app
        self.token = token
        self.hosts = frozenset(hosts)
        self.max_body = max_body
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = scope["method"].upper()
        if host_name(headers.get("host", "")) not in self.hosts:
            await error_response(400, "bad_host", "this server does not answer to that Host name")(scope, receive, send)
            return
        set_cookie = False
        if scope["path"] not in self.open_paths:
            in_header = headers.get(TOKEN_HEADER) or _bearer(headers.get("authorization"))
            in_query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
            in_cookie = _cookie(headers.get("cookie"))
            if in_header is not None:
                ok = same_token(in_header, self.token)
            elif method in SAFE_METHODS:
                ok = same_token(in_query, self.token) or same_token(in_cookie, self.token)
                set_cookie = ok and same_token(in_query, self.token)
            else:
                ok = False
                if same_token(in_cookie, self.token) or same_token(in_query, self.token):
                    await error_response(
                        403,
                        "token_header_required",
                        f"a call that changes something needs the token in the {TOKEN_HEADER} header",
                    )(scope, receive, send)
                    return
            if not ok:
                await error_response(401, "bad_token", "a valid token is needed (see the URL printed at start)")(
                    scope, receive, send
                )
                return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await error_response(
                413, "too_large", f"the request body is {int(declared):,} bytes, over the limit of {self.max_body:,}"
            )(scope, receive, send)
            return
        await self._forward(scope, receive, send, set_cookie)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, set_cookie: bool) -> None:
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append(JSON_CSP)
                if set_cookie:
                    headers.append(
                        (b"set-cookie", f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode())
                    )
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except BodyTooLarge:
            if not started:
                await error_response(
                    413, "too_large", f"the request body is over the limit of {self.max_body:,} bytes"
                )(scope, receive, send)


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


def _cookie(value: str | None) -> str | None:
    if not value:
        return None
    jar: Any = SimpleCookie()
    try:
        jar.load(value)
    except Exception:  # noqa: BLE001 - a malformed cookie header is simply no token
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None
