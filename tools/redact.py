"""Credentials never reach a file: URLs and settings are redacted before they are written.

A model server given as ``https://user:key@host/v1`` or ``...?api_key=...`` would
otherwise be copied into every trace header, ``run.json`` and error message. The
redacted form keeps what an investigator needs to see (scheme, host, port, path, the
names of the parameters) and replaces the secrets with ``***``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: Query parameters that carry secrets (compared lower-case, with ``-`` read as ``_``).
SECRET_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "token",
        "access_token",
        "auth",
        "auth_token",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "sig",
        "signature",
        "x_api_key",
        "session",
        "sessionid",
    }
)
#: Setting names whose values are secrets wherever they appear in a configuration.
SECRET_FIELDS = frozenset({"api_key", "apikey", "token", "access_token", "secret", "client_secret", "password"})

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def _secret_param(name: str) -> bool:
    return name.lower().replace("-", "_") in SECRET_PARAMS


def redact_url(url: str) -> str:
    """``https://user:key@host/v1?api_key=abc&q=x`` -> ``https://***@host/v1?api_key=***&q=x``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        where = netloc.rsplit("@", 1)[1]
        netloc = f"{MASK}@{where}" if host is not None else f"{MASK}@"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_param(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _secret_param(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted (a model spec ``openai:m@https://u:k@host/v1`` too)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secrets masked: URLs in strings, and the values of
    fields named like ``api_key``, ``token`` or ``password``."""
    if isinstance(value, str):
        return redact_text(value) if "://" in value else value
    if isinstance(value, dict):
        return {
            key: (MASK if isinstance(key, str) and key.lower() in SECRET_FIELDS and item else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    return value
