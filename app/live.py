"""Fan-out of live events to WebSocket clients.

The consumer thread publishes; each connected client has its own bounded queue on the event loop. A client
that cannot keep up is disconnected rather than slowing everyone down: it reconnects and catches up through
the REST API (``/api/posts?since=``), so nothing is lost for it either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

log = logging.getLogger(__name__)

# Messages, not posts: new posts come as one message per stored batch (up to a few hundred posts each).
QUEUE_SIZE = 1_000


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[asyncio.Queue[str | None]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._clients.discard(queue)

    def publish(self, kind: str, data: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Thread-safe: may be called from the consumer thread."""
        if self._loop is None or not self._clients:
            return
        # orjson: a burst publishes thousands of posts a second, and the stdlib encoder cost the consumer
        # thread as much as storing them. Datetimes come out as ISO 8601, anything else unknown as its str().
        message = orjson.dumps({"type": kind, "data": data}, default=str).decode()
        self._loop.call_soon_threadsafe(self._deliver, message)

    def _deliver(self, message: str) -> None:
        for queue in list(self._clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._clients.discard(queue)
                _signal_close(queue)


def _signal_close(queue: asyncio.Queue[str | None]) -> None:
    """Put the close marker (None) on a full queue; the client's sender loop then ends the connection."""
    queue.get_nowait()
    queue.put_nowait(None)
