"""Search hits -> evidence: each hit as a lead, and the place names the hits mention.

Why modest confidences: a search hit says that *some page* matches the query, not that
the photo was taken where the page is about. So a ``search_hit`` starts at
:data:`HIT_CONFIDENCE` and loses some with every rank down the list; the country of
its URL's country-code TLD (``.pt`` -> PT, via the same table as text clues) is its
only country prior, and generic (.com) or vanity (.io, .tv) domains give none.

Why place names from titles and snippets: "Pastelaria Central — Rua Augusta, Lisboa"
names the city that the shop is in. The names go through the same gazetteer reading
as OCR'd text (``place_evidence``), then are scaled down because they come from a
search result (:data:`PLACE_FACTOR`) and by the hit's rank, and much further when the
name is in the query itself: results for "cafe Lisboa" mention Lisboa because the
query did, which is an echo, not a finding. One ``place_name`` evidence per name,
listing every hit that mentioned it.
"""

from __future__ import annotations

import re
from typing import Any

from ..clues.domains import tld_prior
from ..evidence import Evidence, ToolSource
from ..normalize import normalize
from ..place_clues import place_evidence
from ..tampering import instruction_rule
from ..text import TextSpan
from .hits import SearchHit, canonical_url

#: Confidence of the first hit: a lead worth checking, far from proof.
HIT_CONFIDENCE = 0.3
#: Each rank down the list divides the confidence by (1 + RANK_DECAY * (rank - 1)).
RANK_DECAY = 0.15
#: Place names read in search results count this much of the same name on a sign.
PLACE_FACTOR = 0.5
#: Extra factor for a place name that the query itself contains (an echo).
ECHO_FACTOR = 0.3
#: Upper bound for a place name found in search results, however often repeated.
PLACE_CAP = 0.6
#: Weaker mentions are dropped: a barely-a-place word ("Central") in a snippet is noise.
MIN_PLACE_CONFIDENCE = 0.08
_SNIPPET_IN_VALUE = 200


def rank_factor(rank: int) -> float:
    """1.0 for the first hit, 0.5 for the 8th: later hits match the query less well."""
    return 1.0 / (1.0 + RANK_DECAY * (max(rank, 1) - 1))


def url_countries(domain: str) -> tuple[dict[str, float] | None, str | None]:
    """Country prior of a domain's ccTLD and the TLD; (None, tld) for generic or vanity TLDs."""
    if "." not in domain:
        return None, None
    tld = domain.rsplit(".", 1)[-1]
    prior = tld_prior(tld)
    if prior is None:
        return None, tld
    countries, vanity = prior
    return (None if vanity else countries), tld


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def hit_evidence(hit: SearchHit, *, query: str, source: ToolSource) -> Evidence:
    """One ``search_hit`` evidence for a hit: "title — snippet (domain)", URL provenance."""
    domain = hit.domain
    countries, tld = url_countries(domain)
    parts = [hit.title or hit.url]
    if hit.snippet:
        parts.append(_short(hit.snippet, _SNIPPET_IN_VALUE))
    value = " — ".join(parts) + (f" ({domain})" if domain else "")
    return Evidence(
        kind="search_hit",
        value=value,
        confidence=round(HIT_CONFIDENCE * rank_factor(hit.rank), 4),
        source=source,
        provenance=hit.url,
        countries=countries,
        details={"query": query, "rank": hit.rank, "engine": hit.engine, "domain": domain, "tld": tld},
    )


def _in_query(key: str, query_key: str) -> bool:
    if not key or not query_key:
        return False
    if key.isascii():
        return re.search(rf"(?<!\w){re.escape(key)}(?!\w)", query_key) is not None
    return key in query_key


def hit_place_evidence(
    hits: list[SearchHit], *, query: str, index: Any, source: ToolSource, min_confidence: float = MIN_PLACE_CONFIDENCE
) -> list[Evidence]:
    """``place_name`` evidence for the place names in the hits' titles and snippets.

    Each hit is read on its own (so each mention knows its URL); mentions of the same
    name across hits become one evidence whose confidence is the best mention's, lifted
    a little by each further hit (up to :data:`PLACE_CAP`), and whose
    ``details["search_urls"]`` lists every hit that named it.
    """
    query_key = normalize(query)
    merged: dict[str, tuple[Evidence, list[str]]] = {}
    for hit in hits:
        spans = [
            TextSpan(text=_short(text, 2000), confidence=PLACE_FACTOR * rank_factor(hit.rank))
            for text in (hit.title, hit.snippet)
            if text.strip() and instruction_rule(text) is None  # a page talking to the tool names no place
        ]
        if not spans:
            continue
        for item in place_evidence(spans, index, tool=source.tool):
            key = str(item.details.get("key", ""))
            echo = _in_query(key, query_key)
            confidence = item.confidence * (ECHO_FACTOR if echo else 1.0)
            if confidence < min_confidence:
                continue
            details = dict(item.details)
            details.update(from_search=hit.url, rank=hit.rank, query=query, in_query=echo, gazetteer=item.provenance)
            found = item.model_copy(
                update={"confidence": round(confidence, 4), "source": source, "provenance": hit.url, "details": details}
            )
            if key not in merged:
                merged[key] = (found, [hit.url])
                continue
            best, urls = merged[key]
            if canonical_url(hit.url) not in {canonical_url(u) for u in urls}:
                urls.append(hit.url)
            if found.confidence > best.confidence:
                merged[key] = (found, urls)
    out = []
    for best, urls in merged.values():
        lift = 1.0 + 0.1 * min(len(urls) - 1, 3)
        details = {**best.details, "search_urls": urls, "mentions": len(urls)}
        confidence = round(min(PLACE_CAP, best.confidence * lift), 4)
        out.append(best.model_copy(update={"confidence": confidence, "details": details}))
    out.sort(key=lambda e: -e.confidence)
    return out


def hits_to_evidence(
    hits: list[SearchHit],
    *,
    query: str,
    index: Any | None = None,
    tool: str = "web_search",
    arguments: dict[str, Any] | None = None,
) -> list[Evidence]:
    """All evidence from one query's hits: a ``search_hit`` per hit, then the
    ``place_name`` evidence of the names they mention (when a place ``index`` is given).

    Pure and offline: a trace that recorded the hits rebuilds the same evidence.
    """
    source = ToolSource(tool=tool, arguments=arguments if arguments is not None else {"query": query})
    found = [hit_evidence(hit, query=query, source=source) for hit in hits]
    if index is not None:
        found += hit_place_evidence(hits, query=query, index=index, source=source)
    return found
