"""Choosing one reading of a gold answer: a candidate per part, every part inside its containers."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from .lookup import lies_inside, same_place
from .model import AMBIGUOUS_POP_RATIO, MAX_CANDIDATES
from .parsing import Cand, Mention


def _violations(mentions: list[Mention], combo: tuple[Cand, ...]) -> int:
    """How many pairs of parts disagree: the coarser must contain the finer."""
    bad = 0
    for i in range(len(combo)):
        for j in range(i + 1, len(combo)):
            a, b = combo[i], combo[j]
            ta, tb = mentions[i].tier(a), mentions[j].tier(b)
            if ta == tb:
                if a.place.kind == "city":
                    ok = lies_inside(a, b)
                elif a.place.kind == "region":
                    ok = a.region_key == b.region_key
                else:
                    ok = lies_inside(a, b) or lies_inside(b, a)
            else:
                outer, inner = (a, b) if ta > tb else (b, a)
                ok = lies_inside(outer, inner)
            bad += not ok
    return bad


@dataclass
class GoldReading:
    mentions: list[Mention]
    combo: tuple[Cand, ...]
    violations: int
    target: int  # index of the most specific mention
    ambiguous_with: Cand | None = None


def solve(mentions: list[Mention]) -> GoldReading | None:
    """The reading of all resolved parts that contradicts least, then fits best."""
    active = [m for m in mentions if m.cands]
    if not active:
        return None
    scored = []
    for combo in product(*(m.cands[:MAX_CANDIDATES] for m in active)):
        scored.append((_violations(active, combo), -sum(c.score for c in combo), combo))
    scored.sort(key=lambda s: (s[0], s[1]))
    violations, _, combo = scored[0]
    target = min(range(len(active)), key=lambda k: (active[k].tier(combo[k]), active[k].order))
    reading = GoldReading(active, combo, violations, target)
    best_fit = sum(c.fit for c in combo)
    chosen = combo[target]
    for v, _, alt in scored[1:]:
        if v != violations:
            break
        other = alt[target]
        if other.place.id == chosen.place.id or same_place(other, chosen):
            continue
        # Equally well named, and not clearly the smaller place: the kind preference alone
        # (a parish of Jamaica over the city of Portland, Oregon) is no reason to pick one.
        if sum(c.fit for c in alt) >= best_fit - 1e-9 and (chosen.place.population + 1) < AMBIGUOUS_POP_RATIO * (
            other.place.population + 1
        ):
            reading.ambiguous_with = other
            break
    return reading
