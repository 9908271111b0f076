"""Phone numbers -> countries, with Google's libphonenumber metadata (``phonenumbers``).

Why it works this way:

* An international number (``+33 1 42 68 53 00``, ``0049 30 ...``) names its country
  through the calling code, and libphonenumber knows which region of a shared code
  (+1: US, CA, JM, ...) a valid number belongs to. Strong clue.
* A national number (``01 42 68 53 00``) is valid in many countries at once (that
  string is valid in sixteen). What narrows it down is how it is *written*: each country
  groups its digits its own way, and libphonenumber knows those formats. So a national
  number counts only where its grouping is exactly the country's national format, or,
  next to a word like "Tel."/"電話", where it is valid in very few countries. Digits that
  no phone cue and no national format vouch for are not claimed as a phone.
* Emergency numbers (112, 911, 999, 110, 119, 000, 17, ...) come from libphonenumber's
  short-number metadata (``is_emergency_number`` per region), not from a hand list.
  Most are shared by dozens of countries, so their reliability falls with how many
  share them (112: ~110 regions, weak; 108: India only, stronger), and they are read
  only next to an emergency or phone word, since "112" alone is a house number.
* Years, year ranges, dates, prices, thousands and measurements are rejected before
  any parsing: they are far more common on signs than phone numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from tools.text import TextSpan

from . import data
from .model import Claims, Clue, specificity

PROVENANCE = "phonenumbers (libphonenumber metadata)"

#: Words and pictograms that announce a phone number. ASCII words must stand alone; the
#: rest (CJK, Thai, Hebrew, symbols) are matched anywhere, as those scripts put no spaces.
_PHONE_WORDS = (
    "tel|tél|tele?fono?|telefon|telephone|téléphone|teléfono|telefone|telefono|telp|tlf|tfn|fon|phone|ph|"
    "mob|mobile|mobil|móvil|cell|fax|call|dial|hotline|whatsapp|contact|kontakt|infoline|helpline|"
    "тел|телефон|тлф|моб|τηλ|τηλέφωνο|טל|טלפון|هاتف|تلفون|फोन|फ़ोन|โทร"
)
PHONE_CONTEXT_RE = re.compile(
    rf"(?i)(?<!\w)(?:{_PHONE_WORDS})(?!\w)|電話|电话|전화|연락처|联系|聯絡|熱線|热线|[☎☏📞📱✆℡]"
)

_EMERGENCY_WORDS = (
    "emergency|emergencies|notruf|notrufnummer|urgences?|urgencias|emergencias?|emergenza|emergência|"
    "noodnummer|nødnummer|nödnummer|hätänumero|alarmnummer|police|polizei|policía|polizia|polícia|politie|"
    "policja|polisi|polis|policie|fire|feuerwehr|pompiers|bomberos|ambulance|ambulancia|ambulanza|ambulância|"
    "ambulans|rettungsdienst|samu|sos|acil|itfaiye|rendőrség|mentők|tűzoltók?|hasiči|záchranka|pogotowie|"
    "straż|скорая|полиция|пожарн\\w*|экстренн\\w*|έκτακτης|αστυνομία|cấp cứu|cảnh sát|cứu hỏa|"
    "ฉุกเฉิน|ตำรวจ|आपातकाल|पुलिस|طوارئ|شرطة|חירום|משטרה"
)
EMERGENCY_CONTEXT_RE = re.compile(
    rf"(?i)(?<!\w)(?:{_EMERGENCY_WORDS})(?!\w)|緊急|急救|报警|報警|火警|消防|警察|救急|응급|긴급|경찰|소방"
)

#: A run of digits with the separators people put in phone numbers.
_RUN_RE = re.compile(r"(?<![\w.,])(?:\+\s?|\(\s?)?\d[\d \u00a0().\-/–·]*\d\)?")
_SPLIT_RE = re.compile(r"\s+/\s+|\s{3,}|\s*[;|]\s*|\s+[-–]\s+(?=\+)")

_DATE_RE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|(?:1[89]|20)\d\d[./-]\d{1,2}[./-]\d{1,2}")
_YEAR_RANGE_RE = re.compile(r"(?:1[89]|20)\d\d\s*[-–/]\s*(?:(?:1[89]|20)\d\d|\d\d)")
_THOUSANDS_RE = re.compile(r"[1-9]\d{0,2}(?:([.,’'])\d{3})(?:\1\d{3})*(?:[.,]\d{1,2})?")
_CURRENCY_NEAR_RE = re.compile(
    r"[€$£¥￥₩₹₽₺₫฿₱₴₸₼₾₪₦₵₭៛₮₲₡₨]|(?<![A-Za-z])(?:EUR|USD|GBP|CHF|JPY|CNY|RMB|kr|zł|Kč|Ft|lei|Rs|Rp|RM|руб|грн|元|円|원)(?![A-Za-z])"
)
_UNIT_AFTER_RE = re.compile(r"\s?(?:%|‰|°|km|cm|mm|m²|m|kg|mg|g|ml|l|h|min|kcal|kw|kwh|mb|gb|px|x)(?![A-Za-z])", re.I)

#: National-format numbers valid in more regions than this (after format matching) say too little.
MAX_NATIONAL_REGIONS = 6
#: How far a phone clue is trusted, by how it was recognised.
RELIABILITY_INTERNATIONAL = 0.9
RELIABILITY_NATIONAL_FORMAT_AND_CUE = 0.75
RELIABILITY_NATIONAL_FORMAT = 0.55
RELIABILITY_NATIONAL_CUE = 0.45
RELIABILITY_EMERGENCY = 0.4
#: Share of the weight that other regions of a shared calling code keep (a +1 800 number
#: is valid across the NANP, but the US owns most of them).
SHARED_CODE_WEIGHT = 0.3


@dataclass(frozen=True)
class _National:
    region: str
    formatted: str
    e164: str
    number: phonenumbers.PhoneNumber
    #: Whether the region writes the number with the separators the sign used.
    same_style: bool = True


@dataclass(frozen=True)
class _Region:
    code: str
    national_prefix: str
    prefix_for_parsing: re.Pattern[str] | None
    pattern: re.Pattern[str]


@lru_cache(maxsize=1)
def _main_regions() -> tuple[_Region, ...]:
    """The main region of every geographic calling code, with what a cheap pre-check needs."""
    out = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        region = phonenumbers.region_code_for_country_code(code)
        if region in ("ZZ", "001"):
            continue
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or not meta.general_desc.national_number_pattern:
            continue
        parsing = meta.national_prefix_for_parsing
        out.append(
            _Region(
                code=region,
                national_prefix=meta.national_prefix or "",
                prefix_for_parsing=re.compile(parsing) if parsing else None,
                pattern=re.compile(meta.general_desc.national_number_pattern),
            )
        )
    return tuple(out)


def _could_be_valid(region: _Region, digits: str) -> bool:
    """Whether ``digits`` (a national number) fits the region's general number pattern.

    A regex check costs microseconds; ``phonenumbers.parse`` + ``is_valid_number`` cost
    about a hundred, so this keeps the full check to the few dozen plausible regions.
    """
    options = {digits}
    if region.national_prefix and digits.startswith(region.national_prefix):
        options.add(digits[len(region.national_prefix) :])
    if region.prefix_for_parsing is not None:
        m = region.prefix_for_parsing.match(digits)
        if m:
            options.add(digits[m.end() :])
    return any(region.pattern.fullmatch(option) for option in options)


def _shape(text: str) -> str:
    """Digit grouping with separators unified: '(01) 42-68.53 00' -> '01 42 68 53 00'."""
    return " ".join(re.findall(r"\d+", text))


def _formats_for(region: str) -> list:
    """The national number formats libphonenumber lists for a region (a region that
    shares its calling code's formats, like VA with IT, gets the main region's)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return []
    if meta.number_format:
        return list(meta.number_format)
    main = phonenumbers.region_code_for_country_code(meta.country_code or 0)
    main_meta = phonenumbers.PhoneMetadata.metadata_for_region(main) if main != region else None
    return list(main_meta.number_format) if main_meta is not None else []


