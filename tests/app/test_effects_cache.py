"""``/api/incidents/{id}/effects`` is measured once and reused until something that can change it changes.

The incident page polls it every few seconds per viewer; each measure reads two hours of the area's posts
and every linked rumour case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.room import effects
from app.room.service import STREAM_REFRESH
from tests.app.test_room_api import ingest


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'effects.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _act(client: TestClient, incident_id: int, at: str) -> str:
    body = {"channel": "social", "message": "Er zijn geen rellen."}
    response = client.post(
        f"/api/incidents/{incident_id}/entries", json={"step": "act", "body": body, "effective_at": at}
    )
    assert response.status_code == 201
    entry_id: str = response.json()["entry_id"]
    return entry_id


def test_effects_are_measured_again_only_when_something_they_depend_on_changed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured: list[Any] = []
    real_measure = effects.measure

    def counting_measure(*args: Any, **kwargs: Any) -> Any:
        measured.append(args[0])
        return real_measure(*args, **kwargs)

    monkeypatch.setattr(effects, "measure", counting_measure)
    room = client.app.state.services.room  # type: ignore[attr-defined]
    seconds = [1000.0]
    monkeypatch.setattr(room, "_monotonic", lambda: seconds[0])

    opened = client.post("/api/incidents", json={"title": "Haren", "area": "Haren"})
    incident_id = opened.json()["incident_id"]
    ingest(client, [(str(i), i, "Is dit waar? Rellen bij de Kruisweg?") for i in range(40)])
    first_act = _act(client, incident_id, "2012-09-21T18:20:00Z")

    first = client.get(f"/api/incidents/{incident_id}/effects").json()
    assert first[first_act]["posts_before"] == 20 and first[first_act]["posts_after"] == 20
    assert len(measured) == 1
    assert client.get(f"/api/incidents/{incident_id}/effects").json() == first
    assert len(measured) == 1  # nothing changed: the second poll reuses the first measure

    # New posts count within a minute, not on every batch: they arrive all the time during an incident.
    ingest(client, [("late", 30, "nog een bericht uit Haren")])
    assert client.get(f"/api/incidents/{incident_id}/effects").json() == first
    seconds[0] += STREAM_REFRESH.total_seconds()
    refreshed = client.get(f"/api/incidents/{incident_id}/effects").json()
    assert len(measured) == 2 and refreshed[first_act]["posts_after"] == 21

    # A new action (any change in the room) is measured at once.
    second_act = _act(client, incident_id, "2012-09-21T18:30:00Z")
    both = client.get(f"/api/incidents/{incident_id}/effects").json()
    assert set(both) == {first_act, second_act}
    assert len(measured) == 4
    assert client.get(f"/api/incidents/{incident_id}/effects").json() == both
    assert len(measured) == 4
