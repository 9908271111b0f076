"""The network switch: which tool calls may leave the machine in this run.

Offline is the default. A run is online only when asked (``Agent(online=True)``,
``--online``, ``GEOSLEUTH_ONLINE=1``, a workspace case set online), optionally for some
services only; sending the photo itself somewhere (reverse image search) needs its own
permission besides. The graph asks this policy before every tool call; the tool answers
whether *that call* would leave the machine (an OSM query on a local index does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool


def call_leaves_machine(tool: BaseTool, arguments: dict[str, Any]) -> bool:
    """Whether a call would send anything off this machine; a tool that cannot say is
    asked through its ``online`` flag, and one that fails to answer counts as leaving."""
    asker = getattr(tool, "leaves_machine", None)
    if callable(asker):
        try:
            return bool(asker(arguments))
        except Exception:  # noqa: BLE001 - unsure means "it may leave"
            return True
    return bool(getattr(tool, "online", False))


def call_uploads_image(tool: BaseTool) -> bool:
    return bool(getattr(tool, "uploads_image", False))


@dataclass(frozen=True)
class NetworkPolicy:
    """``online``: the network may be used; ``services``: only these tool names or kinds
    (None: all); ``allow_image_upload``: the photo itself may be sent."""

    online: bool = False
    services: frozenset[str] | None = None
    allow_image_upload: bool = False

    @classmethod
    def coerce(cls, online: bool | Iterable[str] | None, allow_image_upload: bool = False) -> NetworkPolicy:
        if online is None or isinstance(online, bool):
            return cls(bool(online), None, allow_image_upload)
        services = frozenset(str(s).strip() for s in online if str(s).strip())
        return cls(bool(services), services or None, allow_image_upload)

    def refusal(self, tool: BaseTool, name: str, kind: str, arguments: dict[str, Any]) -> str | None:
        """Why this call may not run (None: it may)."""
        if not call_leaves_machine(tool, arguments):
            return None
        if not self.online:
            return (
                f"offline: {name} would send data off this machine and the run is offline "
                "(allow it with --online, Agent(online=True) or GEOSLEUTH_ONLINE=1)"
            )
        if self.services is not None and name not in self.services and kind not in self.services:
            return f"offline: {name} is not among the services this run may use ({', '.join(sorted(self.services))})"
        if call_uploads_image(tool) and not self.allow_image_upload:
            return (
                f"offline: {name} would upload the photo itself; that needs its own permission "
                "(--allow-image-upload, Agent(allow_image_upload=True))"
            )
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "services": sorted(self.services) if self.services else None,
            "allow_image_upload": self.allow_image_upload,
        }
