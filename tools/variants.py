"""Place names as signs write them: transliterations and near spellings.

Signs and OCR do not always write a name the way the gazetteer does: neighbouring
languages spell it their own way (Russian "Черкассы", Ukrainian "Черкаси", Belarusian
"Чаркасы"), a sign or a reader drops or swaps a letter ("Краснодор"), and a small
place may have no name in the sign's script in GeoNames at all. So besides the exact
name, a word of an alphabetic script finds places

* through its **transliteration** (``anyascii``: "Земун" -> "zemun"), matched exactly
  against every name of every place;
* through names **one or two letters away in its own script** (Levenshtein distance on
  the script's own letters, with ``rapidfuzz``): one edit for words of five to eight
  letters, two from nine, Latin words (where nearly every word is one letter from some
  village) only from seven letters, one edit, and only if the word is not an ordinary
  word. Only places of at least ``MIN_POPULATION`` are reached this way, and the first
  letter must agree.

Both are weaker evidence than the name itself; ``tools.place_clues`` weighs them down.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from .normalize import normalize

if TYPE_CHECKING:  # pragma: no cover
    from .gazetteer import Gazetteer
    from .places import PlaceIndex

#: Places smaller than this are not reached through a near spelling.
MIN_POPULATION = 15_000
#: Latin-script names need a bigger place: every Latin word is one letter from some village.
MIN_POPULATION_LATIN = 100_000
#: Scripts written with spaces between words whose names are matched letter by letter.
SCRIPTS = frozenset({"Latn", "Cyrl", "Grek", "Armn", "Geor", "Arab", "Hebr", "Deva"})
#: Scripts whose transliteration to Latin letters is faithful enough to match a name.
TRANSLITERATED = frozenset({"Cyrl", "Grek", "Armn", "Geor"})
#: Languages whose ordinary words are not looked up as misspelt places.
_COMMON_WORD_LANGUAGES = {
    "Latn": ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "tr", "ro", "cs", "sv", "hu", "id"),
    "Cyrl": ("ru", "uk", "bg", "mk"),
    "Grek": ("el",),
    "Arab": ("ar", "fa", "ur"),
    "Hebr": ("he",),
    "Deva": ("hi", "mr", "ne"),
}
_COMMON_ZIPF = 3.0


def key_script(key: str) -> str | None:
    """The script of a normalised key's letters when they share one, else None."""
    from .clues.scripts import char_script

    scripts = {char_script(ch) for ch in key if ch.isalpha()}
    scripts.discard(None)
    return next(iter(scripts)) if len(scripts) == 1 else None


def _keep(name: str) -> bool:
    return bool(name) and not name.isdigit() and "http" not in name


def variant_rows(rows: list[dict], gazetteer: Gazetteer, regions: list[tuple[int, list[str]]]) -> dict[str, Any]:
    """Arrays (for the index cache) of the names reachable by a near spelling: every name
    of alphabetic scripts of every place big enough, with the place it names."""
    pairs: set[tuple[str, int]] = set()
    population = gazetteer.city_population
    for index, row in enumerate(rows):
        pop = int(population[index])
        if pop < MIN_POPULATION:
            continue
        for name in [row["name"], *(row.get("alternatenames") or ())]:
            if not _keep(name):
                continue
            key = normalize(name)
            script = key_script(key)
            if script not in SCRIPTS or len(key) < 5:
                continue
            if script == "Latn" and (pop < MIN_POPULATION_LATIN or (name != row["name"] and not name.isascii())):
                continue
            pairs.add((key, index))
    for place_id, names in regions:
        for name in names:
            key = normalize(name)
            if key_script(key) in SCRIPTS and len(key) >= 5:
                pairs.add((key, place_id))
    ordered = sorted(pairs)
    blob = "\n".join(k for k, _ in ordered).encode("utf-8")
    return {
        "vz_keys": np.frombuffer(blob, dtype=np.uint8),
        "vz_targets": np.array([t for _, t in ordered], dtype=np.int32),
    }


def _is_common_word(key: str, script: str) -> bool:
    try:
        import wordfreq  # noqa: F401 - only to learn that it is installed

        from .word_frequency import zipf_frequency
    except ImportError:
        return False
    return any(zipf_frequency(key, lang) >= _COMMON_ZIPF for lang in _COMMON_WORD_LANGUAGES.get(script, ()))


class VariantIndex:
    """Near-spelling and transliteration lookups; the name lists load on first use."""

    def __init__(self, arrays: dict[str, np.ndarray], index: PlaceIndex) -> None:
        self._arrays = arrays
        self._index = index
        self._lock = threading.Lock()
        self._by_length: dict[tuple[str, str, int], tuple[list[str], list[int]]] | None = None

    def _lists(self) -> dict[tuple[str, str, int], tuple[list[str], list[int]]]:
        """Names grouped by (script, first letter, length): a query scans only its neighbours."""
        if self._by_length is None:
            with self._lock:
                if self._by_length is None:
                    text = self._arrays["vz_keys"].tobytes().decode("utf-8")
                    keys = text.split("\n") if text else []
                    targets = self._arrays["vz_targets"].tolist()
                    grouped: dict[tuple[str, str, int], tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
                    for key, target in zip(keys, targets):
                        script = key_script(key)
                        if script is None:
                            continue
                        bucket = grouped[(script, key[0], len(key))]
                        bucket[0].append(key)
                        bucket[1].append(target)
                    self._by_length = dict(grouped)
        return self._by_length

    def find(self, key: str, exact: set[int]) -> list[tuple[int, str]]:
        """Places (not in ``exact``) a word may name through a transliteration or a near
        spelling, each with how: 'translit' or 'fuzzy:N' (N letters changed)."""
        if " " in key and key.count(" ") > 1:
            return []
        script = key_script(key)
        if script not in SCRIPTS:
            return []
        letters = sum(ch.isalpha() for ch in key)
        out: dict[int, str] = {}
        if script in TRANSLITERATED and letters >= 4:
            from anyascii import anyascii

            latin = normalize(anyascii(key))
            for place in self._index.lookup(latin) if len(latin) >= 4 else []:
                if place not in exact:
                    out.setdefault(place, "translit")
        minimum = 7 if script == "Latn" else 5
        if letters < minimum or any(ch.isdigit() for ch in key) or _is_common_word(key, script):
            return list(out.items())
        bound = 1 if (script == "Latn" or len(key) < 9) else 2
        from rapidfuzz.distance import Levenshtein

        lists = self._lists()
        found: list[tuple[int, int]] = []
        for length in range(len(key) - bound, len(key) + bound + 1):
            names, targets = lists.get((script, key[0], length), ((), ()))
            for name, target in zip(names, targets):
                if target in exact:
                    continue
                distance = Levenshtein.distance(key, name, score_cutoff=bound)
                if 0 < distance <= bound:
                    found.append((distance, target))
        for distance, target in sorted(found):
            out.setdefault(target, f"fuzzy:{distance}")
        return list(out.items())[:12]


def match_weight(how: str) -> float:
    """How much a reading reached this way counts against one reached by the name itself."""
    if how == "exact":
        return 1.0
    if how == "translit":
        return 0.5
    if how.startswith("fuzzy:"):
        return 0.5 * math.pow(0.4, int(how.split(":")[1]) - 1)
    return 0.3
