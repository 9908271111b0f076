"""The built-in tools of one run, by name."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from .base import ToolContext
from .image_tools import CropTool, EnhanceTool, RotateTool, ZoomTool
from .metadata_tool import MetadataTool
from .ocr import ReadTextTool
from .osm import OsmComboTool, OsmProximityTool, OsmSearchTool, OsmVerifyTool
from .text_tool import AnalyzeTextTool
from .web import WebSearchTool


def build_toolbox(
    ctx: ToolContext, *, use_metadata: bool = True, disabled_kinds: frozenset[str] | set[str] = frozenset()
) -> dict[str, BaseTool]:
    """Instantiate the tools for a run. The metadata tool is left out when metadata use
    is off, so no policy or model can read EXIF in an evaluation run; tools of a
    ``disabled_kinds`` kind ("ocr", "search", "osm", ...) are left out for ablations."""
    tools: list[BaseTool] = [
        CropTool(ctx=ctx),
        ZoomTool(ctx=ctx),
        RotateTool(ctx=ctx),
        EnhanceTool(ctx=ctx),
        ReadTextTool(ctx=ctx),
        AnalyzeTextTool(ctx=ctx),
        WebSearchTool(ctx=ctx),
        OsmSearchTool(ctx=ctx),
        OsmProximityTool(ctx=ctx),
        OsmVerifyTool(ctx=ctx),
        OsmComboTool(ctx=ctx),
    ]
    if use_metadata:
        tools.insert(0, MetadataTool(ctx=ctx))
    return {tool.name: tool for tool in tools if type(tool).kind not in disabled_kinds}
