"""A page's main text and the passages of it that answer a query.

The main text is extracted with ``trafilatura`` (boilerplate — menus, footers, cookie
banners — dropped); without it installed, a plain reading of the HTML's text nodes
(scripts and styles dropped) stands in. Passages are the text's paragraphs, scored by
how many of the query's words they contain (rare words count more), each returned with
its character offsets into the extracted text so a reader can find it again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from ..normalize import normalize

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be by for from has have in is it of on or that the this to was were what which who with "
    "how when where why did does do its their there".split()
)


class _TextOnly(HTMLParser):
    """Text nodes of an HTML page, without scripts, styles and templates."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skipping:
            self.parts.append(data)


def _plain(html: str) -> tuple[str, str]:
    parser = _TextOnly()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line), " ".join(parser.title.split())


def extract_main_text(html: str, content_type: str = "text/html") -> tuple[str, str, str]:
    """``(text, title, extractor)`` of a page; plain text passes through as it is."""
    if "html" not in content_type.lower() and "<html" not in html[:2000].lower():
        return html.strip(), "", "plain"
    title = _plain(html[:200_000])[1]
    try:
        import trafilatura
    except ImportError:
        text, title = _plain(html)
        return text, title, "html.parser"
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    if not text:
        text, title = _plain(html)
        return text, title, "html.parser"
    return text.strip(), title, "trafilatura"


@dataclass(frozen=True)
class Passage:
    text: str
    start: int
    end: int
    score: float


def _paragraphs(text: str, max_len: int = 700) -> list[tuple[int, int]]:
    """Spans of the text's paragraphs; long ones are cut at sentence ends."""
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        while end - start > max_len:
            cut = text.rfind(". ", start, start + max_len)
            cut = cut + 1 if cut > start else start + max_len
            spans.append((start, cut))
            start = cut
            while start < end and text[start] == " ":
                start += 1
        if end > start:
            spans.append((start, end))
    return spans


def query_terms(query: str) -> list[str]:
    return [w for w in _WORD.findall(normalize(query)) if w not in _STOP and (len(w) > 1 or w.isdigit())]


def find_passages(text: str, query: str | None, *, limit: int = 5) -> list[Passage]:
    """The paragraphs that best match ``query`` (all terms weighted by rarity in the
    page), best first; without a query, the first paragraphs."""
    spans = _paragraphs(text)
    if not spans:
        return []
    terms = query_terms(query or "")
    if not terms:
        return [Passage(text[s:e], s, e, 0.0) for s, e in spans[:limit]]
    words = [set(_WORD.findall(normalize(text[s:e]))) for s, e in spans]
    weight = {}
    for term in set(terms):
        seen = sum(1 for w in words if term in w)
        weight[term] = math.log(1 + len(spans) / (1 + seen)) if seen else 0.0
    scored = []
    for (s, e), found in zip(spans, words):
        score = sum(weight[t] for t in set(terms) if t in found)
        if score > 0:
            scored.append(Passage(text[s:e], s, e, round(score, 4)))
    return sorted(scored, key=lambda p: (-p.score, p.start))[:limit]
