"""Paper-style tables over several evaluation runs of one dataset.

    geosleuth eval compare runs/a runs/b [--markdown | --csv | --latex]

One row per run: accuracy within 1/25/200/750/2500 km, median error, GeoScore,
country/region/city accuracy, coverage and seconds per image, as the papers report
them, with the published rows for the benchmark as reference lines (each naming its
paper). Then what no paper table has:

* **radius honesty**: of the answers, the share whose stated uncertainty circle contains
  the truth, and recall against the circle's area (the share of all scored items whose
  circle contains the truth *and* is no larger than A km²), the way region-based
  geolocation is judged: a huge circle always contains the truth and says nothing;
* **trajectory** (GeoBrowse runs): expert steps covered, the error taxonomy and tool
  calls per kind, from the figures each run already computed;
* a **paired bootstrap** confidence interval for the difference between each run and the
  first one, on the items both scored (acc@25 km and GeoScore), so a gap can be told
  from noise.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import ConfigError

from .metrics import THRESHOLDS_KM, geoscore
from .runner import read_results

#: Published figures (percent) by benchmark; each row names its paper. Only figures
#: quoted exactly from the papers belong here.
REFERENCES: dict[str, list[dict[str, Any]]] = {
    "im2gps3k": [
        {
            "method": "GeoLocSFT",
            "paper": "GeoLocSFT: Efficient Visual Geolocation via Supervised Fine-Tuning of Multimodal "
            "Foundation Models",
            "acc_25km": 32.7,
        },
        {
            "method": "G3",
            "paper": "G3: An Effective and Adaptive Framework for Worldwide Geolocalization Using Large "
            "Multi-Modality Models (NeurIPS 2024)",
            "acc_25km": 40.9,
        },
        {
            "method": "GeoRanker",
            "paper": "GeoRanker: Distance-Aware Ranking for Worldwide Image Geolocalization",
            "acc_25km": 45.1,
        },
        {"method": "GeoSearch + GeoRanker", "paper": "GeoSearch (with GeoRanker reranking)", "acc_25km": 55.1},
    ],
    "osv5m": [
        {
            "method": "best published",
            "paper": "OpenStreetView-5M: The Many Roads to Global Visual Geolocation (CVPR 2024)",
            "figure": 35.6,
        }
    ],
}

AREAS_KM2 = (1e2, 1e3, 1e4, 1e5, 1e6)
COLUMNS = (
    [(f"acc_{t}km", f"≤{t} km") for t in THRESHOLDS_KM]
    + [
        ("median_km", "median km"),
        ("geoscore", "GeoScore"),
        ("country", "country"),
        ("region", "region"),
        ("city", "city"),
        ("coverage", "coverage"),
        ("s_per_image", "s/image"),
        ("radius_honesty", "truth in circle"),
        ("single_point", "rests on one clue"),
    ]
    + [(f"recall_area_{int(a)}", f"recall ≤1e{round(math.log10(a))} km²") for a in AREAS_KM2]
)


@dataclass
class Run:
    """One evaluation run's folder, read back."""

    path: Path
    name: str
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    benchmark: str | None
    row: dict[str, Any] = field(default_factory=dict)


def _benchmark(summary: Mapping[str, Any]) -> str | None:
    if summary.get("benchmark"):
        return str(summary["benchmark"])
    name = Path(str(summary.get("dataset") or "")).name.lower()
    for key in ("im2gps3k", "yfcc4k", "osv5m", "geobrowse", "mp16"):
        if key in name or (key == "osv5m" and name == "test.csv"):
            return key
    return None


def load_run(path: str | Path) -> Run:
    folder = Path(path)
    summary_file = folder / "summary.json"
    if not summary_file.exists():
        raise ConfigError(f"{folder} is not an evaluation run (no summary.json); run geosleuth eval first")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    records = read_results(folder / "results.jsonl")
    run = Run(folder, folder.name, summary, records, _benchmark(summary))
    run.row = run_row(summary, records)
    return run


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _radius(record: Mapping[str, Any]) -> float | None:
    prediction = record.get("prediction")
    if isinstance(prediction, Mapping) and prediction.get("lat") is not None:
        radius = prediction.get("radius_km")
        return float(radius) if radius is not None else None
    return None


