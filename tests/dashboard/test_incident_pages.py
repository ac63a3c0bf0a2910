"""The incident pages without a browser: rendering functions on API-shaped data, and the callbacks against
the real service in-process (FastAPI's TestClient behind the dashboard's RoomClient)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import dash
import httpx
import pytest
from dash import no_update
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app as create_service
from dashboard.app import create_app
from dashboard.room_api import RoomClient, _readable
from tests.app.test_room_api import ingest, rumour, save
from tests.dashboard.test_app import ids, texts

XSS = '<img src=x onerror="window.__xss=1">'


def page(name: str) -> ModuleType:
    [module] = [m for key, m in sys.modules.items() if key.endswith(f"pages.{name}") and m is not None]
    return module


@pytest.fixture
def app() -> dash.Dash:
    return create_app("http://127.0.0.1:9")  # nothing listens: what needs the API gets the service below


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'room.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_service(settings)) as client:
        yield client


class InProcess(RoomClient):
    """The dashboard's client talking to the in-process service; closing it leaves the service running."""

    def __init__(self, client: TestClient) -> None:
        super().__init__("http://testserver")
        self._http.close()
        self._http = client

    def close(self) -> None:
        pass


@pytest.fixture
def incident(app: dash.Dash, service: TestClient, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = page("incident")
    monkeypatch.setattr(module, "_client", lambda: InProcess(service))
    return module


# --- rendering -------------------------------------------------------------------------------------------


def entry(step: str, body: dict[str, Any], version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "entry_id": extra.pop("entry_id", f"{step}-1"),
        "incident_id": 1,
        "step": step,
        "version": version,
        "author": extra.pop("author", "anna"),
        "written_at": "2024-09-15T18:05:00Z",
        "effective_at": "2024-09-15T17:00:00Z",
        "body": body,
        **extra,
    }


def test_an_entry_says_who_and_when_and_keeps_its_earlier_versions(app: dash.Dash) -> None:
    incident = page("incident")
    first = entry("analyse", {"summary": "eerste lezing"}, version=1, author="anna")
    second = entry("analyse", {"summary": "tweede lezing"}, version=2, author="bram")
    card = incident.entry_card(second, [first, second])
    shown = " ".join(texts(card))
    assert "version 2" in shown
    assert "edited by bram at Sun 15 Sep 20:05" in shown  # Amsterdam time
    assert "first written by anna at Sun 15 Sep 20:05" in shown
    assert "tweede lezing" in shown and "eerste lezing" in shown  # the old one, inside 'earlier versions'
    assert "earlier versions (1)" in shown
    assert {"type": "inc-edit", "entry": "analyse-1"} in ids_of(card)
    one = " ".join(texts(incident.entry_card(first, [first])))
    assert "by anna at Sun 15 Sep 20:05" in one and "earlier versions" not in one and "version 1" not in one


def ids_of(component: Any) -> list[Any]:
    found = [component.id] if getattr(component, "id", None) is not None else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found += ids_of(child)
    return found


def test_an_analysis_shows_its_goals_with_evidence_linked(app: dash.Dash) -> None:
    incident = page("incident")
    body = {
        "summary": XSS,
        "figures": {"posts": 1200, "posts_per_hour": 600, "trend": -0.36, "question_share": 0.167},
        "window": ["2024-09-15T17:00:00Z", "2024-09-15T19:00:00Z"],
        "goals": {
            "information_need": [
                {"text": "17% vraagt iets", "evidence": [{"kind": "post", "ref": "p:1", "text": XSS}]}
            ],
            "damage_limitation": [],
            "sense_making": [
                {"text": "gerucht", "evidence": [{"kind": "case", "ref": "rumour:a/b", "text": "claim"}]}
            ],
        },
    }
    rendered = incident.analysis_body(body)
    shown = texts(rendered)
    assert XSS in shown  # as text: React escapes it
    assert "1\u202f200 posts · 600/hour · trend −36% · 17% questions" in shown[1]
    assert {"Information need", "Damage limitation", "Sense-making", "no findings"} <= set(shown)
    links = [c for c in walk(rendered) if isinstance(c, dash.dcc.Link)]
    assert [link.href for link in links] == ["/rumours?case=rumour%3Aa%2Fb"]


def walk(component: Any) -> Iterator[Any]:
    if isinstance(component, list | tuple):
        for c in component:
            yield from walk(c)
        return
    yield component
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str):
        yield from walk(children)


