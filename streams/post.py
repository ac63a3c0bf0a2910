"""The one record every part of Signaal shares.

A :class:`Post` is created at the edge (a format adapter or the ingest endpoint), where the author's handle
is replaced by a keyed pseudonym. From then on it travels unchanged over the bus into the service, which only
adds enrichment fields (``lang``, ``cell``, ``places``, ``area``) with :meth:`Post.enriched`.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Longest text we accept. Twitter's long posts are 25,000 characters; anything above is not a social post
# but an attack or a broken export, and goes to the dead-letter store with a clear reason.
MAX_TEXT_CHARS = 25_000

Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Count = Annotated[int, Field(ge=0)]


class Coordinates(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: Latitude
    lon: Longitude


class Post(BaseModel):
    """A social-media post, pseudonymised, in UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_.-]+$")]
    id: Annotated[str, Field(min_length=1, max_length=128)]
    author: Annotated[str, Field(min_length=1, max_length=128)]
    created_at: datetime
    text: Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
    lang: Annotated[str | None, Field(max_length=16)] = None
    coordinates: Coordinates | None = None
    place: Annotated[str | None, Field(max_length=200)] = None
    reply_to: Annotated[str | None, Field(max_length=128)] = None
    repost_of: Annotated[str | None, Field(max_length=128)] = None
    quote_of: Annotated[str | None, Field(max_length=128)] = None
    url: Annotated[str | None, Field(max_length=2048)] = None
    likes: Count = 0
    reposts: Count = 0
    replies: Count = 0
    quotes: Count = 0
    # The handle encrypted with SIGNAAL_REVEAL_KEY, only when a municipality chose to make revealing possible
    # (see docs/privacy.md); never shown, only decrypted by POST /api/posts/{key}/reveal, with a reason.
    author_sealed: Annotated[str | None, Field(max_length=1024)] = None

    # Added by the service's enrichment stage, never by producers.
    cell: Annotated[str | None, Field(max_length=32)] = None
    places: tuple[str, ...] = ()
    area: Annotated[str | None, Field(max_length=200)] = None

    @field_validator("created_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a time zone (naive timestamps are ambiguous)")
        return value.astimezone(UTC)

    @field_validator("text")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # NUL cannot be stored in PostgreSQL text columns; other control characters are kept as written.
        return value.replace("\x00", "\ufffd")

    def enriched(self, lang: str | None, cell: str | None, places: tuple[str, ...], area: str | None) -> Post:
        """A copy with the enrichment fields set. Equal to ``model_copy(update=...)`` but without its generic
        copying (a third of enrichment's cost): the post was validated when it was made, and the enricher
        sets only values it computed itself."""
        values = self.__dict__.copy()
        values["lang"] = lang
        values["cell"] = cell
        values["places"] = places
        values["area"] = area
        copy = _new(type(self))
        _set(copy, "__dict__", values)
        _set(copy, "__pydantic_fields_set__", self.__pydantic_fields_set__ | _ENRICHMENT_FIELDS)
        _set(copy, "__pydantic_extra__", None)
        _set(copy, "__pydantic_private__", None)
        return copy

    @property
    def key(self) -> str:
        """Identity across the system: a post is stored once per (platform, id)."""
        return key_of(self.platform, self.id)


def key_of(platform: str, post_id: str) -> str:
    """A post's key (:attr:`Post.key`) from its platform and id."""
    return f"{platform}:{post_id}"


_ENRICHMENT_FIELDS = frozenset({"lang", "cell", "places", "area"})
# What pydantic's own copy uses: a frozen model refuses ordinary attribute assignment.
_new = object.__new__
_set = object.__setattr__


# How far ahead of this machine's clock a post's time may be: clocks differ a little. A post from further
# ahead would move the detectors' event-time clock past every real post, which they would then skip as late.
MAX_CLOCK_SKEW = timedelta(minutes=10)


def latest_plausible_time() -> datetime:
    """The latest creation time a post received now can have."""
    return datetime.now(UTC) + MAX_CLOCK_SKEW


# Handles seen lately and their pseudonyms: the same accounts post again and again during an incident (half
# the posts of the benchmark stream), and a look-up costs a tenth of the HMAC. It holds up to this many raw
# handles with their pseudonyms (5-10 MB): a lookup table that a memory dump would show, as it would show
# the key that makes the pseudonyms. It never leaves the process; revealing a handle on purpose goes
# through the sealed handle and the audited reveal (docs/privacy.md), never through this.
PSEUDONYM_CACHE = 16_384


def pseudonymise(platform: str, handle: str, key: bytes) -> str:
    """Keyed hash of an author handle: stable for one key, useless without it (AVG/GDPR art. 4(5))."""
    return _pseudonym(platform, handle, key)


@lru_cache(maxsize=PSEUDONYM_CACHE)
def _pseudonym(platform: str, handle: str, key: bytes) -> str:
    mac = _keyed_hmac(key).copy()
    mac.update(f"{platform}:{handle.strip().lower()}".encode())
    return f"p_{mac.hexdigest()[:20]}"


@lru_cache(maxsize=16)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    # HMAC-SHA256 with the key already absorbed: copying it saves hashing the key's pads for every post
    # (0.5 µs of 1.3; the same bytes as hmac.digest). A process uses one key, tests a few.
    return hmac.new(key, digestmod="sha256")


class HandleSealer:
    """Encrypts author handles at the edge so a coordinator can reveal one later, with a reason.

    Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) with the key in SIGNAAL_REVEAL_KEY.
    Without that key nothing is sealed and no handle can ever be revealed: the default.
    """

    def __init__(self, key: str | bytes) -> None:
        from cryptography.fernet import Fernet

        self._fernet = Fernet(key)

    def seal(self, handle: str) -> str:
        return self._fernet.encrypt(handle.strip().encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
