"""Reading and writing posts and dead letters. The only module that builds SQL for them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float as FloatType

from app.db.tables import AlertRevisionRow, AlertRow, DeadLetterRow, PostRow
from app.pipeline.alerts import Alert, AlertKind
from streams.deadletter import DeadLetter
from streams.post import Coordinates, Post


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970 of a timestamp column, in each dialect's own words."""

    type = FloatType()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class PostQuery:
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    text: str | None = None
    area: str | None = None
    limit: int = 100
    offset: int = 0


def _row_from_post(post: Post, stored_at: datetime) -> dict[str, object]:
    return {
        "platform": post.platform,
        "post_id": post.id,
        "author": post.author,
        "author_sealed": post.author_sealed,
        "created_at": post.created_at,
        "text": post.text,
        "lang": post.lang,
        "lat": post.coordinates.lat if post.coordinates else None,
        "lon": post.coordinates.lon if post.coordinates else None,
        "place": post.place,
        "places": list(post.places),
        "area": post.area,
        "cell": post.cell,
        "url": post.url,
        "reply_to": post.reply_to,
        "repost_of": post.repost_of,
        "quote_of": post.quote_of,
        "likes": post.likes,
        "reposts": post.reposts,
        "replies": post.replies,
        "quotes": post.quotes,
        "stored_at": stored_at,
    }


def post_from_row(row: PostRow) -> Post:
    coordinates = (
        Coordinates(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None
    )
    return Post(
        platform=row.platform,
        id=row.post_id,
        author=row.author,
        created_at=row.created_at,
        text=row.text,
        lang=row.lang,
        coordinates=coordinates,
        place=row.place,
        reply_to=row.reply_to,
        repost_of=row.repost_of,
        quote_of=row.quote_of,
        url=row.url,
        likes=row.likes,
        reposts=row.reposts,
        replies=row.replies,
        quotes=row.quotes,
        cell=row.cell,
        places=tuple(row.places or ()),
        area=row.area,
        author_sealed=row.author_sealed,
    )


def _insert_statement(session: Session, table):  # type: ignore[no-untyped-def]
    """INSERT in the session's dialect, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect](table)


def dialect_insert(session: Session, table, rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    return _insert_statement(session, table).values(rows)


def _insert_ignoring_duplicates(session: Session, table, rows: list[dict[str, object]], keys: list[str]):  # type: ignore[no-untyped-def]
    return dialect_insert(session, table, rows).on_conflict_do_nothing(index_elements=keys)


_POST_COLUMNS = tuple(column.name for column in PostRow.__table__.columns if column.name != "pk")
_PLACES = _POST_COLUMNS.index("places")  # a JSON column: COPY takes its text
_STAGING = "incoming_posts"


def _insert_new_posts(session: Session, rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    """Insert the rows whose (platform, id) is not stored yet; the keys of those inserted."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy_new_posts(session, rows)
    # One statement with many parameter sets: SQLAlchemy sends it in batches ("insertmanyvalues").
    statement = (
        _insert_statement(session, PostRow.__table__)
        .on_conflict_do_nothing(index_elements=["platform", "post_id"])
        .returning(PostRow.platform, PostRow.post_id)
    )
    return {(platform, post_id) for platform, post_id in session.execute(statement, rows)}


def _copy_new_posts(session: Session, rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    """PostgreSQL: COPY the batch into a per-connection staging table, then one INSERT .. SELECT that skips
    the posts already stored; returns the keys of those that were new.

    Why not an INSERT with many parameter sets: psycopg parses the SQL of each such statement afresh; for a
    batch of 1,000 posts (22,000 placeholders) that parsing was three quarters of the service's CPU and capped
    it at ~3,000 posts/s. COPY sends rows without SQL; the duplicate check stays in the database.
    """
    columns = ", ".join(_POST_COLUMNS)
    # A temporary table lives as long as the pooled connection; ON COMMIT DELETE ROWS empties it after each
    # batch, and a rolled-back batch takes its rows with it. ``arrival`` keeps the batch's order for the ids.
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} ON COMMIT DELETE ROWS AS "
            f"SELECT {columns}, 0 AS arrival FROM posts WITH NO DATA"
        )
    )
    driver = session.connection().connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection was closed while storing posts")
    copy_rows = f"COPY {_STAGING} ({columns}, arrival) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(copy_rows) as copy:
        for arrival, row in enumerate(rows):
            values = [row[name] for name in _POST_COLUMNS]
            values[_PLACES] = orjson.dumps(values[_PLACES]).decode()
            values.append(arrival)
            copy.write_row(values)
    inserted = session.execute(
        text(
            f"INSERT INTO posts ({columns}) SELECT {columns} FROM {_STAGING} ORDER BY arrival "
            "ON CONFLICT (platform, post_id) DO NOTHING RETURNING platform, post_id"
        )
    )
    return {(platform, post_id) for platform, post_id in inserted}


