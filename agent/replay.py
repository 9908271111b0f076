"""``Agent.replay``: re-derive a recorded run from its trace, or a counterfactual of it.

The trace header holds what the run was given (images with their hashes, the policy's
description, strategy, budget, hint, question, metadata use); the steps hold every tool
observation, image registration and model reply. Replay is an ordinary run session
whose tools and model are replay stand-ins (:mod:`graphs.replay`), so it needs no model,
no network and no OCR — only the image files, hashed once — and yields the same
Location. Changing ``strategy`` or lowering ``samples`` re-aggregates the recorded
evidence and proposals under other settings.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphs.budget import ReplayClock
from graphs.network import NetworkPolicy
from graphs.policy import Policy, policy_from_description
from graphs.replay import ReplayChatModel, TraceReplay, replay_tools
from graphs.trace import Trace, read_trace
from tools.errors import TraceError
from tools.images import ImageRegistry, load_image

from .location import Location
from .session import RunRequest, RunSession

if TYPE_CHECKING:
    from .agent import Agent


def _images(trace: Trace, given: Sequence[Any] | None) -> list[Any]:
    if given is not None:
        return list(given)
    sources = []
    for info in trace.header.images:
        source = str(info.get("path") or info.get("source") or "")
        path = Path(source)
        if source.startswith("<") or not path.is_file():
            raise TraceError(
                f"the trace's image {info.get('handle')} ({source or 'no source'}) is not a file here: "
                "pass the images to replay(images=...)"
            )
        sources.append(path)
    return sources


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's hash, once per (path, size, mtime): replaying many runs of one photo
    hashes it once."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_hashes(trace: Trace, images: list[Any], max_pixels: int) -> None:
    recorded = [info.get("sha256") for info in trace.header.images]
    if len(recorded) != len(images):
        raise TraceError(f"the trace has {len(recorded)} image(s); {len(images)} given")
    for number, (expected, source) in enumerate(zip(recorded, images)):
        if isinstance(source, (str, Path)) and Path(source).is_file():
            stat = os.stat(source)
            actual = _file_sha256(str(Path(source).resolve()), stat.st_size, stat.st_mtime_ns)
        else:
            actual = load_image(source, max_pixels=max_pixels).sha256
        if actual != expected:
            raise TraceError(f"image {number} is not the image the trace was recorded on (sha256 differs)")


def _lazy_registry(agent: Agent, trace: Trace, sources: list[Any]) -> ImageRegistry | None:
    """The inputs registered from their headers (hashes already checked): a replay that
    never looks at the pixels never decodes them. None when an input is not a file."""
    if not all(isinstance(s, (str, Path)) for s in sources):
        return None
    registry = ImageRegistry()
    for source, info in zip(sources, trace.header.images):
        registry.add_file_lazily(
            source, info["sha256"], max_pixels=agent.max_image_pixels, max_bytes=agent.max_image_bytes
        )
    return registry


def _policy(agent: Agent, trace: Trace, replay: TraceReplay, samples: int | None) -> Policy:
    from graphs.policies.model import messages_digest

    described = trace.header.policy or {}
    live = getattr(agent.policy, "model", None) if not replay.strict else None
    model = ReplayChatModel(replay=replay, live=live, digest_of=messages_digest)
    try:
        return policy_from_description(described, model=model, samples=samples)
    except ValueError as exc:
        raise TraceError(f"cannot replay this run's policy: {exc}") from None


def _answers_from_trace_alone(policy: Policy) -> bool:
    """True when no model call of this replay can go live (its tools may, in lenient
    replay, but they run in ``act``, one task at a time): nothing then waits on I/O in
    parallel, so the proposals run inline."""
    model = getattr(policy, "model", None)
    return model is None or (isinstance(model, ReplayChatModel) and model.live is None)


def _request(agent: Agent, trace: Trace, strategy: str | None) -> RunRequest:
    chosen = agent.request(strategy=strategy or trace.config.get("strategy")).strategy  # a counterfactual wins
    return RunRequest.from_json({**trace.config, "strategy": chosen}, strategy=chosen)


def replay_run(
    agent: Agent,
    trace: str | Path | Trace,
    *,
    strict: bool = True,
    strategy: str | None = None,
    samples: int | None = None,
    images: Sequence[Any] | None = None,
    trace_out: str | Path | None = None,
    policy: Policy | None = None,
    verify_pixels: bool = False,
) -> Location:
    """See :meth:`agent.Agent.replay`."""
    parsed = trace if isinstance(trace, Trace) else read_trace(trace)
    sources = _images(parsed, images)
    _check_hashes(parsed, sources, agent.max_image_pixels)
    replay = TraceReplay(parsed, strict=strict, verify_pixels=verify_pixels, owns_trace=parsed is not trace)
    request = _request(agent, parsed, strategy)
    recorded_kinds = parsed.header.tool_kinds()
    recorded_online = {t["name"]: bool(t.get("online")) for t in parsed.header.tools if "name" in t}
    recorded_network = parsed.config.get("network") or {}
    network = NetworkPolicy.coerce(
        recorded_network.get("services") or bool(recorded_network.get("online")),
        bool(recorded_network.get("allow_image_upload")),
    )
    session = RunSession.prepare(
        agent,
        sources if len(sources) > 1 else sources[0],
        registry=_lazy_registry(agent, parsed, sources),
        request=request,
        trace=trace_out,
        policy=policy or _policy(agent, parsed, replay, samples),
        wrap_tools=lambda live, registry, kinds: replay_tools(
            replay, live, registry, {**kinds, **recorded_kinds}, recorded_online
        ),
        network=network,
        clock=ReplayClock(request.budget.max_seconds, replay.clock_checks),
        review_decision=replay.review(),
        header_extra={"replay_of": parsed.run_id, "strict": strict},
    )
    session.inline_tasks = _answers_from_trace_alone(session.context.policy)
    return session.run()
