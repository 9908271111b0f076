"""Checkpointing a paused run (human review): which of our types the state holds.

LangGraph's serializer refuses (or warns about) types it was not told about. A run's
state holds our evidence vocabulary and graph records; they are registered here, in one
list next to the state they come from, so a paused run resumes without warnings, and in
another process.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from tools.evidence import Candidate, Evidence, GeoRef, Observation, ToolSource

from .review import ReviewDecision
from .state import ConsensusResult, ProposalRecord, RunState

#: Every type of ours a checkpoint of a run's state can contain.
STORED_TYPES: tuple[type, ...] = (
    Observation,
    Evidence,
    Candidate,
    GeoRef,
    ToolSource,
    ProposalRecord,
    ConsensusResult,
    RunState,
    ReviewDecision,
)


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=[(t.__module__, t.__name__) for t in STORED_TYPES])


def sqlite_checkpointer(target: str | Path) -> Any:
    """A SQLite checkpointer (``:memory:`` or a file) that knows our stored types."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver(sqlite3.connect(str(target), check_same_thread=False), serde=serializer())
