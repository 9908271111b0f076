"""Reading traces in a terminal: a one-line-per-step timeline, and where two runs part ways.

``show`` is for "what did this run do, in what order, and how long did it take";
``diff`` is for "why did these two runs end differently": it names the first step where
the runs took another path or got another answer from the same call, then compares their
evidence and answers. Both read typed traces (any format version, see
:mod:`graphs.trace_schema`). Timings and bookkeeping (cache hits, retries, endpoints) live in
each step's ``timing`` and ``meta``, apart from its content, so ``diff`` compares
:meth:`~graphs.trace_schema.Step.stable` and a re-run of the same input reads as identical.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from graphs.trace import Trace
from graphs.trace_schema import (
    CandidatesStep,
    DecisionStep,
    ErrorStep,
    EvidenceStep,
    ImageStep,
    ModelCallStep,
    ReviewStep,
    Step,
    ToolCallStep,
)
from tools.errors import TraceError
from tools.geo import haversine_km

from .exports import RunLike, as_location, as_trace
from .location import Location

MAX_LISTED = 12
#: Header fields that name one run rather than describe it (never compared).
RUN_IDENTITY = frozenset({"run_id", "created", "versions", "source_version", "images"})


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


def _decision_summary(step: DecisionStep, width: int) -> str:
    out = step.output
    if step.node == "ingest" and isinstance(out.get("images"), list):
        images = [
            f"{i.get('handle')} {i.get('width')}x{i.get('height')} {i.get('source')}"
            for i in out["images"]
            if isinstance(i, dict)
        ]
        metadata = "on" if out.get("use_metadata") else "off"
        return _clip(f"{'; '.join(images)} (metadata {metadata})", width)
    if isinstance(out.get("tool_calls"), list):
        calls = [f"{c.get('name')}({_compact(c.get('args'), 40)})" for c in out["tool_calls"] if isinstance(c, dict)]
        return _clip("plan: " + ", ".join(calls) if calls else "plan: " + str(out.get("rationale", "")), width)
    if "lat" in out and "confidence" in out:
        radius = f" ±{out['radius_km']:.3g} km" if isinstance(out.get("radius_km"), (int, float)) else ""
        where = out.get("country_code") or ""
        conf = out["confidence"] if isinstance(out["confidence"], (int, float)) else 0.0
        return _clip(f"-> {_point(out['lat'], out['lon'])}{radius} conf {conf:.2f} {where}", width)
    if "reason" in out or "stop_reason" in out:
        return _clip(str(out.get("reason") or out.get("stop_reason")), width)
    return _compact(out, width)


def step_summary(step: Step, width: int = 90) -> str:
    """What one step did, in a few words: the call and its outcome."""
    if isinstance(step, ToolCallStep):
        call = _compact(step.arguments, width // 2)
        if step.error:
            return f"{call} -> error: {_clip(step.error, width // 2)}"
        text = step.observation.text
        first = text.splitlines()[0] if text else ""
        images = f" [{', '.join(step.observation.images)}]" if step.observation.images else ""
        return f"{call} -> {_clip(first, width // 2)}{images}"
    if isinstance(step, EvidenceStep):
        items = [f"{e.id} {e.kind} {e.value!r}" for e in step.evidence]
        return _clip(f"{len(items)} new: " + "; ".join(items), width)
    if isinstance(step, CandidatesStep):
        if not step.candidates:
            return f"{step.stage}: no candidates"
        top = max(step.candidates, key=lambda c: c.score)
        label = f"{top.label} {_point(top.lat, top.lon)} score {top.score:.3g}"
        return _clip(f"{step.stage}: {len(step.candidates)} candidates; best {label}", width)
    if isinstance(step, ModelCallStep):
        raw = step.raw_output or _compact(step.output, width)
        return _clip(f"digest {step.messages_digest[:8]} -> {raw}", width)
    if isinstance(step, ErrorStep):
        return _clip(f"error: {step.error.message}", width)
    if isinstance(step, ImageStep):
        op = dict(step.operation or {})
        kind = op.pop("op", "input")
        made = f" by step #{step.made_by}" if step.made_by is not None else ""
        return _clip(
            f"{kind} of {step.parent or '-'} {_compact(op, width // 2)} {step.width}x{step.height}{made}", width
        )
    if isinstance(step, ReviewStep):
        if step.error is not None:
            return _clip(f"not applied: {step.error.message}", width)
        return _clip(f"applied {_compact(step.decision, width)}", width)
    if isinstance(step, DecisionStep):
        return _decision_summary(step, width)
    extra = {k: v for k, v in (step.model_extra or {}).items() if k != "type"}
    return _clip(f"(step kind {step.kind!r} from a newer version) {_compact(extra, width)}", width)


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
    config = header.config
    policy = header.policy.get("name", "?")
    source = f" (trace format {header.source_version}, read as {header.version})" if header.source_version else ""
    lines = [
        f"run {header.run_id}  created {header.created or '?'}  policy {policy}  "
        f"strategy {config.get('strategy', '?')}  metadata {'on' if config.get('use_metadata') else 'off'}{source}"
    ]
    for image in header.images:
        line = f"{image.get('handle')}: {image.get('source')} {image.get('width')}x{image.get('height')}"
        lines.append("  " + _clip(line, 10 * width))
    origin = next((t for t in (parse_time(s.timing.start) for s in tr.steps) if t is not None), None)
    for step in tr.steps:
        when = parse_time(step.timing.start)
        rel = f"+{(when - origin).total_seconds():6.2f}s" if when and origin else "      ?"
        took = f"{step.timing.duration_s:.2f}s" if step.timing.duration_s else ""
        what = f"{_clip(step.node, 9):<9} {_clip(step.kind, 10):<10} {_clip(step.name, 14):<14}"
        head = f"#{step.index:<3} {rel} {what} {took:>6}"
        lines.append(f"{head}  {step_summary(step, max(30, width - len(head) - 2))}")
    loc = _location_or_none(tr)
    if loc is not None and loc.evidence:
        kinds = Counter(e.kind for e in loc.evidence)
        lines.append(f"evidence ({len(loc.evidence)}): " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    final = tr.final
    if final is None:
        lines.append(f"unfinished: no final step after {len(tr.steps)} steps")
    elif final.status != "ok":
        lines.append(_clip(f"status {final.status}: {final.error.message if final.error else ''}", 10 * width))
    if loc is not None and final is not None and final.result:
        lines.append(_answer_line(loc))
    return "\n".join(lines)


def _location_or_none(trace: Trace) -> Location | None:
    try:
        return as_location(trace)
    except TraceError:
        return None


def _call(step: Step) -> tuple[Any, ...]:
    """What a step set out to do, as opposed to what came of it."""
    content = step.stable()
    return (step.node, step.kind, step.name, step.tool_kind, content.get("arguments"), content.get("stage"))


def _side(label: str, step: Step) -> str:
    return f"  {label}: {step.node} {step.kind} {step.name} {step_summary(step, 100)}"


def _where_differ(a: Any, b: Any, path: str = "") -> str:
    """The first JSON path at which two values differ ("observation.images[0]")."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key) or (key in a) != (key in b):
                return _where_differ(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _where_differ(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
    return path


def first_divergence(a: Trace, b: Trace) -> tuple[int, str] | None:
    """(step index, what differs) for the first step that differs, or None if none does.

    Steps are compared by their stable content (:meth:`Step.stable`); the final steps too."""
    for sa, sb in zip(a.steps, b.steps):
        if _call(sa) != _call(sb):
            return sa.index, "took another path"
        if isinstance(sa, ModelCallStep) and isinstance(sb, ModelCallStep) and sa.raw_output != sb.raw_output:
            return sa.index, "same model call, different raw output"
        oa, ob = sa.stable(), sb.stable()
        if oa != ob:
            return sa.index, f"same call, different outcome (at {_where_differ(oa, ob)})"
    if len(a.steps) != len(b.steps):
        return min(len(a.steps), len(b.steps)), "one run stops earlier"
    fa = a.final.stable() if a.final else None
    fb = b.final.stable() if b.final else None
    if fa != fb:
        where = _where_differ(fa, fb) if fa is not None and fb is not None else "one run did not finish"
        return len(a.steps), f"the runs end differently (at {where})"
    return None


def header_differences(a: Trace, b: Trace) -> list[str]:
    """Header fields (configuration, policy, tools, ...) in which two runs were set up differently;
    the run's id, creation time and package versions name a run and are not compared."""
    ha = a.header.model_dump(mode="json", exclude=set(RUN_IDENTITY))
    hb = b.header.model_dump(mode="json", exclude=set(RUN_IDENTITY))
    return [
        _where_differ(ha.get(k), hb.get(k), k) for k in [*ha, *(k for k in hb if k not in ha)] if ha.get(k) != hb.get(k)
    ]


def diff(a: RunLike, b: RunLike) -> str:
    """Where two runs first diverge, then how their evidence and answers differ."""
    ta, tb = as_trace(a), as_trace(b)
    names = (str(ta.path or "A"), str(tb.path or "B"))
    lines = [f"A: {names[0]} ({len(ta.steps)} steps)", f"B: {names[1]} ({len(tb.steps)} steps)"]
    hashes = [[i.get("sha256") for i in t.header.images] for t in (ta, tb)]
    lines.append("inputs: the same images" if hashes[0] == hashes[1] else "inputs: different images")
    settings = header_differences(ta, tb)
    if settings:
        lines.append("settings differ: " + _clip(", ".join(settings), 200))
    else:
        lines.append("settings: identical")
    if ta.header.versions != tb.header.versions:
        changed = [
            k
            for k in {**ta.header.versions, **tb.header.versions}
            if ta.header.versions.get(k) != tb.header.versions.get(k)
        ]
        lines.append("note: package versions differ: " + ", ".join(changed))
    split = first_divergence(ta, tb)
    if split is None:
        lines.append(f"steps: identical ({len(ta.steps)} steps)")
    else:
        index, why = split
        lines.append(f"first divergence at step #{index}: {why}")
        for label, tr in (("A", ta), ("B", tb)):
            steps = [*tr.steps, *([tr.final] if tr.final else [])]
            lines.append(_side(label, steps[index]) if index < len(steps) else f"  {label}: (ends here)")
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
    same = hashes[0] == hashes[1] and not settings and split is None and not only_a and not only_b
    if same and lines[-1].startswith("answers: identical"):
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
