"""``Agent``: the Python entry point. One object serves many runs; heavy resources
(gazetteer, OCR models) load once, lazily, and are shared by concurrent runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from PIL import Image

from graphs.budget import Budget
from graphs.consensus import STRATEGIES
from graphs.context import RunContext
from graphs.graph import build_graph, recursion_limit
from graphs.policies.heuristic import HeuristicPolicy
from graphs.policy import Policy
from graphs.state import ConsensusResult, RunState
from graphs.trace import TraceRecorder
from tools.base import SharedResources, ToolContext
from tools.errors import ConfigError, GeoSleuthError, RunError, UnsupportedInputError
from tools.gazetteer import Gazetteer
from tools.hints import Hint
from tools.images import ImageRegistry, load_image
from tools.toolbox import build_toolbox

from .location import Location
from .settings import Settings

if TYPE_CHECKING:
    from .review import PendingReview

ImageInput = Any  # str | PathLike | bytes | BinaryIO | PIL.Image | np.ndarray


def _as_image_list(images: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    """One image, or several views of one place given as a list or tuple."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise UnsupportedInputError("no images given: pass a path, bytes, an image, or a non-empty list of them")
        return list(images)
    if isinstance(images, (set, frozenset, dict)) or (
        isinstance(images, Iterable)
        and not isinstance(images, (str, bytes, bytearray, memoryview, np.ndarray))
        and not hasattr(images, "read")
        and not isinstance(images, Image.Image)
    ):
        raise UnsupportedInputError(
            f"cannot locate an object of type {type(images).__name__}: pass one image or a list of images of one place"
        )
    return [images]


