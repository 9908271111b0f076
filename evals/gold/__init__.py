"""GeoBrowse gold answers: place names of mixed granularity, resolved offline and used to
judge a prediction at the granularity the answer (or the question) has.

GeoBrowse gold answers carry no coordinates: "Japan", "Changchun", "Oregon, USA", "Long County,
Baoji City, Shaanxi Province", "Pingtang Station, Changsha Metro Line 3, Hunan", "southern
Senegal", "The border between Bolivia and Peru". ``resolve_gold`` reads such a text with the
offline gazetteer and place index and returns a ``GoldPlace``: what the answer names, at which
granularity, where, and how large an area counts as "at" it. ``judge`` then scores a
prediction (a Location as a dict) against it:

* country: same ISO country (the predicted point's country when the prediction has no code);
* region: the predicted point reverse-geocodes into the same first-level region (region
  codes and names as the gazetteer writes them, so "Guangxi" and "Guangxi Zhuangzu Zizhiqu"
  need no string matching); a directional part of a country ("southern Senegal") is that
  country's places south of the middle of its north-south extent;
* county / city / site: the predicted point lies within the place's radius plus a margin
  (the field's thresholds: 25 km for a city or county, 5 km for a site), or, for a city,
  the predicted city name is the gold's;
* border: the point is in one of the two sides and within 100 km of a populated place of
  the other side (the gazetteer has no boundaries, so proximity to the other side's places
  stands in for "near the shared border");
* an answer the gazetteer cannot resolve is "unresolved": judged None, reported apart.

How a text is read: commas (and " in ") separate a most specific part from its containers;
each part loses generic words ("City", "Province", "County", "Station", "Metro Line 3") which
say what kind of place it is; the containers choose among same-named places (Changsha in
Hunan, not Changsha in Guangdong); a part made of two names with no comma ("Jiangxi Ganzhou")
is split and ordered by kind; when no reading puts every part inside its containers, or two
readings are equally good and far apart, the answer is unresolved rather than guessed.

The package keeps resolution apart from judging: :mod:`.parsing` (reading the text),
:mod:`.lookup` (gazetteer helpers), :mod:`.candidates` and :mod:`.solving` (choosing a
reading), :mod:`.resolve` and :mod:`.borders` (building the ``GoldPlace``), :mod:`.judging`
(scoring a prediction), :mod:`.model` (the result types and thresholds) and :mod:`.cli`.
The public names are all importable from ``evals.gold``.
"""

from __future__ import annotations

from ..gold_prompt import asked_granularity, choices
from .judging import judge, judge_level
from .model import BORDER_KM, COUNTY_RADIUS_KM, MARGIN_KM, SITE_RADIUS_KM, Area, GoldPlace, Granularity, Judgement
from .resolve import resolve_gold

__all__ = [
    "BORDER_KM",
    "COUNTY_RADIUS_KM",
    "MARGIN_KM",
    "SITE_RADIUS_KM",
    "Area",
    "GoldPlace",
    "Granularity",
    "Judgement",
    "asked_granularity",
    "choices",
    "judge",
    "judge_level",
    "resolve_gold",
]
