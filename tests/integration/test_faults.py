"""Faults on the real parts: nothing accepted is lost, nothing is counted twice, alerts stay consistent.

These tests break the services the suite runs on — the broker is killed with SIGKILL and restarted, the
PostgreSQL cluster is stopped and started, the service is killed — through the same scripts `make test` uses
(``scripts/kafka-local``, ``scripts/postgres-local``), and always bring them back before they end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db.session import make_engine
from tests.integration.service import REPO, RunningService, running_service
from tests.integration.test_replay_end_to_end import _kafka_env

KAFKA_PID = REPO / ".local" / "kafka" / "kafka.pid"


def _script(name: str, action: str) -> str:
    result = subprocess.run(
        [str(REPO / "scripts" / name), action], capture_output=True, text=True, timeout=180, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def local_kafka(kafka_bootstrap: str) -> Iterator[str]:
    """The broker of scripts/kafka-local (the one this run started), which the test may kill."""
    if not KAFKA_PID.exists():
        pytest.skip("the broker is not managed by scripts/kafka-local here; cannot kill it")
    yield kafka_bootstrap
    _script("kafka-local", "start")  # whatever happened, leave a broker behind for the next tests


def _kill_broker() -> None:
    os.kill(int(KAFKA_PID.read_text().strip()), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{KAFKA_PID.read_text().strip()}").exists():
        assert time.monotonic() < deadline, "the broker survived SIGKILL"
        time.sleep(0.1)


@pytest.fixture
def scenario(tmp_path: Path) -> tuple[Path, int]:
    """A Project X stream whose posts are re-timed 2 ms apart, so `replay --speed 1` takes about 20 s:
    long enough to break things in the middle of it."""
    from streams.scenarios import projectx

    generated = projectx.generate(town="Haren", seed=2, days_before=2)
    start = datetime(2012, 9, 20, tzinfo=UTC)
    records = sorted(generated.records, key=lambda r: r["created_at"])
    for number, record in enumerate(records):
        record["created_at"] = (start + timedelta(milliseconds=2 * number)).isoformat()
    path = tmp_path / "scenario.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, len({record["id"] for record in records})


def _replay(service: RunningService, path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "replay", str(path), *(extra or ("--max",))],
        env=service.env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _total(service: RunningService) -> int:
    return int(service.get("/api/posts", limit=1)["total"])


def _wait_for_total(service: RunningService, expected: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while (total := _total(service)) < expected:
        assert time.monotonic() < deadline, f"only {total} of {expected} posts stored"
        time.sleep(0.5)
    time.sleep(2)  # anything still in flight would now show up as a post counted twice
    assert _total(service) == expected


def _assert_alerts_consistent(service: RunningService) -> None:
    alerts = service.get("/api/alerts", limit=500)["items"]
    assert alerts, "the detectors saw the stream"
    for alert in alerts:
        history = service.get(f"/api/alerts/{alert['id']}/history")
        assert [a["revision"] for a in history] == list(range(1, alert["revision"] + 1)), alert["id"]
        assert alert["post_count"] >= len(alert["member_ids"])


@pytest.mark.kafka
@pytest.mark.postgres
def test_broker_killed_and_restarted_mid_replay(
    local_kafka: str, postgres_url: str, scenario: tuple[Path, int]
) -> None:
    path, expected = scenario
    with running_service(**_kafka_env(local_kafka, postgres_url)) as service:
        producer = _replay(service, path, "--speed", "1")
        deadline = time.monotonic() + 120
        while _total(service) < expected // 5:
            assert time.monotonic() < deadline and producer.poll() is None, "replay did not get going"
            time.sleep(0.2)
        _kill_broker()
        time.sleep(3)
        assert httpx.get(service.url + "/readyz", timeout=5).json()["checks"]["bus"] is False
        _script("kafka-local", "start")
        out, err = producer.communicate(timeout=600)
        assert producer.returncode == 0, err[-2000:]
        assert f"accepted {expected}, rejected 0" in out
        _wait_for_total(service, expected)
        _assert_alerts_consistent(service)
        assert httpx.get(service.url + "/readyz", timeout=5).status_code == 200


@pytest.mark.kafka
@pytest.mark.postgres
def test_service_killed_and_restarted_resumes_from_committed_offsets(
    kafka_bootstrap: str, postgres_url: str, scenario: tuple[Path, int]
) -> None:
    path, expected = scenario
    env = _kafka_env(kafka_bootstrap, postgres_url)
    with running_service(**env) as first:
        # Paced, and killed while the replay still runs: at full speed a fast service stored everything
        # before it could be killed. The producer writes to Kafka, so it does not need the service.
        producer = _replay(first, path, "--speed", "1")
        deadline = time.monotonic() + 120
        while _total(first) < expected // 3:
            assert time.monotonic() < deadline and producer.poll() is None, "replay did not get going"
            time.sleep(0.1)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    _, err = producer.communicate(timeout=600)
    assert producer.returncode == 0, err[-2000:]
    stored_by_first = _count_posts(postgres_url)
    assert stored_by_first < expected, (
        f"the service finished before it could be killed; use more posts\n{first.log_tail()}"
    )

    with running_service(**env) as second:
        _wait_for_total(second, expected)
        counts = second.pipeline()
        # Exactly the rest is stored; what comes again is only what was in flight when the first one died.
        assert counts["stored"] == expected - stored_by_first
        assert counts["duplicates"] <= 3 * 1000  # one uncommitted batch per partition at most
        _assert_alerts_consistent(second)


def _count_posts(database_url: str, timeout_s: float = 30) -> int:
    """Posts stored, once no other session is connected: the server may still be finishing a COMMIT that
    the killed service sent just before it died, and a count taken meanwhile would miss that batch."""
    engine = make_engine(database_url)
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    try:
        with engine.connect() as connection:
            deadline = time.monotonic() + timeout_s
            while (sessions := int(connection.execute(others).scalar_one())) > 0:
                assert time.monotonic() < deadline, f"{sessions} session(s) of the killed service linger"
                connection.rollback()  # the activity view is a snapshot per transaction
                time.sleep(0.1)
            return int(connection.execute(text("SELECT count(*) FROM posts")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.kafka
@pytest.mark.postgres
def test_database_restart_pauses_the_consumer_and_loses_nothing(
    kafka_bootstrap: str, postgres_url: str, scenario: tuple[Path, int]
) -> None:
    path, expected = scenario
    with running_service(**_kafka_env(kafka_bootstrap, postgres_url)) as service:
        _script("postgres-local", "stop")
        try:
            producer = _replay(service, path)  # to Kafka: the producer does not need the database
            _, err = producer.communicate(timeout=600)
            assert producer.returncode == 0, err[-2000:]
            deadline = time.monotonic() + 60
            while True:
                ready = httpx.get(service.url + "/readyz", timeout=10)
                if ready.status_code == 503 and ready.json()["checks"]["consumer"] is False:
                    break
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.5)
            assert ready.json()["checks"]["database"] is False
            assert service.process.poll() is None, "the service crashed instead of waiting"
        finally:
            _script("postgres-local", "start")
        _wait_for_total(service, expected)
        deadline = time.monotonic() + 60
        while httpx.get(service.url + "/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        _assert_alerts_consistent(service)
