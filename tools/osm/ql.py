"""Overpass QL as text: the one escaping function, and a tokenizer that reads QL like the server.

Every value that comes from outside (tag keys and values, names, patterns) enters a query
through :func:`ql_string`, so no value can close its string literal and add a statement,
change the output format or widen the area; in regex contexts the regex metacharacters
are escaped too, so a pattern is matched literally. :func:`tokenize_ql` mirrors the
Overpass tokenizer (``src/expat/map_ql_input.cc`` and ``get_text_token`` in the Overpass
API sources: a backslash escapes the next character, comments and whitespace outside
literals are dropped), so tests and the raw-QL validator see a query as the server does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ..errors import GeoSleuthError


class OsmQueryError(GeoSleuthError, ValueError):
    """A query was refused before anything was sent: bad input, an area too large, unsafe raw QL."""

    kind = "bad_query"


# ---------------------------------------------------------------------------- escaping

#: POSIX extended regular expression metacharacters (Overpass compiles values with
#: ``regcomp(REG_EXTENDED)`` in a C.UTF-8 locale). A backslash before one makes it literal.
ERE_METACHARACTERS = frozenset("\\.[](){}*+?^$|")


def clean_value(value: str) -> str:
    """Drop characters a QL string literal cannot carry: control characters other than
    newline and tab (Overpass rejects ``\\u`` escapes below 0x20, and OSM itself rejects
    them in tag values) and lone surrogates (not encodable as UTF-8)."""
    return "".join(
        ch for ch in value if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch != "\x7f")
    )


def regex_escape(value: str) -> str:
    """``value`` as a POSIX ERE that matches exactly that text (metacharacters escaped)."""
    return "".join("\\" + ch if ch in ERE_METACHARACTERS else ch for ch in clean_value(value))


def ql_string(value: str, *, regex: bool = False) -> str:
    """The one way a value enters a query: a double-quoted Overpass QL string literal.

    Backslash, both quote characters, newline and tab are backslash-escaped the way the
    Overpass tokenizer reads them back, other control characters are dropped, so the
    literal always ends at the closing quote written here. With ``regex=True`` the
    value is first escaped as a literal regular expression (see :func:`regex_escape`),
    for ``~`` filters that must match the user's text, not interpret it.
    """
    text = regex_escape(value) if regex else clean_value(value)
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class QLToken:
    """One Overpass QL token: ``kind`` is word, number, string or op; ``value`` is a
    string literal's decoded content (the text the server matches against)."""

    kind: Literal["word", "number", "string", "op"]
    text: str
    value: str


_TWO_CHAR_OPS = frozenset({"->", "::", "==", "!=", "||", "&&", "<<", ">>"})
_C_SPACE = " \t\n\r\f\v"


def _decode_ql_string(token: str) -> str:
    """Decode a quoted literal as Overpass's ``get_text_token`` does: ``\\n``, ``\\t``,
    ``\\uXXXX``; any other escaped character stands for itself."""
    out: list[str] = []
    i, end = 1, len(token) - 1
    while i < end:
        ch = token[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = token[i + 1] if i + 1 < end else ""
        if nxt == "n":
            out.append("\n")
        elif nxt == "t":
            out.append("\t")
        elif nxt == "u":
            digits = re.match(r"[0-9a-fA-F]{1,4}", token[i + 2 : min(i + 6, end)])
            value = int(digits.group(0), 16) if digits else 0
            if value < 0x20:
                raise OsmQueryError("invalid \\u escape (value below 32) in a string literal")
            out.append(chr(value))
            i += 2 + (len(digits.group(0)) if digits else 0)
            continue
        else:
            out.append(nxt)
        i += 2
    return "".join(out)


def tokenize_ql(text: str) -> list[QLToken]:
    """Split Overpass QL into tokens the way the server does.

    Comments (``//`` to end of line, ``/* ... */``) and whitespace outside string
    literals are dropped; a string runs to the first unescaped matching quote (a
    backslash always escapes the next character). Raises :class:`OsmQueryError` on an
    unterminated string or comment.
    """
    tokens: list[QLToken] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _C_SPACE:
            i += 1
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise OsmQueryError("unterminated /* comment")
            i = close + 2
        elif ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise OsmQueryError("unterminated string literal")
            literal = text[i : j + 1]
            tokens.append(QLToken("string", literal, _decode_ql_string(literal)))
            i = j + 1
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(QLToken("word", text[i:j], text[i:j]))
            i = j
        elif (ch.isascii() and ch.isdigit()) or (
            ch == "-" and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")
        ):
            match = re.compile(r"-?[0-9]*(?:\.[0-9]*)?").match(text, i)
            assert match is not None
            j = max(match.end(), i + 1)
            tokens.append(QLToken("number", text[i:j], text[i:j]))
            i = j
        elif text[i : i + 2] in _TWO_CHAR_OPS:
            tokens.append(QLToken("op", text[i : i + 2], text[i : i + 2]))
            i += 2
        else:
            tokens.append(QLToken("op", ch, ch))
            i += 1
    return tokens


def query_shape(text: str) -> list[tuple[str, str | None]]:
    """The structure of a query: its tokens with every string literal blanked out.

    Two queries with the same shape differ only inside string literals, i.e. only in
    the values they match, never in statements, filters, settings or output.
    """
    return [(t.kind, None if t.kind == "string" else t.text) for t in tokenize_ql(text)]


def join_tokens(tokens: list[QLToken]) -> str:
    """Serialise tokens back to QL (a space only where two words or numbers would merge)."""
    out: list[str] = []
    prev: QLToken | None = None
    for tok in tokens:
        if prev is not None and prev.kind in ("word", "number") and tok.kind in ("word", "number"):
            out.append(" ")
        out.append(tok.text)
        if tok.text == ";":
            out.append("\n")
            prev = None
            continue
        prev = tok
    return "".join(out).strip() + "\n"
