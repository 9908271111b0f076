"""Evaluation reports: a summary of result records, a Markdown report and two figures.

Records are the lines of a run's ``results.jsonl`` (one per item: truth, resolved gold
place, the prediction as a Location dict, the judgement, distance, timing, error, trace
path). :func:`summarize_records` turns them into figures; :func:`write_report` writes
``report.md`` (headline table, calibration, error taxonomy, tool use, step coverage, one
row per item), ``error_cdf.png`` (share of items within d km) and ``world_map.png``
(predictions joined to the truth on a world map).

Why it works this way:

* Distance metrics reuse :func:`evals.metrics.summarize`, so every report and benchmark
  agrees on accuracy, GeoScore and calibration. Items whose truth is only a place name
  are scored against the resolved gold point when the record has one; items with no
  point at all are counted but left out of distance metrics.
* Country/region/city accuracy reverse-geocodes the predicted and the true point with
  the same offline gazetteer, so naming differences between sources cannot make a match
  fail; a gold place's own country (and region/city names, when given) take precedence
  over its centroid. Finer levels only count for items whose truth is that fine (a gold
  answer "Japan" says nothing about the region).
* The world map needs no downloaded coastlines: the gazetteer's 235 000 populated places,
  drawn as faint dots in an equirectangular projection, outline the inhabited land.
* Figures use matplotlib's Agg canvas directly (no pyplot, no display, thread-safe).
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphs.trace import read_trace
from tools.errors import TraceError
from tools.geo import haversine_km

from .metrics import THRESHOLDS_KM, Outcome, summarize
from .trajectory import (
    CORRECT_KM,
    ERROR_CATEGORIES,
    Method,
    error_category,
    is_correct,
    record_step_coverage,
    tool_counts,
    truth_country,
    truth_point,
)

__all__ = ["summarize_records", "write_report"]

#: Gold granularities from coarse to fine: a level of accuracy counts for an item only
#: when its truth is at least that fine.
_GRANULARITY_RANK = {
    "continent": 0,
    "border": 1,
    "country": 1,
    "region": 2,
    "province": 2,
    "state": 2,
    "prefecture": 2,
    "county": 3,
    "city": 3,
    "town": 3,
    "district": 4,
    "neighbourhood": 4,
    "neighborhood": 4,
    "poi": 5,
    "landmark": 5,
    "street": 5,
    "point": 6,
}
_LEVEL_RANK = {"country": 1, "region": 2, "city": 3}


def _gazetteer() -> Any:
    from .resources import gazetteer

    return gazetteer()


def _prediction_point(record: Mapping[str, Any]) -> tuple[float, float] | None:
    prediction = record.get("prediction")
    if isinstance(prediction, Mapping) and prediction.get("lat") is not None and prediction.get("lon") is not None:
        return float(prediction["lat"]), float(prediction["lon"])
    return None


def _distance(record: Mapping[str, Any]) -> float | None:
    """The record's distance, else computed from the predicted and the true point."""
    if record.get("distance_km") is not None:
        return float(record["distance_km"])
    pred, truth = _prediction_point(record), truth_point(record)
    return haversine_km(*pred, *truth) if pred is not None and truth is not None else None


def _confidence(record: Mapping[str, Any]) -> float:
    prediction = record.get("prediction")
    return float(prediction.get("confidence") or 0.0) if isinstance(prediction, Mapping) else 0.0


