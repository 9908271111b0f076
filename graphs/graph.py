"""The run as a LangGraph state machine.

ingest -> plan <-> act
           |
           +--(Send x K)--> propose --> verify --> consensus --> [review] --> finalize --> [research]

review runs only when the run asked for human review (or replays a recorded one); research (a
subgraph, :mod:`graphs.research`) runs only when the budget grants research rounds.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from .context import RunContext
from .nodes import act, consensus, finalize, ingest, plan, propose, review, verify
from .research import research, wants_research
from .state import RunState


def build_graph(checkpointer: Any = None) -> Any:
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("ingest", ingest)
    graph.add_node("plan", plan, destinations=("act", "propose", "verify"))
    graph.add_node("act", act)
    graph.add_node("propose", propose)
    graph.add_node("verify", verify)
    graph.add_node("consensus", consensus, destinations=("review", "finalize"))
    graph.add_node("review", review)
    graph.add_node("finalize", finalize)
    graph.add_node("research", research)
    graph.add_edge(START, "ingest")
    graph.add_edge("ingest", "plan")
    graph.add_edge("act", "plan")
    graph.add_edge("propose", "verify")
    graph.add_edge("verify", "consensus")
    graph.add_edge("review", "finalize")
    graph.add_conditional_edges("finalize", wants_research, {"research": "research", "__end__": END})
    graph.add_edge("research", END)
    return graph.compile(checkpointer=checkpointer)


def recursion_limit(max_steps: int) -> int:
    """Supersteps a run needs: two per plan/act round plus the fixed nodes, with slack."""
    return 2 * max_steps + 12
