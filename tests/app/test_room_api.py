"""The crisis room through the API: rumour-case workflow, incidents and their cycle, briefings, audit.

Alerts are saved straight into the running service's store (what the detectors would have produced), posts
go in through /api/ingest like any producer's; everything else is driven over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.config import Settings
from app.db.tables import AuditRow
from app.main import create_app
from app.pipeline.alerts import Alert, AlertKind, Example, Severity
from tests.app.test_api import wait_until_processed

T0 = datetime(2012, 9, 21, 18, 0, tzinfo=UTC)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'room.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        yield client


def ingest(client: TestClient, posts: list[tuple[str, int, str]]) -> None:
    """(id, minutes after T0, text) posts from Haren."""
    lines = [
        json.dumps(
            {
                "platform": "scenario",
                "id": post_id,
                "author": f"@user{post_id}",
                "created_at": (T0 + timedelta(minutes=minutes)).isoformat(),
                "text": text,
                "coordinates": {"lat": 53.17, "lon": 6.60},
                "place": "Haren",
            }
        )
        for post_id, minutes, text in posts
    ]
    before = client.get("/api/status").json()["pipeline"]["received"]
    client.post("/api/ingest", content="\n".join(lines))
    wait_until_processed(client, before + len(lines))


def rumour(alert_id: str, members: list[str], minutes: int = 0, area: str | None = "Haren") -> Alert:
    first = T0 + timedelta(minutes=minutes)
    return Alert(
        id=alert_id,
        kind=AlertKind.RUMOUR,
        severity=Severity.MEDIUM,
        title=f"claim {alert_id}",
        explanation="a claim spreads",
        area=area,
        first_seen=first,
        updated_at=first + timedelta(minutes=30),
        post_count=len(members),
        member_ids=tuple(f"scenario:{m}" for m in members),
        playbook="rumour",
        examples=(Example(key=f"scenario:{members[0]}", created_at=first, text="example"),),
        details={
            "stance": {"support": len(members) - 1, "deny": 1, "query": 0, "comment": 0},
            "spread_minutes": 10,
            "spread": {first.isoformat(): len(members)},
        },
    )


def save(client: TestClient, *alerts: Alert) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.store.save_alerts(alerts)
    services.room.room.auto_link(alerts)


def test_a_detector_case_goes_through_the_workflow_and_every_step_is_traced(client: TestClient) -> None:
    ingest(client, [("1", 0, "Er is iemand neergestoken in Haren"), ("2", 5, "Klopt dit? neergestoken?")])
    save(client, rumour("rumour:a", ["1", "2"]))

    page = client.get("/api/rumours").json()
    assert page["total"] == 1
    case = page["items"][0]
    assert (case["case_id"], case["status"], case["owner"], case["version"]) == ("rumour:a", "new", None, 0)

    taken = client.post("/api/rumours/rumour:a/owner", json={"owner": "me", "version": 0}).json()
    assert (taken["owner"], taken["version"]) == ("local", 1)
    # Someone working from the old card is refused instead of overwriting.
    stale = client.post("/api/rumours/rumour:a/status", json={"status": "checking", "version": 0})
    assert stale.status_code == 409
    checking = client.post("/api/rumours/rumour:a/status", json={"status": "checking", "version": 1}).json()
    assert checking["status"] == "checking"
    wrong = client.post("/api/rumours/rumour:a/status", json={"status": "answered"})
    assert wrong.status_code == 422 and "answered" in wrong.json()["detail"][0]["msg"]
    backwards = client.post("/api/rumours/rumour:a/status", json={"status": "new"})
    assert backwards.status_code == 422
    client.post("/api/rumours/rumour:a/status", json={"status": "denied", "reason": "police: no stabbing"})
    client.post("/api/rumours/rumour:a/notes", json={"text": "Politie bevestigt: <b>geen</b> steekpartij"})
    naive = client.post(
        "/api/rumours/rumour:a/answer",
        json={"text": "x", "channel": "social", "published_at": "2012-09-21T18:20:00"},
    )
    assert naive.status_code == 422  # a time without a zone is refused, not stored to break the case later
    no_incident = client.post(
        "/api/rumours/rumour:a/answer", json={"text": "x", "channel": "social", "incident_id": 99}
    )
    assert no_incident.status_code == 404
    answered = client.post(
        "/api/rumours/rumour:a/answer",
        json={
            "text": "Er is niemand neergestoken.",
            "channel": "social",
            "published_at": "2012-09-21T18:20:00Z",
        },
    ).json()
    assert answered["status"] == "answered"
    assert answered["answer"]["by"] == "local"

    detail = client.get("/api/rumours/rumour:a").json()
    assert [h["action"] for h in detail["history"]] == ["owner", "status", "status", "answer"]
    assert detail["notes"][0]["detail"]["text"] == "Politie bevestigt: <b>geen</b> steekpartij"
    assert detail["member_keys"] == ["scenario:1", "scenario:2"]
    assert len(detail["points"]) == 2
    assert detail["effect"]["window_minutes"] == 60
    assert detail["effect"]["before"] == 2 and detail["effect"]["after"] == 0
    assert client.get("/api/rumours/nothing").status_code == 404


def test_owner_is_not_taken_over_silently(client: TestClient) -> None:
    save(client, rumour("rumour:b", ["1"]))
    client.post("/api/rumours/rumour:b/owner", json={"owner": "alice"})
    refused = client.post("/api/rumours/rumour:b/owner", json={"owner": "me"})
    assert refused.status_code == 409 and "alice" in refused.json()["detail"]
    forced = client.post("/api/rumours/rumour:b/owner", json={"owner": "me", "force": True}).json()
    assert forced["owner"] == "local"
    released = client.post("/api/rumours/rumour:b/owner", json={"owner": None}).json()
    assert released["owner"] is None
    # Nor is someone else's case released without saying so.
    client.post("/api/rumours/rumour:b/owner", json={"owner": "alice"})
    assert client.post("/api/rumours/rumour:b/owner", json={"owner": None}).status_code == 409
    assert (
        client.post("/api/rumours/rumour:b/owner", json={"owner": None, "force": True}).json()["owner"]
        is None
    )


def test_merge_split_and_flag_by_hand(client: TestClient) -> None:
    ingest(client, [(str(i), i, f"post {i} over het leger in Haren") for i in range(1, 8)])
    save(client, rumour("rumour:c", ["1", "2", "3"]), rumour("rumour:d", ["4", "5"], minutes=3))

    merged = client.post("/api/rumours/rumour:c/merge", json={"other": "rumour:d"}).json()
    assert merged["merged_from"] == ["rumour:d"]
    assert merged["post_count"] == 5
    assert merged["stance"]["deny"] == 2
    listed = client.get("/api/rumours").json()
    assert [c["case_id"] for c in listed["items"]] == ["rumour:c"]  # the merged one is folded in
    assert client.post("/api/rumours/rumour:d/merge", json={"other": "rumour:c"}).status_code == 422

    new = client.post("/api/rumours/rumour:c/split", json={"post_keys": ["scenario:3"], "claim": "another"})
    assert new.status_code == 201
    split_off = new.json()
    assert (split_off["origin"], split_off["claim"], split_off["post_count"]) == ("manual", "another", 1)
    assert client.get("/api/rumours/rumour:c").json()["post_count"] == 4

    flagged = client.post("/api/rumours", json={"post_key": "scenario:6", "claim": "hand flagged"})
    assert flagged.status_code == 201
    flagged_id = flagged.json()["case_id"]
    added = client.post("/api/rumours", json={"post_key": "scenario:7", "case_id": flagged_id}).json()
    assert added["post_count"] == 2
    assert client.post("/api/rumours", json={"post_key": "scenario:999"}).status_code == 404
    # A post already in a case is not counted twice; a split-off post can come back.
    assert (
        client.post("/api/rumours", json={"post_key": "scenario:7", "case_id": flagged_id}).status_code == 422
    )
    assert (
        client.post("/api/rumours", json={"post_key": "scenario:1", "case_id": "rumour:c"}).status_code == 422
    )
    back = client.post("/api/rumours", json={"post_key": "scenario:3", "case_id": "rumour:c"}).json()
    assert back["post_count"] == 5
    assert client.get("/api/rumours").json()["total"] == 3


def test_split_merge_back_and_flag_back_keep_each_post_in_one_case(client: TestClient) -> None:
    ingest(client, [(str(i), i, f"post {i} over de brug in Haren") for i in range(1, 9)])
    save(client, rumour("rumour:a", ["1", "2", "3", "4"]), rumour("rumour:b", ["5", "6"], minutes=3))

    def count(case_id: str) -> int:
        return client.get(f"/api/rumours/{case_id}").json()["post_count"]

    # Split off and merged back: the posts are the case's again (they vanished from every view).
    split = client.post("/api/rumours/rumour:a/split", json={"post_keys": ["scenario:2", "scenario:3"]})
    c = split.json()["case_id"]
    assert (count("rumour:a"), count(c)) == (2, 2)
    assert client.post("/api/rumours/rumour:a/merge", json={"other": c}).status_code == 200
    assert count("rumour:a") == 4
    # Only a case's own posts can be split off it (b's post was then counted in two cases).
    refused = client.post("/api/rumours/rumour:a/split", json={"post_keys": ["scenario:5"]})
    assert refused.status_code == 422 and "not in this case" in refused.text
    # A post split off a merged-in case leaves that case.
    again = client.post("/api/rumours/rumour:a/split", json={"post_keys": ["scenario:3"]}).json()["case_id"]
    assert (count("rumour:a"), count(again)) == (3, 1)
    # Flagged back, a post leaves the case it was split into, whether the detector or a person put it in.
    hand = client.post("/api/rumours", json={"post_key": "scenario:7", "case_id": "rumour:b"}).json()
    assert hand["post_count"] == 3
    moved = client.post("/api/rumours/rumour:b/split", json={"post_keys": ["scenario:7", "scenario:5"]})
    moved_id = moved.json()["case_id"]
    assert (count("rumour:b"), count(moved_id)) == (1, 2)
    for key in ("scenario:7", "scenario:5"):
        assert client.post("/api/rumours", json={"post_key": key, "case_id": "rumour:b"}).status_code == 201
    assert (count("rumour:b"), count(moved_id)) == (3, 0)
    assert (
        client.post("/api/rumours", json={"post_key": "scenario:3", "case_id": "rumour:a"}).json()[
            "post_count"
        ]
        == 4
    )
    assert count(again) == 0


def test_an_incident_goes_through_analyse_advise_act_evaluate(client: TestClient) -> None:
    incident = client.post("/api/incidents", json={"title": "Project X Haren", "area": "Haren"}).json()
    incident_id = incident["incident_id"]
    ingest(
        client,
        [
            (str(i), i, "Is dit waar? Rellen bij de Kruisweg?" if i % 2 else "feest bij de Kruisweg")
            for i in range(40)
        ],
    )
    save(client, rumour("rumour:e", ["1", "3", "5"]), rumour("rumour:elsewhere", ["7"], area="Zwolle"))
    detail = client.get(f"/api/incidents/{incident_id}").json()
    assert detail["alert_ids"] == ["rumour:e"]  # auto-linked by area; Zwolle's stays out
    assert [c["case_id"] for c in detail["cases"]] == ["rumour:e"]

    draft = client.get(f"/api/incidents/{incident_id}/drafts/analysis", params={"hours": 1}).json()
    assert draft["figures"]["posts"] == 40
    assert draft["figures"]["question_share"] == 0.5
    assert set(draft["goals"]) == {"information_need", "damage_limitation", "sense_making"}
    assert any(e["kind"] == "case" for f in draft["goals"]["sense_making"] for e in f["evidence"])
    saved = client.post(
        f"/api/incidents/{incident_id}/entries", json={"step": "analyse", "body": draft}
    ).json()
    edited_body = {**saved["body"], "summary": "Onrust rond de Kruisweg; veel vragen."}
    edit = client.put(
        f"/api/incidents/{incident_id}/entries/{saved['entry_id']}", json={"body": edited_body, "version": 1}
    )
    assert edit.json()["version"] == 2
    stale = client.put(
        f"/api/incidents/{incident_id}/entries/{saved['entry_id']}", json={"body": edited_body, "version": 1}
    )
    assert stale.status_code == 409
    versions = client.get(f"/api/incidents/{incident_id}/entries/{saved['entry_id']}/versions").json()
    assert [v["body"]["summary"] for v in versions] == [
        draft["summary"],
        "Onrust rond de Kruisweg; veel vragen.",
    ]

    advice = client.get(f"/api/incidents/{incident_id}/drafts/advice", params={"lang": "en"}).json()
    assert advice["playbook"] == "rumour" and len(advice["checklist"]) >= 3
    assert advice["to"] == "mayor and crisis team"
    dutch = client.get(f"/api/incidents/{incident_id}/drafts/advice", params={"lang": "nl"}).json()
    assert dutch["to"] == "burgemeester en crisisteam"  # in the checklist's language, not English
    assert [i["item"] for i in dutch["checklist"]] != [i["item"] for i in advice["checklist"]]
    client.post(f"/api/incidents/{incident_id}/entries", json={"step": "advise", "body": advice})
    templates = client.get(f"/api/incidents/{incident_id}/templates").json()
    assert templates[0]["id"].startswith("rumour-")

    act = client.post(
        f"/api/incidents/{incident_id}/entries",
        json={
            "step": "act",
            "body": {"channel": "social", "message": "Er zijn geen rellen.", "case_id": "rumour:e"},
            "effective_at": "2012-09-21T18:20:00Z",
        },
    ).json()
    evaluation = client.post(
        f"/api/incidents/{incident_id}/entries",
        json={"step": "evaluate", "body": {"action_entry_id": act["entry_id"], "comment": "vragen namen af"}},
    ).json()
    effect = evaluation["body"]["effect"]
    assert (effect["posts_before"], effect["posts_after"]) == (20, 20)
    assert effect["rumour_posts_before"] == 3
    assert effect["question_share_before"] == 0.5
    assert effect["complete"] is False  # the stream ends at 18:39, before the hour after the action is over
    assert client.get(f"/api/incidents/{incident_id}/effects").json()[act["entry_id"]]["posts_after"] == 20

    bad = client.post(
        f"/api/incidents/{incident_id}/entries", json={"step": "act", "body": {"channel": "fax"}}
    )
    assert bad.status_code == 422
    steps = [e["step"] for e in client.get(f"/api/incidents/{incident_id}").json()["entries"]]
    assert sorted(steps) == sorted(["analyse", "advise", "act", "evaluate"])
    audit = client.get(f"/api/incidents/{incident_id}/audit").json()
    assert [a["action"] for a in audit][:3] == ["opened", "linked", "viewed"]
    assert {a["actor"] for a in audit} == {"local", "signaal"}
    # Who saw it is traced once per person per quarter hour, not once per page refresh.
    client.get(f"/api/incidents/{incident_id}")
    again = client.get(f"/api/incidents/{incident_id}/audit").json()
    assert [a["action"] for a in again].count("viewed") == 1


def test_the_audit_chain_breaks_where_a_row_was_changed(client: TestClient) -> None:
    save(client, rumour("rumour:f", ["1"]))
    for text in ("one", "two", "three"):
        client.post("/api/rumours/rumour:f/notes", json={"text": text})
    room = client.app.state.services.room.room  # type: ignore[attr-defined]
    assert room.verify_audit().ok
    with room._sessions.begin() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values(detail={"text": "changed"}))
    result = room.verify_audit()
    assert (result.ok, result.first_bad) == (False, 2)


def test_briefing_marks_what_changed_since(client: TestClient) -> None:
    save(client, rumour("rumour:g", ["1"]))
    assert client.get("/api/briefing").json() == {"at": None, "by": None}
    mark = client.post("/api/briefing", json={}).json()
    assert mark["by"] == "local"
    save(client, rumour("rumour:h", ["2"]))
    client.post("/api/rumours/rumour:g/status", json={"status": "checking"})
    changes = client.get("/api/briefing/changes").json()
    assert [a["id"] for a in changes["new_alerts"]] == ["rumour:h"]
    assert [c["subject"] for c in changes["case_changes"]] == ["rumour:rumour:g"]


def test_an_incident_exports_a_dossier_that_round_trips(client: TestClient, tmp_path: Path) -> None:
    import io
    import zipfile

    from pypdf import PdfReader

    from app.export import read_csv_export
    from app.room.models import Dossier

    incident_id = client.post("/api/incidents", json={"title": "Brand <Kruisweg>", "area": "Haren"}).json()[
        "incident_id"
    ]
    ingest(client, [(str(i), i, f"Rook bij de Kruisweg <img src=x onerror=alert({i})>") for i in range(6)])
    save(client, rumour("rumour:x", ["1", "2"]))
    client.post("/api/rumours/rumour:x/notes", json={"text": "checking with the fire service"})
    client.post(
        f"/api/incidents/{incident_id}/entries",
        json={"step": "act", "body": {"channel": "website", "message": "Houd ramen en deuren dicht."}},
    )

    response = client.get(f"/api/incidents/{incident_id}/export", params={"format": "json"})
    assert response.headers["content-disposition"].startswith('attachment; filename="signaal-incident-')
    dossier = Dossier.model_validate_json(response.content)
    assert dossier.incident.title == "Brand <Kruisweg>"
    assert [a.id for a in dossier.alerts] == ["rumour:x"]
    assert {p.key for p in dossier.posts} == {"scenario:1", "scenario:2"}
    assert all(p.author.startswith("p_") for p in dossier.posts)  # pseudonymised, never the handle
    assert dossier.audit_chain_ok
    assert [e.action for e in dossier.audit][:2] == ["opened", "linked"]

    zipped = client.get(f"/api/incidents/{incident_id}/export", params={"format": "csv"}).content
    path = tmp_path / "dossier.zip"
    path.write_bytes(zipped)
    assert "timeline.csv" in zipfile.ZipFile(path).namelist()
    again = read_csv_export(path)
    assert again.model_dump(exclude={"generated_at", "audit"}) == dossier.model_dump(
        exclude={"generated_at", "audit"}
    )

    pdf = client.get(f"/api/incidents/{incident_id}/export", params={"format": "pdf"}).content
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    assert "Brand <Kruisweg>" in "".join(page.extract_text() for page in reader.pages)
    # Each export is itself on the record.
    exports = [
        e for e in client.get(f"/api/incidents/{incident_id}/audit").json() if e["action"] == "exported"
    ]
    assert len(exports) == 3


def test_a_rumour_alert_reaches_dashboards_as_a_case_and_the_open_incident_links_it(
    client: TestClient,
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    incident = client.post("/api/incidents", json={"title": "Haren", "area": "Haren"}).json()
    with client.websocket_connect("/ws/live") as websocket:
        assert websocket.receive_json()["type"] == "hello"
        # What the consumer's detection thread does with a batch's alert updates: store them and pass them on.
        services.pipeline.publish_alerts([rumour("rumour:pushed", ["1"])])
        # Checked before reading the socket, which would wait for good for messages never sent.
        assert client.get(f"/api/incidents/{incident['incident_id']}").json()["alert_ids"] == [
            "rumour:pushed"
        ]
        kinds = {}
        while not {"alert", "incident", "case"} <= kinds.keys():
            message = websocket.receive_json()
            kinds[message["type"]] = message["data"]
    assert kinds["alert"]["id"] == "rumour:pushed"
    assert kinds["incident"]["incident_id"] == incident["incident_id"]
    assert kinds["case"]["case_id"] == "rumour:pushed"
    assert kinds["case"]["status"] == "new"
    assert [a["id"] for a in client.get("/api/alerts").json()["items"]] == ["rumour:pushed"]


def test_case_detail_carries_member_texts_and_the_answer_effect_is_marked_complete_in_time(
    client: TestClient,
) -> None:
    ingest(client, [("1", 0, "De dijk is doorgebroken"), ("2", 90, "Is de dijk echt doorgebroken?")])
    alert = rumour("rumour:dijk", ["1", "2"])
    save(client, alert.model_copy(update={"examples": alert.examples * 2}))  # the detector may repeat one
    client.post(
        "/api/rumours/rumour:dijk/answer",
        json={"text": "De dijk houdt.", "channel": "website", "published_at": "2012-09-21T18:10:00Z"},
    )
    detail = client.get("/api/rumours/rumour:dijk").json()
    assert [e["key"] for e in detail["examples"]] == ["scenario:1"]
    texts = [p["text"] for p in detail["posts"]]
    assert texts == ["De dijk is doorgebroken", "Is de dijk echt doorgebroken?"]
    assert detail["points"][0]["created_at"].startswith("2012-09-21T18:00")
    # The stream's clock stands at 19:30 (the newest post): the hour after 18:10 has passed.
    assert detail["effect"]["complete"] is True
    playbooks = client.get("/api/playbooks").json()
    assert {p["id"] for p in playbooks} == {"projectx", "rumour", "fire", "public_order"}
    incidents = client.post("/api/incidents", json={"title": "Dijk"}).json()
    client.post(
        f"/api/incidents/{incidents['incident_id']}/entries",
        json={"step": "act", "body": {"channel": "website", "message": "De dijk houdt."}},
    )
    assert client.get("/api/incidents").json()[0]["entry_count"] == 1


def test_an_answer_inside_a_spread_bucket_splits_it_between_before_and_after(client: TestClient) -> None:
    ingest(client, [("1", 0, "De dijk is doorgebroken"), ("2", 8, "Dijk doorgebroken!!")])
    save(client, rumour("rumour:dijk", ["1", "2"]))  # both posts in the spread bucket 18:00-18:10
    client.post(
        "/api/rumours/rumour:dijk/answer",
        json={"text": "De dijk houdt.", "channel": "website", "published_at": "2012-09-21T18:05:00Z"},
    )
    effect = client.get("/api/rumours/rumour:dijk").json()["effect"]
    # Half the bucket lies before the answer; counted whole as "before", the answer seemed to stop the spread.
    assert (effect["before"], effect["after"]) == (1, 1)


def test_effects_and_analysis_count_all_posts_not_the_sample_read(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counted from the newest 20,000 posts read, both sides of a big incident's action were 20,000.
    from app.room import service

    monkeypatch.setattr(service, "MAX_ANALYSED_POSTS", 5)
    ingest(client, [(str(i), i, f"Rook bij de Kruisweg {i}") for i in range(30)])  # 18:00-18:29
    incident_id = client.post("/api/incidents", json={"title": "Rook", "area": "Haren"}).json()["incident_id"]
    act = client.post(
        f"/api/incidents/{incident_id}/entries",
        json={
            "step": "act",
            "effective_at": (T0 + timedelta(minutes=20)).isoformat(),
            "body": {"channel": "website", "message": "Houd ramen dicht."},
        },
    ).json()
    effect = client.get(f"/api/incidents/{incident_id}/effects").json()[act["entry_id"]]
    assert (effect["posts_before"], effect["posts_after"]) == (20, 10)
    draft = client.get(f"/api/incidents/{incident_id}/drafts/analysis", params={"hours": 1}).json()
    assert draft["figures"]["posts"] == 30


def test_an_answer_naming_an_incident_number_past_any_database_integer_is_refused(client: TestClient) -> None:
    ingest(client, [("1", 0, "De dijk is doorgebroken")])
    save(client, rumour("rumour:dijk", ["1"]))
    body = {"text": "De dijk houdt.", "channel": "press", "incident_id": 2**63}  # schemathesis found a 500
    answer = client.post("/api/rumours/rumour:dijk/answer", json=body)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "incident_id"


def test_an_incident_collects_alerts_of_its_own_days_only(client: TestClient) -> None:
    incident = client.post("/api/incidents", json={"title": "Project X Haren"}).json()  # every area
    day, year = 24 * 60, 365 * 24 * 60
    save(client, rumour("rumour:first", ["1"]))  # the first alert sets the incident's time
    save(
        client,
        rumour("rumour:next-day", ["2"], minutes=day),
        rumour("rumour:replayed", ["3"], minutes=-2 * year),
    )
    save(client, rumour("rumour:weeks-later", ["4"], minutes=30 * day))
    linked = client.get(f"/api/incidents/{incident['incident_id']}").json()["alert_ids"]
    # An export of another year replayed into the room, or a new incident weeks later, is not this one's.
    assert linked == ["rumour:first", "rumour:next-day"]
    # Linking by hand still takes any alert.
    client.patch(f"/api/incidents/{incident['incident_id']}", json={"link_alerts": ["rumour:replayed"]})
    assert "rumour:replayed" in client.get(f"/api/incidents/{incident['incident_id']}").json()["alert_ids"]


def test_an_incident_closed_while_alerts_are_linked_takes_none(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # auto_link reads the open incidents without the write lock; one closed in between still got alerts.
    from contextlib import contextmanager

    from sqlalchemy import update

    from app.db.tables import IncidentRow

    room = client.app.state.services.room.room  # type: ignore[attr-defined]
    incident_id = client.post("/api/incidents", json={"title": "Haren", "area": "Haren"}).json()[
        "incident_id"
    ]
    locked = room._write

    @contextmanager
    def closed_meanwhile():  # type: ignore[no-untyped-def]
        with room._sessions.begin() as session:
            session.execute(update(IncidentRow).values(status="closed"))
        with locked() as session:
            yield session

    monkeypatch.setattr(room, "_write", closed_meanwhile)
    assert room.auto_link([rumour("rumour:late", ["1"])]) == []
    monkeypatch.undo()
    assert client.get(f"/api/incidents/{incident_id}").json()["alert_ids"] == []


def test_the_list_hints_which_open_cases_tell_the_same_claim_in_other_words(client: TestClient) -> None:
    def titled(alert_id: str, title: str) -> Alert:
        return rumour(alert_id, [alert_id[-1]]).model_copy(update={"title": title})

    save(
        client,
        titled("rumour:a", "Er is iemand doodgestoken bij de Rijksstraatweg in Haren"),
        titled("rumour:b", "Someone got stabbed at the Rijksstraatweg in Haren"),
        titled("rumour:c", "Het leger rukt uit naar Haren"),
        titled("rumour:d", "Army being sent to Haren"),
    )
    similar = {c["case_id"]: c["similar"] for c in client.get("/api/rumours").json()["items"]}
    assert [s["case_id"] for s in similar["rumour:a"]] == ["rumour:b"]
    assert similar["rumour:a"][0]["claim"] == "Someone got stabbed at the Rijksstraatweg in Haren"
    assert 0.4 <= similar["rumour:a"][0]["similarity"] <= 1.0
    assert [s["case_id"] for s in similar["rumour:c"]] == ["rumour:d"]

    # A closed case is no candidate any more: the room has dealt with it.
    version = client.get("/api/rumours/rumour:d").json()["version"]
    closed = client.post("/api/rumours/rumour:d/status", json={"status": "closed", "version": version})
    assert closed.status_code == 200
    listed = client.get("/api/rumours", params={"active": "false"}).json()["items"]
    assert {c["case_id"]: c["similar"] for c in listed}["rumour:c"] == []
    # The hint is gone once the room merges the two.
    version = client.get("/api/rumours/rumour:a").json()["version"]
    merged = client.post("/api/rumours/rumour:a/merge", json={"other": "rumour:b", "version": version})
    assert merged.status_code == 200
    after = {c["case_id"]: c["similar"] for c in client.get("/api/rumours").json()["items"]}
    assert after["rumour:a"] == [] and "rumour:b" not in after
