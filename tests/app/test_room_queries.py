"""Listing rumour cases and opening an incident cost a fixed number of SQL statements, however many cases.

The board polls ``/api/rumours`` and the incident page polls its detail every few seconds; building each
case with its own queries made both grow with the number of cases (N+1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


def _add_cases(room: Room, first: int, count: int) -> int:
    """``count`` more detector cases (every other one owned, the first merged into the next) and one
    flagged by hand, all linked to a new incident; returns the incident."""
    numbers = range(first, first + count)
    posts = [make_post(platform="scenario", id=f"q{i}") for i in numbers]
    room.store.add_posts(posts)
    alerts = [rumour(f"rumour:{i}", [f"q{i}"], minutes=i) for i in numbers]
    room.store.save_alerts(alerts)
    for alert in alerts[::2]:
        room.room.change_owner(alert.id, OwnerChange(owner="me"), "anna")
    room.room.merge(alerts[1].id, MergeIn(other=alerts[0].id), "anna")
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
    return incident.incident_id


def _statements_to_list_and_open(engine: Engine, room: Room, incident_id: int, cases: int) -> tuple[int, int]:
    with counted_statements(engine) as listing:
        total, items = room.room.list_cases(limit=500)
    assert total == len(items) == cases  # merged cases are left out, flagged ones are in
    with counted_statements(engine) as opening:
        detail = room.detail(incident_id)
    assert len(detail.cases) == len(detail.alerts) > 1  # a merged case counts inside the one it joined
    return len(listing), len(opening)


def test_listing_cases_and_opening_an_incident_do_not_query_per_case(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    room = Room(Store(sessions), RoomStore(sessions), PlaybookSet.load())
    try:
        few = _statements_to_list_and_open(engine, room, _add_cases(room, 0, 5), 5)
        many = _statements_to_list_and_open(engine, room, _add_cases(room, 5, 45), 50)
        assert many == few
    finally:
        engine.dispose()
