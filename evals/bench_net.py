"""Memory and time under hostile services and inputs (``python -m evals.bench net``).

A local server in another process streams a 200 MB body (generated on the fly, never
held in memory) with and without a Content-Length; the network client must refuse it
at its size cap with a small, bounded peak RSS (goal: under 1.5 GB; before the cap the
body was read whole, 1.9 GB). A whole run whose web search hits that server, with a
5 s wall-time budget, is timed too, and so is refusing a 2 GB image file (size checked
before reading; before, it was read whole: 137 s, 2.2 GB). Figures, not tests.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BODY_MB = 200


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _serve(port_queue: Any) -> None:
    """Serve ``/declared`` and ``/chunked`` as 200 MB streams, in a child process."""
    block = b" " * (1 << 20)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.path.startswith("/declared"):
                self.send_header("Content-Length", str(BODY_MB << 20))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(BODY_MB):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _timed(fn: Any) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        fn()
        outcome = "accepted"
    except Exception as exc:  # noqa: BLE001 - the figure is what happened
        outcome = f"{type(exc).__name__}: {exc}"
    return round(time.perf_counter() - started, 3), outcome


def bench_net() -> dict[str, Any]:
    from PIL import Image

    from agent import Agent
    from graphs.policies.scripted import ScriptedPolicy
    from tools.images import load_image
    from tools.net import HostPacer, NetClient, NetSettings

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    figures: dict[str, Any] = {"body_mb": BODY_MB, "rss_start_mb": round(_peak_rss_mb(), 1)}
    try:
        base = f"http://127.0.0.1:{ports.get(timeout=30)}"
        with tempfile.TemporaryDirectory() as folder:
            client = NetClient(NetSettings(cache_dir=Path(folder), min_interval_s=0.0, retries=0), pacer=HostPacer())
            for name in ("declared", "chunked"):
                seconds, outcome = _timed(lambda name=name: client.get_json(f"{base}/{name}", use_cache=False))
                figures[f"{name}_s"] = seconds
                figures[f"{name}_outcome"] = outcome
                figures[f"{name}_peak_rss_mb"] = round(_peak_rss_mb(), 1)

            policy = ScriptedPolicy(rounds=[[("web_search", {"query": "x"})]])
            settings = {
                "search_backend": "searxng",
                "searxng_url": f"{base}/chunked",
                "net_cache_dir": folder,
                "net_min_interval_s": 0.0,
            }
            agent = Agent(policy=policy, tool_settings=settings)
            image = Image.new("RGB", (64, 48))
            started = time.perf_counter()
            location = agent.locate(image, use_metadata=False, budget={"max_seconds": 5})
            figures["run_s"] = round(time.perf_counter() - started, 3)
            failed = [s.get("error") for s in location.trace or [] if s.get("kind") == "tool_call" and s.get("error")]
            figures["run_fault"] = failed[0] if failed else None
            figures["run_peak_rss_mb"] = round(_peak_rss_mb(), 1)

            huge = Path(folder) / "huge.jpg"
            with huge.open("wb") as handle:
                handle.truncate(2_000_000_000)  # sparse: no disk used, and it must not be read
            seconds, outcome = _timed(lambda: load_image(huge))
            figures["image_2gb_s"] = seconds
            figures["image_2gb_outcome"] = outcome
    finally:
        server.terminate()
        server.join(5)
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return figures


def format_net(figures: dict[str, Any]) -> str:
    lines = [f"{figures['body_mb']} MB response body, local server in another process:"]
    for name in ("declared", "chunked"):
        label = "with Content-Length" if name == "declared" else "streamed, no length"
        lines.append(
            f"  {label:<20} {figures[f'{name}_s']:>7.3f} s  peak RSS {figures[f'{name}_peak_rss_mb']} MB  "
            f"-> {figures[f'{name}_outcome']}"
        )
    lines.append(
        f"  whole run, 5 s budget {figures['run_s']:>6.3f} s  peak RSS {figures['run_peak_rss_mb']} MB  "
        f"-> {figures['run_fault']}"
    )
    lines.append(f"2 GB image file refused in {figures['image_2gb_s']} s -> {figures['image_2gb_outcome']}")
    lines.append(f"process peak RSS {figures['peak_rss_mb']} MB (goal: under 1500 MB)")
    return "\n".join(lines)
