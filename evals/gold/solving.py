"""Choosing one reading of a gold answer: a candidate per part, every part inside its containers."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from .lookup import _inside, _same_place
from .model import _AMBIGUOUS_POP_RATIO, _MAX_CANDIDATES
from .parsing import _Cand, _Mention


def _violations(mentions: list[_Mention], combo: tuple[_Cand, ...]) -> int:
    """How many pairs of parts disagree: the coarser must contain the finer."""
    bad = 0
    for i in range(len(combo)):
        for j in range(i + 1, len(combo)):
            a, b = combo[i], combo[j]
            ta, tb = mentions[i].tier(a), mentions[j].tier(b)
            if ta == tb:
                if a.place.kind == "city":
                    ok = _inside(a, b)
                elif a.place.kind == "region":
                    ok = a.region_key == b.region_key
                else:
                    ok = _inside(a, b) or _inside(b, a)
            else:
                outer, inner = (a, b) if ta > tb else (b, a)
                ok = _inside(outer, inner)
            bad += not ok
    return bad


@dataclass
class _Reading:
    mentions: list[_Mention]
    combo: tuple[_Cand, ...]
    violations: int
    target: int  # index of the most specific mention
    ambiguous_with: _Cand | None = None


def _solve(mentions: list[_Mention]) -> _Reading | None:
    """The reading of all resolved parts that contradicts least, then fits best."""
    active = [m for m in mentions if m.cands]
    if not active:
        return None
    scored = []
    for combo in product(*(m.cands[:_MAX_CANDIDATES] for m in active)):
        scored.append((_violations(active, combo), -sum(c.score for c in combo), combo))
    scored.sort(key=lambda s: (s[0], s[1]))
    violations, _, combo = scored[0]
    target = min(range(len(active)), key=lambda k: (active[k].tier(combo[k]), active[k].order))
    reading = _Reading(active, combo, violations, target)
    best_fit = sum(c.fit for c in combo)
    chosen = combo[target]
    for v, _, alt in scored[1:]:
        if v != violations:
            break
        other = alt[target]
        if other.place.id == chosen.place.id or _same_place(other, chosen):
            continue
        # Equally well named, and not clearly the smaller place: the kind preference alone
        # (a parish of Jamaica over the city of Portland, Oregon) is no reason to pick one.
        if sum(c.fit for c in alt) >= best_fit - 1e-9 and (chosen.place.population + 1) < _AMBIGUOUS_POP_RATIO * (
            other.place.population + 1
        ):
            reading.ambiguous_with = other
            break
    return reading
