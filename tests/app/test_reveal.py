"""Revealing an author: off by default; with SIGNAAL_REVEAL_KEY, a coordinator with a reason sees the
handle, the audit trail records who and why (never the handle), and nothing else ever shows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.app.test_api import wait_until_processed

LINE = json.dumps(
    {
        "platform": "scenario",
        "id": "9",
        "author": "@Merthe",
        "created_at": "2012-09-21T18:00:00Z",
        "text": "x",
    }
)


def _client(tmp_path: Path, **settings: object) -> TestClient:
    return TestClient(
        create_app(
            Settings(
                database_url=f"sqlite:///{tmp_path / 'reveal.db'}",
                kafka_bootstrap_servers=None,
                _env_file=None,
                **settings,
            )
        )
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path, reveal_key=Fernet.generate_key().decode()) as client:
        client.post("/api/ingest", content=LINE)
        wait_until_processed(client, 1)
        yield client


def test_a_coordinator_reveals_with_a_reason_and_it_is_audited(client: TestClient) -> None:
    refused = client.post("/api/posts/scenario:9/reveal", json={"reason": "short"})
    assert refused.status_code == 422
    revealed = client.post(
        "/api/posts/scenario:9/reveal", json={"reason": "Police request 2012-123 about a threat"}
    ).json()
    assert revealed["handle"] == "@Merthe"
    trail = client.app.state.services.room.room.audit_for(["post:scenario:9"])  # type: ignore[attr-defined]
    assert [(e.action, e.actor, e.detail) for e in trail] == [
        ("revealed", "local", {"reason": "Police request 2012-123 about a threat"})
    ]
    assert "Merthe" not in json.dumps([e.model_dump(mode="json") for e in trail])
    # The sealed handle is never served anywhere else.
    page = client.get("/api/posts").json()["items"][0]
    assert "author_sealed" not in page and "Merthe" not in json.dumps(page)
    assert (
        client.post("/api/posts/scenario:404/reveal", json={"reason": "a good enough reason"}).status_code
        == 404
    )


def test_without_a_reveal_key_nothing_can_be_revealed(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        client.post("/api/ingest", content=LINE)
        wait_until_processed(client, 1)
        answer = client.post("/api/posts/scenario:9/reveal", json={"reason": "a good enough reason"})
        assert answer.status_code == 409 and "SIGNAAL_REVEAL_KEY" in answer.json()["detail"]
        with client.app.state.services.store._sessions() as session:  # type: ignore[attr-defined]
            from sqlalchemy import select

            from app.db.tables import PostRow

            assert session.scalar(select(PostRow.author_sealed)) is None
