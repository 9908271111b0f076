"""The Ray engine against a real local Ray (one session for the module, 2 CPUs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from test_runner import photo_set

ray = pytest.importorskip("ray")

from evals.runner import EvalConfig, read_results, run_eval  # noqa: E402
from graphs.trace import read_trace  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIGHT = {"use_metadata": True, "ablations": ("ocr",)}  # answers from EXIF, no OCR: fast items


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def without_timings(summary):
    summary = {k: v for k, v in summary.items() if k != "dataset"}
    summary["items"] = [{k: v for k, v in row.items() if k != "elapsed_s"} for row in summary["items"]]
    return summary


def test_ray_summary_equals_the_local_engines(tmp_path, ray_session):
    dataset, rows = photo_set(tmp_path, 6)
    local = run_eval(dataset, EvalConfig(out=tmp_path / "local", **LIGHT), progress=False)
    config = EvalConfig(out=tmp_path / "ray", engine="ray", actors=2, actor_cpus=0.5, **LIGHT)
    remote = run_eval(dataset, config, progress=False)
    assert without_timings(remote.summary) == without_timings(local.summary)
    assert remote.summary["accuracy"]["1km"] == 1.0 and remote.engine["actors"] == 2
    records = read_results(tmp_path / "ray" / "results.jsonl")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)
    assert len({r["worker"] for r in records}) == 2  # both actors worked
    for record in records:  # the driver wrote each trace where the local engine would have
        path = Path(record["trace_path"])
        assert path.parent == tmp_path / "ray" / "traces" and read_trace(path).finished
    local_traces = sorted(p.name for p in (tmp_path / "local" / "traces").glob("*.jsonl"))
    assert sorted(p.name for p in (tmp_path / "ray" / "traces").glob("*.jsonl")) == local_traces
    again = run_eval(dataset, config, progress=False)  # resume: nothing left to do
    assert again.skipped_done == 6 and len(read_results(tmp_path / "ray" / "results.jsonl")) == 6


def test_a_killed_actor_loses_and_duplicates_nothing(tmp_path, ray_session):
    dataset, rows = photo_set(tmp_path, 10)
    killed = []

    def kill_first_worker(record):
        if not killed:
            pid = int(record["worker"].rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)  # the actor's process dies with items in flight
            killed.append((pid, time.time()))

    config = EvalConfig(out=tmp_path / "out", engine="ray", actors=2, actor_cpus=0.5, **LIGHT)
    outcome = run_eval(dataset, config, progress=False, on_record=kill_first_worker)
    records = read_results(tmp_path / "out" / "results.jsonl")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)  # every item exactly once
    assert all(r["error"] is None and r["distance_km"] < 0.1 for r in records)
    assert outcome.engine["replacements"] >= 1
    pid, died_at = killed[0]
    from_the_dead = [r for r in records[1:] if r["worker"].endswith(f":{pid}")]
    for record in from_the_dead:  # a result it finished before dying may still arrive: kept, not lost
        assert trace_finished_at(Path(record["trace_path"])) <= died_at, record["id"]


def trace_finished_at(path):
    """When the run's last step ended (Unix seconds), from the trace's own step timings."""
    trace = read_trace(path)
    ends = []
    for step in [*trace.steps, trace.final]:
        if step is not None and step.timing.start:
            start = datetime.fromisoformat(step.timing.start.replace("Z", "+00:00")).timestamp()
            ends.append(start + step.timing.duration_s)
    return max(ends)


def test_resume_after_the_driver_is_killed(tmp_path, ray_session):
    dataset, rows = photo_set(tmp_path, 10)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "agent.cli", "eval", str(dataset), "--out", str(out), "--metadata", "--no-ocr"]
    command += ["--engine", "ray", "--address", ray_session, "--actors", "1", "--actor-cpus", "0.5", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and (not results.exists() or len(read_results(results)) < 2):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results)
    assert 2 <= len(before) < 10, "the kill should land mid-run"
    config = EvalConfig(out=out, engine="ray", actors=2, actor_cpus=0.5, **LIGHT)
    outcome = run_eval(dataset, config, progress=False)
    after = read_results(results)
    assert sorted(r["id"] for r in after) == sorted(r["id"] for r in rows)
    assert after[: len(before)] == before and outcome.skipped_done == len(before)
    assert json.loads((out / "summary.json").read_text())["records"] == 10
