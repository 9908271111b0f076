"""Reading a gold answer's text: parts, generic words that say a place's kind, sites, directions, borders."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from tools.places import Place

from .model import POP_WEIGHT

SPLIT_PARTS = re.compile(r"\s*[,，;；、]\s*")
SPLIT_IN = re.compile(r"\s+in\s+", re.IGNORECASE)
BORDER_PATTERNS = (
    re.compile(
        r"^(?:the\s+)?(?:border|boundary|borderlands?)(?:\s+(?:area|region|zone))?\s+(?:between|of)\s+"
        r"(?P<a>.+?)\s+(?:and|&)\s+(?P<b>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:the\s+)?(?P<a>[^,]+?)\s*(?:[-–—/]|\s+and\s+)\s*(?P<b>[^,]+?)\s+"
        r"(?:border|boundary)(?:\s+(?:area|region|zone))?$",
        re.IGNORECASE,
    ),
)
#: "Changsha Metro Line 3" names a city by its transit line.
TRANSIT_LINE = re.compile(
    r"\s+(?:metro|subway|underground|mrt|light rail|tram|railway|rail)(?:\s+line)?(?:\s+[0-9a-z]{1,3})?$"
)
DIRECTIONS = {
    "north": "north",
    "northern": "north",
    "south": "south",
    "southern": "south",
    "east": "east",
    "eastern": "east",
    "west": "west",
    "western": "west",
    "central": "central",
    "northeast": "northeast",
    "northeastern": "northeast",
    "northwest": "northwest",
    "northwestern": "northwest",
    "southeast": "southeast",
    "southeastern": "southeast",
    "southwest": "southwest",
    "southwestern": "southwest",
}
#: Trailing generic words (normalised) and the kind of place they mark; longest first.
ADMIN_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("special administrative region", "region"),
    ("prefecture level city", "city"),
    ("autonomous prefecture", "prefecture"),
    ("autonomous region", "region"),
    ("autonomous county", "county"),
    ("province", "region"),
    ("sheng", "region"),
    ("zizhiqu", "region"),
    ("state", "region"),
    ("oblast", "region"),
    ("territory", "region"),
    ("region", "region"),
    ("prefecture", "prefecture"),
    ("city", "city"),
    ("shi", "city"),
    ("municipality", "city"),
    ("town", "city"),
    ("village", "city"),
    ("zhen", "city"),
    ("county", "county"),
    ("xian", "county"),
    ("district", "county"),
    ("qu", "county"),
    ("banner", "county"),
)
#: Words that make a part a site (a station, a dam) rather than a settlement.
_SITE_WORDS = frozenset(
    "station dam hydropower reservoir bridge airport temple pagoda monastery church cathedral mosque palace "
    "museum park square tower gate mountain mount peak lake river waterfall falls beach port harbour harbor "
    "university campus street road avenue stadium".split()
)
GLUE_WORDS = frozenset({"and", "the", "of", "&"})


_KIND_SCORE = {"country": 3.0, "region": 2.0, "city": 1.0}


@dataclass(frozen=True)
class Cand:
    """One place a part of the answer may be, with how well it fits that part."""

    place: Place
    region_key: tuple[str, str] | None
    fit: float  # exact name, the kind the answer names, inside a place the prompt names
    exact: bool

    @property
    def base(self) -> float:
        """Fit plus a preference for larger kinds ("Guizhou" is the province, not a hamlet)."""
        return _KIND_SCORE[self.place.kind] + self.fit

    @property
    def score(self) -> float:
        return self.base + POP_WEIGHT * math.log10(self.place.population + 10)

    @property
    def tier(self) -> int:
        return {"city": 1, "region": 2, "country": 3}[self.place.kind]


@dataclass
class Mention:
    """One part of the answer text: "Baoji City", "Hunan Province", "Pingtang Station"."""

    text: str
    order: int
    hint: str | None = None
    direction: str | None = None
    cands: list[Cand] = field(default_factory=list)
    note: str = ""

    def tier(self, cand: Cand) -> int:
        """Sites are finer than towns; a county located by its seat ranks with towns."""
        if self.hint == "site" and cand.place.kind == "city":
            return 0
        return cand.tier


def key_words(key: str) -> list[str]:
    return key.split()


def strip_suffix(key: str) -> tuple[str, str | None]:
    """The key without one trailing generic word, and the kind that word marks."""
    for suffix, kind in ADMIN_SUFFIXES:
        if key.endswith(" " + suffix):
            return key[: -len(suffix) - 1].strip(), kind
    return key, None


def site_core(key: str) -> str:
    """A site's own name without its generic words ("pingtang station" -> "pingtang"): a
    station or dam is usually named after the place it is at. "Mount X" and "Lake X" keep
    their word: a town named X is often nowhere near the mountain."""
    words = key_words(key)
    while len(words) > 1 and words[-1] in _SITE_WORDS:
        words.pop()
    return " ".join(words)


def is_site(key: str) -> bool:
    words = key_words(key)
    return bool(words) and (words[-1] in _SITE_WORDS or (len(words) > 1 and words[0] in {"mount", "lake"}))
