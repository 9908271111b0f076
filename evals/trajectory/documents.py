"""Evidence as documents to match against: folded text, stems, numbers, concepts, a readable sentence."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .concepts import CONCEPTS, SCRIPT_WORDS, TEXT_DERIVED
from .text import TOKEN, country_name_keys, fold, word_stem


@dataclass
class Doc:
    """What one piece of evidence offers for matching."""

    label: str
    text: str  # folded text (values, details, kind words)
    token_text: str = ""  # the same as space-separated tokens, for multi-word names
    stems: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    concepts: set[str] = field(default_factory=set)
    prior_names: set[str] = field(default_factory=set)
    sentence: str = ""  # a readable rendering for the embedding model
    conclusion: bool = False  # the run's own answer: a country it names is what the run concluded


_BOOKKEEPING_KEYS = frozenset(
    {
        "from",
        "evidence",
        "quad",
        "bbox",
        "backend",
        "read_on",
        "stage",
        "edge",
        "scale",
        "raw_confidence",
        "id",
        "reading",
        "discount",
        "provenance",
        "iso15924",
        "format",
        "form",
        "cue",
        "key",
        "vanity",
        "format_matched",
    }
)


def _detail_strings(value: Any, depth: int = 0) -> Iterable[str]:
    """String leaves of an evidence's details, and the keys of label -> weight maps
    ({"Han": 7}); bookkeeping fields and bare numbers are skipped (numbers there are
    scores, not things seen)."""
    if depth > 4:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        numeric_map = bool(value) and all(isinstance(v, (int, float)) for v in value.values())
        for key, item in value.items():
            if str(key) in _BOOKKEEPING_KEYS:
                continue
            if numeric_map:
                yield str(key)
            else:
                yield from _detail_strings(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value[:20]:
            yield from _detail_strings(item, depth + 1)


def as_dict(evidence: Any) -> dict[str, Any]:
    if isinstance(evidence, Mapping):
        return dict(evidence)
    if hasattr(evidence, "model_dump"):
        return evidence.model_dump(mode="json")
    raise TypeError(f"evidence must be an Evidence or a dict, not {type(evidence).__name__}")


def _kind_label(kind: str) -> str:
    for concept in CONCEPTS:
        if kind in concept.kinds:
            return concept.label
    return {
        "model_observation": "observation",
        "hint": "hint",
        "summary": "run summary",
    }.get(kind, kind.replace("_", " "))


def _sentence(kind: str, value: str) -> str:
    """How the embedding model sees one evidence: its kind in the words experts use and its
    value. Text read from the image is quoted without a label: a label such as "text read
    in the image" makes every step that mentions "the text in the picture" look similar
    to every OCR line (with it, 4.1% of steps matched another item's evidence; without,
    1.6%)."""
    if kind == "ocr_text":
        return f'it reads "{value}"'
    return f"{_kind_label(kind)}: {value}"


def make_doc(
    label: str, kind: str, value: str, details: Any = None, countries: Mapping[str, float] | None = None
) -> Doc:
    # The kind's own words only where no concept stands for the kind (a "license_plate"
    # evidence must not match "license" twice, as concept and as word).
    kind_words = [] if any(kind in c.kinds for c in CONCEPTS) or kind in TEXT_DERIVED else [kind.replace("_", " ")]
    parts = [*kind_words, value, *list(_detail_strings(details or {}))]
    lower_value = fold(value)
    if kind == "script":
        for script, words in SCRIPT_WORDS.items():
            if re.search(rf"\b{script}\b", lower_value):
                parts.append(words)
    text = fold(" ".join(parts))
    doc = Doc(label=label, text=text, sentence=_sentence(kind, value))
    tokens = TOKEN.findall(text)
    doc.token_text = " " + " ".join(tokens) + " "
    for token in tokens:
        if token.isdigit():
            doc.numbers.add(str(int(token)) if len(token) < 6 else token)
        else:
            doc.stems.add(word_stem(token))
    for concept in CONCEPTS:
        if kind in concept.kinds or (kind not in TEXT_DERIVED and concept.pattern.search(value)):
            doc.concepts.add(concept.name)
    if kind in TEXT_DERIVED:
        doc.concepts.add("text")  # a script, a language or a phone number is text the run read
    if countries:
        top = max(countries.values(), default=0.0)
        favoured = sorted((c for c, w in countries.items() if top > 0 and w >= 0.3 * top), key=lambda c: -countries[c])
        for code in favoured[:8]:
            doc.prior_names.update(country_name_keys(code))
    return doc


def evidence_docs(evidence: Sequence[Any], summary: str | None) -> list[Doc]:
    docs = []
    texts = []
    for i, raw in enumerate(evidence):
        e = as_dict(raw)
        label = str(e.get("id") or f"#{i}")
        kind = str(e.get("kind") or "")
        value = str(e.get("value") or "")
        docs.append(make_doc(label, kind, value, e.get("details"), e.get("countries")))
        if kind == "ocr_text" and value:
            texts.append((label, value))
    if len(texts) > 1:  # OCR splits phrases across lines: "NO" / "PASSING" / "ZONE"
        joined = " ".join(v for _, v in texts)
        docs.append(
            make_doc("+".join(lbl for lbl, _ in texts[:6]) + ("+..." if len(texts) > 6 else ""), "ocr_text", joined)
        )
    if summary:
        docs.append(make_doc("summary", "summary", summary))
        docs[-1].conclusion = True
    return docs
