"""The graph-floor bench builds the graph it claims to time and prints its ceilings."""

from evals.bench_graph_floor import main, noop_chain


def test_the_noop_chain_runs_each_of_its_steps_once():
    assert noop_chain(8, 25).invoke({})["c0"] == [1] * 8


def test_the_bench_prints_a_floor_and_the_ceiling_it_implies(capsys):
    assert main(["--steps", "3", "--channels", "4", "--repeat", "5", "--live", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("no-op graph, 3 supersteps, 4 channels:") and "live 1 s -> at most" in line
