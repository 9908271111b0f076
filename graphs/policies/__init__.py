"""Policies that drive the graph without a model, and the pieces of the playbook."""

from .heuristic import HeuristicPolicy
from .metadata import MetadataLane, MetadataPlay
from .online import OsmLane, OsmVerifyPlay, WebSearchPlay
from .playbook import Lane, Play
from .reading import AnalyzeTextPlay, ReadTextPlay
from .scripted import ScriptedPolicy
from .text_lane import TextLane

__all__ = [
    "AnalyzeTextPlay",
    "HeuristicPolicy",
    "Lane",
    "MetadataLane",
    "MetadataPlay",
    "OsmLane",
    "OsmVerifyPlay",
    "Play",
    "ReadTextPlay",
    "ScriptedPolicy",
    "TextLane",
    "WebSearchPlay",
]
