"""Hostile services: a run with a wall-time budget of a few seconds ends within it.

Local servers on 127.0.0.1 trickle a byte at a time, accept and never answer, ask for
``Retry-After: 120``, or stream 200 MB. Each run must finish within its budget plus a
small margin, record the fault in its trace, and keep the evidence found before it.
"""

from __future__ import annotations

import time

import pytest
from netserver import Reply, ScriptedServer

from agent import Agent
from graphs.policies.scripted import ScriptedPolicy
from tools.evidence import Candidate
from tools.net import (
    DeadlineExceededError,
    HostPacer,
    NetClient,
    NetSettings,
    RateLimitedError,
    ResponseTooLargeError,
)

BUDGET_S = 2.0
#: Time a run may take beyond its budget: the graph's own work after the cut-off.
MARGIN_S = 1.5
LISBON = Candidate(lat=38.7223, lon=-9.1393, label="Lisbon", score=0.6, radius_km=10.0, sources=["ev:0"])


def trickle():
    while True:
        yield b"{"


def two_hundred_mb():
    block = b" " * (1 << 20)
    for _ in range(200):
        yield block


FAULTS = {
    "trickle": (Reply(stream=trickle, chunk_delay_s=0.4), ("timeout", "cancelled")),
    "hang": (Reply(hang=True), ("timeout", "cancelled")),
    "retry-after-120": (Reply(429, retry_after=120), ("rate_limited",)),
    "200MB": (Reply(stream=two_hundred_mb), ("too_large",)),
    "200MB-declared": (
        Reply(stream=two_hundred_mb, headers={"Content-Length": str(200 << 20)}),
        ("too_large",),
    ),
}


@pytest.fixture(scope="module", autouse=True)
def warm_resources():
    """Gazetteer, place index and clue data loaded before any budget starts (as in a
    long-lived process), so the budget measures the network, not the first load."""
    from tools.base import SharedResources, ToolContext, call_tool
    from tools.images import ImageRegistry
    from tools.text_tool import AnalyzeTextTool

    global WARM
    WARM = SharedResources()
    tool = AnalyzeTextTool(ctx=ToolContext(images=ImageRegistry(), resources=WARM))
    assert not call_tool(tool, {"texts": ["Rua Augusta, Lisboa"]}).error
    Agent(policy=ScriptedPolicy()).gazetteer.reverse(38.7, -9.1)
    return WARM


WARM = None


def run_against(server_reply: Reply, tmp_path, **net):
    """A scripted run: read a place name from text, then search a hostile SearxNG."""
    policy = ScriptedPolicy(
        rounds=[
            [("analyze_text", {"texts": ["Rua Augusta, Lisboa"]})],
            [("web_search", {"query": '"Rua Augusta"'})],
            [("web_search", {"query": '"Rua Augusta" Lisboa'})],
        ],
        proposals={"text": [LISBON]},
    )
    with ScriptedServer() as server:
        server.route("/search", server_reply)
        settings = {
            "search_backend": "searxng",
            "searxng_url": server.url("/search"),
            "net_cache_dir": str(tmp_path),
            "net_min_interval_s": 0.0,
            "net_backoff_s": 0.05,
            **net,
        }
        agent = Agent(policy=policy, tool_settings=settings, online=True)
        agent.resources = WARM
        started = time.monotonic()
        location = agent.locate(_photo(), use_metadata=False, budget={"max_seconds": BUDGET_S})
        elapsed = time.monotonic() - started
    return location, elapsed


def _photo():
    from PIL import Image

    return Image.new("RGB", (64, 48), (120, 130, 140))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_hostile_service_costs_at_most_the_budget(fault, tmp_path):
    reply, kinds = FAULTS[fault]
    location, elapsed = run_against(reply, tmp_path)
    assert elapsed < BUDGET_S + MARGIN_S, f"{fault}: run took {elapsed:.1f} s for a {BUDGET_S} s budget"
    calls = [s for s in location.trace if s.get("kind") == "tool_call"]
    searches = [s for s in calls if s["name"] == "web_search"]
    assert searches and searches[0]["observation"]["error"], f"{fault}: the failed search is not in the trace"
    assert any(kind in searches[0]["observation"]["error"] for kind in kinds), searches[0]["observation"]["error"]
    # the evidence found before the fault is kept, and the run still answers
    assert any(e.kind == "place_name" and "lisboa" in e.value.lower() for e in location.evidence)
    assert location.answered and location.city == "Lisbon"


