"""Human-readable answers for the terminal: the answer first, then why."""

from __future__ import annotations

from .location import Location


def _where(location: Location) -> str:
    parts: list[str] = []
    for part in (location.city, location.region, location.country):
        if part and part not in parts:
            parts.append(part)
    text = ", ".join(parts)
    if location.country_code and location.country_code not in text:
        text = f"{text} ({location.country_code})" if text else location.country_code
    return text


def render_location(location: Location, title: str | None = None, max_evidence: int = 12) -> str:
    lines = [title] if title else []
    if location.answered:
        assert location.lat is not None and location.lon is not None
        radius = f"±{location.radius_km:.3g} km" if location.radius_km is not None else "radius unknown"
        lines.append(
            f"  Answer:     {location.lat:.5f}, {location.lon:.5f}  ({radius}, confidence {location.confidence:.2f})"
        )
        where = _where(location)
        if where:
            lines.append(f"  Place:      {where}")
    else:
        lines.append(f"  No answer:  {location.reason or 'no evidence'}")
    if location.summary and location.answered:
        lines.append(f"  Why:        {location.summary}")
    for item in [e for e in location.evidence if e.kind == "tampering"][:2]:
        lines.append(f"  Warning:    possible tampering [{item.id}]: {item.value}")
    if location.evidence:
        lines.append(f"  Evidence ({len(location.evidence)}):")
        for item in location.evidence[:max_evidence]:
            where = f" {item.image}" if item.image else ""
            if item.bbox is not None and item.image:
                where += "[" + ",".join(str(round(v)) for v in item.bbox) + "]"
            origin = f"{where}, via {item.source.tool}" if where else f" via {item.source.tool}"
            if item.details.get("copy_of"):  # a repeat of earlier evidence: shown, not counted
                origin += f"; copy of {item.details['copy_of']}, counted once"
            lines.append(f"    [{item.id}] {item.kind:<12} {item.value}  (conf {item.confidence:.2f};{origin})")
        if len(location.evidence) > max_evidence:
            lines.append(f"    ... {len(location.evidence) - max_evidence} more (use --json for all)")
    if location.answered and len(location.candidates) > 1:
        lines.append("  Candidates:")
        for rank, cand in enumerate(location.candidates[:5], start=1):
            lines.append(
                f"    {rank}. {cand.lat:.4f}, {cand.lon:.4f}  score {cand.score:.2f}  {cand.label}"
                + (f"  <- {', '.join(cand.sources)}" if cand.sources else "")
                + ("  (outside the constraint)" if cand.details.get("outside_constraint") else "")
            )
    outside = [c for c in location.candidates if c.details.get("outside_constraint")]
    if not location.answered and outside:
        lines.append("  Outside the constraint (not an answer):")
        for cand in outside[:3]:
            lines.append(f"    - {cand.lat:.4f}, {cand.lon:.4f}  score {cand.score:.2f}  {cand.label}")
    if location.trace_path:
        lines.append(f"  Trace:      {location.trace_path}")
    return "\n".join(lines)
