"""Test support for the workspace: cheap paced runs and a real server on 127.0.0.1.

``paced_agents`` is the Agent factory the tests give the server (in-process, or through
GEOSLEUTH_WORKSPACE_AGENT_FACTORY in a subprocess): the heuristic playbook without OCR,
waiting ``GEOSLEUTH_TEST_PACE_S`` seconds before each planning step, so that a run is cheap
yet lasts long enough to be watched, killed or streamed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from agent import Agent
from graphs.policies.heuristic import HeuristicPolicy
from graphs.policy import register_policy


@register_policy
class PacedPolicy(HeuristicPolicy):
    name = "paced"

    def plan(self, view: Any) -> Any:
        time.sleep(float(os.environ.get("GEOSLEUTH_TEST_PACE_S", "0")))
        return super().plan(view)


def paced_agents(settings: Any) -> Agent:
    return Agent(policy=PacedPolicy(), disable=["ocr"], online=settings.online)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving an ASGI app on 127.0.0.1 in a thread (for streaming responses)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)
