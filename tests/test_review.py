"""Human review: the run pauses before finalize, a decision changes the answer, the trace keeps it."""

import io
import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from scripted_model import ScriptedChatModel, call

from agent import Agent
from agent.cli import main
from agent.review import PendingReview, terminal_reviewer
from graphs.review import ReviewDecision
from graphs.trace import read_trace
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


def model_agent():
    return Agent(model=ScriptedChatModel(respond=three_way), model_options={"hybrid": False, "samples": 1})


@pytest.fixture(scope="module")
def agent():
    return model_agent()


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
    assert step["name"] == "ana" and step["decision"]["select"] == 2
    assert step["before"]["city"] != "Nagoya" and step["after"]["city"] == "Nagoya"
    assert "reviewer: the signs are Japanese" in location.reason
    with pytest.raises(ConfigError, match="already reviewed"):
        pending.resume()


def test_accepting_keeps_the_answer_and_is_recorded(agent, photo):
    unreviewed = agent.locate(photo, use_metadata=False)
    location = agent.locate(photo, use_metadata=False, review=lambda request: None)
    assert (location.lat, location.lon) == (unreviewed.lat, unreviewed.lon)
    assert review_steps(location)[0]["account"] == "accepted as it was"
    assert not review_steps(unreviewed)  # no review asked, none recorded


def test_rejections_and_a_hint_narrow_the_candidates(agent, photo):
    location = agent.locate(photo, use_metadata=False, review=lambda request: {"reject": [0]})
    assert location.city == "Madrid" and "Porto" not in labels(location)
    hinted = agent.locate(photo, use_metadata=False, review=ReviewDecision(hint="somewhere in Japan"))
    assert hinted.country_code == "JP"
    assert "kept 1 candidate(s) in JP" in review_steps(hinted)[0]["account"]
    nothing = agent.locate(photo, use_metadata=False, review=lambda request: {"reject": [0, 1, 2]})
    assert nothing.lat is None and "ruled out every candidate" in nothing.reason


def test_a_review_re_aggregates_inside_the_runs_constraint(agent, photo):
    iberia = {"country": ["PT", "ES"]}
    pending = agent.locate(photo, use_metadata=False, hint=iberia, review=True)
    assert [c["outside_constraint"] for c in pending.candidates] == [False, False, True]  # Nagoya is shown as such
    location = pending.resume(reject=[0, 1])  # both Iberian candidates ruled out: Nagoya must not take over
    assert location.lat is None and "no answer inside the constraint" in location.reason
    chosen = agent.locate(photo, use_metadata=False, hint=iberia, review=ReviewDecision(select=2))
    assert chosen.city == "Nagoya" and "outside the run's constraint" in chosen.reason  # an explicit choice stands


def test_a_bad_decision_is_recorded_and_the_answer_kept(agent, photo):
    location = agent.locate(photo, use_metadata=False, review=lambda request: {"selekt": 1})
    assert location.city == "Porto"
    assert "review not applied" in review_steps(location)[0]["error"]["message"]


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


def test_a_paused_run_resumes_in_another_process(photo, tmp_path):
    import subprocess
    import sys
    import warnings

    trace = tmp_path / "paused.jsonl"
    pending = model_agent().locate(photo, use_metadata=False, review=True, trace=trace)
    run_id = pending.run_id
    del pending  # the paused run lives on disk only from here
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[3]);"
        "from test_review import model_agent;"
        "loc = model_agent().resume(sys.argv[1], select=1, reviewer='ana');"
        "print(json.dumps({'city': loc.city, 'trace': loc.trace_path}))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", script, run_id, str(trace), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "unregistered type" not in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["city"] == "Madrid"
    finished = read_trace(trace)
    assert finished.finished and [s.decision["select"] for s in finished.of_kind("review")] == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="no paused run"):
            Agent().resume(run_id)


def test_alocate_takes_review_too(agent, photo):
    import asyncio

    pending = asyncio.run(agent.alocate(photo, use_metadata=False, review=True))
    assert isinstance(pending, PendingReview)
    assert pending.resume(select=1).city == "Madrid"
    decided = asyncio.run(agent.alocate(photo, use_metadata=False, review={"select": 2}))
    assert decided.city == "Nagoya"