def test_a_tool_past_the_budget_is_cancelled_and_recorded(tmp_path, monkeypatch):
    """A tool that ignores every deadline (stuck in a third-party call) is cut at the budget."""
    from tools.web.tool import WebSearchTool

    def stuck(self, **kwargs):
        time.sleep(30)

    monkeypatch.setattr(WebSearchTool, "execute", stuck)
    location, elapsed = run_against(Reply(200, {}), tmp_path)
    assert elapsed < BUDGET_S + MARGIN_S
    search = next(s for s in location.trace if s.get("kind") == "tool_call" and s["name"] == "web_search")
    assert search["observation"]["error"].startswith("cancelled: wall-time budget of 2 s ran out")
    assert any(e.kind == "place_name" for e in location.evidence) and location.answered


def client(tmp_path, **kw):
    settings = NetSettings(cache_dir=tmp_path, backoff_s=0.05, min_interval_s=0.0, **kw)
    return NetClient(settings, pacer=HostPacer())


def test_total_deadline_holds_against_a_trickle(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(stream=trickle, chunk_delay_s=0.2))
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError, match="ReadTimeout"):
            client(tmp_path, timeout_s=0.8, retries=1).get_json(server.url("/x"))
    # two attempts of 0.8 s each and one short backoff; a per-read timeout would never end
    assert time.monotonic() - started < 2.6


def test_waits_never_run_past_the_run_deadline(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(503, retry_after=5))
        net = NetClient(
            NetSettings(cache_dir=tmp_path, min_interval_s=0.0, max_backoff_s=600),
            pacer=HostPacer(),
            deadline=time.monotonic() + 1.0,
        )
        started = time.monotonic()
        with pytest.raises(Exception, match="would pass the run's wall-time budget"):
            net.get_json(server.url("/x"))
    assert time.monotonic() - started < 1.0


def test_retry_after_longer_than_the_client_waits_fails_at_once(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(429, retry_after=120))
        started = time.monotonic()
        with pytest.raises(RateLimitedError, match="retry after 120 s"):
            client(tmp_path).get_json(server.url("/x"))
    assert time.monotonic() - started < 1.0 and len(server.requests) == 1


def test_a_body_over_the_cap_is_refused_while_streaming(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(stream=two_hundred_mb))
        with pytest.raises(ResponseTooLargeError, match=r"over 1\.05 MB"):
            client(tmp_path, max_response_bytes=1 << 20).get_json(server.url("/x"))
        server.route("/y", Reply(200, {"ok": 1}))
        assert client(tmp_path, max_response_bytes=1 << 20).get_json(server.url("/y")).data == {"ok": 1}


def test_a_model_that_stalls_is_cut_at_the_budget_and_the_run_answers():
    """A served model that stops answering mid-run (its own timeout may be minutes) holds
    the run no longer than its wall-time budget; the evidence before it still answers."""
    from langchain_core.messages import AIMessage
    from scripted_model import ScriptedChatModel, call

    def first_reads_then_stalls(messages, tools, kwargs):
        if not any(isinstance(m, AIMessage) for m in messages):
            return AIMessage(content="", tool_calls=[call("analyze_text", texts=["Rua Augusta, Lisboa"])])
        time.sleep(20)
        return AIMessage(content="too late")

    model = ScriptedChatModel(respond=first_reads_then_stalls)
    agent = Agent(model=model, model_options={"hybrid": True, "samples": 2})
    agent.resources = WARM
    started = time.monotonic()
    location = agent.locate(_photo(), use_metadata=False, budget={"max_seconds": BUDGET_S})
    assert time.monotonic() - started < BUDGET_S + MARGIN_S
    failed = [s for s in location.trace if s.get("kind") == "error" and "waiting for the model" in str(s)]
    assert failed, "the cancelled model call is not in the trace"
    assert len(model.calls) == 2  # the stalled plan call; no proposal sample asks a model known to have failed
    assert any(e.kind == "place_name" and "lisboa" in e.value.lower() for e in location.evidence)
    assert location.answered and location.city == "Lisbon"
