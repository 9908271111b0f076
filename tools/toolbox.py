"""The tools of one run, by name, built from the tool registry."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.tools import BaseTool

from .base import ToolContext
from .registry import ToolRegistry, default_registry


def build_toolbox(
    ctx: ToolContext,
    *,
    use_metadata: bool = True,
    disabled_kinds: Iterable[str] = frozenset(),
    registry: ToolRegistry | None = None,
) -> dict[str, BaseTool]:
    """Instantiate the tools for a run. The metadata tool is left out when metadata use
    is off, so no policy or model can read EXIF in an evaluation run; tools of a
    ``disabled_kinds`` kind ("ocr", "search", "osm", ...) are left out for ablations."""
    chosen = registry or default_registry()
    return chosen.build(ctx, use_metadata=use_metadata, disabled_kinds=disabled_kinds)
