"""URLs, e-mail addresses and bare domains -> the country of their country-code TLD.

Why: a shop that prints ``www.boulangerie-dupont.fr`` on its window is almost surely in
France; businesses register under their own country's ccTLD. The mapping TLD -> country
is GeoNames' (every country's ``tld``), so nothing is typed in by hand except:

* vanity ccTLDs (.io, .tv, .co, .me, .ai, ...) that are sold worldwide for what they spell
  and say little about the owner's country: kept, but with a small reliability;
* internationalised ccTLDs (.рф, .中国, ...), which GeoNames does not list;
* .eu, a region not a country: spread over the member states (CLDR's EU grouping).

Generic TLDs (.com, .org, .shop) carry no country, so they produce no clue at all.
Bare domains (no ``www.``, scheme or ``@``) are trusted less than URLs and e-mails,
because abbreviations ("Fig.it"), file names ("setup.py") and OCR joins look like them.
"""

from __future__ import annotations

import re

from tools.text import TextSpan

from . import data
from .model import Claims, Clue, specificity

PROVENANCE = "GeoNames country TLDs"

#: ccTLDs marketed worldwide for their meaning (.tv television, .io input/output, .ai,
#: .me, .co company, .fm radio, .ly "-ly" words, .gg gaming, ...). Hand list: no data
#: source records which TLDs are used as vanity names.
VANITY_TLDS = frozenset("ac ai am cc cd cf co cx fm ga gg gq io la ly me ml ms nu sh so st tk to tv vc ws".split())

#: Internationalised country-code TLDs (IANA's IDN ccTLDs in common use), which
#: GeoNames' ASCII ``tld`` column cannot hold.
IDN_TLDS = {
    "рф": "RU",
    "срб": "RS",
    "укр": "UA",
    "бел": "BY",
    "қаз": "KZ",
    "мкд": "MK",
    "мон": "MN",
    "ελ": "GR",
    "中国": "CN",
    "中國": "CN",
    "香港": "HK",
    "台灣": "TW",
    "台湾": "TW",
    "澳門": "MO",
    "한국": "KR",
    "ไทย": "TH",
    "გე": "GE",
    "հայ": "AM",
    "ישראל": "IL",
    "مصر": "EG",
    "السعودية": "SA",
    "امارات": "AE",
    "ایران": "IR",
    "пакистан": "PK",
    "భారత్": "IN",
    "भारत": "IN",
    "சிங்கப்பூர்": "SG",
    "ලංකා": "LK",
}

#: Common generic TLDs: a bare "example.com" names no country but is still a domain.
GENERIC_TLDS = frozenset("com org net info biz edu gov mil int app dev shop store online site xyz club".split())

#: File extensions that are also ccTLDs; "setup.py" on a screen is not Paraguay.
FILE_EXTENSIONS = frozenset({"py", "md", "sh", "rs", "ps", "so", "pl", "cc", "mk", "ai", "js", "ts"})

#: Base reliabilities: a URL or an e-mail address is deliberate; a bare domain may be a join.
RELIABILITY = {"url": 0.85, "email": 0.85, "domain": 0.7}
VANITY_RELIABILITY = 0.08

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_HOST = rf"(?:{_LABEL}\.)+{_LABEL}"
URL_RE = re.compile(rf"(?i)(?:\b[a-z][a-z0-9+.-]*://|(?<![\w.@-])www\.)(?P<host>{_HOST})(?::\d+)?(?:[/?#][^\s]*)?")
EMAIL_RE = re.compile(rf"(?i)(?<![\w.+-])[\w.%+-]+@(?P<host>{_HOST})")
DOMAIN_RE = re.compile(rf"(?<![\w@.-])(?P<host>{_HOST})(?![\w-]|\.[^\W_])")


#: .eu is the European Union's TLD. CLDR's territory containment (which knows the EU's
#: members) is not exposed by babel, so the 27 member states are listed here.
EU_MEMBERS = tuple("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())


def tld_prior(tld: str) -> tuple[dict[str, float], bool] | None:
    """Country prior for a TLD (no dot), and whether it is a vanity TLD; None for generic TLDs."""
    tld = tld.lower()
    if tld in IDN_TLDS:
        return {IDN_TLDS[tld]: 1.0}, False
    if tld == "eu":
        return data.tilted(dict.fromkeys(EU_MEMBERS, 1.0)), False
    if tld == "uk":
        return {"GB": 1.0}, False
    codes = data.tld_countries().get(tld)
    if not codes:
        return None
    return dict.fromkeys(codes, 1.0), tld in VANITY_TLDS


def _host_clue(kind: str, host: str, span: TextSpan, start: int, end: int, matched: str) -> Clue | None:
    host = host.rstrip(".").lower()
    labels = host.split(".")
    if len(labels) < 2:
        return None
    tld = labels[-1]
    if kind == "domain":
        if tld in FILE_EXTENSIONS or len(labels[-2]) < 2 or not any(ch.isalpha() for ch in labels[-2]):
            return None
        if tld.isascii() and not matched.split(".")[-1].islower() and not matched.isupper():
            return None  # "Fig.It", "Co.Ltd": mixed case is prose, domains are all lower or all upper
    prior = tld_prior(tld)
    if prior is None:
        return None
    countries, vanity = prior
    reliability = VANITY_RELIABILITY if vanity else RELIABILITY[kind] * specificity(len(countries))
    where = ", ".join(data.country_name(c) for c in list(countries)[:3])
    noun = {"url": "URL", "email": "e-mail", "domain": "domain"}[kind]
    value = f"{noun} {matched} (.{tld}{': vanity TLD' if vanity else ''}, {where})"
    return Clue(
        kind="email" if kind == "email" else "url",
        key=f"{kind}:{host}",
        value=value,
        reliability=reliability,
        countries=countries,
        provenance=PROVENANCE if tld.isascii() else "IANA IDN ccTLDs",
        spans=[span],
        details={"host": host, "tld": tld, "vanity": vanity, "match": matched, "form": kind},
        start=start,
        end=end,
    )


def find_domains(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """URLs, e-mail addresses and bare domains in one span with a country-code TLD."""
    claims = claims if claims is not None else Claims()
    text = span.text
    out: list[Clue] = []
    for kind, regex in (("url", URL_RE), ("email", EMAIL_RE), ("domain", DOMAIN_RE)):
        for m in regex.finditer(text):
            start, end = m.span()
            if not claims.free(start, end):
                continue
            matched = m.group(0).rstrip(".,;:)")
            host = m.group("host")
            clue = _host_clue(kind, host, span, start, end, matched if kind != "domain" else host)
            if clue is not None:
                out.append(clue)
            # A URL or e-mail explains its digits and dots even with a generic TLD; a bare
            # "C.P." or "1.234" that is no domain is left for postcodes, prices and phones.
            if clue is not None or kind != "domain" or host.rsplit(".", 1)[-1].lower() in GENERIC_TLDS:
                claims.claim(start, end)
    return out
