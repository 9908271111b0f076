"""Why this answer: leave-one-out attribution of a recorded run, from its trace alone."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from scripted_model import ScriptedChatModel, call

from agent import Agent
from agent.cli import main
from agent.explain import attribution_html, explain, format_attribution
from graphs.attribution import Counterfactuals, recorded_run, shared_gazetteer
from graphs.consensus import aggregate
from graphs.trace import TraceRecorder, parse_trace_lines, read_trace
from graphs.trace_schema import ImageStep
from graphs.verify import verify_candidates
from tools.errors import TraceError
from tools.evidence import Candidate, Evidence, GeoRef, ToolSource

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
LISBON = (38.7223, -9.1393)
PORTO = (41.1496, -8.6057)


@pytest.fixture(scope="module")
def lisbon_run(tmp_path_factory):
    """The Lisbon example, metadata off, offline (the default): OCR, text clues, consensus."""
    path = tmp_path_factory.mktemp("explain") / "lisbon.jsonl"
    location = Agent().locate(EXAMPLE, use_metadata=False, trace=path)
    assert location.city == "Lisbon"
    return location, path


def test_lisboa_is_a_single_point_of_failure_and_the_street_word_is_not(lisbon_run):
    location, path = lisbon_run
    attribution = Agent().explain(path)
    assert attribution.reproduced and not attribution.approximate
    assert attribution.baseline.country_code == "PT" and attribution.baseline.confidence == location.confidence
    lisboa = next(e for e in location.evidence if e.kind == "ocr_text" and e.value.upper() == "LISBOA")
    row = attribution.row(lisboa.id)
    assert row.single_point_of_failure
    assert not row.without.answered or row.without.distance_km > location.radius_km
    line = next(g for g in attribution.groups if g.kind == "line" and lisboa.id in g.evidence)
    assert line.single_point_of_failure and lisboa.id in attribution.single_points_of_failure
    # the place name read from that line goes with it, and alone it keeps the answer
    derived = [e.id for e in location.evidence if lisboa.id in e.details.get("from", [])]
    assert derived and set(derived) <= set(line.evidence)
    assert line.alone.answered and line.alone.distance_km <= location.radius_km
    street = next(e for e in location.evidence if e.kind == "street_type" and "rua" in e.value)
    street_row = attribution.row(street.id)
    assert not street_row.single_point_of_failure
    assert street_row.without.distance_km <= location.radius_km and street_row.without.confidence >= 0.25
    # the minimal set still gives the answer, and it needs the LISBOA line
    minimal = attribution.minimal_set
    assert lisboa.id in minimal.evidence and minimal.outcome.distance_km <= location.radius_km
    assert len(minimal.evidence) < len(location.evidence)
    fragment = attribution_html(attribution)
    assert 'class="spof"' in fragment and f'data-ev="{" ".join(row.evidence)}"' in fragment


def test_explaining_the_trace_equals_explaining_the_live_location(lisbon_run):
    location, path = lisbon_run
    agent = Agent()
    from_file = agent.explain(path)
    from_trace = agent.explain(read_trace(path))
    from_location = agent.explain(location)  # through its trace_path
    records = [json.loads(line) for line in path.read_text().splitlines()]
    in_memory = location.model_copy(update={"trace": records, "trace_path": None})
    assert from_file == from_trace == from_location == agent.explain(in_memory)
    with pytest.raises(TraceError, match="no trace"):
        agent.explain(location.model_copy(update={"trace": None, "trace_path": None}))


def test_cli_table_and_json(lisbon_run, capsys):
    location, path = lisbon_run
    lisboa = next(e for e in location.evidence if e.kind == "ocr_text" and e.value.upper() == "LISBOA")
    assert main(["explain", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(t for t in out.splitlines() if t.strip().startswith(f"without {lisboa.id} LISBOA"))
    assert "km away" in line and "confidence 0.60 →" in line and "country PT" in line
    assert "single point of failure" in line
    assert "Minimal set" in out and "the recorded answer, exactly" in out
    assert main(["explain", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert lisboa.id in data["single_points_of_failure"] and data["reproduced"] is True
    assert main(["explain", str(path.parent / "missing.jsonl")]) == 2


def test_removing_any_evidence_never_raises(lisbon_run):
    """Property-style: every evidence, every group and random subsets of two runs."""
    _, path = lisbon_run
    for trace in (read_trace(path), synthetic_trace()):
        engine = Counterfactuals(recorded_run(trace))
        rng = random.Random(7)
        ids = engine.ids
        for item in ids:
            engine.answer(engine.removal([item]))
            engine.answer(engine.keeping([item]))
        for _ in range(60):
            subset = rng.sample(ids, rng.randint(0, len(ids)))
            names = [p.task for p in engine.run.proposals]
            tasks = frozenset(rng.sample(names, rng.randint(0, min(2, len(names)))))
            result = engine.answer(engine.removal(subset), tasks)
            assert 0.0 <= result.confidence <= 1.0
        everything = engine.answer(engine.removal(ids))
        assert not everything.answered or all(not c.sources or c.sources == ["model"] for c in everything.ranked)
        attribution = explain(trace)
        assert len(attribution.evidence) == len(ids)


# ============================================================================ a hand-made trace


def _ev(i, kind, value, **fields):
    fields.setdefault("source", ToolSource(tool=fields.pop("tool", "analyze_text"), arguments=fields.pop("args", {})))
    return Evidence(id=f"ev:{i}", kind=kind, value=value, confidence=fields.pop("confidence", 0.9), **fields)


def _cand(point, label, score, sources, radius_km=1.0):
    return Candidate(lat=point[0], lon=point[1], label=label, score=score, sources=sources, radius_km=radius_km)


def _answer(point, label, confidence):
    return AIMessage(
        content="",
        tool_calls=[
            call("answer", candidates=[{"lat": point[0], "lon": point[1], "label": label, "confidence": confidence}])
        ],
    )


def synthetic_trace(tamper: bool = False):
    """Lines (one read twice, on the photo and on a crop), a place name, a web page with a
    place name of its own, an OSM element, a language clue from two lines, a hint, and two
    model samples."""
    lisbon = GeoRef(lat=LISBON[0], lon=LISBON[1], radius_km=10.0)
    read = ToolSource(tool="read_text", arguments={"image": "img:0"})
    evidence = [
        _ev(0, "ocr_text", "RUA AUGUSTA", image="img:0", bbox=[100, 100, 300, 140], source=read),
        _ev(1, "ocr_text", "LISBOA", image="img:0", bbox=[120, 150, 220, 180], source=read),
        _ev(2, "ocr_text", "LISBOA", image="img:1", bbox=[20, 50, 120, 80], source=read),
        _ev(3, "place_name", "'lisboa' -> Lisbon", geo=lisbon, countries={"PT": 1.0}, details={"from": ["ev:1"]}),
        _ev(
            4,
            "search_hit",
            "Rua Augusta, Lisboa <b>",
            tool="web_search",
            args={"query": '"RUA AUGUSTA" "LISBOA"'},
            provenance="https://example.pt/a",
            countries={"PT": 1.0},
            confidence=0.5,
        ),
        _ev(
            5,
            "place_name",
            "'lisboa' -> Lisbon (web)",
            tool="web_search",
            provenance="https://example.pt/a",
            geo=lisbon,
            countries={"PT": 1.0},
            details={"from_search": "https://example.pt/a", "search_urls": ["https://example.pt/a"]},
            confidence=0.4,
        ),
        _ev(
            6,
            "osm_feature",
            "Rua Augusta (way 1)",
            tool="osm_verify",
            args={"text": "RUA AUGUSTA", "lat": LISBON[0], "lon": LISBON[1]},
            provenance="https://www.openstreetmap.org/way/1",
            geo=GeoRef(lat=38.7107, lon=-9.1366, radius_km=0.4),
            confidence=0.8,
        ),
        _ev(7, "language", "Portuguese", countries={"PT": 1.0, "BR": 1.0}, details={"from": ["ev:0", "ev:1"]}),
        _ev(8, "hint", "somewhere in Europe <script>", tool="hint", countries={"PT": 0.5, "ES": 0.5}, confidence=0.5),
    ]
    proposals = [
        ("osm[0]", "osm", 0, [Candidate(lat=38.7107, lon=-9.1366, label="OSM way 1", score=0.8, sources=["ev:6"])]),
        (
            "text[0]",
            "text",
            0,
            [
                Candidate(
                    lat=LISBON[0], lon=LISBON[1], label="Lisbon", score=0.7, sources=["ev:3", "ev:1"], radius_km=10
                ),
                Candidate(
                    lat=39.5,
                    lon=-8.0,
                    label="Portugal",
                    score=0.5,
                    sources=["ev:3", "ev:7", "ev:1", "ev:0"],
                    radius_km=170,
                ),
            ],
        ),
        (
            "model[0]",
            "model",
            0,
            [Candidate(lat=LISBON[0], lon=LISBON[1], label="Lisbon", score=0.6, sources=["model"])],
        ),
        ("model[1]", "model", 1, [Candidate(lat=PORTO[0], lon=PORTO[1], label="Porto", score=0.5, sources=["model"])]),
    ]
    recorder = TraceRecorder()
    recorder.header([{"handle": "img:0", "path": None, "sha256": "0"}], {"strategy": "cluster"})
    recorder.add(ImageStep(index=0, handle="img:0", width=640, height=480))
    recorder.add(
        ImageStep(index=0, handle="img:1", parent="img:0", to_root=(1.0, 1.0, 100.0, 100.0), width=300, height=200)
    )
    recorder.evidence("act", evidence)
    for task, lane, sample, candidates in proposals:
        recorder.candidates("propose", task, "proposed", candidates, task=task, lane=lane, sample=sample)
    ordered = [c for _, _, _, cs in sorted(proposals, key=lambda p: (p[1], p[2])) for c in cs]
    gazetteer = shared_gazetteer()
    result = aggregate(verify_candidates(ordered, evidence, gazetteer), "cluster", gazetteer)
    output = result.model_dump(mode="json", exclude={"ranked"})
    if tamper:
        output["lat"] += 1.0
    recorder.decision("consensus", "cluster", output, arguments={"strategy": "cluster", "options": {}})
    recorder.close("ok", output)
    return parse_trace_lines([json.dumps(r) for r in recorder.records])


def test_source_groups_of_every_kind():
    attribution = explain(synthetic_trace())
    assert attribution.reproduced
    groups = {g.key: g for g in attribution.groups}
    # a line read twice (on the photo and on a crop) is one line; its place name goes with it
    assert set(groups["line:ev:1"].evidence) == {"ev:1", "ev:2", "ev:3"}
    # the language clue came from two lines: it goes only when both go
    assert "ev:7" not in groups["line:ev:0"].evidence and "ev:7" not in groups["line:ev:1"].evidence
    page = groups["page:https://example.pt/a"]
    assert set(page.evidence) == {"ev:4", "ev:5"}  # the page and the place name read on it
    osm = groups["osm:https://www.openstreetmap.org/way/1"]
    assert osm.evidence == ["ev:6"]
    samples = [g for g in attribution.groups if g.kind == "sample"]
    assert [g.tasks for g in samples] == [["model[0]"], ["model[1]"]]
    assert "tool:hint" in groups
    # a search query built from a line is derived from it: without both lines the page goes too
    engine = Counterfactuals(recorded_run(synthetic_trace()))
    assert {"ev:4", "ev:5", "ev:6", "ev:7"} <= engine.removal(["ev:0", "ev:1", "ev:2"])
    # a candidate citing no evidence stands until its sample is removed
    without_everything = engine.answer(engine.removal(engine.ids))
    assert without_everything.answered and {c.label for c in without_everything.ranked} == {"Lisbon", "Porto"}
    assert not engine.answer(engine.removal(engine.ids), frozenset({"model[0]", "model[1]"})).answered


def test_partly_supported_candidates_are_discounted_not_dropped():
    engine = Counterfactuals(recorded_run(synthetic_trace()))
    portugal = next(c for c in engine.candidates(engine.removal(["ev:7"])) if c.label == "Portugal")
    assert "ev:7" not in portugal.sources and 0 < portugal.score < 0.5
    # provenance-only sources carry no weight: removing the line keeps the place name's share
    assert not any(c.label == "Lisbon" and c.sources == ["ev:1"] for c in engine.candidates(engine.removal(["ev:3"])))


def test_an_unreproducible_trace_is_reported_approximate():
    attribution = explain(synthetic_trace(tamper=True))
    assert not attribution.reproduced and attribution.approximate
    assert "does not give the recorded answer" in attribution.notes[0]
    assert "APPROXIMATE" in format_attribution(attribution)


def test_html_fragment_is_escaped():
    fragment = attribution_html(explain(synthetic_trace()))
    assert fragment.startswith('<section class="attribution"') and fragment.endswith("</section>")
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment and "&lt;b&gt;" in fragment
    assert "style=" not in fragment and 'class="held"' in fragment


# ============================================================================ a model-driven run


def _sampled(messages, tools, kwargs):
    """Reads the sign through the text tool, then answers Lisbon; the second sample says Porto."""
    if tools == ["answer"]:
        where, label = (PORTO, "Porto") if kwargs.get("seed") == 1 else (LISBON, "Lisbon")
        return AIMessage(
            content="",
            tool_calls=[
                call("answer", candidates=[{"lat": where[0], "lon": where[1], "label": label, "confidence": 0.6}])
            ],
        )
    if not any(isinstance(m, AIMessage) for m in messages):
        return AIMessage(content="", tool_calls=[call("analyze_text", texts=["RUA AUGUSTA", "LISBOA"])])
    return AIMessage(
        content="",
        tool_calls=[
            call("answer", candidates=[{"lat": LISBON[0], "lon": LISBON[1], "label": "Lisbon", "confidence": 0.7}])
        ],
    )


def _raises(messages, tools, kwargs):
    raise AssertionError("explain must not call the model")


def test_model_run_is_explained_without_calling_the_model(tmp_path):
    from PIL import Image

    photo = tmp_path / "plain.jpg"
    Image.new("RGB", (320, 240), (90, 120, 150)).save(photo)
    model = ScriptedChatModel(respond=_sampled)
    live = Agent(model=model, model_options={"hybrid": False, "samples": 3}).locate(
        photo, use_metadata=False, trace=tmp_path / "model.jsonl"
    )
    assert live.city == "Lisbon"
    silent = ScriptedChatModel(respond=_raises)
    attribution = Agent(model=silent, model_options={"hybrid": False, "samples": 3}).explain(tmp_path / "model.jsonl")
    assert silent.calls == []
    assert attribution.reproduced
    samples = [g for g in attribution.groups if g.kind == "sample"]
    assert len(samples) == 3
    porto = next(g for g in samples if g.alone.answered and g.alone.distance_km > 200)
    assert not porto.single_point_of_failure  # two samples still say Lisbon
    assert attribution.evidence and all(r.without.answered for r in attribution.evidence)


# ============================================================================ evaluation


def test_evaluation_counts_answers_resting_on_a_single_point_of_failure(lisbon_run, tmp_path):
    from evals.attribution import attribution_of_results
    from evals.report import summarize_records

    location, path = lisbon_run
    synthetic = tmp_path / "traces" / "synthetic.jsonl"
    synthetic.parent.mkdir()
    trace = synthetic_trace()
    lines = [trace.header.model_dump_json()] + [s.model_dump_json() for s in [*trace.steps, trace.final]]
    synthetic.write_text("\n".join(lines) + "\n")
    answer = {"lat": location.lat, "lon": location.lon, "confidence": location.confidence}
    records = [
        {"id": "lisbon", "prediction": answer, "distance_km": 1.0, "trace_path": str(path)},
        {"id": "synthetic", "prediction": answer, "distance_km": 900.0, "trace_path": "traces/synthetic.jsonl"},
        {"id": "lost", "prediction": answer, "distance_km": 3.0, "trace_path": "traces/gone.jsonl"},
        {"id": "silent", "prediction": {"lat": None, "lon": None}, "distance_km": None},
    ]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = attribution_of_results(tmp_path)
    assert summary["explained"] == 2 and summary["skipped"] == 1 and summary["single_point_of_failure"] == 1
    assert summary["share"] == 0.5
    assert summary["resting_on_one"]["accuracy"] == 1.0 and summary["others"]["accuracy"] == 0.0
    assert summarize_records(records, base_dir=tmp_path)["attribution"] == summary


def test_a_reviewed_run_is_explained_before_review(tmp_path):
    from PIL import Image

    photo = tmp_path / "plain.jpg"
    Image.new("RGB", (320, 240), (90, 120, 150)).save(photo)

    def torn(messages, tools, kwargs):
        return AIMessage(
            content="",
            tool_calls=[
                call(
                    "answer",
                    candidates=[
                        dict(lat=PORTO[0], lon=PORTO[1], label="Porto", confidence=0.6),
                        dict(lat=LISBON[0], lon=LISBON[1], label="Lisbon", confidence=0.5),
                    ],
                )
            ],
        )

    agent = Agent(model=ScriptedChatModel(respond=torn), model_options={"hybrid": False, "samples": 1})
    reviewed = agent.locate(photo, use_metadata=False, review={"select": 1}, trace=tmp_path / "r.jsonl")
    attribution = agent.explain(reviewed)
    assert reviewed.city == "Lisbon" and attribution.baseline.place.startswith("Porto")
    assert attribution.reproduced and any("reviewer changed the answer" in n for n in attribution.notes)
