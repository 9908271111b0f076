"""``Agent.replay``: re-derive a recorded run from its trace, or a counterfactual of it.

The trace header holds what the run was given (images with their hashes, policy and
its settings, strategy, budget, hint, question, metadata use); the steps hold every
tool observation and model reply. Replay rebuilds the run from these, answering calls
through :class:`graphs.replay.TraceReplay`, so it needs no model, no network and no
OCR — only the image files (for the pixel operations) — and yields the same Location.
Changing ``strategy`` or lowering ``samples`` re-aggregates the recorded evidence and
proposals under other settings.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphs.policies.heuristic import HeuristicPolicy
from graphs.policy import Policy
from graphs.replay import ReplayChatModel, TraceReplay
from graphs.trace import Trace, read_trace
from tools.errors import GeoSleuthError, TraceError
from tools.images import load_image

from .location import Location

if TYPE_CHECKING:
    from .agent import Agent


def _images(trace: Trace, given: Sequence[Any] | None) -> list[Any]:
    recorded = trace.header.get("images") or []
    if given is not None:
        return list(given)
    sources = []
    for info in recorded:
        source = str(info.get("path") or info.get("source") or "")
        path = Path(source)
        if source.startswith("<") or not path.is_file():
            raise TraceError(
                f"the trace's image {info.get('handle')} ({source or 'no source'}) is not a file here: "
                "pass the images to replay(images=...)"
            )
        sources.append(path)
    return sources


def _check_hashes(trace: Trace, images: list[Any], max_pixels: int) -> None:
    recorded = [info.get("sha256") for info in trace.header.get("images") or []]
    if len(recorded) != len(images):
        raise TraceError(f"the trace has {len(recorded)} image(s); {len(images)} given")
    for number, (expected, source) in enumerate(zip(recorded, images)):
        if isinstance(source, (str, Path)) and Path(source).is_file():
            actual = hashlib.sha256(Path(source).read_bytes()).hexdigest()  # what load_image hashes, undecoded
        else:
            actual = load_image(source, max_pixels=max_pixels).sha256
        if actual != expected:
            raise TraceError(f"image {number} is not the image the trace was recorded on (sha256 differs)")


def _policy(agent: Agent, trace: Trace, replay: TraceReplay, samples: int | None) -> Policy:
    described = (trace.header.get("config") or {}).get("policy") or {}
    name = described.get("name")
    if name == "heuristic":
        return HeuristicPolicy()
    if name == "model":
        from graphs.policies.model import ModelPolicy, ModelPolicySettings, messages_digest

        fields = set(ModelPolicySettings.__dataclass_fields__)
        settings = ModelPolicySettings(**{k: v for k, v in described.items() if k in fields})
        if samples is not None:
            settings = ModelPolicySettings(**{**settings.__dict__, "samples": samples})
        live = getattr(agent.policy, "model", None) if not replay.strict else None
        model = ReplayChatModel(replay=replay, live=live, digest_of=messages_digest)
        return ModelPolicy(model, settings)
    raise TraceError(f"cannot replay a run of the {name!r} policy: only heuristic and model runs replay")


def replay_run(
    agent: Agent,
    trace: str | Path | Trace,
    *,
    strict: bool = True,
    strategy: str | None = None,
    samples: int | None = None,
    images: Sequence[Any] | None = None,
    trace_out: str | Path | None = None,
) -> Location:
    """See :meth:`agent.Agent.replay`."""
    parsed = trace if isinstance(trace, Trace) else read_trace(trace)
    config = parsed.header.get("config") or {}
    sources = _images(parsed, images)
    _check_hashes(parsed, sources, agent.max_image_pixels)
    replay = TraceReplay(parsed, strict=strict)
    started = time.perf_counter()
    context, state = agent._prepare(
        sources if len(sources) > 1 else sources[0],
        use_metadata=bool(config.get("use_metadata", True)),
        hint=config.get("hint"),
        budget=config.get("budget"),
        question=config.get("question"),
        strategy=strategy or config.get("strategy"),
        trace=trace_out,
        policy=_policy(agent, parsed, replay, samples),
        replay=replay,
        disabled_kinds=frozenset(config.get("disabled_kinds") or ()),
    )
    try:
        final = agent.graph.invoke(state, context=context, config=agent._config(context))
    except Exception as exc:
        failure = agent._fail(context, exc)
        if failure is exc and isinstance(exc, GeoSleuthError):
            raise
        raise failure from exc
    return agent._finish(context, final, started)
