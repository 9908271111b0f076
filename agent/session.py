"""One run session: what ``locate``, ``alocate``, ``replay``, review and ``resume`` share.

A run goes prepare → invoke (or resume a paused graph) → finish (a ``Location``) or fail
(a typed error, the trace closed with it). Every entry point builds a :class:`RunSession`
and calls these steps, so there is one place where images are loaded, tools built and
checked, the trace opened, the graph invoked and the result assembled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from graphs.budget import Budget, Clock
from graphs.context import RunContext
from graphs.graph import recursion_limit
from graphs.image_journal import ImageJournal
from graphs.inline_tasks import inline_config
from graphs.network import NetworkPolicy
from graphs.policy import Policy
from graphs.state import ConsensusResult, RunState
from graphs.trace import TraceRecorder, new_run_id
from graphs.trace_names import create_trace_file
from tools.base import ToolContext
from tools.errors import ConfigError, GeoSleuthError, RunError, UnsupportedInputError
from tools.hints import Hint
from tools.images import ImageRegistry, load_image
from tools.net import EgressRecord
from tools.redact import redact

from .location import Location

if TYPE_CHECKING:
    from .agent import Agent

ImageInput = Any  # str | PathLike | bytes | BinaryIO | PIL.Image | np.ndarray
ToolWrapper = Callable[[dict[str, Any], ImageRegistry, dict[str, str]], dict[str, Any]]


def as_image_list(images: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    """One image, or several views of one place given as a list or tuple."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise UnsupportedInputError("no images given: pass a path, bytes, an image, or a non-empty list of them")
        return list(images)
    if isinstance(images, (set, frozenset, dict)) or (
        hasattr(images, "__iter__")
        and not isinstance(images, (str, bytes, bytearray, memoryview, np.ndarray, Path))
        and not hasattr(images, "read")
        and not isinstance(images, Image.Image)
    ):
        raise UnsupportedInputError(
            f"cannot locate an object of type {type(images).__name__}: pass one image or a list of images of one place"
        )
    return [images]


def final_state(out: Any) -> dict[str, Any]:
    """The graph's final state as a dict, with ``__interrupt__`` when it paused for review.

    Runs invoke LangGraph's v2 output (the state plus its interrupts) rather than v1's,
    which streams every superstep's updates as well as its values only to find them."""
    value = out.value
    state = dict(value) if isinstance(value, Mapping) else dict(vars(value))
    if out.interrupts:
        state["__interrupt__"] = list(out.interrupts)
    return state


