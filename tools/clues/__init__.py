"""Text clues -> evidence with country priors.

``extract_clues(spans)`` reads phone numbers, URLs and e-mail addresses, postcodes,
currency signs, writing systems and languages in OCR'd text and returns one ``Evidence``
per distinct clue, each with a prior over ISO 3166-1 countries. Each family lives in its
own module with the reasons for how it works: ``phones``, ``domains``, ``postcodes``,
``currency``, ``scripts``, ``language``; ``data`` derives the country facts they share
from CLDR (babel) and GeoNames, lazily and once per process.
"""

from .currency import find_currencies
from .domains import find_domains
from .extract import extract_clues, span_clues, to_evidence
from .language import identify, language_clue
from .model import EDGE_FACTOR, Clue
from .phones import find_phones
from .postcodes import find_postcodes
from .scripts import char_script, count_scripts, script_clue

__all__ = [
    "EDGE_FACTOR",
    "Clue",
    "char_script",
    "count_scripts",
    "extract_clues",
    "find_currencies",
    "find_domains",
    "find_phones",
    "find_postcodes",
    "identify",
    "language_clue",
    "script_clue",
    "span_clues",
    "to_evidence",
]
