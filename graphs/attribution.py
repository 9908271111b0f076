"""Why this answer: how much a recorded answer rests on each piece of evidence.

Leave-one-out attribution from a trace, with no model, network or OCR. The trace holds
the candidates each proposal task made (``candidates`` steps, stage ``proposed``) and all
the evidence; verification and consensus are pure functions of those, so the answer can
be re-derived with any piece of evidence (or any *source group*) removed, or with only it
kept, in a fraction of a millisecond each.

Counterfactual rules (what removing evidence means):

* **Derived evidence goes with its sources.** A place name read from an OCR line, a
  search hit found by querying a line, a clue found in several lines: evidence derived
  from others (``details.from``, ids or source URLs in its details or tool arguments, a
  line's text in a search query or map check) is removed once *all* it was derived from
  is removed. Keeping something keeps what it was derived from.
* **Candidates lose what they cite.** A candidate citing only removed evidence is
  dropped. One citing some removed evidence keeps the rest of its sources, and its score
  is discounted by the share of its *locating* evidence (evidence with a place or a
  country prior, weighted by confidence) that is gone, read as a noisy-or of independent
  supports: ``score' = 1 - (1 - score) ** kept_share``. Verification then rescores it
  against the evidence that remains. Candidates citing no evidence (a model's answer)
  stand until their proposal task (model sample) is removed.
* **Nothing is invented.** Proposers are not re-run, so a counterfactual never has a
  candidate the run did not propose; "without the sign" means "with what else was
  proposed", which can overstate how far the answer would move and never understates
  how much it rests on the sign.

A **single point of failure** is evidence (or a group) whose removal leaves no answer,
moves the answer further than its radius, or drops a confidence of at least 0.25 below
0.25. The **minimal set** is found greedily (backward elimination, least important
first): not guaranteed smallest, but every item in it is needed given the others.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from tools.evidence import Candidate, Evidence
from tools.gazetteer import Gazetteer
from tools.geo import haversine_km

from .consensus import aggregate
from .state import ConsensusResult
from .trace import Trace
from .trace_schema import CandidatesStep, DecisionStep, ReviewStep
from .verify import verify_candidates

#: Below this confidence an answer is too weak to defend; falling under it is a failure.
WEAK_CONFIDENCE = 0.25
#: Same-line test for two OCR readings on one image (intersection over union of boxes).
SAME_LINE_IOU = 0.5
#: A line's text shorter than this is not looked for in other tools' arguments.
MIN_LINE_CHARS = 4

_EVIDENCE_ID = re.compile(r"^ev:\d+$")


# ============================================================================ results


class Outcome(BaseModel):
    """The answer under one counterfactual, and how it compares with the baseline."""

    answered: bool
    lat: float | None = None
    lon: float | None = None
    confidence: float = 0.0
    radius_km: float | None = None
    country_code: str | None = None
    place: str = ""
    #: How far the answer moved from the baseline answer (None when either has none).
    distance_km: float | None = None
    #: Candidates left after the removal (before verification drops nothing).
    candidates: int = 0


class Row(BaseModel):
    """One piece of evidence or one source group: the answer without it and with only it."""

    key: str = Field(description="'ev:1', or a group key such as 'line:ev:1'")
    kind: str = Field(description="'evidence', or the group's kind: line, page, osm, sample, tool")
    label: str
    evidence: list[str] = Field(default_factory=list, description="Evidence removed with it (derived included).")
    tasks: list[str] = Field(default_factory=list, description="Proposal tasks removed with it (model samples).")
    without: Outcome
    alone: Outcome
    single_point_of_failure: bool = False
    why: str = ""


class MinimalSet(BaseModel):
    evidence: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    outcome: Outcome | None = None
    method: str = "greedy backward elimination, least important first (small, not guaranteed smallest)"


class Attribution(BaseModel):
    """How much a run's answer rests on each piece of its evidence."""

    run_id: str
    strategy: str
    baseline: Outcome
    #: Whether re-running verification and consensus on all the evidence gives the recorded answer.
    reproduced: bool
    approximate: bool = False
    notes: list[str] = Field(default_factory=list)
    evidence: list[Row] = Field(default_factory=list)
    groups: list[Row] = Field(default_factory=list)
    single_points_of_failure: list[str] = Field(default_factory=list)
    minimal_set: MinimalSet = Field(default_factory=MinimalSet)
    #: Distinct counterfactual answers computed (for speed figures).
    counterfactuals: int = 0

    def row(self, key: str) -> Row | None:
        for row in (*self.evidence, *self.groups):
            if row.key == key:
                return row
        return None


