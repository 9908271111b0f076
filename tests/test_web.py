"""The web_search tool without the network: SearxNG against a real local HTTP server
serving its JSON format, ddgs replaced at its factory by a fake that returns
ddgs-shaped rows or raises ddgs's own exceptions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException
from netserver import Reply, ScriptedServer, closed_port

from tools.base import SharedResources, ToolContext, call_tool
from tools.images import ImageRegistry
from tools.place_clues import place_evidence
from tools.text import TextSpan
from tools.text_tool import place_index
from tools.web import (
    DdgsBackend,
    SearchHit,
    SearchSettingsError,
    SearxngBackend,
    WebSearchTool,
    hits_from_data,
    hits_to_evidence,
    parse_region,
    search_endpoint,
    select_backend,
    url_countries,
)

FAST = {"net_backoff_s": 0.01, "net_min_interval_s": 0.0, "net_timeout_s": 2.0}


@pytest.fixture(scope="module")
def resources(gazetteer: Any) -> SharedResources:
    """One gazetteer for every context here (a per-test cache_dir would rebuild it)."""
    shared = SharedResources()
    shared.get("gazetteer", lambda: gazetteer)
    return shared


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[ScriptedServer]:
    # one server for the module: each ScriptedServer costs half a second to shut down
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def server(_shared_server: ScriptedServer) -> ScriptedServer:
    """The module's local HTTP server with no routes and no recorded requests."""
    _shared_server.routes.clear()
    _shared_server.requests.clear()
    return _shared_server


def searx_result(url: str, title: str, content: str, engine: str = "duckduckgo", score: float = 1.0) -> dict:
    parts = urlsplit(url)
    return {
        "url": url,
        "title": title,
        "content": content,
        "engine": engine,
        "parsed_url": [parts.scheme, parts.netloc, parts.path, "", parts.query, ""],
        "template": "default.html",
        "engines": [engine, "brave"],
        "positions": [1, 2],
        "publishedDate": None,
        "thumbnail": "",
        "score": score,
        "category": "general",
        "priority": "",
    }


def searx_answer(query: str, results: list[dict], unresponsive: list[list[str]] | None = None) -> dict:
    """A SearxNG /search?format=json answer in the shape real instances send."""
    return {
        "query": query,
        "number_of_results": 0,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [f"{query} horario"],
        "unresponsive_engines": unresponsive or [],
    }


PASTELARIA = [
    searx_result(
        "https://www.pastelariacentral.pt/",
        "Pastelaria Central — Pastéis de nata desde 1920",
        "Rua Augusta 12, 1100-048 Lisboa. Aberto todos os dias das 8h às 20h.",
        score=3.2,
    ),
    searx_result(
        "https://www.tripadvisor.com/Restaurant_Review-g189158-Pastelaria_Central.html",
        "PASTELARIA CENTRAL, Lisbon - Restaurant Reviews",
        "Pastelaria Central, Lisbon: See 214 unbiased reviews of Pastelaria Central, rated 4.5 of 5.",
        engine="google",
        score=2.1,
    ),
    # the same page again (another engine's copy): one hit, not two
    searx_result("https://www.pastelariacentral.pt/", "Pastelaria Central", "duplicate", engine="brave", score=0.5),
]


def context(tmp_path, resources: SharedResources, offline: bool = False, **settings: Any) -> ToolContext:
    return ToolContext(
        images=ImageRegistry(),
        resources=resources,
        cache_dir=tmp_path,
        offline=offline,
        settings={**FAST, **settings},
    )


def searx_tool(tmp_path, resources, server: ScriptedServer, **settings: Any) -> WebSearchTool:
    ctx = context(tmp_path, resources, searxng_url=server.url("/search"), search_backend="searxng", **settings)
    return WebSearchTool(ctx=ctx)


# ---------------------------------------------------------------------- SearxNG


