"""``Agent.explain``: how much a run's answer rests on each piece of its evidence.

An investigator defending "it is Lisbon because the sign says LISBOA" must also know what
happens without that sign. This re-derives the answer from the run's trace with each
piece of evidence (and each source group: an OCR line with what was derived from it, a
web page, an OSM element, a model sample) removed, and with only it kept — no model,
network or OCR (see :mod:`graphs.attribution` for the rules) — and presents the result
as a table for the terminal and as an HTML fragment for the report.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from graphs.attribution import Attribution, Outcome, Row, attribute, shared_gazetteer
from graphs.trace import Trace, parse_trace_lines, read_trace
from tools.errors import TraceError
from tools.gazetteer import Gazetteer

from .location import Location

__all__ = ["Attribution", "attribution_html", "explain", "format_attribution", "trace_of"]


def trace_of(source: Location | Trace | str | Path) -> Trace:
    """The parsed trace of a Location (its in-memory trace, else its trace file), or of a path."""
    if isinstance(source, Trace):
        return source
    if isinstance(source, Location):
        if source.trace:
            lines = [json.dumps(record, ensure_ascii=False) for record in source.trace]
            return parse_trace_lines(lines, f"<trace of run {source.run_id}>")
        if source.trace_path:
            return read_trace(source.trace_path)
        raise TraceError(
            f"run {source.run_id or '?'} carries no trace to explain: "
            "locate with trace=PATH, or keep the in-memory trace"
        )
    if isinstance(source, (str, Path)):
        return read_trace(source)
    raise TraceError(f"cannot explain a {type(source).__name__}: give a Location, a Trace or a trace file")


def explain(
    source: Location | Trace | str | Path, *, gazetteer: Gazetteer | None = None, strategy: str | None = None
) -> Attribution:
    """Leave-one-out attribution of a finished run (a Location, a parsed Trace or a trace file)."""
    return attribute(trace_of(source), gazetteer=gazetteer or shared_gazetteer(), strategy=strategy)


# ============================================================================ text


def _confidence(value: float) -> str:
    return f"{value:.2f}"


def _moved(outcome: Outcome) -> str:
    if not outcome.answered:
        return "no answer"
    distance = outcome.distance_km or 0.0
    if distance < 0.05:
        return "stays"
    return f"{distance:.0f} km away" if distance >= 1 else f"{distance:.1f} km away"


def _country(before: str | None, after: Outcome) -> str:
    now = after.country_code if after.answered else None
    if now == before:
        return f"country {before or '-'}"
    return f"country {before or '-'} → {now or '-'}"


def _name(row: Row) -> str:
    if row.kind != "evidence":
        return row.label
    derived = [i for i in row.evidence if i != row.key]
    return f"{row.key} {row.label}" + (f" (and {', '.join(derived)} derived from it)" if derived else "")


def describe_row(row: Row, attribution: Attribution) -> str:
    """'without ev:1 LISBOA: 89 km away, confidence 0.60 → 0.12, country PT; only it: ...'."""
    base = attribution.baseline
    text = (
        f"without {_name(row)}: {_moved(row.without)}, confidence {_confidence(base.confidence)} → "
        f"{_confidence(row.without.confidence)}, {_country(base.country_code, row.without)}"
        f"; only it: {_moved(row.alone)}, confidence {_confidence(row.alone.confidence)}"
    )
    if row.single_point_of_failure:
        text += f"  ← single point of failure ({row.why})"
    return text


def format_attribution(attribution: Attribution) -> str:
    """The attribution as a terminal table."""
    base = attribution.baseline
    lines = [f"Why this answer (run {attribution.run_id}, strategy {attribution.strategy})"]
    if base.answered:
        lines.append(
            f"  answer: {base.place or 'unnamed place'}  {base.lat:.5f}, {base.lon:.5f} "
            f"(±{base.radius_km or 0:.3g} km, confidence {base.confidence:.2f})"
        )
    else:
        lines.append("  the run gave no answer: nothing rests on any evidence")
    how = "the recorded answer, exactly" if attribution.reproduced else "APPROXIMATE — " + "; ".join(attribution.notes)
    lines.append(f"  re-derived from the trace: {how}")
    if attribution.reproduced and attribution.notes:
        lines += [f"  note: {note}" for note in attribution.notes]
    if attribution.evidence:
        lines += ["", "Evidence:"] + [f"  {describe_row(row, attribution)}" for row in attribution.evidence]
    if attribution.groups:
        lines += ["", "Source groups:"]
        for row in attribution.groups:
            members = ", ".join(row.evidence + row.tasks)
            lines.append(f"  {describe_row(row, attribution)}" + (f"  [{members}]" if members else ""))
    if base.answered:
        spofs = [r for r in (*attribution.evidence, *attribution.groups) if r.single_point_of_failure]
        lines.append("")
        lines.append("Single points of failure: " + (", ".join(_name(r) for r in spofs) if spofs else "none"))
        minimal = attribution.minimal_set
        if minimal.outcome is not None:
            lines.append(
                "Minimal set (greedy, small but not guaranteed smallest): "
                + ", ".join(f"{i} {label}" for i, label in zip(minimal.evidence, minimal.labels))
                + f" → {_moved(minimal.outcome)}, confidence {minimal.outcome.confidence:.2f}"
            )
    return "\n".join(lines)


# ============================================================================ HTML


def _cells(row: Row, base: Outcome) -> str:
    esc = html.escape
    country = esc(_country(base.country_code, row.without).removeprefix("country "))
    return (
        f"<td>{esc(_moved(row.without))}</td>"
        f"<td>{base.confidence:.2f} → {row.without.confidence:.2f}</td>"
        f"<td>{country}</td>"
        f"<td>{esc(_moved(row.alone))}, {row.alone.confidence:.2f}</td>"
        f"<td>{'yes: ' + esc(row.why) if row.single_point_of_failure else 'no'}</td>"
    )


def _table(rows: list[Row], base: Outcome, what: str) -> str:
    esc = html.escape
    head = (
        f"<thead><tr><th>{esc(what)}</th><th>without it</th><th>confidence</th><th>country</th>"
        "<th>only it</th><th>single point of failure</th></tr></thead>"
    )
    body = "".join(
        f'<tr class="{"spof" if row.single_point_of_failure else "held"}" '
        f'data-ev="{esc(" ".join(row.evidence))}"><th scope="row">{esc(_name(row))}</th>{_cells(row, base)}</tr>'
        for row in rows
    )
    return f'<table class="attribution">{head}<tbody>{body}</tbody></table>'


def attribution_html(attribution: Attribution) -> str:
    """An escaped HTML fragment (a ``<section>``, classes only, no inline style or script)
    for the trace report: the answer, whether re-deriving reproduced it, a table per
    evidence and per source group, the single points of failure and the minimal set."""
    esc = html.escape
    base = attribution.baseline
    parts = ['<section class="attribution" id="why-this-answer"><h2>Why this answer</h2>']
    if not base.answered:
        parts.append("<p>The run gave no answer: nothing rests on any evidence.</p></section>")
        return "".join(parts)
    parts.append(
        f"<p>Answer {esc(base.place or 'unnamed place')} ({base.lat:.5f}, {base.lon:.5f}, "
        f"±{base.radius_km or 0:.3g} km, confidence {base.confidence:.2f}), re-derived from the trace "
        "with each piece of evidence removed and with only it kept.</p>"
    )
    if attribution.reproduced:
        parts.append('<p class="reproduced">Re-deriving on all the evidence gives the recorded answer exactly.</p>')
    if attribution.notes:
        css = "note" if attribution.reproduced else "warn"
        label = "" if attribution.reproduced else "Approximate: "
        parts.append(f'<p class="{css}">{esc(label + "; ".join(attribution.notes))}</p>')
    spofs = [r for r in (*attribution.evidence, *attribution.groups) if r.single_point_of_failure]
    parts.append(
        "<p>Single points of failure: "
        + (", ".join(f"<strong>{esc(_name(r))}</strong>" for r in spofs) if spofs else "none")
        + "</p>"
    )
    if attribution.evidence:
        parts.append(_table(attribution.evidence, base, "evidence"))
    if attribution.groups:
        parts.append(_table(attribution.groups, base, "source group"))
    minimal = attribution.minimal_set
    if minimal.outcome is not None:
        items = "".join(
            f'<li data-ev="{esc(i)}">{esc(i)} {esc(label)}</li>' for i, label in zip(minimal.evidence, minimal.labels)
        )
        parts.append(
            f"<p>Minimal set ({esc(minimal.method)}): {esc(_moved(minimal.outcome))}, "
            f'confidence {minimal.outcome.confidence:.2f}</p><ul class="minimal">{items}</ul>'
        )
    parts.append("</section>")
    return "".join(parts)


def attribution_json(attribution: Attribution) -> dict[str, Any]:
    return attribution.model_dump(mode="json")
