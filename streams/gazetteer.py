"""Offline gazetteer of Dutch places (GeoNames, >= 1000 inhabitants).

The CSV is read once, on first use. ``municipality_of`` sits on the hot path of the enrichment stage (one call
per geotagged post at 25,000 posts/s), so it answers from a precomputed grid in pure Python: a numpy call has
several microseconds of fixed overhead, more than the whole lookup costs here (~1 µs; the grid takes ~0.1 s
to build on first use).

Municipalities are those of the GeoNames data (2015 boundaries): Haren is still its own municipality, not yet
merged into Groningen (2019).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from geopy.distance import great_circle

DATA = Path(__file__).with_name("data") / "gazetteer_nl.csv"

# A coordinate further than this from every place belongs to no municipality we know (sea, abroad).
MUNICIPALITY_RADIUS_KM = 15.0

_EARTH_KM = 6371.0088  # mean radius, the one geopy's great_circle uses
_KM_PER_DEG = _EARTH_KM * math.pi / 180.0
# Grid cells of about 4 x 4 km: small enough that most cells have only a few candidate places.
_CELL_LAT = 0.036
_CELL_LON = 0.06


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    variants: tuple[str, ...]
    lat: float
    lon: float
    population: int
    province: str
    municipality: str


@cache
def places() -> tuple[Place, ...]:
    """All places, most populous first (the order of the CSV)."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
        if not first.startswith("#"):
            # No provenance comment: the first line is already the header.
            handle.seek(0)
        rows = csv.DictReader(handle)
        return tuple(
            Place(
                name=row["name"].strip(),
                variants=tuple(v.strip() for v in row["variants"].split("|") if v.strip()),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                population=int(row["population"]),
                province=row["province"].strip(),
                municipality=row["municipality"].strip(),
            )
            for row in rows
        )


@cache
def _by_name() -> dict[str, Place]:
    index: dict[str, Place] = {}
    for place in places():
        for label in (place.name, *place.variants):
            key = label.casefold()
            known = index.get(key)
            # Several places share a name (two Hengelos, two Rijswijks): the bigger one is what people mean.
            if known is None or place.population > known.population:
                index[key] = place
    return index


def find(name: str) -> Place | None:
    """The place called ``name`` (case-insensitive, name or variant); the most populous one if several."""
    return _by_name().get(name.strip().casefold())


def distance_km(a: Place, b: Place) -> float:
    return float(great_circle((a.lat, a.lon), (b.lat, b.lon)).km)


def nearby(place: Place, km: float = 20.0, limit: int = 10) -> list[Place]:
    """Other places within ``km`` of ``place``, nearest first, at most ``limit``."""
    # A cheap box test first: great_circle costs ~10 µs, and most of the country is far away.
    dlat = km / _KM_PER_DEG
    dlon = dlat / max(math.cos(math.radians(place.lat)), 0.01)
    found: list[tuple[float, int, Place]] = []
    for order, other in enumerate(places()):
        if other is place or abs(other.lat - place.lat) > dlat or abs(other.lon - place.lon) > dlon:
            continue
        d = distance_km(place, other)
        if d <= km:
            found.append((d, order, other))
    found.sort(key=lambda item: (item[0], item[1]))
    return [other for _, _, other in found[:limit]]


class _Grid:
    """Candidate places per grid cell, pruned so that a lookup only compares a handful of distances.

    For each cell, a place is kept only if it can be the nearest place within the radius for *some* point of
    the cell: its smallest distance to the cell must not exceed the radius, nor the largest distance from the
    cell to the place that is closest in the worst case.
    """

    def __init__(self, all_places: tuple[Place, ...], radius_km: float) -> None:
        lats = np.array([p.lat for p in all_places])
        lons = np.array([p.lon for p in all_places])
        margin_lat = radius_km / _KM_PER_DEG
        margin_lon = margin_lat / math.cos(math.radians(float(lats.max()) + margin_lat))
        self.lat0 = float(lats.min()) - margin_lat
        self.lon0 = float(lons.min()) - margin_lon
        self.rows = math.ceil((float(lats.max()) + margin_lat - self.lat0) / _CELL_LAT)
        self.cols = math.ceil((float(lons.max()) + margin_lon - self.lon0) / _CELL_LON)
        self.radius2 = (radius_km / _KM_PER_DEG) ** 2
        self.cells: list[tuple[tuple[float, float, str], ...] | None] = [None] * (self.rows * self.cols)
        rad = radius_km / _KM_PER_DEG
        lon_lo = self.lon0 + np.arange(self.cols)[:, None] * _CELL_LON  # one row per column of cells
        lon_hi = lon_lo + _CELL_LON
        for r in range(self.rows):
            lat_lo = self.lat0 + r * _CELL_LAT
            lat_hi = lat_lo + _CELL_LAT
            dy_min = np.maximum(np.maximum(lat_lo - lats, lats - lat_hi), 0.0)
            band = np.flatnonzero(dy_min <= rad * 1.01)  # ascending, so still most populous first
            if band.size == 0:
                continue
            blat, blon, dy_min = lats[band], lons[band], dy_min[band]
            dy_max = np.maximum(np.abs(blat - lat_lo), np.abs(blat - lat_hi))
            # Equirectangular distances in degrees of latitude; the cosine varies by < 0.1 % across a cell,
            # and the pruning bound below is widened to cover that.
            k = math.cos(math.radians(lat_lo + _CELL_LAT / 2))
            d_min = np.hypot(np.maximum(np.maximum(lon_lo - blon, blon - lon_hi), 0.0) * k, dy_min)
            d_max = np.hypot(np.maximum(np.abs(blon - lon_lo), np.abs(blon - lon_hi)) * k, dy_max)
            near = d_min <= rad * 1.01
            worst = np.where(near, d_max, np.inf).min(axis=1)
            keep = near & (d_min <= (np.minimum(worst, rad) * 1.01 + 1e-4)[:, None])
            for c in np.flatnonzero(keep.any(axis=1)):
                # Most populous first, so that on an exact tie the bigger place wins, as in find().
                self.cells[r * self.cols + int(c)] = tuple(
                    (all_places[i].lat, all_places[i].lon, all_places[i].municipality)
                    for i in band[keep[c]].tolist()
                )

    def municipality(self, lat: float, lon: float) -> str | None:
        r = int((lat - self.lat0) / _CELL_LAT)
        c = int((lon - self.lon0) / _CELL_LON)
        if not (0 <= r < self.rows and 0 <= c < self.cols) or lat < self.lat0 or lon < self.lon0:
            return None
        candidates = self.cells[r * self.cols + c]
        if candidates is None:
            return None
        k = math.cos(lat * 0.017453292519943295)
        k2 = k * k
        best = self.radius2
        found = None
        for plat, plon, municipality in candidates:
            dy = plat - lat
            dx = plon - lon
            d2 = dy * dy + dx * dx * k2
            if d2 < best:
                best = d2
                found = municipality
        return found


@cache
def _grid() -> _Grid:
    return _Grid(places(), MUNICIPALITY_RADIUS_KM)


def municipality_of(lat: float, lon: float) -> str | None:
    """Municipality of the nearest place within ~15 km of (lat, lon), or None (sea, abroad, no data).

    Distances are equirectangular, which differs from the great circle by far less than a metre at this range;
    only a point almost equidistant from two places can get the other answer.
    """
    return _grid().municipality(lat, lon)
