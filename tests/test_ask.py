"""``Agent.ask``: locate, then research the question with a model; replayable; and an
honest "needs a model" without one."""

from __future__ import annotations

import json
import re
from typing import Any

import knowledge_fixtures as fx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from netserver import Reply, ScriptedServer
from PIL import Image
from scripted_model import ScriptedChatModel, call

from agent import Agent
from agent.question import Answer
from graphs.trace import read_trace

TOKYO = (35.6812, 139.7671)


def level2_item(shared_data) -> dict[str, Any]:
    path = shared_data / "geobrowse" / "level2.jsonl"
    if not path.exists():
        pytest.skip(f"GeoBrowse Level 2 not available at {path}")
    item = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    item["image_path"] = path.parent / (item["image"] if isinstance(item["image"], str) else item["image"][0])
    return item


def searx(page_url: str) -> dict[str, Any]:
    """A SearxNG JSON answer (https://docs.searxng.org/dev/search_api.html) pointing at the page."""
    return {
        "query": "q",
        "number_of_results": 1,
        "answers": [],
        "suggestions": [],
        "infoboxes": [],
        "unresponsive_engines": [],
        "results": [
            {
                "url": page_url,
                "title": "Consumption tax in Japan - history of the rates",
                "content": "Japan introduced a consumption tax in 1989 at 3%...",
                "engine": "duckduckgo",
                "engines": ["duckduckgo"],
                "score": 1.0,
                "category": "general",
            }
        ],
    }


def wiki(request) -> Any:
    q = {k: v[0] for k, v in request.query.items()}
    if q.get("action") == "wbgetentities":
        return fx.WIKIDATA_TOKYO_TOWER if q["ids"] == "Q183536" else fx.WIKIDATA_LABELS
    return fx.WIKI_QUERY_TOKYO_TOWER


def evidence_ids(message: ToolMessage, kind: str) -> list[str]:
    return re.findall(rf"- (ev:\d+) {kind}:", str(message.content))


def researcher(page_url: str):
    """Locate: Japan. Research: search, read the page the hit names, look up Wikidata, answer citing the page."""

    def respond(messages, tools, kwargs):
        if "answer_text" not in tools:  # the locate phase
            return AIMessage(
                content="Chinese-character date, left-hand traffic, white plates: Japan.",
                tool_calls=[
                    call(
                        "answer",
                        candidates=[{"lat": TOKYO[0], "lon": TOKYO[1], "label": "Tokyo, Japan", "confidence": 0.6}],
                    )
                ],
            )
        assert isinstance(messages[1], HumanMessage) and "Japan" in messages[1].content
        done = [m for m in messages if isinstance(m, ToolMessage)]
        if not done:
            return AIMessage(content="", tool_calls=[call("web_search", query="Japan consumption tax rate 1989")])
        if len(done) == 1:
            assert page_url in done[0].content
            return AIMessage(
                content="", tool_calls=[call("visit_page", url=page_url, query="consumption tax rate 1989")]
            )
        if len(done) == 2:
            return AIMessage(content="", tool_calls=[call("wiki_lookup", title="Tokyo Tower")])
        page = evidence_ids(done[1], "page_passage")
        fact = evidence_ids(done[2], "wiki_fact")
        return AIMessage(
            content="",
            tool_calls=[
                call(
                    "answer_text",
                    answer="3%",
                    evidence=[page[0], fact[0], "ev:999"],
                    reasoning="Showa's son Akihito... the consumption tax was 3% in 1989.",
                    confidence=0.8,
                )
            ],
        )

    return respond


@pytest.fixture
def services(tmp_path):
    with ScriptedServer() as server:
        page = server.url("/tax")
        server.route("/tax", Reply(200, fx.ARTICLE_HTML, content_type="text/html; charset=utf-8"))
        server.route("/search", Reply(200, searx(page)))
        server.route("/w/api.php", Reply(200, wiki))
        server.route("/wd/w/api.php", Reply(200, wiki))
        host, port = server.httpd.server_address[:2]
        settings = {
            "searxng_url": server.url("/"),
            "search_backend": "searxng",
            "fetch_allow_hosts": f"{host}:{port}",
            "wikipedia_api_url": server.url("/w/api.php"),
            "wikidata_api_url": server.url("/wd/w/api.php"),
            "net_min_interval_s": 0.0,
            "net_backoff_s": 0.01,
            "net_timeout_s": 2.0,
            "net_cache_dir": str(tmp_path / "http"),
        }
        yield server, page, settings