def national_writings(number: phonenumbers.PhoneNumber, region: str) -> list[str]:
    """Every way the region's own metadata writes this number nationally.

    libphonenumber formats a number with the first of the region's formats that fits,
    but the metadata lists the others too, and people use them: Portugal's metadata
    has "21 342 0815" for Lisbon numbers *and* the 3-3-3 grouping of its other
    numbers, which is how Lisbon shops write theirs ("213 420 815"). Each format whose
    leading digits and pattern fit the number counts as a national way to write it.
    """
    nsn = phonenumbers.national_significant_number(number)
    found = [phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)]
    for fmt in _formats_for(region):
        leading = list(fmt.leading_digits_pattern or ())
        if leading and not re.match(leading[-1], nsn):
            continue
        if not re.fullmatch(fmt.pattern, nsn):
            continue
        written = phonenumbers.format_by_pattern(number, PhoneNumberFormat.NATIONAL, [fmt])
        if written and written not in found:
            found.append(written)
    return found


def _separators(text: str) -> str:
    """The separator style of a written number: brackets around the area code or not,
    hyphens between all groups or not ("(02) 8901 2345" -> "( ", "06-6982-1234" -> "-")."""
    inner = re.sub(r"^[^\d(]+|\D+$", "", text)
    gaps = re.findall(r"\D+", inner.lstrip("("))
    return ("(" if "(" in inner else "") + ("-" if gaps and all("-" in g for g in gaps) else " ")


