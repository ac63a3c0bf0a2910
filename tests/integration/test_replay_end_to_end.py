"""Acceptance: replaying exports into a running service stores each post once and keeps broken lines.

Once on the embedded default (in-process bus, SQLite) and once on the real parts (Apache Kafka, PostgreSQL);
both must give the same totals.
"""

from __future__ import annotations

import os
import uuid
from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.session import make_engine
from streams.formats import read_records
from tests.integration.service import RunningService, running_service

DATA = Path(os.environ.get("SIGNAAL_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
FERGUSON = sorted((DATA / "pheme").glob("ferguson-*.json"))
FERGUSON_POSTS = 1143


def _broken_file(tmp_path: Path, good_lines: list[str]) -> Path:
    path = tmp_path / "with-broken-lines.jsonl"
    lines = [*good_lines, '{"id_str": "1", "text": "truncated', "not json at all", '{"created_at": 12}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check_replay(service: RunningService, files: list[Path], expected: int, tmp_path: Path) -> None:
    out = service.signaal("replay", *map(str, files), "--max")
    assert f"accepted {expected}, rejected 0" in out.stdout
    service.wait_until_processed(received=expected)
    assert service.get("/api/posts", limit=1)["total"] == expected

    service.signaal("replay", *map(str, files), "--max")
    counts = service.wait_until_processed(received=2 * expected)
    assert counts["duplicates"] == expected
    assert service.get("/api/posts", limit=1)["total"] == expected, "a replayed post was counted twice"

    letters_before = service.get("/api/deadletter")["total"]
    already_stored = [record.text for record in islice(read_records(files[0]), 2)]
    out = service.signaal("replay", str(_broken_file(tmp_path, already_stored)), "--max")
    assert "accepted 2, rejected 3" in out.stdout
    service.wait_until_processed(received=2 * expected + 2, rejected=3)
    assert service.get("/api/deadletter")["total"] == letters_before + 3
    assert service.get("/api/posts", limit=1)["total"] == expected
    reasons = [item["reason"] for item in service.get("/api/deadletter")["items"][:3]]
    assert all(reasons), "every dead letter says why"


@pytest.fixture
def scenario_file(tmp_path: Path) -> tuple[Path, int]:
    from streams.scenarios import projectx

    scenario = projectx.generate(town="Haren", seed=3, days_before=1)
    path = tmp_path / "scenario.jsonl"
    projectx.write(scenario, path)
    return path, len({record["id"] for record in scenario.records})


@pytest.mark.skipif(not FERGUSON, reason=f"PHEME data not found under {DATA}")
def test_pheme_ferguson_on_the_embedded_default(tmp_path: Path) -> None:
    with running_service(DATABASE_URL=f"sqlite:///{tmp_path / 'e2e.db'}") as service:
        _check_replay(service, FERGUSON, FERGUSON_POSTS, tmp_path)


def _kafka_env(kafka_bootstrap: str, postgres_url: str) -> dict[str, str]:
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    run = uuid.uuid4().hex[:8]
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": postgres_url,
        "SIGNAAL_TOPIC_POSTS": f"e2e-{run}.posts",
        "SIGNAAL_TOPIC_DEADLETTER": f"e2e-{run}.deadletter",
        "SIGNAAL_TOPIC_ALERTS": f"e2e-{run}.alerts",
        "SIGNAAL_CONSUMER_GROUP": f"e2e-{run}",
    }


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.skipif(not FERGUSON, reason=f"PHEME data not found under {DATA}")
def test_pheme_ferguson_through_kafka_into_postgresql(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> None:
    with running_service(**_kafka_env(kafka_bootstrap, postgres_url)) as service:
        _check_replay(service, FERGUSON, FERGUSON_POSTS, tmp_path)


@pytest.mark.kafka
@pytest.mark.postgres
def test_generated_scenario_through_kafka_into_postgresql(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path, scenario_file: tuple[Path, int]
) -> None:
    path, expected = scenario_file
    with running_service(**_kafka_env(kafka_bootstrap, postgres_url)) as service:
        _check_replay(service, [path], expected, tmp_path)