def _fold(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


@functools.lru_cache(maxsize=4)
def _region_index(gazetteer: Any) -> dict[tuple[str, str], str]:
    return {(cc, _fold(info.name)): f"{cc}.{code}" for (cc, code), info in gazetteer.regions().items()}


def _truth_rank(record: Mapping[str, Any]) -> int:
    gold = record.get("gold")
    truth = record.get("truth") or {}
    if isinstance(truth, Mapping) and truth.get("lat") is not None:
        return _GRANULARITY_RANK["point"]
    if isinstance(gold, Mapping):
        return _GRANULARITY_RANK.get(str(gold.get("granularity") or "").lower(), 1)
    return 0


def _level_matches(record: Mapping[str, Any], gazetteer: Any) -> dict[str, bool | None]:
    """Country, region and city correctness of one record (None: the level does not
    apply, because the truth is coarser or unknown)."""
    out: dict[str, bool | None] = {"country": None, "region": None, "city": None}
    admin = record.get("admin")
    if isinstance(admin, Mapping) and admin.get("country"):
        return _admin_matches(record, admin, gazetteer)
    point = truth_point(record)
    rank = _truth_rank(record)
    gold = record.get("gold") if isinstance(record.get("gold"), Mapping) else {}
    country = truth_country(record, gazetteer) if (point is not None or gold) else None
    if country is None:
        return out
    pred = _prediction_point(record)
    pred_place = gazetteer.reverse(*pred) if pred is not None else None
    true_place = gazetteer.reverse(*point) if point is not None else None
    out["country"] = pred_place is not None and pred_place.country_code == country
    if rank >= _LEVEL_RANK["region"]:
        region = None
        if gold.get("region"):
            region = _region_index(gazetteer).get((country, _fold(gold["region"])))
        if region is None and true_place is not None:
            region = true_place.region_code
        if region is not None:
            out["region"] = pred_place is not None and pred_place.region_code == region
    if rank >= _LEVEL_RANK["city"]:
        city = gold.get("city") or (true_place.city if true_place is not None else None)
        if city:
            out["city"] = (
                pred_place is not None
                and pred_place.country_code == country
                and _fold(city) in {_fold(pred_place.city), _fold(pred_place.locality)}
            )
    return out


def _plain(text: str | None) -> str:
    """Casefolded, accents dropped: datasets write "Île-de-France", GeoNames "Ile-de-France"."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", _fold(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _admin_matches(record: Mapping[str, Any], admin: Mapping[str, Any], gazetteer: Any) -> dict[str, bool | None]:
    """Levels scored against the dataset's own admin columns (OSV-5M: ISO country code,
    region, city names), the prediction reverse-geocoded offline; names are compared
    without case or accents."""
    country = str(admin["country"]).upper()
    pred = _prediction_point(record)
    place = gazetteer.reverse(*pred) if pred is not None else None
    out: dict[str, bool | None] = {"country": place is not None and place.country_code == country}
    out["region"] = out["city"] = None
    if admin.get("region"):
        out["region"] = (
            place is not None and place.country_code == country and _plain(place.region) == _plain(admin["region"])
        )
    if admin.get("city"):
        out["city"] = (
            place is not None
            and place.country_code == country
            and _plain(admin["city"]) in {_plain(place.city), _plain(place.locality)}
        )
    return out


def _trace_counts(record: Mapping[str, Any], base_dir: Path | None) -> dict[str, int] | None:
    prediction = record.get("prediction") if isinstance(record.get("prediction"), Mapping) else {}
    raw = record.get("trace_path") or prediction.get("trace_path")
    if not raw:
        return None
    path = Path(raw)
    if not path.is_absolute() and base_dir is not None and not path.exists():
        path = base_dir / path
    try:
        return tool_counts(read_trace(path))
    except TraceError:
        return None


def _truth_label(record: Mapping[str, Any]) -> str:
    truth = record.get("truth") if isinstance(record.get("truth"), Mapping) else {}
    if truth.get("answer"):
        return str(truth["answer"])
    point = truth_point(record)
    return f"{point[0]:.4f}, {point[1]:.4f}" if point else "?"


def _prediction_label(record: Mapping[str, Any]) -> str:
    prediction = record.get("prediction")
    if not isinstance(prediction, Mapping):
        return "(failed)"
    if prediction.get("lat") is None:
        return "(no answer)"
    names = [prediction.get(k) for k in ("city", "region", "country")]
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(str(name))
    where = ", ".join(seen)
    coords = f"{float(prediction['lat']):.4f}, {float(prediction['lon']):.4f}"
    return f"{where} ({coords})" if where else coords


def _item_row(
    record: Mapping[str, Any],
    gazetteer: Any,
    coverage_method: Method,
    correct_km: float,
    base_dir: Path | None,
) -> dict[str, Any]:
    coverage = record_step_coverage(record, method=coverage_method)
    judgement = record.get("judgement") if isinstance(record.get("judgement"), Mapping) else None
    counts = _trace_counts(record, base_dir)
    return {
        "id": str(record.get("id", "?")),
        "truth": _truth_label(record),
        "prediction": _prediction_label(record),
        "distance_km": _distance(record),
        "scored": truth_point(record) is not None,
        "answered": _prediction_point(record) is not None,
        "confidence": _confidence(record),
        "correct": is_correct(record, correct_km) if isinstance(record.get("prediction"), Mapping) else False,
        "judged": judgement.get("correct") if judgement else None,
        "level": judgement.get("level") if judgement else None,
        "category": error_category(record, correct_km=correct_km, gazetteer=gazetteer),
        "levels": _level_matches(record, gazetteer),
        "tool_calls": counts,
        "coverage": coverage.to_dict() if coverage is not None else None,
        "elapsed_s": record.get("elapsed_s"),
        "error": record.get("error"),
    }


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def summarize_records(
    records: Sequence[Mapping[str, Any]],
    *,
    coverage_method: Method = "auto",
    correct_km: float = CORRECT_KM,
    base_dir: Path | None = None,
    gazetteer: Any = None,
) -> dict[str, Any]:
    """Every figure of a report, from result records.

    Distance metrics (``n``, ``answered``, ``coverage``, ``accuracy``, ``median_km``,
    ``mean_km``, ``geoscore``, ``calibration``, ``confident``) come from
    :func:`evals.metrics.summarize` over the records that have a truth point (their own or
    the resolved gold point); ``records`` counts all and ``errors`` the failed runs.
    Added: ``levels`` (country/region/city accuracy by offline reverse geocoding, each
    over the items whose truth is that fine), ``judged`` (granularity-judged accuracy from
    ``record["judgement"]``, None when no record has one), ``taxonomy`` (counts of
    :func:`evals.trajectory.error_category`), ``tool_calls`` (means per item over the
    records whose trace could be read), ``step_coverage`` (expert steps covered, for
    records with a solution) and ``items`` (one row per record, for the report table).
    Relative trace paths are looked up under ``base_dir`` when not found as given.
    """
    gazetteer = gazetteer or _gazetteer()
    rows = [_item_row(r, gazetteer, coverage_method, correct_km, base_dir) for r in records]

    outcomes = [
        Outcome(row["id"], row["distance_km"] if _prediction_point(r) is not None else None, row["confidence"])
        for row, r in zip(rows, records)
        if row["scored"]
    ]
    summary: dict[str, Any] = {"records": len(records), "errors": sum(1 for r in records if r.get("error"))}
    summary.update(summarize(outcomes))

    levels: dict[str, Any] = {}
    for level in ("country", "region", "city"):
        verdicts = [row["levels"][level] for row in rows if row["levels"][level] is not None]
        levels[level] = {"n": len(verdicts), "correct": sum(verdicts), "accuracy": _share(sum(verdicts), len(verdicts))}
    summary["levels"] = levels

    judged_rows = [row for row, r in zip(rows, records) if isinstance(r.get("judgement"), Mapping)]
    if judged_rows:
        by_level: dict[str, dict[str, int]] = {}
        for row in judged_rows:
            entry = by_level.setdefault(str(row["level"] or "?"), {"n": 0, "correct": 0})
            entry["n"] += 1
            entry["correct"] += row["judged"] is True
        correct = sum(row["judged"] is True for row in judged_rows)
        summary["judged"] = {
            "n": len(judged_rows),
            "correct": correct,
            "undecided": sum(row["judged"] is None for row in judged_rows),
            "accuracy": _share(correct, len(judged_rows)),
            "by_level": dict(sorted(by_level.items())),
        }
    else:
        summary["judged"] = None

    llm = [r["llm_judgement"] for r in records if isinstance(r.get("llm_judgement"), Mapping)]
    if llm:
        yes = sum(j.get("correct") is True for j in llm)
        agree = sum(
            1
            for r in records
            if isinstance(r.get("llm_judgement"), Mapping)
            and isinstance(r.get("judgement"), Mapping)
            and r["llm_judgement"].get("correct") is not None
            and r["llm_judgement"].get("correct") == r["judgement"].get("correct")
        )
        summary["llm_judged"] = {
            "n": len(llm),
            "correct": yes,
            "undecided": sum(j.get("correct") is None for j in llm),
            "accuracy": _share(yes, len(llm)),
            "agrees_with_offline": agree,
        }
    else:
        summary["llm_judged"] = None

    taxonomy = Counter(row["category"] for row in rows)
    summary["taxonomy"] = {c: taxonomy[c] for c in ERROR_CATEGORIES if taxonomy[c] or c in ERROR_CATEGORIES[:4]}

    traced = [row["tool_calls"] for row in rows if row["tool_calls"] is not None]
    if traced:
        keys = sorted({k for counts in traced for k in counts})
        means = {k: statistics.fmean(counts.get(k, 0) for counts in traced) for k in keys}
        summary["tool_calls"] = {
            "n": len(traced),
            "mean_total": means.get("total", 0.0),
            "mean_errors": means.get("errors", 0.0),
            "mean_model_calls": means.get("model_calls", 0.0),
            "mean_by_tool": {k.split(":", 1)[1]: v for k, v in means.items() if k.startswith("tool:")},
            "mean_by_kind": {k.split(":", 1)[1]: v for k, v in means.items() if k.startswith("kind:")},
        }
    else:
        summary["tool_calls"] = None

    covered_rows = [row["coverage"] for row in rows if row["coverage"] is not None and row["coverage"]["total"]]
    if covered_rows:
        steps = sum(c["total"] for c in covered_rows)
        hits = sum(c["covered"] for c in covered_rows)
        methods = sorted({c["method"] for c in covered_rows})
        summary["step_coverage"] = {
            "n": len(covered_rows),
            "method": "+".join(methods),
            "threshold": covered_rows[0]["threshold"],
            "steps": steps,
            "covered": hits,
            "mean_share": statistics.fmean(c["share"] for c in covered_rows),
            "micro_share": hits / steps,
        }
    else:
        summary["step_coverage"] = None
    from .attribution import summarize_attribution  # answers resting on a single point of failure

    summary["attribution"] = summarize_attribution(records, base_dir=base_dir, correct_km=correct_km)
    summary["items"] = rows
    return summary


# ============================================================================ Markdown


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100.0 * value:.1f}%"


def _km(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} km"


def _cell(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _of(block: Mapping[str, Any] | None, key: str = "correct") -> str:
    if not block or not block.get("n"):
        return "—"
    return f"{_pct(block.get('accuracy'))} ({block[key]}/{block['n']})"


def _markdown(summary: Mapping[str, Any], images: Mapping[str, str]) -> str:
    n = summary.get("n", 0)
    lines = ["# Evaluation report", ""]
    lines.append(
        f"{summary.get('records', n)} items, {summary.get('errors', 0)} failed runs; "
        f"{n} scored against a point (their own or the resolved gold place)."
    )
    lines.append("")
    headline: list[tuple[str, str]] = [
        ("items", str(summary.get("records", n))),
        ("scored against a point", str(n)),
        ("answered (coverage)", f"{summary.get('answered', 0)} ({_pct(summary.get('coverage'))})"),
    ]
    for t in THRESHOLDS_KM:
        headline.append((f"accuracy ≤ {t} km", _pct(summary.get("accuracy", {}).get(f"{t}km"))))
    headline += [
        ("median error (answered items)", _km(summary.get("median_km"))),
        ("mean error (answered items)", _km(summary.get("mean_km"))),
        ("GeoScore (mean, 0–5000; no answer scores 0)", f"{summary.get('geoscore', 0.0):.0f}"),
    ]
    levels = summary.get("levels") or {}
    for level in ("country", "region", "city"):
        headline.append((f"{level} accuracy", _of(levels.get(level))))
    headline.append(("judged accuracy (gold granularity)", _of(summary.get("judged"))))
    if summary.get("llm_judged"):
        headline.append(("LLM-judged accuracy (GeoBrowse style)", _of(summary.get("llm_judged"))))
    if summary.get("text_answer"):  # GeoBrowse Level 2 (evals.text_answers)
        text = summary["text_answer"]
        headline.append((f"text answers correct ({text['judge']})", f"{_of(text)}, {text['answered']} answered"))
    tools = summary.get("tool_calls")
    headline.append(("tool calls per item", f"{tools['mean_total']:.2f}" if tools else "—"))
    coverage = summary.get("step_coverage")
    headline.append(
        (
            "expert step coverage",
            f"{_pct(coverage['mean_share'])} ({coverage['covered']}/{coverage['steps']} steps, {coverage['method']})"
            if coverage
            else "—",
        )
    )
    lines += _table(["metric", "value"], headline)

    lines += ["", f"![error CDF]({images['error_cdf']})", "", f"![world map]({images['world_map']})", ""]

    lines += ["## Calibration", "", "Answered items by the run's confidence."]
    lines.append("")
    lines += _table(
        ["confidence", "n", "within 25 km", "within 200 km"],
        [
            (b["confidence"], b["n"], _pct(b["within_25km"]), _pct(b["within_200km"]))
            for b in summary.get("calibration", [])
        ],
    )
    confident = summary.get("confident") or {}
    lines += [
        "",
        f"Confidence ≥ 0.5: {confident.get('n', 0)} items, {_pct(confident.get('within_200km'))} within 200 km.",
    ]

    judged = summary.get("judged")
    if judged:
        lines += ["", "## Judged at the gold answer's granularity", ""]
        lines += _table(
            ["level", "n", "correct", "accuracy"],
            [
                (lv, e["n"], e["correct"], _pct(e["correct"] / e["n"] if e["n"] else None))
                for lv, e in judged["by_level"].items()
            ],
        )
        if judged.get("undecided"):
            lines += ["", f"{judged['undecided']} judgement(s) undecided (counted as not correct)."]

    lines += ["", "## Error taxonomy", ""]
    total = max(1, summary.get("records", 0))
    lines += _table(
        ["category", "items", "share"],
        [(c, k, _pct(k / total)) for c, k in (summary.get("taxonomy") or {}).items()],
    )
    lines += [
        "",
        "no_usable_evidence: nothing location-bearing found; wrong_evidence: the evidence pointed elsewhere; "
        "right_evidence_wrong_decision: some evidence pointed at the truth but the answer is wrong; "
        "error: the run failed; unknown: the truth has no location to check evidence against.",
    ]

    if tools:
        lines += ["", "## Tool calls per item", "", f"Over {tools['n']} items with a readable trace."]
        lines.append("")
        rows = [("all tools", f"{tools['mean_total']:.2f}"), ("failed or refused", f"{tools['mean_errors']:.2f}")]
        rows.append(("model calls", f"{tools['mean_model_calls']:.2f}"))
        rows += [(f"tool {k}", f"{v:.2f}") for k, v in sorted(tools["mean_by_tool"].items())]
        rows += [(f"kind {k}", f"{v:.2f}") for k, v in sorted(tools["mean_by_kind"].items())]
        lines += _table(["calls", "mean per item"], rows)

    if coverage:
        lines += ["", "## Expert step coverage", ""]
        lines.append(
            f"{coverage['n']} items with an expert solution; {coverage['covered']} of {coverage['steps']} key steps "
            f"covered by the run's evidence ({_pct(coverage['micro_share'])} of steps, {_pct(coverage['mean_share'])} "
            f"mean per item); matcher {coverage['method']}, threshold {coverage['threshold']}."
        )

    lines += ["", "## Items", ""]
    item_rows = []
    for row in summary.get("items", []):
        cov = row.get("coverage")
        tool = row.get("tool_calls")
        correct = row.get("correct")
        item_rows.append(
            (
                row["id"],
                row["truth"],
                row["prediction"],
                _km(row["distance_km"]) if row.get("distance_km") is not None else "—",
                f"{row['confidence']:.2f}",
                ("yes" if correct else "no") + (f" ({row['level']})" if row.get("level") else ""),
                row["category"],
                tool.get("total") if tool else "—",
                f"{cov['covered']}/{cov['total']}" if cov else "—",
                f"{row['elapsed_s']:.1f} s" if isinstance(row.get("elapsed_s"), (int, float)) else "—",
                row.get("error") or "",
            )
        )
    lines += _table(
        [
            "id",
            "truth",
            "prediction",
            "error km",
            "conf.",
            "correct",
            "category",
            "tools",
            "steps",
            "time",
            "run error",
        ],
        item_rows,
    )
    return "\n".join(lines) + "\n"


# ============================================================================ figures


def _save(fig: Any, path: Path, dpi: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi, format="png")


def _error_cdf(summary: Mapping[str, Any], path: Path) -> None:
    """Share of scored items within d km (unanswered items never are), log-scaled d."""
    from matplotlib.figure import Figure

    rows = [row for row in summary.get("items", []) if row.get("scored")]
    distances = sorted(
        max(0.01, float(row["distance_km"]))
        for row in rows
        if row.get("answered") and row.get("distance_km") is not None
    )
    n = len(rows)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    if distances:
        xs = [0.01, *distances, 40000.0]
        ys = [0.0, *[(i + 1) / n for i in range(len(distances))], len(distances) / n]
        ax.step(xs, ys, where="post", color="#1f5fa8", linewidth=2, label=f"{len(distances)} answered of {n} items")
        ax.legend(loc="upper left")
    else:
        ax.text(0.5, 0.5, "no answered item with a known truth point", ha="center", va="center", transform=ax.transAxes)
    for t in THRESHOLDS_KM:
        share = sum(d <= t for d in distances) / n if n else 0.0
        ax.axvline(t, color="#999999", linestyle="--", linewidth=1)
        ax.annotate(f"{t} km\n{100 * share:.0f}%", (t, 1.0), xytext=(3, -28), textcoords="offset points", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.1, 20040)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("error distance d (km, log scale)")
    ax.set_ylabel("share of items within d")
    ax.set_title("Cumulative error distribution")
    ax.grid(True, which="major", alpha=0.3)
    _save(fig, path, dpi=110)


def _segments(a: tuple[float, float], b: tuple[float, float]) -> list[tuple[list[float], list[float]]]:
    """The line from truth to prediction (lat, lon), split at the antimeridian when the
    short way round crosses it."""
    (lat1, lon1), (lat2, lon2) = a, b
    if abs(lon2 - lon1) <= 180:
        return [([lon1, lon2], [lat1, lat2])]
    shifted = lon2 - 360 if lon2 > lon1 else lon2 + 360
    edge = 180.0 if shifted > lon1 else -180.0
    lat_edge = lat1 + (lat2 - lat1) * (edge - lon1) / (shifted - lon1)
    return [([lon1, edge], [lat1, lat_edge]), ([-edge, lon2], [lat_edge, lat2])]


def _world_map(records: Sequence[Mapping[str, Any]], path: Path, gazetteer: Any) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 7.4), layout="constrained")
    ax = fig.add_subplot()
    gazetteer.countries()  # loads the arrays
    ax.scatter(
        gazetteer.city_lon,
        gazetteer.city_lat,
        s=0.5,
        c="#b4b4b4",
        marker=".",
        linewidths=0,
        rasterized=True,
        zorder=1,
    )
    truths, preds, missed = [], [], []
    for record in records:
        truth = truth_point(record)
        pred = _prediction_point(record)
        if truth is None:
            if pred is not None:
                preds.append(pred)
            continue
        if pred is None:
            missed.append(truth)
            continue
        truths.append(truth)
        preds.append(pred)
        for xs, ys in _segments(truth, pred):
            ax.plot(xs, ys, color="#d62728", alpha=0.45, linewidth=1, zorder=2)
    if truths:
        ax.scatter([p[1] for p in truths], [p[0] for p in truths], s=30, c="#2ca02c", label="truth", zorder=3)
    if missed:
        ax.scatter(
            [p[1] for p in missed],
            [p[0] for p in missed],
            s=34,
            facecolors="none",
            edgecolors="#2ca02c",
            label="truth (no answer)",
            zorder=3,
        )
    if preds:
        ax.scatter(
            [p[1] for p in preds], [p[0] for p in preds], s=30, c="#d62728", marker="x", label="prediction", zorder=4
        )
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 30))
    ax.set_yticks(range(-90, 91, 30))
    ax.grid(True, alpha=0.25)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("Predictions and truth (lines join each pair)")
    if truths or preds or missed:
        ax.legend(loc="lower left")
    _save(fig, path, dpi=100)


def write_report(records: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``error_cdf.png`` and ``world_map.png`` into ``out_dir``;
    returns their paths by name ("report", "error_cdf", "world_map").

    ``summary`` is what :func:`summarize_records` returned for ``records``; a summary
    without per-item rows (from elsewhere) gets them computed here, lexically.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gazetteer = _gazetteer()
    if "items" not in summary:
        summary = {
            **summary,
            "items": summarize_records(records, coverage_method="lexical", gazetteer=gazetteer)["items"],
        }
    paths = {
        "report": out_dir / "report.md",
        "error_cdf": out_dir / "error_cdf.png",
        "world_map": out_dir / "world_map.png",
    }
    _error_cdf(summary, paths["error_cdf"])
    _world_map(records, paths["world_map"], gazetteer)
    paths["report"].write_text(
        _markdown(summary, {k: p.name for k, p in paths.items() if k != "report"}), encoding="utf-8"
    )
    return paths
