"""Lexical matching: the weighted terms of an expert step and their noisy-OR score against one evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .concepts import CONCEPTS, SPECIFIC_CONCEPTS
from .documents import Doc
from .text import (
    GENERIC_NAME_PARTS,
    QUOTED,
    STOPWORDS,
    TOKEN,
    fold,
    is_cjk,
    name_lexicon,
    place_names,
    rarity_weight,
    word_stem,
)

#: Weights of one matched term in the noisy-OR score of a step against one evidence.
_W_QUOTED = 0.8
_W_ENTITY = 0.7
_W_CJK = 0.7
_W_CJK_SINGLE = 0.4
_W_CONCEPT = 0.4
_W_PLACE_NAME = 0.4  # a country or world region named by the step and the evidence
_W_PRIOR_NAME = 0.15  # a country the evidence's prior favours, named by the step
_NUMBER_WEIGHTS = {1: 0.15, 2: 0.4}  # digits -> weight; longer numbers 0.7
_W_WORD_WITH_CONCEPT = 0.35

#: A step is covered lexically when its best evidence scores at least this. By
#: construction: one anchor (a quoted string, a named entity, a number of 3+ digits, a
#: CJK word) covers a step; a concept alone (0.4) or a country name alone (0.4) does
#: not, the two together do, and so does a concept with one more shared word (which
#: then counts double: "left" in "drive on the left" against "left-hand traffic");
#: ordinary words alone need three or four rare ones. Only the best concept and the best country from
#: an evidence's prior count, so a step naming several concepts or countries does not
#: add them up against one piece of evidence.
LEXICAL_THRESHOLD = 0.5


@dataclass(frozen=True)
class _Term:
    kind: Literal["quoted", "number", "cjk", "entity", "name", "word", "concept"]
    key: str
    weight: float


def step_terms(step: str) -> list[_Term]:
    """The terms of one expert step that evidence can match, each with its weight."""
    terms: dict[tuple[str, str], _Term] = {}

    def add(term: _Term) -> None:
        old = terms.get((term.kind, term.key))
        if old is None or old.weight < term.weight:
            terms[(term.kind, term.key)] = term

    quoted_spans = []
    for m in QUOTED.finditer(step):
        inner = fold(m.group(1) or m.group(2) or "")
        if len(inner) >= 2:
            add(_Term("quoted", inner, _W_QUOTED))
            quoted_spans.append(m.span())
    rest = step
    for start, end in reversed(quoted_spans):
        rest = rest[:start] + " " + rest[end:]

    for concept in CONCEPTS:
        if concept.pattern.search(rest):
            add(_Term("concept", concept.name, _W_CONCEPT))

    lexicon = name_lexicon()
    singles, phrases = place_names()
    tokens = list(TOKEN.finditer(rest))
    folded_seq = [fold(m.group()) for m in tokens]
    joined = " " + " ".join(folded_seq) + " "
    consumed: set[int] = set()
    for phrase in phrases:
        if " " + " ".join(phrase) + " " not in joined:
            continue
        for i in range(len(folded_seq) - len(phrase) + 1):
            if tuple(folded_seq[i : i + len(phrase)]) == phrase and not consumed & set(range(i, i + len(phrase))):
                add(_Term("name", " ".join(phrase), _W_PLACE_NAME))
                consumed.update(range(i, i + len(phrase)))
    for i, m in enumerate(tokens):
        if i in consumed:
            continue
        token = m.group()
        # A word that names a concept on its own ("text", "plates") is the concept; a
        # qualifier inside a concept phrase ("left" in "drive on the left") is a word.
        is_concept = any(c.pattern.fullmatch(token) for c in CONCEPTS)
        if token.isdigit():
            add(_Term("number", str(int(token)) if len(token) < 6 else token, _NUMBER_WEIGHTS.get(len(token), 0.7)))
            continue
        if any(is_cjk(ch) for ch in token):
            for run in re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+", token):
                add(_Term("cjk", run, _W_CJK if len(run) > 1 else _W_CJK_SINGLE))
            continue
        folded = folded_seq[i]
        stem = word_stem(folded)
        if len(stem) < 2 or folded in STOPWORDS or stem in STOPWORDS:
            continue
        if stem in singles:
            add(_Term("name", stem, _W_PLACE_NAME))
            continue
        before = rest[: m.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?;:(\"'“‘\n"
        capitalised = token[0].isupper() and not sentence_start
        acronym = len(token) >= 2 and token.isupper()
        generic = folded in GENERIC_NAME_PARTS or stem in GENERIC_NAME_PARTS
        if stem in lexicon or ((capitalised or acronym) and not generic):
            add(_Term("entity", stem, _W_ENTITY))
        elif not is_concept:
            add(_Term("word", stem, rarity_weight(stem)))
    return list(terms.values())


def lexical_score(terms: Sequence[_Term], doc: Doc) -> tuple[float, list[str]]:
    """Noisy-OR of the weights of the step's terms found in one evidence: independent
    anchors add up, each bounded by one. The best concept and the best country from the
    evidence's prior count once each. Ordinary words count double (up to 0.35) when the
    evidence is of a specific concept the step names: "yellow" beside "licence plate" on
    both sides is the same clue, "yellow" alone is not ("text" is too generic for this)."""
    miss = 1.0
    best_concept = best_prior = 0.0
    boost = False
    matched: list[str] = []
    words: list[_Term] = []
    for term in terms:
        weight = 0.0
        if term.kind in ("quoted", "cjk"):
            weight = term.weight if term.key in doc.text else 0.0
        elif term.kind == "number":
            weight = term.weight if term.key in doc.numbers else 0.0
        elif term.kind == "concept":
            if term.key in doc.concepts:
                best_concept = max(best_concept, term.weight)
                boost = boost or term.key in SPECIFIC_CONCEPTS
                matched.append(f"concept:{term.key}")
            continue
        elif term.kind == "name":
            found = f" {term.key} " in doc.token_text if " " in term.key else term.key in doc.stems
            if not found:
                if term.key in doc.prior_names:
                    best_prior = max(best_prior, _W_PRIOR_NAME)
                    matched.append(f"prior:{term.key}")
                continue
            weight = _W_ENTITY if doc.conclusion else term.weight
        elif term.kind == "word":
            if term.key in doc.stems:
                words.append(term)
            continue
        elif term.key in doc.stems:
            weight = term.weight
        if weight > 0:
            miss *= 1.0 - weight
            matched.append(f"{term.kind}:{term.key}")
    for term in words:
        miss *= 1.0 - (min(_W_WORD_WITH_CONCEPT, 2 * term.weight) if boost else term.weight)
        matched.append(f"word:{term.key}")
    miss *= (1.0 - best_concept) * (1.0 - best_prior)
    return 1.0 - miss, matched
