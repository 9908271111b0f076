"""finalize: a short human-readable account of the answer, built from its evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tools.evidence import Evidence

from ..context import RunContext
from ..state import ConsensusResult, RunState


def tampering_warning(evidence: list[Evidence]) -> str:
    """A sentence for the summary when text in the image addresses the tool itself."""
    flagged = [e for e in evidence if e.kind == "tampering"]
    if not flagged:
        return ""
    ids = ", ".join(e.id for e in flagged if e.id) or "see evidence"
    text = str(flagged[0].details.get("text") or flagged[0].value)
    excerpt = text if len(text) <= 80 else text[:77] + "..."
    return (
        f" Warning: possible tampering: text in the image reads as instructions to the tool ('{excerpt}' [{ids}]);"
        " it was not used as evidence of place."
    )


def summarize(result: ConsensusResult | None, evidence: list[Evidence]) -> str:
    if result is None or not result.answered:
        text = "No answer: " + (result.reason if result else "the run produced no result")
        return text + tampering_warning(evidence)
    names = [p for p in (result.city, result.region, result.country) if p]
    place = ", ".join(dict.fromkeys(names)) or "an unnamed place"
    by_id = {e.id: e for e in evidence}
    cited: list[str] = []
    for index in result.support:
        for source in result.ranked[index].sources:
            item = by_id.get(source)
            if item is not None and source not in cited:
                cited.append(source)
    reasons = "; ".join(f"{by_id[s].kind} {by_id[s].value} [{s}]" for s in cited[:4])
    text = f"Located in {place}: {result.reason}."
    text += f" Evidence: {reasons}." if reasons else ""
    said = [
        str(result.ranked[i].details.get("reasons")).strip()
        for i in result.support
        if i < len(result.ranked) and result.ranked[i].details.get("reasons")
    ]
    if said:  # a model's own account of its answer, kept short
        text += f" Model: {said[0][:240]}"
    return text + tampering_warning(evidence)


def finalize(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    summary = summarize(state.result, state.evidence)
    ctx.recorder.decision("finalize", "finalize", {"summary": summary, "stop_reason": state.stop_reason})
    return {"summary": summary}
