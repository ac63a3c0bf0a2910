"""People's accounts and producers' API keys. Every change is traced in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db import audit
from app.db.audit import AuditedTransaction
from app.db.room import Conflict, Invalid, NotFound
from app.db.tables import ApiKeyRow, UserRow
from app.security import (
    DUMMY_HASH,
    Role,
    api_key_digest,
    hash_password,
    needs_rehash,
    new_api_key,
    verify_password,
)

MIN_PASSWORD = 12


@dataclass(frozen=True)
class Account:
    username: str
    roles: frozenset[str]
    active: bool
    created_at: datetime
    token_generation: int = 0


def _account(row: UserRow) -> Account:
    return Account(row.username, frozenset(row.roles), row.active, row.created_at, row.token_generation)


def _check_roles(roles: list[str], *, people: bool) -> list[str]:
    known = {r.value for r in Role}
    unknown = sorted(set(roles) - known)
    if unknown or not roles:
        raise Invalid(f"roles must be some of {', '.join(sorted(known))}; got {roles}")
    if people and Role.PRODUCER in roles:
        raise Invalid("'producer' is for API keys, not for people")
    return sorted(set(roles))


class Accounts:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_user(self, username: str, password: str, roles: list[str], actor: str) -> Account:
        if len(password) < MIN_PASSWORD:
            raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")
        row = UserRow(
            username=username,
            password_hash=hash_password(password),
            roles=_check_roles(roles, people=True),
            active=True,
            created_at=datetime.now(UTC),
        )
        try:
            with AuditedTransaction(self._sessions) as session:
                session.add(row)
                session.flush()
                audit.append(session, actor, "user added", f"user:{username}", {"roles": row.roles})
        except IntegrityError:
            raise Conflict(f"user {username!r} exists") from None
        return _account(row)

    def change_user(
        self, username: str, actor: str, *, roles: list[str] | None = None, active: bool | None = None,
        password: str | None = None,
    ) -> Account:  # fmt: skip
        with AuditedTransaction(self._sessions) as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise NotFound(f"no user {username!r}")
            detail: dict[str, object] = {}
            if roles is not None:
                row.roles = _check_roles(roles, people=True)
                detail["roles"] = row.roles
            if active is not None:
                if row.active and not active:
                    # Disabling is how a stolen token is stopped: re-enabling must not bring it back.
                    row.token_generation += 1
                row.active = active
                detail["active"] = active
            if password is not None:
                if len(password) < MIN_PASSWORD:
                    raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")
                row.password_hash = hash_password(password)
                # Tokens issued before are refused from now on: whoever had the old password (the reason
                # for a change or a reset, often) may have taken a token with it.
                row.token_generation += 1
                detail["password"] = "changed"
            audit.append(session, actor, "user changed", f"user:{username}", detail)
            return _account(row)

    def users(self) -> list[Account]:
        with self._sessions() as session:
            return [_account(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]

    def authenticate(self, username: str, password: str) -> Account | None:
        """The active account with this password, else None (in about the same time either way)."""
        with self._sessions.begin() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                verify_password(DUMMY_HASH, password)
                return None
            if not verify_password(row.password_hash, password) or not row.active:
                return None
            if needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
            return _account(row)

    def active_account(self, username: str) -> Account | None:
        """The account as it is now, if active: a token outlives role and password changes, so every
        request asks the account for its roles and whether the token's generation is still current."""
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            return _account(row) if row is not None and row.active else None

    # --- API keys ----------------------------------------------------------------------------------------

    def add_api_key(self, name: str, actor: str, roles: list[str] | None = None) -> str:
        """A new key for a producer; the key is returned once and only its digest is stored."""
        key = new_api_key()
        row = ApiKeyRow(
            name=name,
            digest=api_key_digest(key),
            roles=_check_roles(roles or [Role.PRODUCER.value], people=False),
            active=True,
            created_at=datetime.now(UTC),
        )
        try:
            with AuditedTransaction(self._sessions) as session:
                session.add(row)
                session.flush()
                audit.append(session, actor, "api key added", f"apikey:{name}", {"roles": row.roles})
        except IntegrityError:
            raise Conflict(f"an API key named {name!r} exists") from None
        return key

    def record_token_issued(self, username: str, actor: str, hours: float) -> None:
        """A token made outside sign-in (``signaal token``, for a wall display) is a credential handed out:
        the audit trail says who made it, for whom and for how long."""
        with AuditedTransaction(self._sessions) as session:
            audit.append(session, actor, "token issued", f"user:{username}", {"hours": hours})

    def revoke_api_key(self, name: str, actor: str) -> None:
        with AuditedTransaction(self._sessions) as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
            if row is None:
                raise NotFound(f"no API key {name!r}")
            row.active = False
            audit.append(session, actor, "api key revoked", f"apikey:{name}", {})

    def api_key(self, key: str) -> tuple[str, frozenset[str]] | None:
        """The name and roles of an active key."""
        with self._sessions() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.digest == api_key_digest(key)))
            return (row.name, frozenset(row.roles)) if row is not None and row.active else None

    def api_keys(self) -> list[tuple[str, list[str], bool]]:
        with self._sessions() as session:
            return [
                (r.name, r.roles, r.active)
                for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))
            ]