@dataclass
class RunRequest:
    """What a run was asked to do, in a form that can be stored and asked again."""

    use_metadata: bool = True
    hint: Hint | None = None
    budget: Budget = field(default_factory=Budget)
    question: str | None = None
    strategy: str = "cluster"
    disabled_kinds: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, saved: Mapping[str, Any], *, strategy: str) -> RunRequest:
        """A request as :meth:`to_json` (or a trace header's config) recorded it;
        ``strategy`` stands in where none was recorded."""
        return cls(
            use_metadata=bool(saved.get("use_metadata", True)),
            hint=Hint.model_validate(saved["hint"]) if saved.get("hint") else None,
            budget=Budget.coerce(saved.get("budget")),
            question=saved.get("question"),
            strategy=saved.get("strategy") or strategy,
            disabled_kinds=frozenset(saved.get("disabled_kinds") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "use_metadata": self.use_metadata,
            "hint": self.hint.model_dump(mode="json") if self.hint else None,
            "budget": self.budget.model_dump(),
            "question": self.question,
            "strategy": self.strategy,
            "disabled_kinds": sorted(self.disabled_kinds),
        }


def _trace_target(
    agent: Agent, trace: str | Path | None, sources: list[Any], overwrite: bool
) -> tuple[Path | None, bool]:
    """Where the run's trace goes, and whether that file may be overwritten. An explicit
    path is used as given (never an input image); a trace folder gets a new file named
    after the image with a short unique suffix (``lisbon-street-3f9a1c.jsonl``)."""
    if trace is not None:
        target = Path(trace)
        inputs = {Path(s).resolve() for s in sources if isinstance(s, (str, Path)) and Path(s).exists()}
        if target.exists() and target.resolve() in inputs:
            raise ConfigError(f"refusing to write the trace over the input image {target}")
        return target, overwrite
    if agent.trace_dir is not None:
        return create_trace_file(agent.trace_dir, sources[0] if sources else "run"), True  # made empty just now
    return None, False


def remote_model_server(policy: Policy) -> str | None:
    """The host of a model server off this machine, if the policy talks to one: its calls
    carry the photo and what was read, so they belong in the egress record."""
    from urllib.parse import urlsplit

    described = policy.describe().get("model") if hasattr(policy, "describe") else None
    url = described.get("base_url") if isinstance(described, dict) else None
    host = urlsplit(str(url)).hostname if url else None
    if not host or host in ("localhost", "::1") or host.startswith("127."):
        return None
    return host


class RunSession:
    """A prepared run: its context (tools, images, recorder, budget) and initial state."""

    def __init__(self, agent: Agent, context: RunContext, state: RunState, request: RunRequest) -> None:
        self.agent = agent
        self.context = context
        self.state = state
        self.request = request
        self.started = time.perf_counter()
        self.egress: list[EgressRecord] = []
        #: Run a superstep's parallel tasks in this thread (:mod:`graphs.inline_tasks`):
        #: set for replays whose every answer comes from the trace.
        self.inline_tasks = False

    # ------------------------------------------------------------------ prepare
    @classmethod
    def prepare(
        cls,
        agent: Agent,
        images: ImageInput | Sequence[ImageInput],
        *,
        request: RunRequest,
        trace: str | Path | None = None,
        overwrite_trace: bool = False,
        policy: Policy | None = None,
        wrap_tools: ToolWrapper | None = None,
        clock: Clock | None = None,
        review: bool = False,
        review_decision: Any = None,
        header_extra: Mapping[str, Any] | None = None,
        registry: ImageRegistry | None = None,
        recorder: TraceRecorder | None = None,
        network: NetworkPolicy | None = None,
    ) -> RunSession:
        network = network or agent.network
        policy = policy or agent.policy
        if registry is None:
            sources = as_image_list(images)
            registry = ImageRegistry()
            for source in sources:
                registry.add_loaded(
                    load_image(source, max_pixels=agent.max_image_pixels, max_bytes=agent.max_image_bytes)
                )
        else:
            sources = as_image_list(images) if images is not None else []
        tool_context = ToolContext(
            images=registry,
            resources=agent.resources,
            cache_dir=agent.settings.cache_dir,
            offline=not network.online,
            settings=agent.run_tool_settings(),
            chat_model=getattr(policy, "model", None),
        )
        if recorder is None:
            target, overwrite = _trace_target(agent, trace, sources, overwrite_trace)
            recorder = TraceRecorder(target, new_run_id(), overwrite=overwrite)
            fresh = True
        else:
            fresh = False
        live_tools = agent.tool_registry.build(
            tool_context, use_metadata=request.use_metadata, disabled_kinds=request.disabled_kinds
        )
        kinds = {name: str(getattr(tool, "kind", "other")) for name, tool in live_tools.items()}
        tools = wrap_tools(live_tools, registry, kinds) if wrap_tools is not None else live_tools
        kinds = {**kinds, **{name: str(getattr(tool, "kind", "other")) for name, tool in tools.items()}}
        journal = ImageJournal(recorder)
        egress: list[EgressRecord] = []

        def left_the_machine(record: EgressRecord) -> None:
            egress.append(record)
            recorder.egress(record)

        tool_context.egress = left_the_machine
        context = RunContext(
            policy=policy,
            tools=tools,
            tool_context=tool_context,
            recorder=recorder,
            gazetteer=agent.gazetteer,
            budget=request.budget,
            clock=clock,
            strategy=request.strategy,
            use_metadata=request.use_metadata,
            hint=request.hint,
            review=review,
            review_decision=review_decision,
            journal=journal,
            kinds=kinds,
            network=network,
            model_server=remote_model_server(policy),
        )
        infos = [entry.info() for entry in registry.roots()]
        if fresh:
            recorder.header(
                images=infos,
                config=redact({**request.to_json(), "network": network.describe(), **dict(header_extra or {})}),
                policy=redact(policy.describe()),
                tools=[
                    {"name": name, "kind": kinds.get(name, "other"), "online": bool(getattr(tool, "online", False))}
                    for name, tool in tools.items()
                ],
            )
            for entry in registry.roots():
                journal(entry)
            journal.flush("ingest", None)
        registry.listen(journal)
        session = cls(agent, context, RunState(question=request.question, images=infos), request)
        session.egress = egress
        return session

    # ------------------------------------------------------------------ run
    @property
    def run_id(self) -> str:
        return self.context.recorder.run_id

    def config(self, *, thread: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = {"recursion_limit": recursion_limit(self.context.budget.max_steps)}
        configurable: dict[str, Any] = inline_config() if self.inline_tasks else {}
        if thread:
            configurable["thread_id"] = self.run_id
        if configurable:
            config["configurable"] = configurable
        return config

    def invoke(self, graph: Any, graph_input: Any = None, *, thread: bool = False) -> Any:
        """Run (or resume) the graph; failures close the trace and surface as GeoSleuthErrors."""
        try:
            out = graph.invoke(
                self.state if graph_input is None else graph_input,
                context=self.context,
                config=self.config(thread=thread),
                version="v2",
            )
        except Exception as exc:
            raise self.fail(exc) from exc
        return final_state(out)

    async def ainvoke(self, graph: Any, graph_input: Any = None) -> Any:
        try:
            out = await graph.ainvoke(
                self.state if graph_input is None else graph_input,
                context=self.context,
                config=self.config(),
                version="v2",
            )
        except Exception as exc:
            raise self.fail(exc) from exc
        return final_state(out)

    def fail(self, exc: BaseException) -> GeoSleuthError:
        """Close the trace with the failure; a GeoSleuthError passes through as it is,
        anything else becomes a RunError naming the run and its trace."""
        message = f"{type(exc).__name__}: {exc}"
        recorder = self.context.recorder
        recorder.error("run", "run", message, type(exc).__name__)
        recorder.close("error", error=message, duration_s=time.perf_counter() - self.started)
        if isinstance(exc, GeoSleuthError):
            return exc
        where = f"; trace so far: {recorder.path}" if recorder.path else ""
        return RunError(f"run {recorder.run_id} failed: {message}{where}")

    def finish(self, final: dict[str, Any]) -> Location:
        context = self.context
        result: ConsensusResult = final.get("result") or ConsensusResult(strategy=context.strategy, reason="no result")
        recorder = context.recorder
        elapsed = time.perf_counter() - self.started
        location = Location(
            lat=result.lat,
            lon=result.lon,
            confidence=result.confidence if result.answered else 0.0,
            radius_km=result.radius_km,
            country_code=result.country_code,
            country=result.country,
            region=result.region,
            city=result.city,
            candidates=result.ranked,
            evidence=final.get("evidence", []),
            summary=final.get("summary", ""),
            reason=result.reason,
            strategy=result.strategy,
            run_id=recorder.run_id,
            images=[e.info() for e in context.tool_context.images.roots()],
            elapsed_s=round(elapsed, 4),
            trace_path=str(recorder.path) if recorder.path else None,
            online=context.network.online,
            egress=[*self.egress, *context.model_egress],
            text_answer=final.get("text_answer"),
        )
        clock = context.clock
        recorder.close(
            "ok",
            result=location.answer_dict(),
            duration_s=elapsed,
            meta={"clock_checks": clock.record()} if clock is not None and clock.record() else None,
        )
        if recorder.path is None:
            location.trace = list(recorder.records)
        return location

    def run(self) -> Location:
        return self.finish(self.invoke(self.agent.graph))
