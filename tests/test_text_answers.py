"""GeoBrowse Level 2 in evaluations: the text answer is asked for, judged and summarised."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from evals.datasets import load_dataset
from evals.runner import EvalConfig, read_results, run_eval
from evals.text_answers import exact_match, normalize_answer, summarize_text_answers


@pytest.mark.parametrize(
    ("predicted", "gold", "same"),
    [
        ("3%", "3%", True),
        ("3 %", "3%", True),
        ("The answer is 3%", "3%", False),
        ("ac milan", "AC Milan", True),
        ("A.C. Milan", "AC Milan", False),
        ("72.0", "72", True),
        ("72", "72%", False),
        ("São Paulo", "Sao Paulo", True),
        ("the Louvre.", "Louvre", True),
        ("1,000", "1000", True),
        (None, "3%", False),
    ],
)
def test_normalised_exact_match(predicted, gold, same):
    assert exact_match(predicted, gold) is same
    assert normalize_answer("  The  “Eiffel”  Tower! ") == "eiffel tower"


def level2_set(folder, n=2, level1=1):
    rows = []
    for i in range(n + level1):
        name = f"l{i}.png"
        Image.new("RGB", (72, 48), (40 * i % 255, 120, 160)).save(folder / name)
        row = {
            "question_id": i,
            "prompt": f"Which country is this? What is its capital? ({i})",
            "image": name,
            "gold_image_answer": "Japan",
            "image_solution": "1. The signs are in Japanese.\n2. Therefore Japan.",
            "source": "test",
        }
        if i < n:
            row |= {
                "gold_text_answer": "Tokyo",
                "text_solution": "1. Search the capital of Japan.\n2. Wikipedia says Tokyo.",
                "level": "level2",
            }
        rows.append(row)
    path = folder / "level2.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_reader_keeps_the_level2_fields(tmp_path):
    items, _ = load_dataset(level2_set(tmp_path, 1, 0))
    assert items[0].extra["gold_text_answer"] == "Tokyo" and items[0].extra["text_solution"].startswith("1. Search")


def test_offline_eval_counts_level2_items_unanswered_and_level1_unchanged(tmp_path):
    outcome = run_eval(level2_set(tmp_path), EvalConfig(out=tmp_path / "out"), progress=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    block = summary["text_answer"]
    assert block["n"] == 2 and block["answered"] == 0 and block["correct"] == 0 and block["accuracy"] == 0.0
    assert block["status"] == {"no_model": 2}
    assert "| text answers correct (exact) | 0.0% (0/2), 0 answered |" in (tmp_path / "out" / "report.md").read_text()
    records = {r["id"]: r for r in outcome.records}
    assert records["2"]["text_answer"] is None and records["2"]["gold_text_answer"] is None  # Level 1
    level2 = records["0"]["text_answer"]
    assert level2["status"] == "no_model" and "needs a model" in level2["note"]
    assert level2["coverage"]["total"] == 2  # the text_solution split into its steps


def test_a_served_model_answers_level2_items(tmp_path):
    from agent.cli import main
    from evals.openai_stub import OpenAIStubServer, StubReply

    def responder(request):
        tools = {t["function"]["name"] for t in request.get("tools") or []}
        if "answer_text" in tools:
            return StubReply(tool_calls=[{"name": "answer_text", "arguments": {"answer": "tokyo", "evidence": []}}])
        answer = {"candidates": [{"lat": 35.68, "lon": 139.76, "label": "Tokyo, Japan", "confidence": 0.7}]}
        return StubReply(tool_calls=[{"name": "answer", "arguments": answer}])

    dataset = level2_set(tmp_path, 2, 0)
    with OpenAIStubServer(responder) as server:
        out = tmp_path / "model"
        spec = f"openai:stub@{server.base_url}"
        args = ["eval", str(dataset), "--out", str(out), "--model", spec, "--samples", "1", "--no-hybrid"]
        assert main([*args, "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["text_answer"]["n"] == 2 and summary["text_answer"]["answered"] == 2
    assert summary["text_answer"]["correct"] == 2 and summary["text_answer"]["accuracy"] == 1.0
    records = read_results(out / "results.jsonl")
    assert all(r["text_answer"]["predicted"] == "tokyo" and r["text_answer"]["exact"] for r in records)


def test_the_llm_judge_decides_when_asked():
    records = [
        {
            "gold_text_answer": "3%",
            "text_answer": {
                "predicted": "three percent",
                "exact": False,
                "status": "answered",
                "correct": True,
                "llm": {"correct": True},
            },
        },
        {
            "gold_text_answer": "72",
            "text_answer": {"predicted": None, "exact": False, "status": "no_model", "correct": False, "llm": None},
        },
        {"gold_text_answer": None, "text_answer": None},
    ]
    block = summarize_text_answers(records)
    assert block["n"] == 2 and block["answered"] == 1 and block["correct"] == 1 and block["judge"] == "llm"
    assert block["exact_correct"] == 0
    assert summarize_text_answers([{"gold_text_answer": None}]) is None
