"""Small OpenStreetMap extracts written with pyosmium, for the local index tests.

Each builder lists nodes, ways and multipolygon relations the way OSM stores them
(ids, tags, node references) and writes a real .osm.pbf (or .osm XML) file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

RUA_AUGUSTA_LISBON = [(38.70850, -9.13660), (38.70990, -9.13710), (38.71130, -9.13760), (38.71270, -9.13810)]
RUA_AUGUSTA_SAO_PAULO = [(-23.55500, -46.65600), (-23.55750, -46.65900), (-23.56000, -46.66200)]


@dataclass
class Extract:
    """An extract under construction: add nodes, ways and relations, then write it."""

    nodes: list[tuple[int, float, float, dict[str, str]]] = field(default_factory=list)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]] = field(default_factory=list)
    next_id: int = 1000

    def node(self, lat: float, lon: float, **tags: str) -> int:
        self.next_id += 1
        self.nodes.append((self.next_id, lat, lon, tags))
        return self.next_id

    def way(self, points: list[tuple[float, float]], *, closed: bool = False, **tags: str) -> int:
        refs = [self.node(lat, lon) for lat, lon in points]
        if closed:
            refs.append(refs[0])
        self.next_id += 1
        self.ways.append((self.next_id, refs, tags))
        return self.next_id

    def multipolygon(self, outer: list[tuple[float, float]], inner: list[tuple[float, float]], **tags: str) -> int:
        outer_way = self.way(outer, closed=True)
        inner_way = self.way(inner, closed=True)
        self.next_id += 1
        members = [("w", outer_way, "outer"), ("w", inner_way, "inner")]
        self.relations.append((self.next_id, members, {"type": "multipolygon", **tags}))
        return self.next_id

    def write(self, path: Path) -> Path:
        import osmium
        from osmium.osm.mutable import Node, Relation, Way

        if path.exists():
            path.unlink()
        writer = osmium.SimpleWriter(str(path))
        try:
            for node_id, lat, lon, tags in sorted(self.nodes):
                writer.add_node(Node(id=node_id, location=(lon, lat), tags=tags, version=1))
            for way_id, refs, tags in sorted(self.ways):
                writer.add_way(Way(id=way_id, nodes=refs, tags=tags, version=1))
            for rel_id, members, tags in sorted(self.relations):
                writer.add_relation(Relation(id=rel_id, members=members, tags=tags, version=1))
        finally:
            writer.close()
        return path


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point ``north_m`` / ``east_m`` metres from (lat, lon)."""
    dlat = north_m / 111_320.0
    dlon = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 7), round(lon + dlon, 7)


def square(lat: float, lon: float, half_m: float) -> list[tuple[float, float]]:
    return [
        offset(lat, lon, -half_m, -half_m),
        offset(lat, lon, -half_m, half_m),
        offset(lat, lon, half_m, half_m),
        offset(lat, lon, half_m, -half_m),
    ]


def lisbon_extract(path: Path) -> Path:
    """Rua Augusta in Lisbon where it is, a street of the same name in São Paulo (a decoy),
    and a few neighbours in both cities."""
    e = Extract()
    e.way(RUA_AUGUSTA_LISBON, highway="pedestrian", name="Rua Augusta")
    e.way([(38.7105, -9.1405), (38.7120, -9.1400)], highway="residential", name="Rua do Ouro")
    e.node(38.7108, -9.1372, shop="pastry", name="Pastelaria Central")
    e.node(38.7138, -9.1395, amenity="pharmacy", name="Farmácia Estácio")
    e.way(RUA_AUGUSTA_SAO_PAULO, highway="secondary", name="Rua Augusta")
    e.node(-23.5560, -46.6570, amenity="cafe", name="Café Augusta")
    return e.write(path)


def cluster_extract(path: Path, *, move_m: float = 0.0) -> Path:
    """A planted cluster (a pharmacy, a bus stop and a cafe within ~60 m) in a field of
    features that never come together; ``move_m`` moves the cafe that far east."""
    e = Extract()
    base = (48.1000, 11.5000)
    e.node(*offset(*base, 0, 0), amenity="pharmacy", name="Apotheke am Platz")
    e.node(*offset(*base, 40, 10), highway="bus_stop", name="Platz")
    e.node(*offset(*base, 20, 50 + move_m), amenity="cafe", name="Café Eck")
    # more of each kind, each at least 600 m from any other kind
    for i in range(4):
        e.node(*offset(*base, 1500 + 700 * i, 0), amenity="pharmacy")
        e.node(*offset(*base, -1500 - 700 * i, 0), highway="bus_stop")
        e.node(*offset(*base, 0, 1500 + 700 * i), amenity="cafe")
    e.way([offset(*base, -200, -300), offset(*base, 200, -300)], highway="residential", name="Hauptstraße")
    e.multipolygon(
        square(*offset(*base, 300, 300), 80), square(*offset(*base, 300, 300), 20), leisure="park", name="Eckpark"
    )
    return e.write(path)
