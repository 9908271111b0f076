"""A run's trace as Server-Sent Events, step by step as the run writes it.

The trace file is the one source: the run appends and flushes a line per step, and this
reads the lines that are complete (a line still being written waits for its newline), parses
each through the typed trace models (``graphs.trace_schema``) and sends it with the step's
kind as the event name and its index as the event id, so a client that reconnects with
``Last-Event-ID`` gets only what it missed. Around the steps: ``status`` when the run's
status changes, ``awaiting_review`` (with the review request) when it pauses (the stream stays open and goes on
with the resumed run's steps), and ``result`` last, once the run is finished.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from graphs.trace_schema import parse_header, parse_step
from tools.errors import TraceError

from .store import FINISHED

POLL_S = 0.1


def _event(record: dict[str, Any], where: str) -> dict[str, Any]:
    if record.get("type") == "header":
        return {"event": "header", "id": "header", "data": parse_header(record, where).model_dump_json()}
    step = parse_step(record, where)
    return {"event": step.kind, "id": str(step.index), "data": step.model_dump_json()}


class TraceTail:
    """Complete lines appended to a file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[bytes]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self.partial + chunk
        *lines, self.partial = data.split(b"\n")
        return [line for line in lines if line.strip()]


async def run_events(
    run_id: str,
    trace_path: Path,
    load_run: Callable[[str], dict[str, Any] | None],
    *,
    last_event_id: str | None = None,
    is_disconnected: Callable[[], Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    skip_to = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    skip_header = last_event_id is not None
    tail = TraceTail(trace_path)
    status: str | None = None
    while True:
        run = await asyncio.to_thread(load_run, run_id)
        if run is None:
            return
        for line in tail.read():
            try:
                record = json.loads(line)
                event = _event(record, f"run {run_id}")
            except (json.JSONDecodeError, TraceError) as exc:
                yield {"event": "trace_error", "data": json.dumps({"message": str(exc)})}
                continue
            if event["id"] == "header":
                if skip_header:
                    continue
            elif skip_to is not None and int(event["id"]) <= skip_to:
                continue
            yield event
        if run["status"] != status:
            status = run["status"]
            yield {"event": "status", "data": json.dumps({"run_id": run_id, "status": status})}
            if status == "awaiting_review":
                yield {
                    "event": "awaiting_review",
                    "data": json.dumps({"run_id": run_id, "review_request": run.get("review_request")}),
                }
        if status in FINISHED:
            for line in tail.read():  # whatever the run wrote after the last look
                try:
                    yield _event(json.loads(line), f"run {run_id}")
                except (json.JSONDecodeError, TraceError):
                    continue
            yield {"event": "result", "data": json.dumps(result_view(run))}
            return
        if is_disconnected is not None and await is_disconnected():
            return
        await asyncio.sleep(POLL_S)


def result_view(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the API shows it: status and the answer's headline figures."""
    result = run.get("result") or None
    answer = None
    if result:
        answer = {
            k: result.get(k)
            for k in (
                "lat",
                "lon",
                "confidence",
                "radius_km",
                "country_code",
                "country",
                "region",
                "city",
                "reason",
                "summary",
            )
        }
    return {
        "id": run["id"],
        "image_id": run["image_id"],
        "status": run["status"],
        "result": answer,
        "error": run.get("error"),
        "created": run.get("created"),
        "started": run.get("started"),
        "finished": run.get("finished"),
        "online": bool(run.get("online")),
        "model": run.get("model"),
        "review": bool(run.get("review")),
        "rerun_of": run.get("rerun_of"),
    }
