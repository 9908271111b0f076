"""An LLM judge in GeoBrowse's style, for when a model is configured (optional).

The offline judge (:func:`evals.gold.judge`) compares places; this one asks a model the
way GeoBrowse's evaluation does: extract the final answer from the response, compare it
with the gold answer at the granularity the question asks for, and say yes or no with a
reason. Both judgements are kept side by side in the results, so a disagreement between
them is visible rather than hidden.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

JUDGE_PROMPT = """You are grading a geolocation answer.

Question asked about the image:
{question}

Gold answer: {gold}

Response to grade:
{response}

First extract the final answer from the response. Then decide whether it identifies the same \
place as the gold answer at the granularity the question asks for (a more specific answer inside \
the gold place is correct; a different or coarser place is not). Reply with JSON only:
{{"extracted_answer": "...", "correct": "yes" or "no", "reason": "..."}}"""


class LLMJudgement(BaseModel):
    correct: bool | None
    extracted_answer: str = ""
    reason: str = ""
    raw: str = ""


def response_text(prediction: dict[str, Any]) -> str:
    """The run's answer written out as a response for the judge to read."""
    if prediction.get("lat") is None:
        return "No answer: " + str(prediction.get("reason") or "")
    place = ", ".join(
        str(p) for p in (prediction.get("city"), prediction.get("region"), prediction.get("country")) if p
    )
    return (
        f"Final answer: {place or 'unnamed place'} ({prediction['lat']:.5f}, {prediction['lon']:.5f}), "
        f"confidence {prediction.get('confidence', 0):.2f}. {prediction.get('summary') or ''}"
    ).strip()


def _verdict(text: str) -> LLMJudgement:
    for match in reversed(list(re.finditer(r"\{.*?\}", text, re.DOTALL))):
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        said = str(data.get("correct", "")).strip().lower()
        correct = (
            True if said in ("yes", "true", "correct") else False if said in ("no", "false", "incorrect") else None
        )
        return LLMJudgement(
            correct=correct,
            extracted_answer=str(data.get("extracted_answer", "")),
            reason=str(data.get("reason", "")),
            raw=text,
        )
    said = re.search(r"\b(yes|no)\b", text, re.IGNORECASE)
    correct = None if said is None else said.group(1).lower() == "yes"
    return LLMJudgement(correct=correct, reason="verdict read from free text" if said else "no verdict", raw=text)


def llm_judge(model: Any, question: str | None, gold: str, prediction: dict[str, Any]) -> LLMJudgement:
    """Ask a chat model for a GeoBrowse-style verdict; failures give ``correct=None``."""
    prompt = JUDGE_PROMPT.format(
        question=question or "Where was this photo taken?", gold=gold, response=response_text(prediction)
    )
    try:
        reply = model.invoke(prompt, temperature=0.0)
    except Exception as exc:  # noqa: BLE001 - a failing judge leaves the item unjudged, not the run broken
        return LLMJudgement(correct=None, reason=f"judge failed: {type(exc).__name__}: {exc}")
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    return _verdict(text)
