"""Retention deletes old posts and dead letters, keeps hourly counts and every incident's evidence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from app.config import Settings
from app.db.repository import Store
from app.db.room import RoomStore
from app.db.session import make_engine, make_sessionmaker, upgrade
from app.db.tables import HourlyVolumeRow, PostRow
from app.main import create_app
from app.retention import HeldWindow, RetentionReport, apply_retention
from tests.app.test_room_api import ingest, rumour, save
from tests.factories import make_post

NOW = datetime(2012, 10, 21, tzinfo=UTC)  # a month after the posts of test_room_api (2012-09-21)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}", kafka_bootstrap_servers=None, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_old_posts_go_counts_and_evidence_stay(client: TestClient) -> None:
    ingest(client, [(str(i), i, f"post {i}") for i in range(10)])  # during the incident
    ingest(client, [(f"old{i}", -600 - i, f"post old{i}") for i in range(8)])  # ten hours before it
    client.post("/api/ingest", content="{broken")
    client.post("/api/incidents", json={"title": "Haren", "area": "Haren"})
    save(client, rumour("rumour:kept", ["2", "3"]))  # auto-linked: its posts are evidence
    sessions = client.app.state.services.store._sessions  # type: ignore[attr-defined]
    before = client.get("/api/incidents/1/export", params={"format": "json"}).json()

    dry = apply_retention(sessions, days=7, actor="test", dry_run=True, now=NOW)
    assert (dry.posts_deleted, dry.posts_kept_as_evidence) == (8, 10)
    assert client.get("/api/posts").json()["total"] == 18

    report = apply_retention(sessions, days=7, actor="test", now=NOW)
    assert (report.posts_deleted, report.posts_kept_as_evidence) == (8, 10)
    # The dead letter was received now (wall clock), so it is younger than the horizon of 2012.
    assert report.dead_letters_deleted == 0
    remaining = {p["key"] for p in client.get("/api/posts").json()["items"]}
    assert remaining == {f"scenario:{i}" for i in range(10)}
    with sessions() as session:
        assert session.scalar(select(func.sum(HourlyVolumeRow.posts))) == 8
        assert session.scalar(select(HourlyVolumeRow.area)) == "Haren"

    again = apply_retention(sessions, days=7, actor="test", now=NOW)
    assert again.posts_deleted == 0
    with sessions() as session:
        assert session.scalar(select(func.sum(HourlyVolumeRow.posts))) == 8  # not counted twice
    # The dossier reads its evidence and its area's posts over its span: it is the same after retention.
    after = client.get("/api/incidents/1/export", params={"format": "json"}).json()
    assert {p["key"] for p in after["posts"]} == {"scenario:2", "scenario:3"}
    assert after["volume"] == before["volume"] and sum(p["count"] for p in after["volume"]) == 10
    trail = client.app.state.services.room.room.audit_for(["posts"])  # type: ignore[attr-defined]
    assert [e.detail["posts_deleted"] for e in trail] == [8, 0]

    later = apply_retention(sessions, days=7, actor="test", now=datetime.now(UTC) + timedelta(days=8))
    assert later.dead_letters_deleted == 1


def test_an_incident_holds_only_its_own_area_and_span() -> None:
    start = datetime(2024, 1, 1, 20, tzinfo=UTC)
    haren = HeldWindow(start, start + timedelta(hours=3), "Haren")
    assert haren.holds(start + timedelta(hours=1), "Haren")
    assert not haren.holds(start + timedelta(hours=1), "Groningen")
    assert not haren.holds(start + timedelta(hours=3), "Haren")
    assert not haren.holds(start - timedelta(seconds=1), "Haren")
    assert HeldWindow(start, start + timedelta(hours=3), None).holds(start, "Groningen")


def test_two_runs_over_the_same_posts_report_and_count_only_what_each_removed(database_url: str) -> None:
    """A second run (another service instance, or `signaal retention` beside the service) deletes the posts
    the first one has just read: the first must report, and count into hourly_volume, only what its own
    DELETE removed, so the runs' reports add up to the posts that are gone."""
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    Store(sessions).add_posts([make_post(platform="scenario") for _ in range(10)])
    reports: list[RetentionReport] = []
    other_started: list[bool] = []

    def other_run_right_after_the_first_reads(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "FROM posts" in statement and "posts.pk >" in statement and not other_started:
            other_started.append(True)
            reports.append(apply_retention(sessions, days=7, actor="other", now=NOW))

    event.listen(engine, "after_cursor_execute", other_run_right_after_the_first_reads)
    try:
        reports.append(apply_retention(sessions, days=7, actor="test", now=NOW))
    finally:
        event.remove(engine, "after_cursor_execute", other_run_right_after_the_first_reads)
    try:
        assert [r.posts_deleted for r in reports] == [10, 0]  # the other run finished first
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(PostRow)) == 0
            assert session.scalar(select(func.sum(HourlyVolumeRow.posts))) == 10
        trail = RoomStore(sessions).audit_for(["posts"])
        assert [(e.actor, e.detail["posts_deleted"]) for e in trail] == [("other", 10), ("test", 0)]
    finally:
        engine.dispose()
