"""Load benchmark of the workspace: ``python -m evals.bench workspace``.

A real ``geosleuth serve`` process on 127.0.0.1 (its own data folder, the default Agent:
heuristic playbook with OCR, offline) receives 20 photos uploaded by 5 concurrent clients
into one case, while a sixth client reads the case (``GET /api/cases/{id}``) every 100 ms
as a page would. Figures: upload latency, how long until every run finished, whether every
image and run is there and done, and the latency of the case read while runs were working
(goal: p95 <= 100 ms). The photos are the real set (``shared/data/photos``) and the example;
when there are fewer than asked, re-encoded copies (different bytes, EXIF kept) fill up.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "photos" / "photos.jsonl"
FINISHED = {"done", "failed", "interrupted"}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="photos.jsonl of the real photo set")
    parser.add_argument("--count", type=int, default=20, help="photos to upload (default 20)")
    parser.add_argument("--clients", type=int, default=5, help="concurrent uploading clients (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="the server's run workers (default 2)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for every run")
    parser.add_argument("--keep", action="store_true", help="keep the server's data folder and log")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON")


def _photos(listing: Path, count: int) -> list[tuple[str, bytes]]:
    files: list[Path] = []
    if listing.exists():
        for line in listing.read_text().splitlines():
            if line.strip():
                files.append(listing.parent / json.loads(line)["image"])
    example = ROOT / "examples" / "lisbon_street.jpg"
    if example.exists():
        files.append(example)
    if not files:
        raise SystemExit(f"no photos at {listing} and no example image")
    photos = [(f.name, f.read_bytes()) for f in files[:count]]
    quality = 92
    while len(photos) < count:  # re-encoded copies: other bytes, same scene, EXIF kept
        name, data = photos[len(photos) % len(files)]
        image = Image.open(io.BytesIO(data))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=quality, exif=image.info.get("exif", b""))
        photos.append((f"q{quality}-{name}", buffer.getvalue()))
        quality -= 1
    return photos


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def bench_workspace(
    photos_listing: Path = DEFAULT_PHOTOS,
    count: int = 20,
    clients: int = 5,
    workers: int = 2,
    timeout: float = 900,
    keep: bool = False,
) -> dict[str, Any]:
    photos = _photos(photos_listing, count)
    token = secrets.token_urlsafe(16)
    port = _free_port()
    data = Path(tempfile.mkdtemp(prefix="geosleuth-bench-workspace-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable,
        "-m",
        "workspace",
        "serve",
        "--data",
        str(data),
        "--port",
        str(port),
        "--token",
        token,
        "--workers",
        str(workers),
    ]
    log = (data.parent / f"{data.name}.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    headers = {"X-GeoSleuth-Token": token}
    try:
        probe = httpx.Client(base_url=base, headers=headers, timeout=30)
        started = time.monotonic()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server stopped; see {log.name}")
            try:
                if probe.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        startup_s = time.monotonic() - started
        case_id = probe.post("/api/cases", json={"name": "load benchmark", "review": False}).json()["id"]
        idle = []  # the same read with nothing working: what the machine itself costs
        for _ in range(50):
            t0 = time.perf_counter()
            probe.get(f"/api/cases/{case_id}").raise_for_status()
            idle.append(time.perf_counter() - t0)
            time.sleep(0.02)

        reads: list[float] = []
        stop = threading.Event()

        def reader() -> None:
            client = httpx.Client(base_url=base, headers=headers, timeout=30)
            while not stop.is_set():
                t0 = time.perf_counter()
                case = client.get(f"/api/cases/{case_id}").json()
                elapsed = time.perf_counter() - t0
                working = any(r["status"] not in FINISHED for r in case["runs"])
                if working:
                    reads.append(elapsed)
                time.sleep(0.1)

        uploads: list[float] = []
        run_ids: list[str] = []
        lock = threading.Lock()

        def uploader(mine: list[tuple[str, bytes]]) -> None:
            client = httpx.Client(base_url=base, headers=headers, timeout=120)
            for name, body in mine:
                t0 = time.perf_counter()
                response = client.post(f"/api/cases/{case_id}/images", files={"file": (name, body, "image/jpeg")})
                elapsed = time.perf_counter() - t0
                response.raise_for_status()
                with lock:
                    uploads.append(elapsed)
                    run_ids.append(response.json()["run_id"])

        watcher = threading.Thread(target=reader, daemon=True)
        watcher.start()
        t_upload = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(uploader, [photos[i::clients] for i in range(clients)]))
        uploads_s = time.monotonic() - t_upload
        deadline = time.monotonic() + timeout
        while True:
            case = probe.get(f"/api/cases/{case_id}").json()
            if all(r["status"] in FINISHED for r in case["runs"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        all_done_s = time.monotonic() - t_upload
        stop.set()
        watcher.join(5)
        statuses = [r["status"] for r in case["runs"]]
        return {
            "photos": len(photos),
            "clients": clients,
            "workers": workers,
            "server_start_s": round(startup_s, 2),
            "uploads_wall_s": round(uploads_s, 2),
            "upload_p50_ms": round(1000 * statistics.median(uploads), 1),
            "upload_p95_ms": round(1000 * _pct(uploads, 0.95), 1),
            "all_runs_finished_s": round(all_done_s, 1),
            "images_stored": len(case["images"]),
            "runs_recorded": len(case["runs"]),
            "runs_done": statuses.count("done"),
            "runs_failed": statuses.count("failed"),
            "runs_unfinished": sum(s not in FINISHED for s in statuses),
            "runs_uploaded": len(run_ids),
            "runs_lost": len(set(run_ids) - {r["id"] for r in case["runs"]}),
            "case_read_idle_p50_ms": round(1000 * _pct(idle, 0.5), 1),
            "case_read_idle_p95_ms": round(1000 * _pct(idle, 0.95), 1),
            "case_reads_while_working": len(reads),
            "case_read_p50_ms": round(1000 * _pct(reads, 0.5), 1),
            "case_read_p95_ms": round(1000 * _pct(reads, 0.95), 1),
            "case_read_max_ms": round(1000 * max(reads), 1) if reads else None,
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if keep:
            print(f"data kept in {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)
            Path(log.name).unlink(missing_ok=True)


def format_workspace(f: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"workspace: {f['photos']} photos by {f['clients']} clients, {f['workers']} run workers "
            f"(server start {f['server_start_s']} s)",
            f"  uploads: all in {f['uploads_wall_s']} s; each p50 {f['upload_p50_ms']} ms, p95 {f['upload_p95_ms']} ms",
            f"  runs: {f['runs_done']} done, {f['runs_failed']} failed, {f['runs_unfinished']} unfinished, "
            f"{f['runs_lost']} lost; {f['images_stored']} images and {f['runs_recorded']} runs stored; "
            f"all finished {f['all_runs_finished_s']} s after the first upload",
            f"  GET /api/cases/{{id}} while runs work ({f['case_reads_while_working']} reads): "
            f"p50 {f['case_read_p50_ms']} ms, p95 {f['case_read_p95_ms']} ms (goal <= 100), "
            f"max {f['case_read_max_ms']} ms; with nothing working p50 {f['case_read_idle_p50_ms']} ms, "
            f"p95 {f['case_read_idle_p95_ms']} ms",
        ]
    )


def run(args: Any) -> int:
    figures = bench_workspace(args.photos, args.count, args.clients, args.workers, args.timeout, args.keep)
    print(json.dumps(figures, indent=2) if args.json else format_workspace(figures))
    return 0 if figures["runs_lost"] == 0 and figures["runs_unfinished"] == 0 else 1
