"""Leaf layer: evidence vocabulary, images and handles, EXIF, geo maths, gazetteer and
the LangChain tools that gather evidence. Imports nothing else of geosleuth."""

from .base import GeoTool, SharedResources, ToolContext, call_tool
from .errors import GeoSleuthError
from .evidence import Candidate, Evidence, GeoRef, Observation, ToolSource
from .hints import Hint
from .images import DEFAULT_MAX_PIXELS, ImageRegistry, load_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "Candidate",
    "Evidence",
    "GeoRef",
    "GeoSleuthError",
    "GeoTool",
    "Hint",
    "ImageRegistry",
    "Observation",
    "SharedResources",
    "ToolContext",
    "ToolSource",
    "call_tool",
    "load_image",
]
