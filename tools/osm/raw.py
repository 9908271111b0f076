"""Raw Overpass QL written by a model: refused by default, otherwise checked and rebuilt.

Only when a run sets ``osm_allow_raw``. The query is tokenized as the server would read
it (so a comment or a string cannot hide anything), and rebuilt from its tokens under the
same guards as structured queries: one ``[out:json]`` header with a timeout and maxsize no
larger than the limits, no other output format or diff mode, every query statement
bounded by a bbox/around/id filter or an input set (areas checked against the size
limits), no block statements, and every ``out`` capped at the result limit.
"""

from __future__ import annotations

from ..errors import describe_validation_error
from .ql import OsmQueryError, QLToken, join_tokens, ql_string, tokenize_ql
from .query import DEFAULT_LIMITS, BBox, CompiledQuery, QueryLimits, check_area

QUERY_STATEMENTS = frozenset({"node", "way", "rel", "relation", "nwr", "nw", "nr", "wr", "area"})
#: Besides query statements. Block statements (foreach, if, complete, for) are refused:
#: the statements inside them would escape the per-statement checks.
OTHER_STATEMENTS = frozenset({"out", "is_in", "map_to_area", "make", "convert"})
SETTINGS = frozenset({"out", "timeout", "maxsize", "bbox", "date"})
_REFUSED_SETTINGS = frozenset({"diff", "adiff", "csv", "xml", "popup", "custom", "timeout", "maxsize", "out"})
_RECURSIONS = frozenset({"<", "<<", ">", ">>"})
_BOUNDING_FILTERS = frozenset({"around", "id", "w", "r", "bn", "bw", "br", "n", "pivot"})


def _take_setting(tokens: list[QLToken], i: int) -> tuple[str, list[QLToken], int]:
    """Read ``[name:value]`` starting at tokens[i] == '['; returns (name, value tokens, next index)."""
    if i + 2 >= len(tokens) or tokens[i + 1].kind != "word" or tokens[i + 2].text != ":":
        raise OsmQueryError("malformed settings block")
    name = tokens[i + 1].text
    j = i + 3
    value: list[QLToken] = []
    depth = 0
    while j < len(tokens) and not (tokens[j].text == "]" and depth == 0):
        depth += tokens[j].text == "("
        depth -= tokens[j].text == ")"
        value.append(tokens[j])
        j += 1
    if j >= len(tokens):
        raise OsmQueryError("unterminated settings block")
    return name, value, j + 1


def _bbox_from(tokens: list[QLToken]) -> BBox | None:
    """A bbox from tokens 'S , W , N , E' (None when they are not exactly that)."""
    if len(tokens) != 7 or any(tokens[k].text != "," for k in (1, 3, 5)):
        return None
    if any(tokens[k].kind != "number" for k in (0, 2, 4, 6)):
        return None
    try:
        return BBox.model_validate([float(tokens[k].text) for k in (0, 2, 4, 6)])
    except ValueError as exc:
        raise OsmQueryError(f"invalid bbox in raw query: {describe_validation_error(exc)}") from None


