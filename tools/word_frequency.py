"""Word frequencies from ``wordfreq``, in a few megabytes instead of half a gigabyte.

Several clues ask how ordinary a word is in a dozen languages ("SALE" is a word before
it is Salé). ``wordfreq`` answers by loading each language's list into a Python dict of
floats and keeping it for the life of the process: about 30 MB per language, so one
photo with a few Latin words grew a process by 500 MB and spent seconds loading. Here
each list becomes two sorted arrays (a 64-bit hash of the word, its frequency in
centibels), built once per machine from wordfreq's own files and kept in the project's
cache folder; a lookup is a binary search.

Answers are wordfreq's, to the hundredth of a Zipf unit: the word is tokenized and its
digits folded by wordfreq's own functions, and the tokens' frequencies are combined by
wordfreq's documented rule (1/f = 1/f1 + 1/f2 + ..., an inferred word break costing a
factor of ten for languages segmented by jieba, three significant digits).
"""

from __future__ import annotations

import hashlib
import math
import threading
from functools import lru_cache

import numpy as np

from .cache import cached_arrays, default_cache_dir

_lock = threading.Lock()
_tables: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _build(lang: str) -> dict[str, np.ndarray]:
    import wordfreq

    read_list = getattr(wordfreq.get_frequency_list, "__wrapped__", wordfreq.get_frequency_list)
    buckets = read_list(lang, "best")  # unwrapped: wordfreq's own cache would keep the list alive
    hashes, centibels = [], []
    for index, bucket in enumerate(buckets):
        for word in bucket:
            hashes.append(_word_hash(word))
            centibels.append(index)
    keys = np.asarray(hashes, dtype=np.uint64)
    values = np.asarray(centibels, dtype=np.uint16)
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    # a word listed twice keeps its first (most frequent) bucket, as wordfreq's dict does
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return {"keys": keys[first], "centibels": values[first]}


def _wordfreq_version() -> str:
    """Part of each cache file's name, so an upgraded wordfreq gets its lists rebuilt."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return "unknown"


def _table(lang: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The compact list of ``lang`` (None when wordfreq has none for it)."""
    with _lock:
        if lang in _tables:
            return _tables[lang]
        import wordfreq

        available = wordfreq.available_languages("best")
        best = lang
        if lang not in available:  # wordfreq's own fallback: the nearest language it has ("mr" -> "hi")
            import langcodes

            best, _distance = langcodes.closest_match(lang, list(available), max_distance=60)
        if best == "und" or best not in available:
            _tables[lang] = None
            return None
        name = f"wordfreq-{_wordfreq_version()}-{best}"
        arrays = cached_arrays(default_cache_dir(), name, lambda: _build(best))
        _tables[lang] = (arrays["keys"], arrays["centibels"])
        return _tables[lang]


def _token_frequency(token: str, lang: str) -> float | None:
    table = _table(lang)
    if table is None:
        return None
    keys, centibels = table
    key = np.uint64(_word_hash(token))
    at = int(np.searchsorted(keys, key))
    if at >= len(keys) or keys[at] != key:
        return None
    return 10.0 ** (-int(centibels[at]) / 100.0)


@lru_cache(maxsize=65536)
def zipf_frequency(word: str, lang: str) -> float:
    """``wordfreq.zipf_frequency(word, lang)`` (the "best" list, minimum 0), held compactly.

    Raises ImportError when wordfreq is not installed, as importing it would. A language
    without a list of its own uses the nearest one, as wordfreq does; one with none near
    gives 0.0 instead of wordfreq's LookupError (callers ask about a fixed set of
    languages and want "not common" for a missing one)."""
    import wordfreq
    from wordfreq.language_info import get_language_info
    from wordfreq.numbers import digit_freq, smash_numbers
    from wordfreq.tokens import lossy_tokenize

    if _table(lang) is None:
        return 0.0
    tokens = lossy_tokenize(word, lang)
    if not tokens:
        return 0.0
    inverse = 0.0
    for token in tokens:
        smashed = smash_numbers(token)
        freq = _token_frequency(smashed, lang)
        if freq is None:
            return 0.0
        if smashed != token:
            freq *= digit_freq(token)
        inverse += 1.0 / freq
    freq = 1.0 / inverse
    if get_language_info(lang)["tokenizer"] == "jieba":
        freq *= wordfreq.INFERRED_SPACE_FACTOR ** -(len(tokens) - 1)
    freq = max(freq, 1e-9)  # wordfreq's floor for a Zipf minimum of 0
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9.0, 2)
