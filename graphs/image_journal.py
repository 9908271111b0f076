"""Every image a run registers becomes its own trace step.

Images are registered while a tool runs (a crop, OCR's zoom passes), but the tool-call
step is written when the call returns. The journal holds registrations until then and
writes them right after their call, each naming the call that made it (``made_by``);
input images are written at once.
"""

from __future__ import annotations

import threading
from typing import Any

from .trace import TraceRecorder


class ImageJournal:
    def __init__(self, recorder: TraceRecorder) -> None:
        self.recorder = recorder
        self._pending: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, entry: Any) -> None:
        """The image registry's listener."""
        with self._lock:
            self._pending.append(entry)

    def flush(self, node: str, made_by: int | None) -> list[int]:
        """Write the images registered since the last flush, made by step ``made_by``."""
        with self._lock:
            entries, self._pending = self._pending, []
        return [self.recorder.image(node, entry, made_by) for entry in entries]
