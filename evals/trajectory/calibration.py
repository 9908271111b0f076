"""Calibrating the semantic threshold on hand-written labelled step/evidence pairs."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Any

from .documents import make_doc
from .semantic import semantic_matches

#: Hand-written (expert-style step, evidence sentence, same fact?) pairs for choosing the
#: semantic threshold. Generic geolocation clues, written for this purpose and not taken
#: from any evaluation item; the negatives include hard ones (same kind of clue, other
#: content). Evidence sentences are rendered as the matcher renders evidence.
CALIBRATION_PAIRS: tuple[tuple[str, str, str, bool], ...] = (
    ("The shop signs are written in Cyrillic letters.", "script", "script Cyrillic", True),
    ("Korean Hangul characters appear on the billboard.", "script", "script Hangul (Korean)", True),
    ("The banner uses Thai script, so we are in Thailand.", "script", "script Thai", True),
    ("Hebrew lettering on the bus stop points to Israel.", "script", "script Hebrew", True),
    ("Kana mixed with kanji on the vending machine means Japan.", "script", "scripts Han + Katakana (Japanese)", True),
    ("Chinese characters are written on the shop sign.", "script", "script Han (Chinese characters, Simplified)", True),
    ("Arabic writing appears above the storefront.", "script", "script Arabic", True),
    ("The storefront text is in Portuguese.", "language", "language pt (Portuguese)", True),
    ("The poster is written in Polish.", "language", "language pl (Polish)", True),
    ("Signs are bilingual, in French and Dutch.", "language", "languages fr (French) + nl (Dutch)", True),
    ("The advertisement is in Turkish, which narrows it to Turkey.", "language", "language tr (Turkish)", True),
    ("A phone number with the +44 prefix is printed on the van.", "phone", "+44 20 7946 0958 (United Kingdom)", True),
    ("The telephone number on the shopfront has a Brazilian area code.", "phone", "(11) 3456-7890 (Brazil)", True),
    ("The street sign reads Rua Augusta.", "ocr_text", "RUA AUGUSTA", True),
    ("The sign says 'Welcome to Graz'.", "ocr_text", "WELCOME TO GRAZ", True),
    (
        "The town name Kalundborg appears on the direction sign.",
        "place_name",
        "'kalundborg' -> Kalundborg, Zealand, Denmark",
        True,
    ),
    (
        "A direction sign points to Salzburg, so this is Austria.",
        "place_name",
        "'salzburg' -> Salzburg, Salzburg, Austria",
        True,
    ),
    ("The street name ends in -straße, typical of Germany.", "street_type", "street word 'straße' (de)", True),
    ("Street names begin with Calle, a Spanish-speaking country.", "street_type", "street word 'calle' (es)", True),
    ("Prices are marked in euros.", "currency", "currency 3,50 € (Euro; 36 countries)", True),
    ("The menu shows prices in Thai baht.", "currency", "currency ฿120 (Thai Baht; 1 country)", True),
    ("The website on the truck ends in .pl, a Polish domain.", "url", "URL www.transport.pl (.pl, Poland)", True),
    ("The postcode on the letterbox has the Dutch format.", "postcode", "postcode 1012 AB (Netherlands)", True),
    ("Vehicles drive on the left side of the road.", "model_observation", "traffic drives on the left", True),
    ("Cars keep to the right, ruling out the UK.", "driving_side", "right-hand traffic", True),
    ("The license plates are yellow, as in the Netherlands.", "license_plate", "yellow rear plates on the cars", True),
    ("Palm trees line the avenue, so the climate is tropical.", "vegetation", "tall palm trees along the road", True),
    ("Dense coniferous forest covers the hills.", "vegetation", "pine and spruce forest on the hillsides", True),
    (
        "The houses have red tiled roofs and whitewashed walls.",
        "architecture",
        "white houses with terracotta roof tiles",
        True,
    ),
    ("Snow-capped mountains rise in the background.", "terrain", "high mountains with snow on the peaks", True),
    ("Wooden utility poles with a metal cap are visible.", "utility_pole", "wooden electricity poles", True),
    ("The road has double yellow centre lines.", "road_marking", "two yellow lines in the middle of the road", True),
    ("A red and white flag hangs from the balcony.", "flag", "red-and-white flag on a building", True),
    ("The camera's GPS metadata places the photo in Rome.", "exif", "EXIF GPS 41.9028, 12.4964", True),
    (
        "A web search for the company name finds a branch in Lyon.",
        "search_hit",
        "Boulangerie Dupont - Lyon, France",
        True,
    ),
    ("The shop signs are written in Cyrillic letters.", "script", "script Arabic", False),
    ("Korean Hangul characters appear on the billboard.", "script", "script Thai", False),
    ("Kana mixed with kanji on the vending machine means Japan.", "script", "script Hangul (Korean)", False),
    ("The storefront text is in Portuguese.", "language", "language de (German)", False),
    ("The advertisement is in Turkish, which narrows it to Turkey.", "language", "language fi (Finnish)", False),
    ("Prices are marked in euros.", "phone", "0800 123 456 (Germany)", False),
    ("The license plates are yellow, as in the Netherlands.", "ocr_text", "PASSING ZONE", False),
    ("Palm trees line the avenue, so the climate is tropical.", "script", "script Thai", False),
    ("The houses have red tiled roofs and whitewashed walls.", "place_name", "'rome' -> Rome, Lazio, Italy", False),
    ("Snow-capped mountains rise in the background.", "language", "language de (German)", False),
    (
        "The telephone number on the shopfront has a Brazilian area code.",
        "url",
        "URL www.loja.com.br (.br, Brazil)",
        False,
    ),
    (
        "A direction sign points to Salzburg, so this is Austria.",
        "place_name",
        "'wien' -> Vienna, Vienna, Austria",
        False,
    ),
    ("The street sign reads Rua Augusta.", "ocr_text", "PASTELARIA CENTRAL", False),
    ("The postcode on the letterbox has the Dutch format.", "currency", "currency € 2,00 (Euro; 36 countries)", False),
    ("Dense coniferous forest covers the hills.", "vegetation", "tropical palm trees", False),
    ("The road has double yellow centre lines.", "model_observation", "a white pedestrian crossing", False),
    ("A red and white flag hangs from the balcony.", "model_observation", "a blue bus at the stop", False),
    ("Pedestrians wear headscarves, suggesting a Muslim-majority country.", "phone", "0212 555 0101 (Turkey)", False),
    ("The architecture is typical of the Alps.", "language", "language it (Italian)", False),
    ("The website on the truck ends in .pl, a Polish domain.", "url", "URL www.example.de (.de, Germany)", False),
    ("The river is wide and turbid, a tributary in the dry season.", "ocr_text", "HOTEL", False),
    ("Shadows point south, so we are in the northern hemisphere.", "vegetation", "trees with autumn leaves", False),
    (
        "Karst peaks dominate the landscape.",
        "place_name",
        "'karlsruhe' -> Karlsruhe, Baden-Württemberg, Germany",
        False,
    ),
    ("The stop sign has a square post.", "ocr_text", "OPEN 24 HOURS", False),
    ("The train runs under overhead catenary, an electrified line.", "language", "language zh (Chinese)", False),
    ("The camera's GPS metadata places the photo in Rome.", "search_hit", "Colosseum tickets and opening hours", False),
    ("The menu shows prices in Thai baht.", "currency", "currency $5.00 (US Dollar; 20 countries)", False),
    ("Vehicles drive on the left side of the road.", "ocr_text", "KEEP LEFT", False),
    (
        "The utility poles are made of concrete with square holes.",
        "architecture",
        "brick houses with flat roofs",
        False,
    ),
    ("Chinese characters are written on the shop sign.", "phone", "213 420 815 (Portugal)", False),
)


def calibrate_threshold(pairs: Sequence[tuple[str, str, str, bool]] = CALIBRATION_PAIRS) -> dict[str, Any]:
    """Similarities of labelled (step, evidence kind, evidence value, same fact?) pairs,
    scored exactly as :func:`step_coverage` scores them, and the threshold with the best
    balanced accuracy (midway between the two scores where it is reached). Needs the
    embedding model."""
    sims = []
    for step, kind, value, _ in pairs:
        match = semantic_matches([step], [make_doc("e", kind, value)], 1.0)[0]
        sims.append(match.score)
    pos = sorted(s for s, p in zip(sims, pairs) if p[3])
    neg = sorted(s for s, p in zip(sims, pairs) if not p[3])
    cuts = sorted(set(sims))
    best = (-1.0, 0.5)
    for lo, hi in itertools.pairwise(cuts):
        t = (lo + hi) / 2
        tpr = sum(s >= t for s in pos) / len(pos)
        tnr = sum(s < t for s in neg) / len(neg)
        if (tpr + tnr) / 2 > best[0] + 1e-12:
            best = ((tpr + tnr) / 2, t)
    threshold = round(best[1], 3)
    return {
        "threshold": threshold,
        "balanced_accuracy": round(best[0], 4),
        "true_positive_rate": round(sum(s >= threshold for s in pos) / len(pos), 4),
        "true_negative_rate": round(sum(s < threshold for s in neg) / len(neg), 4),
        "positives": {"n": len(pos), "min": round(pos[0], 3), "median": round(statistics.median(pos), 3)},
        "negatives": {"n": len(neg), "max": round(neg[-1], 3), "median": round(statistics.median(neg), 3)},
        "similarities": [(p[0], f"{p[1]}: {p[2]}", p[3], round(s, 4)) for p, s in zip(pairs, sims)],
    }
