"""Tool use of one run: calls per tool and per tool kind, errors, model calls.

The kind of each call comes from the trace itself: every v2 tool-call step records its
``tool_kind``, and the header lists the run's tools with their kinds (v1 traces get both
from the upgrade on read). Nothing here asks which tool classes happen to be loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphs.trace import Trace, read_trace, trace_from_records
from graphs.trace_schema import ModelCallStep, Step, ToolCallStep, parse_step


def tool_kinds(trace: Trace) -> dict[str, str]:
    """Tool name -> kind ("read_text" -> "ocr") as the run recorded them: the header's tool
    list, then the kind each call recorded (a tool the header does not list)."""
    kinds = dict(trace.header.tool_kinds())
    for step in trace.tool_calls():
        if step.tool_kind:
            kinds.setdefault(step.name, step.tool_kind)
    return kinds


def _steps(trace: Trace | Sequence[Any] | str | Path) -> tuple[list[Step], dict[str, str]]:
    """The steps of a run and the tool kinds its header lists."""
    if isinstance(trace, (str, Path)):
        trace = read_trace(trace)
    if isinstance(trace, Trace):
        return trace.steps, tool_kinds(trace)
    items = list(trace)
    if items and isinstance(items[0], Mapping) and items[0].get("type") == "header":
        parsed = trace_from_records([dict(r) for r in items], "<records>")
        return parsed.steps, tool_kinds(parsed)
    steps = [s if isinstance(s, Step) else parse_step(s, "<steps>") for s in items]
    return steps, {}


def tool_counts(
    trace: Trace | Sequence[Mapping[str, Any]] | str | Path, kinds: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Tool calls of one run: ``total``, ``errors`` (calls that failed or were refused by
    the budget), ``model_calls``, one ``tool:<name>`` key per tool and one ``kind:<kind>``
    key per tool kind (image, ocr, text, search, osm, metadata; "other" when the trace
    does not say).

    ``trace`` is a parsed :class:`graphs.trace.Trace`, its steps (typed, or v2 step
    records), the raw records of one (as ``Location.trace`` keeps them), or a trace file
    path of any format version.
    ``kinds`` overrides the kinds the trace records.
    """
    steps, recorded = _steps(trace)
    counts: Counter[str] = Counter({"total": 0, "errors": 0, "model_calls": 0})
    for step in steps:
        if isinstance(step, ModelCallStep):
            counts["model_calls"] += 1
        if not isinstance(step, ToolCallStep):
            continue
        counts["total"] += 1
        counts[f"tool:{step.name}"] += 1
        kind = (kinds or {}).get(step.name) or step.tool_kind or recorded.get(step.name) or "other"
        counts[f"kind:{kind}"] += 1
        if step.error:
            counts["errors"] += 1
    return dict(counts)
