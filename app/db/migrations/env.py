"""Alembic environment: runs on the connection handed over by app.db.session.upgrade, or on DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.db.tables import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from app.config import get_settings
    from app.db.session import make_engine

    with make_engine(get_settings().database_url).begin() as connection:
        _run(connection)


run_migrations_online()
