"""Which URLs a tool may fetch: http(s) only, and never an address inside the network.

A page address comes from a search hit or from a model, so it is untrusted: without a
check, ``http://169.254.169.254/`` (a cloud's metadata service), ``http://127.0.0.1:8080``
or a name that resolves to ``10.0.0.5`` would let a page or a prompt make geosleuth read
the investigator's own network. The check runs on the addresses the host name resolves
to (all of them), again on every redirect, and once more on the address the connection
actually reached (:meth:`UrlGuard.check_peer`), so a name that resolves differently
between the check and the request cannot slip through.

Entries of ``fetch_allow_hosts`` are exempt: ``host`` or ``host:port`` (``[::1]:8080`` for
IPv6). Tests serve pages from ``127.0.0.1:<port>`` and must say so explicitly; naming the
port keeps every other service on that address refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..net import NetError

ALLOWED_SCHEMES = ("http", "https")


class BlockedUrlError(NetError):
    """A URL that may not be fetched (scheme, private address, bad form)."""

    kind = "blocked"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests patch this or ``socket.getaddrinfo``)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NetError(f"{host}: cannot resolve ({exc})") from None
    return sorted({str(info[4][0]) for info in infos})


def address_problem(address: str) -> str | None:
    """Why an IP address is off limits (None: a public address)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
    ):
        if test:
            return f"{address} is a {what} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def _allow_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as a (host, port) pair."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


@dataclass
class UrlGuard:
    """Checks URLs before (and addresses after) connecting. ``allow``: ``(host, port)``
    pairs exempt from the private-address rule (port None: any port; tests only)."""

    allow: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, value: str | Iterable[str] | None) -> UrlGuard:
        if not value:
            return cls()
        items = value.split(",") if isinstance(value, str) else list(value)
        return cls(frozenset(_allow_entry(str(item)) for item in items if str(item).strip()))

    def allowed(self, host: str, port: int) -> bool:
        host = host.lower()
        return (host, port) in self.allow or (host, None) in self.allow

    def check(self, url: str) -> tuple[str, int]:
        """``(host, port)`` of a URL that may be fetched; ``BlockedUrlError`` otherwise."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise BlockedUrlError(f"not a usable URL: {url!r} ({exc})") from None
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise BlockedUrlError(f"refused {url!r}: only http and https URLs are fetched")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedUrlError(f"refused {url!r}: no host")
        if parts.username or parts.password:
            raise BlockedUrlError(f"refused {url!r}: credentials in a URL are not sent")
        port = port or (443 if parts.scheme.lower() == "https" else 80)
        if self.allowed(host, port):
            return host, port
        for address in resolve_host(host, port):
            if self.allowed(address, port):
                continue
            problem = address_problem(address)
            if problem:
                raise BlockedUrlError(f"refused {url!r}: {host} resolves to {problem}")
        return host, port

    def check_peer(self, address: str, port: int) -> None:
        """Raise when the connection reached an address that is off limits."""
        if self.allowed(address, port):
            return
        problem = address_problem(address)
        if problem:
            raise BlockedUrlError(f"refused: the connection reached {problem}")
