"""Text normalisation for matching names as signs write them.

Signs write "MÜNCHEN", "München" and "Munchen"; OCR adds stray punctuation. Latin,
Greek and Cyrillic letters are case-folded and stripped of diacritics; other scripts
are only NFKC-normalised (stripping marks would change Japanese kana or Devanagari).
Scripts written without spaces (Han, Kana, Hangul, Thai, ...) are matched by
substring, the others by word n-grams.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ß": "ss"})
_PUNCT = re.compile(r"[\s\-‐‑‒–—_/\\.,;:!?·•|()\[\]{}<>\"'’‘“”«»„。、，．・〜~*#@&+=^`]+")


def is_unspaced_char(ch: str) -> bool:
    """Characters of scripts written without spaces between words."""
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs (+ extension A)
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FA1F
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables (Korean names are single tokens)
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
    )


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if ord(ch) < 0x0530:  # Latin, Greek, Cyrillic: drop diacritics
        decomposed = unicodedata.normalize("NFKD", ch)
        return "".join(c for c in decomposed if not unicodedata.combining(c))
    return ch


def normalize(text: str) -> str:
    """Casefold, fold diacritics (where safe), turn punctuation into spaces, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    text = "".join(_fold_char(ch) for ch in text)
    return _PUNCT.sub(" ", text).strip()


def segments(text: str) -> list[tuple[str, bool]]:
    """Split normalised text into runs: (run, unspaced?). Spaced runs keep their spaces."""
    out: list[tuple[str, bool]] = []
    current: list[str] = []
    mode: bool | None = None
    for ch in text:
        unspaced = is_unspaced_char(ch)
        if ch == " " and mode is False:
            current.append(ch)
            continue
        if ch == " ":
            if current:
                out.append(("".join(current), True))
            current, mode = [], None
            continue
        if mode is None or unspaced == mode:
            current.append(ch)
            mode = unspaced
        else:
            out.append(("".join(current).strip(), bool(mode)))
            current, mode = [ch], unspaced
    if current and mode is not None:
        out.append(("".join(current).strip(), mode))
    return [(run, unspaced) for run, unspaced in out if run]


def ngrams(text: str, max_words: int = 5, max_chars: int = 12) -> list[tuple[str, int, int]]:
    """All candidate name keys in a text: (key, start, end) in the normalised text's units.

    Spaced runs give word n-grams (positions are word indices across the text); unspaced
    runs give substrings of 2..max_chars characters (positions are character offsets,
    offset by 10_000 per run so they never collide with word positions).
    """
    out: list[tuple[str, int, int]] = []
    word_base = 0
    for run_index, (run, unspaced) in enumerate(segments(normalize(text))):
        if unspaced:
            base = 10_000 * (run_index + 1)
            for i in range(len(run)):
                for j in range(i + 2, min(len(run), i + max_chars) + 1):
                    out.append((run[i:j], base + i, base + j))
        else:
            words = run.split()
            for i in range(len(words)):
                for j in range(i + 1, min(len(words), i + max_words) + 1):
                    out.append((" ".join(words[i:j]), word_base + i, word_base + j))
            word_base += len(words)
    return out
