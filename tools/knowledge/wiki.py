"""``wiki_lookup``: Wikipedia and Wikidata facts about an entity or a place, and the
named landmarks near a point.

Level-2 questions hop from a place to a fact ("an emperor of this country ... in that
year"): the country and administrative parents of a landmark, when something was
founded, who the head of state is. Three calls of the public APIs answer most hops:

* MediaWiki Action API ``action=query&prop=extracts|coordinates|pageprops`` (the lead
  summary, the page's coordinates and its Wikidata id), with ``list=search`` when the
  title is not exact; https://www.mediawiki.org/wiki/API:Query
* Wikidata ``action=wbgetentities`` (claims, then the labels of the items they name);
  https://www.wikidata.org/wiki/Wikidata:Data_access
* ``list=geosearch`` for pages around a point; https://www.mediawiki.org/wiki/API:Geosearch

Every fact is evidence citing the page or item URL; coordinates become a ``geo``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote as url_quote

from pydantic import BaseModel, Field, model_validator

from ..base import GeoTool
from ..errors import ConfigError
from ..evidence import Evidence, GeoRef, Observation, ToolSource
from ..hints import country_code
from ..net import BadResponseError, NetError
from .quoting import quote
from .settings import KnowledgeSettings

WIKIDATA_API = "https://www.wikidata.org/w/api.php"
#: The properties a Level-2 hop usually needs, with the names a model reads.
PROPERTIES = {
    "P31": "instance of",
    "P17": "country",
    "P131": "located in",
    "P625": "coordinates",
    "P571": "inception",
    "P576": "dissolved",
    "P1619": "opened",
    "P36": "capital",
    "P35": "head of state",
    "P6": "head of government",
    "P38": "currency",
    "P1082": "population",
    "P138": "named after",
    "P84": "architect",
    "P2044": "elevation (m)",
}
ITEM_TYPES = frozenset({"wikibase-entityid"})


class WikiLookupArgs(BaseModel):
    title: str | None = Field(
        default=None, max_length=300, description="An entity or place: 'Tokyo Tower', 'Emperor Akihito'."
    )
    lat: float | None = Field(default=None, ge=-90, le=90, description="With lon: list Wikipedia pages near here.")
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int = Field(default=5000, ge=10, le=10000, description="Geosearch radius in metres (max 10 km).")
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[a-z]+)?$", description="Wikipedia language.")

    @model_validator(mode="after")
    def _one_of(self) -> WikiLookupArgs:
        if not self.title and (self.lat is None or self.lon is None):
            raise ValueError("give a title, or lat and lon for a geosearch")
        return self


def _time_value(value: dict[str, Any]) -> str:
    """A Wikidata time as the date its precision supports (year, month or day)."""
    raw = str(value.get("time", ""))
    sign = "-" if raw.startswith("-") else ""
    body = raw.lstrip("+-")
    precision = int(value.get("precision", 11))
    date = body.split("T", 1)[0]
    year, _, rest = date.partition("-")
    if precision <= 9:
        return f"{sign}{year.lstrip('0') or '0'}"
    if precision == 10:
        return f"{sign}{year.lstrip('0')}-{rest[:2]}"
    return f"{sign}{year.lstrip('0')}-{rest}"


def _claim_values(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The datavalues of a property's statements, preferred rank first, deprecated ones dropped."""
    ranked = sorted(
        (c for c in claims if isinstance(c, dict) and c.get("rank") != "deprecated"),
        key=lambda c: 0 if c.get("rank") == "preferred" else 1,
    )
    out = []
    for claim in ranked:
        snak = claim.get("mainsnak") or {}
        if snak.get("snaktype") == "value" and isinstance(snak.get("datavalue"), dict):
            out.append(snak["datavalue"])
    return out


