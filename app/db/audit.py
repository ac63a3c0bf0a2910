"""The audit trail: an append-only, hash-chained log of who changed, assigned, exported or revealed what.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON, so editing or
deleting any row breaks :func:`verify` from that row on. Appends are serialised: a process lock for SQLite and
threads, and a transaction-scoped advisory lock on PostgreSQL for several service processes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.tables import AuditRow

GENESIS = "0" * 64
_LOCK = threading.Lock()
_PG_LOCK_KEY = 0x5167AA  # any constant shared by all Signaal processes


def _canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> bytes:
    document = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def chain_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> str:
    return hashlib.sha256(
        prev_hash.encode() + _canonical(seq, at, actor, action, subject, detail)
    ).hexdigest()


def append(
    session: Session, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditRow:
    """Add one entry inside the caller's transaction (so the change and its trace commit together).

    The caller runs inside an :class:`AuditedTransaction`, which serialises appends.
    """
    detail = json.loads(json.dumps(detail or {}, default=str))  # what is hashed is exactly what is stored
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = datetime.now(UTC)
    row = AuditRow(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail,
        prev_hash=prev,
        hash=chain_hash(prev, seq, at, actor, action, subject, detail),
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None


def verify(rows: Sequence[AuditRow]) -> Verification:
    """Check the chain over rows in ``seq`` order, from the first entry."""
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            return Verification(False, len(rows), row.seq, f"entry {expected_seq} is missing")
        if row.prev_hash != prev:
            return Verification(False, len(rows), row.seq, "previous hash does not match")
        if chain_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.detail) != row.hash:
            return Verification(False, len(rows), row.seq, "content does not match its hash")
        prev = row.hash
        expected_seq += 1
    return Verification(True, len(rows))


class AuditedTransaction:
    """``with AuditedTransaction(sessions) as session``: holds the audit lock, commits on success and rolls
    back on error. Every write that appends to the audit log runs in one of these."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None

    def __enter__(self) -> Session:
        _LOCK.acquire()
        try:
            self._session = self._sessions()
            self._session.begin()
            if self._session.get_bind().dialect.name == "postgresql":
                # Other service processes too: held to commit, so a version checked here stays valid.
                self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        except BaseException:
            _LOCK.release()
            raise
        return self._session

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        assert self._session is not None
        try:
            if exc_type is None:
                self._session.commit()
            else:
                self._session.rollback()
        finally:
            self._session.close()
            _LOCK.release()