class Agent:
    """Locates images. ``Agent()`` uses the embedded heuristic playbook: no model, no network.

    Args:
        policy: a custom :class:`~graphs.policy.Policy` (default: the heuristic playbook).
        strategy: consensus strategy, one of ``cluster``, ``hierarchical``, ``best``.
        budget: default :class:`~graphs.budget.Budget` (or dict of its fields) for runs.
        trace_dir: write each run's trace to ``<trace_dir>/<run_id>.jsonl``; without it
            traces are kept in memory on the returned ``Location``.
        settings: explicit :class:`Settings`; otherwise read from ``GEOSLEUTH_*``.
        disable: tool kinds to leave out of every run ("ocr", "text", "search", "osm",
            "image"), for ablation studies.
        tool_settings: settings handed to the tools (service URLs such as ``searxng_url``
            and ``overpass_url``, ``net_*`` politeness settings, ...), over ``settings``.
        model: a LangChain chat model, or a spec string (``transformers:PATH_OR_ID``,
            ``openai:MODEL@URL``; see :mod:`agent.models.spec`): the run is then driven by
            :class:`~graphs.policies.model.ModelPolicy`. Default: ``GEOSLEUTH_MODEL``, else
            the heuristic playbook.
        model_options: backend options (``adapter``, ``device``, ``dtype``, ``api_key``,
            ``tool_protocol``, ...) and policy settings (``samples``, ``temperature``,
            ``max_rounds``, ``hybrid``), over the ``GEOSLEUTH_MODEL_*`` settings.
    """

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        strategy: str | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        trace_dir: str | Path | None = None,
        settings: Settings | None = None,
        max_image_pixels: int | None = None,
        disable: Iterable[str] = (),
        tool_settings: Mapping[str, Any] | None = None,
        model: Any = None,
        model_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.disabled_kinds = frozenset(disable)
        self.tool_settings = dict(tool_settings or {})
        self.strategy = self._check_strategy(strategy or self.settings.strategy)
        self.budget = Budget.coerce(budget)
        self.trace_dir = Path(trace_dir) if trace_dir is not None else self.settings.trace_dir
        self.max_image_pixels = max_image_pixels or self.settings.max_image_pixels
        self.policy = policy or self._default_policy(model, dict(model_options or {}))
        self.resources = SharedResources()
        self._graph: Any = None
        self._review_graph: Any = None
        self._review_lock = threading.Lock()

    def _default_policy(self, model: Any, options: dict[str, Any]) -> Policy:
        """The heuristic playbook, or a ModelPolicy when a model is given here or in settings."""
        model = model if model is not None else self.settings.model
        if model is None or model == "":
            return HeuristicPolicy()
        from graphs.policies.model import ModelPolicy, ModelPolicySettings

        from .models.spec import load_model

        backend_keys = set(self.settings.model_options())
        policy_keys = set(ModelPolicySettings.__dataclass_fields__)
        unknown = set(options) - backend_keys - policy_keys
        if unknown:
            raise ConfigError(f"unknown model option(s): {', '.join(sorted(unknown))}")
        backend = {**self.settings.model_options(), **{k: v for k, v in options.items() if k in backend_keys}}
        policy = {**self.settings.policy_options(), **{k: v for k, v in options.items() if k in policy_keys}}
        if policy["samples"] < 1:
            raise ConfigError("samples must be >= 1")
        return ModelPolicy(load_model(model, **backend), ModelPolicySettings(**policy))

    @staticmethod
    def _check_strategy(strategy: str) -> str:
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown consensus strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        return strategy

    @property
    def graph(self) -> Any:
        if self._graph is None:
            self._graph = build_graph()
        return self._graph

    @property
    def review_graph(self) -> Any:
        """The graph with a SQLite checkpointer, for runs that pause for human review."""
        with self._review_lock:
            if self._review_graph is None:
                from .review import review_checkpointer

                self._review_graph = build_graph(checkpointer=review_checkpointer(self.settings.cache_dir))
            return self._review_graph

    @property
    def gazetteer(self) -> Gazetteer:
        return self.resources.get("gazetteer", lambda: Gazetteer(self.settings.cache_dir))

    # ------------------------------------------------------------------ running
    def _prepare(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool,
        hint: Hint | str | Mapping[str, Any] | None,
        budget: Budget | Mapping[str, Any] | None,
        question: str | None,
        strategy: str | None,
        trace: str | Path | None,
        country: Any = None,
        bbox: Any = None,
        policy: Policy | None = None,
        replay: Any = None,
        disabled_kinds: frozenset[str] | None = None,
    ) -> tuple[RunContext, RunState]:
        sources = _as_image_list(images)
        policy = policy or self.policy
        disabled = self.disabled_kinds if disabled_kinds is None else disabled_kinds
        run_budget = Budget.coerce(budget, self.budget)
        run_strategy = self._check_strategy(strategy or self.strategy)
        run_hint = Hint.coerce(hint, country=country, bbox=bbox)
        registry = ImageRegistry()
        for source in sources:
            registry.add_loaded(load_image(source, max_pixels=self.max_image_pixels))
        tool_context = ToolContext(
            images=registry,
            resources=self.resources,
            cache_dir=self.settings.cache_dir,
            offline=self.settings.offline,
            settings={**self.settings.for_tools(), **self.tool_settings},
        )
        recorder = TraceRecorder(None)
        if trace is not None:
            recorder = TraceRecorder(Path(trace), recorder.run_id)
        elif self.trace_dir is not None:
            recorder = TraceRecorder(self.trace_dir / f"{recorder.run_id}.jsonl", recorder.run_id)
        context = RunContext(
            policy=policy,
            tools=build_toolbox(tool_context, use_metadata=use_metadata, disabled_kinds=disabled),
            tool_context=tool_context,
            recorder=recorder,
            gazetteer=self.gazetteer,
            budget=run_budget,
            strategy=run_strategy,
            use_metadata=use_metadata,
            hint=run_hint,
            replay=replay,
        )
        infos = [entry.info() for entry in registry.roots()]
        recorder.header(
            images=infos,
            config={
                "policy": policy.describe(),
                "strategy": run_strategy,
                "budget": run_budget.model_dump(),
                "use_metadata": use_metadata,
                "hint": run_hint.model_dump(mode="json") if run_hint else None,
                "question": question,
                "tools": sorted(context.tools),
                "disabled_kinds": sorted(disabled),
                **({"replay_of": replay.trace.header.get("run_id"), "strict": replay.strict} if replay else {}),
            },
        )
        return context, RunState(question=question, images=infos)

    def _finish(self, context: RunContext, final: dict[str, Any], started: float) -> Location:
        result: ConsensusResult = final.get("result") or ConsensusResult(strategy=context.strategy, reason="no result")
        recorder = context.recorder
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
            elapsed_s=round(time.perf_counter() - started, 4),
            trace_path=str(recorder.path) if recorder.path else None,
        )
        recorder.close("ok", result=location.model_dump(mode="json", exclude={"trace"}))
        if recorder.path is None:
            location.trace = list(recorder.records)
        return location

    @staticmethod
    def _config(context: RunContext) -> dict[str, Any]:
        return {"recursion_limit": recursion_limit(context.budget.max_steps)}

    @staticmethod
    def _fail(context: RunContext, exc: BaseException) -> GeoSleuthError:
        """Close the trace with the failure; a GeoSleuthError passes through as it is,
        anything else becomes a RunError naming the run and its trace."""
        message = f"{type(exc).__name__}: {exc}"
        context.recorder.step("run", "error", "run", output={"error": message})
        context.recorder.close("error", error=message)
        if isinstance(exc, GeoSleuthError):
            return exc
        where = f"; trace so far: {context.recorder.path}" if context.recorder.path else ""
        return RunError(f"run {context.recorder.run_id} failed: {message}{where}")

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        review: Literal[False] = False,
    ) -> Location: ...

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        review: Literal[True],
    ) -> PendingReview: ...

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        review: Callable[[dict[str, Any]], Any] | Mapping[str, Any],
    ) -> Location: ...

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        review: bool | Callable[[dict[str, Any]], Any] | Mapping[str, Any] | Any = False,
    ) -> Location | PendingReview: ...

    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        review: bool | Callable[[dict[str, Any]], Any] | Mapping[str, Any] | Any = False,
    ) -> Location | PendingReview:
        """Locate one image, or several images of one place (a list).

        Raises a ``GeoSleuthError`` subclass for unusable input (missing file, not an
        image, too large, bad hint/budget). Tool failures never raise: they are
        recorded and the run answers with what it has.

        ``review=True`` pauses the run before its answer is final and returns a
        :class:`~agent.review.PendingReview` (its ``request`` shows the candidates;
        ``resume(select=..., reject=..., hint=...)`` finishes it); ``review=<callable>``
        asks the callable for the decision and returns the Location; a decision given
        directly (a ``ReviewDecision`` or its dict) is applied as it is. The decision is
        recorded in the trace.
        """
        started = time.perf_counter()
        context, state = self._prepare(
            images,
            use_metadata=use_metadata,
            hint=hint,
            budget=budget,
            question=question,
            strategy=strategy,
            trace=trace,
            country=country,
            bbox=bbox,
        )
        if review:
            from .review import run_review

            context.review = True
            config = {**self._config(context), "configurable": {"thread_id": context.recorder.run_id}}
            return run_review(self, context, config, state, review, started)
        final = self._run_graph(self.graph, state, context, self._config(context))
        return self._finish(context, final, started)

    def _run_graph(self, graph: Any, graph_input: Any, context: RunContext, config: dict[str, Any]) -> Any:
        """Invoke a compiled graph; failures close the trace and surface as GeoSleuthErrors."""
        try:
            return graph.invoke(graph_input, context=context, config=config)
        except Exception as exc:
            failure = self._fail(context, exc)
            if failure is exc:
                raise
            raise failure from exc

    async def alocate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
    ) -> Location:
        """Async ``locate``: image decoding runs in a worker thread, the graph with ``ainvoke``."""
        started = time.perf_counter()
        context, state = await asyncio.to_thread(
            self._prepare,
            images,
            use_metadata=use_metadata,
            hint=hint,
            budget=budget,
            question=question,
            strategy=strategy,
            trace=trace,
            country=country,
            bbox=bbox,
        )
        try:
            final = await self.graph.ainvoke(state, context=context, config=self._config(context))
        except Exception as exc:
            failure = self._fail(context, exc)
            if failure is exc:
                raise
            raise failure from exc
        return self._finish(context, final, started)

    def replay(
        self,
        trace: str | Path | Any,
        *,
        strict: bool = True,
        strategy: str | None = None,
        samples: int | None = None,
        images: Sequence[ImageInput] | None = None,
        trace_out: str | Path | None = None,
    ) -> Location:
        """Re-derive a recorded run from its trace (a path or a parsed ``Trace``).

        Every tool and model call is answered from the trace, so no model, network or
        OCR is needed; the images are read from the paths the trace names (or
        ``images``) and must hash the same. The result equals the recorded Location
        (run id, timing and trace path aside). ``strategy`` and ``samples`` (fewer model
        samples than recorded) give counterfactual answers from the same evidence.
        ``strict=False`` makes calls the trace lacks live (this Agent's tools and model)
        instead of raising :class:`~tools.errors.ReplayDivergenceError`.
        """
        from .replay import replay_run

        return replay_run(
            self, trace, strict=strict, strategy=strategy, samples=samples, images=images, trace_out=trace_out
        )

    def locate_many(
        self,
        items: Iterable[ImageInput | Sequence[ImageInput]],
        *,
        concurrency: int = 4,
        return_exceptions: bool = False,
        **options: Any,
    ) -> list[Location | GeoSleuthError]:
        """Locate many items concurrently; results come back in input order.

        Each item is one image or a list of views of one place. With
        ``return_exceptions=True`` an unusable item yields its ``GeoSleuthError`` in
        place of a Location; otherwise the first such error is raised after the
        other items finish.
        """
        if concurrency < 1:
            raise ConfigError("concurrency must be >= 1")
        if "trace" in options:
            raise ConfigError("locate_many writes one trace per item: set Agent(trace_dir=...) instead of trace=")
        work = list(items)
        _ = self.gazetteer  # load shared data once, before the workers start

        def one(item: Any) -> Location | GeoSleuthError:
            try:
                return self.locate(item, **options)
            except GeoSleuthError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="geosleuth") as pool:
            results = list(pool.map(one, work))
        if not return_exceptions:
            for result in results:
                if isinstance(result, GeoSleuthError):
                    raise result
        return results
