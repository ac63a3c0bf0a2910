"""The pipeline's storing step on SQLite and on the real PostgreSQL: what a retried batch hands on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import OperationalError

from app.consumer import _summary
from app.db.repository import Store
from app.db.session import make_engine, make_sessionmaker, upgrade
from app.db.tables import PostRow
from app.pipeline.runner import Pipeline
from streams.bus.base import Message
from tests.factories import make_post


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _batch() -> list[Message]:
    posts = [make_post(), make_post()]
    values = [p.model_dump_json().encode() for p in posts] + [b'{"broken": ']
    return [Message("posts", 0, offset, None, value, 0) for offset, value in enumerate(values)]


def _fail_once_on(engine: Engine, table: str) -> list[str]:
    failed: list[str] = []

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not failed and table in statement and statement.lstrip().upper().startswith("INSERT"):
            failed.append(statement)
            raise OperationalError(statement, None, Exception("connection lost"))

    event.listen(engine, "before_cursor_execute", fail)
    return failed


def test_a_batch_whose_dead_letters_failed_to_store_is_retried_whole(engine: Engine) -> None:
    # Stored in two steps, the retry found the posts already stored and the detectors never saw them.
    store = Store(make_sessionmaker(engine))
    pipeline = Pipeline(store, lambda posts: posts, "posts", "deadletter", on_stored=lambda posts: None)
    batch = _batch()
    failed = _fail_once_on(engine, "dead_letters")
    with pytest.raises(OperationalError):
        pipeline.store(batch)
    assert failed, "the dead-letter insert was not reached"
    assert store.count_posts() == 0
    assert len(pipeline.store(batch)) == 2  # the retry hands both posts on to the detectors
    assert store.count_posts() == 2
    assert store.dead_letters(10, 0)[0] == 1
    assert pipeline.store(batch) == []  # and once stored, a batch delivered again is nothing new


def test_a_failing_live_feed_does_not_fail_a_stored_batch(engine: Engine) -> None:
    store = Store(make_sessionmaker(engine))

    def live_feed_gone(posts: list[Any]) -> None:
        raise RuntimeError("event loop is closed")

    pipeline = Pipeline(store, lambda posts: posts, "posts", "deadletter", on_stored=live_feed_gone)
    assert len(pipeline.store(_batch())) == 2


def test_database_errors_shown_to_anyone_quote_no_stored_values(engine: Engine) -> None:
    # /readyz needs no sign-in and shows the consumer's last error; a database error's detail lines and
    # parameters quote the row (here a handle), so only its type and first line may be shown.
    row = {"platform": "x", "post_id": "1", "author": "jan_jansen_real", "text": None}
    with pytest.raises(Exception) as caught, engine.begin() as connection:
        connection.execute(insert(PostRow.__table__), row)
    assert "jan_jansen_real" not in _summary(caught.value)
    assert "parameters hidden" in str(caught.value)


def test_a_post_from_the_future_written_to_the_bus_directly_is_a_dead_letter(engine: Engine) -> None:
    # The edge adapters refuse such posts; a producer that writes Post JSON to Kafka itself skips them.
    store = Store(make_sessionmaker(engine))
    pipeline = Pipeline(store, lambda posts: posts, "posts", "deadletter")
    future = make_post(created_at=datetime.now(UTC) + timedelta(days=365))
    now = make_post(created_at=datetime.now(UTC))
    batch = [
        Message("posts", 0, n, None, p.model_dump_json().encode(), 0) for n, p in enumerate([future, now])
    ]
    assert [p.key for p in pipeline.store(batch)] == [now.key]
    total, [letter] = store.dead_letters(10, 0)
    assert total == 1 and "in the future" in letter.reason
    assert letter.source == "bus:posts/0@0"  # where to find the record on the bus
