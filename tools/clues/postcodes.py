"""Postcodes -> countries, weighted by how distinctive the format is.

Why it works this way: some formats name their country by shape alone (a British
"SW1A 1AA", a Canadian "K1A 0B1", a Japanese "〒100-0001", a Brazilian CEP "01310-100",
an Argentine CPA "C1425ABC", a US state + ZIP "NY 10001"). Most are just four to six
digits, shared by dozens of countries and indistinguishable from house numbers, years
and prices. Those count only with context that makes them postcodes:

* a postal keyword ("PLZ", "CEP", "ZIP", "C.P.", "Postcode", "〒", "邮编", "индекс", ...),
  which also names the countries that use that word;
* an old European country prefix ("D-10115", "CH-8001", "LV-1050");
* the continental "postcode city" order at the end of an address line ("75008 Paris"),
  which still leaves many countries, so it is a weak clue.

A candidate is then checked against GeoNames' postal-code regular expression of each
country it might belong to (those are anchored and too permissive to search text with,
but they are the right test for a candidate), and, for the generic five-digit form,
against the ranges a few countries actually allocate (Spain 01-52, Turkey 01-81, ...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from tools.text import TextSpan

from . import data
from .model import Claims, Clue, specificity
from .scripts import count_scripts

PROVENANCE = "postcode formats; GeoNames postal-code regexes"


@dataclass(frozen=True)
class Keyword:
    """A word that introduces a postcode, and the countries that use it (None: any country)."""

    pattern: str
    countries: tuple[str, ...] | None


_SPANISH_PORTUGUESE = tuple("ES MX PT BR AR CO CL PE EC UY VE GT CR PA DO BO PY SV HN NI CU".split())
KEYWORDS: tuple[Keyword, ...] = (
    Keyword(r"PLZ|Postleitzahl", ("DE", "AT", "CH", "LI", "LU")),
    Keyword(r"ZIP(?:\s?code)?", ("US", "PR", "GU", "VI", "AS", "MP", "PH")),
    Keyword(r"CEP", ("BR",)),
    Keyword(r"PIN(?:\s?code)?|Pincode", ("IN",)),
    Keyword(r"C\.?A\.?P\.?", ("IT", "SM", "VA")),
    Keyword(r"C\.\s?P\.|CP", ("ES", "MX", "PT", "CO", "CU")),
    Keyword(r"C[óo]digo\s+[Pp]ostal|C[óo]d\.\s?[Pp]ostal", _SPANISH_PORTUGUESE),
    Keyword(r"[Cc]ode\s+[Pp]ostal", ("FR", "BE", "CH", "LU", "MC", "CA")),
    Keyword(r"[Pp]ost\s?[Cc]ode|[Pp]ostal\s[Cc]ode|[Pp]ostcode", None),
    Keyword(r"[Pp]ostnummer|[Pp]ostnr\.?", ("SE", "NO", "DK")),
    Keyword(r"[Pp]ostinumero", ("FI",)),
    Keyword(r"[Kk]od\s+pocztowy", ("PL",)),
    Keyword(r"PSČ", ("CZ", "SK")),
    Keyword(r"[Ii]rányítószám", ("HU",)),
    Keyword(r"[Pp]osta\s+[Kk]odu", ("TR",)),
    Keyword(r"[Пп]очтовый\s+индекс|[Ии]ндекс", ("RU", "BY", "KZ", "KG", "TJ", "UZ")),
    Keyword(r"[Іі]ндекс", ("UA",)),
    Keyword(r"Τ\.\s?Κ\.|Ταχ\.?\s?Κώδ(?:ικας|\.)?", ("GR", "CY")),
    Keyword(r"〒|郵便番号", ("JP",)),
    Keyword(r"邮编|邮政编码", ("CN",)),
    Keyword(r"郵遞區號|郵政編碼", ("TW",)),
    Keyword(r"우편번호", ("KR",)),
    Keyword(r"מיקוד", ("IL",)),
    Keyword(r"รหัสไปรษณีย์", ("TH",)),
    Keyword(r"[Kk]ode\s+[Pp]os", ("ID",)),
    Keyword(r"[Pp]oskod", ("MY",)),
)

#: Old European vehicle-code prefixes on postcodes ("D-10115 Berlin"); LV-, LT- are current.
COUNTRY_PREFIXES = {
    "D": "DE",
    "A": "AT",
    "CH": "CH",
    "F": "FR",
    "I": "IT",
    "E": "ES",
    "B": "BE",
    "NL": "NL",
    "L": "LU",
    "DK": "DK",
    "S": "SE",
    "SE": "SE",
    "N": "NO",
    "NO": "NO",
    "FI": "FI",
    "SF": "FI",
    "H": "HU",
    "PL": "PL",
    "CZ": "CZ",
    "SK": "SK",
    "LV": "LV",
    "LT": "LT",
    "EE": "EE",
    "P": "PT",
    "GR": "GR",
    "HR": "HR",
    "SI": "SI",
    "RO": "RO",
    "BG": "BG",
    "FL": "LI",
}

#: Countries that write a five-digit postcode *before* the town ("10115 Berlin"); the
#: convention is not in any data set at hand.
FIVE_DIGITS_BEFORE_TOWN = tuple("DE FR ES IT FI HR MX TR MA DZ RS BA ME EE MY UA GR SM MC VA".split())

#: Ranges actually allocated, for countries where they are much narrower than 00000-99999.
RANGES: dict[str, Callable[[str], bool]] = {
    "ES": lambda c: 1 <= int(c[:2]) <= 52,
    "TR": lambda c: 1 <= int(c[:2]) <= 81,
    "FR": lambda c: 1 <= int(c[:2]) <= 98 and c[:2] != "96",
    "DE": lambda c: c[:2] != "00",
    "DZ": lambda c: 1 <= int(c[:2]) <= 58,
    "HR": lambda c: c[0] in "12345",
    "RS": lambda c: c[0] in "123",
    "BA": lambda c: c[0] in "78",
    "ME": lambda c: c[:2] in ("81", "82", "83", "84", "85"),
    "GR": lambda c: c[0] in "12345678",
    "SM": lambda c: c.startswith("4789"),
    "MC": lambda c: c.startswith("980"),
    "VA": lambda c: c == "00120",
    "MY": lambda c: 1 <= int(c[:2]) <= 98,
    "AU": lambda c: c[0] != "0" or c[:2] in ("02", "08", "09"),
}

#: State abbreviations that precede a US ZIP or an Australian postcode.
US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
).split()
AU_STATES = {"NSW": "12", "ACT": "02", "VIC": "38", "QLD": "49", "SA": "5", "WA": "6", "TAS": "7", "NT": "0"}

#: Words after a number that make it a street address, not a postcode + town.
STREET_WORDS = frozenset(
    "st street ave avenue rd road blvd boulevard ln lane dr drive way ct court pl place hwy highway pkwy sq square "
    "ter terrace cir circle".split()
)

TOWN_PARTICLES = frozenset("am an im der die den de del della di do da dos das du la le les sur en upon on".split())

_TOWN = r"(?P<town>[^\W\d_][\w'’.-]{2,}(?:[ -][^\W\d_][\w'’.-]*){0,2})"
_CAPITAL = re.compile(r"^[^\W\d_]")

RELIABILITY = {
    "keyword": 0.8,
    "prefix": 0.7,
    "gb": 0.8,
    "ca": 0.8,
    "us_state": 0.85,
    "au_state": 0.8,
    "br": 0.6,
    "ar": 0.65,
    "us_zip4": 0.45,
    "pt": 0.55,
    "pl": 0.4,
    "nl": 0.6,
    "sg": 0.85,
    "in": 0.5,
    "ru": 0.5,
    "town5": 0.35,
    "cedex": 0.8,
    "town32": 0.35,
}


@lru_cache(maxsize=1)
def _postal_patterns() -> dict[str, re.Pattern[str]]:
    out = {}
    for code, regex in data.postal_regexes().items():
        try:
            out[code] = re.compile(regex)
        except re.error:
            continue
    return out


def fits(country: str, code: str) -> bool:
    """Whether ``code`` is a well-formed postcode of ``country`` (GeoNames regex and known ranges)."""
    pattern = _postal_patterns().get(country)
    compact = re.sub(r"[\s\-]", "", code)
    variants = {code, compact, code.replace("-", " "), code.upper()}
    if pattern is not None and not any(pattern.fullmatch(v) for v in variants):
        return False
    check = RANGES.get(country)
    if check is not None and compact.isdigit():
        try:
            return check(compact)
        except (ValueError, IndexError):
            return False
    return True


_KEYWORD_RE = re.compile(
    r"(?<![^\W\d_])(?P<kw>" + "|".join(f"(?:{k.pattern})" for k in KEYWORDS) + r")(?![^\W\d_])\s*[:.：#]?\s*"
)
_TOKEN_RE = re.compile(r"[^\W_]+(?:[-‐－][^\W_]+)*")
_KEYWORD_RES = tuple(re.compile(rf"(?:{k.pattern})$") for k in KEYWORDS)
_PREFIX_RE = re.compile(
    r"(?<![\w-])(?P<cc>" + "|".join(sorted(COUNTRY_PREFIXES, key=len, reverse=True)) + r")-(?P<code>\d{4,5})(?!\d)"
)
_GB_RE = re.compile(r"(?<![\w-])(?P<code>GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})(?![\w-])")
_CA_RE = re.compile(r"(?<![\w-])(?P<code>[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d)(?![\w-])")
_US_STATE_RE = re.compile(r"(?<![\w-])(?P<state>" + "|".join(US_STATES) + r")\s+(?P<code>\d{5}(?:-\d{4})?)(?![\w-])")
_AU_STATE_RE = re.compile(r"(?<![\w-])(?P<state>" + "|".join(AU_STATES) + r")\s+(?P<code>\d{4})(?![\w-])")
_BR_RE = re.compile(r"(?<![\w.-])(?P<code>\d{5}-\d{3})(?![\w-])")
_AR_RE = re.compile(r"(?<![\w-])(?P<code>[A-HJ-NP-Z]\d{4}[A-Z]{3})(?![\w-])")
_ZIP4_RE = re.compile(r"(?<![\w.-])(?P<code>\d{5}-\d{4})(?![\w-])")
_PT_RE = re.compile(rf"(?<![\w.-])(?P<code>\d{{4}}-\d{{3}})\s+{_TOWN}")
_PL_RE = re.compile(rf"(?:^|[,;]\s*)(?P<code>\d{{2}}-\d{{3}})\s+{_TOWN}\s*$")
_NL_RE = re.compile(rf"(?<![\w.-])(?P<code>[1-9]\d{{3}} ?(?!SA|SD|SS|AD|BC|CE|AM|PM)[A-Z]{{2}})\s+{_TOWN}")
_SG_RE = re.compile(r"Singapore\s+(?P<code>\d{6})(?!\d)", re.I)
_IN_RE = re.compile(r"[^\W\d_]{3,}\s*[-–]\s*(?P<code>\d{3}\s?\d{3})\s*$")
_RU_RE = re.compile(r"(?<![\w.-])(?P<code>\d{6}),\s*(?=г\.|[А-ЯЁ])")
_TOWN5_RE = re.compile(rf"(?:^|[,;]\s*|\s[-–]\s)(?P<code>\d{{5}})\s+{_TOWN}\s*$")
_CEDEX_RE = re.compile(r"(?<![\w.-])(?P<code>\d{5})\s+(?P<town>[^\d,;]{2,40}?)\s+CEDEX(?:\s*\d{1,2})?(?!\w)", re.I)
_TOWN32_RE = re.compile(rf"(?:^|[,;]\s*)(?P<code>\d{{3}} \d{{2}})\s+{_TOWN}\s*$")


def _town_ok(town: str | None) -> bool:
    """A town name: capitalised (in scripts with case), not a street type ("12345 Main St")."""
    if not town:
        return True
    first = town[0]
    if first.lower() != first.upper() and not first.isupper():
        return False
    words = re.findall(r"[^\W\d_]+", town)
    if not words or any(w.lower() in STREET_WORDS for w in words):
        return False
    # Every further word capitalised too, or a particle ("Frankfurt am Main", "Rio de Janeiro").
    return all(w[0].isupper() or w.lower() in TOWN_PARTICLES or w[0].lower() == w[0].upper() for w in words)


def _script_filter(countries: list[str], town: str | None) -> list[str]:
    """Keep countries that write the town's script (a Greek town name is in Greece)."""
    if not town:
        return countries
    counts = count_scripts(town)
    if not counts:
        return countries
    script = counts.most_common(1)[0][0]
    if script == "Latn":
        return countries
    shares = data.script_shares().get(script, {})
    return [c for c in countries if shares.get(c, data.Share(0.0, 0.0)).share >= 0.3]


