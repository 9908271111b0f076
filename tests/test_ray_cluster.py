"""The Ray engine on a two-node cluster that loses a node mid-run (slow: starts its own cluster)."""

from __future__ import annotations

import pytest
from test_runner import photo_set

ray = pytest.importorskip("ray")

from evals.runner import EvalConfig, read_results, run_eval  # noqa: E402

pytestmark = pytest.mark.slow


def test_losing_a_node_loses_and_duplicates_nothing(tmp_path):
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    worker = cluster.add_node(num_cpus=2)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        dataset, rows = photo_set(tmp_path, 10)
        seen: list[str] = []

        def drop_a_node(record):
            seen.append(record["worker"])
            if len(cluster.list_all_nodes()) == 2 and len(set(seen)) == 2:
                cluster.remove_node(worker)  # its actor and the items it holds go with it

        # SPREAD puts one actor on each node; the worker node goes once both have answered
        config = EvalConfig(
            out=tmp_path / "out", engine="ray", actors=2, actor_cpus=1.0, use_metadata=True, ablations=("ocr",)
        )
        outcome = run_eval(dataset, config, progress=False, on_record=drop_a_node)
        records = read_results(tmp_path / "out" / "results.jsonl")
        assert len(cluster.list_all_nodes()) == 1
        assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)  # every item exactly once
        assert all(r["error"] is None for r in records) and outcome.engine["replacements"] >= 1
    finally:
        ray.shutdown()
        cluster.shutdown()
