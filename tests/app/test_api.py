"""The service end to end in one process: ingest -> bus -> consumer -> storage -> REST and WebSocket."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def wait_for_total(
    client: TestClient, expected: int, path: str = "/api/posts", timeout_s: float = 10
) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(path).json()
        if body["total"] == expected or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_until_processed(client: TestClient, received: int, timeout_s: float = 30) -> None:
    """Until the pipeline has stored ``received`` posts and the detectors have seen them all."""
    deadline = time.monotonic() + timeout_s
    while True:
        pipeline = client.get("/api/status").json()["pipeline"]
        if pipeline["received"] >= received and pipeline["detected"] >= pipeline["stored"]:
            return
        assert time.monotonic() < deadline, "pipeline did not finish"
        time.sleep(0.05)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        yield client


def native(post_id: str, text: str = "Feest in Haren vanavond!", **extra: object) -> str:
    record = {
        "platform": "scenario",
        "id": post_id,
        "author": "@merthe",
        "created_at": "2012-09-21T18:00:00Z",
        "text": text,
        **extra,
    }
    return json.dumps(record)


def test_ingested_posts_are_stored_once_and_broken_lines_dead_lettered(client: TestClient) -> None:
    body = "\n".join([native("1"), native("2"), "{broken", native("3"), '{"platform": "x"}', ""])
    result = client.post("/api/ingest", content=body, params={"source": "unit"}).json()
    assert (result["accepted"], result["rejected"]) == (3, 2)
    assert [error["line"] for error in result["errors"]] == [3, 5]

    assert wait_for_total(client, 3)["total"] == 3
    assert wait_for_total(client, 2, "/api/deadletter")["total"] == 2

    again = client.post("/api/ingest", content=body, params={"source": "unit"}).json()
    assert again["accepted"] == 3
    time.sleep(0.5)
    assert client.get("/api/posts").json()["total"] == 3
    assert client.get("/api/deadletter").json()["total"] == 2
    assert client.get("/api/status").json()["pipeline"]["duplicates"] == 3

    # A sender that names no source and retries (after a 503, say) sends the same body: same dead letters.
    unnamed = "\n".join(["{also broken", native("4")])
    for _ in range(2):
        assert client.post("/api/ingest", content=unnamed).json()["rejected"] == 1
    assert wait_for_total(client, 3, "/api/deadletter")["total"] == 3
    time.sleep(0.5)
    assert client.get("/api/deadletter").json()["total"] == 3


def test_authors_are_pseudonymised_and_posts_enriched(client: TestClient) -> None:
    client.post(
        "/api/ingest",
        content=native("7", "Rellen in Haren, politie is er", coordinates={"lat": 53.17, "lon": 6.61}),
    )
    [post] = wait_for_total(client, 1)["items"]
    assert "merthe" not in json.dumps(post)
    assert post["author"].startswith("p_")
    assert post["area"] == "Haren"
    assert post["places"] == ["Haren"]
    assert post["lang"] == "nl"
    assert post["cell"]


def test_a_post_is_found_by_its_platform_id(client: TestClient) -> None:
    client.post("/api/ingest", content="\n".join([native("41", "eerste"), native("42", "tweede")]))
    wait_for_total(client, 2)
    post = client.get("/api/posts/scenario:42").json()
    assert (post["key"], post["text"]) == ("scenario:42", "tweede")
    assert client.get("/api/posts/scenario:43").status_code == 404
    assert client.get("/api/posts/twitter:42").status_code == 404  # the platform is part of the key


def test_the_api_docs_need_no_internet(client: TestClient) -> None:
    for page_url in ("/docs", "/redoc"):
        page = client.get(page_url)
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assets += re.findall(r"""url: ["']([^"']+)["']""", page.text)
        assert assets and all(a.startswith("/") for a in assets), assets  # nothing from another host
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def test_a_line_not_in_utf8_is_refused_clearly_and_kept(client: TestClient) -> None:
    result = client.post("/api/ingest", content=native("8").encode() + b"\n\xff\xfe{}\n").json()
    assert result["rejected"] == 1
    assert "UTF-8" in result["errors"][0]["reason"]
    [letter] = wait_for_total(client, 1, "/api/deadletter")["items"]
    assert letter["raw_bytes"] == 4


def test_query_parameters_are_validated(client: TestClient) -> None:
    assert client.get("/api/posts", params={"bbox": "1,2,3"}).status_code == 422
    assert client.get("/api/posts", params={"bbox": "7,53,6,54"}).status_code == 422
    assert client.get("/api/posts", params={"since": "2012-09-21T18:00:00"}).status_code == 422
    assert client.post("/api/ingest", params={"format": "myspace"}, content="{}").status_code == 422


def test_volume_per_minute(client: TestClient) -> None:
    lines = [native(str(i), created_at=f"2012-09-21T18:0{i // 3}:0{i % 3}Z") for i in range(6)]
    client.post("/api/ingest", content="\n".join(lines))
    wait_for_total(client, 6)
    volume = client.get("/api/stats/volume", params={"bucket": 60}).json()
    assert [p["count"] for p in volume["points"]] == [3, 3]
    assert volume["points"][0]["start"].startswith("2012-09-21T18:00:00")


def test_live_websocket_pushes_new_posts(client: TestClient) -> None:
    with client.websocket_connect("/ws/live") as websocket:
        assert websocket.receive_json()["type"] == "hello"
        client.post("/api/ingest", content=native("42", "<script>alert(1)</script>"))
        message = websocket.receive_json()
    assert message["type"] == "posts"
    [post] = message["data"]
    assert post["key"] == "scenario:42"
    assert post["text"] == "<script>alert(1)</script>"  # escaped where shown, not here
    assert "author" not in post


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "bus": True, "consumer": True}
    assert client.get("/openapi.json").json()["paths"]["/api/ingest"]


def test_status_says_whether_the_pipeline_runs_compiled(client: TestClient) -> None:
    # make test runs this twice: on the plain Python, then after make compile.
    import app.pipeline.spikes as spikes

    expected = "pure Python" if spikes.__file__.endswith(".py") else "compiled (mypyc)"
    assert client.get("/api/status").json()["build"] == expected


def test_a_scenario_through_the_service_yields_alerts_with_history(client: TestClient) -> None:
    from streams.scenarios import projectx

    scenario = projectx.generate(town="Haren", seed=4, days_before=3)
    lines = [json.dumps(record) for record in scenario.records]
    for start in range(0, len(lines), 2000):
        client.post("/api/ingest", content="\n".join(lines[start : start + 2000]), params={"source": "px"})
    assert wait_for_total(client, len(lines), timeout_s=60)["total"] == len(lines)
    wait_until_processed(client, len(lines))  # posts are visible before their batch's alerts are saved

    alerts = client.get("/api/alerts", params={"limit": 500}).json()
    kinds = {alert["kind"] for alert in alerts["items"]}
    assert {"mobilisation", "rumour", "spike"} <= kinds
    call = next(a for a in alerts["items"] if a["kind"] == "mobilisation")
    assert call["playbook"] == "projectx"
    assert call["detected_at"] < scenario.truth.gathering.at.isoformat().replace("+00:00", "Z")
    history = client.get(f"/api/alerts/{call['id']}/history").json()
    assert [a["revision"] for a in history] == list(range(1, call["revision"] + 1))
    assert client.get(f"/api/alerts/{call['id']}").json()["revision"] == call["revision"]
    assert client.get("/api/alerts/nothing-like-this").status_code == 404

    rumours = client.get("/api/rumours").json()
    rumour_alerts = {a["id"] for a in alerts["items"] if a["kind"] == "rumour"}
    assert rumours["total"] == len(rumour_alerts) >= 1
    assert {case["alert_id"] for case in rumours["items"]} <= rumour_alerts
    assert {case["status"] for case in rumours["items"]} == {"new"}
    assert client.get("/api/status").json()["pipeline"]["alert_updates"] >= alerts["total"]
