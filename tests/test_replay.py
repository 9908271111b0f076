"""Replay: recorded runs re-derive exactly, counterfactuals need no model, divergence is named."""

import json
import shutil
import threading
from pathlib import Path

import pytest
import test_online
from netserver import Reply, ScriptedServer
from scripted_model import ScriptedChatModel
from test_model_policy import investigator
from test_online import SEARX_ANSWER, settings_for

from agent import Agent
from agent.cli import main
from evals.fonts import latin_font
from graphs.replay import ReplayChatModel
from graphs.trace import read_trace
from tools.errors import ReplayDivergenceError, TraceError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


@pytest.fixture(scope="module")
def agent():
    return Agent()


@pytest.fixture(scope="module")
def heuristic_run(agent, tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "heuristic.jsonl"
    return agent.locate(EXAMPLE, use_metadata=False, trace=path), path


def test_heuristic_run_replays_to_the_identical_location(agent, heuristic_run, tmp_path):
    live, path = heuristic_run
    replayed = agent.replay(path, trace_out=tmp_path / "again.jsonl")
    assert replayed.answer_dict() == live.answer_dict()
    assert replayed.run_id != live.run_id
    again = read_trace(tmp_path / "again.jsonl")
    assert again.header.config["replay_of"] == live.run_id
    assert not any(s.meta.get("live") for s in again.steps)  # nothing was called for real


def test_a_parsed_trace_the_caller_holds_replays_twice_and_is_left_as_it_was(agent, heuristic_run):
    live, path = heuristic_run
    trace = read_trace(path)

    def as_parsed():
        observed = [getattr(s, "observation", None) for s in trace.steps]
        return [(s.model_dump(), dict(o.meta) if o else None) for s, o in zip(trace.steps, observed)]

    before = as_parsed()
    assert agent.replay(trace).answer_dict() == live.answer_dict()
    assert agent.replay(trace).answer_dict() == live.answer_dict()
    assert as_parsed() == before


def test_another_strategy_is_a_counterfactual_of_the_same_evidence(agent, heuristic_run):
    _, path = heuristic_run
    for strategy in ("hierarchical", "best"):
        live = agent.locate(EXAMPLE, use_metadata=False, strategy=strategy)
        assert agent.replay(path, strategy=strategy).answer_dict() == live.answer_dict()


def drop_step(path, tmp_path, predicate):
    lines = Path(path).read_text().splitlines()
    kept = [line for line in lines if not predicate(json.loads(line))]
    assert len(kept) == len(lines) - 1
    out = tmp_path / "edited.jsonl"
    out.write_text("\n".join(kept) + "\n")
    return out


def test_divergence_names_the_step_and_lenient_replay_goes_live(agent, heuristic_run, tmp_path):
    _, path = heuristic_run
    trace = read_trace(path)
    analyse = next(s for s in trace.steps if s.kind == "tool_call" and s.name == "analyze_text")
    edited = drop_step(path, tmp_path, lambda r: r.get("index") == analyse.index)
    with pytest.raises(ReplayDivergenceError, match=r"tool call analyze_text .* not in trace"):
        agent.replay(edited)
    lenient = agent.replay(edited, strict=False, trace_out=tmp_path / "lenient.jsonl")
    live_steps = [s for s in read_trace(tmp_path / "lenient.jsonl").steps if s.meta.get("live")]
    assert [s.name for s in live_steps] == ["analyze_text"]
    assert lenient.answer_dict() == agent.replay(path).answer_dict()  # the live call found the same


def test_replay_refuses_other_images(agent, heuristic_run, tmp_path):
    _, path = heuristic_run
    other = tmp_path / "other.jpg"
    from PIL import Image

    Image.new("RGB", (64, 64)).save(other)
    with pytest.raises(TraceError, match="sha256"):
        agent.replay(path, images=[other])
    moved = tmp_path / "moved.jsonl"
    text = Path(path).read_text().replace(str(EXAMPLE), str(tmp_path / "gone.jpg"))
    moved.write_text(text)
    with pytest.raises(TraceError, match="images="):
        agent.replay(moved)
    copy = tmp_path / "copy.jpg"
    shutil.copy(EXAMPLE, copy)
    assert agent.replay(moved, images=[copy]).city == "Lisbon"


@pytest.mark.skipif(latin_font() is None, reason="no DejaVu font installed")
def test_model_run_replays_without_model_or_network(tmp_path, monkeypatch):
    photo = tmp_path / "porto.jpg"
    test_online.street_photo.__wrapped__().save(photo, quality=92)
    with ScriptedServer() as server:
        server.route("/search", Reply(body=SEARX_ANSWER))
        settings = {
            **settings_for(server.url("/api/interpreter"), server.url("/search")),
            "net_cache_dir": str(tmp_path),
        }
        options = {"hybrid": False, "samples": 3}
        recorded = Agent(
            model=ScriptedChatModel(respond=investigator), model_options=options, tool_settings=settings, online=True
        )
        live = recorded.locate(photo, use_metadata=False, trace=tmp_path / "model.jsonl")
        fewer = Agent(
            model=ScriptedChatModel(respond=investigator),
            model_options={**options, "samples": 2},
            tool_settings=settings,
            online=True,
        ).locate(photo, use_metadata=False)
    # no model, the search server gone: the replay answers every call from the trace
    answered_in: set[int] = set()
    generate = ReplayChatModel._generate

    def noting_thread(self, *args, **kwargs):
        answered_in.add(threading.get_ident())
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(ReplayChatModel, "_generate", noting_thread)
    plain = Agent(settings=None)
    replayed = plain.replay(tmp_path / "model.jsonl")
    assert replayed.answer_dict() == live.answer_dict()
    # nothing waits on a server, so the three proposals ran inline, not on a thread pool
    assert answered_in == {threading.get_ident()}
    # fewer samples: re-derived from the recorded ones, equal to a live run with 2 samples
    assert plain.replay(tmp_path / "model.jsonl", samples=2).answer_dict() == fewer.answer_dict()
    with pytest.raises(ReplayDivergenceError, match="model call"):
        plain.replay(tmp_path / "model.jsonl", samples=4)


def test_cli_replay(heuristic_run, capsys):
    live, path = heuristic_run
    assert main(["replay", str(path), "--json", "--strategy", "cluster"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["lat"], result["lon"], result["city"]) == (live.lat, live.lon, live.city)
