"""The LangGraph state machine of a geolocation run: state, nodes, policies,
verification, consensus, trace recording. Imports ``tools`` only."""

from .budget import Budget
from .consensus import STRATEGIES, aggregate
from .context import RunContext
from .graph import build_graph
from .policy import ModelCall, PlanStep, Policy, Proposal, ProposalTask, RunView
from .state import ConsensusResult, RunState
from .trace import Trace, TraceRecorder, read_trace

__all__ = [
    "STRATEGIES",
    "Budget",
    "ConsensusResult",
    "ModelCall",
    "PlanStep",
    "Policy",
    "Proposal",
    "ProposalTask",
    "RunContext",
    "RunState",
    "RunView",
    "Trace",
    "TraceRecorder",
    "aggregate",
    "build_graph",
    "read_trace",
]
