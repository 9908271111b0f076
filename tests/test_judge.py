"""The optional LLM judge: GeoBrowse-style verdicts from a model, kept beside the offline judgement."""

import json
import shutil
from pathlib import Path

from langchain_core.messages import AIMessage
from scripted_model import ScriptedChatModel

from evals.judge import llm_judge, response_text
from evals.openai_stub import OpenAIStubServer, StubReply
from evals.runner import EvalConfig, run_eval

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"
PREDICTION = {"lat": 38.725, "lon": -9.15, "city": "Lisbon", "country": "Portugal", "confidence": 0.6, "summary": ""}


def test_verdicts_are_read_from_json_or_free_text():
    said = []

    def judge(messages, tools, kwargs):
        said.append(messages[-1].content)
        return AIMessage(
            content='Sure. {"extracted_answer": "Lisbon", "correct": "yes", "reason": "Lisbon is in Portugal"}'
        )

    verdict = llm_judge(ScriptedChatModel(respond=judge), "Which country?", "Portugal", PREDICTION)
    assert verdict.correct is True and verdict.extracted_answer == "Lisbon"
    assert "Gold answer: Portugal" in said[0] and "Final answer: Lisbon, Portugal" in said[0]
    free = llm_judge(ScriptedChatModel(respond=lambda m, t, k: "No, that is Spain."), None, "Spain", PREDICTION)
    assert free.correct is False
    broken = llm_judge(ScriptedChatModel(respond=lambda m, t, k: 1 / 0), None, "Spain", PREDICTION)
    assert broken.correct is None and "judge failed" in broken.reason
    assert response_text({"lat": None, "reason": "no evidence"}) == "No answer: no evidence"


def test_eval_with_a_judge_model_served_locally(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "street.jpg")
    rows = [
        {
            "question_id": "pt",
            "image": "street.jpg",
            "prompt": "Which country is this?",
            "gold_image_answer": "Portugal",
        },
        {"question_id": "es", "image": "street.jpg", "prompt": "Which country is this?", "gold_image_answer": "Spain"},
    ]
    dataset = tmp_path / "level1.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def grade(request):
        prompt = request["messages"][-1]["content"]
        right = "Gold answer: Portugal" in prompt and "Portugal" in prompt.split("Response to grade:")[1]
        verdict = {"extracted_answer": "Lisbon", "correct": "yes" if right else "no", "reason": "compared"}
        return StubReply(content=json.dumps(verdict))

    with OpenAIStubServer(grade) as server:
        config = EvalConfig(out=tmp_path / "out", judge=f"openai:judge@{server.base_url}")
        outcome = run_eval(dataset, config, progress=False)
    by_id = {r["id"]: r for r in outcome.records}
    assert by_id["pt"]["llm_judgement"]["correct"] is True and by_id["es"]["llm_judgement"]["correct"] is False
    llm = outcome.summary["llm_judged"]
    assert llm == {"n": 2, "correct": 1, "undecided": 0, "accuracy": 0.5, "agrees_with_offline": 2}
    assert "LLM-judged accuracy (GeoBrowse style) | 50.0% (1/2)" in (tmp_path / "out" / "report.md").read_text()
