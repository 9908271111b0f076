"""Knowledge tools: read pages, search by image, Wikipedia/Wikidata, geocoding, ask a model."""

from .ask_model import AskModelTool
from .geocode_tool import GeocodeTool
from .reverse_image import ReverseImageSearchTool
from .visit_page import VisitPageTool
from .wiki import WikiLookupTool

__all__ = ["AskModelTool", "GeocodeTool", "ReverseImageSearchTool", "VisitPageTool", "WikiLookupTool"]
