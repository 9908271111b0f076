"""Trace distillation: successful recorded runs become tool-use training dialogues.

A run whose final answer lies within ``max_km`` of the truth is turned into a
multi-turn conversation in the text tool-call protocol (:mod:`agent.models.protocol`),
so a fine-tuned model learns to call the tools the way the run did::

    system     the model policy's system prompt + tools_prompt(<the tools the run used>)
    user       the question and "Images: img:0 (WxH)." + <image(s)>
    assistant  <tool_call>{...}</tool_call> ...          one turn per tool round
    user       <tool_response name="...">...</tool_response> ...
    ...
    assistant  <answer>{GeoLocSFT JSON with the run's answer}</answer>

Tool rounds are the run's ``act`` rounds (one per planning step), preceded by the
``ingest`` round (EXIF reading) when the run used metadata. Derived images (crops,
zooms) are referred to by their ``img:N`` handles (the tool responses name them, and a
line "Images produced by the tools: ..." follows, as at serving time); no pixels are
embedded that the trace does not hold. Calls the run could not make
(unknown tool, invalid arguments) are left out: they teach mistakes. The thinking of
the final answer is the run's own summary, which cites only evidence the tools
returned.

Truth comes from a rows file (the same CSV/JSONL/folder :func:`agent.sft.data.read_rows`
reads), matched to each trace by the SHA-256 of the image bytes recorded in the trace
header (or, failing that, the image path), or from a mapping passed in.

Skipped runs are counted by reason: ``unreadable_trace``, ``unfinished``, ``failed``,
``no_answer``, ``no_truth``, ``too_far``, ``missing_image``, ``duplicate_run``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphs.trace import Trace, read_trace
from graphs.trace_schema import DecisionStep, ToolCallStep
from tools.errors import ImageInputError, TraceError
from tools.evidence import Observation
from tools.geo import haversine_km
from tools.images import load_image

from ..models.protocol import format_answer, format_tool_call, format_tool_response, tools_prompt
from .data import (
    DEFAULT_SIZE,
    DatasetError,
    parse_coordinate,
    prepare_output,
    read_rows,
    save_training_image,
    unique_id,
    write_jsonl,
    write_report,
)
from .prompts import AGENT_SYSTEM_PROMPT, QUESTION

__all__ = ["DEFAULT_MAX_KM", "SKIP_REASONS", "DistillReport", "Skip", "distill_traces", "load_truth", "trace_dialogue"]

DEFAULT_MAX_KM = 25.0
SKIP_REASONS = (
    "unreadable_trace",
    "unfinished",
    "failed",
    "no_answer",
    "no_truth",
    "too_far",
    "missing_image",
    "duplicate_run",
)
_TOOL_NODES = ("ingest", "act")
_CALL_MISTAKES = ("unknown tool", "invalid arguments")


@dataclass
class Skip:
    trace: str
    reason: str
    detail: str


@dataclass
class DistillReport:
    out: Path
    traces: int
    examples: int
    max_km: float
    skipped: list[Skip] = field(default_factory=list)
    errors_km: list[float] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(s.reason for s in self.skipped)
        return {reason: counts[reason] for reason in SKIP_REASONS if counts[reason]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "geosleuth-sft-data",
            "version": 1,
            "kind": "distilled",
            "traces": self.traces,
            "examples": self.examples,
            "max_km": self.max_km,
            "counts": self.counts,
            "skipped": [asdict(s) for s in self.skipped],
            "errors_km": [round(e, 3) for e in self.errors_km],
        }

    def summary(self, limit: int = 20) -> str:
        lines = [f"{self.examples} dialogues from {self.traces} traces written to {self.out} (max {self.max_km:g} km)"]
        if self.skipped:
            counts = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in self.counts.items())
            lines.append(f"skipped {len(self.skipped)}: {counts}")
            for s in self.skipped[:limit]:
                lines.append(f"  {s.trace}: {s.reason.replace('_', ' ')}: {s.detail}")
            if len(self.skipped) > limit:
                lines.append(f"  ... and {len(self.skipped) - limit} more (see report.json)")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- truth


@dataclass(frozen=True)
class Truth:
    lat: float
    lon: float
    label: str = ""


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_truth(source: str | Path | Mapping[str, Any]) -> dict[str, Truth]:
    """Truth keyed by image SHA-256 and by resolved image path.

    ``source`` is a rows file or folder (see :func:`agent.sft.data.read_rows`), or a
    mapping from a SHA-256, path or run id to ``(lat, lon)`` or ``{"lat", "lon"}``.
    Rows with unusable coordinates or images are left out.
    """
    truth: dict[str, Truth] = {}
    if isinstance(source, Mapping):
        for key, value in source.items():
            lat, lon = (value["lat"], value["lon"]) if isinstance(value, Mapping) else value
            truth[str(key)] = Truth(parse_coordinate(lat, "lat"), parse_coordinate(lon, "lon"))
        return truth
    for row in read_rows(source):
        if row.image is None:
            continue
        try:
            point = Truth(parse_coordinate(row.lat, "lat"), parse_coordinate(row.lon, "lon"), row.where)
        except (LookupError, ValueError):
            continue
        digest = _sha256(row.image)
        if digest:
            truth.setdefault(digest, point)
        truth.setdefault(str(row.image.resolve()), point)
    return truth


def _truth_for(trace: Trace, truth: Mapping[str, Truth]) -> Truth | None:
    if trace.run_id in truth:
        return truth[trace.run_id]
    for image in trace.header.images:
        for key in (image.get("sha256"), image.get("source")):
            if not key:
                continue
            if key in truth:
                return truth[key]
            resolved = str(Path(key).expanduser().resolve()) if key == image.get("source") else None
            if resolved and resolved in truth:
                return truth[resolved]
    return None


# ---------------------------------------------------------------------------- dialogues


def _tool_specs(names: Sequence[str]) -> list[Any]:
    """The run's tools as objects ``tools_prompt`` can describe (built-in ones with their real
    schemas; anything else as a bare OpenAI function spec)."""
    from tools.base import ToolContext
    from tools.images import ImageRegistry
    from tools.toolbox import build_toolbox

    builtin = build_toolbox(ToolContext(images=ImageRegistry()), use_metadata=True)
    specs: list[Any] = []
    for name in names:
        if name in builtin:
            specs.append(builtin[name])
        else:
            specs.append(
                {
                    "type": "function",
                    "function": {"name": name, "description": "", "parameters": {"type": "object", "properties": {}}},
                }
            )
    return specs


def _response_text(observation: Observation) -> str:
    if observation.text:
        return observation.text
    return f"error: {observation.error}" if observation.error else ""


def tool_rounds(trace: Trace) -> list[list[ToolCallStep]]:
    """The run's tool calls grouped into rounds: ingest's own, then one per planning step."""
    rounds: list[list[ToolCallStep]] = []
    current: list[ToolCallStep] = []
    key: Any = None
    plan_step: int | None = None
    for step in trace.steps:
        if isinstance(step, DecisionStep) and step.node == "plan":
            plan_step = step.index
            continue
        if not isinstance(step, ToolCallStep) or step.node not in _TOOL_NODES:
            continue
        if step.error and step.error.startswith(_CALL_MISTAKES):
            continue
        step_key = "ingest" if step.node == "ingest" else plan_step
        if current and step_key != key:
            rounds.append(current)
            current = []
        key = step_key
        current.append(step)
    if current:
        rounds.append(current)
    return rounds


def _region(result: Mapping[str, Any]) -> str:
    parts = []
    for key in ("city", "region", "country"):
        value = result.get(key)
        if value and value not in parts:
            parts.append(str(value))
    return ", ".join(parts)


def _opening_text(trace: Trace, roots: list[dict[str, Any]], question: str | None) -> str:
    """The opening user text as the model policy writes it (question, image list, hint)."""
    config = trace.header.config
    asked = question or config.get("question") or QUESTION
    described = []
    for n, info in enumerate(roots):
        handle = info.get("handle", f"img:{n}")
        size = f" ({info['width']}x{info['height']})" if info.get("width") and info.get("height") else ""
        described.append(f"{handle}{size}")
    lines = [asked, "", "Images: " + ", ".join(described) + "."]
    hint = config.get("hint")
    if isinstance(hint, dict):
        hint = {k: v for k, v in hint.items() if v not in (None, [], {})}
        if hint:
            lines.append(f"Prior knowledge from the user: {hint}")
    return "\n".join(lines)


def trace_dialogue(
    trace: Trace,
    *,
    system_prompt: str = AGENT_SYSTEM_PROMPT,
    question: str | None = None,
) -> list[dict[str, Any]]:
    """The chat messages a finished, answered run teaches (without checking it against any truth).

    The turns are laid out the way the text protocol lays out a model-policy run at
    serving time: one system turn (prompt + tools), the opening user turn (text, then
    the images), and for each tool round an assistant turn of calls and a user turn
    whose text blocks are the tool responses (and the handles of images the tools made).
    """
    result = (trace.final.result if trace.final else None) or {}
    if result.get("lat") is None or result.get("lon") is None:
        raise ValueError("the run has no answer")
    rounds = tool_rounds(trace)
    names = list(dict.fromkeys(step.name for r in rounds for step in r))
    system = system_prompt
    if names:
        system = f"{system_prompt}\n\n{tools_prompt(_tool_specs(names))}"
    roots = _roots(trace)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": _opening_text(trace, roots, question)},
                *({"type": "image"} for _ in roots),
            ],
        },
    ]
    for calls in rounds:
        messages.append(
            {"role": "assistant", "content": "\n".join(format_tool_call(s.name, s.arguments) for s in calls)}
        )
        blocks = [{"type": "text", "text": format_tool_response(s.name, _response_text(s.observation))} for s in calls]
        made = [h for s in calls for h in s.observation.images]
        if made:
            # The served model would see these crops; the trace holds no pixels, so only their handles.
            blocks.append({"type": "text", "text": "Images produced by the tools: " + ", ".join(made) + "."})
        messages.append({"role": "user", "content": blocks})
    answer = format_answer(
        float(result["lat"]), float(result["lon"]), region=_region(result), thinking=str(result.get("summary") or "")
    )
    messages.append({"role": "assistant", "content": answer})
    return messages


def _roots(trace: Trace) -> list[dict[str, Any]]:
    """The run's input images as its header records them (the images given, not made)."""
    return [i for i in trace.header.images if isinstance(i, dict) and not i.get("parent")]