def radius_honesty(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Truth-in-circle share over answers with a radius, and recall against circle area
    over all items scored against a point."""
    scored = [r for r in records if r.get("distance_km") is not None or _truth(r) is not None]
    circles = [(float(r["distance_km"]), _radius(r)) for r in scored if r.get("distance_km") is not None]
    circles = [(d, radius) for d, radius in circles if radius is not None]
    inside = [(d, radius) for d, radius in circles if d <= radius]
    recall = {
        f"recall_area_{int(a)}": (
            _pct(sum(math.pi * radius**2 <= a for _, radius in inside) / len(scored)) if scored else None
        )
        for a in AREAS_KM2
    }
    return {
        "radius_honesty": _pct(len(inside) / len(circles)) if circles else None,
        "median_area_km2": statistics.median(math.pi * radius**2 for _, radius in circles) if circles else None,
        **recall,
    }


def _truth(record: Mapping[str, Any]) -> tuple[float, float] | None:
    for key in ("truth", "gold"):
        source = record.get(key)
        if isinstance(source, Mapping) and source.get("lat") is not None and source.get("lon") is not None:
            return float(source["lat"]), float(source["lon"])
    return None


def run_row(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    levels = summary.get("levels") or {}
    times = [float(r["elapsed_s"]) for r in records if isinstance(r.get("elapsed_s"), (int, float))]
    row: dict[str, Any] = {f"acc_{t}km": _pct((summary.get("accuracy") or {}).get(f"{t}km")) for t in THRESHOLDS_KM}
    row.update(
        {
            "n": summary.get("n"),
            "median_km": summary.get("median_km"),
            "geoscore": summary.get("geoscore"),
            "coverage": _pct(summary.get("coverage")),
            "s_per_image": statistics.fmean(times) if times else None,
        }
    )
    for level in ("country", "region", "city"):
        row[level] = _pct((levels.get(level) or {}).get("accuracy"))
    attribution = summary.get("attribution") or {}
    row["single_point"] = _pct(attribution.get("share"))  # answers resting on a single point of failure
    row.update(radius_honesty(records))
    return row


def _item_values(records: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """Per item scored against a point: (within 25 km, GeoScore), unanswered scoring 0."""
    values = {}
    for record in records:
        if _truth(record) is None:
            continue
        distance = record.get("distance_km")
        answered = distance is not None and isinstance(record.get("prediction"), Mapping)
        values[str(record["id"])] = (
            1.0 if answered and float(distance) <= 25 else 0.0,
            geoscore(float(distance)) if answered else 0.0,
        )
    return values


def paired_bootstrap(
    base: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]], *, resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Difference other − base on the items both scored, with a 95 % percentile interval
    from resampling items (pairs kept together)."""
    a, b = _item_values(base), _item_values(other)
    common = sorted(set(a) & set(b))
    out: dict[str, Any] = {"n": len(common)}
    if not common:
        return out
    rng = random.Random(seed)
    for index, metric, scale in ((0, "acc_25km", 100.0), (1, "geoscore", 1.0)):
        diffs = [(b[i][index] - a[i][index]) * scale for i in common]
        means = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(resamples))
        out[metric] = {
            "diff": statistics.fmean(diffs),
            "low": means[int(0.025 * (resamples - 1))],
            "high": means[int(0.975 * (resamples - 1))],
        }
    return out


def compare(paths: Sequence[str | Path], *, resamples: int = 2000) -> dict[str, Any]:
    """Rows, references, bootstrap differences and trajectory figures for several runs."""
    if not paths:
        raise ConfigError("eval compare needs at least one run folder")
    runs = [load_run(p) for p in paths]
    datasets = {Path(str(r.summary.get("dataset"))).name for r in runs}
    benchmark = next((r.benchmark for r in runs if r.benchmark), None)
    differences = [
        {"base": runs[0].name, "run": run.name, **paired_bootstrap(runs[0].records, run.records, resamples=resamples)}
        for run in runs[1:]
    ]
    trajectory = []
    for run in runs:
        coverage = run.summary.get("step_coverage")
        tools = run.summary.get("tool_calls")
        if coverage or (benchmark == "geobrowse" and tools):
            trajectory.append(
                {
                    "run": run.name,
                    "steps_covered": _pct(coverage["mean_share"]) if coverage else None,
                    "taxonomy": run.summary.get("taxonomy") or {},
                    "tool_calls": (tools or {}).get("mean_total"),
                    "by_kind": (tools or {}).get("mean_by_kind") or {},
                }
            )
    return {
        "benchmark": benchmark,
        "datasets": sorted(datasets),
        "runs": [{"run": r.name, "path": str(r.path), **r.row} for r in runs],
        "references": REFERENCES.get(benchmark or "", []),
        "differences": differences,
        "trajectory": trajectory,
    }


