"""The interface every bus implements. Values are bytes; what they mean is the caller's business."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


class Consumer(Protocol):
    def poll(self, timeout_s: float, max_records: int = 500) -> list[Message]:
        """Return what arrived, waiting up to ``timeout_s`` when nothing has."""
        ...

    def commit(self, wait: bool = True) -> None:
        """Mark everything returned by ``poll`` so far as done for this consumer group.

        Call it only after the records are safely stored: a consumer that dies before committing gets the
        same records again (at-least-once), and storage is idempotent, so nothing is lost or counted twice.
        With ``wait=False`` the commit is sent but not waited for; if it fails, the next ``commit`` raises
        that failure instead of committing, so the caller learns of it and can commit again.
        """
        ...

    def backlog(self) -> int | None:
        """Records waiting for this consumer's group beyond what it committed, on the partitions it owns
        (on all of its topics when it owns none yet); None when that cannot be told right now.

        For spotting a consumer that stopped receiving while records wait: asks the broker, so not cheap.
        """
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    # Whether what was published outlives the process: an in-process bus's records die with it, so its
    # consumers must finish them before a clean shutdown.
    durable: bool

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until everything published so far is acknowledged (raises if it cannot be)."""
        ...

    def consumer(self, topics: list[str], group: str) -> Consumer: ...

    def reachable(self, timeout_s: float = 1.0) -> bool:
        """Whether the transport answers now (for readiness checks; cheap, never raises)."""
        ...

    def close(self) -> None: ...
