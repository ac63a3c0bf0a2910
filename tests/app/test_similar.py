"""Hints that two open rumour cases tell the same claim in other words (app.room.similar)."""

from __future__ import annotations

import pytest

from app.room import similar
from app.room.models import RumourCase
from app.room.similar import MIN_SIMILARITY, hints, terms

STABBING = (
    "Er is iemand doodgestoken bij de Rijksstraatweg in Haren",
    "Someone got stabbed at the Rijksstraatweg in Haren",
    "Steekpartij bij de Rijksstraatweg, iemand is overleden",
)
ARMY = ("Het leger rukt uit naar Haren", "Army being sent to Haren")
OUTAGE = "Stroomstoring in heel Haren, treinen rijden niet"


def hinted(cases: dict[str, str]) -> set[frozenset[str]]:
    found = hints([(case_id, [claim]) for case_id, claim in cases.items()])
    return {frozenset((case_id, hint.case_id)) for case_id, hs in found.items() for hint in hs}


def test_wordings_of_one_rumour_in_two_languages_are_hinted_and_other_rumours_are_not() -> None:
    cases = {f"s{i}": text for i, text in enumerate(STABBING)} | {f"a{i}": t for i, t in enumerate(ARMY)}
    pairs = hinted(cases | {"outage": OUTAGE})
    assert frozenset(("s0", "s1")) in pairs and frozenset(("s0", "s2")) in pairs
    assert frozenset(("a0", "a1")) in pairs
    assert all(len({case_id[0] for case_id in pair}) == 1 for pair in pairs), "no hint across rumours"
    assert not any("outage" in pair for pair in pairs)


def test_hints_are_symmetric_and_most_alike_first() -> None:
    found = hints([(f"s{i}", [text]) for i, text in enumerate(STABBING)])
    for case_id, hs in found.items():
        assert [h.similarity for h in hs] == sorted((h.similarity for h in hs), reverse=True)
        for hint in hs:
            assert hint.similarity >= MIN_SIMILARITY
            assert any(back.case_id == case_id for back in found[hint.case_id])


def test_the_town_and_hashtag_every_case_names_tie_nothing() -> None:
    pairs = hinted(
        {
            "fire": "Grote brand bij het station in Haren #projectxharen",
            "outage": "Stroomstoring in Haren, alles donker #projectxharen",
            "bridge": "Brug in Haren dicht voor verkeer #projectxharen",
        }
    )
    assert pairs == set()


def test_how_a_claim_is_told_is_not_what_it_says() -> None:
    # Cue words (questions, hedges) and the scorer's wording concepts are dropped; concepts unite languages.
    told = terms(["Klopt dit?? Naar verluidt is er iemand neergestoken, zegt de politie"])
    assert b"\x00STABBING" in told and b"\x00POLICE" in told
    assert not {b"klopt", b"dit", b"naar", b"verluidt", b"zegt", b"?"} & told
    assert terms(["Someone got stabbed"]) & terms(["Steekpartij in het centrum"]) == {b"\x00STABBING"}


def room_case(case_id: str, claim: str, status: str = "new") -> RumourCase:
    return RumourCase.model_validate(
        {
            "case_id": case_id, "origin": "detector", "alert_id": case_id, "claim": claim, "status": status,
            "owner": None, "severity": None, "area": "Haren", "first_seen": None, "updated_at": None,
            "post_count": 3, "stance": {}, "examples": [], "version": 0,
        }
    )  # fmt: skip


def test_only_the_most_recently_active_open_cases_are_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every pair is compared on each list request: a page of 500 cases would take most of a second.
    monkeypatch.setattr(similar, "MAX_COMPARED", 3)
    cases = [
        room_case("a0", ARMY[0]),
        room_case("closed", ARMY[0], status="closed"),
        room_case("a1", ARMY[1]),
        room_case("outage", OUTAGE),
        room_case("late", ARMY[0]),  # beyond the first three open cases: not compared
    ]
    hinted = {c.case_id: [s.case_id for s in c.similar] for c in similar.with_hints(cases)}
    assert hinted == {"a0": ["a1"], "closed": [], "a1": ["a0"], "outage": [], "late": []}
    monkeypatch.setattr(similar, "MAX_COMPARED", 4)
    assert "a0" in {s.case_id for s in similar.with_hints(cases)[-1].similar}
