"""GeoBrowse Level 2: the answer to the question, judged as GeoBrowse judges it.

A Level-2 item carries ``gold_text_answer`` ("3%", "AC Milan", "72") and the expert's
browsing steps ``text_solution``. The evaluator *asks* such an item (``Agent.ask``:
locate, then research) instead of only locating it; this module turns the run's
answer into a result record's ``text_answer`` and the summary's ``text_answer`` block:

* offline, a normalised exact match (case, accents, punctuation, spacing, articles
  and a trailing unit's spacing ignored; numbers compared as numbers: "3 %" is "3%",
  "72.0" is "72");
* with ``--judge``, GeoBrowse's BrowseComp-style LLM judge (extract the final answer,
  compare with the gold, yes/no), whose verdict then decides ``correct`` (the exact
  match is kept beside it);
* the expert's ``text_solution`` steps scored like ``image_solution``'s: which steps the
  run's evidence covers (``evals.trajectory.step_coverage``).

An item the run could not answer (no model: "the follow-up needs a model") counts in
``n`` and not in ``answered``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from .items import EvalItem

TEXT_JUDGE_PROMPT = """You are grading the answer to a question about a photo.

Question:
{question}

Gold answer: {gold}

Response to grade:
{response}

First extract the final answer from the response. Then decide whether it matches the gold answer \
(the same value or entity; small differences of wording, formatting or units do not matter). \
Reply with JSON only:
{{"extracted_answer": "...", "correct": "yes" or "no", "reason": "..."}}"""

_ARTICLES = re.compile(r"\b(the|a|an)\b")
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")


def gold_text(item: EvalItem) -> str | None:
    """The item's gold text answer (GeoBrowse Level 2), if it has one."""
    value = item.extra.get("gold_text_answer")
    return str(value) if value not in (None, "") else None


def normalize_answer(text: str) -> str:
    """A text answer reduced to what an exact match should compare."""
    folded = unicodedata.normalize("NFKD", str(text)).casefold()
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"[\"'`“”‘’«»()\[\]{}!?;:]", " ", folded)
    folded = _ARTICLES.sub(" ", folded)
    folded = re.sub(r"\s*%", "%", folded)
    folded = re.sub(r"(?<=\d),(?=\d{3}\b)", "", folded)  # 1,000 -> 1000
    folded = folded.strip(" .,")
    return " ".join(folded.split())


def _number(text: str) -> float | None:
    core = text.rstrip("%").strip()
    if not _NUMBER.match(core):
        return None
    return float(core.replace(",", "."))


def exact_match(predicted: str | None, gold: str) -> bool:
    """Normalised exact match; numbers as numbers (a percent sign must agree)."""
    if predicted is None:
        return False
    a, b = normalize_answer(predicted), normalize_answer(gold)
    if a == b:
        return True
    x, y = _number(a), _number(b)
    return x is not None and y is not None and a.endswith("%") == b.endswith("%") and abs(x - y) < 1e-9


def llm_text_judge(model: Any, question: str | None, gold: str, response: str) -> dict[str, Any]:
    """GeoBrowse's BrowseComp-style verdict from a chat model; failures give ``correct=None``."""
    from .judge import _verdict

    prompt = TEXT_JUDGE_PROMPT.format(question=question or "", gold=gold, response=response)
    try:
        reply = model.invoke(prompt, temperature=0.0)
    except Exception as exc:  # noqa: BLE001 - a failing judge leaves the item unjudged
        return {"correct": None, "extracted_answer": "", "reason": f"judge failed: {type(exc).__name__}: {exc}"}
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    verdict = _verdict(text)
    return {"correct": verdict.correct, "extracted_answer": verdict.extracted_answer, "reason": verdict.reason}


def text_answer_record(
    item: EvalItem, answer: Any, *, judge_model: Any = None, coverage_method: str = "lexical"
) -> dict[str, Any]:
    """A result record's ``text_answer``: gold, prediction, verdicts, steps, coverage."""
    gold = gold_text(item) or ""
    predicted = answer.text
    record: dict[str, Any] = {
        "gold": gold,
        "predicted": predicted,
        "status": answer.status,
        "note": answer.note,
        "exact": exact_match(predicted, gold),
        "llm": None,
        "evidence": [e.id for e in answer.evidence],
        "research_steps": len(answer.steps),
        "coverage": None,
    }
    record["correct"] = record["exact"]
    if judge_model is not None and predicted is not None:
        response = f"Final answer: {predicted}. {answer.reasoning}".strip()
        record["llm"] = llm_text_judge(judge_model, item.prompt, gold, response)
        record["correct"] = record["llm"]["correct"]
    solution = item.extra.get("text_solution")
    if solution:
        from .trajectory import step_coverage

        coverage = step_coverage(
            str(solution),
            answer.location.evidence,
            summary=f"{predicted}. {answer.reasoning}" if predicted else None,
            method=coverage_method,  # type: ignore[arg-type]
        )
        record["coverage"] = coverage.to_dict()
    return record


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarize_text_answers(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The summary's ``text_answer`` block (None when no record has a gold text answer)."""
    rows = [r.get("text_answer") for r in records if r.get("gold_text_answer") is not None]
    if not rows:
        return None
    n = len(rows)
    answered = sum(1 for row in rows if isinstance(row, Mapping) and row.get("predicted") is not None)
    correct = sum(1 for row in rows if isinstance(row, Mapping) and row.get("correct") is True)
    exact = sum(1 for row in rows if isinstance(row, Mapping) and row.get("exact") is True)
    judged = [row for row in rows if isinstance(row, Mapping) and isinstance(row.get("llm"), Mapping)]
    block: dict[str, Any] = {
        "n": n,
        "answered": answered,
        "correct": correct,
        "accuracy": _share(correct, n),
        "judge": "llm" if judged else "exact",
        "exact_correct": exact,
    }
    statuses: dict[str, int] = {}
    for row in rows:
        status = row.get("status", "error") if isinstance(row, Mapping) else "error"
        statuses[status] = statuses.get(status, 0) + 1
    block["status"] = statuses
    covered = [
        row["coverage"]["share"]
        for row in rows
        if isinstance(row, Mapping)
        and isinstance(row.get("coverage"), Mapping)
        and row["coverage"].get("share") is not None
    ]
    block["text_step_coverage"] = round(sum(covered) / len(covered), 4) if covered else None
    return block