@lru_cache(maxsize=4096)
def national_matches(digits: str, shape: str | None = None, written: str | None = None) -> tuple[_National, ...]:
    """Regions where ``digits``, read as a national number, is valid.

    With ``shape`` (the digit grouping as written, see ``_shape``), only the regions one
    of whose national formats (see :func:`national_writings`) groups the number exactly
    that way; ``written`` (the text as written) then prefers regions whose format uses
    the same separators (Japan's "06-6982-1234" against Italy's "06 6982 1234").
    """
    found: dict[str, _National] = {}
    for region in _main_regions():
        if not _could_be_valid(region, digits):
            continue
        try:
            number = phonenumbers.parse(digits, region.code)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        specific = phonenumbers.region_code_for_number(number) or region.code
        if specific in found or specific not in data.country_codes():
            continue
        formatted = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        same_style = True
        if shape is not None:
            fitting = [w for w in national_writings(number, specific) if _shape(w) == shape]
            if not fitting:
                continue
            formatted = fitting[0]
            if written is not None:
                style = _separators(written)
                same_style = any(_separators(w) == style for w in fitting)
        found[specific] = _National(
            region=specific,
            formatted=formatted,
            e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
            number=number,
            same_style=same_style,
        )
    return tuple(found.values())


@lru_cache(maxsize=1024)
def emergency_regions(number: str) -> tuple[str, ...]:
    """Regions where ``number`` is an emergency number (libphonenumber short-number data)."""
    from phonenumbers import shortnumberinfo

    valid = data.country_codes()
    return tuple(
        sorted(
            r for r in phonenumbers.SUPPORTED_REGIONS if r in valid and shortnumberinfo.is_emergency_number(number, r)
        )
    )


def _area(number: phonenumbers.PhoneNumber, country: str) -> str | None:
    from phonenumbers import geocoder

    try:
        area = geocoder.description_for_number(number, "en")
    except Exception:  # noqa: BLE001 - the geocoder's prefix data is optional garnish
        return None
    return area if area and area != country else None


