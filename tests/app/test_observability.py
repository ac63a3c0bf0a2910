"""Operators' view: Prometheus metrics reflect what the pipeline did, logs can be JSON lines."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from app.observability import configure_logging
from tests.app.test_api import native, wait_until_processed


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'metrics.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        yield client


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_posts_in_out_and_rejected(client: TestClient) -> None:
    before = samples(client)
    assert before[("signaal_pipeline_received_total", ())] == 0
    client.post("/api/ingest", content="\n".join([native("1"), native("2"), native("1"), "{broken"]))
    wait_until_processed(client, 3)
    deadline = time.monotonic() + 30
    while (after := samples(client))[("signaal_pipeline_rejected_total", ())] < 1:  # its own topic
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert after[("signaal_pipeline_received_total", ())] == 3
    assert after[("signaal_pipeline_stored_total", ())] == 2
    assert after[("signaal_pipeline_duplicates_total", ())] == 1
    assert after[("signaal_pipeline_rejected_total", ())] == 1
    assert after[("signaal_consumer_healthy", ())] == 1
    ingest_calls = [
        value
        for (name, labels), value in after.items()
        if name == "signaal_http_request_seconds_count" and ("route", "/api/ingest") in labels
    ]
    assert ingest_calls == [1]
    stages = {
        dict(labels)["stage"]: v
        for (name, labels), v in after.items()
        if name == "signaal_stage_seconds_total"
    }
    assert set(stages) == {"decode_enrich", "store", "detect", "publish"} and stages["store"] > 0
    detectors = {
        dict(labels)["detector"]
        for (name, labels), _ in after.items()
        if name == "signaal_detector_seconds_total"
    }
    assert detectors == {"SpikeDetector", "MobilisationDetector", "RumourDetector"}


def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO, json_logs=True)
    try:
        logging.getLogger("signaal.test").warning("consumer lag %d", 42, extra={"topic": "signaal.posts"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        configure_logging(logging.INFO, json_logs=False)
    record = json.loads(line)
    assert record["message"] == "consumer lag 42"
    assert (record["level"], record["logger"], record["topic"]) == (
        "WARNING",
        "signaal.test",
        "signaal.posts",
    )


def test_tokens_in_logged_urls_are_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    # uvicorn logs a WebSocket's path with its query when the socket opens or is refused.
    configure_logging(logging.INFO, json_logs=False)
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3YWxsIn0.c2lnbmF0dXJl"
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "1.2.3.4", f"/ws/live?token={secret}"
    )
    logging.getLogger("signaal.test").warning(f"opened /ws/live?x=1&token={secret}&y=2")
    output = capsys.readouterr().err
    assert secret not in output
    assert "/ws/live?token=[hidden]" in output and "&token=[hidden]&y=2" in output


METRICS_TOKEN = "a-scrape-token-for-prometheus-only"


def test_metrics_ask_for_the_scrape_token_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'metrics.db'}",
        kafka_bootstrap_servers=None,
        metrics_token=METRICS_TOKEN,
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        anonymous = client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert "signaal_" not in anonymous.text
        for wrong in ("Bearer not-the-token", f"Basic {METRICS_TOKEN}", METRICS_TOKEN, "Bearer "):
            assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 401
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "signaal_pipeline_received_total" in scraped.text


def test_an_empty_metrics_token_leaves_metrics_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNAAL_METRICS_TOKEN", "")  # docker-compose passes unset variables as empty
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'metrics.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    assert settings.metrics_token is None
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("metrics_token", [None, METRICS_TOKEN])
def test_production_warns_when_metrics_are_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, metrics_token: str | None
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'prod.db'}",
        kafka_bootstrap_servers=None,
        environment="production",
        jwt_secret="a-production-secret-of-at-least-32-characters",
        pseudonym_key="a-production-pseudonym-key",
        metrics_token=metrics_token,
        warm_start_hours=0,
        _env_file=None,
    )
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)):
        pass
    warned = [r.getMessage() for r in caplog.records if "SIGNAAL_METRICS_TOKEN" in r.getMessage()]
    if metrics_token is None:
        assert len(warned) == 1 and "/metrics" in warned[0]
    else:
        assert warned == []
