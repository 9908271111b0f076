"""The tool registry: which tools exist, of which kind, with which settings.

Every tool a run can use is registered once with a name, a :class:`ToolKind`, a
pydantic settings model and a factory that builds it for one run. Budgets, replay,
ablations and the network switch all speak of tools through this registry rather than
through class hierarchies or bare strings. Third-party tools join in two ways: an entry
point in the ``geosleuth.tools`` group (a ``GeoTool`` subclass, a :class:`ToolSpec`, or
a callable returning either or a list of them), or ``Agent(tools=[...])`` for one agent.

Whether a *call* leaves the machine is asked per call (``GeoTool.leaves_machine``): an
OSM query answered from a local index does not, the same query sent to Overpass does.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

ENTRY_POINT_GROUP = "geosleuth.tools"


class ToolKind(StrEnum):
    """What a tool does; budgets (calls per kind), ablations and trajectory metrics use it."""

    METADATA = "metadata"
    IMAGE = "image"
    OCR = "ocr"
    TEXT = "text"
    SEARCH = "search"
    OSM = "osm"
    SUN = "sun"
    KNOWLEDGE = "knowledge"
    OTHER = "other"

    @classmethod
    def of(cls, value: Any) -> ToolKind:
        """A kind from its name; unknown names are ``other`` (third-party tools may say anything)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.OTHER


class NoSettings(BaseModel):
    """Settings model of a tool that takes none."""

    model_config = ConfigDict(extra="forbid")


ToolFactory = Callable[[Any], BaseTool]


@dataclass(frozen=True)
class ToolSpec:
    """One registered tool.

    ``factory(ctx)`` builds the tool for a run from its :class:`~tools.base.ToolContext`.
    ``online`` says whether calls *may* leave the machine (the per-call answer is the
    tool's ``leaves_machine``); ``reads_metadata`` tools are left out when metadata use is
    off, so nothing can read EXIF in an evaluation run.
    """

    name: str
    kind: ToolKind
    factory: ToolFactory
    description: str = ""
    settings_model: type[BaseModel] = NoSettings
    online: bool = False
    reads_metadata: bool = False
    origin: str = "builtin"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "online": self.online,
            "origin": self.origin,
            "description": self.description.strip().splitlines()[0] if self.description else "",
            "settings": sorted(self.settings_model.model_fields),
        }


def spec_for_class(cls: type[BaseTool], origin: str = "builtin") -> ToolSpec:
    """A spec for a ``GeoTool`` subclass (or any BaseTool class taking ``ctx``)."""
    fields = getattr(cls, "model_fields", {})
    name = fields["name"].default if "name" in fields else cls.__name__
    description = fields["description"].default if "description" in fields else (cls.__doc__ or "")
    return ToolSpec(
        name=str(name),
        kind=ToolKind.of(getattr(cls, "kind", "other")),
        factory=lambda ctx, cls=cls: cls(ctx=ctx),
        description=str(description or ""),
        settings_model=getattr(cls, "settings_model", None) or NoSettings,
        online=bool(getattr(cls, "online", False)),
        reads_metadata=bool(getattr(cls, "reads_metadata", False)),
        origin=origin,
    )


def spec_for_instance(tool: BaseTool, origin: str = "agent") -> ToolSpec:
    """A spec for a ready tool object (``Agent(tools=[my_tool])``): the same object serves
    every run. A plain LangChain tool is of kind ``other`` and, unless it says otherwise
    with an ``online`` attribute, is taken as local (the user who passed it vouches)."""
    return ToolSpec(
        name=tool.name,
        kind=ToolKind.of(getattr(tool, "kind", "other")),
        factory=lambda ctx, tool=tool: tool,
        description=tool.description or "",
        settings_model=getattr(tool, "settings_model", None) or NoSettings,
        online=bool(getattr(tool, "online", False)),
        origin=origin,
    )


def as_specs(item: Any, origin: str) -> list[ToolSpec]:
    """Whatever a user or an entry point gives, as specs: a ToolSpec, a tool class, a tool
    object, a callable returning those, or a list of them."""
    if isinstance(item, ToolSpec):
        return [item]
    if isinstance(item, BaseTool):
        return [spec_for_instance(item, origin)]
    if isinstance(item, type) and issubclass(item, BaseTool):
        return [spec_for_class(item, origin)]
    if isinstance(item, (list, tuple)):
        return [spec for part in item for spec in as_specs(part, origin)]
    if callable(item):
        return as_specs(item(), origin)
    raise ConfigError(f"cannot register {item!r} as a tool: give a ToolSpec, a BaseTool class or a tool object")


