"""Search regions and safe-search levels, translated for each backend.

Why: DuckDuckGo (and so ``ddgs``) takes a *country-language* region ("pt-pt", "br-pt",
"us-en", "wt-wt" for no region), while SearxNG takes a BCP-47 *language-COUNTRY*
code ("pt-PT", "en-US", "all"). The tool's argument is the DuckDuckGo form (the
documented one); a BCP-47 code with an upper-case country ("pt-BR") or a bare
language ("de") is accepted too, because models write those as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import GeoSleuthError

#: A region argument: two letters, optionally a dash and two more.
REGION_PATTERN = r"^[A-Za-z]{2}(-[A-Za-z]{2})?$"
_REGION_RE = re.compile(REGION_PATTERN)

#: DuckDuckGo pseudo-countries: "wt" worldwide, "xa" Arabia, "xl" Latin America.
_PSEUDO_COUNTRIES = frozenset({"wt", "xa", "xl"})
#: DuckDuckGo writes the United Kingdom as "uk"; ISO 3166 (and SearxNG) as "GB".
_DDG_TO_ISO = {"uk": "gb"}
_ISO_TO_DDG = {"gb": "uk"}
_WORLDWIDE = frozenset({"", "wt-wt", "all", "auto", "any", "none"})

SAFESEARCH_LEVELS = ("off", "moderate", "on")


class SearchSettingsError(GeoSleuthError):
    """A search setting or argument (region, safesearch, backend) that cannot be used."""


@dataclass(frozen=True)
class Region:
    """A search region: an ISO country (lower case; None for worldwide) and a language."""

    country: str | None = None
    language: str | None = None

    def ddgs(self) -> str:
        """DuckDuckGo form: "pt-pt"; "wt-wt" when there is no country."""
        if self.country is None:
            return "wt-wt"
        country = _ISO_TO_DDG.get(self.country, self.country)
        return f"{country}-{self.language or 'en'}"

    def searxng(self) -> str:
        """SearxNG form: "pt-PT", "pt" without a country, "all" without either."""
        if self.language is None:
            return "all"
        if self.country is None:
            return self.language
        return f"{self.language}-{self.country.upper()}"


def parse_region(text: str | None) -> Region:
    """Read a region written as DuckDuckGo "pt-pt", BCP-47 "pt-BR", a bare language "de",
    or "wt-wt"/"all" (worldwide). Raises :class:`SearchSettingsError` on anything else."""
    raw = (text or "").strip().replace("_", "-")
    if raw.lower() in _WORLDWIDE:
        return Region()
    if not _REGION_RE.match(raw):
        raise SearchSettingsError(f"region {text!r} is not like 'pt-pt' (country-language), 'pt-BR' or 'de'")
    if "-" not in raw:
        return Region(language=raw.lower())
    first, second = raw.split("-")
    if second.isupper() and not first.isupper():  # BCP-47: language-COUNTRY
        language, country = first.lower(), second.lower()
    else:  # DuckDuckGo: country-language
        country, language = first.lower(), second.lower()
    if country in _PSEUDO_COUNTRIES:
        return Region(language=language if country != "wt" else None)
    return Region(country=_DDG_TO_ISO.get(country, country), language=language)


def safesearch_level(value: object) -> str:
    """ "off", "moderate" or "on" from those words or SearxNG's 0/1/2."""
    if isinstance(value, bool):
        raise SearchSettingsError(f"safesearch {value!r}: use 'off', 'moderate' or 'on'")
    if isinstance(value, int) and 0 <= value <= 2:
        return SAFESEARCH_LEVELS[value]
    word = str(value).strip().lower()
    aliases = {"strict": "on", "none": "off", "0": "off", "1": "moderate", "2": "on"}
    word = aliases.get(word, word)
    if word not in SAFESEARCH_LEVELS:
        raise SearchSettingsError(f"safesearch {value!r}: use 'off', 'moderate' or 'on'")
    return word


def searxng_safesearch(level: str) -> int:
    """SearxNG's safesearch parameter: 0 off, 1 moderate, 2 strict."""
    return SAFESEARCH_LEVELS.index(safesearch_level(level))
