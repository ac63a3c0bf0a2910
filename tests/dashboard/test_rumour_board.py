"""The rumour board without a browser: its figures, its cards, and its callbacks against the real API
(the FastAPI app in-process, SQLite in a temporary directory)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import dash
import pytest
from dash import Patch, html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app as create_api
from app.room.models import TRANSITIONS
from dashboard import rumour_cards as rc
from dashboard.app import create_app
from dashboard.display import naive_local
from dashboard.figures.geodata import load_outline, load_places
from dashboard.figures.spread import (
    case_map_figure,
    sparkline_svg,
    sparkline_uri,
    spread_figure,
    spread_series,
    stance_figure,
)
from dashboard.room_api import RoomClient
from tests.app.test_room_api import T0, ingest, rumour, save

XSS = "<img src=x onerror=window.__x=1>"


def texts(component: Any) -> list[str]:
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [t for c in component for t in texts(c)]
    children = getattr(component, "children", None)
    return texts(children) if children is not None else []


def walk(component: Any) -> list[Any]:
    found = [component]
    children = getattr(component, "children", None) if not isinstance(component, list | tuple) else component
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found += walk(child)
    return found


def similar_chips(component: Any) -> list[Any]:
    parts = [c for item in component for c in walk(item)] if isinstance(component, list) else walk(component)
    return [c for c in parts if getattr(c, "className", "") == "rb-similar"]


def spread(*counts: int, start: datetime = T0) -> list[dict[str, Any]]:
    """Ten-minute points as the API sends them; zero counts are left out, as the API does."""
    return [
        {"start": (start + timedelta(minutes=10 * i)).isoformat().replace("+00:00", "Z"), "count": n}
        for i, n in enumerate(counts)
        if n
    ]


def case(**overrides: Any) -> dict[str, Any]:
    base = {
        "case_id": "rumour:a",
        "origin": "detector",
        "alert_id": "rumour:a",
        "claim": "Er is iemand neergestoken in Haren",
        "status": "new",
        "owner": None,
        "severity": "medium",
        "area": "Haren",
        "first_seen": T0.isoformat(),
        "updated_at": (T0 + timedelta(minutes=40)).isoformat(),
        "post_count": 12,
        "stance": {"support": 8, "deny": 2, "query": 2, "comment": 0},
        "examples": [
            {"key": "s:1", "created_at": T0.isoformat(), "text": "eerste", "area": "Haren"},
            {"key": "s:1", "created_at": T0.isoformat(), "text": "eerste", "area": "Haren"},
        ],
        "merged_into": None,
        "merged_from": [],
        "answer": None,
        "version": 3,
    }
    return {**base, **overrides}


ANSWER = {
    "text": "Er is niemand neergestoken.",
    "channel": "social",
    "url": "javascript:alert(1)",
    "published_at": (T0 + timedelta(minutes=20)).isoformat(),
    "by": "local",
    "recorded_at": T0.isoformat(),
}
EFFECT = {"window_minutes": 60, "before": 40, "after": 10, "denials_before": 2, "denials_after": 9}


# --- workflow rules ---------------------------------------------------------------------------------------


def test_the_board_knows_the_same_workflow_as_the_service() -> None:
    assert {str(k): {str(s) for s in v} for k, v in TRANSITIONS.items()} == {
        k: set(v) for k, v in rc.TRANSITIONS.items()
    }
    assert set(rc.STATUSES) == {str(s) for s in TRANSITIONS}


def test_only_allowed_steps_get_a_button() -> None:
    assert rc.allowed_statuses(case(status="new")) == [
        "checking",
        "confirmed",
        "denied",
        "unfounded",
        "closed",
    ]
    # 'answered' needs a recorded answer; the answer form does that step.
    assert "answered" not in rc.allowed_statuses(case(status="denied"))
    assert "answered" in rc.allowed_statuses(case(status="denied", answer=ANSWER))
    assert rc.allowed_statuses(case(status="closed")) == ["checking"]
    labels = texts(rc.status_buttons(case(status="closed"), "card"))
    assert labels == ["Reopen"]


def test_buttons_carry_the_version_the_adviser_sees() -> None:
    buttons = [b for b in walk(rc.action_bar(case(version=7), "Anna", "card")) if isinstance(b, html.Button)]
    assert buttons and all(b.id["v"] == 7 and b.id["case"] == "rumour:a" for b in buttons)
    assert [b.id["op"] for b in buttons][:1] == ["take"]
    mine = rc.owner_buttons(case(owner="Anna"), "Anna", "card")
    theirs = rc.owner_buttons(case(owner="Bram"), "Anna", "card")
    assert [b.children for b in mine] == ["Release"] and [b.children for b in theirs] == ["Take over"]


# --- figures --------------------------------------------------------------------------------------------


def test_spread_series_fills_the_quiet_buckets_with_zero() -> None:
    series = spread_series(spread(3, 0, 0, 5))
    assert [n for _, n in series] == [3, 0, 0, 5]
    assert series[1][0] == T0 + timedelta(minutes=10)
    assert spread_series([{"start": "garbage", "count": 1}, {"start": T0.isoformat(), "count": True}]) == []
    longer = spread_series(spread(1), until=T0 + timedelta(minutes=30))
    assert [n for _, n in longer] == [1, 0, 0, 0]


def test_spread_figure_marks_the_answer() -> None:
    answered = T0 + timedelta(hours=2)  # after the last post: the chart stretches to show it
    fig = spread_figure(spread(4, 9, 2), answered_at=answered)
    [trace] = fig.data
    assert max(trace.y) == 9 and trace.y[-1] == 0
    [line] = fig.layout.shapes
    assert line.x0 == naive_local(answered)
    assert any("answer" in a.text for a in fig.layout.annotations)
    compact = spread_figure(spread(4, 9, 2), answered_at=answered, compact=True)
    assert compact.layout.xaxis.visible is False and not compact.layout.annotations
    empty = spread_figure([])
    assert "No spread" in empty.layout.annotations[0].text


def test_sparkline_is_an_svg_of_numbers_only() -> None:
    svg = sparkline_svg(spread(1, 4, 0, 2), answered_at=T0 + timedelta(minutes=15))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<path") == 2 and "<line" in svg  # area, outline, the answer
    assert "<text" not in svg and "script" not in svg
    assert "<line" in sparkline_svg([])  # an empty baseline, not a broken image
    uri = sparkline_uri(spread(2))
    assert base64.b64decode(uri.split(",", 1)[1]).decode().startswith("<svg")


def test_stance_figure_shows_counts_and_hides_empty_stances_from_the_legend() -> None:
    fig = stance_figure({"support": 8, "deny": 2, "query": 0, "comment": "many"})
    shown = {t.name: t.x[0] for t in fig.data if t.showlegend}
    assert shown == {"spreads it 8": 8, "denies 2": 2}
    assert "No stance" in stance_figure(None).layout.annotations[0].text


def test_case_map_draws_posts_offline_and_escapes_area_names() -> None:
    points = [
        {"key": "s:1", "lat": 53.17, "lon": 6.60, "area": XSS},
        {"key": "s:2", "lat": 53.171, "lon": 6.601, "area": XSS},
    ]
    fig = case_map_figure(points, outline=load_outline(), places=load_places(), size=(560, 300))
    bubbles = fig.data[0]
    assert list(bubbles.lat) and "2 posts" in bubbles.hovertext[0]
    assert "<img" not in json.dumps(fig.to_plotly_json())
    assert fig.layout.map.style["id"] == "signaal-offline"  # no tiles, no glyph server
    assert len(fig.data) == 3 and fig.layout.showlegend is False
    assert fig.layout.map.zoom <= 8.5  # the towns around stay in view
    assert list(case_map_figure([]).data[0].lat) == []


# --- cards ----------------------------------------------------------------------------------------------


def test_a_card_shows_the_claim_and_posts_as_text_and_who_is_on_it() -> None:
    hostile = case(claim=XSS, examples=[{"key": "s:9", "created_at": T0.isoformat(), "text": XSS}])
    card = rc.card(hostile, {"spread": spread(1, 3)}, me="Anna")
    words = texts(card)
    assert XSS in words  # a plain string child: React renders it as text
    assert "Nobody on it" in words
    assert not any(isinstance(c, dash.dcc.Markdown) for c in walk(card))
    spark = next(c for c in walk(card) if isinstance(c, html.Img))
    assert spark.src.startswith("data:image/svg+xml;base64,")

    taken = texts(rc.card(case(owner="Anna"), None, me="Anna"))
    assert "Anna" in taken and " (you)" in taken
    assert "Bram" in texts(rc.card(case(owner="Bram"), None, me="Anna"))


def test_a_card_says_how_many_open_cases_seem_to_tell_its_claim_and_which_as_text() -> None:
    hinted = case(
        similar=[
            {"case_id": "rumour:b", "claim": XSS, "similarity": 0.75},
            {"case_id": "rumour:c", "claim": "Someone got stabbed in Haren", "similarity": 0.5},
        ]
    )
    chip = next(
        c for c in walk(rc.card(hinted, None, me="Anna")) if getattr(c, "className", "") == "rb-similar"
    )
    assert chip.children == "≈ 2 alike"
    assert "75% <img src=x onerror=window.__x=1>" in chip.title and "50% Someone got stabbed" in chip.title
    assert similar_chips(rc.card(case(), None, me="Anna")) == []


def test_merge_options_put_the_hinted_cases_first_with_how_alike_they_are() -> None:
    index = [
        {"case_id": "rumour:a", "claim": "Iemand neergestoken", "status": "new", "post_count": 9,
         "similar": [{"case_id": "rumour:c", "claim": "x", "similarity": 0.4},
                     {"case_id": "rumour:d", "claim": "y", "similarity": 0.9}]},
        {"case_id": "rumour:b", "claim": "Leger komt", "status": "new", "post_count": 3},
        {"case_id": "rumour:c", "claim": "Someone stabbed", "status": "checking", "post_count": 5},
        {"case_id": "rumour:d", "claim": "Steekpartij", "status": "new", "post_count": 2},
    ]  # fmt: skip
    options = rc.merge_options("rumour:a", index)
    assert [o["value"] for o in options] == ["rumour:d", "rumour:c", "rumour:b"]
    assert options[0]["label"].startswith("≈ 90% alike · Steekpartij")
    assert options[2]["label"].startswith("Leger komt")
    assert [o["value"] for o in rc.merge_options("rumour:b", index)] == ["rumour:a", "rumour:c", "rumour:d"]


def test_an_answered_card_shows_the_answer_and_its_effect() -> None:
    answered = case(status="answered", answer=ANSWER)
    words = " ".join(texts(rc.card(answered, {"spread": spread(5, 2), "effect": EFFECT}, me=None)))
    assert "Er is niemand neergestoken." in words and "Social media" in words
    assert "40 → 10" in words and "(-75%)" in words and "2 → 9" in words
    quiet = {**EFFECT, "before": 0, "after": 0, "denials_before": 0, "denials_after": 0}
    assert texts(rc.effect_summary(quiet)) == [
        "No posts of this case in the hour before or after the answer."
    ]
    full = rc.answer_block(answered, EFFECT, full=True)
    # A URL that is not a web link stays text.
    assert not any(isinstance(c, html.A) for c in walk(full))
    assert "javascript:alert(1)" in texts(full)
    web = rc.answer_block(case(answer={**ANSWER, "url": "https://haren.nl/nieuws"}), None, full=True)
    [link] = [c for c in walk(web) if isinstance(c, html.A)]
    assert link.href == "https://haren.nl/nieuws" and link.rel == "noopener noreferrer"


def test_only_changed_cards_are_redrawn() -> None:
    assert rc.card_changes(["a", "b", "c"], ["1", "1", "1"], ["a", "b", "c"], ["1", "2", "1"]) == (
        [],
        [],
        [1],
    )
    # b changed and moved to the top; c changed in place.
    plan = rc.card_changes(["a", "b", "c"], ["1", "1", "1"], ["b", "a", "c"], ["2", "1", "3"])
    assert plan == ([1], [0], [2])
    # A new case on top, one gone at the bottom.
    assert rc.card_changes(["a", "b", "c"], ["1"] * 3, ["n", "a", "b"], ["1"] * 3) is None
    assert rc.card_changes(["a", "b"], ["1"] * 2, ["n", "a", "b"], ["1"] * 3) == ([], [0], [])
    assert rc.card_changes(["a", "b", "c"], ["1"] * 3, ["c", "b", "a"], ["1"] * 3) == ([2, 1], [1, 0], [])


def test_split_options_list_examples_once_then_the_other_posts() -> None:
    detail = {**case(), "member_keys": ["s:1", "s:2", "s:3", "s:2"]}
    assert [(o["value"], o["label"]) for o in rc.example_options(detail)] == [("s:1", "21 Sep 20:00  eerste")]
    assert [o["value"] for o in rc.other_post_options(detail)] == ["s:2", "s:3"]


def test_notes_and_history_are_text() -> None:
    notes = [{"at": T0.isoformat(), "actor": "local", "detail": {"text": f"Anna: {XSS}"}}]
    assert f"Anna: {XSS}" in texts(rc.note_items(notes))
    history = [
        {"at": T0.isoformat(), "actor": "local", "action": "owner", "detail": {"to": "Anna"}},
        {
            "at": T0.isoformat(),
            "actor": "local",
            "action": "status",
            "detail": {"from": "new", "to": "checking"},
        },
    ]
    lines = " ".join(texts(rc.history_items(history)))
    assert "status new → checking" in lines and "owner → Anna" in lines


def test_a_conflict_names_who_changed_the_case_as_well_as_it_can() -> None:
    status = {
        "at": T0.isoformat(),
        "actor": "local",
        "action": "status",
        "detail": {"from": "new", "to": "denied", "reason": rc.by_line("Bram")},
    }
    message = rc.conflict_message([status], case(owner="Anna"))
    assert message.startswith("Bram changed this case meanwhile") and "refreshed" in message
    took = {"at": T0.isoformat(), "actor": "local", "action": "owner", "detail": {"to": "Carla"}}
    assert rc.conflict_message([took], case()).startswith("Carla changed")
    note = {"at": T0.isoformat(), "actor": "local", "action": "note", "detail": {"text": "x"}}
    assert rc.changed_by([note], case(owner="Anna")) == "Anna"
    assert rc.changed_by([note], case()) == "Someone"


def test_publication_times_are_read_as_amsterdam_time() -> None:
    assert rc.parse_local("2024-09-15 21:00") == datetime(2024, 9, 15, 19, 0, tzinfo=UTC)
    assert rc.parse_local("") is None
    with pytest.raises(ValueError):
        rc.parse_local("yesterday")


# --- the page's callbacks against the real API ----------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'board.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_api(settings)) as client:
        yield client


@pytest.fixture
def page(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    app = create_app(str(api.base_url))
    [module] = [m for name, m in sys.modules.items() if name.endswith("pages.rumours") and m is not None]
    room = RoomClient(str(api.base_url))
    room._http = api  # the TestClient is an httpx.Client on the in-process API
    monkeypatch.setattr(module, "_client", lambda: room)
    module._details.clear()
    with app.server.test_request_context("/rumours"):
        yield module


def clicked(button_id: dict[str, Any]) -> None:
    prop = json.dumps(button_id, separators=(",", ":"), sort_keys=True) + ".n_clicks"
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop, "value": 1}]))


def board(page: ModuleType, **kwargs: Any) -> tuple[Any, ...]:
    args = {"tick": 1, "bump": 0, "status": "all", "closed": [], "adviser": "Anna", "selected": None}
    args.update(kwargs)
    return page.render_board(*args.values(), None)


def test_the_board_lists_cases_and_acts_on_the_version_shown(page: ModuleType, api: TestClient) -> None:
    ingest(api, [("1", 0, XSS), ("2", 5, "Klopt dit? neergestoken?"), ("3", 9, "Iemand neergestoken")])
    save(api, rumour("rumour:a", ["1", "2"]), rumour("rumour:b", ["3"], minutes=2))

    hostile = api.post("/api/rumours", json={"post_key": "scenario:1", "claim": XSS}).json()["case_id"]

    cards, sig, index, count = board(page, selected="rumour:b")
    assert count == "3 cases" and [c["case_id"] for c in index] == [hostile, "rumour:b", "rumour:a"]
    words = texts(cards)
    assert XSS in words and words.count(XSS) == 2  # the claim and its example post, as text
    again = page.render_board(1, 0, "all", [], "Anna", "rumour:b", sig)
    assert again[0] is no_update and again[3] == "3 cases"  # nothing changed: nothing re-sent
    api.post("/api/rumours/rumour:a/notes", json={"text": "gebeld"})
    patched, sig2, _, _ = page.render_board(2, 0, "all", [], "Anna", "rumour:b", sig)
    # The noted case moved to the top: it alone is sent, the other cards stay as they are.
    assert isinstance(patched, Patch) and sig2["ids"] == ["rumour:a", hostile, "rumour:b"]
    ops = [(op["operation"], op["location"]) for op in patched.to_plotly_json()["operations"]]
    assert ops == [("Delete", [2]), ("Prepend", [])]
    assert len(board(page, status="closed")[2]) == 0

    take = next(
        b.id
        for b in walk(cards)
        if isinstance(b, html.Button) and isinstance(b.id, dict) and b.id.get("op") == "take"
        if b.id["case"] == "rumour:b"
    )
    clicked(take)
    flash, bump = page.act([1], "Anna", 0)
    assert "You (Anna) are on this case now." in texts(flash) and bump == 1
    assert api.get(f"/api/rumours/{take['case']}").json()["owner"] == "Anna"

    # The same (now stale) card again: the API refuses and the page says who changed it.
    status = {**take, "op": "status", "arg": "checking"}
    clicked(status)
    flash, _ = page.act([1], "Bram", 1)
    assert "Anna changed this case meanwhile" in texts(flash)[0] and "conflict" in flash.className
    assert api.get(f"/api/rumours/{take['case']}").json()["status"] == "new"

    fresh = {**status, "v": api.get("/api/rumours/rumour:b").json()["version"]}
    clicked(fresh)
    flash, _ = page.act([1], "Anna", 1)
    assert texts(flash) == ["Status is now checking."]
    history = api.get(f"/api/rumours/{take['case']}/history").json()
    assert history[-1]["detail"]["reason"] == "by Anna (rumour board)"

    # Taking needs a name: without one nothing is sent.
    clicked({**take, "case": "rumour:a", "v": 0})
    flash, bump = page.act([1], None, 5)
    assert "Enter your name" in texts(flash)[0] and bump is no_update


def test_the_open_case_stays_open_while_the_list_reorders(page: ModuleType) -> None:
    # The panel followed the first card on every refresh: a note typed for one case was saved on another.
    index = [{"case_id": "rumour:b"}, {"case_id": "rumour:a"}]
    assert page._case_to_show(None, None, index) == "rumour:b"
    assert page._case_to_show(None, {"case_id": "rumour:a"}, index) == "rumour:a"
    assert page._case_to_show("rumour:b", {"case_id": "rumour:a"}, index) == "rumour:b"  # a card clicked
    assert page._case_to_show(None, {"case_id": "rumour:gone"}, index) == "rumour:b"
    assert page._case_to_show(None, None, []) is None


def test_a_link_with_a_case_opens_that_case(page: ModuleType) -> None:
    # The incident page links /rumours?case=<id>; the board opened whichever case was busiest instead.
    def selected(layout: Any) -> Any:
        return next(c.data for c in _walk(layout) if getattr(c, "id", None) == "rb-selected")

    assert selected(page.layout(case="rumour:c")) == "rumour:c"
    assert selected(page.layout()) is None


def _walk(component: Any) -> Iterator[Any]:
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_the_opened_case_answers_notes_merges_and_splits(page: ModuleType, api: TestClient) -> None:
    ingest(api, [(str(i), i, f"Het leger komt naar Haren {i}") for i in range(1, 6)])
    save(api, rumour("rumour:c", ["1", "2", "3"]), rumour("rumour:d", ["4"], minutes=3))
    _, _, index, _ = board(page)

    out = dict(
        zip(page.DETAIL_OUTPUTS, page.render_detail(index, "rumour:c", 0, "Anna", 1, None), strict=True)
    )
    shown = out[("rb-d-shown", "data")]
    assert shown["case_id"] == "rumour:c" and shown["version"] == 0
    assert [o["value"] for o in out[("rb-merge-pick", "options")]] == ["rumour:d"]
    assert not out[("rb-merge-pick", "options")][0]["label"].startswith("≈")  # "claim rumour:d": no hint
    assert out[("rb-d-spread", "figure")].data[0].type == "scatter"
    assert out[("rb-d-map", "figure")].data[0].lat  # the posts are geotagged
    # Unchanged: the next tick sends nothing.
    assert set(page.render_detail(index, "rumour:c", 0, "Anna", 2, shown)) == {no_update}

    flash, _, cleared = page.add_note(1, f"politie gebeld {XSS}", shown, "Anna", 0)
    assert texts(flash) == ["Note added."] and cleared == ""
    # The note bumped the version: an answer sent on the version shown is refused and nothing is overwritten.
    flash, _, kept = page.link_answer(1, "Er komt geen leger.", "website", None, "", None, shown, 0)
    assert "changed this case meanwhile" in texts(flash)[0] and kept is no_update
    shown = {**shown, "version": api.get("/api/rumours/rumour:c").json()["version"]}
    flash, _, cleared = page.link_answer(
        1, "Er komt geen leger.", "website", "https://haren.nl", "2012-09-21 20:20", None, shown, 0
    )
    assert texts(flash) == ["Answer linked; the case is answered."]
    detail = api.get("/api/rumours/rumour:c").json()
    assert detail["status"] == "answered" and detail["answer"]["published_at"] == "2012-09-21T18:20:00Z"
    assert detail["notes"][0]["detail"]["text"] == f"Anna: politie gebeld {XSS}"
    flash, *_ = page.link_answer(1, "x", "website", None, "morgen", None, shown, 0)
    assert "2024-09-15 21:00" in texts(flash)[0]

    shown = {**shown, "version": detail["version"]}
    flash, _, _ = page.merge(1, "rumour:d", shown, 0)
    assert texts(flash) == ["Merged into this case."]
    shown = {**shown, "version": api.get("/api/rumours/rumour:c").json()["version"]}
    flash, _, new_case = page.split(
        1, ["scenario:2"], ["scenario:3", "scenario:2"], "ander verhaal", shown, 0
    )
    assert "split into a new case" in texts(flash)[0]
    split_off = api.get(f"/api/rumours/{new_case}").json()
    assert (split_off["claim"], split_off["member_keys"]) == ("ander verhaal", ["scenario:2", "scenario:3"])

    flash, _, flagged = page.flag(1, None, "scenario:5", None, XSS, 0)
    assert texts(flash) == ["Post flagged: a new case is open."]
    assert api.get(f"/api/rumours/{flagged}").json()["claim"] == XSS
    flash, _, same = page.flag(1, None, "scenario:404", None, None, 0)
    assert "no stored post" in texts(flash)[0] and same is no_update


def test_the_board_hints_from_the_service_which_cases_to_merge(page: ModuleType, api: TestClient) -> None:
    ingest(api, [(str(i), i, "Er is iemand neergestoken") for i in range(1, 4)])
    titled = {
        "rumour:a": "Er is iemand doodgestoken bij de Rijksstraatweg in Haren",
        "rumour:b": "Someone got stabbed at the Rijksstraatweg in Haren",
        "rumour:c": "Het leger rukt uit naar Haren",
    }
    save(
        api,
        *(
            rumour(case_id, [str(n)], minutes=n).model_copy(update={"title": title})
            for n, (case_id, title) in enumerate(titled.items(), start=1)
        ),
    )
    cards, _, index, _ = board(page)
    chips = [chip.children for chip in similar_chips(cards)]
    assert chips == ["≈ 1 alike", "≈ 1 alike"]  # a and b, not the army case
    out = dict(
        zip(page.DETAIL_OUTPUTS, page.render_detail(index, "rumour:a", 0, "Anna", 1, None), strict=True)
    )
    options = out[("rb-merge-pick", "options")]
    assert [o["value"] for o in options] == ["rumour:b", "rumour:c"]
    assert options[0]["label"].startswith("≈ ") and " alike · Someone got stabbed" in options[0]["label"]
