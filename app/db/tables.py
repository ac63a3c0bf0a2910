"""The tables. Times are stored in UTC; SQLite has no time zones, so :class:`UTCDateTime` restores them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "post_id", name="uq_posts_platform_post_id"),
        Index("ix_posts_created_at", "created_at"),
        Index("ix_posts_area_created_at", "area", "created_at"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(128))
    author_sealed: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    place: Mapped[str | None] = mapped_column(String(200))
    places: Mapped[list[str]] = mapped_column(JSON, default=list)
    area: Mapped[str | None] = mapped_column(String(200))
    cell: Mapped[str | None] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(2048))
    reply_to: Mapped[str | None] = mapped_column(String(128))
    repost_of: Mapped[str | None] = mapped_column(String(128))
    quote_of: Mapped[str | None] = mapped_column(String(128))
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    quotes: Mapped[int] = mapped_column(Integer, default=0)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_received_at", "received_at"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    letter_key: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(2000))
    raw: Mapped[str] = mapped_column(Text)
    raw_bytes: Mapped[int] = mapped_column(BigInteger)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    """The latest revision of each alert."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_kind_updated_at", "kind", "updated_at"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    area: Mapped[str | None] = mapped_column(String(200))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    post_count: Mapped[int] = mapped_column(Integer)
    playbook: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[dict[str, object]] = mapped_column(JSON)


class AlertRevisionRow(Base):
    """Every revision of every alert, append-only: what Signaal knew, and when."""

    __tablename__ = "alert_revisions"
    __table_args__ = (UniqueConstraint("alert_id", "revision", name="uq_alert_revisions_alert_id_revision"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[dict[str, object]] = mapped_column(JSON)


# --- The crisis room: rumour cases, incidents, their cycle entries, and the audit trail. -------------------


class RumourCaseRow(Base):
    """The workflow state of a rumour case. A detector case shares its alert's id and gets a row on the
    first human action; a case flagged by hand (or split off) has no alert. History lives in the audit log."""

    __tablename__ = "rumour_cases"
    __table_args__ = (Index("ix_rumour_cases_updated_at", "updated_at"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(300), unique=True)
    alert_id: Mapped[str | None] = mapped_column(String(300))
    claim: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(128))
    merged_into: Mapped[str | None] = mapped_column(String(300))
    added_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    removed_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped on every change; a write names the version it read, so two advisers cannot overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)


class IncidentRow(Base):
    __tablename__ = "incidents"

    incident_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    area: Mapped[str | None] = mapped_column(String(200))
    playbook: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    auto_link: Mapped[bool] = mapped_column(default=True)
    alert_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    case_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CycleEntryRow(Base):
    """One version of one entry in an incident's analyse / advise / act / evaluate timeline. Editing adds a
    version; nothing is updated in place."""

    __tablename__ = "cycle_entries"
    __table_args__ = (
        UniqueConstraint("entry_id", "version", name="uq_cycle_entries_entry_id_version"),
        Index("ix_cycle_entries_incident_id", "incident_id"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    step: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[dict[str, object]] = mapped_column(JSON)


class AuditRow(Base):
    """Append-only and hash-chained: each row's hash covers its content and the previous row's hash, so a
    changed or deleted row breaks the chain from there on."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(400))
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- Accounts ------------------------------------------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Raised by a password change; a token carries the generation it was issued in and is refused after.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiKeyRow(Base):
    """A producer's key; only its SHA-256 is kept, the key itself is shown once when made."""

    __tablename__ = "api_keys"

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HourlyVolumeRow(Base):
    """Posts per hour, area and platform: what stays when the retention job deletes the posts themselves."""

    __tablename__ = "hourly_volume"
    __table_args__ = (
        UniqueConstraint("hour", "area", "platform", name="uq_hourly_volume_hour_area_platform"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    area: Mapped[str] = mapped_column(String(200))  # "" when the post had no area
    platform: Mapped[str] = mapped_column(String(32))
    posts: Mapped[int] = mapped_column(Integer)
