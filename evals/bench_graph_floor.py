"""The least a LangGraph run can cost on this machine: a graph whose nodes do nothing.

A replay answers every tool and model call from the trace, so what it still pays is the
graph runtime (task preparation, channel writes, callbacks per superstep) plus our nodes.
This bench times a chain of no-op nodes over as many list channels as the agent's state
has, for the superstep counts of a pixel-only replay (8) and of the bench's model-driven
replay (14), and prints what the issue's ratio goals would need: a replay can be no
faster than this floor, so ``live seconds / floor`` bounds the replay ratio from above.

    python -m evals.bench_graph_floor [--steps 8,14] [--channels 25] [--live 0.11,5.5]
"""

from __future__ import annotations

import argparse
import itertools
import operator
import statistics
import time
from typing import Annotated, Any, TypedDict


def noop_chain(steps: int, channels: int) -> Any:
    """A compiled graph of ``steps`` nodes in a row, each writing one item to one of
    ``channels`` appending list channels (the shape of the agent's state)."""
    from langgraph.graph import END, START, StateGraph

    fields = {f"c{i}": Annotated[list, operator.add] for i in range(channels)}
    state = TypedDict("NoopState", fields)  # type: ignore[misc] - built from the channel count
    graph = StateGraph(state)
    names = [f"n{i}" for i in range(steps)]
    for name in names:
        graph.add_node(name, lambda _state: {"c0": [1]})
    graph.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        graph.add_edge(first, second)
    graph.add_edge(names[-1], END)
    return graph.compile()


def floor_ms(steps: int, channels: int, repeat: int = 300) -> float:
    """Median milliseconds per ``invoke`` of the no-op chain, after a warm-up."""
    graph = noop_chain(steps, channels)
    for _ in range(50):
        graph.invoke({})
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        graph.invoke({})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_graph_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="8,14", help="supersteps per run (default: pixel-only 8, model-driven 14)")
    parser.add_argument("--channels", type=int, default=25, help="list channels in the state (default 25)")
    parser.add_argument("--live", default="", help="live seconds to turn into ratio ceilings, e.g. 0.11,5.5")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args(argv)
    lives = [float(x) for x in args.live.split(",") if x.strip()]
    for steps in (int(x) for x in args.steps.split(",") if x.strip()):
        ms = floor_ms(steps, args.channels, args.repeat)
        ceilings = "".join(f"; live {live:g} s -> at most {live * 1000 / ms:,.0f}x" for live in lives)
        print(f"no-op graph, {steps} supersteps, {args.channels} channels: {ms:.2f} ms per invoke{ceilings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
