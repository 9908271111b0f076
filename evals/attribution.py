"""How many of an evaluation's answers rest on a single point of failure, and how often
those answers are right compared with the others.

An answer that collapses without one sign is fragile; if such answers are also wrong
more often, the attribution is a useful warning to investigators. Each answered item's
trace is explained (:mod:`graphs.attribution`: no model, network or OCR), and the item is
counted as resting on a single point of failure when any piece of its evidence or any
source group is one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphs.attribution import attribute, shared_gazetteer
from graphs.trace import read_trace
from tools.errors import GeoSleuthError

from .trajectory import CORRECT_KM, is_correct

__all__ = ["attribution_of_results", "attribution_rows", "summarize_attribution"]


def _trace_path(record: Mapping[str, Any], base_dir: Path | None) -> Path | None:
    prediction = record.get("prediction") if isinstance(record.get("prediction"), Mapping) else {}
    raw = record.get("trace_path") or prediction.get("trace_path")
    if not raw:
        return None
    path = Path(raw)
    if not path.is_absolute() and base_dir is not None and not path.exists():
        path = base_dir / path
    return path


def attribution_rows(
    records: Sequence[Mapping[str, Any]], *, base_dir: Path | None = None, correct_km: float = CORRECT_KM
) -> Iterator[dict[str, Any]]:
    """One row per answered record whose trace can be explained: its id, whether it rests
    on a single point of failure (and which), whether it is correct, whether the
    attribution is approximate. Records without an answer or a readable trace are skipped
    (``{"id": ..., "skipped": why}``)."""
    gazetteer = shared_gazetteer()
    for record in records:
        prediction = record.get("prediction")
        if not isinstance(prediction, Mapping) or prediction.get("lat") is None:
            continue
        path = _trace_path(record, base_dir)
        if path is None:
            yield {"id": record.get("id"), "skipped": "no trace"}
            continue
        try:
            attribution = attribute(read_trace(path), gazetteer=gazetteer)
        except GeoSleuthError as exc:
            yield {"id": record.get("id"), "skipped": f"{type(exc).__name__}: {exc}"}
            continue
        yield {
            "id": record.get("id"),
            "single_point_of_failure": bool(attribution.single_points_of_failure),
            "points": attribution.single_points_of_failure,
            "correct": is_correct(record, correct_km),
            "approximate": attribution.approximate,
        }


def _accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    decided = [r for r in rows if r["correct"] is not None]
    correct = sum(bool(r["correct"]) for r in decided)
    return {
        "n": len(rows),
        "decided": len(decided),
        "correct": correct,
        "accuracy": correct / len(decided) if decided else None,
    }


def summarize_attribution(
    records: Sequence[Mapping[str, Any]], *, base_dir: Path | None = None, correct_km: float = CORRECT_KM
) -> dict[str, Any] | None:
    """The share of answers resting on a single point of failure and the accuracy of those
    answers and of the others (None when no answered record has a trace)."""
    rows = list(attribution_rows(records, base_dir=base_dir, correct_km=correct_km))
    explained = [r for r in rows if "skipped" not in r]
    if not rows:
        return None
    fragile = [r for r in explained if r["single_point_of_failure"]]
    others = [r for r in explained if not r["single_point_of_failure"]]
    return {
        "explained": len(explained),
        "skipped": len(rows) - len(explained),
        "approximate": sum(r["approximate"] for r in explained),
        "single_point_of_failure": len(fragile),
        "share": len(fragile) / len(explained) if explained else None,
        "resting_on_one": _accuracy(fragile),
        "others": _accuracy(others),
    }


def attribution_of_results(folder: str | Path, *, correct_km: float = CORRECT_KM) -> dict[str, Any] | None:
    """:func:`summarize_attribution` of an evaluation folder (its ``results.jsonl`` and traces)."""
    base = Path(folder)
    lines = (base / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return summarize_attribution(records, base_dir=base, correct_km=correct_km)
