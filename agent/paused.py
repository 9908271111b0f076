"""Runs paused for review, stored so that another process can finish them.

The graph's own state is in LangGraph's SQLite checkpointer (``reviews.sqlite`` in the
cache directory). What the checkpoint cannot hold is the run's live context: the
images, the run's settings, the policy and the trace so far. When a run pauses, those
are written here (``paused/<run_id>.json`` plus the input pixels, stored by SHA-256);
``Agent().resume(run_id, ...)`` rebuilds the context from them — images the run's
tools derived are re-registered from the trace, lazily — and resumes the graph.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphs.policy import policy_from_description
from graphs.trace import TraceRecorder, parse_trace_lines
from graphs.trace_schema import ImageStep
from tools.cache import default_cache_dir, writable_dir
from tools.errors import ConfigError
from tools.images import ImageRegistry, LoadedImage, load_image

if TYPE_CHECKING:
    from .agent import Agent
    from .location import Location
    from .session import RunSession

FORMAT = "geosleuth-paused-run"


def paused_dir(agent: Agent) -> Path | None:
    folder = writable_dir(agent.settings.cache_dir or default_cache_dir())
    if folder is None:
        return None
    target = folder / "paused"
    target.mkdir(parents=True, exist_ok=True)
    return target


def _record_path(agent: Agent, run_id: str) -> Path | None:
    folder = paused_dir(agent)
    if folder is None or not run_id.replace("-", "").replace("_", "").isalnum():
        return None
    return folder / f"{run_id}.json"


def store_paused(session: RunSession, request: dict[str, Any]) -> Path | None:
    """Write what resuming in another process needs; None when there is nowhere to write."""
    target = _record_path(session.agent, session.run_id)
    if target is None:
        return None
    images_dir = target.parent / "images"
    images_dir.mkdir(exist_ok=True)
    images = []
    for entry in session.context.tool_context.images.roots():
        stored = images_dir / f"{entry.sha256}.png"
        if not stored.exists():
            # a name of this writer's own: two runs of one photo may pause at the same moment
            partial = stored.with_name(f"{stored.name}.{os.getpid()}.{threading.get_ident()}.part")
            entry.image.save(partial, format="PNG")
            os.replace(partial, stored)
        images.append({"handle": entry.handle, "sha256": entry.sha256, "source": entry.source, "stored": stored.name})
    recorder = session.context.recorder
    record = {
        "format": FORMAT,
        "run_id": session.run_id,
        "request": session.request.to_json(),
        "policy": session.context.policy.describe(),
        "images": images,
        "trace_path": str(recorder.path.resolve()) if recorder.path else None,
        "records": None if recorder.path else list(recorder.records),
        "review_request": request,
    }
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, target)
    recorder.detach()
    return target


def forget_paused(agent: Agent, run_id: str) -> None:
    target = _record_path(agent, run_id)
    if target is not None and target.exists():
        target.unlink()


def list_paused(agent: Agent) -> list[dict[str, Any]]:
    """The runs waiting for a review decision, with what each asks."""
    folder = paused_dir(agent)
    if folder is None:
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        out.append({"run_id": record.get("run_id"), "review_request": record.get("review_request")})
    return out


def _load(agent: Agent, run_id: str) -> dict[str, Any]:
    target = _record_path(agent, run_id)
    if target is None or not target.exists():
        raise ConfigError(f"no paused run {run_id!r} to resume (it finished already, or never paused here)")
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"the stored pause of run {run_id} is unreadable: {exc}") from None
    if record.get("format") != FORMAT:
        raise ConfigError(f"{target} is not a stored paused run")
    return record


def _registry(folder: Path, record: dict[str, Any], records: list[dict[str, Any]]) -> ImageRegistry:
    registry = ImageRegistry()
    for info in record["images"]:
        loaded = load_image(folder / "images" / info["stored"])
        registry.add_loaded(
            LoadedImage(loaded.image, info["sha256"], info["source"], None, "RGB", loaded.image.size, None)
        )
    trace = parse_trace_lines([json.dumps(r) for r in records], f"paused run {record['run_id']}")
    for step in trace.steps:
        if isinstance(step, ImageStep) and step.parent is not None and step.handle not in registry:
            registry.add_recorded(
                step.handle, step.parent, step.operation, step.to_parent, (step.width, step.height), step.sha256
            )
    return registry


def resume_paused(agent: Agent, run_id: str, decision: Any = None, **fields: Any) -> Location:
    from .review import decision_payload, finish_review
    from .session import RunRequest, RunSession

    record = _load(agent, run_id)
    folder = paused_dir(agent)
    assert folder is not None
    trace_path = Path(record["trace_path"]) if record.get("trace_path") else None
    if trace_path is not None:
        records = [json.loads(line) for line in trace_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        recorder = TraceRecorder(trace_path, run_id, append=True, records=records)
    else:
        records = list(record.get("records") or [])
        recorder = TraceRecorder(None, run_id, records=records)
    request = RunRequest.from_json(record["request"], strategy=agent.strategy)
    try:
        policy = policy_from_description(record["policy"], model=getattr(agent.policy, "model", None))
    except ValueError:
        policy = agent.policy
    session = RunSession.prepare(
        agent,
        None,
        request=request,
        policy=policy,
        registry=_registry(folder, record, records),
        recorder=recorder,
        review=True,
    )
    return finish_review(session, decision_payload(decision, fields))
