"""Reading traces in a terminal: a one-line-per-step timeline, and where two runs part ways.

``show`` is for "what did this run do, in what order, and how long did it take";
``diff`` is for "why did these two runs end differently": it names the first step where
the runs took another path or got another answer from the same call, then compares their
evidence and answers. Bookkeeping that differs between any two runs (timings, cache hits,
retry counts, service endpoints) is ignored, so a re-run of the same input reads as identical.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from graphs.trace import Trace
from tools.errors import TraceError
from tools.geo import haversine_km

from .exports import RunLike, as_location, as_trace
from .location import Location

#: Output fields that change from one run of the same input to the next.
VOLATILE_KEYS = frozenset({"elapsed_s", "seconds", "duration_s", "cached", "attempts", "endpoint", "start", "started"})
MAX_LISTED = 12


def _clip(text: str, width: int) -> str:
    """One line of at most ``width`` characters; control characters (a terminal escape in OCR
    text or a web snippet) are shown as ``\\xNN``, never sent to the terminal."""
    text = "".join(c if c.isprintable() or c.isspace() else f"\\x{ord(c):02x}" for c in str(text))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _compact(value: Any, width: int) -> str:
    if value in (None, {}, []):
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _clip(text, width)


def parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _point(lat: float | None, lon: float | None) -> str:
    return "no point" if lat is None or lon is None else f"{lat:.5f}, {lon:.5f}"


def step_summary(step: dict[str, Any], width: int = 90) -> str:
    """What one step did, in a few words: the call and its outcome."""
    kind, out = step["kind"], step.get("output")
    if kind == "tool_call":
        call = _compact(step.get("arguments"), width // 2)
        if step.get("error"):
            return f"{call} -> error: {_clip(step['error'], width // 2)}"
        text = out.get("text", "") if isinstance(out, dict) else out
        first = str(text or "").splitlines()[0] if text else ""
        images = f" [{', '.join(step['images'])}]" if step.get("images") else ""
        return f"{call} -> {_clip(first, width // 2)}{images}"
    if kind == "evidence" and isinstance(out, list):
        items = [f"{e.get('id')} {e.get('kind')} {e.get('value')!r}" for e in out if isinstance(e, dict)]
        return _clip(f"{len(items)} new: " + "; ".join(items), width)
    if kind == "candidates":
        cands = out.get("candidates") if isinstance(out, dict) else out
        if not isinstance(cands, list) or not cands:
            return "no candidates"
        top = max((c for c in cands if isinstance(c, dict)), key=lambda c: c.get("score", 0), default={})
        label = f"{top.get('label', '')} {_point(top.get('lat'), top.get('lon'))} score {top.get('score', 0):.3g}"
        return _clip(f"{len(cands)} candidates; best {label}", width)
    if kind == "model_call":
        raw = step.get("raw_output") or _compact(out, width)
        return _clip(f"digest {str(step.get('messages_digest', ''))[:8]} -> {raw}", width)
    if kind == "error" and isinstance(out, dict):
        return _clip(f"error: {out.get('error', '')}", width)
    if isinstance(out, dict):
        if step["node"] == "ingest" and isinstance(out.get("images"), list):
            images = [f"{i.get('handle')} {i.get('width')}x{i.get('height')} {i.get('source')}" for i in out["images"]]
            metadata = "on" if out.get("use_metadata") else "off"
            return _clip(f"{'; '.join(images)} (metadata {metadata})", width)
        if "tool_calls" in out:
            calls = [f"{c.get('name')}({_compact(c.get('args'), 40)})" for c in out["tool_calls"]]
            return _clip("plan: " + ", ".join(calls) if calls else "plan: " + str(out.get("rationale", "")), width)
        if "lat" in out and "confidence" in out:
            radius = f" ±{out['radius_km']:.3g} km" if out.get("radius_km") is not None else ""
            where = out.get("country_code") or ""
            return _clip(f"-> {_point(out['lat'], out['lon'])}{radius} conf {out['confidence']:.2f} {where}", width)
        if "reason" in out or "stop_reason" in out:
            return _clip(str(out.get("reason") or out.get("stop_reason")), width)
    return _compact(out, width)


def _answer_line(loc: Location) -> str:
    if loc.lat is None:
        return f"no answer: {loc.reason or 'no evidence'}"
    place = ", ".join(dict.fromkeys(x for x in (loc.city, loc.region, loc.country) if x))
    radius = f" ±{loc.radius_km:.3g} km" if loc.radius_km is not None else ""
    return f"answer: {_point(loc.lat, loc.lon)}{radius}, confidence {loc.confidence:.2f}" + (
        f" — {place}" if place else ""
    )


def show(trace: RunLike, width: int = 120) -> str:
    """The run as a timeline: header, one line per step (index, time since the first step,
    node, kind, name, what went in and came out), evidence counts and the final answer."""
    tr = as_trace(trace)
    header = tr.header
    config = header.get("config") or {}
    policy = (config.get("policy") or {}).get("name", "?") if isinstance(config.get("policy"), dict) else "?"
    lines = [
        f"run {header.get('run_id', '?')}  created {header.get('created', '?')}  policy {policy}  "
        f"strategy {config.get('strategy', '?')}  metadata {'on' if config.get('use_metadata') else 'off'}"
    ]
    for image in header.get("images") or []:
        line = f"{image.get('handle')}: {image.get('source')} {image.get('width')}x{image.get('height')}"
        lines.append("  " + _clip(line, 10 * width))
    origin = parse_time(tr.steps[0]["start"]) if tr.steps else None
    for step in tr.steps:
        when = parse_time(step["start"])
        rel = f"+{(when - origin).total_seconds():6.2f}s" if when and origin else "      ?"
        took = f"{step['duration_s']:.2f}s" if step.get("duration_s") else ""
        head = f"#{step['index']:<3} {rel} {step['node']:<9} {step['kind']:<10} {step['name']:<14} {took:>6}"
        lines.append(f"{head}  {step_summary(step, max(30, width - len(head) - 2))}")
    loc = _location_or_none(tr)
    if loc is not None and loc.evidence:
        kinds = Counter(e.kind for e in loc.evidence)
        lines.append(f"evidence ({len(loc.evidence)}): " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    footer = tr.footer
    if footer is None:
        lines.append(f"unfinished: no footer after {len(tr.steps)} steps")
    elif footer.get("status") != "ok":
        lines.append(f"status {footer.get('status')}: {footer.get('error') or ''}")
    if loc is not None and footer is not None and footer.get("result"):
        lines.append(_answer_line(loc))
    return "\n".join(lines)


def _location_or_none(trace: Trace) -> Location | None:
    try:
        return as_location(trace)
    except TraceError:
        return None


def stable(value: Any) -> Any:
    """``value`` without the fields that differ between two runs of the same input."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def _call(step: dict[str, Any]) -> tuple[Any, ...]:
    return (step["node"], step["kind"], step["name"], stable(step.get("arguments")))


