"""Combining country priors from many clues into one belief over countries.

Each clue with a ``countries`` prior is an expert that is right with probability
equal to its confidence. The combination is a product of experts in log space,
``log P(c) = sum_e conf_e * k_e * log(eps + p_e(c) / max p_e)``, where ``k_e`` (the top
weight's share of the prior) tempers clues spread over many countries; normalised over
the countries any clue mentions: a country every clue allows beats one that a single
confident clue rules out, and weak clues barely move it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tools.evidence import Evidence

from ..correlation import independence_weights

EPSILON = 0.05


def country_belief(evidence: Iterable[Evidence], exclude: set[str] | None = None) -> dict[str, float]:
    """Normalised belief over ISO codes from all evidence with country priors (ids in
    ``exclude`` left out). Empty when no evidence speaks of countries."""
    items = [e for e in evidence if e.countries and (exclude is None or e.id not in exclude)]
    weights = independence_weights(items)
    codes = sorted({c for e in items for c in e.countries})
    if not codes:
        return {}
    logits = dict.fromkeys(codes, 0.0)
    for item in items:
        assert item.countries is not None
        top = max(item.countries.values()) or 1.0
        for code in codes:
            logits[code] += (
                weights.get(item.id or "", 1.0)
                * item.confidence
                * math.log(EPSILON + item.countries.get(code, 0.0) / top)
            )
    peak = max(logits.values())
    weights = {c: math.exp(v - peak) for c, v in logits.items()}
    total = sum(weights.values())
    return {c: w / total for c, w in sorted(weights.items(), key=lambda kv: -kv[1])}


def supporters(evidence: Iterable[Evidence], code: str, threshold: float = 0.5) -> list[Evidence]:
    """Evidence whose prior ranks ``code`` at least ``threshold`` of its top country."""
    out = []
    for item in evidence:
        if item.countries:
            top = max(item.countries.values()) or 1.0
            if item.countries.get(code, 0.0) / top >= threshold:
                out.append(item)
    return out
