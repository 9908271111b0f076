"""Writing systems seen in an image -> countries where they are written, from CLDR.

Why it works this way:

* Each letter's script comes from its Unicode name (``unicodedata``): exact, offline, and
  no table to keep.
* Which countries write a script comes from CLDR (via babel): for every territory, the
  languages spoken there with their population share and official status, and each
  language's script (``sr_Latn`` names it; otherwise CLDR's likely script for that
  language in that territory). So Cyrillic points to RU, UA, BY, BG, RS, MK, KZ, KG, MN,
  TJ ... with weights, and also faintly to Latvia or Israel, where many read Russian.
* The CJK scripts are read together, as people write them: kana means Japanese (Han
  characters beside it are kanji); Hangul means Korean; Han alone means Chinese, with
  Japan weaker (a kanji-only sign is possible) and Korea faint. When the Han characters
  include ones that exist only in simplified or only in traditional form, the prior leans
  to CN/SG or TW/HK/MO. That small character table is hand-made: CLDR has none.
* Latin is everywhere, so Latin text alone yields no clue; other scripts seen with it
  still count. Several non-Latin scripts together multiply (Arabic and Hebrew together
  point to Israel, not to both halves).
* OCR engines that read Cyrillic or Greek misread Latin capitals as look-alikes (the
  Cyrillic "С" for "C"); words mixing Latin with only look-alike letters count as Latin.

One clue per image summarises every span of it, listing the spans it used.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from functools import lru_cache

from tools.text import TextSpan

from . import data
from .model import Clue, span_quality

PROVENANCE = "Unicode character names; CLDR territory languages and scripts via babel"

#: Unicode name prefix -> ISO 15924 code. Longer prefixes first where one contains another.
_NAME_PREFIXES: tuple[tuple[str, str], ...] = (
    ("CJK UNIFIED IDEOGRAPH", "Hani"),
    ("CJK COMPATIBILITY IDEOGRAPH", "Hani"),
    ("IDEOGRAPHIC", "Hani"),
    ("KATAKANA-HIRAGANA", "Kana"),
    ("HIRAGANA", "Hira"),
    ("HALFWIDTH KATAKANA", "Kana"),
    ("KATAKANA", "Kana"),
    ("HALFWIDTH HANGUL", "Hang"),
    ("HANGUL", "Hang"),
    ("FULLWIDTH LATIN", "Latn"),
    ("LATIN", "Latn"),
    ("CYRILLIC", "Cyrl"),
    ("GREEK", "Grek"),
    ("ARABIC", "Arab"),
    ("HEBREW", "Hebr"),
    ("DEVANAGARI", "Deva"),
    ("BENGALI", "Beng"),
    ("GURMUKHI", "Guru"),
    ("GUJARATI", "Gujr"),
    ("ORIYA", "Orya"),
    ("TAMIL", "Taml"),
    ("TELUGU", "Telu"),
    ("KANNADA", "Knda"),
    ("MALAYALAM", "Mlym"),
    ("SINHALA", "Sinh"),
    ("THAI", "Thai"),
    ("LAO", "Laoo"),
    ("TIBETAN", "Tibt"),
    ("MYANMAR", "Mymr"),
    ("KHMER", "Khmr"),
    ("GEORGIAN", "Geor"),
    ("ARMENIAN", "Armn"),
    ("ETHIOPIC", "Ethi"),
    ("MONGOLIAN", "Mong"),
    ("THAANA", "Thaa"),
    ("TIFINAGH", "Tfng"),
    ("CANADIAN SYLLABICS", "Cans"),
    ("CHEROKEE", "Cher"),
    ("SYRIAC", "Syrc"),
    ("NKO", "Nkoo"),
    ("OL CHIKI", "Olck"),
    ("JAVANESE", "Java"),
    ("BALINESE", "Bali"),
)

#: Fewer letters of a script than this in an image are ignored (stray OCR noise).
MIN_LETTERS = 2
#: How much a kanji-only sign points to Japan, and a Han-only one to Korea, relative to
#: the Chinese-writing territories.
JAPAN_HAN_FACTOR = 0.35
KOREA_HAN_FACTOR = 0.05
#: When several non-Latin scripts are seen, each country's weight is the product of
#: (EPSILON + weight for each script): a country must explain all of them, but a tourist
#: sign in a second script does not zero out the first script's countries.
EPSILON = 0.05
#: Base reliability of a script clue when there are plenty of letters.
RELIABILITY = 0.85

#: Hand table (CLDR has no such data): common characters whose simplified and traditional
#: forms differ, in matching order. A sign with simplified forms is from the PRC or
#: Singapore/Malaysia; one with traditional forms from Taiwan, Hong Kong or Macau (or Japan).
SIMPLIFIED = "这们国对说时会来个为学发业广场区医铁银饭馆卖买药华龙湾号楼厅园图汤鸡鱼价优机问间务员单体饮乐听线进边气网苏庆汉语话请谢让钱货红绿岛县镇乡农团无厂丽宁兴东车马长开关电书门见处从动产实经与万两历总录营证费质际设热鲜烧饺"  # noqa: E501
TRADITIONAL = "這們國對說時會來個為學發業廣場區醫鐵銀飯館賣買藥華龍灣號樓廳園圖湯雞魚價優機問間務員單體飲樂聽線進邊氣網蘇慶漢語話請謝讓錢貨紅綠島縣鎮鄉農團無廠麗寧興東車馬長開關電書門見處從動產實經與萬兩歷總錄營證費質際設熱鮮燒餃"  # noqa: E501
_SIMPLIFIED = frozenset(SIMPLIFIED)
_TRADITIONAL = frozenset(TRADITIONAL)

#: Hand table: kanji in the forms Japan adopted in 1946 (shinjitai) that differ from both
#: the simplified and the traditional Chinese forms (駅, not 驿 or 驛).
JAPANESE_FORMS = "駅円売読続変図県鉄気楽薬広関実歳沢桜辺浜転対発済営総経単労戦銭応恵乗帰権歴検験観産栄塩"
_JAPANESE = frozenset(JAPANESE_FORMS)
#: Katakana that OCR confuses with kanji or punctuation (ロ/口, カ/力, エ/工, ニ/二, ハ/八,
#: タ/夕, ト/卜, ー/一): on their own they do not make a text Japanese.
KANA_LOOKALIKES = frozenset("ロカエニハタトーヘ")

#: Cyrillic and Greek letters that look like Latin ones (OCR confusions).
_LOOKALIKES = frozenset("АВЕЅІЈКМНОРСТХУаеѕіјорсхуΑΒΕΖΗΙΚΜΝΟΡΤΥΧο")


@lru_cache(maxsize=16384)
def char_script(ch: str) -> str | None:
    """ISO 15924 code of a letter ('Ж' -> 'Cyrl', 'の' -> 'Hira'); None for digits, punctuation, marks."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    for prefix, code in _NAME_PREFIXES:
        if name.startswith(prefix):
            return code
    return None