class WikiLookupTool(GeoTool):
    name: str = "wiki_lookup"
    description: str = (
        "Look up an entity or place on Wikipedia and Wikidata: summary, coordinates, country, administrative "
        "parents, inception and other facts, each citing its page; or, with lat/lon, the Wikipedia pages of "
        "landmarks near a point."
    )
    args_schema: type[BaseModel] = WikiLookupArgs
    kind: ClassVar[str] = "knowledge"
    online: ClassVar[bool] = True
    settings_model: ClassVar[type[BaseModel] | None] = KnowledgeSettings

    # ------------------------------------------------------------------ endpoints
    def _lang(self, lang: str | None) -> str:
        return lang or str(self.ctx.settings.get("wiki_lang") or "en")

    def _wikipedia(self, lang: str) -> str:
        return str(self.ctx.settings.get("wikipedia_api_url") or f"https://{lang}.wikipedia.org/w/api.php")

    def _wikidata(self) -> str:
        return str(self.ctx.settings.get("wikidata_api_url") or WIKIDATA_API)

    def _get(self, url: str, params: dict[str, Any], service: str) -> dict[str, Any]:
        result = self.ctx.net().get_json(url, params={**params, "format": "json"}, service=service)
        payload = result.data
        if not isinstance(payload, dict):
            raise BadResponseError(f"{service}: answer is not a JSON object")
        if isinstance(payload.get("error"), dict):
            error = payload["error"]
            raise NetError(f"{service}: {error.get('code', 'error')}: {error.get('info', '')}")
        return payload

    @staticmethod
    def page_url(api: str, lang: str, title: str) -> str:
        base = api.rsplit("/w/api.php", 1)[0] if "/w/api.php" in api else f"https://{lang}.wikipedia.org"
        return f"{base}/wiki/{url_quote(title.replace(' ', '_'))}"

    # ------------------------------------------------------------------ lookups
    def _page(self, title: str, lang: str) -> dict[str, Any] | None:
        api = self._wikipedia(lang)
        params = {
            "action": "query",
            "formatversion": 2,
            "prop": "extracts|coordinates|pageprops",
            "exintro": 1,
            "explaintext": 1,
            "exsentences": 6,
            "redirects": 1,
            "titles": title,
        }
        pages = (self._get(api, params, "wikipedia").get("query") or {}).get("pages") or []
        page = next((p for p in pages if isinstance(p, dict) and not p.get("missing") and not p.get("invalid")), None)
        if page is not None:
            return page
        found = self._get(
            api,
            {"action": "query", "formatversion": 2, "list": "search", "srsearch": title, "srlimit": 1},
            "wikipedia",
        )
        hits = (found.get("query") or {}).get("search") or []
        if not hits or not isinstance(hits[0], dict) or not hits[0].get("title"):
            return None
        pages = (self._get(api, {**params, "titles": hits[0]["title"]}, "wikipedia").get("query") or {}).get("pages")
        return next((p for p in pages or [] if isinstance(p, dict) and not p.get("missing")), None)

    def _entities(self, ids: list[str], props: str) -> dict[str, Any]:
        if not ids:
            return {}
        params = {"action": "wbgetentities", "ids": "|".join(ids[:50]), "props": props, "languages": "en"}
        entities = self._get(self._wikidata(), params, "wikidata").get("entities")
        if not isinstance(entities, dict):
            raise BadResponseError("wikidata: no 'entities' in the answer")
        return entities

    def _facts(self, qid: str) -> tuple[dict[str, list[str]], GeoRef | None, str]:
        entity = self._entities([qid], "labels|descriptions|claims").get(qid) or {}
        claims = entity.get("claims") or {}
        wanted = {p: _claim_values(claims.get(p) or []) for p in PROPERTIES if claims.get(p)}
        refs = sorted({v["value"]["id"] for vs in wanted.values() for v in vs[:5] if v.get("type") in ITEM_TYPES})
        labels = self._entities(refs, "labels")
        facts: dict[str, list[str]] = {}
        geo = None
        for prop, values in wanted.items():
            shown = []
            for value in values[:5]:
                kind, inner = value.get("type"), value.get("value")
                if kind in ITEM_TYPES and isinstance(inner, dict):
                    label = ((labels.get(inner.get("id")) or {}).get("labels") or {}).get("en", {}).get("value")
                    shown.append(label or str(inner.get("id")))
                elif kind == "time" and isinstance(inner, dict):
                    shown.append(_time_value(inner))
                elif kind == "globecoordinate" and isinstance(inner, dict):
                    geo = geo or GeoRef(lat=float(inner["latitude"]), lon=float(inner["longitude"]))
                    shown.append(f"{float(inner['latitude']):.5f}, {float(inner['longitude']):.5f}")
                elif kind == "quantity" and isinstance(inner, dict):
                    shown.append(str(inner.get("amount", "")).lstrip("+"))
                elif isinstance(inner, (str, int, float)):
                    shown.append(str(inner))
            if shown:
                facts[PROPERTIES[prop]] = shown
        label = ((entity.get("labels") or {}).get("en") or {}).get("value") or qid
        return facts, geo, label

    # ------------------------------------------------------------------ tool
    def execute(
        self,
        title: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        radius_m: int = 5000,
        lang: str | None = None,
    ) -> Observation:
        arguments = {"title": title, "lat": lat, "lon": lon, "radius_m": radius_m, "lang": lang}
        source = ToolSource(tool=self.name, arguments=arguments)
        language = self._lang(lang)
        try:
            if title:
                return self._entity(title.strip(), language, source)
            return self._near(float(lat), float(lon), radius_m, language, source)  # type: ignore[arg-type]
        except NetError as exc:
            kind = getattr(exc, "kind", "error")
            kind = "network" if kind == "error" else kind
            return Observation(error=f"{kind}: {exc}", text=f"wiki_lookup failed: {kind}: {exc}", data=arguments)
        except (KeyError, TypeError, ValueError) as exc:
            error = f"bad_response: unexpected answer shape ({type(exc).__name__}: {exc})"
            return Observation(error=error, text=f"wiki_lookup failed: {error}", data=arguments)

    def _entity(self, title: str, lang: str, source: ToolSource) -> Observation:
        page = self._page(title, lang)
        if page is None:
            return Observation(text=f"wiki_lookup: no Wikipedia page for {title!r}", data={"title": title})
        name = str(page.get("title") or title)
        url = self.page_url(self._wikipedia(lang), lang, name)
        extract = str(page.get("extract") or "").strip()
        coords = page.get("coordinates") or []
        geo = None
        if coords and isinstance(coords[0], dict):
            geo = GeoRef(lat=float(coords[0]["lat"]), lon=float(coords[0]["lon"]))
        qid = (page.get("pageprops") or {}).get("wikibase_item")
        facts: dict[str, list[str]] = {}
        if qid:
            facts, wd_geo, _ = self._facts(str(qid))
            geo = geo or wd_geo
        evidence = []
        if extract:
            evidence.append(
                Evidence(
                    kind="wiki_summary",
                    value=extract[:600],
                    confidence=0.6,
                    source=source,
                    provenance=url,
                    geo=geo,
                    details={"title": name, "wikidata": qid},
                )
            )
        countries = None
        for country in facts.get("country", [])[:1]:
            try:
                countries = {country_code(country): 1.0}
            except ConfigError:
                countries = None
        item_url = f"https://www.wikidata.org/wiki/{qid}" if qid else url
        for label, values in facts.items():
            evidence.append(
                Evidence(
                    kind="wiki_fact",
                    value=f"{name}: {label}: {'; '.join(values)}",
                    confidence=0.7,
                    source=source,
                    provenance=item_url,
                    geo=geo if label == "coordinates" else None,
                    countries=countries if label == "country" else None,
                    details={"entity": name, "property": label, "values": values, "wikidata": qid},
                )
            )
        lines = [f"{name} — {url}" + (f" (Wikidata {qid})" if qid else "")]
        if geo is not None:
            lines.append(f"coordinates: {geo.lat:.5f}, {geo.lon:.5f}")
        lines += [f"{label}: {'; '.join(values)}" for label, values in facts.items() if label != "coordinates"]
        if extract:
            lines.append(quote(extract[:1200], f"Wikipedia's article {name!r}"))
        data = {"title": name, "url": url, "wikidata": qid, "facts": facts, "extract": extract[:1200]}
        if geo is not None:
            data["coordinates"] = [geo.lat, geo.lon]
        return Observation(text="\n".join(lines), evidence=evidence, data=data)

    def _near(self, lat: float, lon: float, radius_m: int, lang: str, source: ToolSource) -> Observation:
        api = self._wikipedia(lang)
        params = {
            "action": "query",
            "list": "geosearch",
            "gscoord": f"{lat}|{lon}",
            "gsradius": radius_m,
            "gslimit": 15,
        }
        found = (self._get(api, params, "wikipedia").get("query") or {}).get("geosearch")
        if not isinstance(found, list):
            raise BadResponseError("wikipedia: no 'geosearch' list in the answer")
        evidence, lines, rows = [], [f"Wikipedia pages within {radius_m} m of {lat:.5f}, {lon:.5f}:"], []
        for item in found:
            if not isinstance(item, dict) or "title" not in item:
                continue
            url = self.page_url(api, lang, str(item["title"]))
            dist = float(item.get("dist", 0.0))
            rows.append({"title": item["title"], "lat": item["lat"], "lon": item["lon"], "dist_m": dist, "url": url})
            lines.append(f"- {item['title']} ({dist:.0f} m) {url}")
            evidence.append(
                Evidence(
                    kind="landmark",
                    value=str(item["title"]),
                    confidence=0.4,
                    source=source,
                    provenance=url,
                    geo=GeoRef(lat=float(item["lat"]), lon=float(item["lon"]), radius_km=0.2),
                    details={"distance_m": dist},
                )
            )
        if not rows:
            lines = [f"no Wikipedia pages within {radius_m} m of {lat:.5f}, {lon:.5f}"]
        return Observation(text="\n".join(lines), evidence=evidence, data={"pages": rows})