def test_searxng_sends_its_api_parameters_and_hits_become_evidence(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("Pastelaria Central", PASTELARIA)))
    tool = searx_tool(tmp_path, resources, server)
    obs = call_tool(tool, {"query": "Pastelaria  Central", "region": "pt-pt"})

    assert obs.ok, obs.error
    (request,) = server.requests
    assert request.method == "GET" and request.path == "/search"
    assert request.query == {
        "q": ["Pastelaria Central"],
        "format": ["json"],
        "language": ["pt-PT"],
        "safesearch": ["1"],
    }

    hits = [e for e in obs.evidence if e.kind == "search_hit"]
    assert [e.provenance for e in hits] == [
        "https://www.pastelariacentral.pt/",
        "https://www.tripadvisor.com/Restaurant_Review-g189158-Pastelaria_Central.html",
    ]
    first, second = hits
    assert first.value == (
        "Pastelaria Central — Pastéis de nata desde 1920 — Rua Augusta 12, 1100-048 Lisboa. "
        "Aberto todos os dias das 8h às 20h. (pastelariacentral.pt)"
    )
    assert first.countries == {"PT": 1.0} and second.countries is None  # .pt vs .com
    assert first.details == {
        "query": "Pastelaria Central",
        "rank": 1,
        "engine": "duckduckgo",
        "domain": "pastelariacentral.pt",
        "tld": "pt",
    }
    assert 0 < second.confidence < first.confidence <= 0.3  # a lead, and rank lowers it
    assert first.source.tool == "web_search" and first.source.arguments["region"] == "pt-pt"

    places = {e.details["key"]: e for e in obs.evidence if e.kind == "place_name"}
    lisboa = places["lisboa"]
    assert lisboa.value.startswith("'lisboa' -> Lisbon") and lisboa.countries == {"PT": 1.0}
    assert lisboa.details["from_search"] == lisboa.provenance == "https://www.pastelariacentral.pt/"
    assert lisboa.details["in_query"] is False and lisboa.image is None
    assert "lisbon" in places and places["lisbon"].details["from_search"].startswith("https://www.tripadvisor.com/")
    # the same name on a sign counts for more: a search result is second-hand
    on_a_sign = place_evidence([TextSpan(text=PASTELARIA[0]["content"])], place_index(tool.ctx))
    assert lisboa.confidence < next(e for e in on_a_sign if e.details["key"] == "lisboa").confidence

    assert obs.text.splitlines()[0] == '2 results for "Pastelaria Central" (searxng):'
    assert obs.text.splitlines()[1].startswith("1. Pastelaria Central — Pastéis de nata desde 1920 — Rua Augusta")
    assert "places named: 'lisboa' -> Lisbon" in obs.text
    assert [h["url"] for h in obs.data["hits"]] == [e.provenance for e in hits]
    assert obs.data["backend"] == "searxng" and obs.data["sent"]["language"] == "pt-PT"


def test_recorded_hits_rebuild_the_same_evidence_offline(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("Pastelaria Central", PASTELARIA)))
    tool = searx_tool(tmp_path, resources, server)
    obs = call_tool(tool, {"query": "Pastelaria Central"})
    rebuilt = hits_to_evidence(
        hits_from_data(obs.data),
        query=obs.data["query"],
        index=place_index(tool.ctx),
        arguments=obs.evidence[0].source.arguments,
    )
    assert [e.model_dump() for e in rebuilt] == [e.model_dump() for e in obs.evidence]


def test_place_named_in_the_query_is_an_echo_and_counts_less(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("q", PASTELARIA)))
    tool = searx_tool(tmp_path, resources, server)
    plain = call_tool(tool, {"query": "Pastelaria Central"})
    echoed = call_tool(tool, {"query": "Pastelaria Central Lisboa"})
    lisboa_plain = next(e for e in plain.evidence if e.details.get("key") == "lisboa")
    lisboa_echo = next(e for e in echoed.evidence if e.details.get("key") == "lisboa")
    assert lisboa_echo.details["in_query"] is True
    assert lisboa_echo.confidence < 0.5 * lisboa_plain.confidence
    assert "in the query" in echoed.text


def test_searxng_rate_limit_then_success(tmp_path, resources, server):
    server.route("/search", [Reply(429, retry_after=0), Reply(200, searx_answer("q", PASTELARIA))])
    obs = call_tool(searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central"})
    assert obs.ok and obs.meta["attempts"] == 2 and len(server.requests) == 2
    assert len(obs.data["hits"]) == 2


def test_searxng_persistent_rate_limit_is_an_error_observation(tmp_path, resources, server):
    server.route("/search", Reply(429, retry_after=0))
    obs = call_tool(searx_tool(tmp_path, resources, server, net_retries=2), {"query": "Pastelaria Central"})
    assert obs.error is not None and obs.error.startswith("rate_limited:") and "HTTP 429 after 3 attempts" in obs.error
    assert obs.evidence == [] and obs.data["hits"] == [] and len(server.requests) == 3
    assert obs.text.startswith("web_search failed: rate_limited:")


def test_searxng_timeout_is_an_error_observation(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("q", PASTELARIA), delay_s=1.5))
    tool = searx_tool(tmp_path, resources, server, net_timeout_s=0.2, net_retries=1)
    started = time.perf_counter()
    obs = call_tool(tool, {"query": "Pastelaria Central"})
    elapsed = time.perf_counter() - started
    assert obs.error is not None and obs.error.startswith("timeout:") and "ReadTimeout after 0.2 s" in obs.error
    assert elapsed < 1.2 and len(server.requests) == 2


