"""Policies that drive the graph without a model, and the pieces of the playbook."""

from .heuristic import HeuristicPolicy
from .metadata import MetadataLane, MetadataPlay
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
    "Play",
    "ReadTextPlay",
    "ScriptedPolicy",
    "TextLane",
]
