"""What a GeoBrowse prompt asks for: the granularity of the answer and, for multiple-choice
prompts, the options.

A gold answer's own granularity is not always what the question asks: "Oregon, USA" answers
"which U.S. city", "Sichuan" answers "which city". The judge scores at the coarser of the two,
so it needs the asked granularity read from the prompt. Prompts are short English questions
("which country", "which state or province", "which subway station"); a few list options
("a. Spain b. Chile", "1. Netherlands 2. Sweden", "Philippines/Cambodia/Vietnam/Thailand").
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: Granularities from finest to coarsest ("border" is outside this order).
GRANULARITY_ORDER: tuple[str, ...] = ("site", "city", "county", "region", "country")

#: Question nouns and the granularity they ask for.
_NOUNS: dict[str, str] = {
    "country": "country",
    "countries": "country",
    "nation": "country",
    "province": "region",
    "provinces": "region",
    "state": "region",
    "states": "region",
    "region": "region",
    "regions": "region",
    "territory": "region",
    "prefecture": "region",
    "oblast": "region",
    "county": "county",
    "counties": "county",
    "district": "county",
    "banner": "county",
    "city": "city",
    "cities": "city",
    "town": "city",
    "village": "city",
    "municipality": "city",
    "capital": "city",
    "station": "site",
    "dam": "site",
    "bridge": "site",
    "building": "site",
    "landmark": "site",
    "street": "site",
    "road": "site",
    "airport": "site",
    "temple": "site",
    "park": "site",
    "square": "site",
    "campus": "site",
    "university": "site",
    "mountain": "site",
    "lake": "site",
}

#: Words that end the noun phrase after "which"/"what" ("which city *in* China", "which region *of* Africa").
_STOP = frozenset(
    "in of is are was were this that these it its the does do did based among from to at for on with".split()
)
_WHICH = re.compile(r"\b(?:which|what)\b", re.IGNORECASE)
_IMPERATIVE = re.compile(r"\b(?:identify|determine|name|guess|find|give)\s+(?:the|this|its)\s+([A-Za-z]+)", re.I)
#: A clause ends at punctuation or at a full stop that ends a sentence (not the one in "U.S. city").
_CLAUSE_END = re.compile(r"[,:;?!()]|\.(?=\s+[A-Z]|\s*$)")


def _finest(grains: list[str]) -> str | None:
    return min(grains, key=GRANULARITY_ORDER.index) if grains else None


def asked_granularity(prompt: str | None) -> str | None:
    """The granularity the prompt asks for (country, region, county, city, site), or None.

    Reads the noun phrase after "which"/"what" up to a stop word ("which provincial capital
    city in China" -> city; "which state or province" -> region; "which country and region" ->
    region, the finer of the two), else an imperative "identify the region of India" -> region.
    "Where is it?" asks for nothing in particular: None.
    """
    if not prompt:
        return None
    for match in _WHICH.finditer(prompt):
        clause = _CLAUSE_END.split(prompt[match.end() :], maxsplit=1)[0]
        grains = []
        for word in re.findall(r"[A-Za-z][A-Za-z.'\-]*", clause):
            low = word.lower().strip(".")
            if low in _STOP:
                break
            if low in _NOUNS:
                grains.append(_NOUNS[low])
        if grains:
            return _finest(grains)
    for match in _IMPERATIVE.finditer(prompt):
        grain = _NOUNS.get(match.group(1).lower())
        if grain:
            return grain
    return None


_LETTER_MARK = re.compile(r"(?:^|(?<=\s))\(?([a-hA-H])[.)]\s+")
_NUMBER_MARK = re.compile(r"(?:^|(?<=\s))\(?(\d{1,2})[.)]\s+")
_DIRECTION_WORD = re.compile(
    r"^(?:north|south|east|west|central|northern|southern|eastern|western|"
    r"north-?eastern|north-?western|south-?eastern|south-?western)$",
    re.IGNORECASE,
)


def _marked(prompt: str, pattern: re.Pattern[str], first: str, nxt: Callable[[str], str]) -> list[str]:
    """Options after consecutive markers (a. b. c. / 1. 2. 3.), starting at ``first``."""
    marks = list(pattern.finditer(prompt))
    for start, mark in enumerate(marks):
        if mark.group(1).lower() != first:
            continue
        run = [mark]
        for later in marks[start + 1 :]:
            if later.group(1).lower() == nxt(run[-1].group(1).lower()):
                run.append(later)
        if len(run) < 2:
            continue
        out = []
        for i, m in enumerate(run):
            end = run[i + 1].start() if i + 1 < len(run) else len(prompt)
            option = prompt[m.end() : end].strip().rstrip(".,;?").strip()
            if option:
                out.append(option)
        if len(out) >= 2:
            return out
    return []


def _listed(tail: str) -> list[str]:
    """Options written as a list after a colon: slashes, commas / "or", or a run of
    directional names with no separators ("Southern Kenya Western Kenya Northern Senegal")."""
    tail = tail.strip().rstrip(".?!").strip()
    if not tail:
        return []
    for splitter in (r"\s*/\s*", r"\s*,\s*(?:or\s+)?|\s+or\s+"):
        items = [i.strip() for i in re.split(splitter, tail) if i.strip()]
        if len(items) >= 2 and all(len(i.split()) <= 4 for i in items):
            return items
    words = tail.split()
    if words and _DIRECTION_WORD.match(words[0]):
        items, current = [], []
        for word in words:
            if _DIRECTION_WORD.match(word) and current:
                items.append(" ".join(current))
                current = []
            current.append(word)
        items.append(" ".join(current))
        if len(items) >= 2 and all(len(i.split()) <= 4 for i in items):
            return items
    return []


def choices(prompt: str | None) -> list[str]:
    """The options of a multiple-choice prompt, in order; [] when the prompt lists none.

    Recognises lettered ("a. Spain b. Chile ...") and numbered ("1. Netherlands 2. Sweden")
    options, and a list after the last colon ("Philippines/Cambodia/Vietnam/Thailand",
    "Spain, Chile or Israel", directional runs). A colon followed by a sentence (a hint) is
    not a list: items longer than four words reject it.
    """
    if not prompt:
        return []
    found = _marked(prompt, _LETTER_MARK, "a", lambda c: chr(ord(c) + 1))
    if found:
        return found
    found = _marked(prompt, _NUMBER_MARK, "1", lambda c: str(int(c) + 1))
    if found:
        return found
    if ":" in prompt:
        return _listed(prompt.rsplit(":", 1)[1])
    return []
