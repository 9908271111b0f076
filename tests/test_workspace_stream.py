"""The run's steps as Server-Sent Events, from a real server on 127.0.0.1, while it works."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import httpx
from helpers import jpeg_with_gps
from workspace_support import LiveServer, paced_agents

from workspace.api import Workspace
from workspace.config import WorkspaceConfig

TOKEN = "stream-token-0123456789"
AUTH = {"X-GeoSleuth-Token": TOKEN}
PACE_S = 0.4


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gazetteer):
    monkeypatch.setenv("GEOSLEUTH_TEST_PACE_S", str(PACE_S))
    ws = Workspace(WorkspaceConfig(data_dir=tmp_path / "data", token=TOKEN, agent_factory=paced_agents))
    with LiveServer(ws.asgi) as live:
        yield live
    ws.close()


def read_events(client: httpx.Client, url: str, headers: dict | None = None, stop=lambda e: False) -> list[dict]:
    """Every event of the stream with the moment it arrived, until the stream ends."""
    events, current = [], {}
    with client.stream("GET", url, headers=headers or {}, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line == "":
                if "data" in current:
                    current["at"] = time.monotonic()
                    events.append(current)
                    if stop(current):
                        break
                current = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                current[field] = value[1:] if value.startswith(" ") else value
    return events


def upload(client: httpx.Client, case_id: str, review: bool) -> str:
    response = client.post(
        f"/api/cases/{case_id}/images",
        files={"file": ("p.jpg", jpeg_with_gps(38.72, -9.14), "image/jpeg")},
        data={"review": str(review).lower()},
    )
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def test_steps_arrive_in_order_while_the_run_works(server: LiveServer) -> None:
    client = httpx.Client(base_url=server.url, headers=AUTH)
    case_id = client.post("/api/cases", json={"name": "stream"}).json()["id"]
    run_id = upload(client, case_id, review=False)
    # an EventSource cannot set headers: the token comes in the query string
    events = read_events(httpx.Client(base_url=server.url), f"/api/runs/{run_id}/events?token={TOKEN}")

    kinds = [e["event"] for e in events]
    assert kinds[-1] == "result"
    result = json.loads(events[-1]["data"])
    assert result["status"] == "done" and result["result"]["lat"] == pytest.approx(38.72, abs=1e-3)
    steps = [e for e in events if e.get("id", "").isdigit()]
    assert kinds.index("header") < kinds.index(steps[0]["event"])
    indices = [int(e["id"]) for e in steps]
    assert indices == list(range(len(indices))), "every step once, in order"
    for event in steps:
        assert json.loads(event["data"])["kind"] == event["event"]  # typed as the trace is
    assert steps[-1]["event"] == "final"
    assert json.loads(steps[-1]["data"])["status"] == "ok"
    # the first steps came while the run was still planning, paced, well before its end
    assert steps[-1]["at"] - steps[0]["at"] > PACE_S
    assert "running" in [json.loads(e["data"])["status"] for e in events if e["event"] == "status"]

    # a client that reconnects with Last-Event-ID gets only what it missed
    again = read_events(client, f"/api/runs/{run_id}/events", headers={"Last-Event-ID": "2"})
    again_steps = [int(e["id"]) for e in again if e.get("id", "").isdigit()]
    assert again_steps == indices[3:]


def test_a_paused_run_streams_its_review_and_then_the_rest(server: LiveServer) -> None:
    client = httpx.Client(base_url=server.url, headers=AUTH)
    case_id = client.post("/api/cases", json={"name": "review"}).json()["id"]
    run_id = upload(client, case_id, review=True)

    seen_pause = threading.Event()

    def decide() -> None:  # as a person would: after the page showed the review request
        assert seen_pause.wait(30)
        assert client.post(f"/api/runs/{run_id}/review", json={"select": 0}).status_code == 202

    def watch(event: dict) -> bool:
        if event["event"] == "awaiting_review":
            seen_pause.set()
        return False

    decider = threading.Thread(target=decide)
    decider.start()
    events = read_events(client, f"/api/runs/{run_id}/events", stop=watch)
    decider.join()
    kinds = [e["event"] for e in events]
    paused = kinds.index("awaiting_review")
    assert json.loads(events[paused]["data"])["review_request"]["candidates"]
    assert "review" in kinds[paused:] and "final" in kinds[paused:]  # the decision, then the rest of the run
    assert kinds[-1] == "result" and json.loads(events[-1]["data"])["status"] == "done"
    steps = [json.loads(e["data"]) for e in events if e.get("id", "").isdigit()]
    recorded_review = [s for s in steps if s["kind"] == "review"]
    assert recorded_review and recorded_review[0]["decision"]["select"] == 0
    assert [s["index"] for s in steps] == list(range(len(steps)))
