"""A real ``geosleuth serve`` process killed (SIGKILL) during a run, then started again."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import httpx
from helpers import jpeg_with_gps
from workspace_support import free_port

from graphs.trace import read_trace

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "restart-token-0123456789"
AUTH = {"X-GeoSleuth-Token": TOKEN}


class Server:
    def __init__(self, data: Path, log: Path) -> None:
        self.data, self.log = data, log
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> httpx.Client:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
            "GEOSLEUTH_WORKSPACE_AGENT_FACTORY": "workspace_support:paced_agents",
            "GEOSLEUTH_TEST_PACE_S": "0.4",
        }
        command = [
            sys.executable,
            "-m",
            "workspace",
            "serve",
            "--data",
            str(self.data),
            "--port",
            str(self.port),
            "--token",
            TOKEN,
            "--workers",
            "1",
        ]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers=AUTH, timeout=10)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if client.get("/healthz").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_for(client: httpx.Client, run_id: str, wanted: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in wanted:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['status']}, not {wanted}")


def add(client: httpx.Client, case_id: str, lat: float, lon: float, review: bool) -> str:
    response = client.post(
        f"/api/cases/{case_id}/images",
        files={"file": (f"{lat}.jpg", jpeg_with_gps(lat, lon), "image/jpeg")},
        data={"review": str(review).lower()},
    )
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


@pytest.mark.slow
def test_a_killed_server_restarts_with_everything_intact(tmp_path: Path, gazetteer) -> None:
    data = tmp_path / "data"
    server = Server(data, tmp_path / "server.log")
    try:
        client = server.start()
        case_id = client.post("/api/cases", json={"name": "killed"}).json()["id"]
        finished = add(client, case_id, 38.72, -9.14, review=False)
        done_before = wait_for(client, finished, {"done"})
        paused = add(client, case_id, 41.15, -8.61, review=True)
        wait_for(client, paused, {"awaiting_review"})
        working = add(client, case_id, 40.42, -3.70, review=False)
        waiting = add(client, case_id, 48.86, 2.35, review=False)  # one worker: this one is still queued
        wait_for(client, working, {"running"})
        trace = data / "traces" / f"{working}.jsonl"
        deadline = time.monotonic() + 30
        while not (trace.exists() and trace.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert client.get(f"/api/runs/{waiting}").json()["status"] == "queued"
        server.kill()

        client = server.start()
        case = client.get(f"/api/cases/{case_id}").json()
        assert case["name"] == "killed" and len(case["images"]) == 4
        runs = {r["id"]: r for r in case["runs"]}
        assert runs[finished]["status"] == "done" and runs[finished]["result"] == done_before["result"]
        assert runs[paused]["status"] == "awaiting_review"
        assert runs[working]["status"] == "interrupted" and "stopped" in runs[working]["error"]
        partial = read_trace(trace)
        assert not partial.finished and partial.steps  # the partial trace is kept
        assert client.get(f"/api/runs/{working}/events").text.rstrip().splitlines()[-1].startswith("data:")
        bundle = zipfile.ZipFile(io.BytesIO(client.get(f"/api/cases/{case_id}/export?format=zip").content))
        assert {f"traces/{working}.jsonl", f"reports/{working}.html"} <= set(bundle.namelist())

        # the run awaiting review before the kill is resumed after it
        assert client.post(f"/api/runs/{paused}/review", json={"select": 0, "note": "after restart"}).status_code == 202
        resumed = wait_for(client, paused, {"done", "failed"})
        assert resumed["status"] == "done", resumed
        assert resumed["result"]["lat"] == pytest.approx(41.15, abs=1e-3)
        assert [s.decision["note"] for s in read_trace(data / "traces" / f"{paused}.jsonl").of_kind("review")] == [
            "after restart"
        ]
        # the queued run was queued again; the interrupted one can be run again
        assert wait_for(client, waiting, {"done", "failed"})["status"] == "done"
        again = client.post(f"/api/runs/{working}/rerun").json()["run_id"]
        assert wait_for(client, again, {"done", "failed"})["result"]["lat"] == pytest.approx(40.42, abs=1e-3)
    finally:
        server.stop()
