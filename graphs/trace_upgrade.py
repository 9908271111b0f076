"""Reading version-1 traces: each record is upgraded to the version-2 shape on read.

Version 1 wrote untyped steps whose shape depended on the code that wrote them
(``candidates`` a dict from propose and a list from verify, errors in three shapes,
timing and cache state inside tool outputs, derived images only inside tool outputs).
This module maps those shapes onto the v2 models once, so no reader has to know them.
Derived images are rebuilt as ``image`` steps from what v1 outputs said about them.
"""

from __future__ import annotations

from typing import Any

from tools.images import compose

from .trace_schema import TRACE_VERSION

_VOLATILE_V1 = ("elapsed_s", "seconds", "cached", "attempts", "endpoint")


def _tool_kinds() -> dict[str, str]:
    from tools.registry import default_registry

    return {name: str(spec.kind) for name, spec in default_registry().specs.items()}


def upgrade_header(record: dict[str, Any]) -> dict[str, Any]:
    config = dict(record.get("config") or {})
    policy = config.pop("policy", None) or {}
    kinds = _tool_kinds()
    names = config.pop("tools", None) or []
    return {
        **{k: v for k, v in record.items() if k not in ("config", "version")},
        "version": TRACE_VERSION,
        "source_version": record.get("version"),
        "config": config,
        "policy": policy,
        "tools": [{"name": n, "kind": kinds.get(n, "other")} for n in names if isinstance(n, str)],
    }


def _split_volatile(data: Any) -> tuple[Any, dict[str, Any]]:
    """v1 kept timing and cache state inside tool data; v2 keeps them in ``meta``."""
    if not isinstance(data, dict):
        return data, {}
    meta = {k: data[k] for k in _VOLATILE_V1 if k in data}
    clean = {k: v for k, v in data.items() if k not in _VOLATILE_V1}
    stages = clean.get("stages")
    if isinstance(stages, list):
        meta["stage_seconds"] = [s.get("seconds") if isinstance(s, dict) else None for s in stages]
        clean["stages"] = [{k: v for k, v in s.items() if k != "seconds"} if isinstance(s, dict) else s for s in stages]
    return clean, meta


