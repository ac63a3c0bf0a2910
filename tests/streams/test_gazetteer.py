from __future__ import annotations

import dataclasses
import math
import random
import time

import numpy as np
import pytest
from geopy.distance import great_circle

from streams import gazetteer
from streams.gazetteer import MUNICIPALITY_RADIUS_KM, Place, find, municipality_of, nearby, places


def test_loads_every_place_once() -> None:
    all_places = places()
    assert len(all_places) == 1524
    assert places() is all_places  # cached, not re-read
    assert all(isinstance(p, Place) for p in all_places)
    # The provenance comment line is skipped, not read as a place or as the header.
    assert not any(p.name.startswith("#") for p in all_places)
    rotterdam = all_places[0]
    assert rotterdam.name == "Rotterdam"
    assert rotterdam.population == 868135
    assert rotterdam.province == "Zuid-Holland"
    assert "Roterdam" in rotterdam.variants


def test_place_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        places()[0].name = "Rotterdam-Zuid"  # type: ignore[misc]


def test_empty_variants_are_an_empty_tuple() -> None:
    veendam = find("Veendam")
    assert veendam is not None
    assert veendam.variants == ()


def test_haren_before_the_2019_merger() -> None:
    haren = find("Haren")
    assert haren is not None
    assert (haren.province, haren.municipality) == ("Groningen", "Haren")
    assert haren.lat == pytest.approx(53.17209)
    assert haren.lon == pytest.approx(6.60931)


@pytest.mark.parametrize("name", ["Den Haag", "den haag", "'s-Gravenhage", "THE HAGUE", "  The Hague  "])
def test_find_by_name_or_variant_ignoring_case(name: str) -> None:
    place = find(name)
    assert place is not None
    assert place.name == "Den Haag"  # GeoNames calls it "The Hague"; the room reads Dutch
    assert place.municipality == "Den Haag"


def test_find_prefers_the_most_populous_of_namesakes() -> None:
    hengelo = find("Hengelo")
    assert hengelo is not None
    assert hengelo.province == "Overijssel"  # 82,311 inhabitants, not the Gelderland village of 4,510
    namesakes = [p for p in places() if p.name == "Hengelo"]
    assert len(namesakes) == 2


def test_find_unknown_is_none() -> None:
    assert find("Atlantis") is None
    assert find("") is None


def test_nearby_is_sorted_within_range_and_excludes_the_place() -> None:
    haren = find("Haren")
    assert haren is not None
    around = nearby(haren, 10.0, 8)
    assert 0 < len(around) <= 8
    assert haren not in around
    distances = [great_circle((haren.lat, haren.lon), (p.lat, p.lon)).km for p in around]
    assert distances == sorted(distances)
    assert all(d <= 10.0 for d in distances)
    assert "Glimmen" in [p.name for p in around]
    assert len(nearby(haren, 10.0, 2)) == 2
    assert nearby(haren, 0.1, 5) == []


def test_nearby_finds_everything_in_range() -> None:
    zwolle = find("Zwolle")
    assert zwolle is not None
    expected = sorted(
        p.name
        for p in places()
        if p is not zwolle and great_circle((zwolle.lat, zwolle.lon), (p.lat, p.lon)).km <= 25.0
    )
    assert sorted(p.name for p in nearby(zwolle, 25.0, 1000)) == expected


@pytest.mark.parametrize(
    ("lat", "lon", "municipality"),
    [
        (53.17209, 6.60931, "Haren"),  # Haren itself
        (53.139, 6.635, "Haren"),  # beside Glimmen, also in the old municipality of Haren
        (52.0799, 4.3113, "Den Haag"),  # the Binnenhof
        (52.3731, 4.8926, "Amsterdam"),  # Dam square
        (51.9225, 4.4792, "Rotterdam"),
    ],
)
def test_municipality_of_known_places(lat: float, lon: float, municipality: str) -> None:
    assert municipality_of(lat, lon) == municipality


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (53.5, 3.0),  # North Sea
        (52.52, 13.405),  # Berlin
        (-33.86, 151.21),  # Sydney
        (90.0, 180.0),
        (-90.0, -180.0),
    ],
)
def test_municipality_of_far_away_is_none(lat: float, lon: float) -> None:
    assert municipality_of(lat, lon) is None


def test_municipality_of_agrees_with_a_brute_force_great_circle_search() -> None:
    all_places = places()
    lats = np.radians([p.lat for p in all_places])
    lons = np.radians([p.lon for p in all_places])
    # Spot-check that the vectorised haversine below is the great circle geopy computes.
    assert _haversine_km(52.0, 5.0, lats[:1], lons[:1])[0] == pytest.approx(
        great_circle((52.0, 5.0), (all_places[0].lat, all_places[0].lon)).km, rel=1e-6
    )
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        lat, lon = rng.uniform(50.6, 53.7), rng.uniform(3.2, 7.4)
        km = _haversine_km(lat, lon, lats, lons)
        i1, i2 = np.argsort(km, kind="stable")[:2]
        d1, d2 = km[i1], km[i2]
        if abs(d1 - MUNICIPALITY_RADIUS_KM) < 0.05 or d2 - d1 < 0.003 * d1:
            # Within the flat-earth approximation's error (~0.2 % at 15 km) of the radius or of a tie
            # between two places: either answer is right.
            continue
        expected = all_places[i1].municipality if d1 <= MUNICIPALITY_RADIUS_KM else None
        assert municipality_of(lat, lon) == expected, (lat, lon)
        checked += 1
    assert checked > 2500


def _haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    phi, lam = math.radians(lat), math.radians(lon)
    a = np.sin((lats - phi) / 2) ** 2 + math.cos(phi) * np.cos(lats) * np.sin((lons - lam) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def test_municipality_of_is_fast() -> None:
    rng = random.Random(3)
    points = [(rng.uniform(50.7, 53.6), rng.uniform(3.3, 7.3)) for _ in range(20_000)]
    municipality_of(52.0, 5.0)  # build the index outside the measurement
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for lat, lon in points:
            municipality_of(lat, lon)
        best = min(best, (time.perf_counter() - began) / len(points))
    assert best < 20e-6, f"{best * 1e6:.1f} µs per call"


def test_grid_candidates_are_few() -> None:
    # The speed comes from pruning; if a change makes cells hold most of the country, fail loudly here.
    cells = [len(c) for c in gazetteer._grid().cells if c]
    assert max(cells) < 80
    assert sum(cells) / len(cells) < 15
