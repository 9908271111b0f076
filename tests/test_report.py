"""Evaluation report: summary figures from result records, Markdown and the two PNGs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evals.report import summarize_records, write_report
from graphs.trace import TraceRecorder
from tools.evidence import Evidence, GeoRef, Observation, ToolSource

PARIS = (48.8566, 2.3522)
LYON = (45.764, 4.8357)
TOKYO = (35.6762, 139.6503)
SYDNEY = (-33.8688, 151.2093)
NEW_YORK = (40.7128, -74.006)
OSAKA = (34.6937, 135.5023)
JAPAN = {
    "granularity": "country",
    "name": "Japan",
    "country_code": "JP",
    "region": None,
    "city": None,
    "lat": 36.2,
    "lon": 138.25,
    "radius_km": 600.0,
}
# Great-circle distances of the handful, km (Paris-Lyon, Tokyo-Sydney, Osaka-Japan's point).
D_LYON, D_SYDNEY, D_OSAKA = 391.4995, 7825.8294, 299.9884


def _place(name: str, point: tuple[float, float], country: str) -> dict:
    evidence = Evidence(
        kind="place_name",
        value=f"'{name.lower()}' -> {name}",
        confidence=0.6,
        source=ToolSource(tool="analyze_text"),
        geo=GeoRef(lat=point[0], lon=point[1], radius_km=10.0),
        countries={country: 1.0},
    )
    return evidence.model_dump(mode="json")


def _trace(path, tools: list[str]) -> str:
    recorder = TraceRecorder(path)
    kinds = {"read_text": "ocr", "analyze_text": "text"}
    recorder.header(images=[], config={}, tools=[{"name": n, "kind": k, "online": False} for n, k in kinds.items()])
    for name in tools:
        recorder.tool_call("act", name, arguments={}, observation=Observation(tool=name, text="ok"), tool_kind=None)
    recorder.close("ok")
    return str(path)


def _prediction(point, confidence, evidence, **names) -> dict:
    return {
        "lat": point[0] if point else None,
        "lon": point[1] if point else None,
        "confidence": confidence,
        "radius_km": 10.0 if point else None,
        "candidates": [],
        "evidence": evidence,
        "summary": "",
        **names,
    }


def _record(id, point, prediction, **extra) -> dict:
    record = {
        "id": id,
        "images": [f"{id}.jpg"],
        "prompt": None,
        "solution": None,
        "truth": {"lat": point[0], "lon": point[1], "answer": None} if point else {"lat": None, "lon": None},
        "gold": None,
        "prediction": prediction,
        "judgement": None,
        "distance_km": None,
        "elapsed_s": 1.5,
        "error": None,
        "trace_path": None,
    }
    record.update(extra)
    return record


@pytest.fixture
def handful(tmp_path) -> list[dict]:
    (tmp_path / "traces").mkdir()
    script = Evidence(
        kind="script",
        value="scripts Han + Hiragana (Japanese)",
        confidence=0.7,
        source=ToolSource(tool="analyze_text"),
        countries={"JP": 1.0},
    ).model_dump(mode="json")
    return [
        _record(
            "paris-exact",
            PARIS,
            _prediction(PARIS, 0.9, [_place("Paris", PARIS, "FR")], city="Paris", country="France"),
            trace_path=_trace(tmp_path / "traces" / "a.jsonl", ["read_text", "analyze_text"]),
        ),
        _record(
            "paris-as-lyon",
            PARIS,
            _prediction(LYON, 0.6, [_place("Paris", PARIS, "FR"), _place("Lyon", LYON, "FR")], city="Lyon"),
            trace_path=_trace(tmp_path / "traces" / "b.jsonl", ["read_text", "read_text", "analyze_text"]),
        ),
        _record("tokyo-as-sydney", TOKYO, _prediction(SYDNEY, 0.3, [_place("Sydney", SYDNEY, "AU")])),
        _record("new-york-unanswered", NEW_YORK, _prediction(None, 0.0, [])),
        _record("new-york-failed", NEW_YORK, None, error="RunError: boom | trace lost", elapsed_s=0.2),
        _record(
            "gb-japan",
            None,
            _prediction(OSAKA, 0.7, [script], city="Osaka", country="Japan"),
            truth={"lat": None, "lon": None, "answer": "Japan"},
            gold=JAPAN,
            judgement={"correct": True, "level": "country", "reason": "same country", "distance_km": D_OSAKA},
            solution="1. Chinese characters on a billboard.\n2. Traffic drives on the left.",
            trace_path="traces/c.jsonl",  # relative to the run directory
        ),
    ]


def test_summary_figures_of_a_handful(handful, tmp_path, gazetteer):
    _trace(tmp_path / "traces" / "c.jsonl", ["read_text"])
    summary = summarize_records(handful, coverage_method="lexical", base_dir=tmp_path, gazetteer=gazetteer)
    assert summary["records"] == 6 and summary["errors"] == 1
    assert summary["n"] == 6 and summary["answered"] == 4
    assert summary["accuracy"] == pytest.approx(
        {"1km": 1 / 6, "25km": 1 / 6, "200km": 1 / 6, "750km": 0.5, "2500km": 0.5}
    )
    assert summary["median_km"] == pytest.approx((D_OSAKA + D_LYON) / 2, abs=0.01)
    assert summary["mean_km"] == pytest.approx((D_LYON + D_SYDNEY + D_OSAKA) / 4, abs=0.01)
    levels = summary["levels"]
    assert (levels["country"]["correct"], levels["country"]["n"]) == (3, 6)
    assert (levels["region"]["correct"], levels["region"]["n"]) == (1, 5)  # "Japan" says nothing of a region
    assert (levels["city"]["correct"], levels["city"]["n"]) == (1, 5)
    assert summary["judged"] == {
        "n": 1,
        "correct": 1,
        "undecided": 0,
        "accuracy": 1.0,
        "by_level": {"country": {"n": 1, "correct": 1}},
    }
    assert summary["taxonomy"] == {
        "correct": 2,
        "no_usable_evidence": 1,
        "wrong_evidence": 1,
        "right_evidence_wrong_decision": 1,
        "error": 1,
    }
    tools = summary["tool_calls"]
    assert tools["n"] == 3 and tools["mean_total"] == pytest.approx(2.0)
    assert tools["mean_by_tool"] == pytest.approx({"read_text": 4 / 3, "analyze_text": 2 / 3})
    assert tools["mean_by_kind"] == pytest.approx({"ocr": 4 / 3, "text": 2 / 3})
    coverage = summary["step_coverage"]
    assert (coverage["n"], coverage["steps"], coverage["covered"], coverage["method"]) == (1, 2, 1, "lexical")
    by_id = {row["id"]: row for row in summary["items"]}
    assert by_id["paris-as-lyon"]["distance_km"] == pytest.approx(D_LYON, abs=0.01)
    assert by_id["gb-japan"]["distance_km"] == pytest.approx(D_OSAKA, abs=0.01)  # to the resolved gold point


def test_write_report_files_and_headline_numbers(handful, tmp_path, gazetteer):
    _trace(tmp_path / "traces" / "c.jsonl", ["read_text"])
    summary = summarize_records(handful, coverage_method="lexical", base_dir=tmp_path, gazetteer=gazetteer)
    paths = write_report(handful, summary, tmp_path / "report")
    assert set(paths) == {"report", "error_cdf", "world_map"}
    assert all(p.exists() and p.parent == tmp_path / "report" for p in paths.values())

    markdown = paths["report"].read_text(encoding="utf-8")
    geoscore = 5000 * (1 + math.exp(-D_LYON / 1492.7) + math.exp(-D_SYDNEY / 1492.7) + math.exp(-D_OSAKA / 1492.7)) / 6
    for line in [
        "| items | 6 |",
        "| scored against a point | 6 |",
        "| answered (coverage) | 4 (66.7%) |",
        "| accuracy ≤ 1 km | 16.7% |",
        "| accuracy ≤ 25 km | 16.7% |",
        "| accuracy ≤ 200 km | 16.7% |",
        "| accuracy ≤ 750 km | 50.0% |",
        "| accuracy ≤ 2500 km | 50.0% |",
        "| median error (answered items) | 345.7 km |",
        "| mean error (answered items) | 2,129.3 km |",
        f"| GeoScore (mean, 0–5000; no answer scores 0) | {geoscore:.0f} |",
        "| country accuracy | 50.0% (3/6) |",
        "| region accuracy | 20.0% (1/5) |",
        "| city accuracy | 20.0% (1/5) |",
        "| judged accuracy (gold granularity) | 100.0% (1/1) |",
        "| tool calls per item | 2.00 |",
        "| expert step coverage | 50.0% (1/2 steps, lexical) |",
        "| [0.50, 0.75) | 2 | 0.0% | 0.0% |",
        "| [0.75, 1.00) | 1 | 100.0% | 100.0% |",
        "| correct | 2 | 33.3% |",
        "| right_evidence_wrong_decision | 1 | 16.7% |",
        "| error | 1 | 16.7% |",
        "| tool read_text | 1.33 |",
        "![error CDF](error_cdf.png)",
        "![world map](world_map.png)",
    ]:
        assert line in markdown, line
    rows = [line for line in markdown.splitlines() if line.startswith("| gb-japan |")]
    assert len(rows) == 1 and "| Japan |" in rows[0] and "yes (country)" in rows[0] and "| 1/2 |" in rows[0]
    failed = next(line for line in markdown.splitlines() if line.startswith("| new-york-failed |"))
    assert "(failed)" in failed and "RunError: boom \\| trace lost" in failed  # a pipe cannot break the table

    cdf = Image.open(paths["error_cdf"])
    assert cdf.format == "PNG" and cdf.width >= 800 and cdf.height >= 450
    world = Image.open(paths["world_map"])
    assert world.format == "PNG" and world.width >= 1200 and 1.6 < world.width / world.height < 2.2
    pixels = np.asarray(world.convert("RGB")).astype(int)
    grey = (np.abs(pixels[..., 0] - pixels[..., 1]) < 8) & (pixels[..., 0] > 120) & (pixels[..., 0] < 225)
    assert grey.sum() > 20_000, "the populated places should outline the land"
    green = (pixels[..., 1] > 130) & (pixels[..., 0] < 90) & (pixels[..., 2] < 90)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert green.sum() > 50 and red.sum() > 50, "truth and prediction markers are drawn"


def test_report_of_failed_runs_only_and_of_a_summary_without_rows(tmp_path, gazetteer):
    records = [_record(f"f{i}", PARIS, None, error="ImageInputError: unreadable") for i in range(3)]
    summary = summarize_records(records, coverage_method="lexical", gazetteer=gazetteer)
    assert summary["answered"] == 0 and summary["taxonomy"]["error"] == 3
    assert summary["tool_calls"] is None and summary["step_coverage"] is None and summary["judged"] is None
    paths = write_report(records, summary, tmp_path / "failed")
    markdown = paths["report"].read_text(encoding="utf-8")
    assert "| answered (coverage) | 0 (0.0%) |" in markdown and "| median error (answered items) | — |" in markdown
    assert Image.open(paths["error_cdf"]).format == "PNG"

    handful = [_record("p", PARIS, _prediction(LYON, 0.5, []))]
    bare = {
        k: v
        for k, v in summarize_records(handful, coverage_method="lexical", gazetteer=gazetteer).items()
        if k != "items"
    }
    paths = write_report(handful, bare, tmp_path / "bare")  # the per-item rows are computed
    assert "| p | 48.8566, 2.3522 | 45.7640, 4.8357 | 391.5 km | 0.50 | no |" in paths["report"].read_text()


def test_lines_crossing_the_antimeridian_are_split():
    from evals.report import _segments

    parts = _segments((60.0, 170.0), (60.0, -170.0))
    assert len(parts) == 2
    (xs1, ys1), (xs2, ys2) = parts
    assert xs1 == [170.0, 180.0] and xs2 == [-180.0, -170.0] and ys1[1] == ys2[0] == pytest.approx(60.0)
    assert _segments((0.0, 10.0), (5.0, 20.0)) == [([10.0, 20.0], [0.0, 5.0])]


def test_tool_use_is_read_from_version_1_and_version_2_traces(tmp_path, gazetteer):
    """A results file may point at traces written before and after the format change."""
    lisbon = (38.7107, -9.1366)
    old = Path(__file__).resolve().parent / "fixtures" / "traces_v1" / "heuristic_lisbon.jsonl"
    new = _trace(tmp_path / "new.jsonl", ["read_text", "analyze_text"])
    answer = _prediction(lisbon, 0.6, [])
    records = [_record("old", lisbon, answer, trace_path=str(old)), _record("new", lisbon, answer, trace_path=new)]
    tools = summarize_records(records, coverage_method="lexical", gazetteer=gazetteer)["tool_calls"]
    assert tools["n"] == 2 and tools["mean_total"] == pytest.approx(3.0)  # 4 calls in the old run, 2 in the new
    assert tools["mean_by_tool"] == pytest.approx({"read_text": 1.0, "analyze_text": 1.0, "web_search": 1.0})
    assert tools["mean_by_kind"] == pytest.approx({"ocr": 1.0, "text": 1.0, "search": 1.0})
