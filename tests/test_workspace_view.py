"""The per-run view the workspace page draws, without a browser: boxes in the photo's pixels,
evidence with safe provenance links, candidates, and the report's map component."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from helpers import jpeg_with_gps
from starlette.testclient import TestClient
from workspace_support import paced_agents

from workspace.api import Workspace
from workspace.config import WorkspaceConfig
from workspace.page import provenance_url, static_file

TOKEN = "view-token-0123456789"
AUTH = {"X-GeoSleuth-Token": TOKEN}


@pytest.fixture
def client(tmp_path: Path, gazetteer):
    ws = Workspace(WorkspaceConfig(data_dir=tmp_path / "data", token=TOKEN, agent_factory=paced_agents))
    yield TestClient(ws.asgi, base_url="http://127.0.0.1", headers=AUTH)
    ws.close()


def wait(client: TestClient, run_id: str, *statuses: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {statuses}")


def test_provenance_links_only_osm_elements_and_web_pages() -> None:
    assert provenance_url("way/123") == "https://www.openstreetmap.org/way/123"
    assert provenance_url("https://example.org/a") == "https://example.org/a"
    assert provenance_url("javascript:alert(1)") is None
    assert provenance_url("EXIF of /data/x.jpg") is None
    assert provenance_url("https://a.org/x y") is None
    assert provenance_url(None) is None


def test_page_files_are_found_by_bare_name_only() -> None:
    assert static_file("app.js") and static_file("index.html")
    for name in ("../api.py", "api.py", ".env", "static/app.js", "nothing.js"):
        assert static_file(name) is None


def test_view_of_a_paused_and_a_finished_run(client: TestClient) -> None:
    case_id = client.post("/api/cases", json={"name": "view"}).json()["id"]
    photo = jpeg_with_gps(38.72, -9.14)
    run_id = client.post(f"/api/cases/{case_id}/images", files={"file": ("p.jpg", photo, "image/jpeg")}).json()[
        "run_id"
    ]
    wait(client, run_id, "awaiting_review")
    view = client.get(f"/api/runs/{run_id}/view").json()
    assert view["status"] == "awaiting_review"
    assert {k: view["image"][k] for k in ("handle", "width", "height")} == {
        "handle": "img:0",
        "width": 320,
        "height": 240,
    }
    assert view["candidates"] and view["candidates"][0]["lat"] == pytest.approx(38.72, abs=1e-3)
    assert view["candidates"][0]["outside_constraint"] is False  # no --country/--bbox on this case
    assert any(e["kind"] == "exif" and e["provenance_url"] is None for e in view["evidence"])
    assert 'class="map world"' in view["map_html"] and 'class="land"' in view["map_html"]

    assert client.post(f"/api/runs/{run_id}/review", json={"accept": True}).status_code == 202
    wait(client, run_id, "done")
    done = client.get(f"/api/runs/{run_id}/view").json()
    assert done["answer"]["lat"] == pytest.approx(38.72, abs=1e-3)
    assert 'class="answer"' in done["map_html"] and "uncertainty" in done["map_html"]
    fragment = client.get(f"/api/runs/{run_id}/map")
    assert fragment.headers["content-type"].startswith("text/html")
    assert fragment.text == done["map_html"]
    assert client.get("/api/runs/nope/view").status_code == 404


def test_boxes_found_on_a_crop_are_drawn_on_the_photo(tmp_path: Path, gazetteer) -> None:
    from agent import Agent
    from agent.exports import as_location
    from graphs.trace import read_trace
    from workspace.page import _root_boxes

    source = tmp_path / "run.jsonl"
    Agent(disable=["ocr"]).locate(str(Path(__file__).parents[1] / "examples" / "lisbon_street.jpg"), trace=source)
    records = [json.loads(line) for line in source.read_text().splitlines()]
    final = next(r for r in records if r.get("kind") == "final")
    crop = {
        **next(r for r in records if r.get("kind") == "image"),
        "index": final["index"],
        "name": "img:1",
        "handle": "img:1",
        "parent": "img:0",
        "operation": {"op": "crop", "box": [800, 400, 1200, 720]},
        "to_parent": [0.5, 0.5, 800.0, 400.0],
        "to_root": [0.5, 0.5, 800.0, 400.0],
        "width": 800,
        "height": 640,
        "sha256": "",
        "path": None,
    }
    final["index"] += 1
    evidence_step = next(r for r in records if r.get("kind") == "evidence")
    sign = {**evidence_step["evidence"][0], "id": "ev:99", "kind": "ocr_text", "value": "RUA", "geo": None}
    on_crop = {**sign, "image": "img:1", "bbox": [100, 40, 300, 100]}
    evidence_step["evidence"].append(on_crop)
    final["result"]["evidence"].append(on_crop)  # the answer lists its evidence too
    records.insert(records.index(final), crop)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in records))

    trace = read_trace(edited)
    photo, boxes = _root_boxes(trace, list(as_location(trace).evidence))
    assert photo["handle"] == "img:0"
    assert photo["crops"] == [{"handle": "img:1", "operation": "crop", "box": [800.0, 400.0, 1200.0, 720.0]}]
    assert [b["box"] for b in boxes if b["evidence_id"] == "ev:99"] == [[850.0, 420.0, 950.0, 450.0]]


def test_leaflet_comes_from_its_package_by_safe_names_only() -> None:
    pytest.importorskip("xstatic.pkg.leaflet", reason="xstatic-leaflet is not installed")
    from workspace.page import leaflet_file

    assert b"Leaflet" in (leaflet_file("leaflet.js") or b"")
    assert leaflet_file("images/layers.png")
    for name in ("../__init__.py", "images/../../__init__.py", "a/b/c.js", ".hidden.css", "leaflet.js.map"):
        assert leaflet_file(name) is None
