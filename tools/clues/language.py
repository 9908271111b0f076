"""Language of the text in an image -> countries where it is spoken, via py3langid and CLDR.

Why it works this way:

* Identification is offline with py3langid (a naive-Bayes byte n-gram model that ships
  with the package). On 128 hand-written sign-like strings in 16 languages it was right
  on 86 % of the 1-4 word strings, and its answers with probability >= 0.5 were 98 %
  right (65 % of strings). lingua-language-detector did better (91 %) only in its
  high-accuracy mode, which took 14 s and 1.3 GB of memory to load; its low-accuracy
  mode got 72 %. So: py3langid, and only its confident answers.
* Short strings and proper nouns are unreliable: a span counts only with at least two
  words and ``MIN_LETTERS`` letters (or ``MIN_LETTERS_UNSPACED`` in scripts written
  without spaces), and only when the model's top probability is >= ``MIN_PROBABILITY``.
* When the model cannot say (a two-word sign, "AREA PROTEGIDA", which it spreads over
  Romanian, Basque and Latin), the words themselves can: a language in which *every*
  word of the sign is an ordinary word (``wordfreq``), clearly more than in the other
  languages, is the sign's language; close calls share the probability (Spanish and
  Portuguese for "AREA PROTEGIDA"). English is left out of this: its words are on signs
  everywhere.
* Chinese, Japanese and Korean are decided by script (kana -> ja, Hangul -> ko, Han ->
  zh in its simplified or traditional form) exactly as the script module does, so the
  two never disagree; a byte model would call a kanji-only sign Chinese.
* Countries come from CLDR (via babel): the share of each country speaking the language,
  weighted by official status, spread by ``data.spread_prior`` (big countries where a
  language is regional, like Bengali in India, are not lost).
* Languages seen together multiply (French and Dutch on one sign mean Belgium); English
  beside another language barely narrows anything, and English alone keeps a floor on
  every country because it is on signs everywhere.

One clue per image summarises all its spans.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

from tools.text import TextSpan

from . import data
from .model import Clue, span_quality
from .scripts import _SIMPLIFIED, _TRADITIONAL, count_scripts, has_kana, japanese_kana

PROVENANCE = "py3langid; CLDR territory languages via babel"

MIN_LETTERS = 8
MIN_LETTERS_UNSPACED = 4
MIN_WORDS = 2
MIN_PROBABILITY = 0.5
#: Languages whose share of an image's text is below this are left out of its clue.
MIN_SHARE = 0.15
#: A language must have this share to count as seen *together* with another one.
BILINGUAL_SHARE = 0.25
EPSILON = 0.1
ENGLISH_EPSILON = 0.6
#: English is on signs in every country (brands, tourism, transport); its prior keeps this floor.
ENGLISH_FLOOR = 0.05
ENGLISH_RELIABILITY_FACTOR = 0.6
RELIABILITY = 0.8

#: py3langid labels -> CLDR language keys where they differ.
ALIASES = {"no": "nb", "tl": "fil", "bcl": "fil", "gug": "gn", "gom": "kok", "uzs": "uz_Arab", "kik": "ki"}
_UNSPACED = frozenset({"Hani", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})
#: Languages so close that a byte model splits short texts between them (py3langid labels).
_FAMILIES = (
    frozenset({"ms", "id", "jv", "su"}),
    frozenset({"da", "no", "nb", "nn", "sv"}),
    frozenset({"hr", "sr", "bs"}),
    frozenset({"cs", "sk"}),
)
_FAMILY = {label: family for family in _FAMILIES for label in family}
_CJK = frozenset({"Hani", "Hira", "Kana", "Hang"})
#: Latin-script languages a short sign's words are looked up in (wordfreq lists; the same
#: ones place names are checked against, so the lists load once).
WORD_LANGUAGES = ("en", "es", "pt", "fr", "it", "de", "nl", "ro", "pl", "sv", "cs", "hu", "tr", "id", "ms")
#: Every word must be at least this ordinary (Zipf) in a language for it to be the sign's.
WORD_MIN_ZIPF = 1.5
#: ... and the words' mean Zipf frequency in the best language at least this.
WORD_MIN_MEAN = 2.5
#: Languages within this much of the best mean share the probability.
WORD_MARGIN = 0.4


@data.once
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@data.once
def _likely_scripts() -> dict[str, str]:
    from babel.core import get_global

    return {k: v.split("_")[1] for k, v in get_global("likely_subtags").items() if len(v.split("_")) > 2}


@lru_cache(maxsize=1024)
def written_in(lang: str) -> frozenset[str]:
    """Scripts a language is written in, per CLDR: 'sr' -> {Cyrl, Latn}, 'de' -> {Latn}."""
    likely = _likely_scripts()
    scripts = set()
    for key in [lang, *data.language_keys(lang.split("_")[0])]:
        parts = key.split("_")
        script = parts[1] if len(parts) > 1 and len(parts[1]) == 4 else likely.get(key)
        if script:
            scripts.add(script)
    if scripts & {"Hans", "Hant", "Jpan", "Kore"}:
        scripts.add("Hani")
    return frozenset(scripts)


def cldr_language(label: str) -> str:
    return ALIASES.get(label, label)


def language_prior(lang: str) -> dict[str, float]:
    """Prior over countries for one language code ('pt', 'zh_Hant', 'nb')."""
    keys = [lang] if "_" in lang else data.language_keys(lang)
    if lang == "zh":
        keys = ["zh", "zh_Hans", "yue_Hans"]
    prior = data.spread_prior(data.language_shares(keys))
    if lang == "en" and prior:
        prior = data.normalise_top({c: max(prior.get(c, 0.0), ENGLISH_FLOOR) for c in data.country_codes()}, 0.0)
    return prior


_prior_cache: dict[str, dict[str, float]] = {}
_prior_lock = threading.Lock()


def _cached_prior(lang: str) -> dict[str, float]:
    prior = _prior_cache.get(lang)
    if prior is None:
        with _prior_lock:
            prior = _prior_cache.get(lang)
            if prior is None:
                prior = _prior_cache[lang] = language_prior(lang)
    return prior


def identify(text: str, cjk_context: str | None = None) -> tuple[dict[str, float], str] | None:
    """Language probabilities for one span's text and how they were found ('script' or 'model').

    ``cjk_context`` ('ja' or 'ko') is what the rest of the image says about Han characters:
    kanji-only lines on a sign with kana are Japanese, as the script module reads them.
    None when the text is too short to say, or the model is not confident.
    """
    counts = count_scripts(text)
    letters = sum(counts.values())
    if not letters:
        return None
    dominant = counts.most_common(1)[0][0]
    cjk = sum(n for s, n in counts.items() if s in _CJK)
    if cjk * 2 >= letters:
        if cjk < 2:
            return None
        if has_kana(text):
            return {"ja": 1.0}, "script"
        if counts.get("Hang", 0) >= 2:
            return {"ko": 1.0}, "script"
        if cjk_context is not None:
            return {cjk_context: 1.0}, "script"
        simplified = sum(ch in _SIMPLIFIED for ch in text)
        traditional = sum(ch in _TRADITIONAL for ch in text)
        return {("zh_Hant" if traditional > simplified else "zh"): 1.0}, "script"
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if dominant in _UNSPACED:
        if letters < MIN_LETTERS_UNSPACED:
            return None
    elif len(words) < MIN_WORDS or letters < MIN_LETTERS:
        by_words = identify_by_words(text) if dominant == "Latn" else None
        return (by_words, "words") if by_words else None
    ranked = _identifier().rank(text)
    top_label, top_p = ranked[0]
    if top_p < MIN_PROBABILITY:
        # Close relatives split a confident answer between them ("AWAS PANDU PERLAHAN":
        # Malay 0.38, Indonesian 0.23, Javanese 0.20); together they still say where.
        family = _FAMILY.get(top_label)
        if family is None or sum(p for label, p in ranked[:5] if label in family) < MIN_PROBABILITY:
            by_words = identify_by_words(text) if dominant == "Latn" else None
            return (by_words, "words") if by_words else None
    probs: dict[str, float] = {}
    for label, p in ranked[:5]:
        lang = cldr_language(label)
        if p < 0.1 or not _cached_prior(lang):
            continue
        scripts = written_in(lang)
        if scripts and dominant not in scripts:
            continue  # a byte model's guess in a script the language is not written in
        probs[lang] = probs.get(lang, 0.0) + p
    if cldr_language(top_label) not in probs:
        return None
    return probs, "model"


def identify_by_words(text: str) -> dict[str, float] | None:
    """Languages of a short Latin-script text from its words' frequencies, or None.

    Used when the byte model cannot decide: the languages in which every word (two or
    more, of three letters or more) is an ordinary word, led by the one where they are
    most frequent."""
    try:
        import wordfreq  # noqa: F401 - only to learn that it is installed

        from ..word_frequency import zipf_frequency
    except ImportError:
        return None
    words = ["".join(ch for ch in w if ch.isalpha()).lower() for w in text.split()]
    words = [w for w in words if len(w) >= 3]
    if len(words) < MIN_WORDS or sum(len(w) for w in words) < 5:
        return None  # one word is a name more often than a sentence ("Bahnhofstraße")
    scores = {}
    for lang in WORD_LANGUAGES:
        zipfs = [zipf_frequency(w, lang) for w in words]
        if min(zipfs) >= WORD_MIN_ZIPF:
            scores[lang] = sum(zipfs) / len(zipfs)
    if not scores:
        return None
    best = max(scores.values())
    close = {lang: s for lang, s in scores.items() if s >= best - WORD_MARGIN}
    if best < WORD_MIN_MEAN or "en" in close or len(close) > 3:
        return None
    weights = {lang: math.exp(3.0 * (s - best)) for lang, s in close.items()}
    total = sum(weights.values())
    return {cldr_language(lang): w / total for lang, w in weights.items() if _cached_prior(cldr_language(lang))}


def _product(priors: list[tuple[str, dict[str, float]]]) -> dict[str, float]:
    codes = set().union(*(p for _, p in priors))
    return {
        c: math.prod((ENGLISH_EPSILON if lang == "en" else EPSILON) + p.get(c, 0.0) for lang, p in priors)
        for c in codes
    }


def language_clue(spans: list[TextSpan]) -> Clue | None:
    """One clue summarising the languages of these spans (one image), or None."""
    mass: Counter[str] = Counter()
    used: list[tuple[TextSpan, dict[str, float], str, int]] = []
    quality_sum = weight_sum = confidence_sum = 0.0
    per_span = [(span, count_scripts(span.text)) for span in spans]
    cjk_context = None
    if japanese_kana(per_span):
        cjk_context = "ja"
    elif sum(counts.get("Hang", 0) for _, counts in per_span) >= 2:
        cjk_context = "ko"
    for span, counts in per_span:
        found = identify(span.text, cjk_context)
        if found is None:
            continue
        probs, how = found
        # A CJK character carries about as much as a short word: count it as three letters.
        letters = sum(counts.values()) + 2 * sum(n for s, n in counts.items() if s in _CJK)
        weight = min(1.0, letters / 30.0) * span_quality(span)
        for lang, p in probs.items():
            mass[lang] += p * weight
        used.append((span, probs, how, letters))
        quality_sum += span_quality(span) * letters
        weight_sum += letters
        confidence_sum += max(probs.values()) * letters
    total = sum(mass.values())
    if not used or total <= 0:
        return None
    shares = {lang: m / total for lang, m in mass.most_common() if m / total >= MIN_SHARE}
    if not shares:
        return None
    # Seen *together* means different lines in different languages; one short line that
    # could be Spanish or Portuguese is one language or the other.
    tops = {max(probs, key=probs.get) for _, probs, _, _ in used}
    strong = [lang for lang, s in shares.items() if s >= BILINGUAL_SHARE and lang in tops]
    if len(strong) >= 2:
        prior = _product([(lang, _cached_prior(lang)) for lang in strong])
    else:
        prior = {}
        for lang, share in shares.items():
            for code, w in _cached_prior(lang).items():
                prior[code] = prior.get(code, 0.0) + share * w
    # With English in the mix every country keeps its (small) English floor.
    countries = data.normalise_top(prior, floor=1e-3 if "en" in shares else data.MIN_WEIGHT)
    if not countries:
        return None

    letters = int(weight_sum)
    top_lang, top_share = next(iter(shares.items()))
    reliability = RELIABILITY * top_share * (confidence_sum / weight_sum) * (1.0 - math.exp(-letters / 25.0))
    if top_lang == "en":
        reliability *= ENGLISH_RELIABILITY_FACTOR
    names = " + ".join(f"{lang} ({data.language_name(lang)})" for lang in shares)
    by_script = all(how == "script" for _, _, how, _ in used)
    return Clue(
        kind="language",
        key="language",
        value=f"language{'s' if len(shares) > 1 else ''} {names}",
        reliability=reliability,
        countries=countries,
        provenance=("CJK by script; CLDR territory languages via babel" if by_script else PROVENANCE),
        spans=[span for span, _, _, _ in used],
        details={
            "languages": {lang: round(s, 3) for lang, s in shares.items()},
            "letters": letters,
            "spans": [
                {
                    "evidence": span.evidence,
                    "text": span.text[:80],
                    "edge": span.edge,
                    "by": how,
                    "languages": {k: round(v, 3) for k, v in probs.items()},
                }
                for span, probs, how, _ in used[:20]
            ],
        },
        quality=quality_sum / weight_sum,
    )
