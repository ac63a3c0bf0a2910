"""Who may do what: roles, the capabilities they grant, password hashing and access tokens.

Roles follow how a crisis room works: a **wall** display only reads; an **adviser** handles rumours and
writes the cycle's entries; a **coordinator** also runs incidents and briefings and may reveal an author
(with a reason, audited); an **admin** manages accounts and sees raw dead letters; a **producer** (an
API key, not a person) may only push posts. Routes ask for a capability, never for a role name, so the
table below is the one place that grants anything.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_ALGORITHM = "HS256"
API_KEY_PREFIX = "sgk_"


class Role(StrEnum):
    WALL = "wall"
    ADVISER = "adviser"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    PRODUCER = "producer"


class Capability(StrEnum):
    READ = "read"  # posts, alerts, rumour cases, incidents, status, the live feed
    HANDLE = "handle"  # rumour workflow, cycle entries, answers, flags, exports
    COORDINATE = "coordinate"  # open and close incidents, link alerts, mark briefings
    REVEAL = "reveal"  # see who wrote a post (with a reason; audited)
    ADMINISTER = "administer"  # accounts, API keys, raw dead letters
    INGEST = "ingest"  # push posts


GRANTS: dict[Role, frozenset[Capability]] = {
    Role.WALL: frozenset({Capability.READ}),
    Role.ADVISER: frozenset({Capability.READ, Capability.HANDLE}),
    Role.COORDINATOR: frozenset(
        {Capability.READ, Capability.HANDLE, Capability.COORDINATE, Capability.REVEAL}
    ),
    Role.ADMIN: frozenset(Capability),
    Role.PRODUCER: frozenset({Capability.INGEST}),
}


def capabilities(roles: frozenset[str]) -> frozenset[Capability]:
    granted: set[Capability] = set()
    for role in roles:
        if role in Role.__members__.values():
            granted |= GRANTS[Role(role)]
    return frozenset(granted)


# --- passwords -----------------------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash to verify against when the user does not exist, so a login takes as long either way.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# --- access tokens (JWT) -------------------------------------------------------------------------------


class TokenClaims(NamedTuple):
    username: str
    roles: frozenset[str]
    generation: int  # the account's token generation when issued; a password change raises the account's


def issue_token(
    secret: str, username: str, roles: frozenset[str], lifetime: timedelta, generation: int = 0
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": username,
        "roles": sorted(roles),
        "gen": generation,
        "iat": now,
        "exp": now + lifetime,
        "iss": "signaal",
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def read_token(secret: str, token: str) -> TokenClaims | None:
    """What a valid, unexpired token names; None for anything else. The caller checks the account."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[TOKEN_ALGORITHM], issuer="signaal", options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return None
    generation = claims.get("gen", 0)  # tokens from before generations were generation 0
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    return TokenClaims(str(claims["sub"]), frozenset(roles), generation)


# --- API keys for producers ----------------------------------------------------------------------------


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(key: str) -> str:
    """Keys are 256 random bits, so a plain SHA-256 is enough to store them (no slow hash needed)."""
    return hashlib.sha256(key.encode()).hexdigest()
