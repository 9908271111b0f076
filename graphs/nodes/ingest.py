"""ingest: the user's hint and each image's metadata become the first evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tools.text_tool import place_index

from ..context import RunContext
from ..state import RunState
from .common import record_evidence, run_tool


def ingest(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    found = list(ctx.hint.to_evidence(place_index(ctx.tool_context))) if ctx.hint else []
    observations = []
    counts = dict(state.tool_counts)
    if ctx.use_metadata and "read_metadata" in ctx.tools:
        for root in ctx.tool_context.images.roots():
            observation = run_tool(ctx, "ingest", "read_metadata", {"image": root.handle}, f"ingest-{root.handle}")
            observations.append(observation)
            found.extend(observation.evidence)
            kind = ctx.tool_kind("read_metadata")
            counts[kind] = counts.get(kind, 0) + 1
    ctx.recorder.decision(
        "ingest",
        "ingest",
        {"images": [e.info() for e in ctx.tool_context.images.roots()], "use_metadata": ctx.use_metadata},
    )
    evidence = record_evidence(ctx, "ingest", state.evidence, found)
    return {"evidence": evidence, "observations": observations, "tool_counts": counts}