def _not_a_phone(piece: str, text: str, start: int, end: int) -> str | None:
    """Why a digit run is something else (date, year range, price, quantity), or None."""
    body = piece.strip("() ")
    if _DATE_RE.fullmatch(body):
        return "date"
    if _YEAR_RANGE_RE.fullmatch(body):
        return "year range"
    groups = re.findall(r"\d+", body)
    if all(len(g) == 4 and g[:2] in ("18", "19", "20") for g in groups):
        return "years"
    if _THOUSANDS_RE.fullmatch(body):
        return "number with thousands separators"
    if re.search(r"\d[.,]\d{3}[.,]\d{2}$", body):
        return "price"
    if _CURRENCY_NEAR_RE.search(text[max(0, start - 4) : start]) or _CURRENCY_NEAR_RE.match(
        text[end : end + 5].lstrip()
    ):
        return "price"
    if _UNIT_AFTER_RE.match(text[end : end + 6]):
        return "quantity"
    return None


def _runs(text: str) -> list[tuple[int, int, str]]:
    """Digit runs, split where two numbers were written side by side ('030 1 / 030 2')."""
    out = []
    for m in _RUN_RE.finditer(text):
        offset = m.start()
        for part in _SPLIT_RE.split(m.group(0)):
            if not part:
                continue
            at = text.find(part, offset)
            out.append((at, at + len(part), part))
            offset = at + len(part)
    return out


def _international(piece: str, span: TextSpan, start: int, end: int) -> Clue | None:
    digits = re.sub(r"\D", "", piece)
    raw = piece.lstrip("( ")
    if raw.startswith("00"):
        raw = "+" + raw[2:].lstrip()
    if not raw.startswith("+") or not 8 <= len(digits) <= 17:
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    main = phonenumbers.region_code_for_number(number)
    valid = data.country_codes()
    if not main or main not in valid:
        return None  # non-geographic (+800, +882, ...): no country
    regions = [
        r
        for r in phonenumbers.region_codes_for_country_code(number.country_code)
        if r in valid and phonenumbers.is_valid_number_for_region(number, r)
    ]
    countries = {r: (1.0 if r == main else SHARED_CODE_WEIGHT) for r in regions} or {main: 1.0}
    country = data.country_name(main)
    area = _area(number, country)
    formatted = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    kind = phonenumbers.number_type(number)
    details = {
        "number": e164,
        "match": piece.strip(),
        "format": "international",
        "region": main,
        "type": _type_name(kind),
    }
    if area:
        details["area"] = area
    return Clue(
        kind="phone",
        key=e164,
        value=f"{formatted} ({country}{', ' + area if area else ''})",
        reliability=RELIABILITY_INTERNATIONAL * (1.0 if len(countries) == 1 else specificity(len(countries)) ** 0.5),
        countries=countries,
        provenance=PROVENANCE,
        spans=[span],
        details=details,
        start=start,
        end=end,
    )


def _type_name(kind: int) -> str:
    return (PhoneNumberType.to_string(kind) or "unknown").lower()


#: Weight of a region where a grouped number is valid but usually written grouped otherwise.
OTHER_GROUPING_WEIGHT = 0.5
#: Weight of a region whose format groups the digits the same way with other separators.
OTHER_STYLE_WEIGHT = 0.6