# ============================================================================ the gazetteer


@functools.lru_cache(maxsize=1)
def shared_gazetteer() -> Gazetteer:
    """One gazetteer per process for attribution (loaded lazily, on first use)."""
    return Gazetteer()


class _MemoGazetteer:
    """A gazetteer whose reverse lookups are remembered: counterfactuals place the same
    candidates over and over."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gazetteer = gazetteer
        self._reverse: dict[tuple[float, float], Any] = {}

    def reverse(self, lat: float, lon: float) -> Any:
        key = (lat, lon)
        place = self._reverse.get(key)
        if place is None:
            place = self._reverse[key] = self._gazetteer.reverse(lat, lon)
        return place

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gazetteer, name)


# ============================================================================ the recorded run


@dataclass
class _Proposal:
    task: str
    lane: str
    sample: int
    candidates: list[Candidate]


@dataclass
class RecordedRun:
    """What attribution needs from a trace."""

    run_id: str
    evidence: list[Evidence]
    proposals: list[_Proposal]
    strategy: str
    options: dict[str, Any]
    recorded: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    image_maps: dict[str, tuple[str, tuple[float, float, float, float] | None]] = field(default_factory=dict)


def recorded_run(trace: Trace) -> RecordedRun:
    """The evidence, proposals, strategy and answer a trace recorded."""
    proposals = [
        _Proposal(s.task or s.name, s.lane or "", s.sample or 0, list(s.candidates))
        for s in trace.steps
        if isinstance(s, CandidatesStep) and s.stage == "proposed"
    ]
    proposals.sort(key=lambda p: (p.lane, p.sample))  # the order the verify node uses
    consensus = [s for s in trace.steps if isinstance(s, DecisionStep) and s.node == "consensus"]
    strategy = str(trace.config.get("strategy") or "cluster")
    options: dict[str, Any] = {}
    recorded: dict[str, Any] | None = None
    notes: list[str] = []
    if consensus:
        last = consensus[-1]
        strategy = str(last.arguments.get("strategy") or last.output.get("strategy") or strategy)
        options = dict(last.arguments.get("options") or {})
        recorded = last.output
    elif trace.final is not None and trace.final.result:
        recorded = trace.final.result
        notes.append("the trace records no consensus step; compared with the final answer")
    reviews = [s for s in trace.steps if isinstance(s, ReviewStep) and s.applied and s.after != s.before]
    if reviews:
        notes.append("a reviewer changed the answer; this explains the run's own answer before review")
    maps = {
        s.handle: (s.parent or s.handle, tuple(s.to_root) if s.to_root is not None else None) for s in trace.images()
    }
    return RecordedRun(
        run_id=trace.run_id,
        evidence=trace.evidence(),
        proposals=proposals,
        strategy=strategy,
        options=options,
        recorded=recorded,
        notes=notes,
        image_maps=maps,  # type: ignore[arg-type]
    )


# ============================================================================ lineage and groups


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _is_url(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("http://", "https://"))


def parents_of(evidence: Sequence[Evidence]) -> dict[str, set[str]]:
    """Evidence id -> ids of the earlier evidence it was derived from."""
    order = {e.id: i for i, e in enumerate(evidence) if e.id}
    by_url: dict[str, list[str]] = {}
    lines: list[tuple[str, str]] = []
    out: dict[str, set[str]] = {}
    for item in evidence:
        if not item.id:
            continue
        here = order[item.id]
        parents: set[str] = set()
        for text in (*_strings(item.details), *_strings(item.source.arguments)):
            if _EVIDENCE_ID.match(text) and text in order and order[text] < here:
                parents.add(text)
            parents.update(by_url.get(text, ()))  # a page or map element it names
        if item.kind != "ocr_text":
            arguments = " " + " ".join(_norm(t) for t in _strings(item.source.arguments)) + " "
            if arguments.strip():
                parents |= {line for line, text in lines if f" {text} " in arguments}
        parents.discard(item.id)
        out[item.id] = parents
        if item.kind == "ocr_text":
            text = _norm(item.value)
            if len(text) >= MIN_LINE_CHARS:
                lines.append((item.id, text))
        if _is_url(item.provenance) and item.kind in ("search_hit", "osm_feature"):
            by_url.setdefault(str(item.provenance), []).append(item.id)
    return out


def _root_box(item: Evidence, maps: dict[str, Any]) -> tuple[str, list[float]] | None:
    """The input image an evidence box lies on, and the box in that image's pixels."""
    if item.bbox is None or item.image is None:
        return None
    box = list(item.bbox)
    parent, to_root = maps.get(item.image, (item.image, (1.0, 1.0, 0.0, 0.0)))
    if parent == item.image:
        return item.image, box
    if to_root is None:  # a rotated derivative: no box maps back
        return None
    sx, sy, ox, oy = to_root
    return _input_of(item.image, maps), [box[0] * sx + ox, box[1] * sy + oy, box[2] * sx + ox, box[3] * sy + oy]


