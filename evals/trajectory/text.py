"""Text normalising for matching: folding, stemming, tokens, language and place names (CLDR)."""

from __future__ import annotations

import functools
import re
import unicodedata

STOPWORDS = frozenset(
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
GENERIC_NAME_PARTS = frozenset(
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


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _CJK_RANGES)


def fold(text: str) -> str:
    """Casefolded, accents stripped, whitespace collapsed: 'ÁREA  Protegida' -> 'area protegida'."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


def word_stem(word: str) -> str:
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


TOKEN = re.compile(r"\d+|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
QUOTED = re.compile(
    r"[\"“”„«»「」『』]([^\"“”„«»「」『』\n]{2,60})[\"“”„«»「」『』]|(?<![\w'])'([^'\n]{2,40})'(?![\w'])"
)


@functools.lru_cache(maxsize=1)
def name_lexicon() -> frozenset[str]:
    """Single words of language and script names (CLDR via babel): named entities wherever
    they stand in a sentence ("the text is in arabic")."""
    from babel import Locale

    en = Locale("en")
    words: set[str] = set()
    for table in (en.languages, en.scripts):
        for name in table.values():
            for token in TOKEN.findall(fold(name)):
                if len(token) > 2 and token not in GENERIC_NAME_PARTS and token not in STOPWORDS:
                    words.add(word_stem(token))
    return frozenset(words) - place_names()[0]


def _name_variants(name: str) -> list[tuple[str, ...]]:
    """Token sequences a country name goes by: 'Myanmar (Burma)' -> (myanmar,), (burma,);
    'Hong Kong SAR China' -> (hong, kong, sar, china), (hong, kong)."""
    folded = fold(name)
    parts = [folded, *re.split(r"\(|\)| - |&|,| sar ", folded)]
    out = []
    for part in parts:
        tokens = tuple(t for t in TOKEN.findall(part) if t not in ("the", "and", "of"))
        if tokens and tokens not in out:
            out.append(tokens)
    return out


@functools.lru_cache(maxsize=1)
def place_names() -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """Country and world-region names (CLDR): single-word names as stems, and multi-word
    names as token sequences, longest first ("united states" is one name, not two words)."""
    from babel import Locale

    singles: set[str] = set()
    phrases: set[tuple[str, ...]] = set()
    for name in Locale("en").territories.values():
        for tokens in _name_variants(name):
            if len(tokens) == 1:
                if len(tokens[0]) > 2 and tokens[0] not in GENERIC_NAME_PARTS and tokens[0] not in STOPWORDS:
                    singles.add(word_stem(tokens[0]))
            else:
                phrases.add(tokens)
    return frozenset(singles), tuple(sorted(phrases, key=len, reverse=True))


def country_name_keys(code: str) -> set[str]:
    """The keys under which a step's mention of this country is matched."""
    singles, _ = place_names()
    keys = set()
    for tokens in _name_variants(_country_names().get(code.upper(), "")):
        if len(tokens) == 1:
            if word_stem(tokens[0]) in singles:
                keys.add(word_stem(tokens[0]))
        else:
            keys.add(" ".join(tokens))
    return keys


@functools.lru_cache(maxsize=4096)
def rarity_weight(stem: str) -> float:
    """Weight of an ordinary content word: rarer words say more (wordfreq Zipf scale:
    'road' 5.2 -> 0.13, 'billboard' 3.9 -> 0.21, unknown words -> 0.35)."""
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(stem, "en")
    return max(0.08, min(0.35, 0.06 + 0.05 * (6.5 - zipf)))


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    return dict(Locale("en").territories)