def test_searxng_refused_connection_is_offline(tmp_path, resources):
    ctx = context(tmp_path, resources, searxng_url=f"http://127.0.0.1:{closed_port()}", search_backend="searxng")
    started = time.perf_counter()
    obs = call_tool(WebSearchTool(ctx=ctx), {"query": "Pastelaria Central"})
    assert obs.error is not None and obs.error.startswith("offline:") and "unreachable" in obs.error
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, "<html><body>Too many requests</body></html>", content_type="text/html"), "not JSON"),
        (Reply(200, '{"results": [', content_type="application/json"), "not JSON"),
        (Reply(200, {"error": "unknown format"}), "no 'results' list"),
    ],
)
def test_searxng_malformed_answer_is_a_bad_response(tmp_path, resources, server, reply, message):
    server.route("/search", reply)
    obs = call_tool(searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central"})
    assert obs.error is not None and obs.error.startswith("bad_response:") and message in obs.error


def test_searxng_json_format_disabled_names_the_setting(tmp_path, resources, server):
    server.route("/search", Reply(403, "Forbidden", content_type="text/html"))
    obs = call_tool(searx_tool(tmp_path, resources, server), {"query": "x"})
    assert obs.error is not None and obs.error.startswith("service:") and "settings.yml" in obs.error


def test_searxng_empty_answer_is_ok_and_cached(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("zzqx", [])))
    tool = searx_tool(tmp_path, resources, server)
    first = call_tool(tool, {"query": "zzqx"})
    again = call_tool(tool, {"query": "zzqx"})
    assert first.ok and first.evidence == [] and first.data["hits"] == []
    assert first.text == 'no results for "zzqx" (searxng)'
    assert again.ok and again.meta["cached"] is True and len(server.requests) == 1


def test_searxng_all_engines_failing_is_an_error_and_not_cached(tmp_path, resources, server):
    failed = [["google", "CAPTCHA"], ["duckduckgo", "timeout"]]
    server.route(
        "/search",
        [Reply(200, searx_answer("q", [], unresponsive=failed)), Reply(200, searx_answer("q", PASTELARIA[:1]))],
    )
    tool = searx_tool(tmp_path, resources, server)
    first = call_tool(tool, {"query": "Pastelaria Central"})
    second = call_tool(tool, {"query": "Pastelaria Central"})
    assert first.error is not None and first.error.startswith("service:")
    assert "google (CAPTCHA), duckduckgo (timeout)" in first.error
    assert second.ok and len(second.data["hits"]) == 1 and len(server.requests) == 2


def test_searxng_some_engines_failing_is_a_note(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("q", PASTELARIA, unresponsive=[["google", "CAPTCHA"]])))
    obs = call_tool(searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central"})
    assert obs.ok and obs.data["notes"] == ["unresponsive engines: google (CAPTCHA)"]
    assert obs.text.endswith("note: unresponsive engines: google (CAPTCHA)")


def test_searxng_offline_setting_answers_at_once(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("q", PASTELARIA)))
    ctx = context(tmp_path, resources, offline=True, searxng_url=server.url("/search"))
    started = time.perf_counter()
    obs = call_tool(WebSearchTool(ctx=ctx), {"query": "Pastelaria Central"})
    elapsed = time.perf_counter() - started
    assert obs.error is not None and obs.error.startswith("offline:") and server.requests == []
    assert elapsed < 0.5


