"""Records we could not accept. They are kept with the reason, never dropped."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

# We keep at most this much of a broken record; its full size and hash are kept too, so an oversized
# hostile payload is evidenced without filling the database.
MAX_KEPT_BYTES = 64 * 1024


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str = Field(max_length=500, description="where the record came from, e.g. file:line or ingest")
    reason: str = Field(max_length=2000)
    raw: str = Field(description="the record as received, cut to 64 KiB")
    raw_bytes: int = Field(ge=0, description="size of the whole record")
    raw_sha256: str
    received_at: datetime

    @property
    def key(self) -> str:
        """Identity of a rejected record: the same bytes from the same place are kept once."""
        return hashlib.sha256(f"{self.source}\n{self.raw_sha256}".encode()).hexdigest()[:32]

    @classmethod
    def of(cls, raw: str | bytes, reason: str, source: str) -> DeadLetter:
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
        # The exact bytes are evidenced by raw_bytes and raw_sha256; the kept text only has to be storable:
        # PostgreSQL text refuses NUL, and pydantic refuses lone surrogates (e.g. from an undecodable byte in
        # a file name or a reason quoting a "\ud800" key), which stopped reading and failed ingest with 503.
        kept = data[:MAX_KEPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")
        return cls(
            source=_storable(source[:500]),
            reason=_storable(reason[:2000]),
            raw=kept,
            raw_bytes=len(data),
            raw_sha256=hashlib.sha256(data).hexdigest(),
            received_at=datetime.now(UTC),
        )


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