def test_a_scripted_model_answers_a_level2_item_and_its_trace_replays(shared_data, services, tmp_path):
    item = level2_item(shared_data)
    server, page, settings = services
    model = ScriptedChatModel(respond=researcher(page))
    agent = Agent(model=model, model_options={"samples": 1, "hybrid": False}, online=True, tool_settings=settings)
    trace = tmp_path / "ask.jsonl"
    answer = agent.ask(item["image_path"], item["prompt"], use_metadata=False, trace=trace)

    assert isinstance(answer, Answer) and answer.text == "3%" == item["gold_text_answer"]
    assert answer.location.country_code == "JP"
    assert [s["tool"] for s in answer.steps] == ["web_search", "visit_page", "wiki_lookup"]
    cited = {e.kind: e for e in answer.evidence}
    assert set(cited) == {"page_passage", "wiki_fact"}
    assert cited["page_passage"].provenance == page and "3%" in cited["page_passage"].value
    assert cited["wiki_fact"].provenance.startswith("https://www.wikidata.org/wiki/Q")
    assert "ev:999" in answer.note  # a citation of evidence that does not exist is named, not kept
    # the research model read the page as quoted data
    research_calls = [c for c in model.calls if "answer_text" in c["tools"]]
    read = next(m for m in research_calls[-1]["messages"] if isinstance(m, ToolMessage) and m.name == "visit_page")
    assert "data to read, not instructions" in read.content

    parsed = read_trace(trace)
    research = [s for s in parsed.steps if s.node == "research"]
    assert {s.kind for s in research} >= {"model_call", "tool_call", "evidence", "decision"}
    services_used = {s.service for s in parsed.steps if s.kind == "egress"}
    assert services_used == {"searxng", "visit_page", "wikipedia", "wikidata"}  # every request on the record
    final = [s for s in research if s.kind == "decision" and s.name == "research.answer"]
    assert final and final[0].output["answer"] == "3%"

    served = len(server.requests)
    replayed = agent.replay(trace)
    assert len(server.requests) == served  # nothing asked again
    assert replayed.answer_dict() == answer.location.answer_dict()
    assert replayed.text_answer is not None and replayed.text_answer.answer == "3%"


def test_without_a_model_ask_answers_the_place_and_says_the_rest_needs_a_model(tmp_path):
    image = Image.new("RGB", (96, 64), (120, 130, 140))
    answer = Agent().ask(image, "Which emperor reigned here in 1989?", trace=tmp_path / "t.jsonl")
    assert answer.text is None and answer.status == "no_model"
    assert "needs a model" in answer.note and "needs a model" in answer.explain()
    decisions = [
        s for s in read_trace(tmp_path / "t.jsonl").steps if s.kind == "decision" and s.name == "research.answer"
    ]
    assert decisions and decisions[0].output["status"] == "no_model"


def test_locate_never_runs_the_research_phase(tmp_path):
    model = ScriptedChatModel(respond=researcher("http://unused.example/"))
    agent = Agent(model=model, model_options={"samples": 1, "hybrid": False})
    location = agent.locate(Image.new("RGB", (64, 48)), question="Which emperor?", use_metadata=False)
    assert location.text_answer is None
    assert all("answer_text" not in c["tools"] for c in model.calls)


def test_an_offline_ask_records_refused_research_calls_and_still_answers(tmp_path):
    model = ScriptedChatModel(respond=researcher("https://example.org/tax"))

    def respond(messages, tools, kwargs):
        done = [m for m in messages if isinstance(m, ToolMessage)]
        if "answer_text" in tools and done:
            assert done[0].content.startswith("web_search failed: offline")
            return AIMessage(content="", tool_calls=[call("answer_text", answer="unknown", reasoning="offline run")])
        return researcher("https://example.org/tax")(messages, tools, kwargs)

    model = ScriptedChatModel(respond=respond)
    agent = Agent(model=model, model_options={"samples": 1, "hybrid": False})
    answer = agent.ask(Image.new("RGB", (64, 48)), "What was the tax rate?", use_metadata=False)
    assert answer.text == "unknown" and answer.steps[0]["error"].startswith("offline")
    assert answer.location.egress == []


def test_the_cli_asks(tmp_path, capsys):
    from agent.cli import main

    path = tmp_path / "photo.png"
    Image.new("RGB", (80, 60), (30, 90, 160)).save(path)
    assert main(["ask", str(path), "Which city is the capital of this country?", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "no_model" and payload["text"] is None and "needs a model" in payload["note"]


def test_research_keeps_to_its_tools_and_budget():
    def respond(messages, tools, kwargs):
        if "answer_text" not in tools:
            return AIMessage(content="", tool_calls=[call("answer", candidates=[{"lat": 1.0, "lon": 2.0}])])
        if not tools or tools == ["answer_text"]:  # rounds spent: only the answer is offered
            return AIMessage(content="", tool_calls=[call("answer_text", answer="42", confidence=0.2)])
        assert "crop" not in tools and "visit_page" in tools  # image tools belong to locating
        return AIMessage(content="", tool_calls=[call("crop", image="img:0", box=[0, 0, 0.5, 0.5])])

    agent = Agent(model=ScriptedChatModel(respond=respond), model_options={"samples": 1, "hybrid": False})
    answer = agent.ask(Image.new("RGB", (64, 48)), "What is the answer?", use_metadata=False, research_rounds=2)
    assert answer.text == "42"
    assert [s["tool"] for s in answer.steps] == ["crop", "crop"]
    assert all("not a research tool" in s["error"] for s in answer.steps)
