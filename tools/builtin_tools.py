"""The tools geosleuth ships, in the order a person would reach for them."""

from __future__ import annotations

from .image_tools import CropTool, EnhanceTool, RotateTool, ZoomTool
from .knowledge import AskModelTool, GeocodeTool, ReverseImageSearchTool, VisitPageTool, WikiLookupTool
from .metadata_tool import MetadataTool
from .ocr import ReadTextTool
from .osm import OsmComboTool, OsmProximityTool, OsmSearchTool, OsmVerifyTool
from .sun.tools import ShadowLocateTool, SunPositionTool
from .text_tool import AnalyzeTextTool
from .web import WebSearchTool

BUILTIN_TOOLS = (
    MetadataTool,
    CropTool,
    ZoomTool,
    RotateTool,
    EnhanceTool,
    ReadTextTool,
    AnalyzeTextTool,
    WebSearchTool,
    VisitPageTool,
    ReverseImageSearchTool,
    WikiLookupTool,
    GeocodeTool,
    AskModelTool,
    OsmSearchTool,
    OsmProximityTool,
    OsmVerifyTool,
    OsmComboTool,
    SunPositionTool,
    ShadowLocateTool,
)
