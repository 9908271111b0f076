"""Human review: the run pauses before finalize, a decision changes the answer, the trace keeps it."""

import io
import json

import pytest
from langchain_core.messages import AIMessage
from scripted_model import ScriptedChatModel, call

from agent import Agent
from agent.cli import main
from agent.review import PendingReview, terminal_reviewer
from graphs.review import ReviewDecision
from tools.errors import ConfigError

PORTO = (41.1496, -8.6057)
MADRID = (40.4168, -3.7038)
NAGOYA = (35.1815, 136.9066)


def three_way(messages, tools, kwargs):
    """A model torn between three cities: Porto most, then Madrid, then Nagoya."""
    return AIMessage(
        content="",
        tool_calls=[
            call(
                "answer",
                candidates=[
                    {"lat": PORTO[0], "lon": PORTO[1], "label": "Porto", "confidence": 0.6},
                    {"lat": MADRID[0], "lon": MADRID[1], "label": "Madrid", "confidence": 0.5},
                    {"lat": NAGOYA[0], "lon": NAGOYA[1], "label": "Nagoya", "confidence": 0.4},
                ],
            )
        ],
    )


@pytest.fixture(scope="module")
def agent():
    return Agent(model=ScriptedChatModel(respond=three_way), model_options={"hybrid": False, "samples": 1})


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "plain.jpg"
    Image.new("RGB", (320, 240), (90, 120, 150)).save(path)
    return path


def labels(location):
    return [c.label for c in location.candidates]


def review_steps(location):
    return [s for s in location.trace if s.get("kind") == "review"]


def test_the_run_pauses_and_resumes_with_a_selection(agent, photo):
    pending = agent.locate(photo, use_metadata=False, review=True)
    assert isinstance(pending, PendingReview)
    assert [c["label"] for c in pending.candidates] == ["Porto", "Madrid", "Nagoya"]
    assert pending.request["answer"]["place"]
    location = pending.resume(select=2, note="the signs are Japanese", reviewer="ana")
    assert location.city == "Nagoya" and labels(location)[0] == "Nagoya"
    (step,) = review_steps(location)
    assert step["name"] == "ana" and step["arguments"]["select"] == 2
    assert step["output"]["before"]["city"] != "Nagoya" and step["output"]["after"]["city"] == "Nagoya"
    assert "reviewer: the signs are Japanese" in location.reason
    with pytest.raises(ConfigError, match="already reviewed"):
        pending.resume()


def test_accepting_keeps_the_answer_and_is_recorded(agent, photo):
    unreviewed = agent.locate(photo, use_metadata=False)
    location = agent.locate(photo, use_metadata=False, review=lambda request: None)
    assert (location.lat, location.lon) == (unreviewed.lat, unreviewed.lon)
    assert review_steps(location)[0]["output"]["account"] == "accepted as it was"
    assert not review_steps(unreviewed)  # no review asked, none recorded


def test_rejections_and_a_hint_narrow_the_candidates(agent, photo):
    location = agent.locate(photo, use_metadata=False, review=lambda request: {"reject": [0]})
    assert location.city == "Madrid" and "Porto" not in labels(location)
    hinted = agent.locate(photo, use_metadata=False, review=ReviewDecision(hint="somewhere in Japan"))
    assert hinted.country_code == "JP"
    assert "kept 1 candidate(s) in JP" in review_steps(hinted)[0]["output"]["account"]
    nothing = agent.locate(photo, use_metadata=False, review=lambda request: {"reject": [0, 1, 2]})
    assert nothing.lat is None and "ruled out every candidate" in nothing.reason


def test_a_bad_decision_is_recorded_and_the_answer_kept(agent, photo):
    location = agent.locate(photo, use_metadata=False, review=lambda request: {"selekt": 1})
    assert location.city == "Porto"
    assert "review not applied" in review_steps(location)[0]["output"]["error"]


def test_several_paused_runs_resume_independently(agent, photo):
    first = agent.locate(photo, use_metadata=False, review=True)
    second = agent.locate(photo, use_metadata=False, review=True)
    assert first.run_id != second.run_id
    assert second.resume(select=1).city == "Madrid"
    assert first.resume().city == "Porto"


def test_terminal_reviewer_reads_choices():
    request = {
        "answer": {"lat": 1.0, "lon": 2.0, "place": "X", "confidence": 0.5},
        "candidates": [{"index": 0, "label": "A", "lat": 1.0, "lon": 2.0, "score": 0.5, "country_code": "PT"}],
    }
    out = io.StringIO()
    assert terminal_reviewer(io.StringIO("\n"), out)(request).changes is False
    assert "[0] A" in out.getvalue()
    assert terminal_reviewer(io.StringIO("1\n"), out)(request).select == 1
    assert terminal_reviewer(io.StringIO("-0 -2\n"), out)(request).reject == [0, 2]
    assert terminal_reviewer(io.StringIO("Portugal\n"), out)(request).hint == "Portugal"


def test_cli_review_asks_at_the_terminal(photo, tmp_path, monkeypatch, capsys):
    from evals.openai_stub import OpenAIStubServer, StubReply

    answer = {
        "candidates": [
            {"lat": PORTO[0], "lon": PORTO[1], "label": "Porto", "confidence": 0.6},
            {"lat": MADRID[0], "lon": MADRID[1], "label": "Madrid", "confidence": 0.5},
        ]
    }
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n"))
    with OpenAIStubServer(lambda request: StubReply(tool_calls=[{"name": "answer", "arguments": answer}])) as server:
        code = main(
            [
                "locate",
                str(photo),
                "--json",
                "--review",
                "--no-hybrid",
                "--samples",
                "1",
                "--model",
                f"openai:stub@{server.base_url}",
            ]
        )
    assert code == 0
    captured = capsys.readouterr()
    assert "[1] Madrid" in captured.err
    assert json.loads(captured.out)["city"] == "Madrid"


def test_a_reviewed_run_replays_with_its_decision(agent, photo, tmp_path):
    reviewed = agent.locate(photo, use_metadata=False, trace=tmp_path / "r.jsonl", review={"select": 1})
    assert reviewed.city == "Madrid"
    assert Agent().replay(tmp_path / "r.jsonl").answer_dict() == reviewed.answer_dict()