def test_an_action_links_only_http_urls_and_its_case(app: dash.Dash) -> None:
    incident = page("incident")
    body = {
        "channel": "nl-alert",
        "message": "Blijf weg",
        "lang": "en",
        "url": "javascript:alert(1)",
        "template": "stay-away-nl-alert",
        "case_id": "rumour:x",
    }
    shown = incident.act_body(body, {"rumour:x": "Er is iemand neergestoken"})
    anchors = [c for c in walk(shown) if isinstance(c, dash.html.A)]
    assert anchors == []  # a javascript: URL stays text
    assert "javascript:alert(1)" in texts(shown)
    assert {"NL-Alert", "English", "template stay-away-nl-alert", "Blijf weg"} <= set(texts(shown))
    assert "Er is iemand neergestoken" in texts(shown)
    safe = incident.act_body({**body, "url": "https://haren.nl/x"})
    assert [a.href for a in walk(safe) if isinstance(a, dash.html.A)] == ["https://haren.nl/x"]


def test_audit_rows_newest_first_with_short_hashes(app: dash.Dash) -> None:
    incident = page("incident")
    audit = [
        {
            "seq": 1,
            "at": "2024-09-15T18:00:00Z",
            "actor": "local",
            "action": "opened",
            "subject": "incident:1",
            "detail": {"title": XSS},
            "prev_hash": "",
            "hash": "a" * 64,
        },
        {
            "seq": 2,
            "at": "2024-09-15T18:01:00Z",
            "actor": "signaal",
            "action": "linked",
            "subject": "incident:1",
            "detail": {},
            "prev_hash": "a" * 64,
            "hash": "b" * 64,
        },
    ]
    rows = incident.audit_rows(audit)
    assert [texts(r)[0] for r in rows] == ["2", "1"]
    assert "b" * 12 in texts(rows[0]) and "b" * 13 not in texts(rows[0])
    assert any('{"title": "<img src=x onerror=' in t for t in texts(rows[1]))  # JSON as text


def test_editor_bodies_keep_evidence_figures_and_checklist(app: dash.Dash) -> None:
    incident = page("incident")
    draft = {
        "summary": "auto",
        "figures": {"posts": 3},
        "window": ["2024-09-15T17:00:00Z", "2024-09-15T19:00:00Z"],
        "goals": {
            "information_need": [
                {"text": "a", "evidence": [{"kind": "post", "ref": "p:1", "text": "x"}]},
                {"text": "b", "evidence": []},
            ]
        },
    }
    values = ["a, edited", "", "new one", "", ""]
    keys = [
        {"goal": "information_need", "i": 0},
        {"goal": "information_need", "i": 1},
        {"goal": "information_need", "i": 2},
        {"goal": "damage_limitation", "i": 0},
        {"goal": "sense_making", "i": 0},
    ]
    body = incident.build_analysis(draft, " mine ", values, keys)
    assert body["summary"] == "mine" and body["figures"] == {"posts": 3} and body["window"] == draft["window"]
    assert body["goals"]["information_need"] == [
        {"text": "a, edited", "evidence": [{"kind": "post", "ref": "p:1", "text": "x"}]},
        {"text": "new one", "evidence": []},
    ]
    assert body["goals"]["damage_limitation"] == [] and body["goals"]["sense_making"] == []

    advice = {"checklist": [{"item": "een"}, {"item": "twee"}], "playbook": "projectx"}
    saved = incident.build_advice(advice, "", " advies ", [["done"], []], [" ja ", None])
    assert saved == {
        "to": "mayor and crisis team",
        "advice": "advies",
        "checklist": [
            {"item": "een", "done": True, "note": "ja"},
            {"item": "twee", "done": False, "note": ""},
        ],
        "playbook": "projectx",
    }