@dataclass(frozen=True)
class AlertQuery:
    kind: AlertKind | None = None
    since: datetime | None = None
    area: str | None = None
    limit: int = 100
    offset: int = 0


class Store:
    """Idempotent storage: a post is kept once per (platform, id), a dead letter once per (source, bytes)."""

    # Rows read per query when replaying stored batches.
    CHUNK = 2000

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_posts(self, posts: Iterable[Post]) -> list[Post]:
        """Store the posts not seen before and return exactly those, in input order."""
        return self.add_batch(posts, ())[0]

    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> int:
        """Keep the rejected records; returns how many were new."""
        return self.add_batch((), letters)[1]

    def add_batch(self, posts: Iterable[Post], letters: Iterable[DeadLetter]) -> tuple[list[Post], int]:
        """Store a batch's new posts and its dead letters in one transaction: the new posts in input order,
        and how many dead letters were new. All or nothing, so a batch retried after a failure finds none of
        it stored and hands every new post to the detectors; stored in two steps, the retry would find its
        posts stored and the detectors would never see them."""
        unique: dict[tuple[str, str], Post] = {}
        for post in posts:
            unique.setdefault((post.platform, post.id), post)
        now = datetime.now(UTC)
        post_rows = [_row_from_post(p, now) for p in unique.values()]
        letter_rows = {
            letter.key: {
                "letter_key": letter.key,
                "source": letter.source,
                "reason": letter.reason,
                "raw": letter.raw,
                "raw_bytes": letter.raw_bytes,
                "raw_sha256": letter.raw_sha256,
                "received_at": letter.received_at,
            }
            for letter in letters
        }
        if not post_rows and not letter_rows:
            return [], 0
        new_keys: set[tuple[str, str]] = set()
        added = 0
        with self._sessions.begin() as session:
            if post_rows:
                new_keys = _insert_new_posts(session, post_rows)
            if letter_rows:
                statement = (
                    _insert_statement(session, DeadLetterRow.__table__)
                    .on_conflict_do_nothing(index_elements=["letter_key"])
                    .returning(DeadLetterRow.pk)
                )
                added = len(session.execute(statement, list(letter_rows.values())).all())
        return [p for key, p in unique.items() if key in new_keys], added

    def _post_filters(self, query: PostQuery) -> list[ColumnElement[bool]]:
        filters: list[ColumnElement[bool]] = []
        if query.since:
            filters.append(PostRow.created_at >= query.since)
        if query.until:
            filters.append(PostRow.created_at < query.until)
        if query.bbox:
            min_lon, min_lat, max_lon, max_lat = query.bbox
            filters += [
                PostRow.lon >= min_lon,
                PostRow.lon <= max_lon,
                PostRow.lat >= min_lat,
                PostRow.lat <= max_lat,
            ]
        if query.text:
            filters.append(PostRow.text.icontains(query.text, autoescape=True))
        if query.area:
            filters.append(PostRow.area == query.area)
        return filters

    def find_posts(self, query: PostQuery) -> tuple[int, list[Post]]:
        """Total matching and one page of them, newest first."""
        filters = self._post_filters(query)
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(PostRow).where(*filters)) or 0
            page: Select[tuple[PostRow]] = (
                select(PostRow)
                .where(*filters)
                .order_by(PostRow.created_at.desc(), PostRow.pk.desc())
                .limit(query.limit)
                .offset(query.offset)
            )
            return total, [post_from_row(row) for row in session.scalars(page)]

    def volume(
        self, query: PostQuery, bucket_seconds: int
    ) -> tuple[list[tuple[datetime, int]], list[tuple[str, int]]]:
        """Posts per time bucket, and per area, for the posts matching ``query`` (limit/offset ignored)."""
        filters = self._post_filters(query)
        bucket = (func.floor(epoch_seconds(PostRow.created_at) / bucket_seconds) * bucket_seconds).label("b")
        with self._sessions() as session:
            per_bucket = session.execute(
                select(bucket, func.count()).where(*filters).group_by(bucket).order_by(bucket)
            ).all()
            per_area = session.execute(
                select(PostRow.area, func.count())
                .where(*filters, PostRow.area.is_not(None))
                .group_by(PostRow.area)
                .order_by(func.count().desc(), PostRow.area)
            ).all()
        points = [(datetime.fromtimestamp(int(b), UTC), int(n)) for b, n in per_bucket]
        return points, [(str(area), int(n)) for area, n in per_area]

    def dead_letters(self, limit: int, offset: int) -> tuple[int, Sequence[DeadLetterRow]]:
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0
            rows = session.scalars(
                select(DeadLetterRow).order_by(DeadLetterRow.pk.desc()).limit(limit).offset(offset)
            ).all()
            return total, rows

    def save_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Keep each alert's latest revision, and every revision in the append-only history; returns the
        alerts stored, as stored, to be pushed on.

        Revisions only go up. A later update that comes with a revision the store already has is stored
        as the next revision: a restarted service's detectors count an alert's revisions from 1 again
        when its posts are older than the warm start, and their updates were silently dropped while they
        went out live. An update no later than the stored one (a warm start's replay, a late older
        revision) changes nothing and is not returned.
        """
        latest: dict[str, Alert] = {}
        for alert in alerts:
            if alert.id not in latest or alert.revision > latest[alert.id].revision:
                latest[alert.id] = alert
        if not latest:
            return []
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            stored = {
                alert_id: (revision, updated_at)
                for alert_id, revision, updated_at in session.execute(
                    select(AlertRow.alert_id, AlertRow.revision, AlertRow.updated_at).where(
                        AlertRow.alert_id.in_(list(latest))
                    )
                )
            }
            saved = []
            for alert_id, alert in latest.items():
                if alert_id in stored:
                    revision, updated_at = stored[alert_id]
                    if alert.revision <= revision:
                        if alert.updated_at <= updated_at:
                            self._save_revision(session, alert, now)  # history keeps it, if new to it
                            continue
                        alert = alert.model_copy(update={"revision": revision + 1})
                self._save_alert(session, alert, now)
                saved.append(alert)
        return saved

    @staticmethod
    def _save_alert(session: Session, alert: Alert, now: datetime) -> None:
        body = alert.model_dump(mode="json")
        row = {
            "alert_id": alert.id,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "revision": alert.revision,
            "area": alert.area,
            "first_seen": alert.first_seen,
            "updated_at": alert.updated_at,
            "detected_at": alert.detected_at,
            "post_count": alert.post_count,
            "playbook": alert.playbook,
            "body": body,
        }
        statement = dialect_insert(session, AlertRow.__table__, [row])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["alert_id"],
                set_={k: statement.excluded[k] for k in row if k not in ("alert_id", "detected_at")},
                where=AlertRow.__table__.c.revision < statement.excluded.revision,
            )
        )
        Store._save_revision(session, alert, now, body)

    @staticmethod
    def _save_revision(
        session: Session, alert: Alert, now: datetime, body: dict[str, object] | None = None
    ) -> None:
        revision = {
            "alert_id": alert.id,
            "revision": alert.revision,
            "updated_at": alert.updated_at,
            "stored_at": now,
            "body": alert.model_dump(mode="json") if body is None else body,
        }
        session.execute(
            _insert_ignoring_duplicates(
                session, AlertRevisionRow.__table__, [revision], ["alert_id", "revision"]
            )
        )

    def find_alerts(self, query: AlertQuery) -> tuple[int, list[Alert]]:
        """Latest revisions, most recently updated first."""
        filters: list[ColumnElement[bool]] = []
        if query.kind:
            filters.append(AlertRow.kind == query.kind.value)
        if query.since:
            filters.append(AlertRow.updated_at >= query.since)
        if query.area:
            filters.append(AlertRow.area == query.area)
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(AlertRow).where(*filters)) or 0
            rows = session.scalars(
                select(AlertRow)
                .where(*filters)
                .order_by(AlertRow.updated_at.desc(), AlertRow.pk.desc())
                .limit(query.limit)
                .offset(query.offset)
            )
            return total, [Alert.model_validate(row.body) for row in rows]

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._sessions() as session:
            row = session.scalar(select(AlertRow).where(AlertRow.alert_id == alert_id))
            return Alert.model_validate(row.body) if row else None

    def get_alerts(self, alert_ids: Sequence[str]) -> list[Alert]:
        """The stored alerts among ``alert_ids``, in that order, read together rather than one by one."""
        wanted = list(dict.fromkeys(alert_ids))
        found: dict[str, Alert] = {}
        with self._sessions() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = session.scalars(select(AlertRow).where(AlertRow.alert_id.in_(chunk)))
                found.update((row.alert_id, Alert.model_validate(row.body)) for row in rows)
        return [found[a] for a in wanted if a in found]

    def alert_history(self, alert_id: str) -> list[Alert]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AlertRevisionRow)
                .where(AlertRevisionRow.alert_id == alert_id)
                .order_by(AlertRevisionRow.revision)
            )
            return [Alert.model_validate(row.body) for row in rows]

    def stored_batches(self, since: datetime, max_posts: int) -> Iterator[list[Post]]:
        """Posts written at or after ``since``, in the order and batches they were stored in (a batch is
        one ``stored_at``): the most recent ``max_posts`` of them."""
        with self._sessions() as session:
            newest = session.scalars(
                select(PostRow.pk)
                .where(PostRow.created_at >= since)
                .order_by(PostRow.pk.desc())
                .limit(max_posts)
            ).all()
        if not newest:
            return
        first_pk = min(newest)
        last_pk = max(newest)
        batch: list[Post] = []
        batch_time: datetime | None = None
        cursor = first_pk - 1
        while cursor < last_pk:
            with self._sessions() as session:
                rows = session.scalars(
                    select(PostRow)
                    .where(PostRow.pk > cursor, PostRow.pk <= last_pk, PostRow.created_at >= since)
                    .order_by(PostRow.pk)
                    .limit(self.CHUNK)
                ).all()
            if not rows:
                break
            for row in rows:
                if batch and row.stored_at != batch_time:
                    yield batch
                    batch = []
                batch_time = row.stored_at
                batch.append(post_from_row(row))
            cursor = rows[-1].pk
        if batch:
            yield batch

    def latest_post_time(self) -> datetime | None:
        with self._sessions() as session:
            return session.scalar(select(func.max(PostRow.created_at)))

    def get_post(self, key: str) -> Post | None:
        platform, _, post_id = key.partition(":")
        with self._sessions() as session:
            row = session.scalar(
                select(PostRow).where(PostRow.platform == platform, PostRow.post_id == post_id)
            )
            return post_from_row(row) if row else None

    def alert_counts(self) -> dict[str, int]:
        with self._sessions() as session:
            rows = session.execute(select(AlertRow.kind, func.count()).group_by(AlertRow.kind)).all()
            return {str(kind): int(n) for kind, n in rows}

    def count_posts(self) -> int:
        with self._sessions() as session:
            return session.scalar(select(func.count()).select_from(PostRow)) or 0
