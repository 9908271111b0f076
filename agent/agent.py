"""``Agent``: the Python entry point. One object serves many runs; heavy resources
(gazetteer, OCR models) load once, lazily, and are shared by concurrent runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from graphs.budget import Budget
from graphs.consensus import STRATEGIES
from graphs.graph import build_graph
from graphs.network import NetworkPolicy
from graphs.policies.heuristic import HeuristicPolicy
from graphs.policy import Policy
from tools.base import SharedResources
from tools.errors import ConfigError, GeoSleuthError, RunError
from tools.gazetteer import Gazetteer
from tools.hints import Hint
from tools.registry import ToolKind, default_registry

from .location import Location
from .session import RunRequest, RunSession
from .settings import Settings

if TYPE_CHECKING:
    from .question import Answer
    from .review import PendingReview

ImageInput = Any  # str | PathLike | bytes | BinaryIO | PIL.Image | np.ndarray
ReviewArg = bool | Callable[[dict[str, Any]], Any] | Mapping[str, Any] | Any


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
        online: let runs send requests off this machine (web search, Overpass, ...):
            ``True``, or the tool names/kinds allowed (``["search"]``). Default: offline
            (``GEOSLEUTH_ONLINE=1`` to change it). Every request that leaves is recorded in
            the run's egress record (``Location.egress`` and the trace).
        allow_image_upload: let tools send the photo itself (reverse image search); needs
            ``online`` too.
        tools: more tools for this agent's runs: LangChain tool objects, ``GeoTool``
            classes or :class:`~tools.registry.ToolSpec` s (a tool named like a built-in
            one replaces it). Installed plug-ins (entry point group ``geosleuth.tools``)
            are registered for every agent.
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
        max_image_bytes: int | None = None,
        disable: Iterable[str] = (),
        tool_settings: Mapping[str, Any] | None = None,
        model: Any = None,
        model_options: Mapping[str, Any] | None = None,
        tools: Iterable[Any] = (),
        online: bool | Iterable[str] | None = None,
        allow_image_upload: bool | None = None,
    ) -> None:
        self.settings = settings or Settings()
        chosen = online if online is not None else (self.settings.online_services or self.settings.online)
        upload = self.settings.allow_image_upload if allow_image_upload is None else allow_image_upload
        self.network = NetworkPolicy.coerce(chosen, allow_image_upload=upload)
        self.disabled_kinds = self._check_kinds(disable)
        self.tool_settings = dict(tool_settings or {})
        self.strategy = self._check_strategy(strategy or self.settings.strategy)
        self.budget = Budget.coerce(budget)
        self.trace_dir = Path(trace_dir) if trace_dir is not None else self.settings.trace_dir
        self.max_image_pixels = max_image_pixels or self.settings.max_image_pixels
        self.max_image_bytes = max_image_bytes or self.settings.max_image_bytes
        self.tool_registry = default_registry().extended(tools, origin="agent")
        self.tool_registry.validate_settings(self.run_tool_settings())
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
    def _check_kinds(kinds: Iterable[str]) -> frozenset[str]:
        chosen = frozenset(str(k) for k in kinds)
        unknown = sorted(chosen - {str(k) for k in ToolKind})
        if unknown:
            raise ConfigError(f"unknown tool kind(s) {', '.join(unknown)}; choose from {', '.join(map(str, ToolKind))}")
        return chosen

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

    def run_tool_settings(self) -> dict[str, Any]:
        """The flat tool settings of this agent's runs (settings, then ``tool_settings``)."""
        return {**self.settings.for_tools(), **self.tool_settings}

    @property
    def gazetteer(self) -> Gazetteer:
        return self.resources.get("gazetteer", lambda: Gazetteer(self.settings.cache_dir))

    # ------------------------------------------------------------------ running
    def request(
        self,
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        question: str | None = None,
        strategy: str | None = None,
        country: Any = None,
        bbox: Any = None,
        disabled_kinds: Iterable[str] | None = None,
    ) -> RunRequest:
        """A run's settings, checked, with this agent's defaults filled in."""
        return RunRequest(
            use_metadata=use_metadata,
            hint=Hint.coerce(hint, country=country, bbox=bbox),
            budget=Budget.coerce(budget, self.budget),
            question=question,
            strategy=self._check_strategy(strategy or self.strategy),
            disabled_kinds=frozenset(self.disabled_kinds if disabled_kinds is None else disabled_kinds),
        )

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = ...,
        hint: Hint | str | Mapping[str, Any] | None = ...,
        budget: Budget | Mapping[str, Any] | None = ...,
        question: str | None = ...,
        strategy: str | None = ...,
        trace: str | Path | None = ...,
        country: Any = ...,
        bbox: Any = ...,
        review: Literal[False] = ...,
        overwrite_trace: bool = ...,
    ) -> Location: ...

    @overload
    def locate(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        use_metadata: bool = ...,
        hint: Hint | str | Mapping[str, Any] | None = ...,
        budget: Budget | Mapping[str, Any] | None = ...,
        question: str | None = ...,
        strategy: str | None = ...,
        trace: str | Path | None = ...,
        country: Any = ...,
        bbox: Any = ...,
        review: ReviewArg = ...,
        overwrite_trace: bool = ...,
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
        review: ReviewArg = False,
        overwrite_trace: bool = False,
    ) -> Location | PendingReview:
        """Locate one image, or several images of one place (a list).

        Raises a ``GeoSleuthError`` subclass for unusable input (missing file, not an
        image, too large, bad hint/budget). Tool failures never raise: they are
        recorded and the run answers with what it has.

        ``review=True`` pauses the run before its answer is final and returns a
        :class:`~agent.review.PendingReview` (its ``request`` shows the candidates;
        ``resume(select=..., reject=..., hint=...)`` finishes it, or
        ``Agent().resume(run_id, ...)`` in another process); ``review=<callable>`` asks
        the callable for the decision and returns the Location; a decision given
        directly (a ``ReviewDecision`` or its dict) is applied as it is. The decision is
        recorded in the trace. A trace file is never overwritten unless
        ``overwrite_trace=True``.
        """
        request = self.request(
            use_metadata=use_metadata,
            hint=hint,
            budget=budget,
            question=question,
            strategy=strategy,
            country=country,
            bbox=bbox,
        )
        return self._run(images, request, trace=trace, review=review, overwrite_trace=overwrite_trace)

    def _run(
        self, images: Any, request: RunRequest, *, trace: Any, review: ReviewArg, overwrite_trace: bool = False
    ) -> Location | PendingReview:
        from .review import start_review, with_decision

        decision = with_decision(review)
        session = RunSession.prepare(
            self,
            images,
            request=request,
            trace=trace,
            overwrite_trace=overwrite_trace,
            review=bool(review) and decision is None,
            review_decision=decision,
        )
        if session.context.review:
            return start_review(session, review)
        return session.run()

    def ask(
        self,
        images: ImageInput | Sequence[ImageInput],
        question: str,
        *,
        use_metadata: bool = True,
        hint: Hint | str | Mapping[str, Any] | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        strategy: str | None = None,
        trace: str | Path | None = None,
        country: Any = None,
        bbox: Any = None,
        research_rounds: int | None = None,
        overwrite_trace: bool = False,
    ) -> Answer:
        """Answer a question about a photo (GeoBrowse Level 2): locate it, then research.

        The run locates the image as :meth:`locate` does; then, with a model, a research
        phase (:mod:`graphs.research`) lets the model search, read pages, look up
        Wikipedia/Wikidata and answer with the evidence it cites. Without a model the
        :class:`~agent.question.Answer` carries the place and says plainly that the
        follow-up needs a model. Everything is in the run's trace and replays.
        """
        from .question import DEFAULT_RESEARCH_ROUNDS, Answer

        if not isinstance(question, str) or not question.strip():
            raise ConfigError("ask needs a question (a non-empty string)")
        chosen = Budget.coerce(budget, self.budget)
        rounds = research_rounds if research_rounds is not None else (chosen.research_rounds or DEFAULT_RESEARCH_ROUNDS)
        if rounds < 1:
            raise ConfigError("research_rounds must be >= 1 for ask")
        request = self.request(
            use_metadata=use_metadata,
            hint=hint,
            budget=chosen.model_copy(update={"research_rounds": rounds}),
            question=question.strip(),
            strategy=strategy,
            country=country,
            bbox=bbox,
        )
        location = self._run(images, request, trace=trace, review=False, overwrite_trace=overwrite_trace)
        assert isinstance(location, Location)
        return Answer.from_location(question.strip(), location)

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
        review: ReviewArg = False,
    ) -> Location | PendingReview:
        """Async ``locate``: image decoding runs in a worker thread, the graph with
        ``ainvoke``; a run that pauses for review is driven in a worker thread too."""
        request = self.request(
            use_metadata=use_metadata,
            hint=hint,
            budget=budget,
            question=question,
            strategy=strategy,
            country=country,
            bbox=bbox,
        )
        if review:
            return await asyncio.to_thread(self._run, images, request, trace=trace, review=review)
        session = await asyncio.to_thread(RunSession.prepare, self, images, request=request, trace=trace)
        return session.finish(await session.ainvoke(self.graph))

    def resume(self, run_id: str, decision: Any = None, **fields: Any) -> Location:
        """Finish a run that paused for review, also in another process or after a
        restart: ``Agent().resume(run_id, select=1)``. The run's images, settings and
        trace so far were stored when it paused (see :mod:`agent.paused`)."""
        from .paused import resume_paused

        return resume_paused(self, run_id, decision, **fields)

    def replay(
        self,
        trace: str | Path | Any,
        *,
        strict: bool = True,
        strategy: str | None = None,
        samples: int | None = None,
        images: Sequence[ImageInput] | None = None,
        trace_out: str | Path | None = None,
        policy: Policy | None = None,
        verify_pixels: bool = False,
    ) -> Location:
        """Re-derive a recorded run from its trace (a path or a parsed ``Trace``).

        Every tool and model call is answered from the trace, so no model, network or
        OCR is needed; the images are read from the paths the trace names (or
        ``images``) and must hash the same. The result equals the recorded Location
        (run id, timing and trace path aside). ``strategy`` and ``samples`` (fewer model
        samples than recorded) give counterfactual answers from the same evidence.
        ``strict=False`` makes calls the trace lacks live (this Agent's tools and model)
        instead of raising :class:`~tools.errors.ReplayDivergenceError`. A policy that
        cannot rebuild itself from its description is passed as ``policy``;
        ``verify_pixels=True`` recomputes image operations and checks them.
        """
        from .replay import replay_run

        return replay_run(
            self,
            trace,
            strict=strict,
            strategy=strategy,
            samples=samples,
            images=images,
            trace_out=trace_out,
            policy=policy,
            verify_pixels=verify_pixels,
        )

    def explain(self, run: Location | str | Path | Any, *, strategy: str | None = None) -> Any:
        """How much the answer of a finished run (a Location, a trace file or a parsed
        Trace) rests on each piece of its evidence: an :class:`~agent.explain.Attribution`,
        re-derived from the trace with no model, network or OCR."""
        from .explain import explain

        return explain(run, gazetteer=self.gazetteer, strategy=strategy)

    def locate_many(
        self,
        items: Iterable[ImageInput | Sequence[ImageInput]],
        *,
        concurrency: int = 4,
        return_exceptions: bool = False,
        **options: Any,
    ) -> list[Location | GeoSleuthError]:
        """Locate many items concurrently; results come back in input order.

        Each item is one image or a list of views of one place. Every item runs to its
        end whatever the others do. With ``return_exceptions=True`` a failed item yields
        its error in place of a Location: a ``GeoSleuthError`` as raised, any other
        exception wrapped in a ``RunError`` naming the item (the original is its
        ``__cause__``). Otherwise the first error is raised after the other items
        finish, with every item's outcome on its ``results`` attribute, so finished
        work is never lost.
        """
        if concurrency < 1:
            raise ConfigError("concurrency must be >= 1")
        if "trace" in options:
            raise ConfigError("locate_many writes one trace per item: set Agent(trace_dir=...) instead of trace=")
        work = list(items)
        _ = self.gazetteer  # load shared data once, before the workers start

        def one(index: int, item: Any) -> Location | GeoSleuthError:
            try:
                return self.locate(item, **options)
            except GeoSleuthError as exc:
                return exc
            except Exception as exc:  # noqa: BLE001 - one broken item must not sink the others
                error = RunError(f"item {index} ({_item_label(item)}) failed: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                return error

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="geosleuth") as pool:
            results = list(pool.map(one, range(len(work)), work))
        if not return_exceptions:
            for result in results:
                if isinstance(result, GeoSleuthError):
                    result.results = results  # type: ignore[attr-defined]
                    raise result
        return results


def _item_label(item: Any) -> str:
    """A short name for an item in an error message."""
    if isinstance(item, (list, tuple)):
        return " + ".join(_item_label(i) for i in item[:3]) + (" + ..." if len(item) > 3 else "")
    if isinstance(item, (str, Path)):
        text = str(item)
        return text if len(text) <= 80 else f"...{text[-77:]}"
    return f"<{type(item).__name__}>"
