"""The tool contract: LangChain tools that return an Observation and never raise.

A model calls them through ``bind_tools`` (so each has a pydantic argument schema);
the graph calls them through :func:`call_tool`. Both paths end in an
:class:`~tools.evidence.Observation`: failures, bad arguments and timeouts become an
observation with ``error`` set, so a broken tool costs one step, not the run.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, ValidationError

from .deadline import BudgetSpent, call_within
from .errors import GeoSleuthError, ReplayDivergenceError
from .evidence import Observation
from .images import ImageRegistry


class SharedResources:
    """Heavy things loaded once per process and shared by runs (OCR models, gazetteer).

    ``get(key, factory)`` builds a resource on first use under a lock, so concurrent
    runs never load the same model twice.
    """

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str, factory: Any) -> Any:
        if key in self._items:
            return self._items[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._items:
                self._items[key] = factory()
            return self._items[key]

    def loaded(self) -> list[str]:
        return list(self._items)


@dataclass
class ToolContext:
    """What tools of one run share: its images, the process-wide resources, settings,
    and the run's network client (whose reachability probe is done once per run)."""

    images: ImageRegistry
    resources: SharedResources = field(default_factory=SharedResources)
    cache_dir: Path | None = None
    offline: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    #: Told of every request that leaves the machine (the run's egress record).
    egress: Any = None
    #: When the run must stop gathering (a ``time.monotonic()`` value; None: no limit).
    #: The graph sets it from the run's budget clock; network calls never wait past it.
    deadline: float | None = None
    #: The run's chat model, when it has one (``ask_model`` puts knowledge questions to it).
    chat_model: Any = None
    _net: Any = field(default=None, repr=False)

    def net(self) -> Any:
        """The run's :class:`tools.net.NetClient` (created on first use)."""
        if self._net is None:
            from .cache import default_cache_dir
            from .net import NetClient, NetSettings

            known = set(NetSettings.__dataclass_fields__)
            chosen: dict[str, Any] = {"offline": self.offline, "cache_dir": self.cache_dir or default_cache_dir()}
            chosen.update({k[4:]: v for k, v in self.settings.items() if k.startswith("net_") and k[4:] in known})
            self._net = NetClient(NetSettings(**chosen), egress=self.egress, deadline=lambda: self.deadline)
        return self._net


class GeoTool(BaseTool):
    """Base class of geosleuth tools.

    Subclasses set ``name``, ``description``, ``args_schema`` and ``kind`` (the budget
    category) and implement :meth:`execute`, which may raise: the base class turns
    any exception into an error observation.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: ClassVar[str] = "other"
    #: Pydantic model of the flat tool settings this tool reads (validated at Agent start).
    settings_model: ClassVar[type[BaseModel] | None] = None
    #: Whether calls of this tool may leave the machine; ``leaves_machine`` answers per call.
    online: ClassVar[bool] = False
    #: Tools that read image metadata are left out of runs with metadata use off.
    reads_metadata: ClassVar[bool] = False
    #: Tools that send the photo itself (reverse image search) need the run's separate
    #: image-upload permission besides the network.
    uploads_image: ClassVar[bool] = False
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    ctx: ToolContext

    @abstractmethod
    def execute(self, **kwargs: Any) -> Observation:
        """Do the work. Raise freely; return an Observation."""

    def leaves_machine(self, arguments: dict[str, Any]) -> bool:
        """Whether this call would send anything off this machine. The network switch
        refuses such calls in an offline run, and the egress record lists them."""
        return type(self).online

    def _run(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> tuple[str, Observation]:
        arguments = _jsonable(kwargs)
        try:
            observation = self.execute(**kwargs)
        except GeoSleuthError as exc:
            observation = Observation.failure(self.name, arguments, str(exc))
        except Exception as exc:  # noqa: BLE001 - a tool must never raise into the graph
            observation = Observation.failure(self.name, arguments, f"{type(exc).__name__}: {exc}")
        observation.tool = self.name
        observation.arguments = arguments
        return observation.text, observation


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def call_tool(tool: BaseTool, arguments: dict[str, Any], call_id: str = "call") -> Observation:
    """Invoke a tool with arguments from a policy or model and always get an Observation.

    Argument validation errors (a model asking for ``box=[1,2]``) come back as an
    error observation naming the field, like any other failure.
    """
    name = tool.name
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            return Observation.failure(name, _jsonable(arguments), f"invalid arguments: {problems}")
    try:
        message = tool.invoke({"name": name, "args": arguments, "id": call_id, "type": "tool_call"})
    except ReplayDivergenceError:
        raise  # a replay that left its trace must stop the run, not become an observation
    except Exception as exc:  # noqa: BLE001 - third-party tools may raise anything
        return Observation.failure(name, _jsonable(arguments), f"{type(exc).__name__}: {exc}")
    artifact = getattr(message, "artifact", None)
    if isinstance(artifact, Observation):
        return artifact
    content = getattr(message, "content", message)
    return Observation(tool=name, arguments=_jsonable(arguments), text=str(content))


def call_tool_with_deadline(
    tool: BaseTool,
    arguments: dict[str, Any],
    call_id: str = "call",
    *,
    deadline: float | None = None,
    budget_s: float | None = None,
) -> Observation:
    """:func:`call_tool`, cancelled at ``deadline`` (a ``time.monotonic()`` value).

    The tool runs in a worker thread and the caller waits at most the time left; a tool
    still running then is abandoned (Python cannot stop a thread; its late result is
    dropped) and the observation says ``cancelled: wall-time budget ...``, so the run
    answers with what it has instead of waiting on a hung service. Without a deadline
    this is exactly :func:`call_tool`.
    """
    try:
        return call_within(lambda: call_tool(tool, arguments, call_id), deadline, name=f"geosleuth-tool-{tool.name}")
    except BudgetSpent as cut:
        budget = f" of {budget_s:g} s" if budget_s is not None else ""
        if cut.waited_s is None:
            why = f"cancelled: wall-time budget{budget} spent before the call started"
        else:
            why = (
                f"cancelled: wall-time budget{budget} ran out after {cut.waited_s:.3g} s in this call; "
                "the run answers with the evidence gathered before it"
            )
        return Observation.failure(tool.name, _jsonable(arguments), why)
