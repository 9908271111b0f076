"""The evaluation runner: concurrency without mixing, resume after a kill, durable results."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import jpeg_with_gps

from evals.runner import EvalConfig, ResultsFile, read_results, run_eval
from graphs.trace import read_trace
from tools.errors import ConfigError


def photo_set(folder, n):
    rows = []
    for i in range(n):
        lat, lon = -40 + 9 * i, -150 + 33 * i
        name = f"p{i}.jpg"
        (folder / name).write_bytes(jpeg_with_gps(lat, lon, color=(i * 20 % 255, 90, 200)))
        rows.append({"id": f"item{i}", "image": name, "lat": lat, "lon": lon})
    dataset = folder / "photos.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return dataset, rows


def test_concurrent_items_do_not_mix(tmp_path):
    dataset, rows = photo_set(tmp_path, 8)
    outcome = run_eval(dataset, EvalConfig(out=tmp_path / "out", concurrency=4, use_metadata=True), progress=False)
    assert sorted(r["id"] for r in outcome.records) == sorted(r["id"] for r in rows)
    traces = sorted((tmp_path / "out" / "traces").glob("*.jsonl"))
    assert len(traces) == 8
    for record in outcome.records:
        row = next(r for r in rows if r["id"] == record["id"])
        assert record["distance_km"] < 0.1  # each answer is its own photo's GPS
        trace = read_trace(record["trace_path"])
        image_hash = hashlib.sha256((tmp_path / row["image"]).read_bytes()).hexdigest()
        assert trace.header.images[0]["sha256"] == image_hash
        assert trace.finished
    for name in ("results.jsonl", "summary.json", "report.md", "error_cdf.png", "world_map.png", "run.json"):
        assert (tmp_path / "out" / name).exists(), name


def test_rerun_skips_done_items_and_refuses_other_settings(tmp_path):
    dataset, _ = photo_set(tmp_path, 3)
    out = tmp_path / "out"
    first = run_eval(dataset, EvalConfig(out=out, use_metadata=True, limit=2), progress=False)
    assert len(first.records) == 2 and first.skipped_done == 0
    second = run_eval(dataset, EvalConfig(out=out, use_metadata=True), progress=False)
    assert second.skipped_done == 2 and len(second.records) == 3
    assert len(read_results(out / "results.jsonl")) == 3
    with pytest.raises(ConfigError, match="another run"):
        run_eval(dataset, EvalConfig(out=out, use_metadata=False), progress=False)
    fresh = run_eval(dataset, EvalConfig(out=out, use_metadata=False, fresh=True), progress=False)
    assert fresh.skipped_done == 0 and all(r["prediction"]["lat"] is None for r in fresh.records)


def test_torn_last_line_is_dropped_on_resume(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"id": "a"}) + "\n" + '{"id": "b", "predic')
    sink = ResultsFile(path)
    assert sink.done == {"a"}
    sink.append({"id": "c"})
    assert [r["id"] for r in read_results(path)] == ["a", "c"]
    assert path.read_text().count("\n") == 2


def test_broken_items_are_recorded_not_fatal(tmp_path):
    dataset, rows = photo_set(tmp_path, 2)
    (tmp_path / rows[1]["image"]).write_bytes(b"")
    outcome = run_eval(dataset, EvalConfig(out=tmp_path / "out", use_metadata=True), progress=False)
    broken = next(r for r in outcome.records if r["id"] == "item1")
    assert broken["error"].startswith("EmptyImageError") and broken["prediction"] is None
    assert outcome.summary["n"] == 2


def test_resume_after_kill(tmp_path):
    dataset, rows = photo_set(tmp_path, 10)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "agent.cli",
        "eval",
        str(dataset),
        "--out",
        str(out),
        "--metadata",
        "--concurrency",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not results.exists() or len(read_results(results)) < 2):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results)
    assert 2 <= len(before) < 10, "the kill should land mid-run"
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = read_results(results)
    assert sorted(r["id"] for r in after) == sorted(r["id"] for r in rows)  # every item once
    assert after[: len(before)] == before  # earlier records kept as they were
    assert f"({len(before)} already done)" in done.stdout


def test_evaluating_a_served_model_and_the_no_model_ablation(tmp_path, monkeypatch):
    from agent.cli import main
    from evals.openai_stub import OpenAIStubServer, StubReply

    dataset, rows = photo_set(tmp_path, 2)
    answer = {"candidates": [{"lat": rows[0]["lat"], "lon": rows[0]["lon"], "confidence": 0.7}]}
    with OpenAIStubServer(lambda request: StubReply(tool_calls=[{"name": "answer", "arguments": answer}])) as server:
        spec = f"openai:stub@{server.base_url}"
        out = tmp_path / "model"
        args = ["eval", str(dataset), "--out", str(out), "--model", spec, "--samples", "1", "--no-hybrid"]
        assert main([*args, "--no-progress"]) == 0
        assert len(server.requests) == 2  # one model call per item
        # the same model named through the environment, switched off by --no-model
        monkeypatch.setenv("GEOSLEUTH_MODEL", spec)
        assert main(["eval", str(dataset), "--out", str(tmp_path / "ablated"), "--no-model", "--no-progress"]) == 0
        assert len(server.requests) == 2
    records = {r["id"]: r for r in read_results(out / "results.jsonl")}
    assert records["item0"]["distance_km"] < 1 and records["item1"]["distance_km"] > 1000
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert identity["model"] == spec and identity["model_options"] == {"hybrid": False, "samples": 1}
    assert "model" not in json.loads((tmp_path / "ablated" / "run.json").read_text())["identity"]


def test_an_eval_process_loads_one_gazetteer(tmp_path, monkeypatch):
    """The agent's tools, judging, the report's maps and the error taxonomy all use one
    gazetteer: the agent's, adopted by the runner (a fresh process is simulated)."""
    from evals import resources
    from tools import gazetteer as gazetteer_module
    from tools.base import SharedResources

    made = []
    original = gazetteer_module.Gazetteer.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(gazetteer_module.Gazetteer, "__init__", counting)
    monkeypatch.setattr(gazetteer_module, "_SHARED", None)
    monkeypatch.setattr(resources, "_resources", SharedResources())
    dataset, _ = photo_set(tmp_path, 2)
    outcome = run_eval(dataset, EvalConfig(out=tmp_path / "out", use_metadata=True), progress=False)
    assert len(outcome.records) == 2 and all(r["prediction"]["lat"] is not None for r in outcome.records)
    assert (tmp_path / "out" / "world_map.png").exists()
    assert len(made) == 1 and resources.gazetteer() is made[0]


def test_items_whose_names_fold_together_get_their_own_traces(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for index, name in enumerate(("sub/x.jpg", "sub x.jpg", "sub_x.jpg")):
        (folder / name).write_bytes(jpeg_with_gps(10 + index, 20 + index))
    outcome = run_eval(folder, EvalConfig(out=tmp_path / "out", concurrency=3), progress=False)
    paths = {record["trace_path"] for record in outcome.records}
    assert len(outcome.records) == 3 and len(paths) == 3
    for record in outcome.records:
        trace = read_trace(record["trace_path"])  # every line valid: one writer per file
        assert trace.finished and trace.header.images[0]["path"].endswith(record["id"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["online"] is False
