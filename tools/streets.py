"""Street-type words: "Rua", "Calle", "-straße", "-gatan", "улица", "路", "通り".

How a country names its streets is one of the strongest clues a sign gives, and no
offline dataset lists it, so this is a small table written from general knowledge:
each word with where it comes (before or after the name) and the countries that use
it, the main ones weighted higher. It also tells the place matcher that "Augusta" in
"Rua Augusta" names a street, not the town of Augusta.
"""

from __future__ import annotations

from dataclasses import dataclass

from .normalize import normalize

_EN = {"US": 1.0, "GB": 0.8, "CA": 0.6, "AU": 0.6, "IE": 0.4, "NZ": 0.4, "ZA": 0.3, "IN": 0.3, "PH": 0.2, "SG": 0.2}
_ES = {
    "ES": 1.0,
    "MX": 0.9,
    "AR": 0.7,
    "CO": 0.7,
    "CL": 0.6,
    "PE": 0.6,
    "VE": 0.5,
    "EC": 0.4,
    "GT": 0.3,
    "CU": 0.3,
    "BO": 0.3,
    "DO": 0.3,
    "HN": 0.2,
    "PY": 0.2,
    "SV": 0.2,
    "NI": 0.2,
    "CR": 0.2,
    "PA": 0.2,
    "UY": 0.2,
    "PR": 0.2,
}
_PT = {"PT": 1.0, "BR": 1.0, "AO": 0.3, "MZ": 0.3, "CV": 0.2}
_FR = {"FR": 1.0, "BE": 0.4, "CH": 0.3, "CA": 0.3, "LU": 0.2, "MA": 0.2, "TN": 0.2, "SN": 0.2, "CI": 0.2, "HT": 0.2}
_DE = {"DE": 1.0, "AT": 0.6, "CH": 0.5, "LU": 0.1, "LI": 0.1}
_NL = {"NL": 1.0, "BE": 0.6, "SR": 0.1}
_RU = {"RU": 1.0, "BY": 0.4, "KZ": 0.4, "KG": 0.2, "UA": 0.2}


@dataclass(frozen=True)
class StreetWord:
    word: str
    position: str  # "before" the name ("Rua X"), "after" it ("X-straße"), or "suffix" (glued on: 中山路)
    language: str
    countries: dict[str, float]