def _side(label: str, step: dict[str, Any]) -> str:
    return f"  {label}: {step['node']} {step['kind']} {step['name']} {step_summary(step, 100)}"


def _where_differ(a: Any, b: Any, path: str = "") -> str:
    """The first JSON path at which two values differ ("output.images[0].sha256")."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key) or (key in a) != (key in b):
                return _where_differ(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _where_differ(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
    return path


def first_divergence(a: Trace, b: Trace) -> tuple[int, str] | None:
    """(step index, what differs) for the first step that differs, or None if none does."""
    for sa, sb in zip(a.steps, b.steps):
        if _call(sa) != _call(sb):
            return sa["index"], "took another path"
        if sa.get("raw_output") != sb.get("raw_output"):
            return sa["index"], "same model call, different raw output"
        oa, ob = stable(sa.get("output")), stable(sb.get("output"))
        if oa != ob:
            return sa["index"], f"same call, different output (at {_where_differ(oa, ob, 'output')})"
    if len(a.steps) != len(b.steps):
        return min(len(a.steps), len(b.steps)), "one run stops earlier"
    return None


def diff(a: RunLike, b: RunLike) -> str:
    """Where two runs first diverge, then how their evidence and answers differ."""
    ta, tb = as_trace(a), as_trace(b)
    names = (str(ta.path or "A"), str(tb.path or "B"))
    lines = [f"A: {names[0]} ({len(ta.steps)} steps)", f"B: {names[1]} ({len(tb.steps)} steps)"]
    hashes = [[i.get("sha256") for i in t.header.get("images") or []] for t in (ta, tb)]
    lines.append("inputs: the same images" if hashes[0] == hashes[1] else "inputs: different images")
    split = first_divergence(ta, tb)
    if split is None:
        lines.append(f"steps: identical ({len(ta.steps)} steps)")
    else:
        index, why = split
        lines.append(f"first divergence at step #{index}: {why}")
        for label, tr in (("A", ta), ("B", tb)):
            lines.append(_side(label, tr.steps[index]) if index < len(tr.steps) else f"  {label}: (ends here)")
    la, lb = _location_or_none(ta), _location_or_none(tb)
    ea = Counter((e.kind, e.value) for e in (la.evidence if la else []))
    eb = Counter((e.kind, e.value) for e in (lb.evidence if lb else []))
    only_a, only_b = ea - eb, eb - ea
    if not only_a and not only_b:
        lines.append(f"evidence: identical ({sum(ea.values())} items)")
    else:
        lines.append(
            f"evidence: {sum((ea & eb).values())} shared, {sum(only_a.values())} only in A, "
            f"{sum(only_b.values())} only in B"
        )
        for sign, label, items in (("-", "A", list(only_a)), ("+", "B", list(only_b))):
            lines += [f"  {sign} {label} only: {_clip(f'{k}: {v}', 110)}" for k, v in items[:MAX_LISTED]]
            if len(items) > MAX_LISTED:
                lines.append(f"  {sign} ... {len(items) - MAX_LISTED} more only in {label}")
    lines += _answer_diff(la, lb)
    if split is None and not only_a and not only_b and lines[-1].startswith("answers: identical"):
        lines.append("the runs are identical")
    return "\n".join(lines)


def _answer_diff(la: Location | None, lb: Location | None) -> list[str]:
    if la is None or lb is None:
        return ["answers: cannot compare (a run has no result)"]
    fields = ("lat", "lon", "confidence", "radius_km", "country_code", "region", "city")
    if all(getattr(la, f) == getattr(lb, f) for f in fields):
        return [f"answers: identical ({_answer_line(la)})"]
    out = ["answers differ:", f"  A {_answer_line(la)}", f"  B {_answer_line(lb)}"]
    if la.point and lb.point:
        out.append(f"  distance between answers: {haversine_km(*la.point, *lb.point):.3f} km")
    out.append(f"  confidence: {la.confidence:.3f} vs {lb.confidence:.3f}")
    if la.country_code != lb.country_code:
        out.append(f"  country: {la.country_code or '-'} vs {lb.country_code or '-'}")
    return out
