"""The static geography the map draws: the shipped outline GeoJSON and municipality seats from the gazetteer.

Both are read from files inside the installed packages, once per process; nothing comes from the network.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Place:
    name: str  # the municipality's name, shown as the label
    lat: float
    lon: float
    population: int  # of the place the label sits on, the municipality's most populous


@cache
def load_outline() -> dict[str, Any]:
    """NL and clipped neighbours, from scripts/build_nl_outline.py (Natural Earth, public domain)."""
    path = resources.files("dashboard") / "data" / "nl_outline.geojson"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def load_places() -> tuple[Place, ...]:
    """One label point per municipality, at its most populous place, largest first."""
    path = resources.files("streams") / "data" / "gazetteer_nl.csv"
    best: dict[str, Place] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        for row in csv.DictReader(lines):
            municipality = (row.get("municipality") or "").strip()
            try:
                place = Place(municipality, float(row["lat"]), float(row["lon"]), int(row["population"]))
            except (KeyError, TypeError, ValueError):
                continue
            current = best.get(municipality)
            if municipality and (current is None or place.population > current.population):
                best[municipality] = place
    return tuple(sorted(best.values(), key=lambda p: -p.population))
