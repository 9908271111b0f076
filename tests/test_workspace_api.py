"""The workspace API against the ASGI app: every endpoint, and bad input refused with a
JSON error and nothing stored."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from helpers import jpeg_with_gps, png_header_only
from starlette.testclient import TestClient
from workspace_support import paced_agents

from graphs.trace import read_trace
from workspace.api import Workspace
from workspace.config import WorkspaceConfig

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"
AUTH = {"X-GeoSleuth-Token": TOKEN}


@pytest.fixture
def ws(tmp_path: Path, gazetteer):  # the gazetteer is built once, before runs are timed
    workspace = Workspace(
        WorkspaceConfig(data_dir=tmp_path / "data", token=TOKEN, max_upload_bytes=8 * 2**20, agent_factory=paced_agents)
    )
    yield workspace
    workspace.close()


@pytest.fixture
def client(ws: Workspace):
    return TestClient(ws.asgi, base_url=BASE, headers=AUTH)


def wait_status(client: TestClient, run_id: str, wanted: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in wanted:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run['status']}, wanted {wanted}")


def new_case(client: TestClient, **settings) -> str:
    response = client.post("/api/cases", json={"name": "Harbour fire", **settings})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(client: TestClient, case_id: str, data: bytes, name: str = "photo.jpg", **form) -> dict:
    response = client.post(
        f"/api/cases/{case_id}/images",
        files={"file": (name, data, "image/jpeg")},
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_case_from_photo_to_answer(client: TestClient, ws: Workspace) -> None:
    assert client.get("/healthz", headers={}).json() == {"status": "ok"}
    case_id = new_case(client)
    assert [c["id"] for c in client.get("/api/cases").json()] == [case_id]
    case = client.get(f"/api/cases/{case_id}").json()
    assert case["name"] == "Harbour fire" and case["images"] == [] and case["runs"] == []
    assert case["settings"] == {"online": False, "allow_image_upload": False, "model": None, "review": True}

    photo = jpeg_with_gps(38.7223, -9.1393)
    ids = upload(client, case_id, photo, name="../../etc/passwd", review=False)
    run = wait_status(client, ids["run_id"], {"done", "failed"})
    assert run["status"] == "done", run
    assert run["result"]["lat"] == pytest.approx(38.7223, abs=1e-3)
    assert run["result"]["lon"] == pytest.approx(-9.1393, abs=1e-3)
    assert run["candidates"] and any(e["kind"] == "exif" or "exif" in str(e["kind"]) for e in run["evidence"])

    case = client.get(f"/api/cases/{case_id}").json()
    [image] = case["images"]
    assert image["id"] == ids["image_id"] and image["filename"] == "passwd"  # a label, never a path
    assert image["sha256"] == hashlib.sha256(photo).hexdigest()
    [listed] = case["runs"]
    assert listed["status"] == "done" and listed["result"]["confidence"] > 0 and "radius_km" in listed["result"]

    # the original, byte for byte (EXIF kept), stored read-only under its SHA-256
    assert client.get(f"/api/images/{image['id']}").content == photo
    stored = ws.originals.path(image["sha256"])
    assert (stored.read_bytes() == photo and not os.access(stored, os.W_OK)) or os.getuid() == 0
    assert oct(stored.stat().st_mode & 0o777) == "0o444"

    note = client.post(
        f"/api/cases/{case_id}/notes", json={"text": "matches the ferry timetable", "image_id": image["id"]}
    )
    assert note.status_code == 201
    assert client.get(f"/api/cases/{case_id}").json()["notes"][0]["text"] == "matches the ferry timetable"

    # the same photo again: one image, a second run
    again = upload(client, case_id, photo, review=False)
    assert again["image_id"] == ids["image_id"] and again["run_id"] != ids["run_id"]
    wait_status(client, again["run_id"], {"done"})

    actions = [a["action"] for a in ws.store.audit_log(case_id)]
    assert actions[:2] == ["case_created", "image_added"]
    assert {"run_queued", "run_started", "run_done", "note_added"} <= set(actions)

    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/healthz",
        "/api/cases",
        "/api/cases/{case_id}",
        "/api/cases/{case_id}/images",
        "/api/runs/{run_id}/events",
        "/api/runs/{run_id}/review",
        "/api/cases/{case_id}/notes",
        "/api/cases/{case_id}/export",
    ):
        assert path in paths


def test_review_from_the_api(client: TestClient, ws: Workspace) -> None:
    case_id = new_case(client)
    ids = upload(client, case_id, jpeg_with_gps(48.8584, 2.2945), hint="France")
    run = wait_status(client, ids["run_id"], {"awaiting_review", "done", "failed"})
    assert run["status"] == "awaiting_review", run
    candidates = run["review_request"]["candidates"]
    assert candidates and client.get(f"/api/cases/{case_id}").json()["runs"][0]["review_request"]

    bad = client.post(f"/api/runs/{ids['run_id']}/review", json={"select": len(candidates) + 5})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_candidate"
    response = client.post(f"/api/runs/{ids['run_id']}/review", json={"select": 0, "note": "the tower is visible"})
    assert response.status_code == 202
    assert client.post(f"/api/runs/{ids['run_id']}/review", json={}).status_code == 409
    run = wait_status(client, ids["run_id"], {"done", "failed"})
    assert run["status"] == "done", run
    trace = read_trace(ws.pool.trace_path(ws.store.run(ids["run_id"])))
    [review] = trace.of_kind("review")
    assert review.decision["select"] == 0 and review.decision["note"] == "the tower is visible"
    assert trace.finished
    assert ws.store.decisions(case_id)[0]["decision"]["select"] == 0


def test_exports_hold_the_proof(client: TestClient, ws: Workspace) -> None:
    case_id = new_case(client)
    photo = jpeg_with_gps(-33.8568, 151.2153)
    ids = upload(client, case_id, photo, name='=HYPERLINK("x")<script>.jpg', review=False)
    wait_status(client, ids["run_id"], {"done"})

    geo = client.get(f"/api/cases/{case_id}/export", params={"format": "geojson"}).json()
    answer = [f for f in geo["features"] if f["properties"]["role"] == "answer"]
    assert answer and answer[0]["properties"]["run_id"] == ids["run_id"]
    assert answer[0]["geometry"]["coordinates"][1] == pytest.approx(-33.8568, abs=1e-3)

    kml = client.get(f"/api/cases/{case_id}/export", params={"format": "kml"})
    root = ET.fromstring(kml.content)
    assert b"<script>" not in kml.content and "&lt;script&gt;" in kml.text
    assert root.find(".//{http://www.opengis.net/kml/2.2}Placemark") is not None

    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/cases/{case_id}/export?format=csv").text)))
    assert rows[0]["trace_file"] == f"traces/{ids['run_id']}.jsonl" and rows[0]["image"].startswith("'=")
    assert float(rows[0]["lat"]) == pytest.approx(-33.8568, abs=1e-3)

    response = client.get(f"/api/cases/{case_id}/export", params={"format": "zip"})
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(bundle.read("manifest.json"))
    names = {f["path"] for f in manifest["files"]}
    assert f"originals/{hashlib.sha256(photo).hexdigest()}.jpg" in names
    assert f"traces/{ids['run_id']}.jsonl" in names and f"reports/{ids['run_id']}.html" in names
    for entry in manifest["files"]:
        assert hashlib.sha256(bundle.read(entry["path"])).hexdigest() == entry["sha256"]
    assert bundle.read(f"originals/{hashlib.sha256(photo).hexdigest()}.jpg") == photo
    report = bundle.read(f"reports/{ids['run_id']}.html").decode()
    assert "<script>.jpg" not in report
    assert "exported" in [a["action"] for a in ws.store.audit_log(case_id)]
    assert client.get(f"/api/cases/{case_id}/export", params={"format": "pdf"}).status_code == 422
    assert list(ws.exports_dir.iterdir()) == []  # the zip's temporary file is gone


def test_rerun_and_settings(client: TestClient) -> None:
    case_id = new_case(client, review=False)
    settings = client.patch(f"/api/cases/{case_id}", json={"online": True}).json()
    assert settings["online"] is True
    remote = client.patch(f"/api/cases/{case_id}", json={"model": "openai:m@https://models.example/v1"})
    assert remote.status_code == 422 and remote.json()["error"]["code"] == "model_needs_online"
    ids = upload(client, case_id, jpeg_with_gps(1.0, 2.0), online=False)
    first = wait_status(client, ids["run_id"], {"done"})
    assert first["online"] is False
    assert client.post(f"/api/runs/{ids['run_id']}/review", json={}).status_code == 409
    again = client.post(f"/api/runs/{ids['run_id']}/rerun")
    assert again.status_code == 201
    run = wait_status(client, again.json()["run_id"], {"done"})
    assert run["rerun_of"] == ids["run_id"]


BIG = 60 * 2**20


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("text file", 415, "not_an_image"),
        ("zero bytes", 400, "empty_file"),
        ("60 MB", 413, "too_large"),
        ("bomb", 413, "too_many_pixels"),
        ("truncated jpeg", 415, "not_an_image"),
        ("unknown case", 404, "unknown_case"),
        ("bad token", 401, "bad_token"),
        ("no token", 401, "bad_token"),
        ("token in cookie only", 403, "token_header_required"),
        ("token in query only", 403, "token_header_required"),
        ("foreign host", 400, "bad_host"),
        ("hint too long", 422, "invalid"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(ws: Workspace, what: str, status: int, code: str) -> None:
    client = TestClient(ws.asgi, base_url=BASE)
    case_id = client.post("/api/cases", json={"name": "c"}, headers=AUTH).json()["id"]
    target, headers, params, data, form = case_id, dict(AUTH), {}, jpeg_with_gps(1, 2), {}
    if what == "text file":
        data = b"Meeting notes: not a photo at all.\n" * 10
    elif what == "zero bytes":
        data = b""
    elif what == "60 MB":
        data = b"\xff\xd8\xff" + b"\0" * BIG
    elif what == "bomb":
        data = png_header_only(40_000, 40_000)
    elif what == "truncated jpeg":
        data = jpeg_with_gps(1, 2)[:200]
    elif what == "unknown case":
        target = "nope"
    elif what == "bad token":
        headers = {"X-GeoSleuth-Token": "wrong"}
    elif what == "no token":
        headers = {}
    elif what == "token in cookie only":
        headers = {"Cookie": f"geosleuth_token={TOKEN}"}
    elif what == "token in query only":
        headers, params = {}, {"token": TOKEN}
    elif what == "foreign host":
        headers = {**AUTH, "Host": "attacker.example:8765"}
    elif what == "hint too long":
        form = {"hint": "Portugal " * 100}
    response = client.post(
        f"/api/cases/{target}/images",
        headers=headers,
        params=params,
        files={"file": ("x.jpg", data, "image/jpeg")},
        data=form,
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    case = client.get(f"/api/cases/{case_id}", headers=AUTH).json()
    assert case["images"] == [] and case["runs"] == []
    assert not any(p.is_file() for p in ws.originals.root.rglob("*"))


def test_reads_need_the_token_and_a_local_host(ws: Workspace) -> None:
    client = TestClient(ws.asgi, base_url=BASE)
    assert client.get("/api/cases").status_code == 401
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/api/cases", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    first = client.get("/api/cases", params={"token": TOKEN})
    assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
    assert client.get("/api/cases").status_code == 200  # the cookie the query token set
    assert client.get("/api/cases", headers={"Host": "evil.example"}).json()["error"]["code"] == "bad_host"
    assert client.get("/api/cases/nope", headers=AUTH).status_code == 404
    assert client.get("/api/runs/nope/events", headers=AUTH).status_code == 404
    response = client.get("/api/cases", headers=AUTH)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.post("/api/cases", json={"name": ""}, headers=AUTH).json()["error"]["code"] == "invalid"


def _imports(folder: Path) -> set[str]:
    import ast

    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_layers_workspace_above_agent_never_beside_evals() -> None:
    root = Path(__file__).resolve().parent.parent
    assert "evals" not in _imports(root / "workspace")
    for below in ("agent", "graphs", "tools"):
        assert "workspace" not in _imports(root / below), below


def test_serve_command_and_the_audit_log_is_append_only(tmp_path: Path) -> None:
    import argparse

    import sqlalchemy as sa

    from workspace import db
    from workspace.cli import config_from, register_serve
    from workspace.store import Store

    parser = argparse.ArgumentParser()
    register_serve(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--data", str(tmp_path), "--port", "9999", "--token", "abc"])
    config = config_from(args)
    assert (config.host, config.port, config.token) == ("127.0.0.1", 9999, "abc")
    assert config.url() == "http://127.0.0.1:9999/?token=abc"
    assert config_from(parser.parse_args(["serve"])).token != config_from(parser.parse_args(["serve"])).token

    store = Store(tmp_path / "w.sqlite")
    assert db.current_revision(store.engine) == "0001"
    store.create_case("c")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(db.audit.delete())
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(db.audit.update().values(action="x"))
    store.close()
    Store(tmp_path / "w.sqlite").close()  # a second start finds the schema current


def test_a_body_without_length_is_cut_off_at_the_limit(ws: Workspace, client: TestClient) -> None:
    case_id = new_case(client)
    head = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    body = head + b"\xff" * (12 * 2**20) + b"\r\n--XX--\r\n"

    def chunks():  # streamed: no Content-Length to refuse it by
        for start in range(0, len(body), 2**16):
            yield body[start : start + 2**16]

    response = client.post(
        f"/api/cases/{case_id}/images", content=chunks(), headers={"content-type": "multipart/form-data; boundary=XX"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert client.get(f"/api/cases/{case_id}").json()["images"] == []


def test_geosleuth_serve_is_wired_through_the_commands_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry point pyproject declares loads and gives ``geosleuth`` its ``serve`` command
    (the installed metadata may predate it, so the declared one is handed to the CLI)."""
    import importlib.metadata
    import tomllib

    from agent import cli

    root = Path(__file__).resolve().parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"]["geosleuth.commands"]
    assert declared["serve"] == "workspace.cli:register_serve"
    points = [
        importlib.metadata.EntryPoint(name, value, "geosleuth.commands")
        for name, value in declared.items()
        if name == "serve"
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    args = cli.build_parser().parse_args(["serve", "--port", "8899", "--token", "x"])
    assert (args.port, args.token, args.host) == (8899, "x", "127.0.0.1")
    assert args.handler.__module__ == "workspace.cli"


def test_one_server_per_data_folder(ws: Workspace) -> None:
    from tools.errors import ConfigError

    with pytest.raises(ConfigError, match="another geosleuth server"):
        Workspace(WorkspaceConfig(data_dir=ws.data_dir, token=TOKEN))