def _national(piece: str, span: TextSpan, start: int, end: int, cue: bool) -> Clue | None:
    digits = re.sub(r"\D", "", piece)
    if not 7 <= len(digits) <= 13:
        return None
    shape = _shape(piece)
    grouped = " " in shape or piece.lstrip().startswith("(")
    if not (grouped or cue):
        return None
    formatted = list(national_matches(digits, shape, piece.strip())) if grouped else []
    weights: dict[str, float] = {m.region: OTHER_STYLE_WEIGHT for m in formatted if not m.same_style}
    if any(m.same_style for m in formatted):  # the separators narrow it down further
        formatted.sort(key=lambda m: not m.same_style)
    if formatted:
        chosen = formatted
        reliability = RELIABILITY_NATIONAL_FORMAT_AND_CUE if cue else RELIABILITY_NATIONAL_FORMAT
        # How people group digits is a habit, not a rule (Portuguese signs write "213 420 815",
        # the library "21 342 0815"): other regions where the number is valid keep half weight.
        others = [m for m in national_matches(digits) if m.region not in {f.region for f in formatted}]
        if len(formatted) + len(others) <= MAX_NATIONAL_REGIONS:
            chosen = formatted + others
            weights.update({m.region: OTHER_GROUPING_WEIGHT for m in others})
        else:  # valid in many countries: the grouping alone singles these out, and it is weak
            reliability *= MAX_NATIONAL_REGIONS / (len(formatted) + len(others))
    elif cue and 0 < len(matches := national_matches(digits)) <= 2:
        chosen = list(matches)
        reliability = RELIABILITY_NATIONAL_CUE
    else:
        return None
    if len(chosen) > MAX_NATIONAL_REGIONS:
        return None
    countries = {m.region: weights.get(m.region, 1.0) for m in chosen}
    names = [data.country_name(m.region) for m in chosen]
    details: dict = {
        "match": piece.strip(),
        "format": "national",
        "numbers": {m.region: m.e164 for m in chosen},
        "format_matched": bool(formatted),
        "cue": cue,
    }
    areas = {m.region: a for m in chosen if (a := _area(m.number, data.country_name(m.region)))}
    if areas:
        details["area"] = areas
    where = ", ".join(names)
    if len(chosen) == 1 and areas:
        where += f", {next(iter(areas.values()))}"
    return Clue(
        kind="phone",
        key="national:" + digits,
        value=f"{piece.strip()} (national format: {where})",
        reliability=reliability * specificity(sum(m.same_style for m in formatted) or len(formatted) or len(chosen)),
        countries=countries,
        provenance=PROVENANCE,
        spans=[span],
        details=details,
        start=start,
        end=end,
    )


def find_international_phones(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """Numbers written with their calling code (+CC or 00CC)."""
    claims = claims if claims is not None else Claims()
    out = []
    for start, end, piece in _runs(span.text):
        if not piece.lstrip("( ").startswith(("+", "00")) or not claims.free(start, end):
            continue
        if _CURRENCY_NEAR_RE.search(span.text[max(0, start - 4) : start]):
            continue
        clue = _international(piece, span, start, end)
        if clue is not None:
            claims.claim(start, end)
            out.append(clue)
    return out


def find_national_phones(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """Numbers in a country's national format, and emergency numbers next to a cue word."""
    claims = claims if claims is not None else Claims()
    text = span.text
    cue = PHONE_CONTEXT_RE.search(text) is not None
    out = []
    for start, end, piece in _runs(text):
        if piece.lstrip("( ").startswith("+") or not claims.free(start, end):
            continue
        if _not_a_phone(piece, text, start, end):
            continue
        clue = _national(piece, span, start, end, cue)
        if clue is not None:
            claims.claim(start, end)
            out.append(clue)
    if cue or EMERGENCY_CONTEXT_RE.search(text):
        out.extend(_emergency(span, claims))
    return out


def _emergency(span: TextSpan, claims: Claims) -> list[Clue]:
    out = []
    for start, end, number in _runs(span.text):
        if not (number.isdigit() and 2 <= len(number) <= 4) or not claims.free(start, end):
            continue  # only a number standing alone: "123" inside "0800 123 4567" is not one
        if _not_a_phone(number, span.text, start, end):
            continue
        regions = emergency_regions(number)
        if not regions:
            continue
        claims.claim(start, end)
        k = len(regions)
        countries = data.tilted(dict.fromkeys(regions, 1.0))
        listed = ", ".join(regions[:6]) + (f" and {k - 6} more" if k > 6 else "")
        out.append(
            Clue(
                kind="phone",
                key="emergency:" + number,
                value=f"emergency number {number} ({k} {'country' if k == 1 else 'countries'}: {listed})",
                reliability=RELIABILITY_EMERGENCY / (1.0 + math.log(k)),
                countries=countries,
                provenance=PROVENANCE + ", short-number data",
                spans=[span],
                details={"number": number, "format": "emergency", "regions": list(regions), "match": number},
                start=start,
                end=end,
            )
        )
    return out


def find_phones(span: TextSpan, claims: Claims | None = None) -> list[Clue]:
    """All phone clues in one span (international first, so they are not read twice)."""
    claims = claims if claims is not None else Claims()
    return find_international_phones(span, claims) + find_national_phones(span, claims)
