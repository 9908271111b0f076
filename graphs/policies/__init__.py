"""Policies that drive the graph without a model."""

from .heuristic import HeuristicPolicy, Lane, Play
from .scripted import ScriptedPolicy

__all__ = ["HeuristicPolicy", "Lane", "Play", "ScriptedPolicy"]