def _make(
    span: TextSpan,
    code: str,
    start: int,
    end: int,
    how: str,
    countries: list[str],
    town: str | None = None,
) -> Clue | None:
    code = unicodedata.normalize("NFKC", code).strip().replace("‐", "-")
    valid = [c for c in dict.fromkeys(countries) if fits(c, code)]
    if not valid:
        return None
    weights = dict.fromkeys(valid, 1.0) if len(valid) <= 3 else data.tilted(dict.fromkeys(valid, 1.0))
    names = ", ".join(data.country_name(c) for c in valid[:4]) + (
        f" and {len(valid) - 4} more" if len(valid) > 4 else ""
    )
    details = {"code": code, "match": span.text[start:end].strip(), "rule": how}
    if town:
        details["town"] = town
    return Clue(
        kind="postcode",
        key=f"{code}|{'/'.join(sorted(valid))}",
        value=f"postcode {code}{' ' + town if town else ''} ({names})",
        reliability=RELIABILITY[how] * specificity(len(valid)),
        countries=weights,
        provenance=PROVENANCE,
        spans=[span],
        details=details,
        start=start,
        end=end,
    )


def _from_match(span: TextSpan, m: re.Match[str], how: str, countries: list[str]) -> Clue | None:
    return _make(span, m.group("code"), m.start(), m.end(), how, countries, m.groupdict().get("town"))


