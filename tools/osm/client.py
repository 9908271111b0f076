"""Sending Overpass QL and reading the answer.

The request goes through the run's :class:`tools.net.NetClient` (POST ``data=<QL>``),
so pacing, retries with backoff on 429/502/503/504, timeouts and the fast offline
answer are the same as for every other online service. Two things are Overpass's own:

* A query that runs out of time or memory on the server still answers HTTP 200, with
  the elements found so far and a top-level ``"remark"`` such as ``runtime error: Query
  timed out in "query" at line 3 after 26 seconds.`` That answer is incomplete, so it is
  an error (:class:`OverpassRuntimeError`), retried once, and never cached.
* Caching is therefore done here rather than in the net client: only answers that
  parsed cleanly are written, under the key the net client would have used.

Parsing uses ``overpy.Overpass().parse_json`` (it validates element types and raises on
remarks); the geometry that overpy keeps as raw attributes (``out geom``) is turned
into shapely shapes by :mod:`tools.osm.features`. Before parsing, ``null`` entries in
geometry lists (nodes outside a clipping bbox) are dropped, because overpy would fail
on them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from ..net import BadResponseError, NetClient, NetError
from .features import OsmFeature, feature_from_overpy

DEFAULT_OVERPASS_URL = "https://overpass-api.de/api/interpreter"
#: Seconds the HTTP client waits beyond the server-side timeout before giving up.
HTTP_GRACE_S = 10.0


class OverpassRuntimeError(NetError):
    """Overpass answered 200 but reported a runtime error (timeout, out of memory) in a remark."""

    kind = "overpass_runtime"


def net_message(exc: BaseException) -> str:
    """The one-line message of an error (some NetErrors carry a status as a second argument)."""
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or type(exc).__name__


@dataclass
class OverpassAnswer:
    """Features of one answer, with where they came from."""

    features: list[OsmFeature]
    query: str
    endpoint: str
    cached: bool = False
    attempts: int = 0
    generator: str | None = None
    timestamp: str | None = None
    skipped: int = 0
    raw_elements: int = 0


def _drop_null_geometry(data: dict[str, Any]) -> dict[str, Any]:
    elements = []
    for element in data["elements"]:
        if not isinstance(element, dict):
            raise BadResponseError(f"Overpass element is not an object: {str(element)[:60]!r}")
        element = dict(element)
        if isinstance(element.get("geometry"), list):
            element["geometry"] = [p for p in element["geometry"] if isinstance(p, dict)]
        if isinstance(element.get("members"), list):
            members = []
            for member in element["members"]:
                if isinstance(member, dict) and isinstance(member.get("geometry"), list):
                    member = {**member, "geometry": [p for p in member["geometry"] if isinstance(p, dict)]}
                members.append(member)
            element["members"] = members
        elements.append(element)
    return {**data, "elements": elements}


def parse_overpass(data: Any, *, host: str = "overpass") -> tuple[list[OsmFeature], int]:
    """Features in an Overpass JSON answer, in answer order, and how many elements had no position.

    Raises :class:`OverpassRuntimeError` for a remark and :class:`BadResponseError` for an
    answer that is not Overpass JSON.
    """
    import overpy
    import overpy.exception

    if not isinstance(data, dict):
        raise BadResponseError(f"{host}: Overpass answer is not a JSON object ({type(data).__name__})")
    remark = data.get("remark")
    if remark is not None and not isinstance(remark, str):
        remark = json.dumps(remark)
    if "elements" not in data and remark is None:
        raise BadResponseError(f"{host}: Overpass answer has no 'elements' list")
    if not isinstance(data.get("elements", []), list):
        raise BadResponseError(f"{host}: Overpass 'elements' is not a list")
    cleaned = _drop_null_geometry({**data, "elements": data.get("elements", [])})
    if remark is not None:
        cleaned["remark"] = remark
    try:
        result = overpy.Overpass().parse_json(json.dumps(cleaned))
    except overpy.exception.OverpassError as exc:
        message = (getattr(exc, "msg", None) or remark or str(exc)).strip()
        raise OverpassRuntimeError(f"{host}: Overpass reported: {message}") from None
    except (overpy.exception.OverPyException, ValueError, TypeError, AttributeError, KeyError, ArithmeticError) as exc:
        raise BadResponseError(f"{host}: malformed Overpass element ({type(exc).__name__}: {exc})") from None
    order = {(str(e.get("type")), str(e.get("id"))): position for position, e in enumerate(cleaned["elements"])}
    features: list[OsmFeature] = []
    skipped = 0
    for element in [*result.nodes, *result.ways, *result.relations]:
        try:
            feature = feature_from_overpy(element)
        except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            raise BadResponseError(f"{host}: malformed Overpass element ({type(exc).__name__}: {exc})") from None
        if feature is None:
            skipped += 1
            continue
        features.append(feature)
    features.sort(key=lambda f: order.get((f.osm_type, str(f.osm_id)), len(order)))
    return features, skipped


class OverpassClient:
    """POSTs QL to one Overpass endpoint through a NetClient and parses the answer."""

    def __init__(
        self,
        net: NetClient,
        url: str = DEFAULT_OVERPASS_URL,
        *,
        http_timeout_s: float | None = None,
        remark_retries: int = 1,
    ) -> None:
        self.net = net
        self.url = url
        self.http_timeout_s = http_timeout_s
        self.remark_retries = max(0, int(remark_retries))

    @classmethod
    def from_context(cls, ctx: Any, *, server_timeout_s: float) -> OverpassClient:
        """The client for a run: ``overpass_url`` and ``osm_http_timeout_s`` settings, the run's NetClient."""
        settings = ctx.settings
        url = str(settings.get("overpass_url") or DEFAULT_OVERPASS_URL)
        http_timeout = settings.get("osm_http_timeout_s")
        timeout = float(http_timeout) if http_timeout is not None else server_timeout_s + HTTP_GRACE_S
        return cls(ctx.net(), url, http_timeout_s=timeout)

    def _host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.url).hostname or self.url

    def run(self, ql: str, *, use_cache: bool = True) -> OverpassAnswer:
        """Send ``ql``; the parsed features, from the disk cache when a fresh copy exists.

        Network failures raise the net client's typed errors; a remark raises
        :class:`OverpassRuntimeError` after one more try; malformed answers raise
        :class:`BadResponseError`.
        """
        form = {"data": ql}
        key = self.net.cache.key("POST", self.url, None, form)
        host = self._host()
        if use_cache:
            hit = self.net.cache.get(key)
            if hit is not None:
                try:
                    features, skipped = parse_overpass(hit, host=host)
                except NetError:
                    pass  # a cache entry that no longer parses is refetched
                else:
                    return self._answer(features, ql, hit, cached=True, attempts=0, skipped=skipped)
        attempts = 0
        for round_ in range(self.remark_retries + 1):
            result = self.net.request_json(
                "POST", self.url, data=form, timeout_s=self.http_timeout_s, use_cache=False, service="overpass"
            )
            attempts += result.attempts
            try:
                features, skipped = parse_overpass(result.data, host=host)
            except OverpassRuntimeError as exc:
                if round_ < self.remark_retries:
                    wait = self.net.settings.backoff_s * (1.0 + 0.1 * random.random())
                    self.net.pause(wait, self.net.call_deadline(), host, net_message(exc))
                    continue
                raise OverpassRuntimeError(f"{net_message(exc)} ({round_ + 1} tries)") from None
            if use_cache:
                self.net.cache.put(key, result.data)
            return self._answer(features, ql, result.data, cached=False, attempts=attempts, skipped=skipped)
        raise OverpassRuntimeError(f"{host}: gave up")  # pragma: no cover - the loop returns or raises

    def _answer(
        self, features: list[OsmFeature], ql: str, data: dict[str, Any], *, cached: bool, attempts: int, skipped: int
    ) -> OverpassAnswer:
        osm3s = data.get("osm3s") if isinstance(data.get("osm3s"), dict) else {}
        return OverpassAnswer(
            features=features,
            query=ql,
            endpoint=self.url,
            cached=cached,
            attempts=attempts,
            generator=data.get("generator") if isinstance(data.get("generator"), str) else None,
            timestamp=osm3s.get("timestamp_osm_base") if isinstance(osm3s.get("timestamp_osm_base"), str) else None,
            skipped=skipped,
            raw_elements=len(data.get("elements") or []),
        )
