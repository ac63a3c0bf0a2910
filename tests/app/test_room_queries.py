"""Listing rumour cases and opening an incident cost a fixed number of SQL statements, however many cases.

The board polls ``/api/rumours`` and the incident page polls its detail every few seconds; building each
case with its own queries made both grow with the number of cases (N+1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event

from app.db.repository import Store
from app.db.room import RoomStore
from app.db.session import make_engine, make_sessionmaker, upgrade
from app.playbooks import PlaybookSet
from app.room.models import FlagIn, IncidentIn, MergeIn, OwnerChange
from app.room.service import Room
from tests.app.test_room_api import rumour
from tests.factories import make_post


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _room_with_cases(tmp_path: Path, cases: int) -> tuple[Engine, Room, int]:
    """``cases`` detector cases (some owned, one merged into another) and one case flagged by hand, all
    linked to one incident."""
    engine = make_engine(f"sqlite:///{tmp_path / f'cases{cases}.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    store = Store(sessions)
    room = Room(store, RoomStore(sessions), PlaybookSet.load())
    posts = [make_post(platform="scenario", id=f"q{cases}-{i}") for i in range(cases)]
    store.add_posts(posts)
    alerts = [rumour(f"rumour:{cases}-{i}", [f"q{cases}-{i}"], minutes=i) for i in range(cases)]
    store.save_alerts(alerts)
    for alert in alerts[::2]:
        room.room.change_owner(alert.id, OwnerChange(owner="me"), "anna")
    room.room.merge(alerts[0].id, MergeIn(other=alerts[1].id), "anna")
    flagged = room.room.flag(FlagIn(post_key=posts[-1].key, claim="by hand"), "anna")
    incident = room.room.open_incident(
        IncidentIn(
            title="Haren",
            area="Haren",
            alert_ids=[a.id for a in alerts],
            case_ids=[*(a.id for a in alerts), flagged.case_id],
        ),
        "anna",
    )
    return engine, room, incident.incident_id


def _statements_to_list_and_open(tmp_path: Path, cases: int) -> tuple[int, int]:
    engine, room, incident_id = _room_with_cases(tmp_path, cases)
    try:
        with counted_statements(engine) as listing:
            total, items = room.room.list_cases(limit=500)
        assert total == cases  # the merged case is left out, the flagged one is in
        assert sum(c.owner == "anna" for c in items) == (cases + 1) // 2
        with counted_statements(engine) as opening:
            detail = room.detail(incident_id)
        assert len(detail.alerts) == cases
        assert len(detail.cases) == cases  # the merged case counts inside the case it was merged into
        return len(listing), len(opening)
    finally:
        engine.dispose()


def test_listing_cases_and_opening_an_incident_do_not_query_per_case(tmp_path: Path) -> None:
    few = _statements_to_list_and_open(tmp_path, 5)
    many = _statements_to_list_and_open(tmp_path, 50)
    assert many == few