def test_templates_keep_their_placeholders_and_times_are_local(app: dash.Dash) -> None:
    incident = page("incident")
    template = {
        "id": "t",
        "channel": "social",
        "nl": "Geen feest in {town} op {date}.",
        "en": "No party in {town}.",
    }
    assert incident.insert_template("", template, "nl") == "Geen feest in {town} op {date}."
    assert incident.insert_template("Eerst dit.", template, "en") == "Eerst dit.\n\nNo party in {town}."
    assert incident.placeholders("Geen feest in {town} op {date}, {town}") == ["{date}", "{town}"]
    assert incident.placeholders('JSON {"a": 1} is not a placeholder') == []
    assert incident.parse_local("2024-09-15 19:00") == datetime(2024, 9, 15, 17, 0, tzinfo=UTC)
    assert incident.parse_local(" ") is None
    with pytest.raises(ValueError):
        incident.parse_local("zondag zeven uur")


def test_incident_list_rows(app: dash.Dash) -> None:
    incidents = page("incidents")
    rows = incidents.incident_rows(
        [
            {
                "incident_id": 1,
                "title": "Oud",
                "status": "closed",
                "area": None,
                "playbook": None,
                "opened_by": "anna",
                "opened_at": "2024-09-14T10:00:00Z",
                "alert_ids": [],
                "case_ids": [],
            },
            {
                "incident_id": 2,
                "title": XSS,
                "status": "open",
                "area": "Haren",
                "playbook": "projectx",
                "opened_by": "bram",
                "opened_at": "2024-09-15T10:00:00Z",
                "alert_ids": ["a", "b"],
                "case_ids": ["c"],
            },
        ],
        {1: 0, 2: 4},
    )
    first = texts(rows[0])
    assert first[0] == XSS  # open first, title as text
    assert first[1:] == ["open", "Haren", "Project X (party call)", "bram", "Sun 15 Sep 12:00", "2", "1", "4"]
    assert texts(rows[1])[2:4] == ["all areas", "by alerts"]
    assert texts(incidents.incident_rows([], {})) == ["No incidents yet: open one above."]


def test_refusals_read_as_sentences() -> None:
    problems = [{"loc": ["body", "body", "channel"], "msg": "Input should be 'website', 'social'"}]
    assert _readable(problems) == "Input should be 'website', 'social': body.channel"
    assert _readable("entry changed meanwhile") == "entry changed meanwhile"


# --- callbacks against the service -----------------------------------------------------------------------


