"""Currency signs and codes -> countries where that currency is legal tender (CLDR).

Why it works this way: a price tag in "zł" is in Poland; one in "€" is in one of twenty
countries; one in "$" in any of dozens. Which countries use a currency today is CLDR's
territory-currency data (via babel), so only the *symbol -> currency* step is a table
here, because CLDR's symbols are per locale and loading every locale costs seconds.
Where CLDR can answer cheaply it does: "$" means every currency CLDR calls a dollar or
a peso, and three-letter ISO 4217 codes next to an amount are looked up directly.

Signs that are letters or common characters ("kr", "lei", "元", "원" in "공원") count only
next to an amount; unmistakable signs (€, ₽, ₹, ...) also count on their own, trusted
less. Shared currencies are weak: the reliability falls with the number of countries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.text import TextSpan

from . import data
from .model import Claims, Clue, specificity

PROVENANCE = "CLDR territory currencies via babel"


@dataclass(frozen=True)
class Sign:
    currencies: tuple[tuple[str, float], ...]
    needs_amount: bool


def _sign(spec: str, needs_amount: bool = False) -> Sign:
    parts = []
    for item in spec.split():
        code, _, weight = item.partition(":")
        parts.append((code, float(weight or 1.0)))
    return Sign(tuple(parts), needs_amount)


#: Hand table: symbol -> ISO 4217 currencies (weight = how often the symbol means that one).
#: "$" is filled in from CLDR (all dollars and pesos) by ``_signs``.
SIGNS: dict[str, Sign] = {
    "€": _sign("EUR"),
    "£": _sign("GBP GIP:0.5 FKP:0.5 SHP:0.5 EGP:0.3"),
    "¥": _sign("JPY CNY"),
    "￥": _sign("JPY CNY"),
    "₩": _sign("KRW KPW:0.3"),
    "₹": _sign("INR"),
    "₽": _sign("RUB"),
    "₺": _sign("TRY"),
    "₫": _sign("VND"),
    "฿": _sign("THB"),
    "₱": _sign("PHP CUP:0.2"),
    "₴": _sign("UAH"),
    "₸": _sign("KZT"),
    "₼": _sign("AZN"),
    "₾": _sign("GEL"),
    "₪": _sign("ILS"),
    "₦": _sign("NGN"),
    "₵": _sign("GHS"),
    "₭": _sign("LAK"),
    "៛": _sign("KHR"),
    "₮": _sign("MNT"),
    "₲": _sign("PYG"),
    "₡": _sign("CRC"),
    "₨": _sign("PKR LKR NPR MUR SCR INR:0.3"),
    "৳": _sign("BDT"),
    "﷼": _sign("SAR IRR OMR QAR YER"),
    "R$": _sign("BRL", True),
    "US$": _sign("USD", True),
    "S$": _sign("SGD", True),
    "HK$": _sign("HKD", True),
    "NT$": _sign("TWD", True),
    "A$": _sign("AUD", True),
    "AU$": _sign("AUD", True),
    "C$": _sign("CAD NIO:0.4", True),
    "CA$": _sign("CAD", True),
    "NZ$": _sign("NZD", True),
    "MX$": _sign("MXN", True),
    "zł": _sign("PLN", True),
    "Kč": _sign("CZK", True),
    "kr": _sign("SEK NOK DKK ISK", True),
    "Ft": _sign("HUF", True),
    "lei": _sign("RON MDL:0.6", True),
    "лв": _sign("BGN", True),
    "руб": _sign("RUB BYN:0.4", True),
    "грн": _sign("UAH", True),
    "ден": _sign("MKD", True),
    "дин": _sign("RSD", True),
    "Rp": _sign("IDR", True),
    "RM": _sign("MYR", True),
    "Rs": _sign("INR PKR LKR NPR MUR:0.5 SCR:0.5", True),
    "Tk": _sign("BDT", True),
    "KSh": _sign("KES", True),
    "Ksh": _sign("KES", True),
    "USh": _sign("UGX", True),
    "TSh": _sign("TZS", True),
    "TL": _sign("TRY", True),
    "đ": _sign("VND", True),
    "元": _sign("CNY TWD:0.5 HKD:0.3 MOP:0.2", True),
    "円": _sign("JPY", True),
    "원": _sign("KRW KPW:0.3", True),
    "บาท": _sign("THB", True),
    "د.إ": _sign("AED", True),
    "ر.س": _sign("SAR", True),
    "ج.م": _sign("EGP", True),
    "د.م": _sign("MAD", True),
    "د.ك": _sign("KWD", True),
    "CHF": _sign("CHF", True),
    "SFr": _sign("CHF", True),
}

#: ISO codes that are also English words or abbreviations: only with a decimal price ("PEN 12.50").
WORDLIKE_CODES = frozenset({"ALL", "TOP", "CUP", "BOB", "GEL", "PEN", "SOS", "TRY", "MAD", "MOP", "BAM", "WST", "CAD"})

RELIABILITY_WITH_AMOUNT = 0.6
RELIABILITY_SIGN_ALONE = 0.35
RELIABILITY_CODE = 0.6

_AMOUNT = r"\d(?:[\d\s.,'’]*\d)?(?:[.,]-{1,2})?"


@data.once
def _signs() -> dict[str, Sign]:
    """The sign table with "$" expanded to every dollar and peso CLDR knows (US dollar first)."""
    dollars = [
        code
        for code in data.currency_territories()
        if code != "USD" and data.currency_name(code).split()[-1] in ("Dollar", "Peso")
    ]
    return {**SIGNS, "$": Sign((("USD", 1.0), *((c, 0.5) for c in sorted(dollars))), False)}


@data.once
def _sign_regex() -> re.Pattern[str]:
    symbols = sorted(_signs(), key=len, reverse=True)
    alternation = "|".join(re.escape(s) for s in symbols)
    # Letter signs must not be part of a word ("kr" in "Kreuz", "원" in "공원", "TL" in "TLC").
    return re.compile(rf"(?<![^\W\d_])(?:{alternation})(?![^\W\d_])")


_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_AMOUNT_BEFORE_RE = re.compile(rf"{_AMOUNT}\s?$")
_AMOUNT_AFTER_RE = re.compile(rf"^\s?{_AMOUNT}")
_DECIMAL_RE = re.compile(r"\d[.,]\d{2}(?!\d)")


def _amount_near(text: str, start: int, end: int) -> tuple[str, int, int] | None:
    """The amount written right after or right before a sign, with its span in ``text``."""
    after = _AMOUNT_AFTER_RE.match(text[end : end + 20])
    if after:
        return after.group(0).strip(), start, end + after.end()
    offset = max(0, start - 20)
    before = _AMOUNT_BEFORE_RE.search(text[offset:start])
    if before:
        return before.group(0).strip(), offset + before.start(), end
    return None


def currency_prior(currencies: tuple[tuple[str, float], ...]) -> dict[str, float]:
    """Countries where these currencies are legal tender, weighted, size-tilted, max 1."""
    weights: dict[str, float] = {}
    territories = data.currency_territories()
    for code, weight in currencies:
        for territory in territories.get(code, ()):
            weights[territory] = max(weights.get(territory, 0.0), weight)
    return data.tilted(weights)


def _clue(
    symbol: str,
    currencies: tuple[tuple[str, float], ...],
    amount: str | None,
    shown: str,
    reliability: float,
    span: TextSpan,
) -> Clue | None:
    countries = currency_prior(currencies)
    if not countries:
        return None
    main = [c for c, w in currencies if w >= 1.0] or [currencies[0][0]]
    names = ", ".join(data.currency_name(c) for c in main[:3]) + (" ..." if len(main) > 3 else "")
    strong = sum(1 for w in countries.values() if w >= 0.5)
    return Clue(
        kind="currency",
        key=f"currency:{symbol}",
        value=f"currency {shown} ({names}; {len(countries)} {'country' if len(countries) == 1 else 'countries'})",
        reliability=reliability * specificity(strong),
        countries=countries,
        provenance=PROVENANCE,
        spans=[span],
        details={"symbol": symbol, "currencies": [c for c, _ in currencies], "amount": amount, "match": shown},
    )


def find_currencies(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """Currency signs and ISO codes in one span (one clue per distinct sign)."""
    claims = claims if claims is not None else Claims()
    text = span.text
    seen: dict[str, Clue] = {}
    signs = _signs()
    for m in _sign_regex().finditer(text):
        symbol = m.group(0)
        sign = signs[symbol]
        start, end = m.span()
        if not claims.free(start, end):
            continue
        near = _amount_near(text, start, end)
        if near is None and sign.needs_amount:
            continue
        amount, a, b = near if near else (None, start, end)
        reliability = RELIABILITY_WITH_AMOUNT if amount else RELIABILITY_SIGN_ALONE
        clue = _clue(symbol, sign.currencies, amount, text[a:b].strip(), reliability, span)
        if clue is not None and (symbol not in seen or seen[symbol].reliability < clue.reliability):
            seen[symbol] = clue
        claims.claim(a, b)
    territories = data.currency_territories()
    for m in _CODE_RE.finditer(text):
        code = m.group(1)
        start, end = m.span()
        if code not in territories or not claims.free(start, end):
            continue
        near = _amount_near(text, start, end)
        if near is None or (code in WORDLIKE_CODES and not _DECIMAL_RE.search(near[0])):
            continue
        amount, a, b = near
        clue = _clue(code, ((code, 1.0),), amount, text[a:b].strip(), RELIABILITY_CODE, span)
        if clue is not None and code not in seen:
            seen[code] = clue
        claims.claim(a, b)
    return list(seen.values())
