"""Candidate places for each part of a gold answer, and splitting a part that holds two names."""

from __future__ import annotations

from tools.errors import ConfigError
from tools.hints import country_code as iso_country_code
from tools.normalize import normalize
from tools.places import PlaceIndex

from .lookup import country_place, is_exact_name, lies_inside, region_key_of
from .parsing import (
    ADMIN_SUFFIXES,
    DIRECTIONS,
    GLUE_WORDS,
    TRANSIT_LINE,
    Cand,
    Mention,
    is_site,
    key_words,
    site_core,
    strip_suffix,
)

_HINT_KINDS = {
    "region": {"region"},
    "prefecture": {"region", "city"},
    "city": {"city"},
    "county": {"city"},
    "site": {"city"},
    "country": {"country"},
}


def cands_for_keys(places: PlaceIndex, keys: list[str], hint: str | None, context: list[Cand], text: str) -> list[Cand]:
    """Every place one of ``keys`` names, scored for this part of the answer."""
    seen: dict[int, Cand] = {}
    for key in keys:
        if len(key) < 2:
            continue
        found = [places.place(pid) for pid in places.lookup(key)]
        if len(key) >= 3 and not any(p.kind == "country" for p in found):
            try:
                code = iso_country_code(text)
            except ConfigError:
                code = None
            country = country_place(places, code) if code else None
            if country is not None:
                found.append(country)
        for place in found:
            exact = is_exact_name(place, key) or (place.kind == "country" and key == normalize(text))
            fit = 2.0 if exact else 0.0
            if hint and place.kind in _HINT_KINDS.get(hint, ()):
                fit += 3.0
            cand = Cand(place, region_key_of(places, place), fit, exact)
            if any(lies_inside(c, cand) for c in context):
                cand = Cand(place, cand.region_key, fit + 1.0, exact)
            if place.id not in seen or seen[place.id].score < cand.score:
                seen[place.id] = cand
    cands = sorted(seen.values(), key=lambda c: -c.score)
    return _merge_city_states(cands, hint)


def _merge_city_states(cands: list[Cand], hint: str | None) -> list[Cand]:
    """Beijing, Vienna, Berlin: a region and a town of one name where the town is most of the
    region (most of its people, or a region hardly larger than the town). The answer means
    the city, or the region when the answer says "Province"."""
    regions = [c for c in cands if c.place.kind == "region" and c.exact]
    drop: set[int] = set()
    for region in regions:
        for town in cands:
            if (
                town.place.kind == "city"
                and town.exact
                and town.region_key == region.region_key
                and normalize(town.place.name) == normalize(region.place.name).split(" ")[0]
                and (
                    town.place.population >= 0.5 * region.place.population
                    or region.place.radius_km <= 3.0 * town.place.radius_km
                )
            ):
                drop.add(town.place.id if hint in ("region", "prefecture") else region.place.id)
    return [c for c in cands if c.place.id not in drop]


def mention_keys(text: str) -> tuple[str, list[list[str]], str | None, str | None]:
    """Normalised key, lookup stages (first stage with a hit wins), kind hint, direction."""
    key = normalize(text)
    if key.startswith("the "):
        key = key[4:]
    line = TRANSIT_LINE.search(key)
    if line and line.start() > 0:
        return key, [[key[: line.start()]]], "city", None
    if is_site(key):
        core = site_core(key)
        return key, [[key], [core]] if core != key else [[key]], "site", None
    stripped, hint = strip_suffix(key)
    stages = [[key]]
    if stripped != key and stripped:
        variants = [stripped]
        if hint == "county":
            glued = stripped.replace(" ", "")
            variants += [f"{stripped} xian", f"{glued}xian", f"{stripped} hsien", f"{stripped} qu", f"{glued}qu"]
        stages.append(variants)
        if key.endswith((" autonomous region", " autonomous prefecture", " autonomous county")):
            # "Ningxia Hui", "Yanbian Korean": the place name comes first, the peoples after it.
            words = key_words(stripped)
            stages.append([" ".join(words[:n]) for n in range(len(words) - 1, 0, -1)])
    direction = None
    words = key_words(stripped)
    if len(words) > 1 and words[0] in DIRECTIONS:
        direction = DIRECTIONS[words[0]]
        rest = " ".join(words[1:])
        stages.append([rest, strip_suffix(rest)[0]])
    return key, stages, hint, direction


def build_mention(places: PlaceIndex, text: str, order: int, context: list[Cand]) -> list[Mention]:
    """One part of the answer as one mention, or several when it is two names without a comma."""
    key, stages, hint, direction = mention_keys(text)
    for index, stage in enumerate(stages):
        is_direction_stage = direction is not None and index == len(stages) - 1
        cands = cands_for_keys(places, stage, hint, context, text)
        if cands:
            return [Mention(text, order, hint, direction if is_direction_stage else None, cands)]
    if hint == "site" or not key:
        return [Mention(text, order, hint, None, [], note=f"'{text}' is not in the gazetteer")]
    return _split_names(places, text, key, order, hint, context)


def _split_names(
    places: PlaceIndex, text: str, key: str, order: int, hint: str | None, context: list[Cand]
) -> list[Mention]:
    """A part made of several names ("Jiangxi Ganzhou", "Jammu and Kashmir"): split it when
    the names cover every word of it, else leave it unresolved (a longer unknown name)."""
    hits = [h for h in places.find(text) if not h.unspaced]
    words = key_words(normalize(text))  # find() counts words of the whole normalised text
    covered = set()
    for h in hits:
        covered.update(range(h.start, h.end))
    generic = {s for s, _ in ADMIN_SUFFIXES if " " not in s}
    uncovered = [w for i, w in enumerate(words) if i not in covered and w not in GLUE_WORDS and w not in generic]
    if len(hits) < 2 or uncovered:
        return [Mention(text, order, hint, None, [], note=f"'{text}' is not in the gazetteer")]
    subs = []
    for n, hit in enumerate(hits):
        sub_text = " ".join(words[hit.start : hit.end])
        subs.extend(build_mention(places, sub_text, order + n / 10, context))
    if " and " in f" {key} " and len(subs) == 2:
        return [_common_region(text, order, subs)]
    return subs


def _common_region(text: str, order: int, subs: list[Mention]) -> Mention:
    """'A and B' that is not itself a name: the region one of them is and the other lies in
    ("Jammu and Kashmir": the region Kashmir, where the town Jammu is)."""
    found: dict[tuple[str, str], Cand] = {}
    for first, second in ((subs[0], subs[1]), (subs[1], subs[0])):
        for region in first.cands:
            if (
                region.place.kind == "region"
                and region.region_key is not None
                and region.region_key not in found
                and any(lies_inside(region, c) for c in second.cands)
            ):
                found[region.region_key] = region
    cands = sorted(found.values(), key=lambda c: -c.score)
    if not cands:
        return Mention(text, order, None, None, [], note=f"'{text}': no region holds both names")
    return Mention(text, order, "region", None, cands, note=f"'{text}' read as the region holding both names")