_TABLE: list[StreetWord] = [
    *(
        StreetWord(w, "after", "en", _EN)
        for w in ("street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "boulevard", "blvd", "highway", "hwy")
    ),
    *(
        StreetWord(w, "before", "es", _ES)
        for w in ("calle", "avenida", "av", "avda", "paseo", "plaza", "carrera", "calzada", "camino", "jiron")
    ),
    StreetWord("carrer", "before", "ca", {"ES": 1.0, "AD": 0.3}),
    *(StreetWord(w, "before", "pt", _PT) for w in ("rua", "praca", "travessa", "largo", "estrada", "alameda")),
    *(
        StreetWord(w, "before", "fr", _FR)
        for w in ("rue", "avenue", "boulevard", "place", "impasse", "allee", "chemin", "quai", "cours")
    ),
    *(
        StreetWord(w, "before", "it", {"IT": 1.0, "CH": 0.2, "SM": 0.1, "VA": 0.1})
        for w in ("via", "viale", "piazza", "piazzale", "corso", "vicolo")
    ),
    *(
        StreetWord(w, "after", "de", _DE)
        for w in ("strasse", "str", "gasse", "weg", "platz", "allee", "ring", "damm", "ufer", "chaussee")
    ),
    *(StreetWord(w, "suffix", "de", _DE) for w in ("strasse", "gasse", "platz", "allee")),
    *(StreetWord(w, "after", "nl", _NL) for w in ("straat", "laan", "gracht", "plein", "weg", "kade", "singel")),
    *(StreetWord(w, "suffix", "nl", _NL) for w in ("straat", "laan", "gracht", "plein", "kade")),
    *(StreetWord(w, "suffix", "sv", {"SE": 1.0, "FI": 0.1}) for w in ("gatan", "vagen", "gränd", "torget")),
    *(StreetWord(w, "suffix", "no", {"NO": 1.0}) for w in ("gata", "gate", "veien", "vegen")),
    *(StreetWord(w, "suffix", "da", {"DK": 1.0}) for w in ("gade", "vej", "straede", "torv")),
    *(StreetWord(w, "suffix", "fi", {"FI": 1.0}) for w in ("katu", "tie", "kuja", "polku")),
    StreetWord("utca", "after", "hu", {"HU": 1.0}),
    *(StreetWord(w, "before", "pl", {"PL": 1.0}) for w in ("ulica", "ul", "aleja", "al", "plac", "osiedle")),
    *(StreetWord(w, "before", "cs", {"CZ": 1.0, "SK": 0.3}) for w in ("ulice", "namesti", "trida")),
    StreetWord("ulica", "after", "hr", {"HR": 0.6, "SI": 0.5, "RS": 0.3, "BA": 0.3, "SK": 0.4}),
    *(StreetWord(w, "after", "ro", {"RO": 1.0, "MD": 0.5}) for w in ("strada", "str", "bulevardul", "calea")),
    StreetWord("iela", "after", "lv", {"LV": 1.0}),
    StreetWord("gatve", "after", "lt", {"LT": 1.0}),
    StreetWord("tanav", "after", "et", {"EE": 1.0}),
    *(StreetWord(w, "after", "tr", {"TR": 1.0, "CY": 0.2}) for w in ("sokak", "sokagi", "caddesi", "cad", "bulvari")),
    *(
        StreetWord(w, "before", "ru", _RU)
        for w in ("улица", "ул", "проспект", "пр", "переулок", "пер", "бульвар", "площадь", "шоссе")
    ),
    *(StreetWord(w, "after", "ru", _RU) for w in ("улица", "ул", "проспект", "переулок", "бульвар", "шоссе")),
    *(StreetWord(w, "before", "uk", {"UA": 1.0}) for w in ("вулиця", "вул", "провулок", "площа")),
    *(StreetWord(w, "before", "bg", {"BG": 1.0, "MK": 0.5}) for w in ("булевард", "бул")),
    *(StreetWord(w, "before", "sr", {"RS": 0.5, "ME": 0.2, "BA": 0.2, "MK": 0.1}) for w in ("улица",)),
    *(StreetWord(w, "before", "el", {"GR": 1.0, "CY": 0.4}) for w in ("οδος", "οδ", "λεωφορος", "λεωφ", "πλατεια")),
    *(
        StreetWord(w, "suffix", "zh", {"CN": 1.0, "TW": 0.6, "HK": 0.3, "MO": 0.2, "SG": 0.1})
        for w in ("路", "街", "大道", "大街", "巷", "胡同")
    ),
    *(StreetWord(w, "suffix", "ja", {"JP": 1.0}) for w in ("通り", "丁目", "番地", "通")),
    *(StreetWord(w, "suffix", "ko", {"KR": 1.0, "KP": 0.1}) for w in ("번길", "대로", "로", "길")),
    *(StreetWord(w, "before", "id", {"ID": 1.0, "MY": 0.5}) for w in ("jalan", "jl", "jln", "gang", "lorong")),
    *(StreetWord(w, "before", "vi", {"VN": 1.0}) for w in ("duong", "pho", "hem")),
    *(StreetWord(w, "before", "tl", {"PH": 1.0}) for w in ("kalye",)),
    *(StreetWord(w, "before", "th", {"TH": 1.0}) for w in ("ถนน", "ซอย")),
    *(
        StreetWord(
            w,
            "before",
            "ar",
            {
                "EG": 0.5,
                "SA": 0.5,
                "AE": 0.4,
                "MA": 0.3,
                "DZ": 0.3,
                "IQ": 0.3,
                "JO": 0.3,
                "LB": 0.3,
                "SY": 0.3,
                "TN": 0.3,
                "KW": 0.2,
                "QA": 0.2,
                "OM": 0.2,
            },
        )
        for w in ("شارع", "طريق")
    ),
    *(StreetWord(w, "before", "he", {"IL": 1.0}) for w in ("רחוב", "רח", "שדרות", "שד")),
]

_BY_WORD: dict[str, list[StreetWord]] = {}
for _entry in _TABLE:
    _BY_WORD.setdefault(normalize(_entry.word), []).append(_entry)
_SUFFIXES = sorted({normalize(e.word) for e in _TABLE if e.position == "suffix"}, key=len, reverse=True)


@dataclass(frozen=True)
class StreetMatch:
    word: str
    language: str
    countries: dict[str, float]
    position: str


def _merge(entries: list[StreetWord]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for entry in entries:
        for code, weight in entry.countries.items():
            merged[code] = max(merged.get(code, 0.0), weight)
    return merged


def find_street_words(text: str) -> list[StreetMatch]:
    """Street-type words in a text (normalised), with the countries they suggest.

    A 'before' word only counts when a name follows it and an 'after' word when one
    precedes it, so a lone "Place" or "Via" on a sign is not a street.
    """
    words = normalize(text).split()
    found: list[StreetMatch] = []
    for i, word in enumerate(words):
        entries = _BY_WORD.get(word, [])
        before = [e for e in entries if e.position == "before" and i + 1 < len(words)]
        after = [e for e in entries if e.position == "after" and i > 0]
        usable = before or after
        if usable:
            found.append(StreetMatch(word, usable[0].language, _merge(usable), usable[0].position))
            continue
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix) + (
                0 if len(suffix) < 3 and not suffix.isascii() else 2
            ):
                entries = [e for e in _BY_WORD[suffix] if e.position == "suffix"]
                found.append(StreetMatch(suffix, entries[0].language, _merge(entries), "suffix"))
                break
    return found


def street_words_near(words: list[str], start: int, end: int) -> bool:
    """Whether the word span [start, end) sits next to a street-type word that binds it."""
    if start > 0:
        for entry in _BY_WORD.get(words[start - 1], []):
            if entry.position == "before":
                return True
    if end < len(words):
        for entry in _BY_WORD.get(words[end], []):
            if entry.position == "after":
                return True
    return False


def street_suffix_after(text: str) -> bool:
    """Whether unspaced text (the rest after a name) begins with a street suffix: 中山|路."""
    return any(text.startswith(s) for s in _SUFFIXES if not s.isascii())