# ============================================================================ output


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in ("median_km",):
        return f"{value:,.0f}"
    if key == "geoscore":
        return f"{value:.0f}"
    if key == "s_per_image":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _rows(table: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["run", "n", *[label for _, label in COLUMNS]]
    rows = [[r["run"], _fmt("n", r.get("n")), *[_fmt(k, r.get(k)) for k, _ in COLUMNS]] for r in table["runs"]]
    for ref in table["references"]:
        cells = [_fmt(k, ref.get(k)) for k, _ in COLUMNS]
        label = f"{ref['method']} (published)"
        if ref.get("figure") is not None and all(c == "—" for c in cells):
            label = f"{ref['method']} (published: {ref['figure']})"
        rows.append([label, "—", *cells])
    return header, rows


def _notes(table: Mapping[str, Any]) -> list[str]:
    notes = [f"{ref['method']}: {ref['paper']}" for ref in table["references"]]
    for diff in table["differences"]:
        if diff.get("n"):
            acc, score = diff["acc_25km"], diff["geoscore"]
            notes.append(
                f"{diff['run']} − {diff['base']} over {diff['n']} paired items: ≤25 km {acc['diff']:+.1f} points "
                f"(95% CI {acc['low']:+.1f} to {acc['high']:+.1f}), GeoScore {score['diff']:+.0f} "
                f"(95% CI {score['low']:+.0f} to {score['high']:+.0f})"
            )
    for entry in table["trajectory"]:
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(entry["by_kind"].items()))
        taxonomy = ", ".join(f"{k} {v}" for k, v in entry["taxonomy"].items())
        steps = "—" if entry["steps_covered"] is None else f"{entry['steps_covered']:.1f}%"
        calls = "—" if entry["tool_calls"] is None else f"{entry['tool_calls']:.2f}"
        notes.append(
            f"trajectory {entry['run']}: expert steps covered {steps}; tool calls per item {calls} ({kinds}); "
            f"taxonomy: {taxonomy}"
        )
    return notes


def to_markdown(table: Mapping[str, Any]) -> str:
    header, rows = _rows(table)
    title = f"{table['benchmark'] or 'dataset'}: {', '.join(table['datasets'])}"
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    notes = _notes(table)
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def to_csv(table: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header, rows = _rows(table)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, escaped)
    return text.replace("≤", r"$\le$").replace("²", r"$^2$").replace("—", "--").replace("−", "-")


def to_latex(table: Mapping[str, Any]) -> str:
    header, rows = _rows(table)
    lines = [r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule"]
    lines.append(" & ".join(_latex_escape(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    runs = len(table["runs"])
    for index, row in enumerate(rows):
        if index == runs and runs < len(rows):
            lines.append(r"\midrule")
        lines.append(" & ".join(_latex_escape(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"% {_latex_escape(note)}" for note in _notes(table)]
    return "\n".join(lines) + "\n"


def render(table: Mapping[str, Any], style: str = "markdown") -> str:
    return {"markdown": to_markdown, "csv": to_csv, "latex": to_latex}[style](table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    style = parser.add_mutually_exclusive_group()
    for name in ("markdown", "csv", "latex"):
        style.add_argument(f"--{name}", dest="style", action="store_const", const=name)
    parser.add_argument("--json", dest="style", action="store_const", const="json")
    args = parser.parse_args(argv)
    table = compare(args.runs)
    print(json.dumps(table, indent=2) if args.style == "json" else render(table, args.style or "markdown"), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