def _image_places(trace: Trace, info: Mapping[str, Any]) -> list[Path]:
    """Where a run's input may be now: as given, as resolved when the run read it, and beside
    the trace (traces copied from another machine keep the other machine's paths)."""
    places: list[Path] = []
    for key in ("source", "path"):
        value = info.get(key)
        if isinstance(value, str) and value and not value.startswith("<"):
            places.append(Path(value).expanduser())
    if trace.path is not None:
        for place in list(places):
            places += [trace.path.parent / place, trace.path.parent / place.name]
    return list(dict.fromkeys(places))


def _load_root(trace: Trace, info: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The run's input image re-read and checked against its recorded SHA-256, or why not."""
    places = _image_places(trace, info)
    if not places:
        return None, f"the run's image {info.get('handle')} was not a file ({info.get('source')})"
    problem = f"{places[0]} not found"
    for place in places:
        if not place.is_file():
            continue
        try:
            loaded = load_image(place)
        except ImageInputError as exc:
            problem = str(exc)
            continue
        if info.get("sha256") and loaded.sha256 != info["sha256"]:
            problem = f"{place} has changed since the run (SHA-256 differs)"
            continue
        return loaded, None
    return None, problem


def _trace_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            files.extend(sorted(path.rglob("*.jsonl")))
        else:
            files.append(path)
    return files


def distill_traces(
    traces: Iterable[str | Path],
    truth: str | Path | Mapping[str, Any],
    out: str | Path,
    *,
    max_km: float = DEFAULT_MAX_KM,
    size: int = DEFAULT_SIZE,
    system_prompt: str = AGENT_SYSTEM_PROMPT,
    question: str | None = None,
) -> DistillReport:
    """Write the dialogues of the runs within ``max_km`` of the truth into a dataset folder.

    ``traces`` are trace files or folders of them. The output has the layout of
    :func:`agent.sft.data.build_dataset` (``train.jsonl``, ``images/``, ``report.json``),
    so the two can be trained on together.
    """
    if not max_km > 0:
        raise DatasetError(f"max_km must be a positive number of kilometres, got {max_km!r}")
    files = _trace_files(traces)
    if not files:
        raise DatasetError("no trace files given")
    truth_index = load_truth(truth)
    out = Path(out).expanduser()
    prepare_output(out)
    report = DistillReport(out, len(files), 0, max_km)
    examples: list[dict[str, Any]] = []
    taken: set[str] = set()
    seen_runs: set[str] = set()

    for file in files:
        where = str(file)

        def skip(reason: str, detail: str, where: str = where) -> None:
            report.skipped.append(Skip(where, reason, detail))

        try:
            trace = read_trace(file)
        except TraceError as exc:
            skip("unreadable_trace", str(exc))
            continue
        run_id = trace.run_id or file.stem
        final = trace.final
        if final is None:
            skip("unfinished", "the trace has no final step (the run did not finish)")
            continue
        if final.status != "ok":
            skip("failed", final.error.message if final.error else final.status)
            continue
        result = final.result or {}
        if result.get("lat") is None or result.get("lon") is None:
            skip("no_answer", str(result.get("reason") or "the run gave no location"))
            continue
        point = _truth_for(trace, truth_index)
        if point is None:
            skip("no_truth", "no truth row matches the run's image (by SHA-256 or path)")
            continue
        error_km = haversine_km(point.lat, point.lon, float(result["lat"]), float(result["lon"]))
        if error_km > max_km:
            skip("too_far", f"answer is {error_km:.1f} km from the truth")
            continue
        if run_id in seen_runs:
            skip("duplicate_run", f"run {run_id} was already distilled")
            continue
        roots = _roots(trace)
        example_id = unique_id(f"run-{run_id}", taken)
        images: list[str] = []
        problem = None
        for n, info in enumerate(roots):
            loaded, problem = _load_root(trace, info)
            if loaded is None:
                break
            relative = f"images/{example_id}-{n}.jpg" if len(roots) > 1 else f"images/{example_id}.jpg"
            save_training_image(loaded.image, out / relative, size)
            images.append(relative)
        if problem or not images:
            for name in images:
                (out / name).unlink(missing_ok=True)
            taken.discard(example_id)
            skip("missing_image", problem or "the trace names no image")
            continue
        messages = trace_dialogue(trace, system_prompt=system_prompt, question=question)
        seen_runs.add(run_id)
        report.errors_km.append(error_km)
        rounds = sum(1 for m in messages if m["role"] == "assistant") - 1
        examples.append(
            {
                "id": example_id,
                "messages": messages,
                "images": images,
                "meta": {
                    "lat": float(result["lat"]),
                    "lon": float(result["lon"]),
                    "region": _region(result),
                    "truth": [point.lat, point.lon],
                    "error_km": round(error_km, 3),
                    "run_id": run_id,
                    "tool_rounds": rounds,
                    "reasoning": "",
                    "source": where,
                },
            }
        )
    report.examples = len(examples)
    write_jsonl(out / "train.jsonl", examples)
    write_report(out, report.to_dict())
    return report