def _input_of(handle: str, maps: dict[str, Any]) -> str:
    seen = set()
    while handle not in seen:
        seen.add(handle)
        parent = maps.get(handle, (handle, None))[0]
        if parent == handle:
            return handle
        handle = parent
    return handle


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Group:
    key: str
    kind: str
    label: str
    seeds: list[str]
    tasks: list[str] = field(default_factory=list)


def _line_groups(evidence: Sequence[Evidence], maps: dict[str, Any]) -> list[Group]:
    groups: list[tuple[Group, str | None, list[float] | None]] = []
    for item in evidence:
        if item.kind != "ocr_text" or not item.id:
            continue
        placed = _root_box(item, maps)
        for group, image, box in groups:
            if placed is not None and image == placed[0] and box is not None and _iou(box, placed[1]) >= SAME_LINE_IOU:
                group.seeds.append(item.id)
                break
        else:
            group = Group(key=f"line:{item.id}", kind="line", label=f"line {item.value!r}", seeds=[item.id])
            groups.append((group, placed[0] if placed else None, placed[1] if placed else None))
    return [g for g, _, _ in groups]


def source_groups(run: RecordedRun, parents: dict[str, set[str]]) -> list[Group]:
    """OCR lines (with their re-reads), web pages, OSM elements, model samples, and each
    other tool's findings on an image; derived evidence joins through :func:`removal`."""
    evidence = run.evidence
    groups = _line_groups(evidence, run.image_maps)
    grouped = {i for g in groups for i in g.seeds}
    by_url: dict[str, Group] = {}
    for item in evidence:
        if not item.id or item.id in grouped or not _is_url(item.provenance):
            continue
        url = str(item.provenance)
        if any(url == (p_item.provenance or "") for p_item in evidence if p_item.id in parents.get(item.id, ())):
            continue  # derived from the page itself: joins through the cascade
        kind = "osm" if item.kind == "osm_feature" else "page"
        if url not in by_url:
            what = "OSM element" if kind == "osm" else "page"
            by_url[url] = Group(key=f"{kind}:{url}", kind=kind, label=f"{what} {url}", seeds=[])
        by_url[url].seeds.append(item.id)
    groups += list(by_url.values())
    grouped |= {i for g in by_url.values() for i in g.seeds}
    by_tool: dict[str, Group] = {}
    for item in evidence:
        if not item.id or item.id in grouped or parents.get(item.id):
            continue
        name = f"{item.source.tool} on {item.image}" if item.image else item.source.tool
        key = f"tool:{name}"
        if key not in by_tool:
            by_tool[key] = Group(key=key, kind="tool", label=f"everything from {name}", seeds=[])
        by_tool[key].seeds.append(item.id)
    groups += list(by_tool.values())
    lanes: dict[str, list[_Proposal]] = {}
    for proposal in run.proposals:
        lanes.setdefault(proposal.lane, []).append(proposal)
    for lane, proposals in lanes.items():
        if len(proposals) < 2:
            continue  # one task of a lane is the lane itself, not one sample of several
        for proposal in proposals:
            groups.append(
                Group(
                    key=f"sample:{proposal.task}",
                    kind="sample",
                    label=f"{lane} sample {proposal.sample}",
                    seeds=[],
                    tasks=[proposal.task],
                )
            )
    return groups


