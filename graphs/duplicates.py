"""Evidence is counted once: copies of what the run already has are kept, but inert.

Why: a search engine lists a page twice (``http://`` and ``https://``, a tracking
parameter, a trailing slash), two queries return the same page, the same OSM element
answers three verification calls, a model reads the same sign twice. Each copy is the
*same* observation, and if each became evidence of its own, one page or one map node
would propose four identical candidates, lift its neighbours four times and make
consensus report "4 candidates agree" with a confidence no single source deserves.

So every new evidence gets an *origin*: the set of things it rests on (a canonical URL,
an OSM element, a place name as read in a given page, a line of text at a given place in
a given image). Evidence whose origins the run has all seen before is a copy: it stays in
the trace and in the result (an investigator sees what each tool returned), with
``confidence`` 0 and ``details.copy_of`` naming the evidence it repeats and
``details.counted_once`` saying why; lanes, verification and consensus then give it no
weight. The first occurrence keeps its confidence: copies add nothing to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tools.evidence import Evidence
from tools.normalize import normalize
from tools.web.hits import canonical_url

__all__ = ["canonical_url", "is_copy", "mark_copies", "origins"]


def origins(item: Evidence) -> frozenset[str]:
    """What an evidence rests on; two pieces of evidence with the same origins are one."""
    if item.kind == "search_hit" and item.provenance:
        return frozenset({"page " + canonical_url(item.provenance)})
    if item.kind == "osm_feature" and item.provenance:
        return frozenset({"osm " + "/".join(item.provenance.rstrip("/").split("/")[-2:])})  # "way/123"
    urls = item.details.get("search_urls") or ([item.details["from_search"]] if item.details.get("from_search") else [])
    key = str(item.details.get("key") or normalize(str(item.value)))
    if urls:  # a name read in search results: one mention per page
        return frozenset(f"{item.kind} {key} in {canonical_url(str(u))}" for u in urls)
    where = f"{item.image}{item.bbox}" if item.image else ""
    return frozenset({f"{item.kind} {normalize(str(item.value))} {where} {item.provenance or ''}"})


def _reason(item: Evidence, first: Evidence) -> str:
    if item.kind == "search_hit":
        return f"the same web page as {first.id}"
    if item.kind == "osm_feature":
        return f"the same OSM element as {first.id}"
    if item.details.get("search_urls") or item.details.get("from_search"):
        return f"named in the same search results as {first.id}"
    return f"a repeat of {first.id}"


def mark_copies(earlier: Iterable[Evidence], new: Sequence[Evidence]) -> list[Evidence]:
    """``new`` (already numbered) with copies of ``earlier`` or of each other made inert."""
    seen: dict[str, Evidence] = {}
    for item in earlier:
        if not item.details.get("copy_of"):
            for origin in origins(item):
                seen.setdefault(origin, item)
    out = []
    for item in new:
        mine = origins(item)
        if mine and all(o in seen for o in mine):
            first = seen[min(mine)]
            details = {
                **item.details,
                "copy_of": first.id,
                "counted_once": _reason(item, first),
                "confidence_as_found": item.confidence,
            }
            out.append(item.model_copy(update={"confidence": 0.0, "details": details}))
            continue
        for origin in mine:
            seen.setdefault(origin, item)
        out.append(item)
    return out


def is_copy(item: Evidence) -> bool:
    """Whether this evidence repeats earlier evidence (and so carries no weight)."""
    return bool(item.details.get("copy_of"))