def _group(tokens: list[QLToken], i: int, open_: str, close: str) -> int:
    """Index just after the bracket group opening at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == open_:
            depth += 1
        elif tokens[j].text == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise OsmQueryError(f"unbalanced '{open_}' in raw query")


def _check_query_statement(tokens: list[QLToken], start: int, end: int, limits: QueryLimits, global_bbox: bool) -> None:
    """A query statement tokens[start:end] must be bounded: an input set, a bbox, an
    around, id or recursion filter, or a global [bbox:] setting; areas are size-checked."""
    bounded = global_bbox
    i = start + 1
    if i < end and tokens[i].text == "." and i + 1 < end and tokens[i + 1].kind == "word":
        bounded = True  # node.set: a subset of an existing set
        i += 2
    while i < end:
        tok = tokens[i]
        if tok.text == "[":
            i = _group(tokens, i, "[", "]")
            continue
        if tok.text == "(":
            close = _group(tokens, i, "(", ")")
            inner = tokens[i + 1 : close - 1]
            box = _bbox_from(inner)
            if box is not None:
                check_area(box, limits)
                bounded = True
            elif inner and inner[0].kind == "number" and len(inner) == 1:
                bounded = True  # (123): one id
            elif inner and inner[0].kind == "word" and inner[0].text in _BOUNDING_FILTERS:
                if inner[0].text == "around":
                    radius = next((t for t in inner if t.kind == "number"), None)
                    if radius is None:
                        raise OsmQueryError("around filter without a radius")
                    if float(radius.text) > limits.max_radius_m:
                        raise OsmQueryError(
                            f"around radius {float(radius.text):,.0f} m is over the {limits.max_radius_m:,.0f} m limit"
                        )
                bounded = True
            elif inner and inner[0].kind == "word" and inner[0].text == "poly":
                raise OsmQueryError("poly filters are not accepted in raw queries; use a bbox or around filter")
            i = close
            continue
        i += 1
    if not bounded:
        text = join_tokens(tokens[start:end]).strip()
        raise OsmQueryError(f"unbounded statement '{text[:80]}': add a bbox or around filter")


def _limit_out(tokens: list[QLToken], start: int, end: int, limit: int) -> list[QLToken]:
    """The out statement tokens[start:end] with its count set to at most ``limit``."""
    stmt = list(tokens[start:end])
    depth = 0
    for k, tok in enumerate(stmt):
        depth += tok.text == "("
        depth -= tok.text == ")"
        if depth == 0 and tok.kind == "number":
            if float(tok.text) > limit or "." in tok.text or tok.text.startswith("-"):
                stmt[k] = QLToken("number", str(limit), str(limit))
            return stmt
    return [*stmt, QLToken("number", str(limit), str(limit))]


def validate_raw_ql(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> CompiledQuery:
    """Check and rebuild Overpass QL written by a model; only when ``limits.allow_raw``.

    The query is tokenized (comments dropped), its settings replaced by one header with
    ``[out:json]`` and a timeout and maxsize no larger than the limits (only ``bbox`` and
    ``date`` settings are kept), other output formats and diff modes refused, every
    query statement required to be bounded (bbox/around/id filter, input set, or a
    global bbox) with its area checked, every ``out`` given a count no larger than the
    result limit, and the query serialised again from its tokens.
    """
    if not limits.allow_raw:
        raise OsmQueryError("raw Overpass QL is switched off (set osm_allow_raw=True); use a structured query")
    if len(text) > limits.max_raw_chars:
        raise OsmQueryError(f"raw query is {len(text)} characters, over the {limits.max_raw_chars} limit")
    tokens = tokenize_ql(text)
    if not tokens:
        raise OsmQueryError("raw query is empty")
    limit = limits.result_limit(None)
    timeout, maxsize = int(limits.timeout_s), int(limits.maxsize_bytes)
    kept: list[str] = []
    global_bbox = False
    i = 0
    while i < len(tokens) and tokens[i].text == "[":
        name, value, i = _take_setting(tokens, i)
        if name not in SETTINGS:
            raise OsmQueryError(f"setting [{name}:...] is not allowed in raw queries")
        if name == "out":
            if [t.text for t in value] != ["json"]:
                raise OsmQueryError(f"output format [out:{join_tokens(value).strip()}] is not allowed; only json")
        elif name in ("timeout", "maxsize"):
            if len(value) != 1 or value[0].kind != "number":
                raise OsmQueryError(f"[{name}:...] must be a number")
            number = int(float(value[0].text))
            if name == "timeout":
                timeout = max(1, min(timeout, number))
            else:
                maxsize = max(1, min(maxsize, number))
        elif name == "bbox":
            box = _bbox_from(value)
            if box is None:
                raise OsmQueryError("[bbox:...] must be south,west,north,east")
            check_area(box, limits)
            global_bbox = True
            kept.append(f"[bbox:{box.ql()[1:-1]}]")
        else:  # date
            if len(value) != 1 or value[0].kind != "string":
                raise OsmQueryError("[date:...] must be a quoted timestamp")
            kept.append(f"[date:{ql_string(value[0].value)}]")
    if i < len(tokens) and tokens[i].text == ";" and i > 0:
        i += 1
    body = tokens[i:]
    for k, tok in enumerate(body):
        if tok.kind == "word" and tok.text in ("csv", "xml", "diff", "adiff", "popup", "custom"):
            raise OsmQueryError(f"'{tok.text}' is not allowed in raw queries (JSON output only)")
        if (
            tok.text == "["
            and k + 2 < len(body)
            and body[k + 1].text in _REFUSED_SETTINGS | SETTINGS
            and body[k + 2].text == ":"
        ):
            raise OsmQueryError("settings are only allowed at the start of the query")
    out_tokens: list[QLToken] = []
    outs = 0
    k = 0
    expect_statement = True
    while k < len(body):
        tok = body[k]
        if expect_statement and tok.text in ("(", ")", ";"):
            out_tokens.append(tok)  # a union opens or closes; after ')' comes '->.set' or ';'
            expect_statement = tok.text != ")"
            k += 1
            continue
        if not expect_statement:
            # between a statement (or a union's ')') and the next: only ';', ')' or '->.set'
            if tok.text == "->" and k + 2 < len(body) and body[k + 1].text == "." and body[k + 2].kind == "word":
                out_tokens.extend(body[k : k + 3])
                k += 3
                continue
            if tok.text not in (";", ")"):
                raise OsmQueryError(f"unexpected '{tok.text}' in raw query: statements end with ';'")
            out_tokens.append(tok)
            expect_statement = tok.text == ";"
            k += 1
            continue
        # a statement starts here: it ends at ';' (or at the ')' closing its union)
        end = k
        depth = 0
        while end < len(body):
            text_ = body[end].text
            if text_ in ("(", "["):
                depth += 1
            elif text_ in (")", "]"):
                depth -= 1
            if depth == 0 and text_ == ";":
                break
            if depth < 0:
                break
            end += 1
        head = tok.text
        words = [t.text for t in body[k:end]]
        if head in QUERY_STATEMENTS:
            _check_query_statement(body, k, end, limits, global_bbox)
            out_tokens.extend(body[k:end])
        elif head == "out" or (head == "." and "out" in words[:3]):
            out_tokens.extend(_limit_out(body, k, end, limit))
            outs += 1
        elif head in OTHER_STATEMENTS or head in _RECURSIONS or head == ".":
            out_tokens.extend(body[k:end])
        else:
            raise OsmQueryError(f"statement '{head}' is not allowed in raw queries")
        k = end
        expect_statement = False
    if outs == 0:
        if out_tokens and out_tokens[-1].text != ";":
            out_tokens.append(QLToken("op", ";", ";"))
        out_tokens.extend(tokenize_ql(f"out center {limit};"))
    header = f"[out:json][timeout:{timeout}][maxsize:{maxsize}]" + "".join(kept) + ";"
    ql = header + "\n" + join_tokens(out_tokens)
    if len(tokenize_ql(ql)) < 3:
        raise OsmQueryError("raw query has no statements")
    return CompiledQuery(ql, "raw", limit, None)