# ============================================================================ counterfactuals


@dataclass
class _Cited:
    candidate: Candidate
    cited: list[str]
    weights: dict[str, float]
    total: float


class Counterfactuals:
    """Re-derives the answer of a recorded run with evidence or proposal tasks removed."""

    def __init__(self, run: RecordedRun, gazetteer: Gazetteer | None = None, strategy: str | None = None) -> None:
        self.run = run
        self.strategy = strategy or run.strategy
        self.options = run.options if strategy is None or strategy == run.strategy else {}
        self.gazetteer = _MemoGazetteer(gazetteer or shared_gazetteer())
        self.ids = [e.id for e in run.evidence if e.id]
        self.by_id = {e.id: e for e in run.evidence if e.id}
        self.parents = parents_of(run.evidence)
        self.children: dict[str, set[str]] = {i: set() for i in self.ids}
        for child, parents in self.parents.items():
            for parent in parents:
                self.children.setdefault(parent, set()).add(child)
        self._proposals = [(p.task, [self._cite(c) for c in p.candidates]) for p in run.proposals]
        self._cache: dict[tuple[frozenset[str], frozenset[str]], ConsensusResult] = {}

    def _cite(self, candidate: Candidate) -> _Cited:
        cited = [s for s in candidate.sources if s in self.by_id]
        locating = {s: self.by_id[s].confidence for s in cited if self.by_id[s].geo or self.by_id[s].countries}
        weights = locating if sum(locating.values()) > 0 else {s: self.by_id[s].confidence for s in cited}
        return _Cited(candidate, cited, weights, sum(weights.values()))

    # -- what removing means ------------------------------------------------------------
    def removal(self, removed: Iterable[str]) -> frozenset[str]:
        """``removed`` plus the evidence derived only from removed evidence."""
        gone = set(removed)
        for item_id in self.ids:  # parents come before children
            parents = self.parents.get(item_id)
            if item_id not in gone and parents and parents <= gone:
                gone.add(item_id)
        return frozenset(gone)

    def ancestors(self, ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        todo = list(ids)
        while todo:
            for parent in self.parents.get(todo.pop(), ()):
                if parent not in out:
                    out.add(parent)
                    todo.append(parent)
        return out

    def descendants(self, ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        todo = list(ids)
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    def keeping(self, kept: Iterable[str]) -> frozenset[str]:
        """The removal that keeps only ``kept``, what it was derived from and what was derived from it."""
        keep = set(kept)
        keep |= self.ancestors(keep) | self.descendants(keep)
        return self.removal(i for i in self.ids if i not in keep)

    # -- the answer ---------------------------------------------------------------------
    def candidates(self, removed: frozenset[str], tasks: frozenset[str] = frozenset()) -> list[Candidate]:
        out: list[Candidate] = []
        for task, cited_candidates in self._proposals:
            if task in tasks:
                continue
            for entry in cited_candidates:
                gone = [s for s in entry.cited if s in removed]
                if not gone:
                    out.append(entry.candidate)
                    continue
                if len(gone) == len(entry.cited):
                    continue
                kept = entry.total - sum(entry.weights.get(s, 0.0) for s in gone)
                share = kept / entry.total if entry.total > 0 else 0.0
                if share <= 0:
                    continue
                score = entry.candidate.score
                score = score * share if score >= 1.0 else 1.0 - (1.0 - score) ** share
                sources = [s for s in entry.candidate.sources if s not in removed]
                out.append(entry.candidate.model_copy(update={"score": score, "sources": sources}))
        return out

    def answer(self, removed: frozenset[str] = frozenset(), tasks: frozenset[str] = frozenset()) -> ConsensusResult:
        key = (removed, tasks)
        cached = self._cache.get(key)
        if cached is None:
            candidates = self.candidates(removed, tasks)
            evidence = [e for e in self.run.evidence if e.id not in removed] if removed else self.run.evidence
            verified = verify_candidates(candidates, evidence, self.gazetteer)  # type: ignore[arg-type]
            cached = aggregate(verified, self.strategy, self.gazetteer, **self.options)  # type: ignore[arg-type]
            self._cache[key] = cached
        return cached

    @property
    def computed(self) -> int:
        return len(self._cache)


def _outcome(result: ConsensusResult, baseline: ConsensusResult | None, candidates: int) -> Outcome:
    if not result.answered:
        return Outcome(answered=False, candidates=candidates)
    assert result.lat is not None and result.lon is not None
    distance = None
    if baseline is not None and baseline.answered:
        assert baseline.lat is not None and baseline.lon is not None
        distance = round(haversine_km(baseline.lat, baseline.lon, result.lat, result.lon), 3)
    place = ", ".join(dict.fromkeys(p for p in (result.city, result.region, result.country) if p))
    return Outcome(
        answered=True,
        lat=round(result.lat, 6),
        lon=round(result.lon, 6),
        confidence=result.confidence,
        radius_km=result.radius_km,
        country_code=result.country_code,
        place=place,
        distance_km=distance,
        candidates=candidates,
    )


def failure(baseline: Outcome, without: Outcome) -> str:
    """Why losing something is a single point of failure ('' when it is not)."""
    if not baseline.answered:
        return ""
    if not without.answered:
        return "no answer without it"
    radius = baseline.radius_km or 0.0
    if without.distance_km is not None and without.distance_km > radius:
        return f"the answer moves {without.distance_km:.0f} km, beyond its {radius:.3g} km radius"
    if baseline.confidence >= WEAK_CONFIDENCE > without.confidence:
        return f"confidence falls below {WEAK_CONFIDENCE}"
    return ""


def _same_answer(baseline: ConsensusResult, other: ConsensusResult, tolerance_km: float = 0.001) -> bool:
    if baseline.answered != other.answered:
        return False
    if not baseline.answered:
        return True
    assert baseline.lat is not None and baseline.lon is not None and other.lat is not None and other.lon is not None
    return (
        haversine_km(baseline.lat, baseline.lon, other.lat, other.lon) <= tolerance_km
        and abs(baseline.confidence - other.confidence) <= 1e-4
        and abs((baseline.radius_km or 0.0) - (other.radius_km or 0.0)) <= 1e-3
    )


def _label(item: Evidence) -> str:
    value = " ".join(item.value.split())
    return value if len(value) <= 60 else value[:59] + "…"


# ============================================================================ attribution


def attribute(trace: Trace, *, gazetteer: Gazetteer | None = None, strategy: str | None = None) -> Attribution:
    """Leave-one-out attribution of a recorded run (see the module docstring for the rules)."""
    run = recorded_run(trace)
    engine = Counterfactuals(run, gazetteer, strategy)
    everything = frozenset[str]()
    base_result = engine.answer(everything)
    n_all = len(engine.candidates(everything))
    baseline = _outcome(base_result, base_result, n_all)
    notes = list(run.notes)
    reproduced = False
    if engine.strategy != run.strategy:
        notes.append(f"re-aggregated with strategy {engine.strategy!r}; the run used {run.strategy!r}")
    elif run.recorded is None:
        notes.append("the trace records no answer to compare with")
    else:
        recorded = ConsensusResult.model_validate({**run.recorded, "strategy": engine.strategy, "ranked": []})
        reproduced = _same_answer(base_result, recorded)
        if not reproduced:
            notes.append(
                "re-running verification and consensus on all the recorded evidence does not give the recorded "
                f"answer (recorded {recorded.lat}, {recorded.lon} at {recorded.confidence}; re-derived "
                f"{base_result.lat}, {base_result.lon} at {base_result.confidence}): the trace may come from "
                "another version or its candidates were changed after proposal"
            )
    if not run.proposals:
        notes.append("the trace records no proposed candidates")

    def row(key: str, kind: str, label: str, removed: frozenset[str], kept: frozenset[str], tasks: list[str]) -> Row:
        task_set = frozenset(tasks)
        other_tasks = frozenset(p.task for p in run.proposals if p.task not in task_set) if tasks else frozenset()
        without = _outcome(engine.answer(removed, task_set), base_result, len(engine.candidates(removed, task_set)))
        alone = _outcome(engine.answer(kept, other_tasks), base_result, len(engine.candidates(kept, other_tasks)))
        why = failure(baseline, without)
        return Row(
            key=key,
            kind=kind,
            label=label,
            evidence=[i for i in engine.ids if i in removed],
            tasks=sorted(task_set),
            without=without,
            alone=alone,
            single_point_of_failure=bool(why),
            why=why,
        )

    rows = [
        row(item.id, "evidence", _label(item), engine.removal([item.id]), engine.keeping([item.id]), [])
        for item in run.evidence
        if item.id
    ]
    group_rows = []
    for group in source_groups(run, engine.parents):
        removed = engine.removal(group.seeds) if group.seeds else frozenset()
        kept = engine.keeping(group.seeds) if group.seeds else frozenset()
        group_rows.append(row(group.key, group.kind, group.label, removed, kept, group.tasks))
    attribution = Attribution(
        run_id=run.run_id,
        strategy=engine.strategy,
        baseline=baseline,
        reproduced=reproduced,
        approximate=not reproduced,
        notes=notes,
        evidence=rows,
        groups=group_rows,
        single_points_of_failure=[r.key for r in (*rows, *group_rows) if r.single_point_of_failure],
    )
    attribution.minimal_set = minimal_set(engine, base_result, baseline, rows)
    attribution.counterfactuals = engine.computed
    return attribution


def minimal_set(engine: Counterfactuals, base: ConsensusResult, baseline: Outcome, rows: list[Row]) -> MinimalSet:
    """Greedy backward elimination: try dropping evidence, least important first, and keep
    each drop that leaves the answer within the baseline radius."""
    if not baseline.answered:
        return MinimalSet()
    radius = baseline.radius_km or 0.0

    def importance(row: Row) -> tuple[float, float, str]:
        moved = math.inf if not row.without.answered else (row.without.distance_km or 0.0)
        return (moved, baseline.confidence - row.without.confidence, row.key)

    removed: frozenset[str] = frozenset()
    for row in sorted(rows, key=importance):
        if row.key in removed:
            continue
        trial = engine.removal(removed | {row.key})
        result = engine.answer(trial)
        if result.answered:
            assert result.lat is not None and result.lon is not None and base.lat is not None and base.lon is not None
            if haversine_km(base.lat, base.lon, result.lat, result.lon) <= radius:
                removed = trial
    kept = [i for i in engine.ids if i not in removed]
    final = engine.answer(removed)
    return MinimalSet(
        evidence=kept,
        labels=[_label(engine.by_id[i]) for i in kept],
        outcome=_outcome(final, base, len(engine.candidates(removed))),
    )
