"""The server's settings: where the data lives, who may talk to it, and its limits."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_PIXELS = 100_000_000
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def default_data_dir() -> Path:
    """The user data folder (``~/.local/share/geosleuth/workspace`` on Linux)."""
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("geosleuth", appauthor=False)) / "workspace"
    except ImportError:
        return Path.home() / ".local" / "share" / "geosleuth" / "workspace"


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class WorkspaceConfig:
    """``agent_factory`` builds the Agent for a run's settings (see ``workspace.runner``);
    tests and embedders pass their own, the server uses the default."""

    data_dir: Path = field(default_factory=default_data_dir)
    token: str = field(default_factory=lambda: os.environ.get("GEOSLEUTH_TOKEN") or new_token())
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 2
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    allowed_hosts: frozenset[str] = frozenset()
    agent_factory: Callable[[Any], Any] | None = None

    def hosts(self) -> frozenset[str]:
        """Host names a request may name (DNS rebinding: a foreign name is refused)."""
        extra = {self.host.lower()} if self.host not in ("0.0.0.0", "::", "") else set()
        return LOCAL_HOSTS | extra | {h.lower() for h in self.allowed_hosts}

    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/?token={self.token}"