@dataclass
class ToolRegistry:
    """Tools by name. Later registrations of the same name replace earlier ones, so an
    agent's own tool can stand in for a built-in one."""

    specs: dict[str, ToolSpec] = field(default_factory=dict)

    def register(self, item: Any, origin: str = "builtin") -> list[ToolSpec]:
        added = as_specs(item, origin)
        for spec in added:
            self.specs[spec.name] = spec
        return added

    def extended(self, items: Iterable[Any], origin: str = "agent") -> ToolRegistry:
        copy = ToolRegistry(dict(self.specs))
        for item in items:
            copy.register(item, origin)
        return copy

    def get(self, name: str) -> ToolSpec | None:
        return self.specs.get(name)

    def kind_of(self, name: str) -> ToolKind | None:
        spec = self.specs.get(name)
        return spec.kind if spec is not None else None

    def names(self) -> list[str]:
        return list(self.specs)

    def build(
        self,
        ctx: Any,
        *,
        use_metadata: bool = True,
        disabled_kinds: Iterable[str] = (),
    ) -> dict[str, BaseTool]:
        """The tools of one run, by name. Tools of a disabled kind are left out (ablations)."""
        disabled = {str(k) for k in disabled_kinds}
        tools: dict[str, BaseTool] = {}
        for spec in self.specs.values():
            if str(spec.kind) in disabled or (spec.reads_metadata and not use_metadata):
                continue
            tools[spec.name] = spec.factory(ctx)
        return tools

    # ------------------------------------------------------------------ settings
    def settings_models(self) -> list[type[BaseModel]]:
        seen: list[type[BaseModel]] = []
        for spec in self.specs.values():
            if spec.settings_model not in seen:
                seen.append(spec.settings_model)
        return seen

    def validate_settings(self, settings: Mapping[str, Any], extra_models: Iterable[type[BaseModel]] = ()) -> None:
        """Check every tool setting against the settings models of the registered tools.

        An unknown key is an error naming it (with the closest known key), so a typo such
        as ``searx_url`` never silently leaves a service unconfigured.
        """
        from .tool_settings import NetworkSettings  # the network client every online tool shares

        models = [*self.settings_models(), NetworkSettings, *extra_models]
        owners: dict[str, type[BaseModel]] = {}
        for model in models:
            for key in model.model_fields:
                owners.setdefault(key, model)
        grouped: dict[type[BaseModel], dict[str, Any]] = {}
        for key, value in settings.items():
            model = owners.get(key)
            if model is None:
                close = difflib.get_close_matches(key, list(owners), n=1)
                maybe = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown tool setting {key!r}{maybe} (see `geosleuth tools list --json`)")
            grouped.setdefault(model, {})[key] = value
        for model, values in grouped.items():
            try:
                model.model_validate(values)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"]) or model.__name__
                raise ConfigError(f"tool setting {where}: {err['msg']} (got {err.get('input')!r})") from None


_default: ToolRegistry | None = None
_default_lock = threading.Lock()


def _builtin_registry() -> ToolRegistry:
    from .builtin_tools import BUILTIN_TOOLS

    registry = ToolRegistry()
    for cls in BUILTIN_TOOLS:
        registry.register(cls, "builtin")
    return registry


def load_entry_points(registry: ToolRegistry) -> list[str]:
    """Register the tools other packages declare in the ``geosleuth.tools`` group.
    A broken plug-in is an error naming it, not a silently missing tool."""
    loaded = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = point.load()
        except Exception as exc:
            raise ConfigError(f"tool plug-in {point.name!r} ({point.value}) failed to load: {exc}") from exc
        for spec in registry.register(target, origin=f"entry point {point.name}"):
            loaded.append(spec.name)
    return loaded


def default_registry() -> ToolRegistry:
    """Built-in tools plus those of installed plug-ins (read once per process)."""
    global _default
    with _default_lock:
        if _default is None:
            registry = _builtin_registry()
            load_entry_points(registry)
            _default = registry
        return _default


def reset_default_registry() -> None:
    """Forget the cached registry (after installing a plug-in in a running process)."""
    global _default
    with _default_lock:
        _default = None