def test_the_cycle_through_the_callbacks(app: dash.Dash, service: TestClient, incident: ModuleType) -> None:
    opened = service.post(
        "/api/incidents", json={"title": "Project X Haren", "area": "Haren", "playbook": "projectx"}
    )
    incident_id = opened.json()["incident_id"]
    ingest(
        service, [(str(i), i, "Klopt het? Feest in Haren?" if i % 2 else "feest in Haren") for i in range(30)]
    )
    save(service, rumour("rumour:e", ["1", "3"]))

    with app.server.test_request_context(f"/incidents/{incident_id}"):
        layout = incident.layout(incident_id=str(incident_id))
        assert {"inc-snap", "inc-act-message", "inc-eval-action", "inc-audit", "inc-download"} <= ids(layout)
        assert any(t.startswith("No incident nope") for t in texts(incident.layout(incident_id="nope")))

        # Analyse: the snapshot becomes an entry, editing it a second version.
        draft = InProcess(service).analysis_draft(incident_id, 1)
        shown = incident.show_analysis_editor({"body": draft, "edit": None})
        assert shown[0] is False and shown[2] == draft["summary"]
        message, cleared, saved = incident.save_analysis(
            1, {"body": draft, "edit": None}, "Onrust", [], [], incident_id
        )
        assert texts(message) == ["Analysis saved (version 1)."] and cleared is None and saved
        [first] = service.get(f"/api/incidents/{incident_id}/entries").json()
        edit = {"body": first["body"], "edit": {"entry_id": first["entry_id"], "version": 1}}
        assert "saving adds version 2" in incident.show_analysis_editor(edit)[1]
        second = incident.save_analysis(1, edit, "Rustiger", [], [], incident_id)
        assert texts(second[0]) == ["Analysis saved (version 2)."]
        stale = incident.save_analysis(1, edit, "Van een oude kaart", [], [], incident_id)
        assert stale[0].startswith("Not saved:") and stale[1] is no_update  # 409: the editor keeps the text

        # Act: placeholders and a bad time are refused before the service sees them.
        left = incident.save_action(
            1, "social", "Geen feest in {town}", "nl", None, None, None, "t", incident_id
        )
        assert "{town}" in left[0]
        when = incident.save_action(
            1, "social", "Geen feest", "nl", None, None, "gisteren", None, incident_id
        )
        assert "YYYY-MM-DD HH:MM" in when[0]
        done = incident.save_action(
            1,
            "social",
            "Geen feest in Haren",
            "nl",
            "https://haren.nl",
            "rumour:e",
            "2012-09-21 20:20",
            "no-party-social",
            incident_id,
        )
        assert done[0].children.startswith("Action saved") and done[1] == "" and done[2] is None
        assert done[4] is True and left[4] is no_update  # the form closes once saved, not before
        assert done[5:] == ("", None, "") and left[5:] == (no_update,) * 3  # URL, case and time emptied too
        act = next(
            e for e in service.get(f"/api/incidents/{incident_id}/entries").json() if e["step"] == "act"
        )
        assert act["effective_at"] == "2012-09-21T18:20:00Z" and act["body"]["template"] == "no-party-social"

        # Evaluate: the service measures; the page says the hour after is still running.
        assert incident.save_evaluation(1, None, "x", incident_id)[0] == "Choose the action you evaluate."
        evaluated = incident.save_evaluation(1, act["entry_id"], "minder vragen", incident_id)
        assert "still running" in evaluated[0].children

        out = incident.refresh(1, None, incident_id, {})
        (
            head,
            _,
            analyse,
            advise,
            acts,
            evaluations,
            eval_options,
            case_options,
            alerts,
            cases,
            *_,
            audit,
            seen,
        ) = out
        assert "Project X Haren" in texts(head)
        shown_analysis = " ".join(texts(analyse))
        assert "version 2" in shown_analysis and "Rustiger" in shown_analysis and "Onrust" in shown_analysis
        assert texts(advise) == ["Nothing saved yet."]
        assert "Geen feest in Haren" in texts(acts)
        assert any(t.startswith("posts: ") for t in texts(evaluations)) and "minder vragen" in texts(
            evaluations
        )
        assert [o["value"] for o in eval_options] == [act["entry_id"]]
        assert [o["value"] for o in case_options] == ["rumour:e"]
        assert "claim rumour:e" in texts(alerts) and "claim rumour:e" in texts(cases)
        assert {"opened", "linked"} <= set(texts(audit))
        # Nothing changed: the next tick sends nothing.
        again = incident.refresh(2, None, incident_id, seen)
        assert all(part is no_update for part in again)

        figure, title, effects, key = incident.refresh_live(1, None, incident_id, None)
        assert figure.data[0].type == "bar" and "Haren" in title
        assert "still measuring: the hour after has not passed yet" in texts(effects)
        assert incident.refresh_live(2, None, incident_id, key) == (no_update,) * 4


def test_a_service_that_does_not_answer_leaves_the_page_as_it_is(
    app: dash.Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = page("incident")
    monkeypatch.setattr(incident, "_client", lambda: RoomClient("http://127.0.0.1:9", timeout=0.5))
    with app.server.test_request_context("/incidents/1"):
        assert all(part is no_update for part in incident.refresh(1, None, 1, {}))
        assert incident.save_evaluation(1, "a", "b", 1)[0].startswith("Not saved: the service did not answer")
        assert "Not opened" in page("incidents").open_incident(1, "Titel", None, None)[1]
    with pytest.raises(httpx.HTTPError):
        RoomClient("http://127.0.0.1:9", timeout=0.5).incidents()
