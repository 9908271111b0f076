"""Several model servers behind one spec: spread, a dying replica set aside, put back later.

The servers are real ``python -m evals.openai_stub`` processes on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import jpeg_with_gps

pytest.importorskip("langchain_openai")

from agent.models.replicas import ReplicaPool
from agent.models.served import ServedChatModel
from agent.models.spec import parse_spec
from evals.runner import EvalConfig, read_results, run_eval
from tools.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def start_stub(port: int = 0, delay: float = 0.05) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "evals.openai_stub", "--port", str(port), "--delay", str(delay)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "serving" in line, proc.stderr.read() if proc.poll() is not None else line
    return proc, line.split(" at ")[1].split()[0]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


@pytest.fixture
def three_stubs():
    servers = [start_stub() for _ in range(3)]
    yield servers
    for proc, _ in servers:
        stop(proc)


def test_spec_with_replicas():
    backend, options = parse_spec("openai:qwen@http://a:8000/v1,http://b:8000/v1/")
    assert backend == "served" and options["model"] == "qwen"
    assert (
        options["base_urls"] == ["http://a:8000/v1", "http://b:8000/v1"] and options["base_url"] == "http://a:8000/v1"
    )
    assert "base_urls" not in parse_spec("openai:qwen@http://a:8000/v1")[1]
    with pytest.raises(ConfigError, match="each server URL"):
        parse_spec("openai:qwen@http://a:8000/v1,b:8000")


def test_least_outstanding_choice_and_readmission():
    alive = {"a": True, "b": True}
    pool = ReplicaPool(["a", "b"], probe=lambda url: alive[url], retry_s=0.0)
    first, second = pool.acquire(), pool.acquire()
    assert {first.url, second.url} == {"a", "b"}  # an idle pool spreads
    pool.release(first, "ok")
    assert pool.acquire().url == first.url  # the one with nothing outstanding
    alive["b"] = False
    b = next(r for r in pool.replicas if r.url == "b")
    pool.release(b, "failed")
    assert not b.up and pool.acquire(exclude={"a"}) is None  # probed, still down
    alive["b"] = True
    assert pool.acquire(exclude={"a"}).url == "b"  # answers again: back in
    assert pool.stats()["b"]["taken_out"] == 1 and pool.stats()["b"]["put_back"] == 1


def test_eval_over_three_servers_one_dying_mid_run(tmp_path, three_stubs):
    rows = []
    for i in range(9):
        (tmp_path / f"p{i}.jpg").write_bytes(jpeg_with_gps(10 + i, 20, color=(i * 25, 90, 200)))
        rows.append({"id": f"item{i}", "image": f"p{i}.jpg", "lat": 10 + i, "lon": 20})
    dataset = tmp_path / "photos.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    urls = [url for _, url in three_stubs]
    victim, victim_url = three_stubs[1]
    seen = []

    def kill_after_three(record):
        seen.append(record["id"])
        if len(seen) == 3:
            stop(victim)

    config = EvalConfig(
        out=tmp_path / "out",
        concurrency=3,
        ablations=("ocr",),
        model="openai:stub@" + ",".join(urls),
        model_options={"samples": 1, "hybrid": False, "max_rounds": 1},
    )
    outcome = run_eval(dataset, config, progress=False, on_record=kill_after_three)
    records = read_results(tmp_path / "out" / "results.jsonl")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)  # none lost, none twice
    for record in records:  # every item got the model's answer, dead server or not
        assert record["error"] is None and record["prediction"]["lat"] == pytest.approx(0.0, abs=1e-6)
    endpoints = outcome.summary["endpoints"]
    assert set(endpoints) == set(urls)
    assert endpoints[victim_url]["taken_out"] == 1 and endpoints[victim_url]["failed"] >= 1
    assert not endpoints[victim_url]["up"]
    survivors = [u for u in urls if u != victim_url]
    assert all(endpoints[u]["ok"] >= 1 and endpoints[u]["failed"] == 0 for u in survivors)
    assert sum(e["ok"] for e in endpoints.values()) == 9  # one model call per item, each answered once
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["endpoints"] == endpoints


def test_a_replica_is_put_back_when_it_answers_again(three_stubs):
    from langchain_core.messages import HumanMessage

    urls = [url for _, url in three_stubs]
    model = ServedChatModel(base_url=urls[0], base_urls=urls, model="stub", replica_retry_s=0.2)
    victim, victim_url = three_stubs[2]
    stop(victim)
    for _ in range(4):
        assert "<answer>" in model.invoke([HumanMessage("where?")]).response_metadata.get("raw_text", "<answer>")
    stats = model.endpoint_stats()
    assert stats[victim_url]["taken_out"] == 1 and stats[victim_url]["ok"] == 0
    port = int(victim_url.split(":")[2].split("/")[0])
    revived, url = start_stub(port)
    try:
        assert url == victim_url
        import time

        time.sleep(0.3)
        for _ in range(6):
            model.invoke([HumanMessage("where?")])
        stats = model.endpoint_stats()
        assert stats[victim_url]["put_back"] == 1 and stats[victim_url]["up"] and stats[victim_url]["ok"] >= 1
    finally:
        stop(revived)