def _keyword_countries(keyword: str) -> list[str]:
    for k, regex in zip(KEYWORDS, _KEYWORD_RES):
        if regex.match(keyword):
            if k.countries is not None:
                return list(k.countries)
            return sorted(c for c in data.postal_regexes() if c in data.country_codes())
    return []


def _after_keyword(span: TextSpan, m: re.Match[str]) -> Clue | None:
    """The postcode right after a postal keyword: one token, or two for 'SW1A 1AA' / '110 00'."""
    countries = _keyword_countries(m.group("kw"))
    rest = span.text[m.end() : m.end() + 24]
    tokens = list(_TOKEN_RE.finditer(rest))[:2]
    if not tokens or tokens[0].start() != 0:
        return None
    candidates = [tokens[0].end()]
    if len(tokens) == 2 and rest[tokens[0].end() : tokens[1].start()] == " ":
        candidates.insert(0, tokens[1].end())
    for stop in candidates:
        code = rest[:stop]
        if any(ch.isdigit() for ch in code):
            clue = _make(span, code, m.start(), m.end() + stop, "keyword", countries)
            if clue is not None:
                return clue
    return None


def find_postcodes(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """Postcodes in one span, each with the countries whose format and context it fits."""
    claims = claims if claims is not None else Claims()
    text = span.text
    out: list[Clue] = []

    def add(clue: Clue | None) -> None:
        if clue is not None and claims.free(clue.start, clue.end):
            claims.claim(clue.start, clue.end)
            out.append(clue)

    for m in _KEYWORD_RE.finditer(text):
        add(_after_keyword(span, m))
    for m in _PREFIX_RE.finditer(text):
        add(_from_match(span, m, "prefix", [COUNTRY_PREFIXES[m.group("cc")]]))
    for m in _GB_RE.finditer(text):
        prefix = m.group("code")[:2]
        add(_from_match(span, m, "gb", [{"JE": "JE", "GY": "GG", "IM": "IM"}.get(prefix, "GB")]))
    for m in _CA_RE.finditer(text):
        add(_from_match(span, m, "ca", ["CA"]))
    for m in _US_STATE_RE.finditer(text):
        state = m.group("state")
        add(_from_match(span, m, "us_state", [state if state in ("PR", "GU", "VI", "AS", "MP") else "US"]))
    for m in _AU_STATE_RE.finditer(text):
        if m.group("code")[0] in AU_STATES[m.group("state")]:
            add(_from_match(span, m, "au_state", ["AU"]))
    for m in _BR_RE.finditer(text):
        add(_from_match(span, m, "br", ["BR"]))
    for m in _AR_RE.finditer(text):
        add(_from_match(span, m, "ar", ["AR"]))
    for m in _ZIP4_RE.finditer(text):
        add(_from_match(span, m, "us_zip4", ["US"]))
    for regex, how, countries in ((_PT_RE, "pt", ["PT"]), (_PL_RE, "pl", ["PL"]), (_NL_RE, "nl", ["NL"])):
        for m in regex.finditer(text):
            if _town_ok(m.group("town")):
                add(_from_match(span, m, how, countries))
    for m in _SG_RE.finditer(text):
        add(_from_match(span, m, "sg", ["SG"]))
    for m in _IN_RE.finditer(text):
        add(_from_match(span, m, "in", ["IN"]))
    for m in _RU_RE.finditer(text):
        add(_from_match(span, m, "ru", ["RU", "BY", "KZ", "KG", "TJ", "UZ"]))
    for m in _CEDEX_RE.finditer(text):  # CEDEX: France's business-mail suffix
        add(_from_match(span, m, "cedex", ["FR"]))
    for m in _TOWN5_RE.finditer(text):
        if _town_ok(m.group("town")):
            add(_from_match(span, m, "town5", _script_filter(list(FIVE_DIGITS_BEFORE_TOWN), m.group("town"))))
    for m in _TOWN32_RE.finditer(text):
        if _town_ok(m.group("town")):
            add(_from_match(span, m, "town32", _script_filter(["SE", "CZ", "SK", "GR"], m.group("town"))))
    return out