def test_searxng_repeated_query_is_answered_from_the_disk_cache(tmp_path, resources, server):
    server.route("/search", Reply(200, searx_answer("q", PASTELARIA)))
    first = call_tool(searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central"})
    # a new run (new context, new NetClient) over the same cache directory
    again = call_tool(searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central"})
    other_region = call_tool(
        searx_tool(tmp_path, resources, server), {"query": "Pastelaria Central", "region": "br-pt"}
    )
    assert len(server.requests) == 2 and server.requests[1].query["language"] == ["pt-BR"]
    assert not first.meta["cached"] and again.meta["cached"] and not other_region.meta["cached"]
    assert [e.model_dump() for e in again.evidence] == [e.model_dump() for e in first.evidence]
    assert "(searxng, cached)" in again.text


def test_searxng_needs_an_instance_url(tmp_path, resources):
    obs = call_tool(WebSearchTool(ctx=context(tmp_path, resources, search_backend="searxng")), {"query": "x"})
    assert obs.error is not None and obs.error.startswith("settings:") and "searxng_url" in obs.error


# ---------------------------------------------------------------------- ddgs


class FakeDDGS:
    """Stands in for ddgs.DDGS: plays scripted answers (rows or exceptions), records calls."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, str]]:
        self.calls.append((query, kwargs))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return step


class FakeFactory:
    def __init__(self, *script: Any) -> None:
        self.fake = FakeDDGS(list(script))
        self.built: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> FakeDDGS:
        self.built.append(kwargs)
        return self.fake


DDGS_ROWS = [
    {
        "title": "Pastelaria Central — Pastéis de nata desde 1920",
        "href": "https://www.pastelariacentral.pt/",
        "body": "Rua Augusta 12, 1100-048 Lisboa. Aberto todos os dias.",
    },
    {
        "title": "Pastelaria Central, Lisbon - Tripadvisor",
        "href": "https://www.tripadvisor.com/Restaurant_Review-Pastelaria_Central.html",
        "body": "See 214 unbiased reviews of Pastelaria Central.",
    },
]


@pytest.fixture
def probe(server: ScriptedServer) -> Iterator[ScriptedServer]:
    """A live local host standing in for html.duckduckgo.com in the reachability probe;
    it must never receive an HTTP request (ddgs is replaced at its factory)."""
    yield server
    assert server.requests == []


def ddgs_tool(tmp_path, resources, probe_url: str, factory: FakeFactory, **settings: Any) -> WebSearchTool:
    ctx = context(tmp_path, resources, ddgs_host_url=probe_url, **settings)
    return WebSearchTool(ctx=ctx, ddgs_factory=factory)


def test_ddgs_passes_region_safesearch_and_max_results(tmp_path, resources, probe):
    factory = FakeFactory(DDGS_ROWS)
    tool = ddgs_tool(tmp_path, resources, probe.url("/"), factory, search_safesearch="off", ddgs_proxy="socks5://p:1")
    obs = call_tool(tool, {"query": "Pastelaria Central", "region": "pt-pt", "max_results": 5})
    assert obs.ok, obs.error
    assert factory.fake.calls == [
        ("Pastelaria Central", {"region": "pt-pt", "safesearch": "off", "max_results": 5, "backend": "duckduckgo"})
    ]
    assert factory.built == [{"proxy": "socks5://p:1", "timeout": 2.0, "verify": True}]
    hits = [e for e in obs.evidence if e.kind == "search_hit"]
    assert [e.provenance for e in hits] == [row["href"] for row in DDGS_ROWS]
    assert hits[0].countries == {"PT": 1.0} and hits[0].details["engine"] == "duckduckgo"
    assert any(e.kind == "place_name" and e.details["key"] == "lisboa" for e in obs.evidence)
    assert obs.data["backend"] == "ddgs:duckduckgo" and obs.data["hits"][0]["snippet"].startswith("Rua Augusta")
    assert obs.text.startswith('2 results for "Pastelaria Central" (ddgs:duckduckgo):')


def test_ddgs_defaults_and_bcp47_region(tmp_path, resources, probe):
    factory = FakeFactory(DDGS_ROWS)
    tool = ddgs_tool(tmp_path, resources, probe.url("/"), factory)
    call_tool(tool, {"query": "a"})
    call_tool(tool, {"query": "b", "region": "pt-BR"})
    (_, first), (_, second) = factory.fake.calls
    assert first == {"region": "wt-wt", "safesearch": "moderate", "max_results": 8, "backend": "duckduckgo"}
    assert second["region"] == "br-pt"
    assert len(factory.built) == 1  # one DDGS client per run, reused


def test_ddgs_rate_limit_is_retried_then_succeeds(tmp_path, resources, probe):
    factory = FakeFactory(RatelimitException("https://html.duckduckgo.com/html 202 Ratelimit"), DDGS_ROWS)
    obs = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), factory), {"query": "Pastelaria Central"})
    assert obs.ok and obs.meta["attempts"] == 2 and len(factory.fake.calls) == 2
    assert len(obs.data["hits"]) == 2


@pytest.mark.parametrize(
    ("exc", "kind", "calls"),
    [
        (RatelimitException("202 Ratelimit"), "rate_limited:", 3),
        (TimeoutException("https://html.duckduckgo.com/html timed out"), "network:", 3),
        (DDGSException("ConnectError: connection reset"), "network:", 3),
    ],
)
def test_ddgs_persistent_failures_are_error_observations(tmp_path, resources, probe, exc, kind, calls):
    factory = FakeFactory(exc)
    obs = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), factory, net_retries=2), {"query": "x"})
    assert obs.error is not None and obs.error.startswith(kind) and type(exc).__name__ in obs.error
    assert len(factory.fake.calls) == calls and obs.data["hits"] == []


def test_ddgs_slow_timeout_is_reported(tmp_path, resources, probe):
    class Slow(FakeDDGS):
        def text(self, query: str, **kwargs: Any) -> list[dict[str, str]]:
            self.calls.append((query, kwargs))
            time.sleep(0.05)  # what ddgs does after its own timeout expires
            raise TimeoutException("https://html.duckduckgo.com/html timed out after 0.05 s")

    factory = FakeFactory()
    factory.fake = Slow([])
    obs = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), factory, net_retries=1), {"query": "x"})
    assert obs.error is not None and obs.error.startswith("network:") and "timed out" in obs.error
    assert len(factory.fake.calls) == 2


def test_ddgs_no_results_is_empty_ok_and_not_cached(tmp_path, resources, probe):
    factory = FakeFactory(DDGSException("No results found."), DDGS_ROWS)
    tool = ddgs_tool(tmp_path, resources, probe.url("/"), factory)
    first = call_tool(tool, {"query": "Pastelaria Central"})
    second = call_tool(tool, {"query": "Pastelaria Central"})
    assert first.ok and first.evidence == [] and first.data["hits"] == []
    assert first.text.startswith('no results for "Pastelaria Central"') and "rate-limits" in first.text
    assert len(factory.fake.calls) == 2  # asked again: a quiet rate limit must not stick for a week
    assert second.ok and len(second.data["hits"]) == 2 and not second.meta["cached"]


def test_ddgs_malformed_rows_are_skipped(tmp_path, resources, probe):
    rows = [
        "not a dict",
        {"title": "no link"},
        {"title": "javascript", "href": "javascript:void(0)", "body": ""},
        {"title": None, "href": "https://example.de/seite", "body": None},
        {"title": "dup", "href": "https://example.de/seite", "body": "again"},
    ]
    obs = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), FakeFactory(rows)), {"query": "x"})
    assert obs.ok and [h["url"] for h in obs.data["hits"]] == ["https://example.de/seite"]
    (hit,) = obs.evidence
    assert hit.value == "https://example.de/seite (example.de)" and hit.countries == {"DE": 1.0}


def test_ddgs_unexpected_exception_is_an_error_observation(tmp_path, resources, probe):
    obs = call_tool(
        ddgs_tool(tmp_path, resources, probe.url("/"), FakeFactory(ValueError("bad parse"))), {"query": "x"}
    )
    assert obs.error == "ValueError: bad parse" and obs.tool == "web_search"


def test_ddgs_refused_connection_is_offline_without_building_the_client(tmp_path, resources):
    factory = FakeFactory(DDGS_ROWS)
    url = f"http://127.0.0.1:{closed_port()}/"
    obs = call_tool(ddgs_tool(tmp_path, resources, url, factory), {"query": "x"})
    assert obs.error is not None and obs.error.startswith("offline:") and factory.built == []


def test_ddgs_offline_setting_answers_at_once(tmp_path, resources, probe):
    factory = FakeFactory(DDGS_ROWS)
    tool = WebSearchTool(
        ctx=context(tmp_path, resources, offline=True, ddgs_host_url=probe.url("/")), ddgs_factory=factory
    )
    started = time.perf_counter()
    obs = call_tool(tool, {"query": "x"})
    assert obs.error == "offline: offline mode: network use is switched off"
    assert time.perf_counter() - started < 0.5 and factory.built == []


def test_ddgs_repeated_query_is_answered_from_the_disk_cache(tmp_path, resources, probe):
    factory = FakeFactory(DDGS_ROWS)
    first = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), factory), {"query": "Pastelaria Central"})
    again = call_tool(ddgs_tool(tmp_path, resources, probe.url("/"), factory), {"query": "Pastelaria Central"})
    assert len(factory.fake.calls) == 1 and not first.meta["cached"] and again.meta["cached"]
    assert again.data["hits"] == first.data["hits"]


# ---------------------------------------------------------------------- arguments, settings, pieces


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 301}, "query"),
        ({"query": "x", "max_results": 21}, "max_results"),
        ({"query": "x", "max_results": 0}, "max_results"),
        ({"query": "x", "region": "portugal"}, "region"),
        ({}, "query"),
    ],
)
def test_bad_arguments_are_error_observations(tmp_path, resources, arguments, field):
    factory = FakeFactory(DDGS_ROWS)
    obs = call_tool(WebSearchTool(ctx=context(tmp_path, resources), ddgs_factory=factory), arguments)
    assert obs.error is not None and obs.error.startswith("invalid arguments") and field in obs.error
    assert factory.built == []


def test_whitespace_query_is_an_error(tmp_path, resources):
    obs = WebSearchTool(ctx=context(tmp_path, resources)).execute(query="   ")
    assert obs.error == "empty query"


def test_backend_choice_follows_the_settings(tmp_path, resources):
    assert isinstance(select_backend(context(tmp_path, resources)), DdgsBackend)
    assert isinstance(select_backend(context(tmp_path, resources, searxng_url="http://h:8888")), SearxngBackend)
    both = context(tmp_path, resources, searxng_url="http://h:8888", search_backend="duckduckgo")
    assert isinstance(select_backend(both), DdgsBackend)
    with pytest.raises(SearchSettingsError, match="use 'duckduckgo' or 'searxng'"):
        select_backend(context(tmp_path, resources, search_backend="altavista"))
    obs = call_tool(WebSearchTool(ctx=context(tmp_path, resources, search_backend="altavista")), {"query": "x"})
    assert obs.error is not None and obs.error.startswith("settings:")


def test_regions_translate_between_backends():
    assert parse_region("pt-pt").ddgs() == "pt-pt" and parse_region("pt-pt").searxng() == "pt-PT"
    assert parse_region("br-pt").searxng() == "pt-BR" and parse_region("pt-BR").ddgs() == "br-pt"
    assert parse_region("uk-en").searxng() == "en-GB" and parse_region("en-GB").ddgs() == "uk-en"
    assert parse_region(None).ddgs() == "wt-wt" and parse_region("wt-wt").searxng() == "all"
    assert parse_region("de").searxng() == "de" and parse_region("xl-es").searxng() == "es"
    with pytest.raises(SearchSettingsError, match="not like 'pt-pt'"):
        parse_region("portugal")


def test_url_countries_use_the_cctld_only():
    assert url_countries("pastelariacentral.pt") == ({"PT": 1.0}, "pt")
    assert url_countries("bbc.co.uk") == ({"GB": 1.0}, "uk")
    assert url_countries("tripadvisor.com") == (None, "com")
    assert url_countries("startup.io") == (None, "io")  # vanity TLD: says nothing about the country
    assert url_countries("сайт.рф") == ({"RU": 1.0}, "рф")
    assert SearchHit("t", "https://xn--80aswg.xn--p1ai/", "", 1, "e").domain == "сайт.рф"


def test_search_endpoint_accepts_an_instance_base_url():
    assert search_endpoint("http://127.0.0.1:8888") == "http://127.0.0.1:8888/search"
    assert search_endpoint("https://example.org/searx/") == "https://example.org/searx/search"
    assert search_endpoint("https://example.org/search?x=1") == "https://example.org/search"
    with pytest.raises(SearchSettingsError):
        search_endpoint("ftp://example.org")


def test_tool_schema_is_what_a_model_sees(tmp_path, resources):
    tool = WebSearchTool(ctx=context(tmp_path, resources))
    schema = tool.args_schema.model_json_schema()
    assert tool.name == "web_search" and type(tool).kind == "search"
    assert schema["required"] == ["query"]
    assert schema["properties"]["max_results"]["default"] == 8 and schema["properties"]["max_results"]["maximum"] == 20