def count_scripts(text: str) -> Counter[str]:
    """Letters per script in one text, with look-alike letters inside Latin words counted as Latin."""
    counts: Counter[str] = Counter()
    for word in text.split():
        scripts = [char_script(ch) for ch in word]
        present = {s for s in scripts if s is not None}
        if "Latn" in present and present & {"Cyrl", "Grek"}:
            for i, ch in enumerate(word):
                if scripts[i] in ("Cyrl", "Grek") and ch in _LOOKALIKES:
                    scripts[i] = "Latn"  # an OCR look-alike inside a Latin word
        counts.update(s for s in scripts if s is not None)
    return counts


@data.once
def _han_components() -> dict[str, dict[str, float]]:
    """Priors of the Han-writing traditions, each spread and normalised on its own."""
    shares = data.script_shares()
    simplified = data.merge_shares(shares.get("Hani", {}), shares.get("Hans", {}))
    return {
        "Hans": data.spread_prior(simplified),
        "Hant": data.spread_prior(shares.get("Hant", {})),
        "Jpan": data.spread_prior(shares.get("Jpan", {})),
        "Kore": data.spread_prior(shares.get("Kore", {})),
    }


def han_prior(simplified: int, traditional: int, japanese: int) -> tuple[dict[str, float], str | None]:
    """Prior for Han characters seen without kana or Hangul, and the character forms they show.

    ``simplified``, ``traditional`` and ``japanese`` count characters that exist only in
    that form. Each tradition's prior is weighted by how well the forms fit it.
    """
    parts = _han_components()
    if japanese > max(simplified, traditional):
        variant, factors = "Japanese forms", {"Hans": 0.1, "Hant": 0.15, "Jpan": 1.0}
    elif simplified > traditional:
        variant, factors = "Simplified", {"Hans": 1.0, "Hant": 0.15, "Jpan": 0.15}
    elif traditional > simplified:
        variant, factors = "Traditional", {"Hans": 0.15, "Hant": 1.0, "Jpan": JAPAN_HAN_FACTOR}
    else:
        variant, factors = None, {"Hans": 1.0, "Hant": 1.0, "Jpan": JAPAN_HAN_FACTOR}
    factors["Kore"] = KOREA_HAN_FACTOR
    prior: dict[str, float] = {}
    for key, factor in factors.items():
        for code, w in parts[key].items():
            prior[code] = prior.get(code, 0.0) + w * factor
    return data.normalise_top(prior), variant


