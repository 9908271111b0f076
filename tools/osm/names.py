"""Names as signs write them and as OSM stores them: both sides of a tolerant match.

A street sign reads "R. AUGUSTA", OSM has "Rua Augusta"; a German sign "Hauptstr.", OSM
"Hauptstraße". On the server side :func:`tolerant_name_regex` turns the text into a POSIX
regular expression that finds the name whatever its case, diacritics and punctuation; on
our side :func:`name_key` and :func:`match_quality` grade what came back, forgiving the
street-type word. Both fold letters with :func:`fold_name`, so they agree on what "the
same letter" means.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..normalize import normalize
from ..streets import find_street_words
from .ql import OsmQueryError, regex_escape

#: Glued abbreviations of street words that the street table does not list ("Hauptstr.").
_GLUED_ABBREVIATIONS = ("str",)
_VARIANTS: dict[str, str] | None = None
#: Folds of one character to two (normalize: ß -> ss, æ -> ae, ...), matched both ways.
_MULTI = {"ss": "ßẞ", "ae": "æÆ", "oe": "œŒ", "th": "þÞ"}
_LETTER_RANGES = ((0x00C0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x1E00, 0x1EFF))


def fold_name(text: str) -> str:
    """:func:`tools.normalize.normalize`, plus diacritics stripped from Latin Extended
    Additional letters (Vietnamese "Phố" -> "pho"), which ``normalize`` keeps. Names are
    compared in this form on our side and searched through :func:`tolerant_name_regex`
    on the server's, so both sides fold the same letters."""
    key = normalize(text)
    if not any(0x1E00 <= ord(ch) <= 0x1EFF for ch in key):
        return key
    out = []
    for ch in key:
        if 0x1E00 <= ord(ch) <= 0x1EFF:
            ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(ch)
    return "".join(out)


def _variants() -> dict[str, str]:
    """For each folded letter, every letter that :func:`tools.normalize.normalize` folds to it,
    in both cases ('e' -> 'eEéÉèÈ...'), derived from Unicode rather than a hand list."""
    global _VARIANTS
    if _VARIANTS is None:
        table: dict[str, set[str]] = {}
        for lo, hi in _LETTER_RANGES:
            for code in range(lo, hi + 1):
                ch = chr(code)
                if not ch.isalpha():
                    continue
                base = fold_name(ch)
                if len(base) == 1 and base != ch:
                    table.setdefault(base, {base}).update({ch, ch.upper() if len(ch.upper()) == 1 else ch})
        for base, chars in table.items():
            if len(base.upper()) == 1:
                chars.add(base.upper())
        _VARIANTS = {base: "".join(sorted(c for c in chars if c.isalpha())) for base, chars in table.items()}
    return _VARIANTS


def _letter_class(ch: str) -> str:
    variants = _variants().get(ch)
    if not variants or len(variants) < 2:
        return regex_escape(ch)
    return "[" + variants + "]"  # letters only: no ], ^, - or \ inside a POSIX bracket expression


def tolerant_name_regex(text: str) -> str:
    """A POSIX ERE that finds ``text`` in a name regardless of case, diacritics and
    punctuation: "Munchener Strasse" also finds "Münchener Straße" and "MÜNCHENER STR-ASSE".

    ``text`` is normalised first; each letter becomes the bracket expression of all the
    letters that fold to it, 'ss'/'ae'/'oe'/'th' also match ß/æ/œ/þ, and word gaps allow up
    to three characters of punctuation or space. Everything else is escaped literally.
    """
    key = fold_name(text)
    if not key:
        raise OsmQueryError(f"no letters or digits to search for in {text!r}")
    out: list[str] = []
    i = 0
    while i < len(key):
        pair = key[i : i + 2]
        if pair in _MULTI:
            out.append(f"({_letter_class(pair[0])}{_letter_class(pair[1])}|[{_MULTI[pair]}])")
            i += 2
            continue
        ch = key[i]
        out.append(".{0,3}" if ch == " " else _letter_class(ch))
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------- our side


@dataclass(frozen=True)
class NameKey:
    """A name normalised for matching: all of it, and its core without the street-type word."""

    full: str
    core: str
    has_street_word: bool


def name_key(text: str) -> NameKey:
    """Normalise a name (case, diacritics, punctuation) and strip its street-type word:
    "Rua Augusta" -> core "augusta", "Hauptstraße" -> "haupt", "Av. da Liberdade" -> "da liberdade"."""
    full = fold_name(text)
    words = full.split()
    if not words:
        return NameKey(full, "", False)
    matches = find_street_words(full)
    before = {m.word for m in matches if m.position == "before"}
    after = {m.word for m in matches if m.position == "after"}
    suffixes = sorted({m.word for m in matches if m.position == "suffix"}, key=len, reverse=True)
    stripped = False
    if len(words) > 1 and words[0] in before:
        words, stripped = words[1:], True
    if len(words) > 1 and words[-1] in after:
        words, stripped = words[:-1], True
    last = words[-1]
    for suffix in (*suffixes, *_GLUED_ABBREVIATIONS):
        if last.endswith(suffix) and len(last) > len(suffix) + (0 if not suffix.isascii() else 2):
            words = [*words[:-1], last[: -len(suffix)]]
            stripped = True
            break
    return NameKey(full, " ".join(words), stripped)


def match_quality(query: str | NameKey, candidate: str) -> float:
    """How well an OSM name matches a text read in the photo, in [0, 1] (see module doc)."""
    q = query if isinstance(query, NameKey) else name_key(query)
    c = name_key(candidate)
    if not q.full or not c.full:
        return 0.0
    if q.full == c.full:
        return 1.0
    if q.core and q.core == c.core:
        return 0.9 if q.has_street_word == c.has_street_word else 0.8
    core = q.core or q.full
    if f" {core} " in f" {c.full} ":
        return 0.6
    glued = c.full.replace(" ", "")
    if q.full.replace(" ", "") in glued or (not q.has_street_word and core.replace(" ", "") in glued):
        return 0.45  # only inside a longer word: "augusta" in "augustaplatz"
    return 0.0