class _ImageMaps:
    """Tracks each handle's map to root pixels while v1 steps are upgraded."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.to_root: dict[str, tuple[float, float, float, float] | None] = {
            str(i.get("handle")): (1.0, 1.0, 0.0, 0.0) for i in header.get("images") or [] if isinstance(i, dict)
        }

    def step(self, info: dict[str, Any], made_by: int, to_parent: Any) -> dict[str, Any] | None:
        handle = info.get("handle")
        if not isinstance(handle, str) or handle in self.to_root:
            return None
        parent = info.get("parent")
        to_root = compose(to_parent, self.to_root.get(parent) if isinstance(parent, str) else None)
        self.to_root[handle] = to_root
        return {
            "type": "step",
            "kind": "image",
            "node": "act",
            "name": handle,
            "handle": handle,
            "parent": parent,
            "operation": info.get("operation"),
            "to_parent": to_parent,
            "to_root": to_root,
            "width": int(info.get("width") or 0),
            "height": int(info.get("height") or 0),
            "sha256": info.get("sha256") or "",
            "made_by": made_by,
        }


def _to_parent(operation: Any, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    if not isinstance(operation, dict):
        return None
    op = operation.get("op")
    box = operation.get("box")
    if op == "enhance":
        return (1.0, 1.0, 0.0, 0.0)
    if op in ("crop", "zoom") and isinstance(box, list) and len(box) == 4 and size[0] and size[1]:
        left, top, right, bottom = (float(v) for v in box)
        return ((right - left) / size[0], (bottom - top) / size[1], left, top)
    return None


def _derived_images(output: dict[str, Any], maps: _ImageMaps, made_by: int) -> list[dict[str, Any]]:
    data = output.get("data") if isinstance(output, dict) else None
    if not isinstance(data, dict):
        return []
    found: list[dict[str, Any]] = []
    info = data.get("image")
    if isinstance(info, dict):
        size = (int(info.get("width") or 0), int(info.get("height") or 0))
        step = maps.step(info, made_by, _to_parent(info.get("operation"), size))
        if step:
            found.append(step)
    for stage in data.get("stages") or []:
        if not isinstance(stage, dict) or stage.get("image") == data.get("image"):
            continue
        handle, size = stage.get("image"), stage.get("size") or [0, 0]
        if handle not in (output.get("images") or []):
            continue
        operation = {"op": "zoom", "box": stage.get("box"), "by": "read_text"}
        info = {
            "handle": handle,
            "parent": data.get("image"),
            "operation": operation,
            "width": size[0],
            "height": size[1],
        }
        step = maps.step(info, made_by, _to_parent(operation, (int(size[0]), int(size[1]))))
        if step:
            found.append(step)
    return found


def upgrade_steps(header: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v1 step and footer records as v2 step records, renumbered in order."""
    kinds = _tool_kinds()
    maps = _ImageMaps(header)
    out: list[dict[str, Any]] = []
    for info in header.get("images") or []:
        if isinstance(info, dict):
            out.append(
                {
                    "type": "step",
                    "kind": "image",
                    "node": "ingest",
                    "name": info.get("handle", ""),
                    "handle": info.get("handle", ""),
                    "width": int(info.get("width") or 0),
                    "height": int(info.get("height") or 0),
                    "sha256": info.get("sha256") or "",
                    "path": info.get("path"),
                    "to_root": (1.0, 1.0, 0.0, 0.0),
                }
            )
    for record in records:
        if not isinstance(record, dict):
            out.append(record)
            continue
        if record.get("type") == "footer":
            error = record.get("error")
            out.append(
                {
                    "type": "step",
                    "kind": "final",
                    "node": "run",
                    "name": str(record.get("status") or ""),
                    "status": record.get("status") or "unknown",
                    "result": record.get("result"),
                    "error": {"message": str(error)} if error else None,
                    "timing": {"start": record.get("finished")},
                }
            )
            continue
        kind = record.get("kind")
        base = {
            "type": "step",
            "kind": kind,
            "node": record.get("node", ""),
            "name": record.get("name", ""),
            "timing": {"start": record.get("start"), "duration_s": record.get("duration_s") or 0.0},
            "meta": {},
        }
        output = record.get("output")
        arguments = record.get("arguments") if isinstance(record.get("arguments"), dict) else {}
        if kind == "tool_call":
            observation = dict(output) if isinstance(output, dict) else {"text": str(output or "")}
            observation["data"], meta = _split_volatile(observation.get("data"))
            if record.get("live"):
                meta["live"] = True
            step = {**base, "tool_kind": kinds.get(str(record.get("name")), "other"), "call_id": record.get("call_id")}
            step.update(arguments=arguments, observation=observation, meta=meta)
            out.append(step)
            out.extend(_derived_images(observation, maps, made_by=len(out) - 1))
        elif kind == "model_call":
            out.append(
                {
                    **base,
                    "arguments": arguments,
                    "output": output if isinstance(output, dict) else None,
                    "messages_digest": record.get("messages_digest") or "",
                    "raw_output": record.get("raw_output") or "",
                    "task": record.get("task"),
                }
            )
        elif kind == "evidence":
            out.append({**base, "evidence": output if isinstance(output, list) else []})
        elif kind == "candidates":
            if isinstance(output, dict):
                out.append(
                    {
                        **base,
                        "stage": "proposed",
                        "task": record.get("task") or record.get("name"),
                        "lane": arguments.get("lane"),
                        "sample": arguments.get("sample"),
                        "temperature": arguments.get("temperature"),
                        "candidates": output.get("candidates") or [],
                        "note": output.get("note") or "",
                    }
                )
            else:
                out.append({**base, "stage": "verified", "candidates": output if isinstance(output, list) else []})
        elif kind == "review":
            failed = isinstance(output, dict) and output.get("error")
            if failed:
                out.append({**base, "decision": arguments.get("decision") or {}, "error": {"message": output["error"]}})
            else:
                output = output if isinstance(output, dict) else {}
                out.append(
                    {
                        **base,
                        "decision": arguments,
                        "account": output.get("account"),
                        "before": output.get("before"),
                        "after": output.get("after"),
                    }
                )
        elif kind == "error":
            detail = output if isinstance(output, dict) else {"error": str(output)}
            message = detail.get("error") or detail.get("text") or record.get("error") or "error"
            out.append({**base, "arguments": arguments, "error": {"message": str(message), "type": detail.get("type")}})
        elif kind == "decision":
            out.append({**base, "arguments": arguments, "output": output if isinstance(output, dict) else {}})
        else:
            out.append({**record, **base})
    for number, step in enumerate(out):
        if isinstance(step, dict):
            step["index"] = number
    return out
