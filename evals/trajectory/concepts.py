"""The concept vocabulary: evidence kinds tied to the words experts use for them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    """A kind of clue experts name in words and the agent records as an evidence kind.

    ``kinds`` are the evidence kinds that establish it; ``pattern`` finds it in an expert
    step (and in free-text evidence such as a model's observation).
    """

    name: str
    kinds: frozenset[str]
    pattern: re.Pattern[str]
    label: str
    specific: bool = True


def _concept(name: str, kinds: Iterable[str], words: str, label: str, specific: bool = True) -> Concept:
    return Concept(name, frozenset(kinds), re.compile(rf"\b(?:{words})\b", re.IGNORECASE), label, specific)


#: The concept vocabulary. Text-derived kinds first (what the agent produces today), then
#: scene clues experts use that a vision model or future tool may record as evidence.
CONCEPTS: tuple[Concept, ...] = (
    _concept(
        "writing",
        ["script"],
        r"scripts?|characters?|alphabets?|letters|lettering|writing system|glyphs?|kanji|hanzi|kana|hiragana"
        r"|katakana|hangul|cyrillic|syllabary|abugida",
        "writing script",
    ),
    _concept(
        "language",
        ["language"],
        r"languages?|spoken|speaks?|speaking|dialects?|bilingual|trilingual|multilingual|official language",
        "language of the text",
    ),
    _concept(
        "text",
        ["ocr_text"],
        r"texts?|reads?|reading|written|wording|words?|inscriptions?|says|spelled|spelt|printed",
        "text read in the image",
        specific=False,  # everything read is text: sharing it says little about the content
    ),
    _concept(
        "place_name",
        ["place_name"],
        r"place names?|city names?|town names?|village names?|toponyms?"
        r"|names? of the (?:city|town|village|place|station)",
        "place name",
    ),
    _concept(
        "street_name",
        ["street_type"],
        r"street names?|road names?|street signs?|avenues?|boulevards?|strasse|straße|calle|rue|rua|via",
        "street name word",
    ),
    _concept(
        "phone",
        ["phone"],
        r"phones?|telephones?|phone numbers?|area codes?|dialling codes?|dialing codes?|calling codes?|hotlines?",
        "phone number",
    ),
    _concept("web", ["url", "email"], r"websites?|web address|urls?|domains?|e-?mails?", "web address"),
    _concept("postcode", ["postcode"], r"postcodes?|postal codes?|zip codes?", "postal code"),
    _concept(
        "currency",
        ["currency"],
        r"currency|currencies|prices?|priced|money|yen|yuan|rmb|euros?|dollars?|pesos?|rupees?|baht|pounds sterling"
        r"|ruble|roubles?|won|dong|ringgit|rupiah|lira",
        "currency",
    ),
    _concept("metadata", ["exif"], r"exif|metadata|gps|geotag(?:ged)?|timestamps?|camera model", "photo metadata"),
    _concept(
        "search",
        ["search_hit"],
        r"web search|searche?[sd]?|searching|google|baidu|bing|looked up|look up|online",
        "web search result",
    ),
    _concept("map", ["osm_feature"], r"maps?|openstreetmap|osm|satellite|street view", "map feature"),
    _concept(
        "license_plate",
        ["license_plate", "licence_plate", "plate"],
        r"licen[cs]e plates?|number plates?|registration plates?|plates?",
        "licence plate",
    ),
    _concept(
        "driving_side",
        ["driving_side"],
        r"(?:left|right)[- ]hand (?:traffic|drive|driving)|driv\w* on the (?:left|right)"
        r"|(?:left|right)[- ]side (?:traffic|driving)"
        r"|keeps? (?:to the )?(?:left|right)|traffic (?:direction|flow)|driving side|direction of traffic",
        "driving side",
    ),
    _concept(
        "vegetation",
        ["vegetation", "plants", "trees"],
        r"vegetation|trees?|forests?|palms?|plants?|shrubs?|bushes|bamboos?|greenery|foliage|grass(?:land)?s?"
        r"|conifer(?:ous)?|deciduous|evergreen|jungle|savannah?|crops?|vineyards?",
        "vegetation",
    ),
    _concept(
        "architecture",
        ["architecture", "building"],
        r"architecture|architectural|buildings?|houses?|roofs?|dwellings?|churche?s?|cathedrals?|temples?|mosques?"
        r"|facades?|façades?|balcon(?:y|ies)",
        "architecture",
    ),
    _concept(
        "road_sign",
        ["road_sign", "sign", "traffic_sign"],
        r"(?:road|traffic|stop|yield|warning|speed limit|direction|pedestrian|street) signs?"
        r"|signposts?|sign posts?|bollards?",
        "road sign",
    ),
    _concept(
        "road_marking",
        ["road_marking", "road_markings"],
        r"(?:road|lane) markings?|(?:yellow|white) (?:lines?|stripes?)|cent(?:re|er) lines?|dashed lines?",
        "road marking",
    ),
    _concept(
        "utility_pole",
        ["utility_pole", "pole"],
        r"(?:utility|power|electric|electricity|telephone|wooden|concrete|steel) poles?|poles?|transformers?",
        "utility pole",
    ),
    _concept(
        "terrain",
        ["terrain", "landscape"],
        r"terrain|mountains?|mountainous|hills?|hilly|plateaus?|plains?|karst|valleys?|canyons?|coast(?:al)?|deserts?",
        "terrain",
    ),
    _concept(
        "climate",
        ["climate", "weather"],
        r"climate|tropical|subtropical|temperate|arid|snow(?:y|-covered)?|humid|monsoon",
        "climate",
    ),
    _concept(
        "sun", ["sun_position", "shadow", "sun"], r"sun|sunlight|shadows?|solar (?:position|angle)", "sun position"
    ),
    _concept("vehicle", ["vehicle"], r"cars?|taxis?|buses|bus|vehicles?|trucks?|motorcycles?|vans?", "vehicle"),
    _concept("flag", ["flag"], r"flags?", "flag"),
    _concept(
        "landmark",
        ["landmark"],
        r"landmarks?|monuments?|statues?|sculptures?|towers?|bridges?|dams?|stations?",
        "landmark",
    ),
)

SPECIFIC_CONCEPTS = frozenset(c.name for c in CONCEPTS if c.specific)

#: Evidence kinds whose value is derived from text the image shows: their concepts come
#: from the kind alone (reading the word "taxi" is not seeing a taxi).
TEXT_DERIVED = frozenset(
    {"ocr_text", "place_name", "street_type", "phone", "url", "email", "postcode", "currency", "language", "script"}
)

#: Script names -> the words experts use for them.
SCRIPT_WORDS = {
    "han": "chinese characters kanji hanzi",
    "hangul": "korean",
    "hiragana": "japanese kana",
    "katakana": "japanese kana",
    "cyrillic": "russian slavic",
    "arabic": "arabic",
    "hebrew": "hebrew",
    "greek": "greek",
    "thai": "thai",
    "devanagari": "hindi indian",
    "mongolian": "mongolian",
    "tibetan": "tibetan",
    "khmer": "khmer cambodian",
    "georgian": "georgian",
    "armenian": "armenian",
}