def script_prior(code: str) -> dict[str, float]:
    """Prior over countries for one script (CLDR shares, size-tilted, max 1)."""
    if code in ("Hira", "Kana"):
        return data.spread_prior(data.script_shares().get("Jpan", {}))
    if code == "Hang":
        return data.spread_prior(data.script_shares().get("Kore", {}))
    if code == "Hani":
        return han_prior(0, 0, 0)[0]
    return data.spread_prior(data.script_shares().get(code, {}))


def has_kana(text: str) -> bool:
    """Whether ``text`` holds kana that are not kanji look-alikes (so it is Japanese)."""
    return any(char_script(ch) in ("Hira", "Kana") and ch not in KANA_LOOKALIKES for ch in text)


def japanese_kana(per_span: list[tuple[TextSpan, Counter[str]]]) -> bool:
    """Whether any of the spans holds kana that are not kanji look-alikes."""
    return any((counts.get("Hira", 0) or counts.get("Kana", 0)) and has_kana(span.text) for span, counts in per_span)


def _product(priors: list[dict[str, float]]) -> dict[str, float]:
    if len(priors) == 1:
        return priors[0]
    codes = set().union(*priors)
    return {c: math.prod(EPSILON + p.get(c, 0.0) for p in priors) for c in codes}


def script_clue(spans: list[TextSpan]) -> Clue | None:
    """One clue summarising the non-Latin scripts of these spans (one image), or None."""
    total: Counter[str] = Counter()
    per_span: list[tuple[TextSpan, Counter[str]]] = []
    for span in spans:
        counts = count_scripts(span.text)
        if counts:
            per_span.append((span, counts))
            total.update(counts)
    present = {s: n for s, n in total.items() if n >= MIN_LETTERS}
    groups: list[tuple[str, dict[str, float], int, set[str]]] = []  # (label, prior, letters, scripts)
    variant = None
    kana = total.get("Hira", 0) + total.get("Kana", 0)
    han = total.get("Hani", 0)
    if japanese_kana(per_span) and (han or kana >= MIN_LETTERS):
        groups.append(("Japanese", script_prior("Kana"), kana + han, {"Hira", "Kana", "Hani"}))
    elif present.get("Hang", 0) >= MIN_LETTERS:
        groups.append(("Korean", script_prior("Hang"), present["Hang"] + han, {"Hang", "Hani"}))
    elif han >= MIN_LETTERS:
        text = "".join(span.text for span, _ in per_span)
        prior, variant = han_prior(
            sum(ch in _SIMPLIFIED for ch in text),
            sum(ch in _TRADITIONAL for ch in text),
            sum(ch in _JAPANESE for ch in text),
        )
        groups.append(("Chinese characters" if variant != "Japanese forms" else "kanji", prior, han, {"Hani"}))
    cjk = {"Hira", "Kana", "Hang", "Hani"}
    for code, n in sorted(present.items()):
        if code in cjk or code == "Latn":
            continue
        prior = script_prior(code)
        if prior:
            groups.append((data.script_name(code), prior, n, {code}))
    if not groups:
        return None

    countries = data.normalise_top(_product([g[1] for g in groups]))
    if not countries:
        return None
    used = set().union(*(g[3] for g in groups))
    letters = sum(g[2] for g in groups)
    contributing = [(span, counts) for span, counts in per_span if used & set(counts)]
    weight = sum(sum(n for s, n in counts.items() if s in used) for _, counts in contributing)
    quality = sum(
        span_quality(span) * sum(n for s, n in counts.items() if s in used) for span, counts in contributing
    ) / max(1, weight)

    names = {code: data.script_name(code) for code in total}
    seen = " + ".join(names[c] for c, _ in total.most_common() if c in used)
    label = ", ".join(g[0] for g in groups if g[0] not in seen)
    if variant:
        label = f"{label}, {variant}" if label else variant
    value = f"script{'s' if len([c for c in total if c in used]) > 1 else ''} {seen}" + (f" ({label})" if label else "")
    return Clue(
        kind="script",
        key="script",
        value=value,
        reliability=RELIABILITY * (1.0 - math.exp(-letters / 3.0)),
        countries=countries,
        provenance=PROVENANCE,
        spans=[span for span, _ in contributing],
        details={
            "scripts": {names[c]: n for c, n in total.most_common()},
            "iso15924": dict(total.most_common()),
            "variant": variant,
            "spans": [
                {"evidence": span.evidence, "text": span.text[:80], "edge": span.edge, "letters": dict(counts)}
                for span, counts in contributing[:20]
            ],
        },
        quality=quality,
    )
