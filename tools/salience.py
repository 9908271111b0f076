"""Which lines of text are worth a web search or a map lookup.

Investigators search for the rare words on a sign (a shop's name, a street), not for
"OPEN 24H". A line's salience is how uncommon its words are in ordinary text (word
frequencies from ``wordfreq`` over several languages), with digits-only, one-letter
and very short lines left out.
"""

from __future__ import annotations

import re

from .normalize import is_unspaced_char, normalize

_LANGS = ("en", "es", "fr", "de", "pt", "it", "nl")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def _zipf(word: str) -> float:
    try:
        import wordfreq  # noqa: F401 - only to learn that it is installed

        from .word_frequency import zipf_frequency
    except ImportError:  # without frequencies every word counts as uncommon
        return 0.0
    return max(zipf_frequency(word, lang) for lang in _LANGS)


def salience(text: str) -> float:
    """0 (nothing worth searching) .. 1 (rare words, long enough to be specific)."""
    words = _WORD.findall(normalize(text))
    # a Han, kana or Hangul character carries about as much as three Latin letters
    letters = sum(3 if is_unspaced_char(ch) else 1 for w in words for ch in w)
    if not words or letters < 5:
        return 0.0
    rarity = [max(0.0, min(1.0, (6.0 - _zipf(w)) / 4.0)) for w in words if w.isascii()]
    rarity += [0.8 for w in words if not w.isascii()]  # non-Latin text: frequencies unknown, usually specific
    best = sorted(rarity, reverse=True)[:3]
    length = min(1.0, letters / 12.0)
    return round(sum(best) / len(best) * length, 4)
